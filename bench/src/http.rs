//! `oc-bench http`: N keep-alive HTTP/1.1 connections, each issuing requests back to back for a
//! fixed time, latencies into an HDR histogram.
//!
//! Setup signs up one user and creates one pad, then runs the scenarios in turn:
//! - `get`: authenticated `GET /api/pads/{slug}` (auth + role lookup + pad read: the API's hot path);
//! - `create`: authenticated `POST /api/pads {title, language}` (a write per request).
//!
//! Connections are opened once per worker (reopened only after an I/O error); a request counts as
//! an error when it fails or answers other than 2xx. Only requests *started* after the warm-up
//! are measured.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

use crate::machine::{cpu_secs, Machine};

#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Base URL of a running opencoder (plain http; `bench/http.sh` starts one).
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    pub url: String,
    /// Concurrent keep-alive connections.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub connections: usize,
    /// Measured seconds per scenario.
    #[arg(long, short = 'd', default_value_t = 10)]
    pub duration: u64,
    /// Unmeasured seconds before each scenario.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
    /// Which scenario(s) to run.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    pub scenario: Scenario,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The server's process id: its CPU use during each scenario is reported (Linux).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Get,
    Create,
    All,
}

/// The server's address and the credentials the scenarios use.
#[derive(Clone)]
struct Target {
    /// `host:port` to connect to and send as `Host`.
    authority: String,
    bearer: String,
    slug: String,
}

/// One scenario's outcome.
struct Outcome {
    name: &'static str,
    histogram: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    /// Cores' worth of CPU the server and this client used while measuring.
    server_cores: Option<f64>,
    client_cores: Option<f64>,
}

impl Outcome {
    fn requests(&self) -> u64 {
        self.ok + self.errors
    }
    fn rate(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }
    /// Server CPU time per request in µs: the figure to compare builds by on a shared machine,
    /// where the throughput depends on what else runs.
    fn server_us_per_request(&self) -> Option<f64> {
        let rate = self.rate();
        (rate > 0.0).then_some(self.server_cores? * 1e6 / rate)
    }
    fn ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }
    fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }
    fn to_json(&self) -> Value {
        json!({
            "scenario": self.name,
            "requests": self.requests(),
            "requestsPerSecond": (self.rate() * 10.0).round() / 10.0,
            "p50Ms": self.ms(0.50),
            "p99Ms": self.ms(0.99),
            "maxMs": self.max_ms(),
            "errors": self.errors,
            "firstError": self.first_error,
            "serverCpuCores": self.server_cores,
            "serverCpuUsPerRequest": self.server_us_per_request().map(|us| us.round()),
            "clientCpuCores": self.client_cores,
        })
    }
}

