-- Interviews, part 1 (issue 13 §1–§2): the question bank and the interview state of a pad started
-- from a question (switches, timer, end, waiting room). Notes, scorecards, integrity markers,
-- drawings and take-homes get tables of their own next to these.

-- A question belongs to its owner; co-editors (question_editors) may read and change it.
-- `guidance` is interviewer-only and never leaves the server toward a candidate.
CREATE TABLE questions (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title           TEXT    NOT NULL,
    prompt          TEXT    NOT NULL,
    difficulty      TEXT    NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    guidance        TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX questions_owner ON questions(owner_id, id);

CREATE TABLE question_tags (
    question_id     INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    tag             TEXT    NOT NULL,
    PRIMARY KEY (question_id, tag)
);
CREATE INDEX question_tags_tag ON question_tags(tag);

-- Starter files per language: a language of the question is one with at least one file here.
CREATE TABLE question_files (
    question_id     INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    language        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    sort_order      INTEGER NOT NULL,
    PRIMARY KEY (question_id, language, name)
);
CREATE INDEX question_files_language ON question_files(language);

CREATE TABLE question_editors (
    question_id     INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added_at        TEXT    NOT NULL,
    PRIMARY KEY (question_id, user_id)
);
CREATE INDEX question_editors_user ON question_editors(user_id);

-- The interview a pad holds. Title, prompt and guidance are copied from the question when the
-- interview starts, so editing or deleting the question later changes no interview in progress.
-- Switches bind candidates only; times are server-stamped milliseconds since the epoch.
CREATE TABLE interviews (
    pad_id              INTEGER PRIMARY KEY REFERENCES pads(id) ON DELETE CASCADE,
    question_id         INTEGER REFERENCES questions(id) ON DELETE SET NULL,
    language            TEXT    NOT NULL,
    title               TEXT    NOT NULL,
    prompt              TEXT    NOT NULL,
    guidance            TEXT    NOT NULL,
    locked              INTEGER NOT NULL DEFAULT 0,
    run_disabled        INTEGER NOT NULL DEFAULT 0,
    terminal_disabled   INTEGER NOT NULL DEFAULT 0,
    prompt_hidden       INTEGER NOT NULL DEFAULT 0,
    timer_mode          TEXT    CHECK (timer_mode IN ('countdown', 'elapsed')),
    timer_started_ms    INTEGER,
    timer_duration_ms   INTEGER,
    ended_at_ms         INTEGER,
    ended_by            INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at          TEXT    NOT NULL
);
CREATE INDEX interviews_question ON interviews(question_id);

-- The waiting room: a candidate of an interview pad reaches the pad only once admitted.
CREATE TABLE interview_admissions (
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status          TEXT    NOT NULL CHECK (status IN ('waiting', 'admitted', 'refused')),
    requested_at    TEXT    NOT NULL,
    decided_at      TEXT,
    decided_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    PRIMARY KEY (pad_id, user_id)
);
