//! ProviderTarget: bind, adopt and compare against the shared observation.

use super::Outcome;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, Aspect, Progress, types};
use launchplane_api::resources::{
    ProviderTarget, ProviderTargetSpec, ProviderTargetStatus, TargetCategory, TargetObservation,
};
use launchplane_api::verdict::Verdict;
use launchplane_api::verify::target::{
    Claim, DesiredTarget, ListingHistory, ObservationWindow, ObservedTarget, reasons,
    verify_target_with_history,
};
use std::collections::HashMap;

/// What verification compares, from the spec.
pub fn desired(spec: &ProviderTargetSpec) -> DesiredTarget {
    DesiredTarget {
        category: spec.target_category.as_str().to_string(),
        target_id: spec.target_id.clone().filter(|id| !id.is_empty()),
        display_name: spec.display_name.clone(),
        target_type: spec.provider_target_type.clone(),
        project: spec.project.clone(),
        environment: spec.environment.clone(),
        domains: spec.domains.iter().cloned().collect(),
    }
}

/// The id a ProviderTarget claims: its spec's, else the one an earlier adoption recorded.
pub fn claimed_id(target: &ProviderTarget) -> Option<String> {
    target
        .spec
        .target_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| target.status.as_ref().and_then(|s| s.bound_target_id.clone()))
}

/// The provider crate's category for the API's.
pub fn provider_category(category: TargetCategory) -> launchplane_providers::TargetCategory {
    match category {
        TargetCategory::Application => launchplane_providers::TargetCategory::Application,
        TargetCategory::Compose => launchplane_providers::TargetCategory::Compose,
    }
}

/// The target a ProviderTarget claims, as the poller tracks it.
pub fn tracked_target(target: &ProviderTarget) -> Option<(launchplane_providers::TargetCategory, String)> {
    Some((
        provider_category(target.spec.target_category),
        claimed_id(target)?,
    ))
}

/// `namespace/name` of a ProviderTarget, as claims name their owner.
pub fn key(target: &ProviderTarget) -> String {
    format!(
        "{}/{}",
        target.metadata.namespace.as_deref().unwrap_or("default"),
        target.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The claims of every *other* ProviderTarget of the same ProviderConfig as `me`.
///
/// When `me` already claims an id, only the claims on that id are returned: verification
/// looks at no other (a target bound by id is compared with that id only). Every target of a
/// config calls this once per poll, so it allocates nothing for the targets it skips; at
/// 10,000 targets the N² scan would otherwise dominate the controller's CPU.
pub fn claims_against<'a>(
    me: &ProviderTarget,
    all: impl IntoIterator<Item = &'a ProviderTarget>,
) -> Vec<Claim> {
    let my_config = &me.spec.provider_config_ref.name;
    let my_namespace = me.metadata.namespace.as_deref();
    let my_name = me.metadata.name.as_deref();
    let my_id = claimed_id_ref(me);
    all.into_iter()
        .filter(|other| {
            other.spec.provider_config_ref.name == *my_config
                && other.metadata.namespace.as_deref() == my_namespace
                && other.metadata.name.as_deref() != my_name
                && other.metadata.deletion_timestamp.is_none()
        })
        .filter_map(|other| {
            let id = claimed_id_ref(other)?;
            if my_id.is_some_and(|mine| mine != id) {
                return None;
            }
            Some(Claim {
                owner: key(other),
                target_id: id.to_string(),
            })
        })
        .collect()
}

/// [`claimed_id`] without the allocation.
fn claimed_id_ref(target: &ProviderTarget) -> Option<&str> {
    target
        .spec
        .target_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .or_else(|| target.status.as_ref().and_then(|s| s.bound_target_id.as_deref()))
}

/// Who claims which id among the ProviderTargets of one ProviderConfig, built once per poll,
/// so each target finds its rivals without scanning every other target: the per-target scan
/// of [`claims_against`] makes a poll cycle quadratic in the number of targets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimIndex {
    /// id → `namespace/name` of every target claiming it.
    by_id: HashMap<String, Vec<String>>,
}

