//! Signing out of the provider too (RP-initiated logout): when the provider advertises an
//! `end_session_endpoint`, the browser is sent there with the ID token of its sign-in as
//! `id_token_hint` and this server's front page as `post_logout_redirect_uri`.

use openidconnect::{ClientId, LogoutRequest, PostLogoutRedirectUrl};

use super::provider::{IdToken, Provider};

/// Where to send a browser that signed out, if the provider ends sessions itself. Without the
/// hint (an older sign-in, a token too large for its cookie) the request names the client.
pub async fn end_session_url(
    provider: &Provider,
    id_token: Option<&str>,
    public_base_url: &str,
) -> Option<String> {
    let discovered = match provider.discovered().await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(error = %err, "no provider logout: discovery failed");
            return None;
        }
    };
    let endpoint = discovered.end_session.clone()?;
    let back =
        PostLogoutRedirectUrl::new(format!("{}/", public_base_url.trim_end_matches('/'))).ok()?;
    let request = LogoutRequest::from(endpoint)
        .set_client_id(ClientId::new(provider.settings.client_id.clone()))
        .set_post_logout_redirect_uri(back);
    let request = match id_token.and_then(|raw| raw.parse::<IdToken>().ok()) {
        Some(token) => request.set_id_token_hint(&token),
        None => request,
    };
    Some(request.http_get_url().to_string())
}
