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

/// The bucket an address is counted in. An IPv6 client usually holds a whole /64 and can
/// rotate through it at will, so IPv6 addresses share their /64's bucket; IPv4-mapped IPv6
/// addresses count as the IPv4 address they are.
pub fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

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
        self.limiter.check_key(&bucket_of(ip)).map_err(|not_until| {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(bucket_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), ip("2001:db8:1:2::"));
        assert_ne!(bucket_of(ip("2001:db8:1:3::1")), bucket_of(ip("2001:db8:1:2::1")));
        assert_eq!(bucket_of(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(bucket_of(ip("198.51.100.7")), ip("198.51.100.7"));
    }

    #[test]
    fn a_rotating_ipv6_client_shares_one_budget() {
        let limiter = IpLimiter::per_minute(2);
        assert!(limiter.check(ip("2001:db8::1")).is_ok());
        assert!(limiter.check(ip("2001:db8::2")).is_ok());
        assert!(limiter.check(ip("2001:db8::3")).is_err());
        assert!(limiter.check(ip("2001:db8:0:1::1")).is_ok());
    }
}