impl ClaimIndex {
    /// Index `targets`, which the caller has limited to one ProviderConfig.
    pub fn build<'a>(targets: impl IntoIterator<Item = &'a ProviderTarget>) -> Self {
        let mut by_id: HashMap<String, Vec<String>> = HashMap::new();
        for target in targets {
            if target.metadata.deletion_timestamp.is_some() {
                continue;
            }
            if let Some(id) = claimed_id_ref(target) {
                by_id.entry(id.to_string()).or_default().push(key(target));
            }
        }
        ClaimIndex { by_id }
    }

    /// The claims of targets other than `me` that verification needs: those on `me`'s id, or
    /// every claim while `me` is still to be adopted by name (it may adopt any id).
    pub fn claims_for(&self, me: &ProviderTarget) -> Vec<Claim> {
        let my_key = key(me);
        let claims = |id: &str, owners: &[String]| {
            owners
                .iter()
                .filter(|owner| **owner != my_key)
                .map(|owner| Claim {
                    owner: owner.clone(),
                    target_id: id.to_string(),
                })
                .collect::<Vec<_>>()
        };
        match claimed_id_ref(me) {
            Some(id) => self
                .by_id
                .get(id)
                .map(|owners| claims(id, owners))
                .unwrap_or_default(),
            None => self
                .by_id
                .iter()
                .flat_map(|(id, owners)| claims(id, owners))
                .collect(),
        }
    }
}

/// Compute a ProviderTarget's status.
pub fn reconcile(
    target: &ProviderTarget,
    window: &ObservationWindow<'_>,
    claims: &[Claim],
    now: Timestamp,
) -> Outcome<ProviderTargetStatus> {
    let old = target.status.clone().unwrap_or_default();
    let bound = old.bound_target_id.as_deref();
    let history = ListingHistory {
        seen_id: old.observed.as_ref().and_then(|o| o.target_id.as_deref()),
        first_absent_at: old.first_absent_time.as_ref().map(|t| t.0),
    };
    let v = verify_target_with_history(&desired(&target.spec), bound, &history, claims, window, now);

    let progress = if v.verdict == Verdict::Unchecked {
        Progress::Reconciling {
            reason: reasons::NOT_OBSERVED_YET.into(),
            message: v.message.clone(),
        }
    } else {
        Progress::Settled
    };
    let aspects = [Aspect::required(
        types::TARGET_VERIFIED,
        v.verdict,
        v.message.clone(),
    )];
    let computed = conditions::compute(
        &old.conditions,
        &aspects,
        &progress,
        target.metadata.generation,
        now,
    );

    // When the provider cannot be read, the last observation stays as the last known facts;
    // lastObservedTime says how old they are.
    let (observed, last_observed_time) = match &v.observed {
        Some(o) => (Some(observation(o)), window.observed_at.map(Time)),
        None if v.verdict == Verdict::Unverifiable || v.verdict == Verdict::Unchecked => {
            (old.observed.clone(), old.last_observed_time.clone())
        }
        None => (None, window.observed_at.map(Time)),
    };
    // An adoption is kept through outages; a name that now matches nothing drops it only
    // when the spec never named an id and nothing was bound (verify keeps a known id).
    let bound_target_id = v.bound_target_id.clone().or_else(|| {
        matches!(v.verdict, Verdict::Unverifiable | Verdict::Unchecked)
            .then(|| old.bound_target_id.clone())
            .flatten()
    });
    Outcome {
        status: ProviderTargetStatus {
            observed_generation: target.metadata.generation,
            verdict: Some(computed.verdict),
            reason: Some(v.reason.to_string()),
            message: Some(v.message),
            conditions: computed.conditions,
            bound_target_id,
            observed,
            mismatches: v.mismatches,
            last_observed_time,
            first_absent_time: v.first_absent_at.map(Time),
        },
        transitions: computed.transitions,
    }
}

