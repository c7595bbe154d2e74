//! A deadline shared by every client of one caller: past it no call is sent, and a call in
//! flight is abandoned when it arrives.
//!
//! Standalone mode sets one per round (`launchplane reconcile --timeout`), so a Dokploy that
//! never answers cannot hold a `--once` run for longer than the round's budget however many
//! lanes and previews want to read it. Per-request timeouts and retries alone bound each call,
//! not their sum. The cluster controller sets none: its polls back off on their own.
//!
//! An abandoned call is like a request timeout: a mutation may or may not have been applied,
//! and callers already treat it so (a deploy is followed by its title).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A settable deadline; clones share it. Unset (the default) means no deadline.
#[derive(Clone, Debug, Default)]
pub struct Deadline(Arc<Mutex<Option<Instant>>>);

impl Deadline {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the deadline `budget` from now.
    pub fn start(&self, budget: Duration) {
        self.set(Some(Instant::now() + budget));
    }

    pub fn set(&self, at: Option<Instant>) {
        // A poisoned lock only means a panic elsewhere while it was held; the value is a
        // plain `Option<Instant>` and still meaningful.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn get(&self) -> Option<Instant> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Time left before the deadline: `None` without one, zero once it passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.get().map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn passed(&self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_deadline() {
        let deadline = Deadline::new();
        assert_eq!(deadline.remaining(), None);
        assert!(!deadline.passed());
        let shared = deadline.clone();
        deadline.start(Duration::from_secs(10));
        assert_eq!(shared.remaining(), Some(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(shared.passed());
        deadline.set(None);
        assert!(!shared.passed());
    }
}
