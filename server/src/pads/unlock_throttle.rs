//! Unlock throttling (being written).
#[derive(Clone, Default)]
pub struct UnlockThrottle;
impl UnlockThrottle {
    pub fn sweep(&self, _now: std::time::Instant) {}
}