fn observation(o: &ObservedTarget) -> TargetObservation {
    TargetObservation {
        target_id: Some(o.id.clone()),
        display_name: Some(o.name.clone()),
        category: Some(o.category.clone()),
        target_type: o.target_type.clone(),
        status: o.status.clone(),
        project: o.project.clone(),
        environment: o.environment.clone(),
        domains: o.domains.iter().cloned().collect(),
        env_keys: o.env_keys.iter().flatten().cloned().collect(),
        image: o.image.clone(),
        last_deploy_at: o
            .last_deploy_at
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(Time),
    }
}

/// Why there is no snapshot to verify against.
#[derive(Clone, Copy, Debug)]
pub enum ConfigState<'a> {
    /// No ProviderConfig of that name in the target's namespace: the user must fix the ref.
    NotFound(&'a str),
    /// The config is Ready (an earlier run observed Dokploy through it), but this controller
    /// has not polled it yet (it just restarted): nothing was compared, so the target is
    /// Unchecked, not Unverifiable, and no Incident's openAfter clock starts on a restart.
    NotPolledYet(&'a str),
    /// The config exists but has no working client: not Ready, or no status yet (its API key
    /// cannot be read, Dokploy cannot be reached, or its first poll is pending).
    NotReady(&'a str),
}

/// The status of a target that cannot be verified because its config is unavailable. Facts
/// observed earlier are kept: they are the last known truth, and lastObservedTime dates them.
pub fn config_unavailable(
    target: &ProviderTarget,
    state: ConfigState<'_>,
    now: Timestamp,
) -> Outcome<ProviderTargetStatus> {
    let old = target.status.clone().unwrap_or_default();
    let namespace = target.metadata.namespace.clone().unwrap_or_default();
    let (reason, message, progress) = match state {
        ConfigState::NotFound(name) => {
            let message = format!(
                "ProviderConfig {namespace}/{name} does not exist; create it or fix spec.providerConfigRef"
            );
            let progress = Progress::Stalled {
                reason: "ProviderConfigNotFound".into(),
                message: message.clone(),
            };
            ("ProviderConfigNotFound", message, progress)
        }
        ConfigState::NotPolledYet(name) => {
            let message = format!(
                "ProviderConfig {namespace}/{name} is Ready, and this controller has not polled it yet \
                 (it just started); the target is compared at its first poll"
            );
            let progress = Progress::Reconciling {
                reason: "ProviderConfigNotPolled".into(),
                message: message.clone(),
            };
            ("ProviderConfigNotPolled", message, progress)
        }
        ConfigState::NotReady(name) => {
            let message =
                format!("ProviderConfig {namespace}/{name} has not observed Dokploy yet; see its status");
            let progress = Progress::Reconciling {
                reason: "ProviderConfigNotReady".into(),
                message: message.clone(),
            };
            ("ProviderConfigNotReady", message, progress)
        }
    };
    let verdict = match state {
        ConfigState::NotPolledYet(_) => Verdict::Unchecked,
        _ => Verdict::Unverifiable,
    };
    let aspects = [Aspect::required(types::TARGET_VERIFIED, verdict, message.clone())];
    let computed = conditions::compute(
        &old.conditions,
        &aspects,
        &progress,
        target.metadata.generation,
        now,
    );
    Outcome {
        status: ProviderTargetStatus {
            observed_generation: target.metadata.generation,
            verdict: Some(computed.verdict),
            reason: Some(reason.to_string()),
            message: Some(message),
            conditions: computed.conditions,
            bound_target_id: old.bound_target_id,
            observed: old.observed,
            mismatches: Vec::new(),
            last_observed_time: old.last_observed_time,
            first_absent_time: old.first_absent_time,
        },
        transitions: computed.transitions,
    }
}

#[cfg(test)]
mod tests;
