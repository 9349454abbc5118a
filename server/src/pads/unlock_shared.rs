//! The unlock throttle's counts shared across nodes (`REDIS_URL`): the same policies as
//! `unlock_throttle`, kept in Redis so a guesser alternating between nodes waits as long as one
//! hammering a single node.
//!
//! Each node still counts locally first (`UnlockThrottle::attempt`): a node alone never allows
//! more than its own policy, and when Redis cannot answer it keeps throttling on its own counts.

use std::net::IpAddr;
use std::time::Duration;

use super::unlock_throttle::{UnlockKey, CLIENT_POLICY, IDLE_EXPIRY, PAD_POLICY};
use crate::http::shared_counts::SharedCounts;

/// KEYS: pad entry, client entry (hashes of `failures` and `blocked` = ms on Redis's clock).
/// ARGV: the pad policy (free failures, base delay ms, max delay ms), the client policy (the
/// same three), idle expiry ms.
/// Returns 0 when the attempt may go ahead (and counts it as a failure), else the ms to wait.
const ATTEMPT_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function wait(key)
  local blocked = tonumber(redis.call('HGET', key, 'blocked') or 0)
  if blocked > now then return blocked - now end
  return 0
end
local waiting = math.max(wait(KEYS[1]), wait(KEYS[2]))
if waiting > 0 then return waiting end
local idle = tonumber(ARGV[7])
local function fail(key, free, base, max)
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  local delay = 0
  if failures > free then
    delay = math.min(base * 2 ^ math.min(failures - free - 1, 31), max)
    redis.call('HSET', key, 'blocked', now + delay)
  end
  redis.call('PEXPIRE', key, idle + delay)
end
fail(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
fail(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
return 0
"#;

/// KEYS: pad entry, client entry. The client starts afresh; the pad forgives one attempt.
const SUCCEEDED_SCRIPT: &str = r#"
redis.call('DEL', KEYS[2])
if tonumber(redis.call('HGET', KEYS[1], 'failures') or 0) > 0 then
  redis.call('HINCRBY', KEYS[1], 'failures', -1)
end
return 0
"#;

#[derive(Clone)]
pub struct SharedUnlock {
    counts: SharedCounts,
}

fn keys(key: UnlockKey) -> [String; 2] {
    let client = match key.client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6.to_string(),
    };
    [
        format!("opencoder:unlock:pad:{}", key.pad),
        format!("opencoder:unlock:client:{}:{client}", key.pad),
    ]
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl SharedUnlock {
    pub fn new(redis: redis::aio::ConnectionManager) -> Self {
        SharedUnlock {
            counts: SharedCounts::new(redis),
        }
    }

    /// `Err(wait)` while the pad or the client is throttled across the cluster; otherwise the
    /// attempt is counted as a failure until `succeeded`. Redis not answering allows it (the
    /// caller's local count has already been checked).
    pub async fn attempt(&self, key: UnlockKey) -> Result<(), Duration> {
        let script = redis::Script::new(ATTEMPT_SCRIPT);
        let mut invocation = script.prepare_invoke();
        for k in keys(key) {
            invocation.key(k);
        }
        for policy in [PAD_POLICY, CLIENT_POLICY] {
            invocation
                .arg(policy.free_failures)
                .arg(millis(policy.base_delay))
                .arg(millis(policy.max_delay));
        }
        invocation.arg(millis(IDLE_EXPIRY));
        match self.counts.run(&invocation, "unlock throttle").await {
            Some(0) | None => Ok(()),
            Some(wait_ms) => Err(Duration::from_millis(wait_ms)),
        }
    }

    pub async fn succeeded(&self, key: UnlockKey) {
        let script = redis::Script::new(SUCCEEDED_SCRIPT);
        let mut invocation = script.prepare_invoke();
        for k in keys(key) {
            invocation.key(k);
        }
        self.counts.run(&invocation, "unlock throttle").await;
    }
}
