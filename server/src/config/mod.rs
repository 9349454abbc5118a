//! Configuration: one documented table read from the environment (and an optional `.env`).
//!
//! Every field names its variable, default and effect; `README.md` and `.env.example` repeat
//! the table and a test checks they stay in step. `Config::from_vars` is pure so tests can build
//! any configuration without touching the process environment. Production refusals live in
//! `validate` and name the variable and the fix (SPEC §8).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

mod secret;
mod vars;

use secret::load_or_generate_secret;
pub use secret::Secret;
pub(crate) use vars::{flag, get, number};
use vars::{parse_cookie_domain, parse_origins, parse_proxies};

/// Secrets shorter than this are refused in production (SPEC §8).
pub const MIN_SECRET_BYTES: usize = 32;

/// File inside `DATA_DIR` holding the development secret generated when `JWT_SECRET` is unset.
pub const JWT_SECRET_FILE: &str = "jwt_secret";

/// Ceiling of `RATE_LIMIT_PER_MINUTE`; high enough that load tests can switch the limit off in effect.
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 1_000_000_000;

/// Secrets that appear in tutorials, templates and the original's `.env.example`.
const WELL_KNOWN_SECRETS: &[&str] = &[
    "secret",
    "changeme",
    "change-me",
    "change_me",
    "dev-secret",
    "development",
    "jwt_secret",
    "your-secret",
    "your_jwt_secret",
    "supersecret",
    "opencoder",
    "dev-secret-change-me-in-production-please-32b",
    "replace-me-with-openssl-rand-hex-64",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error("could not prepare DATA_DIR {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.into(),
    }
}

/// Where the JWT secret came from; reported by `doctor` and `/api/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    GeneratedFile,
    Missing,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `OPENCODER_ENV` (or `NODE_ENV`) = `production` turns on the production refusals. Default development.
    pub mode: Mode,
    /// `HOST` (0.0.0.0): interface to listen on.
    pub host: IpAddr,
    /// `PORT` (4000): port for the web client, the API and the WebSockets.
    pub port: u16,
    /// `DATA_DIR` (./data): database, generated dev secret, compile cache.
    pub data_dir: PathBuf,
    /// `DATABASE_URL` (sqlite://DATA_DIR/opencoder.db): SQLite database, or a PostgreSQL database
    /// with `postgres://` (whose password this keeps out of `Debug`).
    pub database_url: Secret<String>,
    /// `REDIS_URL` (unset = one node, in-process bus): `redis://…`, `rediss://…` or
    /// `redis+unix://…`; domain events then cross nodes through Redis. May carry a password.
    pub redis_url: Option<Secret<String>>,
    /// `METRICS_TOKEN`: a Bearer token that opens `/metrics` to any address (without it, only
    /// loopback and trusted proxies). Production refuses one shorter than `MIN_SECRET_BYTES`.
    pub metrics_token: Option<Secret<String>>,
    /// `JWT_SECRET` (dev: generated once into DATA_DIR/jwt_secret): HS256 signing key.
    pub jwt_secret: Secret<Vec<u8>>,
    pub jwt_secret_source: SecretSource,
    /// `ENABLE_HSTS` (off): send Strict-Transport-Security.
    pub enable_hsts: bool,
    /// `ALLOWED_ORIGINS` (unset = only this site's own origin is trusted): comma-separated extra trusted origins.
    pub allowed_origins: Option<Vec<String>>,
    /// `RATE_LIMIT_PER_MINUTE` (120): global per-IP request budget.
    pub rate_limit_per_minute: u32,
    /// `SIGNUP_RATE_LIMIT_PER_MINUTE` (10): sign-up and recovery per-IP budget.
    pub signup_rate_limit_per_minute: u32,
    /// `PAD_MAX_MEMBERS` (250): members one pad may have, owner included; joining a full pad
    /// through an invite or a password is refused with 409 `pad_full` (existing members keep
    /// their place and may still be upgraded).
    pub pad_max_members: usize,
    /// `COOKIE_DOMAIN` (unset): Domain attribute of the session cookie.
    pub cookie_domain: Option<String>,
    /// `TRUSTED_PROXIES` (127.0.0.0/8,::1/128): peers whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `PUBLIC_BASE_URL` (unset = derived from the request's Host): base of invite links.
    pub public_base_url: Option<String>,
    /// `MAX_BODY_BYTES` (1048576): request body limit; larger bodies get 413.
    pub max_body_bytes: usize,
    /// `WEB_DIR` (unset = the client embedded in the binary): serve the web client from disk instead.
    pub web_dir: Option<PathBuf>,
    /// `LOG_FORMAT` (text; `json` for machine-readable lines).
    pub log_json: bool,
    /// The `EXEC_*` settings (see `exec::settings`).
    pub exec: crate::exec::ExecSettings,
    /// The `TERMINAL_*` settings (see `terminal::settings`).
    pub terminal: crate::terminal::TerminalSettings,
    /// The `COLLAB_*` settings (see `collab::settings`).
    pub collab: crate::collab::CollabSettings,
    /// The `SQLITE_*` settings (see `db::settings`).
    pub db: crate::db::DbSettings,
    /// The `RECORDING_*` settings (see `recordings::settings`).
    pub recordings: crate::recordings::settings::RecordingSettings,
    /// `AUTH_MODE` and the `OIDC_*` settings (see `auth::oidc::settings`).
    pub oidc: crate::auth::oidc::OidcSettings,
}

