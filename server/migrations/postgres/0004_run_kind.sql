-- A REPL session after a run (issue 12) is stored like a run; `kind` tells them apart so a reload
-- describes how the session ended ('run' or 'repl').
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
