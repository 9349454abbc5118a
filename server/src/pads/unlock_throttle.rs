//! Throttling of password unlock attempts (SPEC §3, §8): per pad AND per (pad, client), with a
//! delay that doubles with each failure past a free allowance. The original had none (§12 #8).
//!
//! - Per client: `CLIENT_POLICY` — 3 free failures, then 1 s, 2 s, 4 s … capped at 15 min.
//! - Per pad: `PAD_POLICY` — 20 free failures, then the same doubling. A guess spread over many
//!   addresses is still slowed, at the price that a pad under attack also makes its legitimate
//!   users wait (they can be invited instead).
//!
//! An attempt is counted as a failure *when it starts* (`attempt`), and forgiven on success
//! (`succeeded`). Counting up front means a burst of parallel requests cannot all slip past the
//! check before the first bcrypt finishes. While throttled, callers answer 429 before running
//! bcrypt, so a throttled guess costs the server nothing and tells the attacker nothing.
//!
//! IPv6 clients are keyed by their /64: one host typically owns a whole /64, so per-address keys
//! would hand it 2^64 fresh allowances.
//!
//! With `REDIS_URL` the same counts are also kept in Redis (`unlock_shared`), so adding nodes
//! never multiplies a guesser's allowance.
//!
//! Memory is bounded: `sweep` drops entries idle for `IDLE_EXPIRY` and each map holds at most
//! `MAX_ENTRIES`; when full, the least recently seen entries give way. Time is always an argument
//! (`now: Instant`) so tests move it instead of sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::unlock_shared::SharedUnlock;
use crate::db::PadId;

/// How failures turn into waiting.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any delay.
    pub free_failures: u32,
    /// Delay after the first failure past the allowance; doubles with each further failure.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Policy {
    /// How long to refuse attempts after `failures` failures.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures <= self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_failures - 1).min(31);
        self.base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

pub const CLIENT_POLICY: Policy = Policy {
    free_failures: 3,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
};
pub const PAD_POLICY: Policy = Policy {
    free_failures: 20,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
};
/// Entries without a failure for this long (and not blocked) are forgotten.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(3600);
/// Entries per map.
pub const MAX_ENTRIES: usize = 100_000;
/// Entries evicted at once when a map is full.
const EVICT_BATCH: usize = MAX_ENTRIES / 100;

/// Whose attempt: the pad and the client's address (IPv6 folded to its /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnlockKey {
    pub pad: PadId,
    pub client: IpAddr,
}

impl UnlockKey {
    pub fn new(pad: PadId, ip: IpAddr) -> Self {
        let client = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        };
        UnlockKey { pad, client }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: Option<Instant>,
    last_seen: Instant,
}

impl Entry {
    fn wait(&self, now: Instant) -> Option<Duration> {
        self.blocked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }
}

struct Counters<K> {
    policy: Policy,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Copy> Counters<K> {
    fn new(policy: Policy) -> Self {
        Counters {
            policy,
            entries: HashMap::new(),
        }
    }

    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        self.entries.get(key).and_then(|e| e.wait(now))
    }

    fn count_failure(&mut self, key: K, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_ENTRIES {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            blocked_until: None,
            last_seen: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.last_seen = now;
        let delay = self.policy.delay_after(entry.failures);
        if !delay.is_zero() {
            entry.blocked_until = Some(now + delay);
        }
    }

    fn forgive_one(&mut self, key: &K) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
        }
    }

    fn forget(&mut self, key: &K) {
        self.entries.remove(key);
    }

    fn sweep(&mut self, now: Instant) {
        self.entries.retain(|_, e| {
            e.wait(now).is_some() || now.saturating_duration_since(e.last_seen) < IDLE_EXPIRY
        });
    }

    /// Sweep, and if still full evict the least recently seen `EVICT_BATCH` entries at once, so a
    /// flood of new keys pays for one scan per batch rather than one per request.
    fn make_room(&mut self, now: Instant) {
        self.sweep(now);
        if self.entries.len() >= MAX_ENTRIES {
            let mut by_age: Vec<(Instant, K)> = self
                .entries
                .iter()
                .map(|(k, e)| (e.last_seen, *k))
                .collect();
            let cut = EVICT_BATCH.min(by_age.len() - 1);
            by_age.select_nth_unstable_by_key(cut, |(seen, _)| *seen);
            for (_, key) in &by_age[..cut] {
                self.entries.remove(key);
            }
        }
    }
}

