//! Bounded retries with exponential backoff and full jitter, for idempotent reads only.
//!
//! The client calls [`RetryPolicy::run`] for GET routes and never for POST routes: a mutation
//! that timed out may have been applied, and a repeated `application.deploy` would queue a second
//! deploy. Only [`ProviderError::is_retryable`] errors (transport failures, 5xx) are retried;
//! throttling goes back to the controller, whose backoff is measured in poll intervals.
//!
//! Full jitter (a uniform delay in `[0, min(max_delay, base_delay · 2^n)]`) spreads the retries of
//! many reconcilers that failed together, instead of having them retry in lock step.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::errors::Result;

/// How often and how patiently to retry an idempotent read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Ceiling of the first backoff.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff ceiling before retry number `retry` (0-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A full-jitter delay before retry number `retry`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return ceiling;
        }
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// Run `attempt` until it succeeds, fails with a non-retryable error, or attempts run out.
    /// `attempt` receives the 1-based attempt number.
    pub async fn run<T, F, Fut>(&self, route: &'static str, mut attempt: F) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let attempts = self.max_attempts.max(1);
        let mut n = 1;
        loop {
            match attempt(n).await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && n < attempts => {
                    let delay = self.delay(n - 1);
                    tracing::debug!(
                        route,
                        attempt = n,
                        kind = e.kind(),
                        delay_ms = delay.as_millis() as u64,
                        "retrying read"
                    );
                    tokio::time::sleep(delay).await;
                    n += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::errors::ProviderError;

    #[test]
    fn ceilings_grow_exponentially_and_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(p.ceiling(0), Duration::from_millis(100));
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(800));
        assert_eq!(p.ceiling(4), Duration::from_secs(1));
        assert_eq!(p.ceiling(400), Duration::from_secs(1));
        for r in 0..10 {
            assert!(p.delay(r) <= p.ceiling(r));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_only_retryable_errors_and_stops_at_max() {
        let p = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let r: Result<()> = p
            .run("application.one", |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::Server {
                    route: "application.one",
                    status: 500,
                    reason: "x".into(),
                })
            })
            .await;
        assert!(matches!(r, Err(ProviderError::Server { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let r: Result<()> = p
            .run("application.one", |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::NotFound {
                    route: "application.one",
                    reason: "gone".into(),
                })
            })
            .await;
        assert!(matches!(r, Err(ProviderError::NotFound { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        calls.store(0, Ordering::SeqCst);
        let r = p
            .run("application.one", |n| async move {
                if n < 2 {
                    Err(ProviderError::Unreachable {
                        route: "application.one",
                        reason: "timeout".into(),
                    })
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(r, Ok(2));
    }
}
