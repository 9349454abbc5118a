//! `RECORDING_*` settings: what one user may ask of playback. Parsed with the rest of the
//! configuration; every variable is listed in the README.
//!
//! An export streams the whole recording and a state request rebuilds the document at an
//! instant; both read the database at length and cost CPU, and both are open to every viewer. So
//! each has a per-user budget, and a state request a bound on the bytes it may merge.

use std::collections::HashMap;

use crate::config::{number, ConfigError};

/// Default of `RECORDING_HISTORY_CACHE_BYTES`: a 100,000-keystroke recording's history takes
/// about 8 MiB (estimated ~10 MB; `bench/playback.sh`), so dozens of long recordings scrubbed at
/// once.
pub const HISTORY_CACHE_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone)]
pub struct RecordingSettings {
    /// `RECORDING_STATE_MAX_BYTES` (67108864): bytes one state request may read and merge (the
    /// checkpoint it starts from, the segments and the single updates after it); over it the
    /// request is answered 413 `payload_too_large` without rebuilding anything.
    pub state_max_bytes: u64,
    /// `RECORDING_STATES_PER_MINUTE` (120): state requests per user per minute (429 beyond).
    pub states_per_minute: u32,
    /// `RECORDING_EXPORTS_PER_MINUTE` (10): exports per user per minute (429 beyond).
    pub exports_per_minute: u32,
    /// `RECORDING_HISTORY_CACHE_BYTES` (268435456): estimated memory of the recordings'
    /// histories held for scrubbing (`recordings::history`), least recently used dropped first;
    /// 0 holds none (every state is rebuilt from checkpoints).
    pub history_cache_bytes: u64,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        RecordingSettings::from_vars(&HashMap::new()).expect("defaults are valid")
    }
}

impl RecordingSettings {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<RecordingSettings, ConfigError> {
        let per_minute = |var, default| number::<u32>(vars, var, default, 1, 1_000_000);
        Ok(RecordingSettings {
            state_max_bytes: number(vars, "RECORDING_STATE_MAX_BYTES", 64 << 20, 1024, 1 << 40)?,
            states_per_minute: per_minute("RECORDING_STATES_PER_MINUTE", 120)?,
            exports_per_minute: per_minute("RECORDING_EXPORTS_PER_MINUTE", 10)?,
            history_cache_bytes: number(
                vars,
                "RECORDING_HISTORY_CACHE_BYTES",
                HISTORY_CACHE_BYTES,
                0,
                1 << 40,
            )?,
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
    fn defaults_and_bad_values_name_the_variable() {
        let s = RecordingSettings::default();
        assert_eq!(
            (
                s.state_max_bytes,
                s.states_per_minute,
                s.exports_per_minute,
                s.history_cache_bytes
            ),
            (64 << 20, 120, 10, 256 << 20)
        );
        for (var, value) in [
            ("RECORDING_STATE_MAX_BYTES", "12"),
            ("RECORDING_STATES_PER_MINUTE", "0"),
            ("RECORDING_EXPORTS_PER_MINUTE", "lots"),
            ("RECORDING_HISTORY_CACHE_BYTES", "-1"),
        ] {
            let err = RecordingSettings::from_vars(&vars(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
