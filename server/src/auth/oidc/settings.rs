//! `OIDC_*` and `AUTH_MODE` settings: which OpenID provider, this server's client at it, and
//! whether name-only accounts remain a way in. Parsed with the rest of the configuration; every
//! variable is listed in the README.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{get, invalid, number, ConfigError, Mode, Secret};

/// Path of the callback under `PUBLIC_BASE_URL`; registered at the provider as the redirect URI.
pub const CALLBACK_PATH: &str = "/api/auth/oidc/callback";

/// A sign-in past its lifetime is kept (row and cookie) this much longer, so a late callback is
/// told it expired rather than that it is unknown; then it is swept.
pub const EXPIRED_NOTICE: Duration = Duration::from_secs(300);

/// Ceiling of `OIDC_LOGIN_TTL_SECS`.
pub const MAX_LOGIN_TTL_SECS: u64 = 3600;

/// Every request to the provider (discovery, keys, token) gives up after this.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Discovery and the signing keys are fetched again after this, so key rotation is followed.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// Ceiling of `OIDC_CLOCK_SKEW_SECS`.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Which ways in exist besides SSO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Name-only accounts, and SSO too when `OIDC_ISSUER` is set.
    All,
    /// SSO only: name-only sign-up and recovery-key sign-in are refused (403 `sso_only`).
    SsoOnly,
}

#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// `AUTH_MODE` (`all`; `sso` = single sign-on is the only way in, needs `OIDC_ISSUER`).
    pub mode: AuthMode,
    /// The provider, when SSO is configured (`OIDC_ISSUER` set).
    pub provider: Option<ProviderSettings>,
    /// `OIDC_CLOCK_SKEW_SECS` (60): how far past its expiry an ID token is still accepted, for
    /// clocks that differ between this server and the provider.
    pub clock_skew: Duration,
    /// `OIDC_LOGIN_TTL_SECS` (600): how long a started sign-in may take at the provider before
    /// its callback is refused (`sso_login_expired`); also the sign-in cookie's lifetime.
    pub login_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// `OIDC_ISSUER`: the issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// `OIDC_CLIENT_ID`: this server's client id at the provider (required with `OIDC_ISSUER`).
    pub client_id: String,
    /// `OIDC_CLIENT_SECRET` (unset = a public client, PKCE only): from the environment only.
    pub client_secret: Option<Secret<String>>,
    /// `OIDC_SCOPES` (`openid profile email`): space-separated; `openid` is always asked for.
    pub scopes: Vec<String>,
    /// `OIDC_LABEL` (`SSO`): the button reads "Sign in with <label>".
    pub label: String,
    /// `OIDC_ADMIN_CLAIM` + `OIDC_ADMIN_VALUE` (both unset = no mapping): an ID token whose claim
    /// equals, or is a list containing, the value makes the account an admin at each sign-in;
    /// one without it takes the role away.
    pub admin_claim: Option<(String, String)>,
}

/// Longest `OIDC_LABEL`, so the button stays a button.
pub const MAX_LABEL_CHARS: usize = 40;

impl OidcSettings {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<OidcSettings, ConfigError> {
        let mode = match get(vars, "AUTH_MODE") {
            None | Some("all") => AuthMode::All,
            Some("sso") => AuthMode::SsoOnly,
            Some(other) => {
                return Err(invalid(
                    "AUTH_MODE",
                    format!("expected all or sso, got {other:?}"),
                ))
            }
        };
        let provider = match get(vars, "OIDC_ISSUER") {
            Some(issuer) => Some(ProviderSettings::from_vars(vars, issuer)?),
            None => {
                for var in [
                    "OIDC_CLIENT_ID",
                    "OIDC_CLIENT_SECRET",
                    "OIDC_ADMIN_CLAIM",
                    "OIDC_ADMIN_VALUE",
                ] {
                    if get(vars, var).is_some() {
                        return Err(invalid(var, "is set but OIDC_ISSUER is not"));
                    }
                }
                None
            }
        };
        if mode == AuthMode::SsoOnly && provider.is_none() {
            return Err(invalid(
                "AUTH_MODE",
                "sso needs a provider: set OIDC_ISSUER and OIDC_CLIENT_ID",
            ));
        }
        let skew = number(vars, "OIDC_CLOCK_SKEW_SECS", 60, 0, MAX_CLOCK_SKEW_SECS)?;
        let login_ttl = number(vars, "OIDC_LOGIN_TTL_SECS", 600, 1, MAX_LOGIN_TTL_SECS)?;
        Ok(OidcSettings {
            mode,
            provider,
            clock_skew: Duration::from_secs(skew),
            login_ttl: Duration::from_secs(login_ttl),
        })
    }

