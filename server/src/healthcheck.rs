//! `opencoder healthcheck [--ready]`: asks this server's own `/healthz` (or `/readyz`) and exits
//! 0 on a 200. It is the container image's `HEALTHCHECK` (deploy/Dockerfile): the runtime image
//! carries no curl or wget, and the binary finds the port in the same configuration the server
//! reads. A server listening on every address (`HOST=0.0.0.0` or `::`) is asked over loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// How long one check may take, connecting included (the image's HEALTHCHECK allows 5 s).
pub const TIMEOUT: Duration = Duration::from_secs(4);
/// Bytes of an answer read (shown when the check fails: `/readyz` names the failing checks).
pub const MAX_BODY_BYTES: usize = 4096;

/// Which endpoint a check asks.
#[derive(Clone, Copy, Debug)]
pub enum Probe {
    /// `/healthz`: the process serves requests.
    Live,
    /// `/readyz`: the database, Redis (when configured) and an execution backend answer.
    Ready,
}

impl Probe {
    fn path(self) -> &'static str {
        match self {
            Probe::Live => "/healthz",
            Probe::Ready => "/readyz",
        }
    }
}

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("no answer from {url} within {}s", TIMEOUT.as_secs())]
    Timeout { url: String },
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
    #[error("{url} answered {status}: {body}")]
    Unhealthy {
        url: String,
        status: u16,
        body: String,
    },
}

/// The address a client on this machine reaches a server bound to `host:port` at.
pub fn target(host: IpAddr, port: u16) -> SocketAddr {
    let host = match host {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    SocketAddr::new(host, port)
}

/// One GET of the probe's endpoint at `addr`; Ok on a 200.
pub async fn check(addr: SocketAddr, probe: Probe) -> Result<(), CheckError> {
    let url = format!("http://{addr}{}", probe.path());
    let request_error = |reason: String| CheckError::Request {
        url: url.clone(),
        reason,
    };
    let uri: http::Uri = url.parse().map_err(|e| request_error(format!("{e}")))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let exchange = async {
        let response = client
            .get(uri)
            .await
            .map_err(|e| request_error(format!("{e:#}")))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_else(|e| format!("(unreadable answer: {e})"));
        if status == http::StatusCode::OK {
            Ok(())
        } else {
            Err(CheckError::Unhealthy {
                url: url.clone(),
                status: status.as_u16(),
                body,
            })
        }
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(CheckError::Timeout { url: url.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_on_every_address_is_asked_over_loopback() {
        assert_eq!(
            target("0.0.0.0".parse().unwrap(), 4000),
            "127.0.0.1:4000".parse().unwrap()
        );
        assert_eq!(
            target("::".parse().unwrap(), 4000),
            "[::1]:4000".parse().unwrap()
        );
        assert_eq!(
            target("10.1.2.3".parse().unwrap(), 80),
            "10.1.2.3:80".parse().unwrap()
        );
    }
}
