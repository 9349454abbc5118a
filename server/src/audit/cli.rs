//! `opencoder audit` (SPEC §9): list the audit log with filters, or verify its hash chain.
//!
//! Operators run this on the host, against the database the server uses (`DATABASE_URL` /
//! `DATA_DIR`); the admin page shows the same rows and verification (`admin::routes`). It only reads: it never creates a database,
//! never migrates and never writes a row. Everything printed is sanitised so a hostile pad name or
//! user agent cannot smuggle terminal escape sequences onto the operator's screen.

use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use clap::Args;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;

use super::{AuditRow, GENESIS_HASH};
use crate::db::{Backend, Db};

/// Rows listed when `--limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// Widest a table cell gets before it is cut with `…` (`--json` is never cut).
const MAX_CELL_CHARS: usize = 48;

/// Arguments of `opencoder audit`.
#[derive(Debug, Clone, Default, Args)]
pub struct AuditArgs {
    /// Recompute the hash chain from the first row and report the first broken row (exit 1).
    #[arg(long, conflicts_with_all = ["since", "user", "action", "pad", "limit", "json"])]
    pub verify: bool,
    /// Only rows at or after this time: RFC 3339 (2025-01-31T09:00:00Z) or an age such as 30m, 24h, 7d, 2w.
    #[arg(long, value_name = "TIME", value_parser = parse_since_now)]
    pub since: Option<DateTime<Utc>>,
    /// Only rows by this user id.
    #[arg(long, value_name = "ID")]
    pub user: Option<i64>,
    /// Only rows with this action, e.g. user.signup, pad.delete, pad.unlock.fail.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Only rows about this pad: its slug is the row's target or the `pad` field of its meta.
    #[arg(long, value_name = "SLUG")]
    pub pad: Option<String>,
    /// Show at most this many rows, the newest ones (0 = all).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT)]
    pub limit: u32,
    /// Print a JSON array (meta as parsed JSON) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Which rows to list. `limit: None` means all of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub since: Option<DateTime<Utc>>,
    pub user: Option<i64>,
    pub action: Option<String>,
    pub pad: Option<String>,
    pub limit: Option<u32>,
    /// Only rows before this time (the admin page's time range).
    pub until: Option<DateTime<Utc>>,
    /// Only rows with a smaller id: the next page of a newest-first listing.
    pub before_id: Option<i64>,
}

impl From<&AuditArgs> for AuditFilter {
    fn from(args: &AuditArgs) -> Self {
        AuditFilter {
            since: args.since,
            user: args.user,
            action: args.action.clone(),
            pad: args.pad.clone(),
            limit: (args.limit > 0).then_some(args.limit),
            until: None,
            before_id: None,
        }
    }
}

/// `--since`: an RFC 3339 instant, or an age (`<n>s|m|h|d|w`) counted back from `now`.
pub fn parse_since(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let unit_at = raw.len().saturating_sub(1);
    let (count, unit) = raw.split_at(unit_at);
    let count: i64 = count.parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
        format!("{raw:?} is neither RFC 3339 (2025-01-31T09:00:00Z) nor an age like 24h or 7d")
    })?;
    let age = match unit {
        "s" => ChronoDuration::try_seconds(count),
        "m" => ChronoDuration::try_minutes(count),
        "h" => ChronoDuration::try_hours(count),
        "d" => ChronoDuration::try_days(count),
        "w" => ChronoDuration::try_weeks(count),
        _ => None,
    }
    .ok_or_else(|| format!("{raw:?}: an age is a number followed by s, m, h, d or w"))?;
    now.checked_sub_signed(age)
        .ok_or_else(|| format!("{raw:?} reaches before the calendar starts"))
}

fn parse_since_now(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_since(raw, Utc::now())
}

/// Open the server's database for reading. A missing SQLite file is an error rather than a new,
/// empty database: an empty log would "verify" and hide the real mistake (a wrong `DATA_DIR`). A
/// PostgreSQL database is never created by connecting.
pub async fn open(database_url: &str) -> anyhow::Result<Db> {
    if Backend::of_url(database_url) != Some(Backend::Postgres) {
        let options = SqliteConnectOptions::from_str(database_url)?;
        let path = options.get_filename();
        if !path.exists() {
            anyhow::bail!(
                "no database at {} (check DATA_DIR / DATABASE_URL; the server creates it on first start)",
                path.display()
            );
        }
    }
    Db::connect(database_url).await
}

