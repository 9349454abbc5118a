//! `opencoder admin …`: the operator's commands on the server machine, against the database the
//! server uses. The only way to make an admin. Every change is audited (as the CLI: no user, the
//! user agent `opencoder admin`).

use std::io::Write;

use clap::{Args, Subcommand};

use super::store::{self, UserRow};
use super::{change_signup_mode, change_user, signup_mode, SignupMode, UserChange};
use crate::audit::{Actor, AuditLog};
use crate::bus::DomainEvent;
use crate::db::{Db, UserId};

/// Accounts `users` prints at most.
pub const USERS_LISTED: i64 = 200;

#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Make an account an admin (it sees the admin page on its next request).
    Grant { user: String },
    /// Take the admin role away (refused on the account's next request).
    Revoke { user: String },
    /// List the admins.
    ListAdmins,
    /// List accounts, newest first.
    Users {
        /// Only names containing this (any case).
        #[arg(long)]
        search: Option<String>,
    },
    /// Refuse an account's sign-in and every request (its tokens stop working).
    Disable { user: String },
    /// Let a disabled account sign in again (with its recovery key).
    Enable { user: String },
    /// Show who may sign up, or set it: open, closed or invite-only.
    Signup {
        #[arg(value_parser = parse_mode)]
        mode: Option<SignupMode>,
    },
}

fn parse_mode(raw: &str) -> Result<SignupMode, String> {
    SignupMode::parse(raw).ok_or_else(|| format!("{raw:?}: expected open, closed or invite-only"))
}

fn cli_actor() -> Actor {
    Actor {
        user: None,
        ip: None,
        user_agent: Some("opencoder admin".into()),
    }
}

/// An account named exactly `raw`, or `#<id>` for an account whose name is shared.
async fn resolve(db: &Db, raw: &str) -> anyhow::Result<UserRow> {
    if let Some(id) = raw.strip_prefix('#').and_then(|id| id.parse::<i64>().ok()) {
        return store::find_user(db, UserId(id))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no account with id {id}"));
    }
    let mut named = store::users_named(db, raw).await?;
    match named.len() {
        0 => anyhow::bail!("no account is named {raw:?} (see `opencoder admin users`)"),
        1 => Ok(named.remove(0)),
        n => anyhow::bail!(
            "{n} accounts are named {raw:?} (ids {}); name one as #<id>",
            named
                .iter()
                .map(|u| u.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn write_users(out: &mut impl Write, users: &[UserRow]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>6}  {:<24}  {:<24}  {:>5}  {:<5}  {:<8}",
        "id", "name", "created", "pads", "admin", "disabled"
    )?;
    for user in users {
        writeln!(
            out,
            "{:>6}  {:<24}  {:<24}  {:>5}  {:<5}  {:<8}",
            user.id.0,
            user.name,
            user.created_at,
            user.pads_owned,
            if user.is_admin { "yes" } else { "" },
            if user.disabled { "yes" } else { "" }
        )?;
    }
    Ok(())
}

/// `opencoder admin …` on `db`; with `redis_url` (a cluster), a disable also closes the account's
/// open sockets on every node.
pub async fn run(
    db: &Db,
    redis_url: Option<&str>,
    args: &AdminArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let audit = AuditLog::new(db.clone());
    let change = |user: &str, change: UserChange, done: &'static str| {
        let (user, audit) = (user.to_string(), audit.clone());
        async move {
            let target = resolve(db, &user).await?;
            // `#`: an internal error keeps its causes (the database error under a failed audit
            // append), which the bare message would drop.
            change_user(db, &audit, &cli_actor(), &target, change)
                .await
                .map_err(|err| anyhow::anyhow!("{err:#}"))?;
            anyhow::Ok((
                target.id,
                format!("{} (#{}) {done}", target.name, target.id),
            ))
        }
    };
    match &args.command {
        AdminCommand::Grant { user } => writeln!(
            out,
            "{}",
            change(user, UserChange::Grant, "is an admin").await?.1
        )?,
        AdminCommand::Revoke { user } => writeln!(
            out,
            "{}",
            change(user, UserChange::Revoke, "is no longer an admin")
                .await?
                .1
        )?,
        AdminCommand::Disable { user } => {
            let (id, done) = change(user, UserChange::Disable, "is disabled").await?;
            writeln!(out, "{done}")?;
            match redis_url {
                Some(url) => {
                    crate::bus::redis::publish_once(url, DomainEvent::UserRevoked { user: id })
                        .await?;
                    writeln!(out, "its open sockets are closed on every node")?
                }
                None => writeln!(
                    out,
                    "its sessions are refused from the next request; sockets already open close \
                     when they reconnect (Disable on the admin page closes them at once)"
                )?,
            }
        }
        AdminCommand::Enable { user } => writeln!(
            out,
            "{}",
            change(user, UserChange::Enable, "is enabled").await?.1
        )?,
        AdminCommand::ListAdmins => write_users(out, &store::admins(db).await?)?,
        AdminCommand::Users { search } => {
            let page =
                store::search_users(db, search.as_deref().unwrap_or("").trim(), 0, USERS_LISTED)
                    .await?;
            write_users(out, &page.items)?;
            if page.total > USERS_LISTED {
                writeln!(
                    out,
                    "({} of {} accounts shown; narrow with --search)",
                    USERS_LISTED, page.total
                )?;
            }
        }
        AdminCommand::Signup { mode: None } => {
            writeln!(out, "sign-up is {}", signup_mode(db).await?.as_str())?
        }
        AdminCommand::Signup { mode: Some(mode) } => {
            change_signup_mode(db, &audit, &cli_actor(), *mode)
                .await
                .map_err(|err| anyhow::anyhow!("{err:#}"))?;
            writeln!(out, "sign-up is now {}", mode.as_str())?
        }
    }
    Ok(())
}
