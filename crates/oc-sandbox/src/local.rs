//! Local fallback: runs programs as host subprocesses. DEVELOPMENT ONLY — there is no kernel
//! isolation (the program can read whatever the server's user can read and use the network).
//! The server decides when it may be used and must flag it loudly.
//!
//! What it does bound: an empty environment (only PATH/HOME/LANG/TMPDIR and the language's own
//! variables), a private temp dir per run (mode 0700, removed afterwards), its own session and
//! process group (`setsid`), rlimits (CPU, address space, data, processes, open files, file size,
//! core), the same output cap, and on timeout/cap/exit a SIGKILL to the whole process group plus
//! a sweep for processes that escaped the group (found by a per-run marker variable).

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use crate::languages::{Language, LanguageTable, Paths};
use crate::metrics::Metrics;
use crate::output::{OutputSink, Push};
use crate::{
    resolve_run, BackendHealth, BackendKind, LiveStdin, Outcome, OutputChunk, Phase, RunLimits,
    RunSpec, SandboxBackend, SandboxError, Stream,
};

/// Name of the per-run marker variable (used to find escaped processes).
pub const RUN_MARKER_VAR: &str = "OPENCODER_RUN_ID";

#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub languages: Arc<LanguageTable>,
    pub metrics: Arc<Metrics>,
    /// PATH the programs get (the only way they find toolchains).
    pub path: String,
    /// Where per-run temp dirs are created (default: the system temp dir).
    pub temp_root: Option<PathBuf>,
    pub max_input_bytes: u64,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            languages: Arc::new(LanguageTable::builtin()),
            metrics: Arc::new(Metrics::new()),
            path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            temp_root: None,
            max_input_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LocalBackend {
    cfg: LocalConfig,
}

impl LocalBackend {
    pub fn new(cfg: LocalConfig) -> Self {
        Self { cfg }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.cfg.metrics
    }

