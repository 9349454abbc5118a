-- Recordings and playback (SPEC §7). A recording is a named time window over the pad's event log;
-- the log itself is the union of tables that already hold each kind of event (edits in
-- doc_updates, chat in chat_messages, runs in runs) plus `pad_events` below for everything that
-- has no table of its own. Deleting a recording deletes the window, never the log.
-- Migrations are embedded in the binary and never edited once merged; add a new file instead.

CREATE TABLE recordings (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- Window bounds in ms since the epoch, inclusive; ended_at_ms is NULL while recording.
    started_at_ms   INTEGER NOT NULL,
    ended_at_ms     INTEGER,
    -- Started by auto-record on the first join (and so stopped by it after the idle grace).
    auto_started    INTEGER NOT NULL DEFAULT 0,
    stopped_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    stop_reason     TEXT CHECK (stop_reason IN ('manual', 'idle', 'reconcile')),
    CHECK (ended_at_ms IS NULL OR ended_at_ms >= started_at_ms)
);
CREATE INDEX recordings_pad ON recordings(pad_id, started_at_ms);
-- One active recording per pad; a second start is a unique violation, answered 409.
CREATE UNIQUE INDEX recordings_one_active ON recordings(pad_id) WHERE ended_at_ms IS NULL;

-- Per-pad recording settings (owner): auto-record on the first join.
CREATE TABLE recording_settings (
    pad_id          INTEGER PRIMARY KEY REFERENCES pads(id) ON DELETE CASCADE,
    auto_record     INTEGER NOT NULL DEFAULT 0
);

-- Events of the pad's log that have no table of their own: joins, leaves, file list changes, and
-- later terminal output. `kind` is free text and `data` a JSON object owned by the writer, so a
-- new kind of event needs no migration and no change to the timeline reader.
CREATE TABLE pad_events (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    at_ms           INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    data            TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX pad_events_pad ON pad_events(pad_id, at_ms, id);

-- Seek data written while a pad is being recorded, so a seek never replays from the beginning
-- and stays cheap between the collaboration engine's own checkpoints (kept about every 5,000
-- updates, to load documents):
-- * one full checkpoint at each recording's start: the document after the last update before it
--   (Yjs v2 state);
-- * segments: every `recordings::SEGMENT_UPDATES` updates of the log, merged into one Yjs v2
--   update. A seek applies the nearest full checkpoint, the segments after it, and at most one
--   segment's worth of single updates, instead of thousands of single rows.
-- Both belong to the recording they were written for and go with it.
CREATE TABLE recording_checkpoints (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    recording_id    INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    -- The document after this update of the pad's log.
    upto_update_id  INTEGER NOT NULL,
    state           BLOB    NOT NULL
);
CREATE INDEX recording_checkpoints_pad ON recording_checkpoints(pad_id, upto_update_id);

CREATE TABLE recording_segments (
    id              INTEGER PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    recording_id    INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    -- The pad's updates with id in (after_update_id, upto_update_id], merged.
    after_update_id INTEGER NOT NULL,
    upto_update_id  INTEGER NOT NULL,
    updates         BLOB    NOT NULL
);
CREATE INDEX recording_segments_pad ON recording_segments(pad_id, upto_update_id);