struct Inner {
    pads: Counters<PadId>,
    clients: Counters<UnlockKey>,
}

/// Shared by every request (lives in `AppState`); cheap to clone.
#[derive(Clone)]
pub struct UnlockThrottle {
    inner: Arc<Mutex<Inner>>,
    /// The same counts across nodes (`REDIS_URL`), consulted after the local ones.
    shared: Option<SharedUnlock>,
}

impl Default for UnlockThrottle {
    fn default() -> Self {
        UnlockThrottle::with_policies(PAD_POLICY, CLIENT_POLICY)
    }
}

impl UnlockThrottle {
    pub fn with_policies(pad: Policy, client: Policy) -> Self {
        UnlockThrottle {
            inner: Arc::new(Mutex::new(Inner {
                pads: Counters::new(pad),
                clients: Counters::new(client),
            })),
            shared: None,
        }
    }

    /// The default policies, counted on this node and across every node sharing `redis`.
    pub fn shared(redis: redis::aio::ConnectionManager) -> Self {
        UnlockThrottle {
            shared: Some(SharedUnlock::new(redis)),
            ..UnlockThrottle::default()
        }
    }

    /// `attempt` on this node, then across the cluster when shared. `Err(wait)`: refuse.
    pub async fn admit(&self, key: UnlockKey) -> Result<(), Duration> {
        self.attempt(key, Instant::now())?;
        match &self.shared {
            Some(shared) => shared.attempt(key).await,
            None => Ok(()),
        }
    }

