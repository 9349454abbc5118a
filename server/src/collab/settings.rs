//! `COLLAB_*` settings (SPEC §4): how long a flooding pad socket is slowed before it is closed,
//! each pad's budget of update-log history, and how many bytes of the update log may wait for
//! the writer. Parsed with the rest of the configuration; every variable is listed in the README.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{number, ConfigError};

/// Default of `COLLAB_FLOOD_CLOSE_MS`.
pub const DEFAULT_FLOOD_CLOSE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct CollabSettings {
    /// `COLLAB_FLOOD_CLOSE_MS` (10000): a pad socket over its update or sync-request rate is
    /// slowed (its reading pauses until the budget refills); one that stays over the rate this
    /// long without a break is closed with 1008.
    pub flood_close_after: Duration,
    /// `COLLAB_HISTORY_BYTES` (268435456): bytes of update log (`doc_updates`) one pad may
    /// accumulate. Playback replays the whole log, so it is never compacted; once the budget is
    /// used, edits are refused (`history_full`) and the pad stays readable (fork it to go on).
    /// REST edits are refused once less than `MAX_UPDATE_BYTES` of it is left.
    pub history_bytes: u64,
    /// `COLLAB_PERSIST_QUEUE_BYTES` (67108864): update bytes queued for the log writer but not
    /// yet committed. Above it, pad sockets stop reading until the writer catches up, and REST
    /// edits wait up to `persist::QUEUE_WAIT_TIMEOUT` before a 503.
    pub persist_queue_bytes: usize,
}

impl Default for CollabSettings {
    fn default() -> Self {
        CollabSettings::from_vars(&HashMap::new()).expect("defaults are valid")
    }
}

impl CollabSettings {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<CollabSettings, ConfigError> {
        let default_flood_ms = DEFAULT_FLOOD_CLOSE.as_millis() as u64;
        Ok(CollabSettings {
            flood_close_after: Duration::from_millis(number(
                vars,
                "COLLAB_FLOOD_CLOSE_MS",
                default_flood_ms,
                100,
                3_600_000,
            )?),
            // At least 1 MiB: a REST edit needs room for one largest update (`MAX_UPDATE_BYTES`).
            history_bytes: number(vars, "COLLAB_HISTORY_BYTES", 256 << 20, 1 << 20, 1 << 40)?,
            // At least a few of the largest updates, so one update can always be queued.
            persist_queue_bytes: number::<u64>(
                vars,
                "COLLAB_PERSIST_QUEUE_BYTES",
                64 << 20,
                4 << 20,
                16 << 30,
            )? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let s = CollabSettings::default();
        assert_eq!(s.flood_close_after, DEFAULT_FLOOD_CLOSE);
        assert_eq!(s.history_bytes, 256 << 20);
        assert_eq!(s.persist_queue_bytes, 64 << 20);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("COLLAB_FLOOD_CLOSE_MS", "soon"),
            ("COLLAB_HISTORY_BYTES", "10"),
            ("COLLAB_PERSIST_QUEUE_BYTES", "-1"),
        ] {
            let err = CollabSettings::from_vars(&vars(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
