//! opencoder: a self-hosted collaborative coding pad.
//!
//! Modules, by the nouns of SPEC.md:
//! - `config`  — the documented configuration table and the production refusals (§8, §10)
//! - `error`   — the one mapping from failures to HTTP statuses and close codes
//! - `db`      — the SQLite or PostgreSQL pool, write locks, migrations and typed ids
//! - `auth`    — name-only identity, recovery keys, JWT sessions, `CurrentUser` (§2)
//! - `pads`    — pads, files, roles, members, invites, passwords, fork (§3)
//! - `collab`  — the pad document (Yjs via `yrs`) and its durable update log (§4)
//! - `terminal` — the shared per-pad terminal: a shell inside a sandbox container of the pad (§6)
//! - `recordings` — recordings: time windows over the pad's event log, paginated timelines,
//!   seeking from checkpoints, JSON export (§7)
//! - `interviews` — question bank, "Start interview", the interviewer's switches and the waiting
//!   room (issue 13)
//! - `admin`   — the operator's admin role, `opencoder admin` and `/api/admin/*` (issue 14 §5)
//! - `audit`   — the append-only, hash-chained audit log and its CLI (§9)
//! - `doctor`  — `opencoder doctor`: named ok/warn/fail checks of config, data dir and database
//! - `bus`     — the pad bus: domain events that carry access changes to live sockets, behind a
//!   trait so a cluster transport can replace the in-process one
//! - `cluster` — pad ownership across nodes: leases with a fencing epoch for what must exist once
//!   per pad
//! - `http`    — the perimeter: client IP, rate limits, headers, CORS, origins, request log (§8)

pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bus;
pub mod cluster;
pub mod collab;
pub mod config;
pub mod db;
pub mod doctor;
pub mod error;
pub mod exec;
pub mod healthcheck;
pub mod http;
pub mod interviews;
pub mod metrics;
pub mod openapi;
pub mod pads;
pub mod recordings;
pub mod terminal;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::catch_panic::CatchPanicLayer;

use crate::audit::AuditLog;
use crate::auth::tokens::TokenKeys;
use crate::bus::{LocalBus, RedisBus, SharedBus};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::rate_limit::RateLimits;
use crate::pads::unlock_throttle::UnlockThrottle;

/// Everything a handler may need, cloned into each request. No globals: each test builds its own.
///
/// One `Arc` around all of it: every perimeter layer and extractor clones the state per request,
/// and cloning (then dropping) two dozen `Arc`s each time cost about a third of the server's CPU
/// on an authenticated GET — atomic counters bounced between the cores.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What `AppState` shares; reached through it.
pub struct AppStateInner {
    pub config: Arc<Config>,
    pub db: Db,
    pub tokens: TokenKeys,
    pub audit: AuditLog,
    pub rate_limits: RateLimits,
    pub unlock_throttle: UnlockThrottle,
    /// Domain events (kicks, role changes, deletions, revocations) to the live state.
    pub bus: SharedBus,
    /// The Redis connection of the shared counts (`REDIS_URL`), also pinged by `/readyz`.
    pub redis: Option<redis::aio::ConnectionManager>,
    /// Which pads this node owns (all of them on one node; leases with several).
    pub ownership: cluster::Ownership,
    pub docs: collab::DocStore,
    /// Live pad rooms (open sockets); `rooms.broadcast_app(pad, json)` reaches everyone on a pad.
    pub rooms: collab::Rooms,
    pub exec: exec::ExecService,
    /// This server's Prometheus registry (`/metrics`); one per state, so tests do not mix counts.
    pub metrics: metrics::Metrics,
    /// Recordings' tunables and idle watch (SPEC §7); the rest of their state is in the database.
    pub recordings: recordings::Recorder,
    /// Languages that can run (built-in table plus EXEC_LANGUAGES_FILE).
    pub languages: Arc<oc_sandbox::LanguageTable>,
    /// The shared per-pad terminals (SPEC §6).
    pub terminals: terminal::Terminals,
    /// The execution backend's last health check, shared by `/health` and `/api/health`.
    pub health: http::health::HealthCache,
    /// The operator's questions to the other nodes about their sandboxes (`admin::sandboxes`).
    pub admin_queries: admin::sandboxes::SandboxQueries,
    /// The single sign-on provider, when `OIDC_ISSUER` is set.
    pub oidc: Option<auth::oidc::Provider>,
    /// Background work (sweeps, flushes) that shutdown waits for.
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
}

/// A multiplexed, self-reconnecting Redis connection. The error never repeats the URL (it may
/// carry a password).
async fn redis_connection(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url)
        .map_err(|_| anyhow::anyhow!("REDIS_URL: not a Redis URL this server can use"))?;
    // Connection errors name the failure (refused, timed out), not the URL.
    client
        .get_connection_manager()
        .await
        .map_err(|err| anyhow::anyhow!("REDIS_URL: cannot reach Redis: {err}"))
}

