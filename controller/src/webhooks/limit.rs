//! A rate limit per source address: a token bucket each, in bounded memory (a full table
//! forgets its longest-idle source first). Deliveries are rare; a flood from one address is
//! refused with 429 before any signature is computed or the API server is asked anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most sources tracked at once.
const MAX_SOURCES: usize = 4096;

/// Requests per second and burst, per source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            per_second: 10.0,
            burst: 50.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-source buckets.
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        RateLimiter {
            rate,
            buckets: Mutex::default(),
        }
    }

    /// Take one token for `source` at `now`: `Ok`, or how long until the next one.
    pub fn take(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(&source) {
            let idlest = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| *k);
            if let Some(k) = idlest {
                buckets.remove(&k);
            }
        }
        let rate = self.rate;
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate.per_second.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait.min(3600.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_has_its_own_bucket() {
        let limiter = RateLimiter::new(Rate {
            per_second: 1.0,
            burst: 2.0,
        });
        let now = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(limiter.take(a, now).is_ok() && limiter.take(a, now).is_ok());
        let wait = limiter.take(a, now).expect_err("burst spent");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limiter.take(b, now).is_ok(), "another source is not limited");
        assert!(limiter.take(a, now + Duration::from_secs(1)).is_ok(), "refilled");
    }
}
