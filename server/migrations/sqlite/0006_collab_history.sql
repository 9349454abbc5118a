-- Collaboration: each pad's running total of update-log bytes, checked against the per-pad
-- history budget (COLLAB_HISTORY_BYTES). Kept by the log writer in the same transaction as the
-- rows it counts, so it never drifts from SUM(LENGTH(update_bytes)).
-- Migrations are embedded in the binary and never edited once merged; add a new file instead.

ALTER TABLE pads ADD COLUMN history_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE pads SET history_bytes = COALESCE(
    (SELECT SUM(LENGTH(update_bytes)) FROM doc_updates WHERE doc_updates.pad_id = pads.id), 0);
