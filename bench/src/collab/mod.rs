//! `oc-bench collab`: load on the pad WebSocket (SPEC §4) — N Yjs clients per pad over one or many
//! pads, T of them typing at R keystrokes/s, the rest watching — measuring end-to-end propagation
//! latency (typist's send → every other client's receipt, HDR histogram, µs), and the server's CPU
//! and RSS from `/proc/<pid>`.
//!
//! Works against opencoder (`--server opencoder`: signs users up, creates pads, authenticates with
//! the `oc.bearer.` subprotocol) and against a plain y-websocket server (`--server y-websocket`:
//! no auth, one room per URL path), so `bench/collab.sh` can run both under the same load.
//!
//! How latency is measured without clock sync: every client runs in this process. A typist's
//! keystroke is a real yrs update inserting one character; its Yjs id (client, clock) is read back
//! from the first struct of each update a receiver gets, and matched to the instant the typist
//! sent it. Receivers never apply updates (they only parse the header), so the load generator stays
//! cheap; typists only ever append to their own previous insert, so their updates are valid.
//!
//! Several nodes of one cluster (`--url` repeated, with `--pid` for each in the same order): the
//! clients of each pad are spread over the nodes (client `i` of pad `p` on node `(p + i) % n`, so a
//! pad's typist and its first watcher are on different nodes), and deliveries are also reported
//! apart by whether they crossed nodes. Each receiver counts updates it got twice (`duplicates`).
//!
//! Whether the time goes to the server or to this load generator: a probe task asks the
//! generator's runtime for a 10 ms sleep over and over and records how late it wakes
//! (`generatorLagP99Ms`), and the generator's own CPU is read from `/proc/self`. A late-waking
//! generator inflates every latency it measures; a quiet one means the latency is the server's.
//!
//! Every run is bounded (`--warmup` + `--duration`), talks only to the given loopback servers, and
//! stops by itself.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use oc_proto::{Limits, MessageRef};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_util::sync::CancellationToken;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact};

use crate::machine::Machine;

mod opencoder;
mod process;

use opencoder::opencoder_setup;
use process::{mib, probe_generator_lag, sample_processes, ProcessSample};

/// Connections one opencoder user may hold (the server's `MAX_CONNECTIONS_PER_USER`).
const CONNECTIONS_PER_USER: usize = 20;
/// Concurrent connection attempts during setup.
const CONNECT_CONCURRENCY: usize = 64;
/// How often the generator's lag probe asks for a wake-up.
const LAG_PROBE_PERIOD: Duration = Duration::from_millis(10);
/// The text every typist types into on a y-websocket server; on opencoder it is the root of the
/// pad's starter file (`file:<id>`), the only kind of root the server accepts.
const BENCH_TEXT: &str = "file:bench.txt";

