//! Pad rows. The only SQL that touches `pads`.

use crate::db::{Db, UserId};

pub async fn slugs_owned_by(db: &Db, user: UserId) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT slug FROM pads WHERE owner_id = ? ORDER BY id").bind(user).fetch_all(db.pool()).await
}
