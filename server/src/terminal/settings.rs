//! `TERMINAL_*` settings (SPEC §6): lifetimes of the shared terminal, its output rate, what is
//! recorded, and the local development fallback. Parsed with the rest of the configuration;
//! every variable is listed in the README.
//!
//! The session container's memory and CPU are the runs' (`EXEC_MEMORY_MB`, `EXEC_CPUS`), its
//! image and seccomp profile too (`EXEC_IMAGE`, `EXEC_SECCOMP_PROFILE`).

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{flag, number, ConfigError};

#[derive(Debug, Clone)]
pub struct TerminalSettings {
    /// `TERMINAL_IDLE_MS` (600000): no input for this long → the container is destroyed and
    /// everyone on the terminal is told (`status: idle_timeout`); a restart starts a fresh one.
    pub idle: Duration,
    /// `TERMINAL_MAX_MS` (7200000): hard lifetime of one session container (`status:
    /// max_lifetime`). The container's own PID 1 also exits after it, should the server die.
    pub max_lifetime: Duration,
    /// `TERMINAL_GRACE_MS` (30000): the container outlives its last client by this much (a
    /// reload reconnects to the same shell).
    pub grace: Duration,
    /// `TERMINAL_OUTPUT_BYTES_PER_SEC` (262144): output rate of one terminal; beyond it the
    /// shell is paused (its TTY stops being read), nothing is buffered without bound.
    pub output_bytes_per_sec: u64,
    /// `TERMINAL_RECORD_BYTES` (4194304): terminal output recorded into the pad's event log per
    /// pad per `record::RECORD_WINDOW` (an hour), for playback, whatever containers come and go;
    /// past it a single `truncated` marker. Keystrokes are never recorded.
    pub record_bytes: u64,
    /// `TERMINAL_DISK_MB` (128): size of the session container's writable `/tmp` (the
    /// workspace lives there).
    pub disk_mb: u64,
    /// `TERMINAL_MAX_CONTAINERS` (8): terminal session containers on this server at once; a
    /// start beyond it is refused with an `error` (`too_many_containers`). Each also holds one of
    /// its starter's `EXEC_PER_USER_CONCURRENCY` places, shared with runs.
    pub max_containers: usize,
    /// `TERMINAL_ALLOW_LOCAL` (false): when Docker is unreachable, give terminals a shell on
    /// the HOST (a PTY in a private temp dir, empty environment) — development only, no
    /// isolation, loudly flagged; refused in production.
    pub allow_local: bool,
}

impl Default for TerminalSettings {
    fn default() -> Self {
        TerminalSettings::from_vars(&HashMap::new()).expect("defaults are valid")
    }
}

impl TerminalSettings {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<TerminalSettings, ConfigError> {
        let day = 24 * 3600 * 1000;
        let settings = TerminalSettings {
            idle: Duration::from_millis(number(vars, "TERMINAL_IDLE_MS", 600_000, 100, day)?),
            max_lifetime: Duration::from_millis(number(
                vars,
                "TERMINAL_MAX_MS",
                7_200_000,
                1_000,
                7 * day,
            )?),
            grace: Duration::from_millis(number(vars, "TERMINAL_GRACE_MS", 30_000, 0, 3_600_000)?),
            // At least one read chunk per second, so a chunk never waits for more than a second.
            output_bytes_per_sec: number(
                vars,
                "TERMINAL_OUTPUT_BYTES_PER_SEC",
                256 * 1024,
                16 * 1024,
                1 << 30,
            )?,
            record_bytes: number(vars, "TERMINAL_RECORD_BYTES", 4 << 20, 0, 1 << 30)?,
            disk_mb: number(vars, "TERMINAL_DISK_MB", 128, 16, 16_384)?,
            max_containers: number::<usize>(vars, "TERMINAL_MAX_CONTAINERS", 8, 1, 10_000)?,
            allow_local: flag(vars, "TERMINAL_ALLOW_LOCAL")?,
        };
        Ok(settings)
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
        let s = TerminalSettings::default();
        assert_eq!(s.idle, Duration::from_millis(600_000));
        assert_eq!(s.max_lifetime, Duration::from_millis(7_200_000));
        assert!(!s.allow_local);
        assert_eq!(s.max_containers, 8);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("TERMINAL_IDLE_MS", "soon"),
            ("TERMINAL_MAX_MS", "0"),
            ("TERMINAL_ALLOW_LOCAL", "maybe"),
            ("TERMINAL_OUTPUT_BYTES_PER_SEC", "10"),
            ("TERMINAL_MAX_CONTAINERS", "0"),
        ] {
            let err = TerminalSettings::from_vars(&vars(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
