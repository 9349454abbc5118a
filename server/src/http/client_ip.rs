//! The client's IP, the key of every rate limit and the `ip` of audit rows (SPEC §8).
//!
//! `X-Forwarded-For` is believed only when the TCP peer is a trusted proxy; then the address list
//! is walked from the right, skipping further trusted hops, so a client cannot pick its own bucket
//! by sending the header itself.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client's address. Addresses are canonicalised first: on a dual-stack listener an IPv4
/// proxy appears as `::ffff:127.0.0.1`, which must still match `127.0.0.0/8`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()))
        .collect::<Result<_, _>>()
        // A malformed chain is ignored entirely rather than half-believed.
        .unwrap_or_default();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// Middleware: compute the client IP once and store it in the request's extensions.
pub async fn attach(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let ip = resolve(peer, request.headers(), &state.config.trusted_proxies);
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([127, 0, 0, 1]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn loopback() -> Vec<IpNet> {
        vec!["127.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn untrusted_peer_cannot_choose_its_address() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolve(peer, &headers("1.2.3.4"), &loopback()), peer);
    }

    #[test]
    fn trusted_proxy_is_believed_from_the_right() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let got = resolve(
            peer,
            &headers("6.6.6.6, 198.51.100.7, 127.0.0.2"),
            &loopback(),
        );
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(resolve(peer, &headers("garbage"), &loopback()), peer);
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_networks() {
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let got = resolve(mapped, &headers("198.51.100.7"), &loopback());
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
        let untrusted: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(
            resolve(untrusted, &headers("1.2.3.4"), &loopback()),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }
}
