//! Per-client-IP rate limits (SPEC §8), on `governor`'s keyed GCRA limiters.
//!
//! The global budget covers `/api/*` and `/ws/*`; static assets are exempt so loading the client
//! never eats a user's API budget. Sign-up and recovery share a stricter budget. Unlock has its
//! own growing throttle in `pads::unlock_throttle`.
//!
//! With `REDIS_URL`, every budget is also counted in Redis (the same GCRA, one key per budget and
//! address, atomic in a script), so a client spreading requests over several nodes gets one
//! budget, not one per node. The local limiter still answers first: a node never lets more
//! through than the whole budget on its own, and when Redis cannot answer the node falls back to
//! its local budget rather than refusing everyone.

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
use super::shared_counts::SharedCounts;
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
    shared: Option<SharedBudget>,
}

/// The cluster-wide count of one budget in Redis.
#[derive(Clone)]
struct SharedBudget {
    counts: SharedCounts,
    /// `opencoder:rate:<budget>:`; the address bucket follows.
    key_prefix: String,
    /// One request's worth of the budget, in milliseconds (a minute / the count).
    interval_ms: u64,
    count: u32,
}

/// GCRA in Redis, on Redis's own clock (nodes' clocks may differ): the key holds the theoretical
/// arrival time in ms. Returns 0 when allowed, else the milliseconds to wait.
const GCRA_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2]) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - burst > now then return new_tat - burst - now end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return 0
"#;

impl SharedBudget {
    /// Redis's verdict, or `Ok` (the local budget has already allowed it) when Redis cannot give
    /// one in time.
    async fn check(&self, bucket: IpAddr) -> Result<(), u64> {
        let script = redis::Script::new(GCRA_SCRIPT);
        let mut invocation = script.key(format!("{}{bucket}", self.key_prefix));
        invocation.arg(self.interval_ms).arg(self.count);
        match self.counts.run(&invocation, "rate limit").await {
            Some(0) | None => Ok(()),
            Some(wait_ms) => Err(wait_ms.div_ceil(1000)),
        }
    }
}

impl IpLimiter {
    pub fn per_minute(count: u32) -> Self {
        let count = NonZeroU32::new(count.max(1)).expect("max(1) is non-zero");
        IpLimiter {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(count))),
            shared: None,
        }
    }

    /// The same budget, also counted across nodes in Redis under `name`.
    pub fn shared_per_minute(count: u32, name: &str, redis: redis::aio::ConnectionManager) -> Self {
        let count = count.max(1);
        let shared = SharedBudget {
            counts: SharedCounts::new(redis),
            key_prefix: format!("opencoder:rate:{name}:"),
            interval_ms: (60_000 / u64::from(count)).max(1),
            count,
        };
        IpLimiter {
            shared: Some(shared),
            ..IpLimiter::per_minute(count)
        }
    }

    /// `Err(seconds to wait)` when the address is over budget.
    pub async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let bucket = bucket_of(ip);
        self.limiter.check_key(&bucket).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })?;
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        shared.check(bucket).await
    }

    pub async fn check_or_429(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(ip).await.map_err(AppError::rate_limited)
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
        RateLimits {
            global: IpLimiter::per_minute(global_per_minute),
            signup: IpLimiter::per_minute(signup_per_minute),
        }
    }

    /// The same budgets, counted across every node that shares `redis`.
    pub fn shared(
        global_per_minute: u32,
        signup_per_minute: u32,
        redis: redis::aio::ConnectionManager,
    ) -> Self {
        RateLimits {
            global: IpLimiter::shared_per_minute(global_per_minute, "global", redis.clone()),
            signup: IpLimiter::shared_per_minute(signup_per_minute, "signup", redis),
        }
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
pub async fn enforce_global(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_budgeted(request.uri().path()) {
        let ip = request
            .extensions()
            .get::<ClientIp>()
            .map(|c| c.0)
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        if let Err(err) = state.rate_limits.global.check_or_429(ip).await {
            let mut response = err.into_response();
            response
                .extensions_mut()
                .insert(crate::metrics::Limiter::Global);
            return response;
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
        assert_eq!(
            bucket_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(
            bucket_of(ip("2001:db8:1:3::1")),
            bucket_of(ip("2001:db8:1:2::1"))
        );
        assert_eq!(bucket_of(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(bucket_of(ip("198.51.100.7")), ip("198.51.100.7"));
    }

    #[tokio::test]
    async fn a_rotating_ipv6_client_shares_one_budget() {
        let limiter = IpLimiter::per_minute(2);
        assert!(limiter.check(ip("2001:db8::1")).await.is_ok());
        assert!(limiter.check(ip("2001:db8::2")).await.is_ok());
        assert!(limiter.check(ip("2001:db8::3")).await.is_err());
        assert!(limiter.check(ip("2001:db8:0:1::1")).await.is_ok());
    }
}