impl AppState {
    /// Connect to the database, migrate, and assemble the state. `config.prepare()` must have run.
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let db = Db::connect_with(config.database_url.expose(), &config.db).await?;
        db.migrate().await?;
        let tokens = TokenKeys::new(config.jwt_secret.expose());
        let redis = match &config.redis_url {
            Some(url) => Some(redis_connection(url.expose()).await?),
            None => None,
        };
        let (rate_limits, unlock_throttle) = match &redis {
            Some(redis) => {
                let limits = RateLimits::shared(
                    config.rate_limit_per_minute,
                    config.signup_rate_limit_per_minute,
                    redis.clone(),
                );
                (limits, UnlockThrottle::shared(redis.clone()))
            }
            None => (
                RateLimits::new(
                    config.rate_limit_per_minute,
                    config.signup_rate_limit_per_minute,
                ),
                UnlockThrottle::default(),
            ),
        };
        let oidc = match (&config.oidc.provider, &config.public_base_url) {
            (Some(provider), Some(base)) => {
                Some(auth::oidc::Provider::new(provider.clone(), base)?)
            }
            _ => None,
        };
        let languages = Arc::new(exec::language_table(&config.exec)?);
        let sandbox_metrics = Arc::new(oc_sandbox::Metrics::new());
        let sandboxes =
            exec::build_sandboxes(&config, languages.clone(), sandbox_metrics.clone()).await?;
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let cluster_metrics = metrics::ClusterMetrics::default();
        let bus: SharedBus = match &config.redis_url {
            Some(url) => {
                let node = exec::node::node_id(&config.exec, &config.data_dir)?;
                RedisBus::connect(
                    url.expose(),
                    &node,
                    &tasks,
                    &shutdown,
                    cluster_metrics.clone(),
                )
                .await
                .map_err(|err| anyhow::anyhow!("REDIS_URL: cannot reach Redis: {err}"))?
            }
            None => Arc::new(LocalBus::default()),
        };
        let ownership = match &config.redis_url {
            Some(_) => cluster::Ownership::clustered(
                db.clone(),
                bus.node().to_string(),
                cluster_metrics.clone(),
            ),
            None => cluster::Ownership::solo(
                db.clone(),
                bus.node().to_string(),
                cluster_metrics.clone(),
            ),
        };
        let persist_metrics = metrics::PersistMetrics::default();
        let docs = collab::DocStore::new(
            db.clone(),
            &config.collab,
            bus.clone(),
            persist_metrics.clone(),
        );
        let rooms = collab::Rooms::new(docs.clone(), collab::app::handlers(), bus.clone());
        let broadcast: exec::PadBroadcast = {
            let rooms = rooms.clone();
            Arc::new(move |pad, message| rooms.broadcast_app(pad, &message))
        };
        let exec = exec::ExecService::new(
            sandboxes.runs,
            sandbox_metrics,
            config.exec.clone(),
            db.clone(),
            broadcast,
        );
        let terminals = terminal::Terminals::new(&config, sandboxes.terminals);
        let live = metrics::LiveState {
            exec: exec.clone(),
            rooms: rooms.clone(),
            docs: docs.clone(),
            terminals: terminals.clone(),
        };
        let metrics = metrics::Metrics::new(
            live,
            exec.run_durations().clone(),
            &persist_metrics,
            &cluster_metrics,
        );
        Ok(AppState(Arc::new(AppStateInner {
            metrics,
            terminals,
            health: http::health::HealthCache::default(),
            exec,
            languages,
            audit: AuditLog::new(db.clone()),
            docs,
            rooms,
            recordings: recordings::Recorder::new(&config.recordings),
            config: Arc::new(config),
            db,
            tokens,
            rate_limits,
            unlock_throttle,
            bus,
            redis,
            ownership,
            admin_queries: admin::sandboxes::SandboxQueries::default(),
            oidc,
            tasks,
            shutdown,
        })))
    }

    /// Start background maintenance (rate-limit sweeps, throttle expiry).
    pub fn spawn_background(&self) {
        cluster::spawn_background(self);
        collab::spawn_background(self);
        recordings::spawn_background(self);
        terminal::spawn_background(self);
        interviews::takehomes::spawn_background(self);
        let state = self.clone();
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(http::rate_limit::SWEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = state.shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        state.rate_limits.sweep();
                        state.recordings.limits.sweep();
                        state.unlock_throttle.sweep(std::time::Instant::now());
                    }
                }
            }
        });
    }
}

/// Every feature's routes, as one OpenAPI-described router (the spec is derived from it).
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::base())
        .merge(http::health::router())
        .merge(http::metrics::router())
        .merge(auth::router())
        .merge(pads::router())
        .merge(collab::router())
        .merge(exec::routes::router())
        .merge(recordings::routes::router())
        .merge(terminal::router())
        .merge(interviews::router())
        .merge(admin::router())
}

/// The whole application: routes, then the perimeter layers. Read bottom-up for request order:
/// client IP → security headers → request metrics → request log → panic guard → CORS → URL-token refusal →
/// global rate limit → body limit → handler.
pub fn build_app(state: AppState) -> Router {
    let (router, spec) = api_router().split_for_parts();
    let spec = Arc::new(spec);
    router
        .merge(openapi::router(spec))
        .fallback(http::static_files::serve)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed.into_response() })
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn_with_state(
            state.clone(),
            http::rate_limit::enforce_global,
        ))
        .layer(axum::middleware::from_fn(http::url_tokens::refuse))
        .layer(http::cors::layer(&state.config))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(axum::middleware::from_fn(http::trace::log_request))
        .layer(from_fn_with_state(state.clone(), http::metrics::record))
        .layer(from_fn_with_state(state.clone(), http::headers::apply))
        .layer(from_fn_with_state(state.clone(), http::client_ip::attach))
        .with_state(state)
}

/// How long shutdown waits for background work to flush.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serve until SIGINT/SIGTERM or `state.shutdown` is cancelled, then flush.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    state.spawn_background();
    let app = build_app(state.clone());
    let shutdown = state.shutdown.clone();
    let signal_shutdown = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signal_shutdown.cancel();
    });
    // Small, latency-sensitive writes (pad socket updates, §4): no Nagle delay on any connection.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await?;
    state.tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, state.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not finish within the shutdown grace period");
    }
    state.exec.shutdown().await;
    state.docs.flush_all().await;
    state.db.close().await;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail on unix");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
