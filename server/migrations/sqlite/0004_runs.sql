-- Finished code runs (SPEC §5), kept as pad events for playback: who ran what, how it ended, and
-- the output as clients saw it (already capped by EXEC_OUTPUT_BYTES).
CREATE TABLE runs (
    id              TEXT    PRIMARY KEY,
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id         INTEGER,
    language        TEXT    NOT NULL,
    entry           TEXT    NOT NULL,
    started_at_ms   INTEGER NOT NULL,
    finished_at_ms  INTEGER NOT NULL,
    exit_code       INTEGER,
    signal          TEXT,
    timed_out       INTEGER NOT NULL,
    oom_killed      INTEGER NOT NULL,
    truncated       INTEGER NOT NULL,
    backend         TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    stdout          TEXT    NOT NULL,
    stderr          TEXT    NOT NULL
);
CREATE INDEX runs_pad ON runs(pad_id, started_at_ms);
