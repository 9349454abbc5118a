//! `opencoder doctor`'s single sign-on check: the provider answers discovery, so sign-ins can
//! start. A failure is a FAIL where SSO is the only way in, a warning beside name accounts.

use super::settings::AuthMode;
use super::Provider;
use crate::config::Config;
use crate::doctor::{Check, Status};

pub async fn check(config: &Config) -> Check {
    let (Some(settings), Some(base)) = (&config.oidc.provider, &config.public_base_url) else {
        return Check::ok("sso", "no single sign-on (OIDC_ISSUER is unset)");
    };
    let provider = match Provider::new(settings.clone(), base) {
        Ok(provider) => provider,
        Err(err) => return Check::fail("sso", err.to_string()),
    };
    match provider.discovered().await {
        Ok(found) => Check::ok(
            "sso",
            format!(
                "{} answers discovery ({}); redirect URI {base}{}",
                settings.issuer,
                if found.end_session.is_some() {
                    "logout goes through the provider"
                } else {
                    "no end_session_endpoint: logout is local only"
                },
                super::settings::CALLBACK_PATH,
            ),
        ),
        Err(err) => {
            let status = match config.oidc.mode {
                AuthMode::SsoOnly => Status::Fail,
                AuthMode::All => Status::Warn,
            };
            Check::new("sso", status, format!("OIDC_ISSUER: {err}"))
        }
    }
}
