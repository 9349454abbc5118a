//! Per-user budgets of the two expensive playback requests, export and state-at-t, on
//! `governor`'s keyed GCRA limiters like the per-IP limits in `http::rate_limit`. Keyed by user,
//! not address: both need a signed-in member, and one account must not be able to keep the
//! database busy for everyone else from many addresses.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::settings::RecordingSettings;
use crate::db::UserId;
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct UserLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<UserId>>,
}

impl UserLimiter {
    pub fn per_minute(count: u32) -> Self {
        let count = NonZeroU32::new(count.max(1)).expect("max(1) is non-zero");
        UserLimiter {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(count))),
        }
    }

    /// 429 with the seconds to wait when the user is over budget.
    pub fn check(&self, user: UserId) -> AppResult<()> {
        self.limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }

    /// Drop idle users' buckets so memory stays bounded.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The playback budgets (`RECORDING_EXPORTS_PER_MINUTE`, `RECORDING_STATES_PER_MINUTE`).
#[derive(Clone)]
pub struct PlaybackLimits {
    pub exports: UserLimiter,
    pub states: UserLimiter,
    /// `RECORDING_STATE_MAX_BYTES`.
    pub state_max_bytes: u64,
}

impl PlaybackLimits {
    pub fn new(settings: &RecordingSettings) -> Self {
        PlaybackLimits {
            exports: UserLimiter::per_minute(settings.exports_per_minute),
            states: UserLimiter::per_minute(settings.states_per_minute),
            state_max_bytes: settings.state_max_bytes,
        }
    }

    pub fn sweep(&self) {
        self.exports.sweep();
        self.states.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_their_own_budget() {
        let limiter = UserLimiter::per_minute(2);
        assert!(limiter.check(UserId(1)).is_ok());
        assert!(limiter.check(UserId(1)).is_ok());
        let refused = limiter.check(UserId(1)).unwrap_err();
        assert!(
            matches!(refused, AppError::RateLimited { retry_after_secs, .. } if retry_after_secs >= 1)
        );
        assert!(limiter.check(UserId(2)).is_ok());
    }
}
