-- The operator's administration (issue 14 §5): who is an admin (granted only by
-- `opencoder admin grant` on the server machine), who is disabled (refused at sign-in and on every
-- request), and server-wide settings every node reads from here (the sign-up mode).
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at TEXT;

CREATE TABLE server_settings (
    key             TEXT    PRIMARY KEY,
    value           TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
