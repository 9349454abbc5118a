-- Interviews, part 2: the same tables as SQLite migration 0012 (`migrations/sqlite/`).
CREATE TABLE interview_scorecards (
    pad_id          BIGINT  NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id         BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body            TEXT    NOT NULL,
    updated_at_ms   BIGINT  NOT NULL,
    submitted_at_ms BIGINT ,
    PRIMARY KEY (pad_id, user_id)
);

CREATE TABLE scorecard_templates (
    user_id         BIGINT  PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    body            TEXT    NOT NULL,
    updated_at_ms   BIGINT  NOT NULL
);

ALTER TABLE questions ADD COLUMN scorecard_template TEXT;
ALTER TABLE interviews ADD COLUMN scorecard_template TEXT;
