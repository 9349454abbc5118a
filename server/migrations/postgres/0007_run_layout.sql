-- A stored run shows after a reload as it happened (issue 12): who stopped it, and how its
-- stdout, stderr and console input interleaved (`exec::transcript`: JSON runs over the two
-- texts, NULL for runs stored before).
ALTER TABLE runs ADD COLUMN stopped_by BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE runs ADD COLUMN layout TEXT;
