//! How a failed reconcile is retried: the error's class decides.
//!
//! - a user error (invalid spec, a reference to something that does not exist) waits for a
//!   change to the object: retrying cannot help;
//! - a transient error (API server or provider unreachable, a 5xx) backs off exponentially
//!   with full jitter, per object, reset on success;
//! - throttling (Dokploy's 401-after-successes, or a 429) waits the long interval, so an
//!   exhausted key is not hammered.

use rand::Rng;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The three ways a failure is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryClass {
    /// Wait for the user to change the object.
    User,
    /// Back off with jitter and retry.
    Transient,
    /// Wait the long throttle interval.
    Throttled,
}

/// Backoff settings.
#[derive(Clone, Copy, Debug)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub max: Duration,
    pub throttle: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
            throttle: Duration::from_secs(600),
        }
    }
}

/// What to do after a failure: `None` means wait for a change.
pub fn next_delay(policy: &BackoffPolicy, class: RetryClass, failures: u32, jitter: f64) -> Option<Duration> {
    match class {
        RetryClass::User => None,
        RetryClass::Throttled => Some(policy.throttle),
        RetryClass::Transient => {
            let exp = policy
                .base
                .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(20)));
            let cap = exp.min(policy.max);
            // Full jitter, but never below the base: a tight loop helps nobody.
            let jittered = cap.mul_f64(jitter.clamp(0.0, 1.0));
            Some(jittered.max(policy.base))
        }
    }
}

/// Failure counts per object, so consecutive failures back off further.
#[derive(Debug, Default)]
pub struct FailureCounts {
    counts: Mutex<HashMap<String, u32>>,
}

impl FailureCounts {
    /// Record a failure of `key` and return how many in a row.
    pub fn failed(&self, key: &str) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    pub fn succeeded(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(key);
    }

    /// The delay for the next attempt after a failure of `key`.
    pub fn delay(&self, policy: &BackoffPolicy, class: RetryClass, key: &str) -> Option<Duration> {
        let failures = self.failed(key);
        next_delay(policy, class, failures, rand::rng().random::<f64>())
    }
}

/// A requeue interval with ±10 % jitter, so resources created together do not poll together.
pub fn jittered(interval: Duration) -> Duration {
    let factor = 0.9 + rand::rng().random::<f64>() * 0.2;
    interval.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_errors_wait_for_a_change() {
        assert_eq!(
            next_delay(&BackoffPolicy::default(), RetryClass::User, 5, 0.5),
            None
        );
    }

    #[test]
    fn throttling_waits_the_long_interval() {
        let p = BackoffPolicy::default();
        assert_eq!(next_delay(&p, RetryClass::Throttled, 1, 0.0), Some(p.throttle));
    }

    #[test]
    fn transient_errors_back_off_exponentially_within_bounds() {
        let p = BackoffPolicy::default();
        let full = |n| next_delay(&p, RetryClass::Transient, n, 1.0);
        assert_eq!(full(1), Some(Duration::from_secs(2)));
        assert_eq!(full(2), Some(Duration::from_secs(4)));
        assert_eq!(full(5), Some(Duration::from_secs(32)));
        assert_eq!(full(30), Some(p.max), "capped");
        // Jitter spreads the delay, never below the base.
        assert_eq!(
            next_delay(&p, RetryClass::Transient, 5, 0.5),
            Some(Duration::from_secs(16))
        );
        assert_eq!(next_delay(&p, RetryClass::Transient, 5, 0.0), Some(p.base));
    }

    #[test]
    fn failure_counts_reset_on_success() {
        let c = FailureCounts::default();
        assert_eq!(c.failed("ns/a"), 1);
        assert_eq!(c.failed("ns/a"), 2);
        assert_eq!(c.failed("ns/b"), 1);
        c.succeeded("ns/a");
        assert_eq!(c.failed("ns/a"), 1);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(100));
            assert!(
                d >= Duration::from_secs(90) && d <= Duration::from_secs(110),
                "{d:?}"
            );
        }
    }
}