    /// The refusals that hold in every mode (the callback needs a public origin), then the
    /// production ones: the issuer's keys and tokens must not travel in clear text over a network.
    pub fn validate(&self, mode: Mode, public_base_url: Option<&str>) -> Result<(), ConfigError> {
        let Some(provider) = &self.provider else {
            return Ok(());
        };
        if public_base_url.is_none() {
            return Err(invalid(
                "OIDC_ISSUER",
                "single sign-on needs PUBLIC_BASE_URL (the redirect URI is PUBLIC_BASE_URL + /api/auth/oidc/callback)",
            ));
        }
        if mode != Mode::Production {
            return Ok(());
        }
        if !provider.issuer.starts_with("https://") && !is_loopback_http(&provider.issuer) {
            return Err(invalid(
                "OIDC_ISSUER",
                "must be an https:// URL in production (http:// is accepted only for a provider on this machine: localhost, 127.0.0.1 or [::1])",
            ));
        }
        // This server can keep a secret, so it signs in as a confidential client: a code caught
        // on its way back is then useless without the secret as well as the PKCE verifier.
        if provider.client_secret.is_none() {
            return Err(invalid(
                "OIDC_CLIENT_SECRET",
                "is required in production: register opencoder as a confidential client at the provider",
            ));
        }
        Ok(())
    }

    /// Whether name-only sign-up and recovery-key sign-in are ways in.
    pub fn names_allowed(&self) -> bool {
        self.mode == AuthMode::All
    }
}