#[derive(Debug, Clone, Args)]
pub struct CollabArgs {
    /// Base URL of the server (plain http on loopback); repeat it for the nodes of one cluster
    /// (setup goes through the first; clients are spread over all of them).
    #[arg(long = "url", default_value = "http://127.0.0.1:4000")]
    pub urls: Vec<String>,
    /// What speaks at `--url`.
    #[arg(long, value_enum, default_value_t = ServerKind::Opencoder)]
    pub server: ServerKind,
    /// Number of pads (rooms).
    #[arg(long, default_value_t = 1)]
    pub pads: usize,
    /// Typing clients per pad.
    #[arg(long, default_value_t = 50)]
    pub typists: usize,
    /// Watching (read-only traffic) clients per pad.
    #[arg(long, default_value_t = 200)]
    pub watchers: usize,
    /// Keystrokes per second per typist.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Measured seconds (for idle runs: how long the clients are held).
    #[arg(long, short = 'd', default_value_t = 20)]
    pub duration: u64,
    /// Unmeasured seconds of typing first.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Server process id, for CPU and RSS from /proc; one per `--url`, in the same order.
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// A name for this run in the output.
    #[arg(long)]
    pub label: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerKind {
    Opencoder,
    YWebsocket,
}

/// One client's connection details.
struct Slot {
    url: String,
    /// Index of the node (`--url`) it connects to.
    node: usize,
    protocol: Option<String>,
    typist: Option<usize>,
    /// The root the typist types into.
    text_root: String,
}

/// State shared by every client task.
struct Shared {
    /// Send instants per typist, indexed by the Yjs clock of the keystroke.
    sent: Vec<Mutex<Vec<Instant>>>,
    /// Yjs client id → typist index.
    typist_of: HashMap<u64, usize>,
    /// The node each typist is connected to.
    typist_node: Vec<usize>,
    measure_from: Instant,
    measure_until: Instant,
    /// Cancelled once the run is over. Every client waits on it instead of polling a flag: with
    /// 15,000 clients a 100 ms poll alone was 150,000 wake-ups a second in the generator.
    stop: CancellationToken,
    keystrokes_measured: AtomicU64,
    keystrokes_total: AtomicU64,
    unmatched: AtomicU64,
    closed_early: AtomicU64,
    duplicates: AtomicU64,
}

/// One client's deliveries: all of them, and those that crossed nodes.
struct Deliveries {
    all: Histogram<u64>,
    cross_node: Histogram<u64>,
}

pub async fn run(args: CollabArgs) -> anyhow::Result<()> {
    if args.pads == 0 || args.typists + args.watchers == 0 {
        bail!("--pads and --typists + --watchers must be positive");
    }
    let machine = Machine::detect();
    let per_pad = args.typists + args.watchers;
    let total = args.pads * per_pad;
    if !args.pids.is_empty() && args.pids.len() != args.urls.len() {
        bail!("give one --pid per --url (or none)");
    }
    let ws_bases: Vec<String> = args
        .urls
        .iter()
        .map(|url| {
            url.replacen("http://", "ws://", 1)
                .trim_end_matches('/')
                .to_string()
        })
        .collect();

    let setup_started = Instant::now();
    let rooms: Vec<(String, Vec<Option<String>>, String)> = match args.server {
        ServerKind::Opencoder => opencoder_setup(&args)
            .await
            .context("setup (sign-ups, pads, invites)")?,
        ServerKind::YWebsocket => (0..args.pads)
            .map(|p| {
                (
                    format!("/bench-pad-{p}"),
                    vec![None; per_pad],
                    BENCH_TEXT.to_string(),
                )
            })
            .collect(),
    };
    let mut slots = Vec::with_capacity(total);
    let mut typist_node = Vec::new();
    for (pad, (path, protocols, text_root)) in rooms.into_iter().enumerate() {
        for (i, protocol) in protocols.into_iter().enumerate() {
            let node = (pad + i) % ws_bases.len();
            let typist = (i < args.typists).then_some(typist_node.len());
            if typist.is_some() {
                typist_node.push(node);
            }
            let url = format!("{}{path}", ws_bases[node]);
            slots.push(Slot {
                url,
                node,
                protocol,
                typist,
                text_root: text_root.clone(),
            });
        }
    }
    let typists = typist_node.len();
    let docs: Vec<Doc> = (0..typists).map(|_| Doc::new()).collect();
    let typist_of = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.client_id().get(), i))
        .collect();

    // Connect everyone and finish the sync handshake before any typing.
    let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut connecting = Vec::with_capacity(total);
    for slot in &slots {
        let (url, protocol) = (slot.url.clone(), slot.protocol.clone());
        let permits = permits.clone();
        connecting.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            connect(&url, protocol.as_deref()).await
        }));
    }
    let mut sockets = Vec::with_capacity(total);
    for handle in connecting {
        sockets.push(handle.await??);
    }
    let connected_in = setup_started.elapsed();

    let now = Instant::now();
    let shared = Arc::new(Shared {
        sent: (0..typists).map(|_| Mutex::new(Vec::new())).collect(),
        typist_of,
        typist_node,
        measure_from: now + Duration::from_secs(args.warmup),
        measure_until: now + Duration::from_secs(args.warmup + args.duration),
        stop: CancellationToken::new(),
        keystrokes_measured: AtomicU64::new(0),
        keystrokes_total: AtomicU64::new(0),
        unmatched: AtomicU64::new(0),
        closed_early: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
    });
    let mut docs: Vec<Option<Doc>> = docs.into_iter().map(Some).collect();
    let mut tasks = Vec::with_capacity(total);
    for (slot, socket) in slots.iter().zip(sockets) {
        let doc = slot.typist.and_then(|t| docs[t].take().map(|d| (t, d)));
        let shared = shared.clone();
        let rate = args.rate;
        tasks.push(tokio::spawn(client(
            socket,
            slot.node,
            doc,
            slot.text_root.clone(),
            rate,
            shared,
        )));
    }

    // Sample the servers and this generator (its own pid last) while the run lasts.
    let mut sampled = args.pids.clone();
    sampled.push(std::process::id());
    let sampler = tokio::spawn(sample_processes(sampled, shared.clone()));
    let lag_probe = tokio::spawn(probe_generator_lag(shared.clone()));
    let mut samples = sampler.await?;
    let generator = samples.pop().expect("the generator is always sampled");
    let generator_lag = lag_probe.await?;
    // Let in-flight keystrokes land, then stop everyone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.stop.cancel();
    let mut histogram = Histogram::<u64>::new(3)?;
    let mut cross_node = Histogram::<u64>::new(3)?;
    for task in tasks {
        if let Ok(deliveries) = task.await {
            histogram.add(deliveries.all)?;
            cross_node.add(deliveries.cross_node)?;
        }
    }

    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let cross_ms =
        |q: f64| (!cross_node.is_empty()).then(|| cross_node.value_at_quantile(q) as f64 / 1000.0);
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| format!("{:?}", args.server).to_lowercase());
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let total_cpu = (!samples.is_empty() && samples.iter().all(|s| s.cpu_percent.is_some()))
        .then(|| round1(samples.iter().filter_map(|s| s.cpu_percent).sum()));
    let sum_kib = |pick: fn(&ProcessSample) -> Option<u64>| -> Option<f64> {
        let values: Option<Vec<u64>> = samples.iter().map(pick).collect();
        values
            .filter(|v| !v.is_empty())
            .map(|v| mib(v.iter().sum()))
    };
    let nodes: Vec<Value> = samples
        .iter()
        .zip(&args.urls)
        .map(|(sample, url)| {
            json!({
                "url": url,
                "cpuPercent": sample.cpu_percent.map(round1),
                "rssPeakMiB": mib(sample.rss_peak_kib),
            })
        })
        .collect();
    let measured = shared.keystrokes_measured.load(Ordering::Relaxed);
    let report = json!({
        "bench": "collab",
        "label": label,
        "machine": machine.to_json(),
        "server": args.urls[0],
        "nodes": nodes,
        "serverKind": format!("{:?}", args.server),
        "pads": args.pads,
        "typistsPerPad": args.typists,
        "watchersPerPad": args.watchers,
        "clients": total,
        "keysPerSecondPerTypist": args.rate,
        "durationSecs": args.duration,
        "warmupSecs": args.warmup,
        "connectSecs": (connected_in.as_secs_f64() * 100.0).round() / 100.0,
        "keystrokesMeasured": measured,
        "keystrokesTotal": shared.keystrokes_total.load(Ordering::Relaxed),
        "deliveries": histogram.len(),
        "expectedDeliveries": measured * (per_pad as u64 - 1),
        "unmatched": shared.unmatched.load(Ordering::Relaxed),
        "duplicates": shared.duplicates.load(Ordering::Relaxed),
        "closedEarly": shared.closed_early.load(Ordering::Relaxed),
        "p50Ms": ms(0.50),
        "p99Ms": ms(0.99),
        "p999Ms": ms(0.999),
        "maxMs": histogram.max() as f64 / 1000.0,
        "crossNodeDeliveries": cross_node.len(),
        "crossNodeP50Ms": cross_ms(0.50),
        "crossNodeP99Ms": cross_ms(0.99),
        "serverCpuPercent": total_cpu,
        "serverRssBeforeMiB": sum_kib(|s| s.rss_before_kib),
        "serverRssPeakMiB": sum_kib(|s| (s.rss_peak_kib > 0).then_some(s.rss_peak_kib)),
        "serverRssEndMiB": sum_kib(|s| s.rss_end_kib),
        "generatorCpuPercent": generator.cpu_percent.map(round1),
        "generatorLagP50Ms": generator_lag.value_at_quantile(0.50) as f64 / 1000.0,
        "generatorLagP99Ms": generator_lag.value_at_quantile(0.99) as f64 / 1000.0,
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("oc-bench collab ({label})");
        println!(
            "machine: {} cores, {} ({}); commit {}",
            machine.nproc, machine.cpu_model, machine.os, machine.commit
        );
        println!(
            "load:    {} pad(s) × ({} typists at {}/s + {} watchers) = {} clients; {} s after {} s warm-up",
            args.pads, args.typists, args.rate, args.watchers, total, args.duration, args.warmup
        );
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn connect(url: &str, protocol: Option<&str>) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    if let Some(protocol) = protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_str(protocol)?);
    }
    // No Nagle delay on keystrokes (the same for every server under test).
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .with_context(|| format!("connecting {url}"))?;
    // Our sync step 1 (an empty document), as every Yjs provider sends on open.
    let empty = Doc::new().transact().state_vector().encode_v1();
    socket
        .send(Message::Binary(oc_proto::encode_sync_step1(&empty).into()))
        .await?;
    // Until the server's answer arrives, answer its step 1 too.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline.into(), socket.next())
            .await
            .context("sync handshake timed out")?;
        let Some(frame) = next else {
            bail!("closed during the handshake")
        };
        if let Message::Binary(bytes) = frame? {
            match oc_proto::decode_ref(&bytes, &Limits::UNLIMITED) {
                Ok(MessageRef::SyncStep1(_)) => {
                    let empty_update = Doc::new()
                        .transact()
                        .encode_state_as_update_v1(&StateVector::default());
                    socket
                        .send(Message::Binary(
                            oc_proto::encode_sync_step2(&empty_update).into(),
                        ))
                        .await?;
                }
                Ok(MessageRef::SyncStep2(_)) => return Ok(socket),
                _ => {}
            }
        }
    }
}

