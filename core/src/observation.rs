//! The shared observation of one ProviderConfig, as data: the poll settings, the snapshot the
//! last polls established, and the facts (image, raw env, description, source) the detail
//! reads saw per tracked target. The poller (`launchplane::observe::poller`) fills them; the
//! reconcile core reads them.

use crate::target::TargetFacts;
use jiff::{SignedDuration, Timestamp};
use launchplane_api::resources::ProviderConfigSpec;
use launchplane_api::verify::target::{ObservationWindow, ObservedTarget, ProviderFailure};
use launchplane_providers::TargetCategory;
use std::collections::HashMap;
use std::sync::Arc;

/// How often to poll and how long observations stay trustworthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollSettings {
    pub poll_interval: SignedDuration,
    pub detail_interval: SignedDuration,
    pub stale_after_polls: u32,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            poll_interval: SignedDuration::from_secs(60),
            detail_interval: SignedDuration::from_secs(60),
            stale_after_polls: 3,
        }
    }
}

/// Poll settings from the spec (the schema bounds them; clamp anyway, the object may predate it).
pub fn poll_settings(spec: &ProviderConfigSpec) -> PollSettings {
    let secs = |s: i32| SignedDuration::from_secs(i64::from(s.max(1)));
    PollSettings {
        poll_interval: secs(spec.poll_interval_seconds),
        detail_interval: secs(spec.effective_detail_interval_seconds()),
        stale_after_polls: u32::try_from(spec.stale_after_polls.max(1)).unwrap_or(1),
    }
}

/// A target some ProviderTarget is bound to, so its detail is worth reading.
pub type TrackedTarget = (TargetCategory, String);

/// What the last polls established about one provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every application and compose service from the last successful org-wide poll.
    pub targets: Option<Arc<Vec<ObservedTarget>>>,
    /// When that poll completed.
    pub observed_at: Option<Timestamp>,
    /// The failure of the most recent poll, if it failed.
    pub last_failure: Option<(ProviderFailure, String)>,
    /// When the last poll (successful or not) ended.
    pub last_poll_at: Option<Timestamp>,
    /// Dokploy's version, read on first contact and again after a failure.
    pub version: Option<String>,
    /// Calls the last poll made, org-wide and detail separately.
    pub last_cycle: CycleCalls,
}

/// Calls made by one poll cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleCalls {
    /// Org-wide observation rounds (each is the three org-wide routes) plus version reads.
    pub org_wide: u32,
    pub detail: u32,
}

impl Snapshot {
    /// The view [`launchplane_api::verify::target::verify_target`] takes.
    pub fn window(&self, settings: &PollSettings) -> ObservationWindow<'_> {
        ObservationWindow {
            targets: self.targets.as_deref().map(Vec::as_slice),
            observed_at: self.observed_at,
            last_failure: self.last_failure.clone(),
            poll_interval: settings.poll_interval,
            stale_after_polls: settings.stale_after_polls,
        }
    }

    pub fn reachable(&self) -> Option<bool> {
        match &self.last_failure {
            Some((ProviderFailure::Unreachable, _)) => Some(false),
            // No answer before a deadline (or not even asked): not known either way.
            Some((ProviderFailure::DeadlinePassed, _)) => None,
            Some(_) => Some(true),
            None => self.observed_at.map(|_| true),
        }
    }

    pub fn authenticated(&self) -> Option<bool> {
        match &self.last_failure {
            Some((ProviderFailure::Unauthorized, _)) => Some(false),
            Some((ProviderFailure::Unreachable | ProviderFailure::DeadlinePassed, _)) => None,
            // A throttled key was accepted before; a 5xx says nothing against the key.
            Some(_) => self.observed_at.map(|_| true),
            None => self.observed_at.map(|_| true),
        }
    }
}

/// One target's facts (image and raw env) as a detail read saw them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadFacts {
    pub facts: Arc<TargetFacts>,
    /// When the poll that read them began (the read itself happened at or after this).
    pub read_at: Timestamp,
    /// How the org-wide listing showed the target when it was read.
    pub listed: ListedAs,
}

/// The org-wide listing's fields that move when a target changes: when they differ from
/// what they were at the read, the read is out of date and the poller reads the target again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedAs {
    pub name: String,
    pub last_deploy_at: Option<String>,
}

impl ReadFacts {
    /// Read no longer ago than `max_age` (a read stamped in the future counts as fresh).
    pub fn fresh(&self, now: Timestamp, max_age: SignedDuration) -> bool {
        now.duration_since(self.read_at) <= max_age
    }
}

/// The facts the poller's detail reads established, per tracked target: the one entry the
/// poller keeps per target (it decides from it when to read again). Shared by `Arc` with the
/// lanes; rebuilt only in polls that read or forgot a detail.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SharedFacts {
    by_target: HashMap<TrackedTarget, ReadFacts>,
}

impl SharedFacts {
    pub fn get(&self, category: TargetCategory, id: &str) -> Option<&ReadFacts> {
        self.by_target.get(&(category, id.to_string()))
    }

    /// The entry of `target`, by its key.
    pub fn entry(&self, target: &TrackedTarget) -> Option<&ReadFacts> {
        self.by_target.get(target)
    }

    pub fn len(&self) -> usize {
        self.by_target.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_target.is_empty()
    }

    /// The targets facts are held for.
    pub fn targets(&self) -> impl Iterator<Item = &TrackedTarget> {
        self.by_target.keys()
    }

    /// Keep only the targets `keep` accepts (the poller forgets targets no longer tracked).
    pub fn retain(&mut self, mut keep: impl FnMut(&TrackedTarget) -> bool) {
        self.by_target.retain(|key, _| keep(key));
    }

    /// Record what a detail read saw (`None`: the target is gone, forget it).
    pub fn record(&mut self, target: TrackedTarget, facts: Option<ReadFacts>) {
        match facts {
            Some(facts) => {
                self.by_target.insert(target, facts);
            }
            None => {
                self.by_target.remove(&target);
            }
        }
    }
}

impl std::fmt::Debug for SharedFacts {
    /// Counts only: ids are harmless, but nothing of a target's env belongs in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFacts")
            .field("targets", &self.by_target.len())
            .finish()
    }
}