    /// Finds `prog` on the configured PATH (or checks it directly when it contains a '/').
    fn find_program(&self, prog: &str) -> Option<PathBuf> {
        if prog.contains('/') {
            let p = PathBuf::from(prog);
            return is_executable(&p).then_some(p);
        }
        self.cfg
            .path
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(prog))
            .find(|p| is_executable(p))
    }

    /// Whether every program `lang` needs is installed.
    pub fn toolchain_available(&self, lang: &Language) -> Result<(), SandboxError> {
        let paths = Paths {
            home: "/nonexistent".into(),
            src: "/nonexistent".into(),
            out: "/nonexistent/out".into(),
        };
        let plan = lang.plan(&lang.default_file, &[lang.default_file.as_str()], &paths);
        for argv in plan.compile.iter().chain(std::iter::once(&plan.run)) {
            let prog = &argv[0];
            if prog.starts_with("/nonexistent") {
                continue; // produced by the compile step
            }
            if self.find_program(prog).is_none() {
                return Err(SandboxError::Unavailable(format!(
                    "{} is not available on this host: `{prog}` was not found on PATH ({})",
                    lang.name, self.cfg.path
                )));
            }
        }
        Ok(())
    }

    async fn run_inner(
        &self,
        mut spec: RunSpec,
        tx: mpsc::Sender<OutputChunk>,
        started: Instant,
    ) -> Result<Outcome, SandboxError> {
        let (lang, entry) = resolve_run(&spec, &self.cfg.languages, self.cfg.max_input_bytes)?;
        self.toolchain_available(&lang)?;

        let root = self
            .cfg
            .temp_root
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("opencoder-run-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(&root)
            .map_err(|e| SandboxError::Internal(format!("temp dir in {}: {e}", root.display())))?;
        let result = self
            .run_in_dir(&mut spec, &lang, &entry, dir.path(), tx, started)
            .await;
        // Remove the dir off the async threads.
        let _ = tokio::task::spawn_blocking(move || drop(dir)).await;
        result
    }

    async fn run_in_dir(
        &self,
        spec: &mut RunSpec,
        lang: &Language,
        entry: &str,
        dir: &Path,
        tx: mpsc::Sender<OutputChunk>,
        started: Instant,
    ) -> Result<Outcome, SandboxError> {
        let src = dir.join("app");
        let out = dir.join(".oc").join("build");
        let io = |e: std::io::Error| SandboxError::Internal(format!("preparing the run dir: {e}"));
        tokio::fs::create_dir_all(&src).await.map_err(io)?;
        tokio::fs::create_dir_all(&out).await.map_err(io)?;
        for f in &spec.files {
            tokio::fs::write(src.join(&f.name), &f.content)
                .await
                .map_err(io)?;
        }
        let paths = Paths {
            home: dir.display().to_string(),
            src: src.display().to_string(),
            out: out.display().to_string(),
        };
        let names: Vec<&str> = spec.files.iter().map(|f| f.name.as_str()).collect();
        let plan = lang.plan(entry, &names, &paths);
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), self.cfg.path.clone()),
            ("HOME".into(), paths.home.clone()),
            ("TMPDIR".into(), paths.home.clone()),
            ("LANG".into(), "C.UTF-8".into()),
            (RUN_MARKER_VAR.into(), run_id.clone()),
        ];
        env.extend(plan.env.iter().cloned());

        let mut sink = OutputSink::new(tx, spec.limits.output_bytes);
        let mut outcome = Outcome {
            exit_code: None,
            signal: None,
            timed_out: false,
            oom_killed: false,
            duration: Duration::ZERO,
            truncated: false,
            backend: BackendKind::Local,
            pooled: false,
            compile_cache: None,
            phase: Phase::Run,
        };

        if let Some(compile) = &plan.compile {
            let step = self
                .step(
                    compile,
                    &env,
                    &src,
                    lang,
                    &spec.limits,
                    spec.limits.compile_wall,
                    None,
                    &run_id,
                    &mut sink,
                )
                .await?;
            if step.killed || step.status != Some(0) {
                outcome.phase = Phase::Compile;
                step.fill(&mut outcome);
                outcome.duration = started.elapsed();
                return Ok(outcome);
            }
        }
        let step = self
            .step(
                &plan.run,
                &env,
                &src,
                lang,
                &spec.limits,
                spec.limits.wall,
                Some(StdinFeed {
                    prefilled: std::mem::take(&mut spec.stdin),
                    live: spec.live_stdin.take(),
                }),
                &run_id,
                &mut sink,
            )
            .await?;
        step.fill(&mut outcome);
        outcome.duration = started.elapsed();
        Ok(outcome)
    }

    /// Runs one process (compile or run) to completion under the limits.
    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        argv: &[String],
        env: &[(String, String)],
        cwd: &Path,
        lang: &Language,
        limits: &RunLimits,
        wall: Duration,
        stdin: Option<StdinFeed>,
        run_id: &str,
        sink: &mut OutputSink,
    ) -> Result<Step, SandboxError> {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(cwd)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let rl = Rlimits::for_run(limits, lang, wall);
        // SAFETY: only async-signal-safe calls (setsid, setrlimit) between fork and exec.
        unsafe {
            cmd.pre_exec(move || rl.apply());
        }
        let mut child: Child = cmd.spawn().map_err(|e| {
            SandboxError::Unavailable(format!("cannot start `{}` for {}: {e}", argv[0], lang.name))
        })?;
        let pgid = child.id().map(|p| p as i32);
        let _group = GroupGuard {
            pgid,
            run_id: run_id.to_string(),
        };

        // Aborted with the step: a live feed would otherwise wait for input after the exit.
        let _feed = match (stdin, child.stdin.take()) {
            (Some(feed), Some(w)) => Some(AbortOnDropHandle::new(tokio::spawn(feed.write_to(w)))),
            _ => None,
        };
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let mut obuf = vec![0u8; 16 * 1024];
        let mut ebuf = vec![0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + wall;
        let mut step = Step::default();
        let mut exited = None;

        loop {
            if exited.is_some() && stdout.is_none() && stderr.is_none() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline), if exited.is_none() => {
                    step.timed_out = true;
                    step.killed = true;
                    break;
                }
                // After the main process exited, give the pipes a moment: anything still
                // holding them is an escaped child, which the group kill handles.
                _ = tokio::time::sleep(Duration::from_millis(200)), if exited.is_some() => break,
                status = child.wait(), if exited.is_none() => {
                    exited = Some(status.map_err(|e| SandboxError::Internal(format!("wait: {e}")))?);
                    // Kill leftovers (background children) right away so pipes close.
                    kill_group(pgid, run_id);
                }
                n = read_some(&mut stdout, &mut obuf) => {
                    match n {
                        Some(n) => {
                            match sink.push_by(Stream::Stdout, &obuf[..n], deadline).await {
                                Push::Ok => {}
                                Push::Capped => {
                                    step.truncated = true;
                                    step.killed = true;
                                    break;
                                }
                                Push::Deadline => {
                                    step.timed_out = true;
                                    step.killed = true;
                                    break;
                                }
                            }
                        }
                        None => stdout = None,
                    }
                }
                n = read_some(&mut stderr, &mut ebuf) => {
                    match n {
                        Some(n) => {
                            match sink.push_by(Stream::Stderr, &ebuf[..n], deadline).await {
                                Push::Ok => {}
                                Push::Capped => {
                                    step.truncated = true;
                                    step.killed = true;
                                    break;
                                }
                                Push::Deadline => {
                                    step.timed_out = true;
                                    step.killed = true;
                                    break;
                                }
                            }
                        }
                        None => stderr = None,
                    }
                }
            }
        }
        kill_group(pgid, run_id);
        if step.killed && exited.is_none() {
            let _ = child.kill().await;
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
        if let Some(status) = exited {
            if let Some(code) = status.code() {
                step.status = Some(code as i64);
            } else if let Some(sig) = status.signal() {
                step.signal = crate::signal_name(sig as i64).map(str::to_string);
            }
        }
        Ok(step)
    }
}

