-- Foundation: users, pads, files, members, invites, the pad document log, and the audit log.
-- Migrations are embedded in the binary and never edited once merged; add a new file instead.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    -- SHA-256 of the recovery key. The key carries 160 random bits, so a fast hash is enough and
    -- lets recovery look the user up by it.
    recovery_hash   TEXT    NOT NULL UNIQUE,
    -- Bumped by logout-all; tokens carry the epoch they were issued at.
    session_epoch   INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

CREATE TABLE pads (
    id              INTEGER PRIMARY KEY,
    slug            TEXT    NOT NULL UNIQUE,
    title           TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('sandbox', 'interview')),
    owner_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash   TEXT,
    password_role   TEXT CHECK (password_role IN ('collaborator', 'candidate', 'viewer')),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX pads_owner ON pads(owner_id);

CREATE TABLE pad_members (
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'collaborator', 'candidate', 'viewer')),
    joined_at       TEXT    NOT NULL,
    PRIMARY KEY (pad_id, user_id)
);
CREATE INDEX pad_members_user ON pad_members(user_id);

CREATE TABLE pad_files (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    sort_order      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (pad_id, name)
);

CREATE TABLE invites (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    token           TEXT    NOT NULL UNIQUE,
    role            TEXT    NOT NULL CHECK (role IN ('collaborator', 'candidate', 'viewer')),
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    max_uses        INTEGER,
    uses            INTEGER NOT NULL DEFAULT 0,
    revoked_at      TEXT
);
CREATE INDEX invites_pad ON invites(pad_id);

-- The pad's CRDT document: compacted checkpoints plus the append-only update log after them.
CREATE TABLE doc_checkpoints (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    -- Highest doc_updates.id folded into this checkpoint.
    upto_update_id  INTEGER NOT NULL,
    state           BLOB    NOT NULL,
    state_vector    BLOB    NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE INDEX doc_checkpoints_pad ON doc_checkpoints(pad_id, upto_update_id);

CREATE TABLE doc_updates (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id         INTEGER,
    at_ms           INTEGER NOT NULL,
    update_bytes    BLOB    NOT NULL
);
CREATE INDEX doc_updates_pad ON doc_updates(pad_id, id);

-- Append-only, hash-chained (SPEC §9). user_id has no foreign key: the trail outlives the user.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              TEXT    NOT NULL,
    user_id         INTEGER,
    action          TEXT    NOT NULL,
    target          TEXT,
    ip              TEXT,
    user_agent      TEXT,
    meta            TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX audit_log_action ON audit_log(action, at);
CREATE INDEX audit_log_user ON audit_log(user_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
