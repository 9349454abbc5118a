-- Collaboration (SPEC §4): pad chat. The document log itself (doc_updates, doc_checkpoints) is in 0001.
-- Migrations are embedded in the binary and never edited once merged; add a new file instead.

CREATE TABLE chat_messages (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    -- NULL once the author's account is deleted; the message stays with the pad.
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- The author's name when sending, shown only after the account is gone (a rename shows the
    -- current name: names are read from users, never trusted from a client).
    user_name       TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE INDEX chat_messages_pad ON chat_messages(pad_id, id);