/// The rows matching `filter`, oldest first; with a limit, the newest `limit` of them.
pub async fn query(db: &Db, filter: &AuditFilter) -> sqlx::Result<Vec<AuditRow>> {
    let mut rows = super::store::newest_matching(db, filter).await?;
    rows.reverse();
    Ok(rows)
}

/// Why a row breaks the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainBreak {
    /// The row's content no longer hashes to its stored hash: it was changed after it was written.
    ContentChanged,
    /// The row does not point at its predecessor's hash: a row before it was removed, inserted or
    /// rewritten along with its hash.
    LinkBroken,
}

impl ChainBreak {
    pub fn describe(self) -> &'static str {
        match self {
            ChainBreak::ContentChanged => "its content does not match its stored hash (the row was changed)",
            ChainBreak::LinkBroken => {
                "it does not link to the previous row's hash (a row before it was removed, inserted or rewritten)"
            }
        }
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Rows checked (up to and including the first broken one).
    pub rows: u64,
    /// The last good hash: operators who record it elsewhere can later detect a cut-off tail,
    /// which the chain alone cannot show.
    pub head: String,
    /// The first broken row's id and why.
    pub broken: Option<(i64, ChainBreak)>,
}

/// Walks rows in id order; pure so tests can feed it any sequence.
#[derive(Debug)]
pub struct ChainVerifier {
    state: Verification,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            state: Verification {
                rows: 0,
                head: GENESIS_HASH.to_string(),
                broken: None,
            },
        }
    }
}

impl ChainVerifier {
    /// Check the next row; `false` once the chain is broken (later rows are not looked at).
    pub fn push(&mut self, row: &AuditRow) -> bool {
        if self.state.broken.is_some() {
            return false;
        }
        self.state.rows += 1;
        let problem = if row.compute_hash(&row.prev_hash) != row.hash {
            Some(ChainBreak::ContentChanged)
        } else if row.prev_hash != self.state.head {
            Some(ChainBreak::LinkBroken)
        } else {
            None
        };
        match problem {
            Some(why) => {
                self.state.broken = Some((row.id, why));
                false
            }
            None => {
                self.state.head = row.hash.clone();
                true
            }
        }
    }

    pub fn finish(self) -> Verification {
        self.state
    }
}

/// Recompute the chain over the whole table, streaming rows in id order.
pub async fn verify(db: &Db) -> sqlx::Result<Verification> {
    let mut verifier = ChainVerifier::default();
    super::store::scan_in_order(db, |row| verifier.push(row)).await?;
    Ok(verifier.finish())
}

