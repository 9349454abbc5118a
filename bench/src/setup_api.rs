//! The benchmarks' setup requests (sign-ups, pads, members): one JSON request per fresh HTTP/1.1
//! connection. Never on a measured path.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// `host:port` of an `http://host:port` URL.
pub fn authority_of(url: &str) -> anyhow::Result<String> {
    Ok(url
        .strip_prefix("http://")
        .context("--url must be http://host:port")?
        .trim_end_matches('/')
        .to_string())
}

/// One JSON request over a fresh HTTP/1.1 connection (setup only).
pub async fn call(
    authority: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let stream = TcpStream::connect(authority).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut request = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::HOST, authority);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(&b)?)
        }
        None => Bytes::new(),
    };
    let response = sender.send_request(request.body(Full::new(body))?).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!(
            "{method} {path} → {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}
