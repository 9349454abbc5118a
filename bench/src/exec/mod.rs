//! `oc-bench exec`: end-to-end hello-world runs over HTTP (`POST /api/pads/{slug}/runs?wait=1`)
//! for Python, JavaScript and C, against a running server, plus a plain `docker run --rm` of the
//! same image and command under the same flags as the baseline, and `docker exec` of the
//! interpreters into a running container as the floor of starting one (`baseline`).
//!
//! Latency runs are sequential with a pause between them (`--gap-ms`) so a warm pool has time to
//! refill: the figure is what one user pressing Run sees. Throughput uses `--clients` users
//! running back to back. C runs the same source every time, so after the first run every compile
//! is a cache hit (reported).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::machine::Machine;

mod baseline;

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Base URL of a running opencoder (`bench/exec.sh` starts one).
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    pub url: String,
    /// Label for this server's configuration (e.g. `warm` with a pool, `cold` without).
    #[arg(long, default_value = "warm")]
    pub label: String,
    /// Sequential runs per language.
    #[arg(long, short = 'n', default_value_t = 30)]
    pub runs: usize,
    /// Pause between sequential runs, in milliseconds (lets the pool refill).
    #[arg(long, default_value_t = 400)]
    pub gap_ms: u64,
    /// Concurrent clients (one user each) for the throughput scenario; 0 skips it.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Seconds of the throughput scenario.
    #[arg(long, short = 'd', default_value_t = 15)]
    pub duration: u64,
    /// Also time `docker run --rm` of this image as the baseline (needs the docker CLI).
    #[arg(long)]
    pub baseline_image: Option<String>,
    /// OCI runtime of the baseline `docker run` (`runsc`: gVisor); unset: the daemon's default.
    #[arg(long)]
    pub baseline_runtime: Option<String>,
}

const PROGRAMS: &[(&str, &str, &str)] = &[
    ("python", "main.py", "print(\"Hello, world!\")\n"),
    ("javascript", "main.js", "console.log(\"Hello, world!\");\n"),
    (
        "c",
        "main.c",
        "#include <stdio.h>\nint main(void) { puts(\"Hello, world!\"); return 0; }\n",
    ),
];

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn signup(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<Client> {
        let res = http
            .post(format!("{base}/api/auth/guest"))
            .json(&json!({ "name": name }))
            .send()
            .await?;
        if res.status() != 201 {
            bail!(
                "sign-up failed: {} {}",
                res.status(),
                res.text().await.unwrap_or_default()
            );
        }
        let body: Value = res.json().await?;
        let token = body["token"].as_str().context("no token")?.to_string();
        Ok(Client {
            http: http.clone(),
            base: base.to_string(),
            token,
        })
    }

    async fn pad(&self, language: &str, file: &str, source: &str) -> anyhow::Result<String> {
        let res = self
            .http
            .post(format!("{}/api/pads", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "title": "bench", "language": language }))
            .send()
            .await?;
        let body: Value = res.json().await?;
        let slug = body["pad"]["slug"].as_str().context("no slug")?.to_string();
        let files = body["files"].as_array().context("no files")?;
        let id = files
            .iter()
            .find(|f| f["name"] == file)
            .and_then(|f| f["id"].as_i64())
            .context("no starter file")?;
        // Add the program, then delete the starter: compiled languages build every source file.
        let res = self
            .http
            .post(format!("{}/api/pads/{slug}/files", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "name": format!("prog_{file}"), "content": source }))
            .send()
            .await?;
        if res.status() != 201 {
            bail!("file create failed: {}", res.status());
        }
        let res = self
            .http
            .delete(format!("{}/api/pads/{slug}/files/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("starter delete failed: {}", res.status());
        }
        Ok(slug)
    }

    /// One run; returns the wall time and the run record.
    async fn run(&self, slug: &str, entry: &str) -> anyhow::Result<(Duration, Value)> {
        let started = Instant::now();
        let res = self
            .http
            .post(format!("{}/api/pads/{slug}/runs?wait=1", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "entry": entry }))
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let elapsed = started.elapsed();
        if status != 200 || body["run"]["exitCode"] != 0 {
            bail!("run failed: {status} {body}");
        }
        Ok((elapsed, body["run"].clone()))
    }
}

