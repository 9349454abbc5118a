-- Pad ownership across nodes (issue 10): the node that holds a pad's lease runs what must exist
-- once per pad (the shared terminal, auto-record, recording seek data). `epoch` grows by one
-- whenever another holder takes the lease, and writes only the owner may make carry it: a stale
-- owner's write names an old epoch and is refused. A released lease keeps its row (expired), so
-- the epoch never goes back. Times are the database's clock, in ms since the epoch.
CREATE TABLE pad_leases (
    pad_id         INTEGER NOT NULL PRIMARY KEY REFERENCES pads(id) ON DELETE CASCADE,
    owner          TEXT    NOT NULL,
    epoch          INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL
);
