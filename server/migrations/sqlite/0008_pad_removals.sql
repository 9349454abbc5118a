-- A kick sticks (issue 9 item 10): the kicked user cannot walk back in through a live invite or
-- the pad password until the owner re-admits them (which deletes the row). Leaving is not a kick.
CREATE TABLE pad_removals (
    pad_id      INTEGER NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    removed_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    removed_at  TEXT    NOT NULL,
    PRIMARY KEY (pad_id, user_id)
);
