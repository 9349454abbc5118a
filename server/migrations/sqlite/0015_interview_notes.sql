-- Private interviewer notes (issue 13 §3): each interview pad may get one hidden companion pad
-- whose document holds the interviewers' notes. The companion is a `pads` row only so that the
-- document log, checkpoints, relay and history budget work unchanged; `notes_of` names the
-- interview it belongs to. A companion has no members, so no pad route reaches it, and every
-- pad lookup by slug also refuses rows with `notes_of` set. Deleting the interview deletes its
-- notes with it.
ALTER TABLE pads ADD COLUMN notes_of INTEGER REFERENCES pads(id) ON DELETE CASCADE;
CREATE UNIQUE INDEX pads_notes_of ON pads(notes_of);