    /// `succeeded` on this node and across the cluster.
    pub async fn forgive(&self, key: UnlockKey) {
        self.succeeded(key);
        if let Some(shared) = &self.shared {
            shared.succeeded(key).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The maps stay consistent even if a holder panicked; keep throttling rather than fail open.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(wait)` while the pad or this client is throttled. Does not count anything.
    pub fn check(&self, key: UnlockKey, now: Instant) -> Result<(), Duration> {
        let inner = self.lock();
        match (
            inner.pads.wait(&key.pad, now),
            inner.clients.wait(&key, now),
        ) {
            (None, None) => Ok(()),
            (a, b) => Err(a.unwrap_or_default().max(b.unwrap_or_default())),
        }
    }

    /// Check, and when allowed count the attempt as a failure until `succeeded` says otherwise.
    pub fn attempt(&self, key: UnlockKey, now: Instant) -> Result<(), Duration> {
        let mut inner = self.lock();
        match (
            inner.pads.wait(&key.pad, now),
            inner.clients.wait(&key, now),
        ) {
            (None, None) => {
                inner.pads.count_failure(key.pad, now);
                inner.clients.count_failure(key, now);
                Ok(())
            }
            (a, b) => Err(a.unwrap_or_default().max(b.unwrap_or_default())),
        }
    }

    /// The attempt was right: the client starts afresh and the pad forgives this one attempt.
    pub fn succeeded(&self, key: UnlockKey) {
        let mut inner = self.lock();
        inner.clients.forget(&key);
        inner.pads.forgive_one(&key.pad);
    }

    /// Drop idle entries; run periodically by `AppState::spawn_background`.
    pub fn sweep(&self, now: Instant) {
        let mut inner = self.lock();
        inner.pads.sweep(now);
        inner.clients.sweep(now);
    }

    /// Entries held (pads, clients), for tests and metrics.
    pub fn len(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.pads.entries.len(), inner.clients.entries.len())
    }
}

/// Whole seconds to put in `Retry-After` (rounded up, at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pad: i64, ip: &str) -> UnlockKey {
        UnlockKey::new(PadId(pad), ip.parse().unwrap())
    }

    #[test]
    fn delays_double_after_the_free_allowance_and_are_capped() {
        let p = CLIENT_POLICY;
        assert_eq!(p.delay_after(3), Duration::ZERO);
        assert_eq!(p.delay_after(4), Duration::from_secs(1));
        assert_eq!(p.delay_after(5), Duration::from_secs(2));
        assert_eq!(p.delay_after(6), Duration::from_secs(4));
        assert_eq!(p.delay_after(30), Duration::from_secs(900));
        assert_eq!(p.delay_after(u32::MAX), Duration::from_secs(900));
    }

    #[test]
    fn a_client_is_throttled_after_three_failures_and_waits_longer_each_time() {
        let t = UnlockThrottle::default();
        let k = key(1, "198.51.100.7");
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.attempt(k, start).is_ok());
        }
        // The fourth attempt is allowed but leaves the client blocked for 1 s.
        assert!(t.attempt(k, start).is_ok());
        assert_eq!(t.attempt(k, start), Err(Duration::from_secs(1)));
        assert!(t.check(k, start + Duration::from_millis(999)).is_err());
        let later = start + Duration::from_secs(1);
        assert!(t.attempt(k, later).is_ok());
        assert_eq!(t.check(k, later), Err(Duration::from_secs(2)));
        // Refused attempts are not counted: waiting out the delay is enough.
        let later = later + Duration::from_secs(2);
        assert!(t.attempt(k, later).is_ok());
        assert_eq!(t.check(k, later), Err(Duration::from_secs(4)));
    }

    #[test]
    fn other_clients_and_other_pads_are_not_affected() {
        let t = UnlockThrottle::default();
        let now = Instant::now();
        for _ in 0..4 {
            t.attempt(key(1, "198.51.100.7"), now).unwrap();
        }
        assert!(t.check(key(1, "198.51.100.7"), now).is_err());
        assert!(t.check(key(1, "198.51.100.8"), now).is_ok());
        assert!(t.check(key(2, "198.51.100.7"), now).is_ok());
    }

    #[test]
    fn success_resets_the_client() {
        let t = UnlockThrottle::default();
        let now = Instant::now();
        let k = key(1, "198.51.100.7");
        for _ in 0..3 {
            t.attempt(k, now).unwrap();
        }
        t.succeeded(k);
        for _ in 0..3 {
            t.attempt(k, now).unwrap();
        }
        assert!(t.check(k, now).is_ok());
    }

    #[test]
    fn a_distributed_guess_is_throttled_per_pad() {
        let t = UnlockThrottle::default();
        let now = Instant::now();
        for i in 0..PAD_POLICY.free_failures + 1 {
            t.attempt(key(1, &format!("203.0.113.{i}")), now).unwrap();
        }
        let fresh = key(1, "192.0.2.1");
        assert_eq!(t.check(fresh, now), Err(Duration::from_secs(1)));
        assert!(t.check(key(2, "192.0.2.1"), now).is_ok());
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        assert_eq!(
            key(1, "2001:db8:1:2:aaaa::1"),
            key(1, "2001:db8:1:2:bbbb::2")
        );
        assert_ne!(key(1, "2001:db8:1:2::1"), key(1, "2001:db8:1:3::1"));
        assert_eq!(key(1, "::ffff:192.0.2.1"), key(1, "192.0.2.1"));
    }

    #[test]
    fn idle_entries_are_swept_and_recent_ones_kept() {
        let t = UnlockThrottle::default();
        let now = Instant::now();
        t.attempt(key(1, "198.51.100.1"), now).unwrap();
        for _ in 0..30 {
            let _ = t.attempt(key(2, "198.51.100.2"), now);
        }
        assert_eq!(t.len(), (2, 2));
        // Delays are at most 15 min, so after an idle hour nothing is left.
        t.sweep(now + IDLE_EXPIRY);
        assert_eq!(t.len(), (0, 0));
        t.attempt(key(3, "198.51.100.3"), now).unwrap();
        t.sweep(now + Duration::from_secs(60));
        assert_eq!(t.len(), (1, 1));
    }

    #[test]
    fn maps_are_bounded() {
        let mut counters: Counters<u32> = Counters::new(CLIENT_POLICY);
        let now = Instant::now();
        for i in 0..(MAX_ENTRIES as u32 + 10) {
            counters.count_failure(i, now + Duration::from_nanos(u64::from(i)));
        }
        assert!(counters.entries.len() <= MAX_ENTRIES);
        assert!(counters.entries.len() > MAX_ENTRIES - 2 * EVICT_BATCH);
        assert!(
            !counters.entries.contains_key(&0),
            "the least recently seen entries gave way"
        );
        assert!(counters.entries.contains_key(&(MAX_ENTRIES as u32 + 9)));
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(4)), 4);
    }
}
