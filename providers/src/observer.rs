//! A hook for call metrics, so the controller can count Dokploy calls (Prometheus) without this
//! crate depending on a metrics library.

use std::time::Duration;

/// Told about every HTTP attempt (each retry counts), after it finishes.
///
/// `route` is the Dokploy procedure (`application.one`); `outcome` is `"ok"` or a
/// [`crate::ProviderError::kind`] (`"unreachable"`, `"throttled"`, …); `elapsed` excludes time
/// spent waiting for the rate limiter. Implementations must be cheap and must not block.
pub trait CallObserver: Send + Sync {
    fn observe(&self, route: &str, outcome: &str, elapsed: Duration);
}

/// The default observer: does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn observe(&self, _route: &str, _outcome: &str, _elapsed: Duration) {}
}
