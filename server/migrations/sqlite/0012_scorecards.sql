-- Interviews, part 2 (issue 13 §4): one scorecard per interviewer per interview pad. `body` is the
-- validated JSON of `interviews::scorecards` (sections, criteria with a 1–4 rating and a
-- description per level, free text, recommendation). A submitted scorecard no longer changes; the
-- other interviewers see it only once they have submitted their own (anti-anchoring).
CREATE TABLE interview_scorecards (
    pad_id          INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body            TEXT    NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    submitted_at_ms INTEGER,
    PRIMARY KEY (pad_id, user_id)
);

-- A user's own scorecard template: the sections and criteria (with their level descriptions, no
-- ratings) a new scorecard of theirs starts from. Without a row, the built-in template applies.
CREATE TABLE scorecard_templates (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    body            TEXT    NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

-- A question may name the scorecard template (JSON sections) its interviews use instead of each
-- interviewer's own; an interview keeps the copy taken when it started, like its prompt.
ALTER TABLE questions ADD COLUMN scorecard_template TEXT;
ALTER TABLE interviews ADD COLUMN scorecard_template TEXT;