/// Read `.env` (if present) without overriding real environment variables, then snapshot the environment.
pub fn environment() -> HashMap<String, String> {
    let _ = dotenvy::dotenv();
    std::env::vars().collect()
}

impl Config {
    /// Build the configuration from a snapshot of variables and apply the production refusals.
    /// Pure: touches neither the disk nor the process environment (`prepare` does the disk).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let config = Config::parse_vars(vars)?;
        config.validate()?;
        Ok(config)
    }

    /// Parse every variable (malformed values are still errors) but skip the production refusals.
    /// Only for tools that never serve or sign anything and must work on a config the server
    /// would refuse: `opencoder doctor` reports the refusal as a check, `opencoder audit` only
    /// reads the database.
    pub fn parse_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let env_name = get(vars, "OPENCODER_ENV").or_else(|| get(vars, "NODE_ENV"));
        let mode = match env_name.map(|v| v.to_ascii_lowercase()) {
            Some(v) if v == "production" => Mode::Production,
            Some(v) if ["development", "dev", "test"].contains(&v.as_str()) => Mode::Development,
            None => Mode::Development,
            Some(other) => {
                return Err(invalid(
                    "OPENCODER_ENV",
                    format!("expected production or development, got {other:?}"),
                ))
            }
        };
        let host = match get(vars, "HOST") {
            Some(h) => h
                .parse()
                .map_err(|_| invalid("HOST", format!("{h:?} is not an IP address")))?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let port = number(vars, "PORT", 4000u16, 0, u16::MAX)?;
        let data_dir = PathBuf::from(get(vars, "DATA_DIR").unwrap_or("./data"));
        let database_url = match get(vars, "DATABASE_URL") {
            Some(url) if crate::db::Backend::of_url(url).is_some() => url.to_string(),
            Some(url) => {
                return Err(invalid(
                    "DATABASE_URL",
                    format!(
                        "only sqlite: and postgres:// URLs are supported, got {:?}",
                        url.split(':').next().unwrap_or("")
                    ),
                ))
            }
            None => format!("sqlite://{}", data_dir.join("opencoder.db").display()),
        };
        let (jwt_secret, jwt_secret_source) = match get(vars, "JWT_SECRET") {
            Some(s) => (s.as_bytes().to_vec(), SecretSource::Environment),
            None => (Vec::new(), SecretSource::Missing),
        };
        let allowed_origins = get(vars, "ALLOWED_ORIGINS")
            .map(parse_origins)
            .transpose()?;
        let trusted_proxies =
            parse_proxies(get(vars, "TRUSTED_PROXIES").unwrap_or("127.0.0.0/8,::1/128"))?;
        let public_base_url = match get(vars, "PUBLIC_BASE_URL") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_string())
            }
            Some(u) => {
                return Err(invalid(
                    "PUBLIC_BASE_URL",
                    format!("{u:?} must start with http:// or https://"),
                ))
            }
            None => None,
        };
        let redis_url = match get(vars, "REDIS_URL") {
            Some(url)
                if ["redis://", "rediss://", "redis+unix://", "unix://"]
                    .iter()
                    .any(|p| url.starts_with(p)) =>
            {
                Some(Secret::new(url.to_string()))
            }
            // The value may hold a password: name only its scheme.
            Some(url) => {
                return Err(invalid(
                    "REDIS_URL",
                    format!(
                        "expected redis://, rediss:// or redis+unix://, got {:?}",
                        url.split(':').next().unwrap_or("")
                    ),
                ))
            }
            None => None,
        };
        let log_json = match get(vars, "LOG_FORMAT") {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ))
            }
        };
        Ok(Config {
            mode,
            host,
            port,
            data_dir,
            database_url: Secret::new(database_url),
            redis_url,
            metrics_token: get(vars, "METRICS_TOKEN").map(|t| Secret::new(t.to_string())),
            jwt_secret: Secret::new(jwt_secret),
            jwt_secret_source,
            enable_hsts: flag(vars, "ENABLE_HSTS")?,
            allowed_origins,
            rate_limit_per_minute: number(
                vars,
                "RATE_LIMIT_PER_MINUTE",
                120,
                1,
                MAX_RATE_LIMIT_PER_MINUTE,
            )?,
            signup_rate_limit_per_minute: number(
                vars,
                "SIGNUP_RATE_LIMIT_PER_MINUTE",
                10,
                1,
                10_000,
            )?,
            pad_max_members: number(vars, "PAD_MAX_MEMBERS", 250, 2, 100_000)?,
            cookie_domain: get(vars, "COOKIE_DOMAIN")
                .map(parse_cookie_domain)
                .transpose()?,
            trusted_proxies,
            public_base_url,
            max_body_bytes: number(vars, "MAX_BODY_BYTES", 1 << 20, 1024, 64 << 20)?,
            web_dir: get(vars, "WEB_DIR").map(PathBuf::from),
            log_json,
            exec: crate::exec::ExecSettings::from_vars(vars)?,
            terminal: crate::terminal::TerminalSettings::from_vars(vars)?,
            collab: crate::collab::CollabSettings::from_vars(vars)?,
            db: crate::db::DbSettings::from_vars(vars)?,
            recordings: crate::recordings::settings::RecordingSettings::from_vars(vars)?,
            oidc: crate::auth::oidc::OidcSettings::from_vars(vars)?,
        })
    }

    /// The refusals (SPEC §8): the local backend's in every mode, then the production ones.
    /// Development tolerates a missing secret: `prepare` generates one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_local_backend()?;
        self.oidc
            .validate(self.mode, self.public_base_url.as_deref())?;
        if self.mode != Mode::Production {
            return Ok(());
        }
        self.exec.refuse_plain_remote_engines()?;
        let secret = self.jwt_secret.expose();
        if secret.is_empty() {
            return Err(invalid(
                "JWT_SECRET",
                "is required in production; generate one with `openssl rand -hex 64`",
            ));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(invalid(
                "JWT_SECRET",
                format!(
                    "is {} bytes; production needs at least {MIN_SECRET_BYTES} (use `openssl rand -hex 64`)",
                    secret.len()
                ),
            ));
        }
        let lowered = String::from_utf8_lossy(secret).to_ascii_lowercase();
        let single_char = secret.iter().all(|b| *b == secret[0]);
        if single_char || WELL_KNOWN_SECRETS.iter().any(|known| lowered == *known) {
            return Err(invalid(
                "JWT_SECRET",
                "is a well-known or trivial value; generate one with `openssl rand -hex 64`",
            ));
        }
        if let Some(token) = &self.metrics_token {
            if token.expose().len() < MIN_SECRET_BYTES {
                return Err(invalid(
                    "METRICS_TOKEN",
                    format!(
                        "is {} bytes; production needs at least {MIN_SECRET_BYTES} (use `openssl rand -hex 32`)",
                        token.expose().len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The unsandboxed local backend runs code as host processes that can read `DATA_DIR` (the
    /// signing secret, the database), so it needs the explicit `EXEC_ALLOW_LOCAL` in every mode
    /// and a server that only loopback clients can reach.
    fn validate_local_backend(&self) -> Result<(), ConfigError> {
        if self.exec.force_local && !self.exec.allow_local {
            return Err(invalid(
                "EXEC_FORCE_LOCAL",
                "runs code unsandboxed on this host and needs EXEC_ALLOW_LOCAL=1 as well; unset it to use Docker",
            ));
        }
        if self.terminal.allow_local && !self.exec.allow_local {
            return Err(invalid(
                "TERMINAL_ALLOW_LOCAL",
                "a shell on this host needs EXEC_ALLOW_LOCAL=1 as well; unset it to use Docker",
            ));
        }
        if self.exec.allow_local && !self.host.is_loopback() {
            return Err(invalid(
                "EXEC_ALLOW_LOCAL",
                format!(
                    "the unsandboxed local backend may only serve this machine, but HOST is {}; \
                     set HOST=127.0.0.1 (or ::1), or unset EXEC_ALLOW_LOCAL and make Docker reachable",
                    self.host
                ),
            ));
        }
        Ok(())
    }

    /// Create `DATA_DIR` and, in development without `JWT_SECRET`, load or generate the secret
    /// kept there so sessions survive restarts.
    pub fn prepare(&mut self) -> Result<(), ConfigError> {
        self.ensure_data_dir()?;
        if self.jwt_secret_source == SecretSource::Missing {
            let secret = load_or_generate_secret(&self.data_dir.join(JWT_SECRET_FILE)).map_err(
                |source| ConfigError::DataDir {
                    path: self.data_dir.clone(),
                    source,
                },
            )?;
            self.jwt_secret = Secret::new(secret);
            self.jwt_secret_source = SecretSource::GeneratedFile;
        }
        Ok(())
    }

    /// Create `DATA_DIR` (and its parents) if missing; `migrate` needs no more than this.
    pub fn ensure_data_dir(&self) -> Result<(), ConfigError> {
        std::fs::create_dir_all(&self.data_dir).map_err(|source| ConfigError::DataDir {
            path: self.data_dir.clone(),
            source,
        })
    }

    pub fn is_production(&self) -> bool {
        self.mode == Mode::Production
    }

    /// Warnings printed at start-up and shown by `doctor`.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.is_production() && self.allowed_origins.is_none() {
            warnings.push(
                "ALLOWED_ORIGINS is unset in production: only an Origin matching the request's Host (or \
                 PUBLIC_BASE_URL) is trusted, which a proxy that rewrites Host breaks; set it to your public origin"
                    .to_string(),
            );
        }
        if self.is_production() && !self.enable_hsts {
            warnings.push(
                "ENABLE_HSTS is off in production; enable it once TLS terminates in front"
                    .to_string(),
            );
        }
        warnings
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
    fn defaults_are_development_on_port_4000() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(c.mode, Mode::Development);
        assert_eq!(c.port, 4000);
        assert_eq!(c.rate_limit_per_minute, 120);
        assert!(c.allowed_origins.is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("PORT", "eighty"),
            ("RATE_LIMIT_PER_MINUTE", "0"),
            ("ENABLE_HSTS", "maybe"),
            ("TRUSTED_PROXIES", "not-a-cidr"),
            ("ALLOWED_ORIGINS", "example.com"),
            ("OPENCODER_ENV", "staging"),
            ("COOKIE_DOMAIN", "evil.example; SameSite=None"),
            ("COOKIE_DOMAIN", "https://pad.example.com"),
            ("COOKIE_DOMAIN", "pad.example.com:4000"),
            ("NODE_ID", "node a"),
            ("REDIS_URL", "http://cache:6379"),
        ] {
            let err = Config::from_vars(&vars(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    #[test]
    fn a_refused_redis_url_never_shows_its_password() {
        let c =
            Config::from_vars(&vars(&[("DATABASE_URL", "postgres://oc:hunter2@db/oc")])).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"), "nor the database's");
        let err = Config::from_vars(&vars(&[("REDIS_URL", "tcp://user:hunter2@cache:6379")]))
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let c =
            Config::from_vars(&vars(&[("REDIS_URL", "redis://:hunter2@cache:6379/0")])).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn production_refuses_weak_secrets() {
        let strong = "f".repeat(20) + &"0123456789abcdef".repeat(4);
        for secret in [
            None,
            Some("short"),
            Some("supersecret"),
            Some(&"a".repeat(64)[..]),
        ] {
            let mut v = vars(&[("NODE_ENV", "production")]);
            if let Some(s) = secret {
                v.insert("JWT_SECRET".into(), s.into());
            }
            let err = Config::from_vars(&v).unwrap_err().to_string();
            assert!(err.contains("JWT_SECRET"), "{err}");
        }
        let ok = Config::from_vars(&vars(&[
            ("OPENCODER_ENV", "production"),
            ("JWT_SECRET", &strong),
        ]))
        .unwrap();
        assert!(ok.is_production());
        assert!(!ok.warnings().is_empty());
        let production = [("OPENCODER_ENV", "production"), ("JWT_SECRET", &strong[..])];
        let short = "m".repeat(MIN_SECRET_BYTES - 1);
        let err = Config::from_vars(&vars(&[
            production[0],
            production[1],
            ("METRICS_TOKEN", &short),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("METRICS_TOKEN") && !err.to_string().contains(&short),
            "{err}"
        );
        let long = "m".repeat(MIN_SECRET_BYTES);
        let ok = Config::from_vars(&vars(&[
            production[0],
            production[1],
            ("METRICS_TOKEN", &long),
        ]))
        .unwrap();
        assert!(!format!("{ok:?}").contains(&long));
    }

    #[test]
    fn the_local_backend_needs_the_opt_in_and_a_loopback_bind() {
        // The opt-in on the default bind (0.0.0.0) is refused, with what to do.
        let err = Config::from_vars(&vars(&[("EXEC_ALLOW_LOCAL", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("EXEC_ALLOW_LOCAL") && err.contains("HOST=127.0.0.1"),
            "{err}"
        );
        let err = Config::from_vars(&vars(&[("EXEC_ALLOW_LOCAL", "1"), ("HOST", "192.168.1.5")]))
            .unwrap_err();
        assert!(err.to_string().starts_with("EXEC_ALLOW_LOCAL"), "{err}");
        // Forcing local runs or a host terminal without the opt-in is refused in every mode.
        for var in ["EXEC_FORCE_LOCAL", "TERMINAL_ALLOW_LOCAL"] {
            let err = Config::from_vars(&vars(&[(var, "1"), ("HOST", "127.0.0.1")]))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(var) && err.contains("EXEC_ALLOW_LOCAL=1"),
                "{err}"
            );
        }
        for host in ["127.0.0.1", "::1"] {
            let c = Config::from_vars(&vars(&[
                ("EXEC_ALLOW_LOCAL", "1"),
                ("EXEC_FORCE_LOCAL", "1"),
                ("HOST", host),
            ]))
            .unwrap();
            assert!(c.exec.allow_local && c.exec.force_local);
        }
    }

    #[test]
    fn cookie_domain_accepts_host_names() {
        for domain in [
            "pad.example.com",
            ".example.com",
            "localhost",
            "Pad-1.Example.COM",
        ] {
            let c = Config::from_vars(&vars(&[("COOKIE_DOMAIN", domain)])).unwrap();
            assert_eq!(
                c.cookie_domain.as_deref(),
                Some(domain.to_ascii_lowercase().as_str())
            );
        }
    }

    #[test]
    fn parse_vars_skips_only_the_production_refusals() {
        let weak = vars(&[("OPENCODER_ENV", "production"), ("JWT_SECRET", "changeme")]);
        assert!(Config::from_vars(&weak).is_err());
        let parsed = Config::parse_vars(&weak).unwrap();
        assert!(parsed
            .validate()
            .unwrap_err()
            .to_string()
            .contains("JWT_SECRET"));
        assert!(Config::parse_vars(&vars(&[("PORT", "eighty")])).is_err());
    }

    #[test]
    fn secret_debug_is_masked() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}
