//! `oc-bench terminal`: keystroke echo round trip through the server's shared terminal (SPEC §6).
//!
//! One user, one pad, one terminal socket (`/ws/pad/{slug}/terminal`). After the shell is up,
//! the client types one character at a time and measures from sending it (a binary frame) until
//! it comes back in the output stream (the shell's readline echoes it through the TTY): socket →
//! server → exec stdin of the session container → TTY → output pump → socket. The next key is
//! sent only after the previous one came back; every `LINE_KEYS` keys the line is cleared with
//! Ctrl-U (not measured). Traffic goes only to `--url` (a local server); the run is bounded.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use hyper::Method;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::machine::Machine;
use crate::setup_api::call;

/// Keys typed on one line before it is cleared.
const LINE_KEYS: usize = 40;
/// Longest wait for one echo before the run fails.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args, Debug, Clone)]
pub struct TerminalArgs {
    /// Base URL of the server (plain http on loopback).
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    pub url: String,
    /// Measured keystrokes.
    #[arg(long, default_value_t = 500)]
    pub keys: usize,
    /// Unmeasured keystrokes first.
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// A name for this run in the output.
    #[arg(long)]
    pub label: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

pub async fn run(args: TerminalArgs) -> anyhow::Result<()> {
    if args.keys == 0 {
        bail!("--keys must be positive");
    }
    let machine = Machine::detect();
    let authority = args
        .url
        .strip_prefix("http://")
        .context("--url must be http://host:port")?
        .trim_end_matches('/')
        .to_string();
    let signup = call(
        &authority,
        Method::POST,
        "/api/auth/guest",
        None,
        Some(json!({ "name": "terminal bench" })),
    )
    .await?;
    let token = signup["token"]
        .as_str()
        .context("sign-up returned no token")?
        .to_string();
    let pad = call(
        &authority,
        Method::POST,
        "/api/pads",
        Some(&token),
        Some(json!({ "title": "terminal bench", "language": "python" })),
    )
    .await?;
    let slug = pad["pad"]["slug"]
        .as_str()
        .context("pad without slug")?
        .to_string();

    let url = format!("ws://{authority}/ws/pad/{slug}/terminal");
    let mut request = url.as_str().into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("opencoder.v1, oc.bearer.{token}"))?,
    );
    let connect_started = Instant::now();
    // No Nagle delay on keystrokes.
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .context("connecting the terminal socket")?;
    socket
        .send(Message::Text(
            json!({ "type": "resize", "cols": 200, "rows": 50 })
                .to_string()
                .into(),
        ))
        .await?;
    wait_running(&mut socket).await?;
    let start_ms = connect_started.elapsed().as_secs_f64() * 1000.0;
    // Let the prompt arrive, then drain whatever is pending.
    socket
        .send(Message::Binary(Bytes::from_static(b"echo bench-ready\n")))
        .await?;
    wait_output(&mut socket, b"bench-ready\r\n").await?;
    drain(&mut socket, Duration::from_millis(300)).await?;

    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut typed_on_line = 0;
    // Echoes that came back as exactly the byte typed (a sanity check on the matching).
    let mut exact = 0usize;
    for i in 0..args.warmup + args.keys {
        if typed_on_line == LINE_KEYS {
            socket
                .send(Message::Binary(Bytes::from_static(b"\x15")))
                .await?;
            drain(&mut socket, Duration::from_millis(20)).await?;
            typed_on_line = 0;
        }
        let key = b'a' + (i % 26) as u8;
        let sent = Instant::now();
        socket
            .send(Message::Binary(Bytes::copy_from_slice(&[key])))
            .await?;
        if wait_output(&mut socket, &[key]).await? {
            exact += 1;
        }
        let micros = sent.elapsed().as_micros() as u64;
        typed_on_line += 1;
        if i >= args.warmup {
            histogram.record(micros.max(1))?;
        }
    }
    let _ = socket.close(None).await;

    let ms = |q: f64| (histogram.value_at_quantile(q) as f64 / 10.0).round() / 100.0;
    let report = json!({
        "bench": "terminal",
        "label": args.label.clone().unwrap_or_else(|| "terminal".into()),
        "machine": machine.to_json(),
        "keys": args.keys,
        "warmupKeys": args.warmup,
        "startMs": (start_ms * 10.0).round() / 10.0,
        "p50Ms": ms(0.5),
        "p90Ms": ms(0.9),
        "p99Ms": ms(0.99),
        "maxMs": (histogram.max() as f64 / 10.0).round() / 100.0,
        "meanMs": (histogram.mean() / 10.0).round() / 100.0,
        "exactEchoes": exact,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "oc-bench terminal — {} cores, {}, commit {}",
            machine.nproc, machine.cpu_model, machine.commit
        );
        println!(
            "echo round trip over {} keystrokes (after {} warm-up):",
            args.keys, args.warmup
        );
        println!(
            "  p50 {} ms   p90 {} ms   p99 {} ms   max {} ms   (terminal start {} ms; {} of {} echoes were exactly the key)",
            report["p50Ms"], report["p90Ms"], report["p99Ms"], report["maxMs"], report["startMs"], exact, args.warmup + args.keys
        );
    }
    Ok(())
}

async fn wait_running(socket: &mut Socket) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let next = tokio::time::timeout_at(deadline.into(), socket.next())
            .await
            .context("the terminal did not start within 60 s")?;
        match next {
            None => bail!("the terminal socket closed while starting"),
            Some(message) => {
                if let Message::Text(text) = message? {
                    let value: Value = serde_json::from_str(text.as_str())?;
                    if value["type"] == "status" && value["state"] == "running" {
                        return Ok(());
                    }
                    if value["type"] == "error"
                        || (value["type"] == "status" && value["state"] == "exited")
                    {
                        bail!("the terminal did not start: {value}");
                    }
                }
            }
        }
    }
}

/// Waits until `needle` shows up in the output; `true` when the first frame was exactly it.
async fn wait_output(socket: &mut Socket, needle: &[u8]) -> anyhow::Result<bool> {
    let deadline = Instant::now() + ECHO_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline.into(), socket.next())
            .await
            .with_context(|| {
                format!(
                    "no echo of {:?} within {ECHO_TIMEOUT:?}",
                    String::from_utf8_lossy(needle)
                )
            })?;
        match next {
            None => bail!("the terminal socket closed"),
            Some(message) => {
                if let Message::Binary(bytes) = message? {
                    let first = seen.is_empty();
                    seen.extend_from_slice(&bytes);
                    if seen.windows(needle.len()).any(|w| w == needle) {
                        return Ok(first && bytes.as_ref() == needle);
                    }
                }
            }
        }
    }
}

async fn drain(socket: &mut Socket, quiet: Duration) -> anyhow::Result<()> {
    while let Ok(next) = tokio::time::timeout(quiet, socket.next()).await {
        match next {
            None => bail!("the terminal socket closed"),
            Some(message) => {
                message?;
            }
        }
    }
    Ok(())
}