/// Where runs went, from the server's `/metrics` (open to loopback): runs per Docker host (only
/// with several hosts) and warm-pool hits and misses.
#[derive(Debug, Default, PartialEq)]
struct Placement {
    host_runs: BTreeMap<String, u64>,
    pool_hits: u64,
    pool_misses: u64,
}

impl Placement {
    async fn read(http: &reqwest::Client, base: &str) -> anyhow::Result<Placement> {
        let res = http.get(format!("{base}/metrics")).send().await?;
        if !res.status().is_success() {
            bail!("GET /metrics: {}", res.status());
        }
        Ok(Placement::parse(&res.text().await?))
    }

    fn parse(exposition: &str) -> Placement {
        let mut placement = Placement::default();
        for line in exposition.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let value = value as u64;
            if let Some(labels) = series.strip_prefix("opencoder_exec_host_runs_total{") {
                let host = labels
                    .split("host=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or("?");
                *placement.host_runs.entry(host.to_string()).or_default() += value;
            } else if series == "opencoder_exec_pool_hits_total" {
                placement.pool_hits = value;
            } else if series == "opencoder_exec_pool_misses_total" {
                placement.pool_misses = value;
            }
        }
        placement
    }

    /// What happened between `before` and `self`.
    fn since(&self, before: &Placement) -> Placement {
        Placement {
            host_runs: self
                .host_runs
                .iter()
                .map(|(host, n)| {
                    let earlier = before.host_runs.get(host).copied().unwrap_or(0);
                    (host.clone(), n.saturating_sub(earlier))
                })
                .collect(),
            pool_hits: self.pool_hits.saturating_sub(before.pool_hits),
            pool_misses: self.pool_misses.saturating_sub(before.pool_misses),
        }
    }

    fn describe(&self) -> String {
        let mut text = format!("pool: {} hits, {} misses", self.pool_hits, self.pool_misses);
        for (host, runs) in &self.host_runs {
            text.push_str(&format!("; {host}: {runs} runs"));
        }
        text
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

pub async fn run(args: ExecArgs) -> anyhow::Result<()> {
    let machine = Machine::detect();
    println!(
        "machine: {} cores, {}, {}; commit {}",
        machine.nproc, machine.cpu_model, machine.os, machine.commit
    );
    println!("server: {} ({})", args.url, args.label);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let client = Client::signup(&http, &args.url, "bench").await?;

    println!(
        "{:<30} {:>5} {:>9} {:>9} {:>9}  notes",
        "scenario", "runs", "p50 ms", "p99 ms", "max ms"
    );
    let (mut python_p50, mut javascript_p50) = (None, None);
    for (language, file, source) in PROGRAMS {
        let slug = client.pad(language, file, source).await?;
        let mut h = histogram();
        let (mut pooled, mut hits) = (0, 0);
        for _ in 0..args.runs {
            let (elapsed, run) = client.run(&slug, &format!("prog_{file}")).await?;
            h.record(elapsed.as_micros() as u64)?;
            pooled += usize::from(run["pooled"] == true);
            hits += usize::from(run["compileCache"] == "hit");
            tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
        }
        let mut notes = format!("{pooled}/{} from the warm pool", args.runs);
        if *language == "c" {
            notes.push_str(&format!(", {hits}/{} compile-cache hits", args.runs));
        }
        println!(
            "{:<30} {:>5} {:>9.1} {:>9.1} {:>9.1}  {notes}",
            format!("{language} ({})", args.label),
            h.len(),
            ms(&h, 0.5),
            ms(&h, 0.99),
            h.max() as f64 / 1000.0
        );
        match *language {
            "python" => python_p50 = Some(ms(&h, 0.5)),
            "javascript" => javascript_p50 = Some(ms(&h, 0.5)),
            _ => {}
        }
    }

    if args.clients > 0 {
        let before = Placement::read(&http, &args.url).await?;
        let (language, file, source) = PROGRAMS[0];
        let mut workers = Vec::new();
        for i in 0..args.clients {
            let c = Client::signup(&http, &args.url, &format!("bench{i}")).await?;
            let slug = c.pad(language, file, source).await?;
            let deadline = Instant::now() + Duration::from_secs(args.duration);
            workers.push(tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                let mut h = histogram();
                while Instant::now() < deadline {
                    match c.run(&slug, &format!("prog_{file}")).await {
                        Ok((elapsed, _)) => {
                            ok += 1;
                            let _ = h.record(elapsed.as_micros() as u64);
                        }
                        Err(_) => failed += 1,
                    }
                }
                (ok, failed, h)
            }));
        }
        let (mut ok, mut failed, mut h) = (0, 0, histogram());
        for w in workers {
            let (o, f, wh) = w.await?;
            ok += o;
            failed += f;
            h.add(wh)?;
        }
        println!(
            "{:<30} {:>5} {:>9.1} {:>9.1} {:>9.1}  {:.1} runs/s with {} clients, {failed} failed",
            format!("python x{} ({})", args.clients, args.label),
            ok,
            ms(&h, 0.5),
            ms(&h, 0.99),
            h.max() as f64 / 1000.0,
            ok as f64 / args.duration as f64,
            args.clients
        );
        let during = Placement::read(&http, &args.url).await?.since(&before);
        println!("{:<30} {}", "", during.describe());
    }

