-- Take-homes with test cases (issue 13 §7).

-- A question's test cases: stdin and the stdout expected for it, compared as `compare` says
-- (`exact`, `trimmed`, `lines`: `interviews::test_cases`). Hidden cases and their expected output
-- never leave the server toward a candidate.
CREATE TABLE question_tests (
    question_id     INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    sort_order      INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    stdin           TEXT    NOT NULL,
    expected        TEXT    NOT NULL,
    hidden          INTEGER NOT NULL,
    compare         TEXT    NOT NULL CHECK (compare IN ('exact', 'trimmed', 'lines')),
    PRIMARY KEY (question_id, sort_order)
);

-- The interview's copy of its question's cases, taken when it starts (like its prompt), so
-- editing the question later changes no interview or take-home under way.
CREATE TABLE interview_tests (
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    sort_order      INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    stdin           TEXT    NOT NULL,
    expected        TEXT    NOT NULL,
    hidden          INTEGER NOT NULL,
    compare         TEXT    NOT NULL CHECK (compare IN ('exact', 'trimmed', 'lines')),
    PRIMARY KEY (pad_id, sort_order)
);

-- A take-home link: whoever holds the token may start it once, between opens_at_ms and
-- closes_at_ms; only the token's SHA-256 is stored. Times are milliseconds since the epoch.
CREATE TABLE takehomes (
    id              INTEGER PRIMARY KEY,
    question_id     INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    created_by      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT    NOT NULL,
    languages       TEXT    NOT NULL,
    opens_at_ms     INTEGER NOT NULL,
    closes_at_ms    INTEGER NOT NULL,
    time_limit_ms   INTEGER NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX takehomes_token ON takehomes(token_hash);
CREATE INDEX takehomes_question ON takehomes(question_id, id);

-- The one attempt of a take-home: its pad, its candidate and its clock. `submitted_at_ms` is set
-- once (by the candidate or the deadline sweep, whichever comes first); `grading_claimed_ms` is
-- the conditional claim that lets one node grade; `graded_at_ms` ends it.
CREATE TABLE takehome_attempts (
    takehome_id         INTEGER PRIMARY KEY REFERENCES takehomes(id) ON DELETE CASCADE,
    pad_id              INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    candidate_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    language            TEXT    NOT NULL,
    started_at_ms       INTEGER NOT NULL,
    deadline_ms         INTEGER NOT NULL,
    submitted_at_ms     INTEGER,
    submitted_by        TEXT    CHECK (submitted_by IN ('candidate', 'deadline')),
    grading_claimed_ms  INTEGER,
    graded_at_ms        INTEGER
);
CREATE UNIQUE INDEX takehome_attempts_pad ON takehome_attempts(pad_id);
CREATE INDEX takehome_attempts_due ON takehome_attempts(submitted_at_ms, deadline_ms);

-- One row per case of the grading run.
CREATE TABLE takehome_results (
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    sort_order      INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    hidden          INTEGER NOT NULL,
    passed          INTEGER NOT NULL,
    outcome         TEXT    NOT NULL,
    actual          TEXT    NOT NULL,
    stderr          TEXT    NOT NULL,
    duration_ms     INTEGER NOT NULL,
    PRIMARY KEY (pad_id, sort_order)
);
