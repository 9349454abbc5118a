//! The OpenID provider as this server sees it: its discovery document and signing keys (fetched
//! on first use and again after `DISCOVERY_TTL`, so a provider that is down at start-up does not
//! keep the server down, and rotated keys are followed), and the `openidconnect` client built on
//! them. The HTTP client follows no redirects: a provider answer must not steer this server's
//! requests elsewhere (SSRF).

use std::sync::Arc;
use std::time::Instant;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    reqwest, AdditionalClaims, ClientId, ClientSecret, EmptyExtraTokenFields, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    ProviderMetadataWithLogout, RedirectUrl, StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::settings::{ProviderSettings, CALLBACK_PATH, DISCOVERY_TTL, PROVIDER_TIMEOUT};

/// Claims beyond the standard ones (a `groups` list, a role…), for the admin mapping.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for ExtraClaims {}

pub type IdToken = openidconnect::IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type IdTokenClaims = openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        ExtraClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// The client after discovery: authorization endpoint set, token and user-info endpoints as
/// the provider advertises them.
pub type OidcClient = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One discovery's worth of the provider.
pub struct Discovered {
    pub client: OidcClient,
    /// RP-initiated logout, when the provider advertises it.
    pub end_session: Option<EndSessionUrl>,
    fetched: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the identity provider could not be reached or answered badly: {0}")]
    Discovery(String),
    #[error("the identity provider's configuration is unusable: {0}")]
    Config(String),
}

#[derive(Clone)]
pub struct Provider {
    pub settings: Arc<ProviderSettings>,
    redirect: RedirectUrl,
    http: reqwest::Client,
    cache: Arc<Mutex<Option<Arc<Discovered>>>>,
}

impl Provider {
    pub fn new(settings: ProviderSettings, public_base_url: &str) -> anyhow::Result<Provider> {
        let redirect = RedirectUrl::new(format!(
            "{}{CALLBACK_PATH}",
            public_base_url.trim_end_matches('/')
        ))
        .map_err(|err| anyhow::anyhow!("PUBLIC_BASE_URL: not a URL for the SSO callback: {err}"))?;
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|err| anyhow::anyhow!("cannot build the SSO HTTP client: {err}"))?;
        Ok(Provider {
            settings: Arc::new(settings),
            redirect,
            http,
            cache: Arc::new(Mutex::new(None)),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The provider as last discovered, discovering it again when the copy is older than
    /// `DISCOVERY_TTL`. One discovery at a time: concurrent sign-ins wait for it.
    pub async fn discovered(&self) -> Result<Arc<Discovered>, ProviderError> {
        let mut cache = self.cache.lock().await;
        if let Some(found) = cache.as_ref() {
            if found.fetched.elapsed() < DISCOVERY_TTL {
                return Ok(found.clone());
            }
        }
        let fresh = Arc::new(self.discover().await?);
        *cache = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forget the discovered copy, so the next `discovered` fetches the provider's keys again
    /// (after a signature that did not verify: the provider may have rotated its keys).
    pub async fn forget(&self) {
        *self.cache.lock().await = None;
    }

    async fn discover(&self) -> Result<Discovered, ProviderError> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|err| ProviderError::Config(err.to_string()))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|err| ProviderError::Discovery(error_chain(&err)))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().clone())),
        )
        .set_redirect_uri(self.redirect.clone());
        Ok(Discovered {
            client,
            end_session,
            fetched: Instant::now(),
        })
    }
}

/// An error and its causes on one line (the crate's errors wrap the useful part).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
