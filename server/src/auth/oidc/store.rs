//! The SQL of single sign-on: sign-ins under way (`oidc_logins`) and the links between accounts
//! and provider identities (`user_identities`). A first sign-in creates its `users` row here, in
//! the same transaction as its link, so two callbacks for one new identity make one account.

use crate::auth::store::{User, USER_COLUMNS};
use crate::db::{now_text, on_pool, on_tx, Db, UserId};

/// What the callback needs of the sign-in it completes.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub link_user_id: Option<UserId>,
    pub invite: Option<String>,
    pub expires_at: String,
}

pub struct NewLogin<'a> {
    pub binding_hash: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub link_user_id: Option<UserId>,
    pub invite: Option<&'a str>,
    pub expires_at: &'a str,
}

/// Record a started sign-in, dropping the ones that expired before `sweep_before` (abandoned at
/// the provider).
pub async fn insert_login(db: &Db, login: NewLogin<'_>, sweep_before: &str) -> sqlx::Result<()> {
    let now = now_text();
    on_pool!(db, |pool| sqlx::query(
        "DELETE FROM oidc_logins WHERE expires_at < $1"
    )
    .bind(sweep_before)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO oidc_logins (binding_hash, state, nonce, pkce_verifier, link_user_id, invite, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(login.binding_hash)
    .bind(login.state)
    .bind(login.nonce)
    .bind(login.pkce_verifier)
    .bind(login.link_user_id)
    .bind(login.invite)
    .bind(login.expires_at)
    .bind(&now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Take the sign-in this browser started: it is deleted as it is read, so a callback counts
/// once, whatever it carries.
pub async fn take_login(db: &Db, binding_hash: &str) -> sqlx::Result<Option<PendingLogin>> {
    on_pool!(db, |pool| sqlx::query_as(
        "DELETE FROM oidc_logins WHERE binding_hash = $1 \
         RETURNING state, nonce, pkce_verifier, link_user_id, invite, expires_at"
    )
    .bind(binding_hash)
    .fetch_optional(pool)
    .await)
}

/// The account linked to this identity, noting the sign-in.
pub async fn user_of_identity(db: &Db, issuer: &str, subject: &str) -> sqlx::Result<Option<User>> {
    let user_id: Option<UserId> = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "UPDATE user_identities SET last_login_at = $1 WHERE issuer = $2 AND subject = $3 RETURNING user_id"
    )
    .bind(now_text())
    .bind(issuer)
    .bind(subject)
    .fetch_optional(pool)
    .await
    })?;
    match user_id {
        Some(id) => crate::auth::store::find(db, id).await,
        None => Ok(None),
    }
}

/// Create an account linked to this identity. `None` when another sign-in linked the identity
/// first (nothing is created then; read it with `user_of_identity`).
pub async fn create_linked_user(
    db: &Db,
    issuer: &str,
    subject: &str,
    name: &str,
    recovery_hash: &str,
) -> sqlx::Result<Option<User>> {
    let now = now_text();
    let mut tx = db.write_tx().await?;
    let user: User = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
        "INSERT INTO users (name, recovery_hash, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING {USER_COLUMNS}"
    ))
    .bind(name)
    .bind(recovery_hash)
    .bind(&now)
    .fetch_one(conn)
    .await
    })?;
    let linked = on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO user_identities (issuer, subject, user_id, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (issuer, subject) DO NOTHING"
    )
    .bind(issuer)
    .bind(subject)
    .bind(user.id)
    .bind(&now)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    if linked == 0 {
        // Dropping the transaction rolls the new account back.
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(user))
}

/// Link an existing account to this identity; `false` when the identity is already linked (to
/// this account or another).
pub async fn link(db: &Db, issuer: &str, subject: &str, user: UserId) -> sqlx::Result<bool> {
    let now = now_text();
    on_pool!(db, |pool| sqlx::query(
        "INSERT INTO user_identities (issuer, subject, user_id, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (issuer, subject) DO NOTHING"
    )
    .bind(issuer)
    .bind(subject)
    .bind(user)
    .bind(&now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() == 1))
}

/// Whether the account is linked to a provider identity (the settings page says so).
pub async fn is_linked(db: &Db, user: UserId) -> sqlx::Result<bool> {
    let found: Option<i64> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT 1 FROM user_identities WHERE user_id = $1 LIMIT 1"
    )
    .bind(user)
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}
