//! Per-client-IP rate limits (SPEC §8), on `governor`'s keyed GCRA limiters.
//!
//! The global budget covers `/api/*` and `/ws/*`; static assets are exempt so loading the client
//! never eats a user's API budget. Sign-up and recovery share a stricter budget. Unlock has its
//! own growing throttle in `pads::unlock_throttle`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_ip::ClientIp;
use crate::error::AppError;
use crate::AppState;

/// How often idle buckets are dropped so memory stays bounded under address churn.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct IpLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl IpLimiter {
    pub fn per_minute(count: u32) -> Self {
        let count = NonZeroU32::new(count.max(1)).expect("max(1) is non-zero");
        IpLimiter { limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(count))) }
    }

    /// `Err(seconds to wait)` when the address is over budget.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    pub fn check_or_429(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(ip).map_err(AppError::rate_limited)
    }

    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[derive(Clone)]
pub struct RateLimits {
    pub global: IpLimiter,
    pub signup: IpLimiter,
}

impl RateLimits {
    pub fn new(global_per_minute: u32, signup_per_minute: u32) -> Self {
        RateLimits { global: IpLimiter::per_minute(global_per_minute), signup: IpLimiter::per_minute(signup_per_minute) }
    }

    pub fn sweep(&self) {
        self.global.sweep();
        self.signup.sweep();
    }
}

fn is_budgeted(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ws/")
}

/// Middleware: the global per-IP budget.
pub async fn enforce_global(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_budgeted(request.uri().path()) {
        let ip = request.extensions().get::<ClientIp>().map(|c| c.0).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        if let Err(err) = state.rate_limits.global.check_or_429(ip) {
            return err.into_response();
        }
    }
    next.run(request).await
}