/// `http://localhost…`, `http://127.0.0.1…` or `http://[::1]…`: traffic that never leaves the host.
fn is_loopback_http(issuer: &str) -> bool {
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ProviderSettings {
    fn from_vars(
        vars: &HashMap<String, String>,
        issuer: &str,
    ) -> Result<ProviderSettings, ConfigError> {
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(invalid(
                "OIDC_ISSUER",
                format!("{issuer:?} is not an http(s) URL"),
            ));
        }
        let client_id = get(vars, "OIDC_CLIENT_ID")
            .ok_or_else(|| invalid("OIDC_CLIENT_ID", "is required with OIDC_ISSUER"))?
            .to_string();
        let mut scopes: Vec<String> = get(vars, "OIDC_SCOPES")
            .unwrap_or("openid profile email")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        // The crate asks for `openid` itself; listing it twice would repeat it in the request.
        scopes.retain(|s| s != "openid");
        let label = get(vars, "OIDC_LABEL").unwrap_or("SSO").to_string();
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(invalid(
                "OIDC_LABEL",
                format!("must be at most {MAX_LABEL_CHARS} characters, no control characters"),
            ));
        }
        let admin_claim = match (get(vars, "OIDC_ADMIN_CLAIM"), get(vars, "OIDC_ADMIN_VALUE")) {
            (Some(claim), Some(value)) => Some((claim.to_string(), value.to_string())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "OIDC_ADMIN_VALUE",
                    "is required with OIDC_ADMIN_CLAIM",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "OIDC_ADMIN_CLAIM",
                    "is required with OIDC_ADMIN_VALUE",
                ))
            }
        };
        Ok(ProviderSettings {
            issuer: issuer.to_string(),
            client_id,
            client_secret: get(vars, "OIDC_CLIENT_SECRET").map(|s| Secret::new(s.to_string())),
            scopes,
            label,
            admin_claim,
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

    const BASE: &str = "https://pad.example.com";

    #[test]
    fn sso_only_needs_a_provider_and_a_public_origin() {
        let err = OidcSettings::from_vars(&vars(&[("AUTH_MODE", "sso")])).unwrap_err();
        assert!(err.to_string().starts_with("AUTH_MODE"), "{err}");
        let s = OidcSettings::from_vars(&vars(&[
            ("AUTH_MODE", "sso"),
            ("OIDC_ISSUER", "https://id.example.com"),
            ("OIDC_CLIENT_ID", "pad"),
        ]))
        .unwrap();
        assert!(!s.names_allowed());
        let err = s.validate(Mode::Development, None).unwrap_err();
        assert!(err.to_string().contains("PUBLIC_BASE_URL"), "{err}");
        let err = s.validate(Mode::Production, Some(BASE)).unwrap_err();
        assert!(err.to_string().starts_with("OIDC_CLIENT_SECRET"), "{err}");
    }

    #[test]
    fn half_configurations_name_the_missing_variable() {
        for (pairs, var) in [
            (
                vec![("OIDC_ISSUER", "https://id.example.com")],
                "OIDC_CLIENT_ID",
            ),
            (vec![("OIDC_CLIENT_ID", "pad")], "OIDC_CLIENT_ID"),
            (
                vec![
                    ("OIDC_ISSUER", "https://id.example.com"),
                    ("OIDC_CLIENT_ID", "pad"),
                    ("OIDC_ADMIN_CLAIM", "groups"),
                ],
                "OIDC_ADMIN_VALUE",
            ),
            (vec![("OIDC_ISSUER", "id.example.com")], "OIDC_ISSUER"),
            (vec![("AUTH_MODE", "names")], "AUTH_MODE"),
            (
                vec![("OIDC_CLOCK_SKEW_SECS", "301")],
                "OIDC_CLOCK_SKEW_SECS",
            ),
        ] {
            let err = OidcSettings::from_vars(&vars(&pairs)).unwrap_err();
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn production_refuses_a_clear_text_issuer_off_this_machine() {
        let with = |issuer: &str| {
            OidcSettings::from_vars(&vars(&[
                ("OIDC_ISSUER", issuer),
                ("OIDC_CLIENT_ID", "pad"),
                ("OIDC_CLIENT_SECRET", "s3cret-s3cret"),
            ]))
            .unwrap()
        };
        for issuer in ["http://id.example.com", "http://10.0.0.5:8080/realms/x"] {
            let s = with(issuer);
            s.validate(Mode::Development, Some(BASE)).unwrap();
            let err = s.validate(Mode::Production, Some(BASE)).unwrap_err();
            assert!(err.to_string().starts_with("OIDC_ISSUER"), "{err}");
        }
        for issuer in [
            "http://localhost:9000",
            "http://127.0.0.1:9000/oidc",
            "http://[::1]:9000",
            "https://id.example.com",
        ] {
            with(issuer).validate(Mode::Production, Some(BASE)).unwrap();
        }
    }

    #[test]
    fn the_client_secret_is_never_printed() {
        let s = OidcSettings::from_vars(&vars(&[
            ("OIDC_ISSUER", "https://id.example.com"),
            ("OIDC_CLIENT_ID", "pad"),
            ("OIDC_CLIENT_SECRET", "hunter2-hunter2"),
        ]))
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn scopes_always_include_openid_once() {
        let s = OidcSettings::from_vars(&vars(&[
            ("OIDC_ISSUER", "https://id.example.com"),
            ("OIDC_CLIENT_ID", "pad"),
            ("OIDC_SCOPES", "openid groups  profile"),
        ]))
        .unwrap();
        assert_eq!(s.provider.unwrap().scopes, ["groups", "profile"]);
    }
}