async fn read_some<R: AsyncRead + Unpin>(r: &mut Option<R>, buf: &mut [u8]) -> Option<usize> {
    match r {
        Some(r) => match r.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

#[derive(Debug, Default)]
struct Step {
    status: Option<i64>,
    signal: Option<String>,
    timed_out: bool,
    truncated: bool,
    killed: bool,
}

impl Step {
    fn fill(&self, o: &mut Outcome) {
        o.timed_out = self.timed_out;
        o.truncated = self.truncated;
        if self.killed {
            o.exit_code = None;
            o.signal = Some("SIGKILL".into());
        } else {
            o.exit_code = self.status;
            o.signal = self.signal.clone();
            if o.exit_code.is_none() && o.signal.is_some() {
                // Shell convention, as in Docker.
                o.exit_code = None;
            }
        }
        // RLIMIT_CPU exceeded: SIGXCPU/SIGKILL — report as a timeout.
        if o.signal.as_deref() == Some("SIGXCPU") {
            o.timed_out = true;
        }
    }
}

/// Kills the process group and any escaped process when dropped (cancellation included).
struct GroupGuard {
    pgid: Option<i32>,
    run_id: String,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.pgid, &self.run_id);
    }
}

/// SIGKILL to the process group, then a sweep for processes carrying the run marker (children
/// that called setsid themselves). Best effort; repeated a few times against forks in flight.
fn kill_group(pgid: Option<i32>, run_id: &str) {
    if let Some(pg) = pgid {
        if pg > 1 {
            // SAFETY: plain syscall.
            unsafe {
                libc::killpg(pg, libc::SIGKILL);
            }
        }
    }
    let marker = format!("{RUN_MARKER_VAR}={run_id}");
    for _ in 0..5 {
        let found = sweep(&marker);
        if found == 0 {
            break;
        }
    }
}

