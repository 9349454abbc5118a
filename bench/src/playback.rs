//! `oc-bench playback`: seeking in a long recording (SPEC §7) and what its history costs.
//!
//! In-process: builds a real `AppState` on a throwaway `DATA_DIR` and serves it on an ephemeral
//! loopback port. Signs up one user, creates a pad with three files and starts a recording over
//! HTTP, then types `--updates` keystrokes (one Yjs update each, from a client document, like a
//! browser) straight into the document store — the real update path: apply, group-committed log,
//! the engine's checkpoints — without sockets. The recording's seek data (a checkpoint at its start,
//! then segments) is then brought up to date (the server writes it every few seconds while
//! recording; the generator types far faster than a person), and the recording is stopped.
//!
//! Measured:
//! - the first state asked of the recording: it loads the recording's history into memory
//!   (`recordings::history`); how long that took and the heap it took (live bytes, counted by
//!   `heap`), beside the cache's own estimate;
//! - state at a random instant of the recording, through the library — rebuilt from checkpoints
//!   (`seek_time` + the file texts: what the endpoint does when the history is not held) and
//!   read from the history, at the same instants, checked equal — and through HTTP
//!   (`GET …/state?t=`, one keep-alive connection): p50, p99, max, and how many segments and
//!   single updates a rebuilt seek applied. `--history-cache-bytes 0` measures HTTP with no
//!   history held (every state rebuilt, as before histories);
//! - bytes per keystroke: payloads (the log, the engine's checkpoints, the recording's seek data)
//!   and the database pages in use (the database holds nothing else of size), divided by the
//!   number of updates.
//!
//! The typing model is seeded and deterministic: runs of code-like characters at a cursor,
//! backspaces, newlines, cursor jumps and file switches.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request};
use hyper_util::rt::TokioIo;
use opencoder::db::{PadId, UserId};
use opencoder::recordings::{background, export, seek, store};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update};

use crate::heap;
use crate::machine::Machine;

#[derive(Debug, Clone, Args)]
pub struct PlaybackArgs {
    /// Keystrokes (document updates) in the recording.
    #[arg(long, default_value_t = 100_000)]
    pub updates: u64,
    /// Seeks through the library.
    #[arg(long, default_value_t = 2_000)]
    pub seeks: u64,
    /// Seeks through HTTP.
    #[arg(long, default_value_t = 500)]
    pub http_seeks: u64,
    /// Updates per recording segment (default: the server's `SEGMENT_UPDATES`).
    #[arg(long)]
    pub segment_updates: Option<u64>,
    /// `RECORDING_HISTORY_CACHE_BYTES` of the server (default: its default; 0 measures HTTP
    /// without histories in memory, every state rebuilt from checkpoints).
    #[arg(long)]
    pub history_cache_bytes: Option<u64>,
    /// Ask for the Yjs state too over HTTP (`&yjs=true`, what the playback page asks).
    #[arg(long)]
    pub yjs: bool,
    /// Seed of the typing model and of the seek instants.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const FILES: [&str; 3] = ["main.py", "util.py", "notes.md"];
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz abcdefghij    ()[]:=.,_0123456789ABCDEF";

/// A person typing: one Yjs update per keystroke.
struct Typist {
    doc: Doc,
    rng: Rng,
    file: usize,
    cursors: [u32; 3],
    /// The document root of each of `FILES` (`file:<id>`).
    roots: [String; 3],
}

impl Typist {
    fn keystroke(&mut self) -> Option<Vec<u8>> {
        if self.rng.chance(2) {
            self.file = self.rng.below(FILES.len() as u64) as usize;
        }
        let text = self.doc.get_or_insert_text(self.roots[self.file].as_str());
        let mut txn = self.doc.transact_mut();
        let len = text.len(&txn);
        let cursor = &mut self.cursors[self.file];
        if self.rng.chance(3) {
            *cursor = self.rng.below(len as u64 + 1) as u32;
        }
        *cursor = (*cursor).min(len);
        if self.rng.chance(12) {
            if *cursor == 0 {
                return None;
            }
            text.remove_range(&mut txn, *cursor - 1, 1);
            *cursor -= 1;
        } else {
            let ch = if self.rng.chance(3) {
                '\n'
            } else {
                ALPHABET[self.rng.below(ALPHABET.len() as u64) as usize] as char
            };
            text.insert(&mut txn, *cursor, &ch.to_string());
            *cursor += 1;
        }
        Some(txn.encode_update_v1())
    }

