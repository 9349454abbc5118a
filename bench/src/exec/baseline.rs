//! What the sandbox is compared with, on the same image under the same flags as a sandbox run:
//! a plain `docker run --rm` (a new container per run), and `docker exec` of the interpreter
//! into one running container (the floor of starting an interpreter through the engine).

use std::process::{Command, Output};
use std::time::Instant;

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use oc_sandbox::docker::docker_run_flags;
use oc_sandbox::RunLimits;

use super::histogram;

/// The interpreters timed with `docker exec`, with their hello world.
const FLOORS: &[(&str, &[&str])] = &[
    ("python", &["python3", "-c", "print(\"Hello, world!\")"]),
    (
        "javascript",
        &["node", "-e", "console.log(\"Hello, world!\")"],
    ),
];

/// The lockdown of a sandbox run with the default limits, as `docker` flags.
fn sandbox_flags(runtime: Option<&str>) -> Vec<String> {
    docker_run_flags(&RunLimits::default(), runtime)
}

fn docker(args: &[&str]) -> anyhow::Result<Output> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .context("running the docker CLI")?;
    if !out.status.success() {
        bail!(
            "docker {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// `runs` times `docker run --rm … python3 -c 'print(…)'`.
pub(super) fn docker_run(
    image: &str,
    runtime: Option<&str>,
    runs: usize,
) -> anyhow::Result<Histogram<u64>> {
    let flags = sandbox_flags(runtime);
    let mut args = vec!["run", "--rm"];
    args.extend(flags.iter().map(String::as_str));
    args.extend([image, "python3", "-c", "print(\"Hello, world!\")"]);
    let mut h = histogram();
    for _ in 0..runs {
        let started = Instant::now();
        docker(&args)?;
        h.record(started.elapsed().as_micros() as u64)?;
    }
    Ok(h)
}

/// `runs` times `docker exec` of each interpreter's hello world into one running container,
/// removed afterwards.
pub(super) fn docker_exec(
    image: &str,
    runtime: Option<&str>,
    runs: usize,
) -> anyhow::Result<Vec<(&'static str, Histogram<u64>)>> {
    let flags = sandbox_flags(runtime);
    let mut args = vec!["run", "-d", "--rm"];
    args.extend(flags.iter().map(String::as_str));
    args.extend([image, "sleep", "600"]);
    let id = String::from_utf8(docker(&args)?.stdout)?.trim().to_string();
    let timed = FLOORS
        .iter()
        .map(|(language, command)| {
            let mut h = histogram();
            for _ in 0..runs {
                let started = Instant::now();
                let mut exec = vec!["exec", id.as_str()];
                exec.extend_from_slice(command);
                docker(&exec)?;
                h.record(started.elapsed().as_micros() as u64)?;
            }
            Ok((*language, h))
        })
        .collect();
    // Removed whatever happened (`--rm` also removes it when it stops by itself).
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    timed
}
