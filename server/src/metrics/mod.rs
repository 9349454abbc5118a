//! Prometheus metrics (issue 14 §4) through `prometheus-client`: one `Registry` per `AppState`.
//!
//! Not the `metrics` facade: its macros write to a process-global recorder, and its local
//! recorder is a thread-local scope for a synchronous closure, which a Tokio task leaves at its
//! first await. Tests run several servers in one process and each must count only its own
//! traffic, so every family lives in this state's registry and is handed to the code that counts.
//!
//! Two kinds of series: families the code that sees an event increments (HTTP, rejections, auth
//! failures, pad socket frames and closes, run durations, the document writer, the bus, leases,
//! recordings), and gauges and the sandbox's counters read from the live state at scrape time by
//! [`LiveState`], so the subsystems keep no second copy of what they already know.
//!
//! Every label is bounded: route templates, status classes, languages, error codes, Docker host
//! addresses from the configuration. Never a user, a pad, a token or a raw path.

mod cluster;
mod live;
mod persist;
mod recordings;
mod sockets;

use std::sync::Arc;

use prometheus_client::encoding::{
    prometheus_text, EncodeLabelSet, EncodeLabelValue, LabelValueEncoder,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use cluster::{BusDrop, ClusterMetrics};
pub use live::LiveState;
pub use persist::PersistMetrics;
use recordings::RecordingMetrics;
use sockets::SocketMetrics;

/// `Content-Type` of `/metrics` (the Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds in seconds of HTTP request latency: API calls sit in the low milliseconds, a
/// run's `POST` waits for admission only, a slow database shows up in the top buckets.
const HTTP_SECONDS_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The label of a request that matched no route (static files, the client's pages, 404s).
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Which budget refused a request with 429: the global per-IP one (`RATE_LIMIT_PER_MINUTE`, a
/// response extension set by its middleware) or the endpoint's own (sign-up, run queue,
/// recordings, terminal restarts), which the route names.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Limiter {
    Global,
    Endpoint,
}

impl EncodeLabelValue for Limiter {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        use std::fmt::Write;
        encoder.write_str(match self {
            Limiter::Global => "global",
            Limiter::Endpoint => "endpoint",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    limiter: Limiter,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// A histogram with exponential buckets `start`, `start * factor`, ... (`count` of them).
fn exponential_histogram(start: f64, factor: f64, count: u16) -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        start, factor, count,
    ))
}

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_SECONDS_BUCKETS)
}

/// This server's registry and the families its request path increments. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: HistogramFamily<RouteLabels>,
    rate_limited: Family<RejectionLabels, Counter>,
    auth_failures: Family<KindLabels, Counter>,
    sockets: SocketMetrics,
    recordings: RecordingMetrics,
}

impl Metrics {
    /// A registry holding the request-path and pad-socket families, the families the execution
    /// service, the document writer, the bus and the leases count into, and `live` read at each
    /// scrape.
    pub fn new(
        live: LiveState,
        run_durations: crate::exec::metrics::RunDurations,
        persist: &PersistMetrics,
        cluster: &ClusterMetrics,
    ) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "opencoder_http_requests",
            "HTTP requests by method, route template and status class",
            requests.clone(),
        );
        let request_seconds = HistogramFamily::<RouteLabels>::new_with_constructor(http_histogram);
        registry.register(
            "opencoder_http_request_duration_seconds",
            "HTTP request latency by route template, until the response head",
            request_seconds.clone(),
        );
        let rate_limited = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "opencoder_rate_limit_rejections",
            "Requests refused with 429, by the budget that refused (global or the endpoint's own) and route template",
            rate_limited.clone(),
        );
        let auth_failures = Family::<KindLabels, Counter>::default();
        registry.register(
            "opencoder_auth_failures",
            "Requests refused with 401, by the error code (missing or invalid token, wrong password, ...)",
            auth_failures.clone(),
        );
        registry.register(
            "opencoder_exec_run_duration_seconds",
            "Wall time of code runs, by language",
            run_durations,
        );
        let sockets = SocketMetrics::default();
        sockets.register(&mut registry);
        let recordings = RecordingMetrics::default();
        recordings.register(&mut registry);
        persist.register(&mut registry);
        cluster.register(&mut registry);
        registry.register_collector(Box::new(live));
        let inner = Inner {
            registry,
            requests,
            request_seconds,
            rate_limited,
            auth_failures,
            sockets,
            recordings,
        };
        Metrics {
            inner: Arc::new(inner),
        }
    }

    /// Count one answered request. `route` is the matched template (`/api/pads/{slug}`) or
    /// [`UNMATCHED_ROUTE`]; `error_code` is the `AppError` code the response carries, if any,
    /// and `limiter` the budget that refused it with 429 when that was the global one.
    pub fn observe_request(
        &self,
        method: &axum::http::Method,
        route: &str,
        status: axum::http::StatusCode,
        error_code: Option<&'static str>,
        limiter: Option<Limiter>,
        seconds: f64,
    ) {
        let inner = &self.inner;
        let labels = RequestLabels {
            method: method_label(method).to_string(),
            route: route.to_string(),
            status: status_class(status),
        };
        inner.requests.get_or_create(&labels).inc();
        inner
            .request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
        if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
            let limiter = limiter.unwrap_or(Limiter::Endpoint);
            inner
                .rate_limited
                .get_or_create(&RejectionLabels {
                    limiter,
                    route: route.to_string(),
                })
                .inc();
        }
        if status == axum::http::StatusCode::UNAUTHORIZED {
            inner
                .auth_failures
                .get_or_create(&KindLabels {
                    kind: error_code.unwrap_or("unauthorized"),
                })
                .inc();
        }
    }

    /// A frame a pad socket received, handled `since` receipt: by then a document update has
    /// been applied and handed to every peer's send queue (the fan-out lag).
    pub fn pad_frame(&self, frame: &[u8], since: std::time::Duration) {
        self.inner.sockets.frame(frame, since);
    }

    /// A pad socket ended: with the close code the server sent, or `None` when the client left.
    pub fn pad_socket_closed(&self, code: Option<u16>) {
        self.inner.sockets.closed(code);
    }

    /// Recordings in progress on the pads this node owns, counted by the seek-data scan.
    pub fn recordings_active(&self, count: usize) {
        self.inner.recordings.set_active(count);
    }

    pub fn recording_segment_written(&self) {
        self.inner.recordings.segment_written();
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.inner.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Methods outside the standard set share one label, so a client cannot mint series.
fn method_label(method: &axum::http::Method) -> &str {
    use axum::http::Method;
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    if known.contains(method) {
        method.as_str()
    } else {
        "other"
    }
}

fn status_class(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
