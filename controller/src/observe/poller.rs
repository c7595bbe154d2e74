//! The shared observation of one ProviderConfig.
//!
//! One poll makes the org-wide calls once (`overview.services`, `overview.domains`,
//! `deployment.allCentralized`, all inside [`Provider::observe_org`]) and reads a target's
//! detail (`application.one` / `compose.one`) only when that target is tracked by some
//! ProviderTarget and its detail is missing, older than the detail interval, or the org-wide
//! listing shows it changed since the detail was read. Every ProviderTarget of the config is
//! verified against the resulting [`Snapshot`]; none of them makes a call of its own.
//!
//! The same detail reads also give each tracked target's image and raw env ([`SharedFacts`]):
//! lane drivers take them from here instead of reading `application.one` themselves, so N
//! lanes of one config cost no detail calls beyond the poller's own. The raw env is a
//! [`SecretString`](launchplane_providers::SecretString): never serialized, redacted in `Debug`.
//!
//! The poller is plain state plus one async method, so the kube controller, standalone mode
//! and the benchmarks drive it the same way and tests can count its calls.

use jiff::Timestamp;
use launchplane_api::verify::target::{ObservedTarget, ProviderFailure};
use launchplane_core::observation::{
    CycleCalls, PollSettings, ReadFacts, SharedFacts, Snapshot, TrackedTarget,
};
use launchplane_core::target::TargetFacts;
use launchplane_providers::{OrgSnapshot, Provider, ProviderError, TargetCategory, TargetDetail};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The detail read of one target, minus anything secret.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DetailEntry {
    fetched_at: Timestamp,
    /// The org-wide fields at the time of the read; a change means the detail is out of date.
    seen_last_deploy_at: Option<String>,
    seen_name: String,
    target_type: Option<String>,
    image: Option<String>,
    env_keys: BTreeSet<String>,
}

/// The poller of one ProviderConfig.
pub struct Poller {
    provider: Arc<dyn Provider>,
    settings: PollSettings,
    details: HashMap<TrackedTarget, DetailEntry>,
    snapshot: Snapshot,
    facts: Arc<SharedFacts>,
}

/// Map a provider error to the failure a verdict reports.
pub fn failure_of(error: &ProviderError) -> ProviderFailure {
    match error {
        ProviderError::Unreachable { .. } => ProviderFailure::Unreachable,
        ProviderError::Unauthorized { .. } => ProviderFailure::Unauthorized,
        ProviderError::Throttled { .. } => ProviderFailure::Throttled,
        ProviderError::DeadlinePassed { .. } => ProviderFailure::DeadlinePassed,
        _ => ProviderFailure::Other,
    }
}

impl Poller {
    pub fn new(provider: Arc<dyn Provider>, settings: PollSettings) -> Self {
        Poller {
            provider,
            settings,
            details: HashMap::new(),
            snapshot: Snapshot::default(),
            facts: Arc::default(),
        }
    }

    pub fn settings(&self) -> &PollSettings {
        &self.settings
    }

