//! Counts kept in Redis for every node (`REDIS_URL`): the per-IP budgets and the unlock throttle
//! run their counting scripts through here. Redis that does not answer never blocks a request:
//! the script's verdict is `None`, the caller's own local count decides, and for
//! `SHARED_RETRY_AFTER` no request waits for Redis at all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a request waits for Redis's answer before its node's own count decides.
pub const SHARED_CHECK_TIMEOUT: Duration = Duration::from_millis(250);
/// After Redis failed to answer, counts are local-only this long (requests do not each wait for
/// a dead Redis).
pub const SHARED_RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct SharedCounts {
    redis: redis::aio::ConnectionManager,
    /// Set when Redis last failed to answer: local-only until then.
    unavailable_until: Arc<Mutex<Option<Instant>>>,
}

impl SharedCounts {
    pub fn new(redis: redis::aio::ConnectionManager) -> Self {
        SharedCounts {
            redis,
            unavailable_until: Arc::default(),
        }
    }

    /// The script's integer answer, or `None` when Redis did not give one in time (`what` names
    /// the count in the warning).
    pub async fn run(&self, invocation: &redis::ScriptInvocation<'_>, what: &str) -> Option<u64> {
        let now = Instant::now();
        if self
            .unavailable_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| now < until)
        {
            return None;
        }
        let mut redis = self.redis.clone();
        let failure = match tokio::time::timeout(
            SHARED_CHECK_TIMEOUT,
            invocation.invoke_async::<u64>(&mut redis),
        )
        .await
        {
            Ok(Ok(answer)) => return Some(answer),
            Ok(Err(err)) => err.to_string(),
            Err(_) => "no answer in time".to_string(),
        };
        tracing::warn!(error = %failure, what, "Redis did not answer; this node's own counts decide for now");
        *self
            .unavailable_until
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(now + SHARED_RETRY_AFTER);
        None
    }
}
