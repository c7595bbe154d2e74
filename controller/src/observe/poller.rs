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
use launchplane_api::verify::target::{LastDeployment, ObservedRoute, ObservedTarget, ProviderFailure};
use launchplane_core::observation::{
    CycleCalls, ListedAs, PollSettings, ReadFacts, SharedFacts, Snapshot, TrackedTarget,
};
use launchplane_core::target::TargetFacts;
use launchplane_providers::{OrgSnapshot, Provider, ProviderError, TargetCategory};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The poller of one ProviderConfig. Per tracked target it keeps one entry, in `facts`: what
/// the last detail read saw, when, and how the listing showed the target then.
pub struct Poller {
    provider: Arc<dyn Provider>,
    settings: PollSettings,
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
        // The listing is all a poll keeps of the org-wide answers: the rest is freed here,
        // before the detail reads, and the listing takes the answers' strings over.
        let mut targets = into_observed_targets(org);
        let due: Vec<(usize, TrackedTarget)> = targets
            .iter()
            .enumerate()
            .filter_map(|(at, t)| {
                let key = (category_of(&t.category)?, t.id.clone());
                (tracked.contains(&key) && self.detail_due(&key, t, now)).then_some((at, key))
            })
            .collect();
        let mut read: Vec<(TrackedTarget, Option<ReadFacts>)> = Vec::new();
        for (at, key) in due {
            calls.detail += 1;
            match self.provider.target_detail(key.0, &key.1).await {
                Ok(detail) => {
                    let listed = &targets[at];
                    let facts = ReadFacts {
                        facts: Arc::new(TargetFacts::from(detail)),
                        read_at: now,
                        listed: ListedAs {
                            name: listed.name.clone(),
                            last_deploy_at: listed.last_deploy_at.clone(),
                        },
                    };
                    read.push((key, Some(facts)));
                }
                // Deleted between the listing and the read: the next listing will not show it.
                Err(ProviderError::NotFound { .. }) => read.push((key, None)),
                // The key is exhausted or Dokploy went away mid-cycle: keep the details we
                // have (they age into staleness) and stop spending calls this cycle.
                Err(error) if failure_of(&error) != ProviderFailure::Other => break,
                Err(_) => {}
            }
        }
        // No await from here on: the entries and the snapshot change together.
        let forgotten = self.facts.targets().any(|key| !tracked.contains(key));
        if forgotten || !read.is_empty() {
            // Copy-on-write: lanes holding the previous map keep it unchanged.
            let shared = Arc::make_mut(&mut self.facts);
            shared.retain(|key| tracked.contains(key));
            for (key, facts) in read {
                shared.record(key, facts);
            }
        }
        let previous = self.snapshot.targets.take();
        with_details(
            &mut targets,
            &self.facts,
            previous.as_deref().map(Vec::as_slice),
            now,
        );
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
        match self.facts.entry(key) {
            None => true,
            Some(read) => {
                read.listed.last_deploy_at != listed.last_deploy_at
                    || read.listed.name != listed.name
                    || now.duration_since(read.read_at) >= self.settings.detail_interval
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

/// Give every listed target that has an entry its detail fields: type and image from the
/// facts, env key names from the previous snapshot when the entry was not read again since
/// (the same read gave them), else parsed from the raw env.
fn with_details(
    targets: &mut [ObservedTarget],
    facts: &SharedFacts,
    previous: Option<&[ObservedTarget]>,
    now: Timestamp,
) {
    let before: HashMap<&str, &BTreeSet<String>> = previous
        .unwrap_or_default()
        .iter()
        .filter_map(|t| Some((t.id.as_str(), t.env_keys.as_ref()?)))
        .collect();
    for target in targets {
        let Some(key) = category_of(&target.category).map(|c| (c, target.id.clone())) else {
            continue;
        };
        let Some(read) = facts.entry(&key) else {
            continue;
        };
        target.target_type = read.facts.source_type.clone();
        target.image = read.facts.image.clone();
        let unchanged = (read.read_at != now)
            .then(|| before.get(target.id.as_str()))
            .flatten();
        target.env_keys = Some(match unchanged {
            Some(keys) => (*keys).clone(),
            None => launchplane_providers::env_merge::keys(read.facts.env.expose())
                .into_iter()
                .collect(),
        });
    }
}

/// Every application and compose service of the org, with its domains. Other service kinds
/// (databases) cannot be ProviderTargets and are left out.
pub fn observed_targets(org: &OrgSnapshot) -> Vec<ObservedTarget> {
    into_observed_targets(OrgSnapshot {
        services: org.services.clone(),
        domains: org.domains.clone(),
        deployments: org.deployments.clone(),
    })
}

/// [`observed_targets`], taking the answers' strings over instead of copying them.
pub fn into_observed_targets(org: OrgSnapshot) -> Vec<ObservedTarget> {
    let OrgSnapshot {
        services,
        domains: listed_domains,
        deployments,
    } = org;
    // Only each target's newest deployment is kept (the `provider` health check reads its
    // status); the rest is freed before the listing is built. The listing is newest first.
    let mut last_deployments: HashMap<String, LastDeployment> = HashMap::new();
    for deployment in deployments {
        let Some(service) = deployment.service_id else {
            continue;
        };
        last_deployments.entry(service).or_insert_with(|| LastDeployment {
            id: deployment.deployment_id,
            status: deployment_status_text(deployment.status),
            at: deployment.finished_at.or(deployment.created_at),
        });
    }
    let mut domains: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut routes: HashMap<String, Vec<ObservedRoute>> = HashMap::new();
    // A disabled domain (domain.toggleEnable, `enabled: false`) routes nothing: not present.
    for domain in listed_domains.into_iter().filter(|d| d.enabled != Some(false)) {
        if let Some(owner) = domain.service_owner_id {
            routes.entry(owner.clone()).or_default().push(ObservedRoute {
                host: domain.host.clone(),
                https: domain.https,
                path: domain.path,
            });
            domains.entry(owner).or_default().insert(domain.host);
        }
    }
    services
        .into_iter()
        .filter_map(|service| {
            let category = service.category.target()?;
            Some(ObservedTarget {
                // A service is listed once, so its domains are taken, not copied.
                domains: domains.remove(&service.id).unwrap_or_default(),
                routes: routes.remove(&service.id).unwrap_or_default(),
                last_deployment: last_deployments.remove(&service.id),
                id: service.id,
                category: category.as_str().to_string(),
                name: service.name.unwrap_or_default(),
                status: service.status.map(status_text),
                project: service.project_name,
                environment: service.environment_name,
                last_deploy_at: service.last_deploy_at,
                target_type: None,
                image: None,
                env_keys: None,
            })
        })
        .collect()
}

fn deployment_status_text(status: launchplane_providers::DeploymentStatus) -> String {
    use launchplane_providers::DeploymentStatus as D;
    match status {
        D::Running => "running".into(),
        D::Done => "done".into(),
        D::Error => "error".into(),
        D::Cancelled => "cancelled".into(),
        D::Other(other) => other,
    }
}

fn status_text(status: launchplane_providers::ServiceStatus) -> String {
    use launchplane_providers::ServiceStatus as S;
    match status {
        S::Idle => "idle".into(),
        S::Running => "running".into(),
        S::Done => "done".into(),
        S::Error => "error".into(),
        S::Other(other) => other,
    }
}

#[cfg(test)]
mod tests;