    fn texts(&self) -> HashMap<String, String> {
        let txn = self.doc.transact();
        FILES
            .iter()
            .zip(&self.roots)
            .map(|(f, root)| {
                let text = txn
                    .get_text(root.as_str())
                    .map(|t| t.get_string(&txn))
                    .unwrap_or_default();
                (f.to_string(), text)
            })
            .collect()
    }
}

struct Client {
    send: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Client {
    async fn connect(authority: &str) -> anyhow::Result<Client> {
        let stream = TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Client {
            send,
            authority: authority.to_string(),
        })
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let bytes = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        self.send.ready().await?;
        let res = self.send.send_request(req.body(Full::new(bytes))?).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

fn counts() -> Histogram<u64> {
    Histogram::new(3).expect("histogram")
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

pub async fn run(args: PlaybackArgs) -> anyhow::Result<()> {
    let data_dir = std::env::temp_dir().join(format!("oc-bench-playback-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let result = measure(&args, &data_dir).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn measure(args: &PlaybackArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("DATA_DIR".into(), data_dir.display().to_string());
    env.insert("RATE_LIMIT_PER_MINUTE".into(), "100000000".into());
    // The benchmark seeks as one user far faster than a person scrubs.
    env.insert("RECORDING_STATES_PER_MINUTE".into(), "1000000".into());
    env.insert("EXEC_POOL".into(), String::new());
    env.insert("EXEC_REMOVE_LEFTOVERS".into(), "0".into());
    if let Some(bytes) = args.history_cache_bytes {
        env.insert("RECORDING_HISTORY_CACHE_BYTES".into(), bytes.to_string());
    }
    let mut config = opencoder::config::Config::from_vars(&env).context("config")?;
    config.prepare().context("data dir")?;
    let state = opencoder::AppState::new(config).await?;
    if let Some(every) = args.segment_updates {
        state.recordings.set_segment_updates(every);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let authority = listener.local_addr()?.to_string();
    let server_state = state.clone();
    tokio::spawn(async move { opencoder::serve(server_state, listener).await });
    let mut client = Client::connect(&authority).await?;

    // Setup over HTTP: a user, a pad with three files, a recording.
    let (status, body) = client
        .call(
            Method::POST,
            "/api/auth/guest",
            None,
            Some(json!({ "name": "Bench" })),
        )
        .await?;
    if status != 201 {
        bail!("sign-up answered {status}: {body}");
    }
    let token = body["token"].as_str().context("token")?.to_string();
    let user = UserId(body["user"]["id"].as_i64().context("user id")?);
    let (status, body) = client
        .call(
            Method::POST,
            "/api/pads",
            Some(&token),
            Some(json!({ "title": "playback", "language": "python" })),
        )
        .await?;
    if status != 201 {
        bail!("pad creation answered {status}: {body}");
    }
    let slug = body["pad"]["slug"].as_str().context("slug")?.to_string();
    let pad = PadId(body["pad"]["id"].as_i64().context("pad id")?);
    let starter = body["files"][0]["name"]
        .as_str()
        .context("starter file")?
        .to_string();
    let mut ids: HashMap<String, i64> = HashMap::new();
    ids.insert(
        starter.clone(),
        body["files"][0]["id"].as_i64().context("starter file id")?,
    );
    for name in FILES.iter().filter(|f| **f != starter) {
        let (status, body) = client
            .call(
                Method::POST,
                &format!("/api/pads/{slug}/files"),
                Some(&token),
                Some(json!({ "name": name })),
            )
            .await?;
        if status != 201 {
            bail!("file creation answered {status}: {body}");
        }
        ids.insert(
            name.to_string(),
            body["file"]["id"].as_i64().context("file id")?,
        );
    }
    let id_of = |name: &str| {
        ids.get(name)
            .copied()
            .context("every bench file was created")
    };
    let roots = [
        format!("file:{}", id_of(FILES[0])?),
        format!("file:{}", id_of(FILES[1])?),
        format!("file:{}", id_of(FILES[2])?),
    ];
    let (status, body) = client
        .call(
            Method::POST,
            &format!("/api/pads/{slug}/recordings"),
            Some(&token),
            Some(json!({ "name": "bench" })),
        )
        .await?;
    if status != 201 {
        bail!("starting the recording answered {status}: {body}");
    }
    let recording_id = body["recording"]["id"].as_i64().context("recording id")?;

    // Typing, through the document store.
    let server_doc = state.docs.open(pad).await?;
    let full = server_doc
        .diff_since(&StateVector::default().encode_v1())
        .await?;
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    doc.transact_mut().apply_update(Update::decode_v1(&full)?)?;
    let mut typist = Typist {
        doc,
        rng: Rng(args.seed.max(1)),
        file: 0,
        cursors: [0; 3],
        roots,
    };
    let started = Instant::now();
    // When each keystroke was applied: seek instants are drawn from these, so they spread over
    // the typing the way they would over a real session typed at a steady pace.
    let mut times: Vec<i64> = Vec::with_capacity(args.updates as usize);
    while (times.len() as u64) < args.updates {
        let Some(update) = typist.keystroke() else {
            continue;
        };
        state.docs.apply_update(pad, Some(user), &update).await?;
        times.push(now_ms());
    }
    state.docs.flush_log().await;
    let typing = started.elapsed();
    let recording = store::find_recording(&state.db, pad, recording_id)
        .await?
        .context("recording row")?;
    let started = Instant::now();
    background::write_due_checkpoints(&state, &recording).await?;
    let catch_up = started.elapsed();
    let (status, body) = client
        .call(
            Method::POST,
            &format!("/api/pads/{slug}/recordings/{recording_id}/stop"),
            Some(&token),
            Some(json!({})),
        )
        .await?;
    if status != 200 {
        bail!("stopping the recording answered {status}: {body}");
    }
    let from = body["recording"]["startedAt"]
        .as_i64()
        .context("startedAt")?;
    let to = body["recording"]["endedAt"].as_i64().context("endedAt")?;
    state.docs.flush_all().await;

    // Sanity: the state at the end is what the typist typed.
    let end = seek::seek_time(&state.db, pad, to).await?;
    let names = export::file_names(&state.db, pad, to).await?;
    let texts = seek::file_texts(&end.doc, &names, to);
    for (file, text) in typist.texts() {
        if texts.get(&file) != Some(&text) {
            bail!("state at the end of the recording differs from the typed document in {file}");
        }
    }

    // The recording's history in memory: built by the first state asked of it.
    let stopped = store::find_recording(&state.db, pad, recording_id)
        .await?
        .context("recording row")?;
    let max_merge = state.recordings.limits.state_max_bytes;
    let histories = state.recordings.histories();
    let heap_before = heap::live_bytes();
    let started = Instant::now();
    let held = histories
        .state_at(&state.db, &slug, &stopped, to, max_merge, false)
        .await?;
    let history_build = started.elapsed();
    let history_heap = heap::live_bytes().saturating_sub(heap_before);
    if let Some(held) = &held {
        let texts = seek::named_texts(held.texts.clone(), &names, to);
        for (file, text) in typist.texts() {
            if texts.get(&file).map_or("", String::as_str) != text {
                bail!("the history's state at the end differs from the typed document in {file}");
            }
        }
    }
    let history_usage = histories.usage();

    // Seeks through the library: rebuilt from checkpoints, and read from the history, at the
    // same instants, alternating.
    let mut rng = Rng(args.seed.wrapping_mul(7).max(1));
    let mut random_t = move || times[rng.below(times.len() as u64) as usize];
    let mut lib = histogram();
    let mut lib_history = histogram();
    let mut replayed = counts();
    let mut segments = counts();
    for _ in 0..args.seeks {
        let t = random_t();
        let began = Instant::now();
        let seeked = seek::seek_time(&state.db, pad, t).await?;
        let files = seek::file_texts(&seeked.doc, &names, t);
        std::hint::black_box(&files);
        lib.record(began.elapsed().as_micros().max(1) as u64)?;
        replayed.record(seeked.replayed as u64)?;
        segments.record(seeked.segments as u64)?;
        if held.is_some() {
            let began = Instant::now();
            let held = histories
                .state_at(&state.db, &slug, &stopped, t, max_merge, false)
                .await?
                .context("the history stays held")?;
            let texts = seek::named_texts(held.texts, &names, t);
            lib_history.record(began.elapsed().as_micros().max(1) as u64)?;
            if texts != files {
                bail!("the history's state at {t} differs from the one rebuilt from checkpoints");
            }
        }
    }
    // Seeks through HTTP.
    let mut http = histogram();
    for _ in 0..args.http_seeks {
        let t = random_t();
        let yjs = if args.yjs { "&yjs=true" } else { "" };
        let path = format!("/api/pads/{slug}/recordings/{recording_id}/state?t={t}{yjs}");
        let began = Instant::now();
        let (status, body) = client.call(Method::GET, &path, Some(&token), None).await?;
        http.record(began.elapsed().as_micros().max(1) as u64)?;
        if status != 200 {
            bail!("state answered {status}: {body}");
        }
    }
    let storage = store::storage_report(&state.db, pad).await?;
    state.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let n = storage.updates.max(1) as f64;
    let recording_bytes = storage.recording_checkpoint_bytes + storage.recording_segment_bytes;
    let payload = storage.update_bytes + storage.engine_checkpoint_bytes + recording_bytes;
    let per = |bytes: i64| bytes as f64 / n;
    let machine = Machine::detect();
    let result = json!({
        "machine": machine.to_json(),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "updates": storage.updates,
        "segmentUpdates": state.recordings.segment_updates(),
        "typingSeconds": typing.as_secs_f64(),
        "catchUpSeconds": catch_up.as_secs_f64(),
        "recordingMs": to - from,
        "seekLibrary": { "count": lib.len(), "p50Ms": ms(&lib, 0.5), "p99Ms": ms(&lib, 0.99), "maxMs": lib.max() as f64 / 1000.0 },
        "seekHistory": { "count": lib_history.len(), "p50Ms": ms(&lib_history, 0.5), "p99Ms": ms(&lib_history, 0.99), "maxMs": lib_history.max() as f64 / 1000.0 },
        "history": {
            "held": held.is_some(), "firstStateMs": history_build.as_secs_f64() * 1000.0,
            "heapBytes": history_heap, "estimatedBytes": history_usage.bytes, "budgetBytes": history_usage.budget,
        },
        "seekHttp": { "yjs": args.yjs, "count": http.len(), "p50Ms": ms(&http, 0.5), "p99Ms": ms(&http, 0.99), "maxMs": http.max() as f64 / 1000.0 },
        "perSeek": {
            "segmentsP99": segments.value_at_quantile(0.99), "segmentsMax": segments.max(),
            "singleUpdatesP99": replayed.value_at_quantile(0.99), "singleUpdatesMax": replayed.max(),
        },
        "storage": {
            "updateBytes": storage.update_bytes,
            "engineCheckpoints": storage.engine_checkpoints,
            "engineCheckpointBytes": storage.engine_checkpoint_bytes,
            "recordingCheckpoints": storage.recording_checkpoints,
            "recordingCheckpointBytes": storage.recording_checkpoint_bytes,
            "recordingSegments": storage.recording_segments,
            "recordingSegmentBytes": storage.recording_segment_bytes,
            "databaseBytesInUse": storage.database_bytes_in_use,
            "perKeystroke": {
                "log": per(storage.update_bytes),
                "engineCheckpoints": per(storage.engine_checkpoint_bytes),
                "recordingSeekData": per(recording_bytes),
                "payloadTotal": per(payload),
                "databasePages": per(storage.database_bytes_in_use),
            },
        },
        "finalDocumentChars": typist.texts().values().map(|t| t.chars().count()).sum::<usize>(),
    });
    if args.json {
        println!("{result}");
        return Ok(());
    }
    println!(
        "machine: {} cores, {}, {}; commit {}",
        machine.nproc, machine.cpu_model, machine.os, machine.commit
    );
    println!(
        "recording: {} updates typed in {:.1} s ({} build), segments of {} updates (catch-up {:.2} s), final document {} chars",
        storage.updates,
        typing.as_secs_f64(),
        result["build"].as_str().unwrap_or("?"),
        result["segmentUpdates"],
        catch_up.as_secs_f64(),
        result["finalDocumentChars"],
    );
    println!(
        "{:<22} {:>8} {:>9} {:>9} {:>9}",
        "state at random t", "count", "p50 ms", "p99 ms", "max ms"
    );
    for (name, h) in [
        ("library, rebuilt", &lib),
        ("library, history", &lib_history),
        (if args.yjs { "HTTP, yjs=true" } else { "HTTP" }, &http),
    ] {
        if h.is_empty() {
            continue;
        }
        println!(
            "{:<22} {:>8} {:>9.2} {:>9.2} {:>9.2}",
            name,
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    println!(
        "history in memory: {}; first state {:.1} ms, heap {:.1} MiB (estimated {:.1} MiB, budget {:.0} MiB)",
        if held.is_some() { "held" } else { "not held" },
        history_build.as_secs_f64() * 1000.0,
        history_heap as f64 / 1048576.0,
        history_usage.bytes as f64 / 1048576.0,
        history_usage.budget as f64 / 1048576.0,
    );
    println!(
        "rebuilt, per seek: one checkpoint, segments p99 {} (max {}), single updates p99 {} (max {})",
        segments.value_at_quantile(0.99),
        segments.max(),
        replayed.value_at_quantile(0.99),
        replayed.max()
    );
    println!(
        "stored: log {} B; engine checkpoints {} ({} B); recording checkpoints {} ({} B) and segments {} ({} B)",
        storage.update_bytes,
        storage.engine_checkpoints,
        storage.engine_checkpoint_bytes,
        storage.recording_checkpoints,
        storage.recording_checkpoint_bytes,
        storage.recording_segments,
        storage.recording_segment_bytes,
    );
    println!(
        "bytes per keystroke: log {:.1} + engine checkpoints {:.1} + recording seek data {:.1} = {:.1} B of payload; {:.1} B of database pages in use",
        per(storage.update_bytes),
        per(storage.engine_checkpoint_bytes),
        per(recording_bytes),
        per(payload),
        per(storage.database_bytes_in_use),
    );
    Ok(())
}