/// The Yjs id (client, clock) of the first struct in a v1 update.
fn first_struct_id(update: &[u8]) -> Option<(u64, u64)> {
    fn var(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut rest = update;
    let clients = var(&mut rest)?;
    if clients == 0 {
        return None;
    }
    let _structs = var(&mut rest)?;
    Some((var(&mut rest)?, var(&mut rest)?))
}

/// One client: receive and time updates; when a typist, also type at `rate`.
async fn client(
    mut socket: Socket,
    node: usize,
    typist: Option<(usize, Doc)>,
    text_root: String,
    rate: f64,
    shared: Arc<Shared>,
) -> Deliveries {
    let new_histogram = || Histogram::<u64>::new(3).expect("3 significant digits is valid");
    let mut deliveries = Deliveries {
        all: new_histogram(),
        cross_node: new_histogram(),
    };
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let own_client = typist.as_ref().map(|(_, d)| d.client_id().get());
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // Spread typists' keystrokes over the period instead of typing in lockstep.
    let phase = Duration::from_secs_f64(
        period.as_secs_f64() * (own_client.unwrap_or(0) % 1000) as f64 / 1000.0,
    );
    let mut tick = tokio::time::interval_at((Instant::now() + phase).into(), period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let text = typist
        .as_ref()
        .map(|(_, d)| d.get_or_insert_text(text_root.as_str()));
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz ";
    let mut typed = 0usize;
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = tick.tick(), if typist.is_some() && Instant::now() < shared.measure_until => {
                // The tick may fire after the deadline it was armed before: not part of the run.
                if Instant::now() >= shared.measure_until {
                    continue;
                }
                let (index, doc) = typist.as_ref().expect("guarded by the branch condition");
                let text = text.as_ref().expect("typists have a text");
                let update = {
                    let mut txn = doc.transact_mut();
                    let len = text.len(&txn);
                    let c = ALPHABET[typed % ALPHABET.len()] as char;
                    text.insert(&mut txn, len, &c.to_string());
                    txn.encode_update_v1()
                };
                typed += 1;
                let frame = Bytes::from(oc_proto::encode_update(&update));
                let now = Instant::now();
                shared.sent[*index].lock().unwrap().push(now);
                shared.keystrokes_total.fetch_add(1, Ordering::Relaxed);
                if now >= shared.measure_from {
                    shared.keystrokes_measured.fetch_add(1, Ordering::Relaxed);
                }
                if socket.send(Message::Binary(frame)).await.is_err() {
                    shared.closed_early.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            frame = socket.next() => {
                let received = Instant::now();
                let bytes = match frame {
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if !shared.stop.is_cancelled() {
                            shared.closed_early.fetch_add(1, Ordering::Relaxed);
                        }
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let Ok(MessageRef::Update(update)) = oc_proto::decode_ref(&bytes, &Limits::UNLIMITED) else { continue };
                let Some((client, clock)) = first_struct_id(update) else { continue };
                if Some(client) == own_client {
                    continue; // a server that echoes to the sender (y-websocket does)
                }
                let Some(&t) = shared.typist_of.get(&client) else { continue };
                if !seen.insert((client, clock)) {
                    shared.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let sent_at = shared.sent[t].lock().unwrap().get(clock as usize).copied();
                match sent_at {
                    Some(at) if at >= shared.measure_from && at < shared.measure_until => {
                        let micros = (received.saturating_duration_since(at).as_micros() as u64).max(1);
                        let _ = deliveries.all.record(micros);
                        if shared.typist_node[t] != node {
                            let _ = deliveries.cross_node.record(micros);
                        }
                    }
                    Some(_) => {}
                    None => {
                        shared.unmatched.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    let _ = socket.close(None).await;
    if let (Some((_, doc)), Some(text)) = (&typist, &text) {
        let txn = doc.transact();
        debug_assert_eq!(text.get_string(&txn).len(), typed);
    }
    deliveries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_id_of_a_keystroke() {
        let doc = Doc::new();
        let text = doc.get_or_insert_text(BENCH_TEXT);
        for expected_clock in 0..3u64 {
            let update = {
                let mut txn = doc.transact_mut();
                let len = text.len(&txn);
                text.insert(&mut txn, len, "x");
                txn.encode_update_v1()
            };
            assert_eq!(
                first_struct_id(&update),
                Some((doc.client_id().get(), expected_clock))
            );
        }
        assert_eq!(first_struct_id(&[0, 0]), None);
    }
}