/// `opencoder audit …`: list or verify, writing to `out`. A broken chain is an error (exit 1)
/// naming the first broken row.
pub async fn run(db: &Db, args: &AuditArgs, out: &mut impl Write) -> anyhow::Result<()> {
    if args.verify {
        let outcome = verify(db).await?;
        return match outcome.broken {
            None => {
                writeln!(
                    out,
                    "OK: audit chain verified, {} rows, head {}",
                    outcome.rows, outcome.head
                )?;
                Ok(())
            }
            Some((id, why)) => {
                writeln!(
                    out,
                    "BROKEN: audit chain breaks at row {id}: {}",
                    why.describe()
                )?;
                anyhow::bail!("audit chain broken at row {id}")
            }
        };
    }
    let filter = AuditFilter::from(args);
    let rows = query(db, &filter).await?;
    if args.json {
        let listed: Vec<Value> = rows.iter().map(row_json).collect();
        serde_json::to_writer_pretty(&mut *out, &listed)?;
        writeln!(out)?;
    } else {
        write_table(out, &rows)?;
        let shown = rows.len();
        let more = filter.limit.is_some_and(|limit| shown == limit as usize);
        writeln!(
            out,
            "{shown} row{}{}",
            if shown == 1 { "" } else { "s" },
            if more {
                " (the newest; --limit 0 lists all)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

/// One row for `--json`: the table's columns, with `meta` parsed back into JSON.
pub fn row_json(row: &AuditRow) -> Value {
    let meta = row
        .meta
        .as_deref()
        .map(|m| serde_json::from_str(m).unwrap_or_else(|_| Value::String(m.to_string())));
    json!({
        "id": row.id,
        "at": row.at,
        "user_id": row.user_id,
        "action": row.action,
        "target": row.target,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "meta": meta,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    })
}

/// Printable, single-line, at most `MAX_CELL_CHARS` characters.
fn cell(value: Option<&str>) -> String {
    let Some(value) = value else {
        return "-".to_string();
    };
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > MAX_CELL_CHARS {
        let mut cut: String = clean.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        clean
    }
}

fn write_table(out: &mut impl Write, rows: &[AuditRow]) -> std::io::Result<()> {
    const HEADERS: [&str; 8] = [
        "ID",
        "TIME",
        "USER",
        "ACTION",
        "TARGET",
        "IP",
        "USER AGENT",
        "META",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                cell(Some(&r.at)),
                r.user_id.map_or_else(|| "-".to_string(), |u| u.to_string()),
                cell(Some(&r.action)),
                cell(r.target.as_deref()),
                cell(r.ip.as_deref()),
                cell(r.user_agent.as_deref()),
                cell(r.meta.as_deref()),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &cells {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let line = |out: &mut dyn Write, values: [&str; 8]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (value, width)) in values.iter().zip(widths).enumerate() {
            if i + 1 == values.len() {
                text.push_str(value);
            } else {
                text.push_str(value);
                text.extend(std::iter::repeat_n(' ', width - value.chars().count() + 2));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, HEADERS)?;
    for row in &cells {
        line(out, row.each_ref().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditRow> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|i| {
                let mut row = AuditRow {
                    id: i as i64,
                    at: format!("2025-01-01T00:00:0{i}.000Z"),
                    user_id: Some(1),
                    action: "user.signup".into(),
                    target: Some("1".into()),
                    ip: Some("127.0.0.1".into()),
                    user_agent: None,
                    meta: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                row.hash = row.compute_hash(&prev);
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    fn verify_rows(rows: &[AuditRow]) -> Verification {
        let mut v = ChainVerifier::default();
        for row in rows {
            if !v.push(row) {
                break;
            }
        }
        v.finish()
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let rows = chain(4);
        let outcome = verify_rows(&rows);
        assert_eq!(
            outcome,
            Verification {
                rows: 4,
                head: rows[3].hash.clone(),
                broken: None
            }
        );
        assert_eq!(verify_rows(&[]).head, GENESIS_HASH);
    }

    #[test]
    fn a_changed_row_is_named() {
        let mut rows = chain(4);
        rows[2].target = Some("2".into());
        assert_eq!(
            verify_rows(&rows).broken,
            Some((3, ChainBreak::ContentChanged))
        );
    }

    #[test]
    fn a_removed_row_breaks_the_next_link() {
        let mut rows = chain(4);
        rows.remove(1);
        assert_eq!(verify_rows(&rows).broken, Some((3, ChainBreak::LinkBroken)));
    }

    #[test]
    fn since_takes_rfc3339_or_an_age() {
        let now = DateTime::parse_from_rfc3339("2025-03-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_since("24h", now).unwrap().to_rfc3339(),
            "2025-03-09T12:00:00+00:00"
        );
        assert_eq!(
            parse_since("7d", now).unwrap().to_rfc3339(),
            "2025-03-03T12:00:00+00:00"
        );
        assert_eq!(
            parse_since("2025-01-01T01:00:00+01:00", now)
                .unwrap()
                .to_rfc3339(),
            "2025-01-01T00:00:00+00:00"
        );
        for bad in ["", "h", "-1d", "3y", "yesterday", "99999999999999w"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn table_cells_are_single_line_and_bounded() {
        assert_eq!(cell(Some("evil\u{1b}[2Jname\n")), "evil?[2Jname?");
        assert_eq!(cell(None), "-");
        assert_eq!(cell(Some(&"x".repeat(100))).chars().count(), MAX_CELL_CHARS);
    }
}