    if let Some(image) = &args.baseline_image {
        let runtime = args.baseline_runtime.as_deref();
        let runtime_name = runtime.unwrap_or("runc");
        let row = |name: String, h: &Histogram<u64>, note: &str| {
            println!(
                "{:<30} {:>5} {:>9.1} {:>9.1} {:>9.1}  {note}",
                name,
                h.len(),
                ms(h, 0.5),
                ms(h, 0.99),
                h.max() as f64 / 1000.0
            );
        };
        let runs = args.runs.min(20);
        let docker_run = baseline::docker_run(image, runtime, runs)?;
        row(
            format!("python docker run ({runtime_name})"),
            &docker_run,
            "baseline: plain docker run --rm, same flags",
        );
        let floors = baseline::docker_exec(image, runtime, runs)?;
        for (language, h) in &floors {
            row(
                format!("{language} docker exec ({runtime_name})"),
                h,
                "floor: docker exec of the interpreter into a running container, same flags",
            );
        }
        for (language, p50) in [("python", python_p50), ("javascript", javascript_p50)] {
            let Some(p50) = p50 else { continue };
            if language == "python" {
                println!(
                    "ratio: opencoder python ({}) p50 / docker run p50 = {:.2}",
                    args.label,
                    p50 / ms(&docker_run, 0.5)
                );
            }
            if let Some((_, floor)) = floors.iter().find(|(l, _)| *l == language) {
                println!(
                    "ratio: opencoder {language} ({}) p50 / docker exec p50 = {:.2}",
                    args.label,
                    p50 / ms(floor, 0.5)
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runs_per_host_and_pool_counts_from_the_exposition() {
        let before = Placement::parse(
            "# TYPE opencoder_exec_pool_hits counter\n\
             opencoder_exec_pool_hits_total 3\n\
             opencoder_exec_pool_misses_total 1\n\
             opencoder_exec_host_runs_total{host=\"unix:///a.sock\",outcome=\"ok\"} 2\n",
        );
        let after = Placement::parse(
            "opencoder_exec_pool_hits_total 10\n\
             opencoder_exec_pool_misses_total 4\n\
             opencoder_exec_host_runs_total{host=\"unix:///a.sock\",outcome=\"ok\"} 7\n\
             opencoder_exec_host_runs_total{host=\"unix:///a.sock\",outcome=\"error\"} 1\n\
             opencoder_exec_host_runs_total{host=\"tcp://127.0.0.1:2376\",outcome=\"ok\"} 5\n",
        );
        let during = after.since(&before);
        assert_eq!(during.pool_hits, 7);
        assert_eq!(during.pool_misses, 3);
        assert_eq!(during.host_runs["unix:///a.sock"], 6);
        assert_eq!(during.host_runs["tcp://127.0.0.1:2376"], 5);
        assert_eq!(
            during.describe(),
            "pool: 7 hits, 3 misses; tcp://127.0.0.1:2376: 5 runs; unix:///a.sock: 6 runs"
        );
    }
}