    /// Settings change when the ProviderConfig is edited; details already read stay valid.
    pub fn set_settings(&mut self, settings: PollSettings) {
        self.settings = settings;
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The image and raw env of every tracked target whose detail was read, with the time of
    /// the read. Lanes use them instead of reading the target themselves while they are fresh.
    pub fn facts(&self) -> Arc<SharedFacts> {
        self.facts.clone()
    }

    /// The client this poller reads through (lanes deploy through the same one).
    pub fn provider(&self) -> Arc<dyn Provider> {
        self.provider.clone()
    }

    /// One poll cycle. `tracked` are the targets ProviderTargets are bound to; details of
    /// targets no longer tracked are forgotten.
    pub async fn poll(&mut self, tracked: &BTreeSet<TrackedTarget>, now: Timestamp) -> &Snapshot {
        let mut calls = CycleCalls::default();
        if self.snapshot.version.is_none() || self.snapshot.last_failure.is_some() {
            calls.org_wide += 1;
            match self.provider.version().await {
                Ok(version) => self.snapshot.version = Some(version),
                Err(error) => return self.fail(&error, calls, now),
            }
        }
        calls.org_wide += 1;
        let org = match self.provider.observe_org().await {
            Ok(org) => org,
            Err(error) => return self.fail(&error, calls, now),
        };
        let mut targets = observed_targets(&org);
        self.details.retain(|key, _| tracked.contains(key));
        let mut read: Vec<(TrackedTarget, Option<ReadFacts>)> = Vec::new();

        let due: Vec<TrackedTarget> = targets
            .iter()
            .filter_map(|t| {
                let key = (category_of(&t.category)?, t.id.clone());
                (tracked.contains(&key) && self.detail_due(&key, t, now)).then_some(key)
            })
            .collect();
        for key in due {
            calls.detail += 1;
            match self.provider.target_detail(key.0, &key.1).await {
                Ok(detail) => {
                    let Some(listed) = targets.iter().find(|t| t.id == key.1) else {
                        continue;
                    };
                    let entry = detail_entry(&detail, listed, now);
                    self.details.insert(key.clone(), entry);
                    let facts = TargetFacts::from(detail);
                    read.push((
                        key,
                        Some(ReadFacts {
                            facts: Arc::new(facts),
                            read_at: now,
                        }),
                    ));
                }
                // Deleted between the listing and the read: the next listing will not show it.
                Err(ProviderError::NotFound { .. }) => {
                    self.details.remove(&key);
                    read.push((key, None));
                }
                // The key is exhausted or Dokploy went away mid-cycle: keep the details we
                // have (they age into staleness) and stop spending calls this cycle.
                Err(error) if failure_of(&error) != ProviderFailure::Other => break,
                Err(_) => {}
            }
        }
        let forgotten = self.facts.targets().any(|key| !self.details.contains_key(key));
        if forgotten || !read.is_empty() {
            // Copy-on-write: lanes holding the previous map keep it unchanged.
            let shared = Arc::make_mut(&mut self.facts);
            shared.retain(|key| self.details.contains_key(key));
            for (key, facts) in read {
                shared.record(key, facts);
            }
        }
        for target in &mut targets {
            let Some(key) = category_of(&target.category).map(|c| (c, target.id.clone())) else {
                continue;
            };
            if let Some(entry) = self.details.get(&key) {
                target.target_type = entry.target_type.clone();
                target.image = entry.image.clone();
                target.env_keys = Some(entry.env_keys.clone());
            }
        }
        self.snapshot = Snapshot {
            targets: Some(Arc::new(targets)),
            observed_at: Some(now),
            last_failure: None,
            last_poll_at: Some(now),
            version: self.snapshot.version.take(),
            last_cycle: calls,
        };
        &self.snapshot
    }

    fn detail_due(&self, key: &TrackedTarget, listed: &ObservedTarget, now: Timestamp) -> bool {
        match self.details.get(key) {
            None => true,
            Some(entry) => {
                entry.seen_last_deploy_at != listed.last_deploy_at
                    || entry.seen_name != listed.name
                    || now.duration_since(entry.fetched_at) >= self.settings.detail_interval
            }
        }
    }

    fn fail(&mut self, error: &ProviderError, calls: CycleCalls, now: Timestamp) -> &Snapshot {
        // Keep the last good targets: verdicts report the failure now and staleness later,
        // and the next success needs no re-read of details that are still fresh.
        self.snapshot.last_failure = Some((failure_of(error), error.to_string()));
        self.snapshot.last_poll_at = Some(now);
        self.snapshot.last_cycle = calls;
        if failure_of(error) == ProviderFailure::Unreachable {
            self.snapshot.version = None;
        }
        &self.snapshot
    }
}

fn category_of(category: &str) -> Option<TargetCategory> {
    match category {
        "application" => Some(TargetCategory::Application),
        "compose" => Some(TargetCategory::Compose),
        _ => None,
    }
}

fn detail_entry(detail: &TargetDetail, listed: &ObservedTarget, now: Timestamp) -> DetailEntry {
    DetailEntry {
        fetched_at: now,
        seen_last_deploy_at: listed.last_deploy_at.clone(),
        seen_name: listed.name.clone(),
        target_type: detail.source_type.clone(),
        image: detail.image.clone(),
        env_keys: detail.env_keys().into_iter().collect(),
    }
}

/// Every application and compose service of the org, with its domains. Other service kinds
/// (databases) cannot be ProviderTargets and are left out.
pub fn observed_targets(org: &OrgSnapshot) -> Vec<ObservedTarget> {
    let mut domains: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // A disabled domain (domain.toggleEnable, `enabled: false`) routes nothing: not present.
    for domain in org.domains.iter().filter(|d| d.enabled != Some(false)) {
        if let Some(owner) = domain.service_owner_id.as_deref() {
            domains.entry(owner).or_default().insert(domain.host.clone());
        }
    }
    org.services
        .iter()
        .filter_map(|service| {
            let category = service.category.target()?;
            Some(ObservedTarget {
                id: service.id.clone(),
                category: category.as_str().to_string(),
                name: service.name.clone().unwrap_or_default(),
                status: service.status.as_ref().map(status_text),
                project: service.project_name.clone(),
                environment: service.environment_name.clone(),
                domains: domains.get(service.id.as_str()).cloned().unwrap_or_default(),
                last_deploy_at: service.last_deploy_at.clone(),
                target_type: None,
                image: None,
                env_keys: None,
            })
        })
        .collect()
}

fn status_text(status: &launchplane_providers::ServiceStatus) -> String {
    use launchplane_providers::ServiceStatus as S;
    match status {
        S::Idle => "idle".into(),
        S::Running => "running".into(),
        S::Done => "done".into(),
        S::Error => "error".into(),
        S::Other(other) => other.clone(),
    }
}

#[cfg(test)]
mod tests;