fn sweep(marker: &str) -> usize {
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for ent in rd.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me || pid <= 1 {
            continue;
        }
        let Ok(environ) = std::fs::read(ent.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|kv| kv == marker.as_bytes()) {
            // SAFETY: plain syscall.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    killed
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Processes currently owned by our real uid (RLIMIT_NPROC counts all of them).
fn processes_of_current_user() -> u64 {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for ent in rd.flatten() {
        if !ent
            .file_name()
            .to_str()
            .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        use std::os::unix::fs::MetadataExt;
        if ent.metadata().map(|m| m.uid() == uid).unwrap_or(false) {
            n += 1;
        }
    }
    n
}

#[derive(Debug, Clone, Copy)]
struct Rlimits {
    cpu_secs: u64,
    address_space: u64,
    data: u64,
    nproc: u64,
    nofile: u64,
    fsize: u64,
}

impl Rlimits {
    fn for_run(limits: &RunLimits, lang: &Language, wall: Duration) -> Self {
        let mib = 1024 * 1024;
        Self {
            cpu_secs: wall.as_secs() + 2,
            address_space: limits.memory_mb.max(lang.local_min_address_space_mb) * mib,
            data: limits.memory_mb * mib,
            // RLIMIT_NPROC counts every process of the user, not just this run's.
            nproc: processes_of_current_user() + limits.pids.max(1) as u64,
            nofile: 64,
            fsize: limits.tmpfs_mb * mib,
        }
    }

    fn apply(&self) -> std::io::Result<()> {
        fn set(res: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
            let r = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            // SAFETY: setrlimit with a valid pointer.
            if unsafe { libc::setrlimit(res, &r) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        }
        // SAFETY: setsid in the child between fork and exec.
        if unsafe { libc::setsid() } == -1 {
            return Err(std::io::Error::last_os_error());
        }
        set(libc::RLIMIT_CPU, self.cpu_secs, self.cpu_secs + 1)?;
        set(libc::RLIMIT_AS, self.address_space, self.address_space)?;
        set(libc::RLIMIT_DATA, self.data, self.data)?;
        set(libc::RLIMIT_NPROC, self.nproc, self.nproc)?;
        set(libc::RLIMIT_NOFILE, self.nofile, self.nofile)?;
        set(libc::RLIMIT_FSIZE, self.fsize, self.fsize)?;
        set(libc::RLIMIT_CORE, 0, 0)?;
        Ok(())
    }
}

/// What the run step's stdin pipe gets: `prefilled`, then each chunk of `live` as it arrives, then
/// EOF.
struct StdinFeed {
    prefilled: Vec<u8>,
    live: Option<LiveStdin>,
}

impl StdinFeed {
    async fn write_to(mut self, mut pipe: tokio::process::ChildStdin) {
        // EPIPE when the program doesn't read its stdin (or closed it): fine.
        if pipe.write_all(&self.prefilled).await.is_err() {
            return;
        }
        if let Some(live) = self.live.as_mut() {
            while let Some(chunk) = live.recv().await {
                if pipe.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        let _ = pipe.shutdown().await;
    }
}

#[async_trait]
impl SandboxBackend for LocalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    async fn run(
        &self,
        spec: RunSpec,
        output: mpsc::Sender<OutputChunk>,
    ) -> Result<Outcome, SandboxError> {
        let started = Instant::now();
        let language = spec.language.clone();
        let res = self.run_inner(spec, output, started).await;
        self.cfg
            .metrics
            .record_result("local", &self.cfg.languages, &language, &res, started);
        res
    }

    async fn health(&self) -> BackendHealth {
        let missing: Vec<String> = self
            .cfg
            .languages
            .languages()
            .iter()
            .filter(|l| self.toolchain_available(l).is_err())
            .map(|l| l.id.clone())
            .collect();
        let mut detail = "local subprocess fallback: NO ISOLATION (development only)".to_string();
        if !missing.is_empty() {
            detail.push_str(&format!("; toolchains missing for: {}", missing.join(", ")));
        }
        BackendHealth {
            kind: BackendKind::Local,
            available: true,
            detail,
            isolated: false,
            pool: None,
            cache: None,
            hosts: Vec::new(),
        }
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>(_: T) {}
    let b = LocalBackend::new(LocalConfig::default());
    let (tx, _rx) = mpsc::channel(1);
    is_send(async move { b.run(RunSpec::single("python", "main.py", ""), tx).await });
    let _ = OsStr::new("");
}
