-- Single sign-on with OpenID Connect (issue 14 §6): accounts linked to a provider's identity by
-- (issuer, subject), and sign-ins under way at the provider.

CREATE TABLE user_identities (
    issuer          TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    user_id         BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      TEXT    NOT NULL,
    last_login_at   TEXT    NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities(user_id);

-- One row per sign-in started and not yet come back; the callback deletes it (single use). The
-- key is the SHA-256 of a random value held only in the starting browser's HttpOnly cookie, so a
-- callback from another browser finds nothing.
CREATE TABLE oidc_logins (
    binding_hash    TEXT    PRIMARY KEY,
    state           TEXT    NOT NULL,
    nonce           TEXT    NOT NULL,
    pkce_verifier   TEXT    NOT NULL,
    -- Set when a signed-in account links itself to the provider identity that comes back.
    link_user_id    BIGINT  REFERENCES users(id) ON DELETE CASCADE,
    -- A pad invite token carried through the provider, for sign-up while it is invite-only.
    invite          TEXT,
    expires_at      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins(expires_at);
