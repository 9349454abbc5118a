-- Private interviewer notes: the same change as SQLite migration 0015 (`migrations/sqlite/`).
ALTER TABLE pads ADD COLUMN notes_of BIGINT REFERENCES pads(id) ON DELETE CASCADE;
CREATE UNIQUE INDEX pads_notes_of ON pads(notes_of);
