-- File texts are keyed by the file's stable id (`file:<id>`, the pad_files row id) instead of its
-- name, so a rename is metadata only and edits in flight survive it (SPEC §4).
-- Documents of the pads that exist now key them by name (`file:<name>`). Each is rewritten once,
-- the first time it is opened (`collab::doc_store`), as one logged update; `rekeyed_at_ms` then
-- says when, so playback reads instants before it by name. Pads created from now on have no row.
-- Migrations are embedded in the binary and never edited once merged; add a new file instead.

CREATE TABLE name_keyed_docs (
    pad_id          INTEGER PRIMARY KEY REFERENCES pads(id) ON DELETE CASCADE,
    -- ms since the epoch; NULL until the document is rewritten.
    rekeyed_at_ms   INTEGER
);
INSERT INTO name_keyed_docs (pad_id) SELECT id FROM pads;
