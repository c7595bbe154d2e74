//! Per-API-key token bucket, shared by every client in the process that uses the same key.
//!
//! Dokploy limits per key (better-auth's api-key plugin) and answers an exhausted key with 401,
//! so the controller must never be the one that exhausts it. Several `DokployClient`s can be
//! built for one key (one per ProviderConfig, tests, the CLI); they all draw from one bucket,
//! found in a process-wide registry keyed by the SHA-256 of the key — the key itself is never
//! stored outside its `SecretString`.
//!
//! The bucket reserves: a caller that finds it empty takes a token anyway (the count goes
//! negative) and sleeps until that token would have been refilled. Callers are therefore served
//! in arrival order and the long-run rate never exceeds `per_second`, with at most `burst` calls
//! back to back. A caller cancelled while sleeping forfeits its token (errs on the slow side).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::secret::SecretString;

/// Rate and burst for one API key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained calls per second (> 0).
    pub per_second: f64,
    /// Calls allowed back to back after an idle period (≥ 1).
    pub burst: u32,
}

impl Default for RateLimit {
    /// 5 calls/s, bursts of 10: far above what one poll needs (three org-wide calls plus a few
    /// details), far below anything that would trouble a Dokploy server.
    fn default() -> Self {
        Self {
            per_second: 5.0,
            burst: 10,
        }
    }
}

impl RateLimit {
    /// Whether the numbers make sense (finite, positive rate; burst ≥ 1).
    pub fn is_valid(&self) -> bool {
        self.per_second.is_finite() && self.per_second > 0.0 && self.burst >= 1
    }
}

#[derive(Debug)]
struct BucketState {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

/// A token bucket with reservations (see the module docs).
#[derive(Debug)]
pub struct TokenBucket {
    state: Mutex<BucketState>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            state: Mutex::new(BucketState {
                limit,
                tokens: f64::from(limit.burst),
                last: Instant::now(),
            }),
        }
    }

    /// Change rate and burst; tokens already accrued are kept up to the new burst.
    pub fn reconfigure(&self, limit: RateLimit) {
        let mut s = self.lock();
        s.limit = limit;
        s.tokens = s.tokens.min(f64::from(limit.burst));
    }

    /// The current limit.
    pub fn limit(&self) -> RateLimit {
        self.lock().limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        // The state is two numbers; a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Take one token, waiting as long as needed.
    pub async fn acquire(&self) {
        let wait = {
            let mut s = self.lock();
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
            s.tokens = (s.tokens + elapsed * s.limit.per_second).min(f64::from(s.limit.burst));
            s.last = now;
            s.tokens -= 1.0;
            (s.tokens < 0.0).then(|| Duration::from_secs_f64(-s.tokens / s.limit.per_second))
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

/// State shared by every client using one API key.
#[derive(Debug)]
pub(crate) struct KeyShared {
    pub(crate) bucket: TokenBucket,
    /// Successful calls with this key in this process (feeds the 401 → Throttled rule).
    pub(crate) successes: AtomicU64,
}

type Registry = Mutex<HashMap<[u8; 32], Weak<KeyShared>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn fingerprint(key: &SecretString) -> [u8; 32] {
    Sha256::digest(key.expose().as_bytes()).into()
}

/// The shared state for `key`, created on first use. A later client with another `limit`
/// reconfigures the shared bucket (the newest configuration wins, as when a ProviderConfig's
/// rate limit is edited).
pub(crate) fn shared_for_key(key: &SecretString, limit: RateLimit) -> Arc<KeyShared> {
    let fp = fingerprint(key);
    let mut map = registry()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.retain(|_, weak| weak.strong_count() > 0);
    if let Some(existing) = map.get(&fp).and_then(Weak::upgrade) {
        if existing.bucket.limit() != limit {
            existing.bucket.reconfigure(limit);
        }
        return existing;
    }
    let shared = Arc::new(KeyShared {
        bucket: TokenBucket::new(limit),
        successes: AtomicU64::new(0),
    });
    map.insert(fp, Arc::downgrade(&shared));
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Count-based bound: in every window [t, t + w] at most `burst + rate * w` calls pass.
    fn assert_bounded(times: &[Instant], limit: RateLimit) {
        for (i, start) in times.iter().enumerate() {
            for (j, end) in times.iter().enumerate().skip(i) {
                let w = end.duration_since(*start).as_secs_f64();
                let calls = (j - i + 1) as f64;
                let allowed = f64::from(limit.burst) + limit.per_second * w + 1e-6;
                assert!(calls <= allowed, "{calls} calls within {w}s; allowed {allowed}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_never_exceed_rate_plus_burst() {
        let limit = RateLimit {
            per_second: 10.0,
            burst: 5,
        };
        let bucket = Arc::new(TokenBucket::new(limit));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..60 {
            let b = bucket.clone();
            handles.push(tokio::spawn(async move {
                b.acquire().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap_or_else(|e| panic!("task failed: {e}")));
        }
        times.sort();
        assert_bounded(&times, limit);
        // 60 calls, 5 free: the last must wait (60 - 5) / 10 = 5.5 s, and no longer than needed.
        let total = times[times.len() - 1].duration_since(start);
        assert!(total >= Duration::from_millis(5_499), "{total:?}");
        assert!(total <= Duration::from_millis(5_600), "{total:?}");
        // The burst passed immediately.
        assert_eq!(
            times
                .iter()
                .filter(|t| t.duration_since(start) < Duration::from_millis(1))
                .count(),
            5
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refills_after_idle_but_not_beyond_burst() {
        let limit = RateLimit {
            per_second: 2.0,
            burst: 3,
        };
        let bucket = TokenBucket::new(limit);
        for _ in 0..3 {
            bucket.acquire().await;
        }
        tokio::time::sleep(Duration::from_secs(100)).await;
        let t0 = Instant::now();
        for _ in 0..4 {
            bucket.acquire().await;
        }
        // Three free, the fourth waits half a second.
        assert_eq!(Instant::now().duration_since(t0), Duration::from_millis(500));
    }

    #[test]
    fn one_bucket_per_key_fingerprint() {
        let limit = RateLimit::default();
        let a1 = shared_for_key(&SecretString::new("key-A-ratelimit-test"), limit);
        let a2 = shared_for_key(&SecretString::new("key-A-ratelimit-test"), limit);
        let b = shared_for_key(&SecretString::new("key-B-ratelimit-test"), limit);
        assert!(Arc::ptr_eq(&a1, &a2));
        assert!(!Arc::ptr_eq(&a1, &b));
        let slower = RateLimit {
            per_second: 1.0,
            burst: 1,
        };
        let a3 = shared_for_key(&SecretString::new("key-A-ratelimit-test"), slower);
        assert!(Arc::ptr_eq(&a1, &a3));
        assert_eq!(a1.bucket.limit(), slower);
        // The registry holds fingerprints, not keys.
        let map = registry()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(format!("{map:?}").find("key-A").is_none());
    }

    #[test]
    fn validity() {
        assert!(RateLimit::default().is_valid());
        assert!(
            !RateLimit {
                per_second: 0.0,
                burst: 1
            }
            .is_valid()
        );
        assert!(
            !RateLimit {
                per_second: f64::NAN,
                burst: 1
            }
            .is_valid()
        );
        assert!(
            !RateLimit {
                per_second: 1.0,
                burst: 0
            }
            .is_valid()
        );
    }
}
