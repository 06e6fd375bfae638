//! Retry delays: exponential with jitter, so a burst of failures does not retry in lockstep.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry; each later retry doubles it.
    pub base: Duration,
    /// Ceiling for any single delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 10s, 20s, 40s, 80s, ... capped at 1h, each ±25% jitter.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// Delay after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max);
        let jitter = rand::thread_rng().gen_range(0.75..=1.25);
        raw.mul_f64(jitter).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps_with_jitter() {
        let b = Backoff::default();
        for attempt in 1..40 {
            let d = b.delay(attempt);
            let nominal = (10.0 * 2f64.powi(attempt as i32 - 1)).min(3600.0);
            assert!(
                d.as_secs_f64() >= (nominal * 0.75).min(3600.0) - 0.001,
                "{attempt}: {d:?}"
            );
            assert!(d <= b.max);
        }
    }
}
