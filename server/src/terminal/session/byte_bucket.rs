//! The output pump's pace: a bytes-per-second token bucket that makes the pump wait rather than
//! drop output.

use std::time::Duration;

use tokio::time::Instant;

/// Bytes-per-second token bucket of the output pump (waits instead of refusing).
pub(super) struct ByteBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl ByteBucket {
    pub(super) fn new(rate: u64) -> ByteBucket {
        let rate = rate as f64;
        ByteBucket {
            rate,
            burst: rate,
            tokens: rate,
            last: Instant::now(),
        }
    }

    /// How long to wait before `n` bytes may pass (they are accounted for now).
    pub(super) fn take(&mut self, n: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_bucket_pauses_beyond_the_rate() {
        let start = Instant::now();
        let mut b = ByteBucket::new(1000);
        b.last = start;
        assert_eq!(b.take(1000, start), Duration::ZERO);
        let wait = b.take(500, start);
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        // After the wait the debt is paid.
        assert_eq!(
            b.take(0, start + Duration::from_millis(500)),
            Duration::ZERO
        );
    }
}
