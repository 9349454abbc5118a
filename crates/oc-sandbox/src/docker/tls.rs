//! Docker engines over TLS: a `tcp://` address with a certificate directory in the Docker
//! convention (`ca.pem`, `cert.pem`, `key.pem`, as `DOCKER_CERT_PATH` and `dockerd --tlsverify`
//! use them).
//!
//! The daemon's certificate is verified against `ca.pem` alone and must name the address's host
//! (a DNS name or an IP address in its subject alternative names). The system's roots are not
//! trusted: a public CA vouches for a name, not for which engine is ours. Our certificate and key
//! prove who we are to a daemon started with `--tlsverify`, which refuses any other client.
//!
//! bollard's own `ssl` feature is not used: it adds the system's roots to the CA, opens a new
//! connection (and handshake) for every call, and reads the key again for each. This is the same
//! hyper client bollard builds, over `hyper-rustls` with our `rustls` configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::errors::Error as DockerError;
use bollard::{BollardRequest, Docker, API_DEFAULT_VERSION};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::SandboxError;

/// The CA that signed the daemon's certificate (the only one trusted for it).
pub const CA_FILE: &str = "ca.pem";
/// Our client certificate (chain), signed by a CA the daemon trusts.
pub const CERT_FILE: &str = "cert.pem";
/// The private key of [`CERT_FILE`].
pub const KEY_FILE: &str = "key.pem";

/// A host's TLS settings, read once when the host is connected.
#[derive(Clone)]
pub(crate) struct Tls {
    /// Where the files were read from (shown by health reports and `doctor`).
    pub(crate) dir: PathBuf,
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("dir", &self.dir).finish()
    }
}

fn bad_file(path: &Path, why: impl std::fmt::Display) -> SandboxError {
    SandboxError::InvalidRequest(format!("Docker TLS file {}: {why}", path.display()))
}

impl Tls {
    /// Reads `ca.pem`, `cert.pem` and `key.pem` from `dir`; a missing or unreadable file, or one
    /// without the expected PEM block, is an error naming it.
    pub(crate) fn load(dir: &Path) -> Result<Tls, SandboxError> {
        let ca_path = dir.join(CA_FILE);
        let mut roots = RootCertStore::empty();
        for cert in certificates(&ca_path)? {
            roots.add(cert).map_err(|e| bad_file(&ca_path, e))?;
        }
        let cert_path = dir.join(CERT_FILE);
        let chain = certificates(&cert_path)?;
        let key_path = dir.join(KEY_FILE);
        let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| bad_file(&key_path, e))?;
        // The provider is named rather than taken from the process default, which another
        // library may have installed differently (or not at all).
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| SandboxError::Internal(format!("TLS protocol versions: {e}")))?
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad_file(&key_path, format!("does not fit {CERT_FILE}: {e}")))?;
        Ok(Tls {
            dir: dir.to_path_buf(),
            config: Arc::new(config),
        })
    }

    /// A client for the daemon at `address` (`tcp://host:port`) over TLS with these settings.
    /// Connections are pooled like bollard's own clients; each is verified as described in the
    /// module docs when it opens.
    pub(crate) fn connect(&self, address: &str, timeout_secs: u64) -> Result<Docker, DockerError> {
        let mut http = HttpConnector::new();
        // The connector sees `https://` URIs: it must not insist on `http://`.
        http.enforce_http(false);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config((*self.config).clone())
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        let authority = address.strip_prefix("tcp://").unwrap_or(address);
        Docker::connect_with_custom_transport(
            move |req: BollardRequest| {
                let client = client.clone();
                async move { client.request(req).await.map_err(DockerError::from) }
            },
            Some(format!("https://{authority}")),
            timeout_secs,
            API_DEFAULT_VERSION,
        )
    }
}

impl Tls {
    /// A TLS stream to the daemon at `address` (`tcp://host:port`), verified as the client's
    /// connections are: for the terminal's exec hijack, which speaks HTTP on it by hand.
    pub(crate) async fn stream(
        &self,
        address: &str,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let host = crate::hosts::tcp_host(address)
            .ok_or_else(|| invalid(format!("{address} is not a tcp:// address")))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| invalid(e.to_string()))?;
        let authority = address.trim_start_matches("tcp://").trim_end_matches('/');
        let tcp = tokio::net::TcpStream::connect(authority).await?;
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
    }

    /// Why the daemon at `address` refuses us, if TLS is the reason. Under TLS 1.3 the daemon
    /// checks our certificate after our side of the handshake is done, so a request can fail
    /// with nothing but a closed connection: this handshake waits for the daemon's answer (an
    /// alert, or silence while it waits for a request) to name the reason.
    pub(crate) async fn diagnose(&self, address: &str) -> Option<String> {
        use tokio::io::AsyncReadExt;
        let mut stream = match tokio::time::timeout(DIAGNOSE_TIMEOUT, self.stream(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return explain(&e),
            Err(_) => return None,
        };
        let mut byte = [0u8; 1];
        match tokio::time::timeout(DIAGNOSE_TIMEOUT, stream.read(&mut byte)).await {
            Ok(Err(e)) => explain(&e),
            _ => None,
        }
    }
}

/// How long [`Tls::diagnose`] waits for the handshake, then for the daemon's verdict.
const DIAGNOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// What a TLS failure somewhere in `e`'s causes means, in words: the daemon refusing our client
/// certificate, or its own certificate not passing our checks.
pub(crate) fn explain(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        match c.downcast_ref::<rustls::Error>() {
            Some(rustls::Error::AlertReceived(alert)) => {
                return Some(format!(
                    "the daemon refused our client certificate (TLS alert {alert:?}); \
                     is {CERT_FILE} signed by the CA its --tlscacert names?"
                ))
            }
            Some(rustls::Error::InvalidCertificate(why)) => {
                return Some(format!(
                    "the daemon's certificate does not pass our checks ({why:?}); \
                     is it signed by our {CA_FILE} and issued for this address?"
                ))
            }
            Some(other) => return Some(format!("TLS: {other}")),
            // `io::Error` does not list the error it wraps among its causes (and hyper-rustls
            // wraps tokio-rustls' `io::Error` in another): look inside.
            None => {
                cause = match c.downcast_ref::<std::io::Error>() {
                    Some(io) => io.get_ref().map(|inner| inner as _),
                    None => c.source(),
                }
            }
        }
    }
    None
}

/// Every certificate in a PEM file; none at all is an error.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, SandboxError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad_file(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_file(path, e))?;
    if certs.is_empty() {
        return Err(bad_file(path, "holds no certificate"));
    }
    Ok(certs)
}