pub async fn run(args: HttpArgs) -> anyhow::Result<()> {
    if args.connections == 0 || args.duration == 0 {
        bail!("--connections and --duration must be positive");
    }
    let authority = authority_of(&args.url)?;
    let target = setup(&authority)
        .await
        .context("setup (sign-up and pad creation)")?;
    let machine = Machine::detect();

    let mut outcomes = Vec::new();
    if matches!(args.scenario, Scenario::Get | Scenario::All) {
        outcomes.push(measure("GET /api/pads/{slug}", &target, &args, |_, t| get_pad(t)).await);
    }
    if matches!(args.scenario, Scenario::Create | Scenario::All) {
        outcomes.push(measure("POST /api/pads", &target, &args, create_pad).await);
    }

    if args.json {
        let report = json!({
            "bench": "http",
            "machine": machine.to_json(),
            "server": args.url,
            "connections": args.connections,
            "durationSecs": args.duration,
            "warmupSecs": args.warmup,
            "results": outcomes.iter().map(Outcome::to_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("oc-bench http");
        println!(
            "machine: {} cores, {} ({})",
            machine.nproc, machine.cpu_model, machine.os
        );
        println!("commit:  {}", machine.commit);
        println!(
            "server:  {}, {} connections, {} s per scenario after {} s warm-up",
            args.url, args.connections, args.duration, args.warmup
        );
        println!();
        println!(
            "{:<24} {:>10} {:>10} {:>8} {:>8} {:>8} {:>7}",
            "scenario", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
        );
        for o in &outcomes {
            println!(
                "{:<24} {:>10} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7}",
                o.name,
                o.requests(),
                o.rate(),
                o.ms(0.50),
                o.ms(0.99),
                o.max_ms(),
                o.errors
            );
            if let (Some(server), Some(client)) = (o.server_cores, o.client_cores) {
                println!("  CPU while measuring: server {server:.2} cores, bench client {client:.2} cores");
                if let Some(us) = o.server_us_per_request() {
                    println!("  server CPU per request: {us:.0} µs");
                }
            } else if let Some(client) = o.client_cores {
                println!("  CPU while measuring: bench client {client:.2} cores (pass --server-pid for the server's)");
            }
            if let Some(err) = &o.first_error {
                println!("  first error: {err}");
            }
        }
    }
    Ok(())
}

/// `http://host:port/...` → `host:port` (port 80 when absent).
fn authority_of(url: &str) -> anyhow::Result<String> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("only http:// URLs are supported, got {url}")
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        bail!("no host in {url}");
    }
    Ok(if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    })
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(authority: &str) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A request without its connection: method, path, token, optional JSON body.
struct Call {
    method: Method,
    path: String,
    bearer: Option<String>,
    body: Option<Value>,
}

async fn send(
    sender: &mut Sender,
    authority: &str,
    call: &Call,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let mut builder = Request::builder()
        .method(call.method.clone())
        .uri(&call.path)
        .header(header::HOST, authority);
    if let Some(token) = &call.bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match &call.body {
        Some(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(value)?)
        }
        None => Bytes::new(),
    };
    sender.ready().await?;
    let response = sender.send_request(builder.body(Full::new(body))?).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

/// Sign up one user and create the pad the GET scenario reads.
async fn setup(authority: &str) -> anyhow::Result<Target> {
    let mut sender = connect(authority).await?;
    let call = |method, path: &str, bearer: Option<&str>, body| Call {
        method,
        path: path.to_string(),
        bearer: bearer.map(str::to_string),
        body: Some(body),
    };
    let (status, body) = send(
        &mut sender,
        authority,
        &call(
            Method::POST,
            "/api/auth/guest",
            None,
            json!({ "name": "bench" }),
        ),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!(
            "sign-up answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let signup: Value = serde_json::from_slice(&body)?;
    let bearer = signup["token"]
        .as_str()
        .context("sign-up returned no token")?
        .to_string();
    let pad = json!({ "title": "bench pad", "language": "python" });
    let (status, body) = send(
        &mut sender,
        authority,
        &call(Method::POST, "/api/pads", Some(&bearer), pad),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!(
            "POST /api/pads answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let created: Value = serde_json::from_slice(&body)?;
    let slug = created["pad"]["slug"]
        .as_str()
        .context("POST /api/pads returned no pad.slug")?
        .to_string();
    Ok(Target {
        authority: authority.to_string(),
        bearer,
        slug,
    })
}

fn get_pad(target: &Target) -> Call {
    Call {
        method: Method::GET,
        path: format!("/api/pads/{}", target.slug),
        bearer: Some(target.bearer.clone()),
        body: None,
    }
}

fn create_pad(n: u64, target: &Target) -> Call {
    Call {
        method: Method::POST,
        path: "/api/pads".into(),
        bearer: Some(target.bearer.clone()),
        body: Some(json!({ "title": format!("bench {n}"), "language": "python" })),
    }
}

/// Run one scenario on `args.connections` workers and merge their histograms.
async fn measure(
    name: &'static str,
    target: &Target,
    args: &HttpArgs,
    make: fn(u64, &Target) -> Call,
) -> Outcome {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let until = measure_from + Duration::from_secs(args.duration);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..args.connections {
        let target = target.clone();
        workers.spawn(async move {
            // Latencies in microseconds, 1 µs to 60 s at 3 significant digits.
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
            let mut sender: Option<Sender> = None;
            let mut n = worker as u64 * 1_000_000_000;
            loop {
                let began = Instant::now();
                if began >= until {
                    break;
                }
                let measured = began >= measure_from;
                n += 1;
                let result = match sender.as_mut() {
                    Some(s) => send(s, &target.authority, &make(n, &target)).await,
                    None => match connect(&target.authority).await {
                        Ok(s) => {
                            sender = Some(s);
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                };
                let latency = began.elapsed();
                let failure = match result {
                    Ok((status, _)) if status.is_success() => None,
                    Ok((status, body)) => {
                        Some(format!("{status}: {}", String::from_utf8_lossy(&body)))
                    }
                    Err(err) => {
                        sender = None;
                        Some(format!("{err:#}"))
                    }
                };
                if !measured {
                    continue;
                }
                match failure {
                    None => {
                        ok += 1;
                        histogram.saturating_record(latency.as_micros().max(1) as u64);
                    }
                    Some(err) => {
                        errors += 1;
                        first_error.get_or_insert(err);
                        // Do not spin on a dead server.
                        if sender.is_none() {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
            (histogram, ok, errors, first_error)
        });
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_at_start = (cpu_secs(args.server_pid), cpu_secs(None));
    let mut outcome = Outcome {
        name,
        histogram: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::from_secs(args.duration),
        server_cores: None,
        client_cores: None,
    };
    while let Some(joined) = workers.join_next().await {
        let (histogram, ok, errors, first_error) = joined.expect("bench worker panicked");
        outcome.histogram.add(&histogram).expect("same bounds");
        outcome.ok += ok;
        outcome.errors += errors;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    // Requests started before `until` may finish after it; rate over the real window.
    outcome.elapsed = Instant::now()
        .saturating_duration_since(measure_from)
        .max(Duration::from_millis(1));
    let cores = |start: Option<f64>, end: Option<f64>| {
        Some((end? - start?) / outcome.elapsed.as_secs_f64())
    };
    if args.server_pid.is_some() {
        outcome.server_cores = cores(cpu_at_start.0, cpu_secs(args.server_pid));
    }
    outcome.client_cores = cores(cpu_at_start.1, cpu_secs(None));
    outcome
}

#[cfg(test)]
mod tests {
    use super::authority_of;

    #[test]
    fn authorities_come_from_plain_http_urls() {
        assert_eq!(
            authority_of("http://127.0.0.1:4000").unwrap(),
            "127.0.0.1:4000"
        );
        assert_eq!(
            authority_of("http://127.0.0.1:4000/").unwrap(),
            "127.0.0.1:4000"
        );
        assert_eq!(authority_of("http://localhost/x").unwrap(), "localhost:80");
        assert!(authority_of("https://example.com").is_err());
        assert!(authority_of("http://").is_err());
    }
}
