//! Stage 3 of [`plan`](super::plan): judge each aspect of the lane from what resolved, what its
//! records say and what was observed now. `TargetVerified` (the ProviderTarget and the claim
//! checks), `ConfigSynced` (drift against the reference record, or a spec change to deploy),
//! `RuntimeIdentityVerified` (through the lane's RuntimeIdentity child), `Healthy` (the
//! health checks) and `Deployed` (the desired Artifact against the inventory).
//!
//! A verdict needs fresh evidence: what could not be compared is Unverifiable or Unchecked,
//! never Matched.

use super::blocker::Blockers;
use super::drift::{describe, drift, spec_changed};
use super::endpoint::endpoint;
use super::history::History;
use super::resolve::{Resolved, TargetCheck};
use super::retry;
use super::{Facts, Observed, name_of, old_conditions};
use crate::deployment_record::DeployRetryPolicy;
use crate::deployment_record::{self as record, LANE_LABEL};
use crate::health::HealthResult;
use crate::probe::ProbeTarget;
use crate::runtime_identity;
use crate::verification;
use jiff::Timestamp;
use launchplane_api::conditions::{Aspect, types};
use launchplane_api::identity::ClassificationReason;
use launchplane_api::resources::{
    DeploymentPhase, DeploymentRecord, DriftPolicy, IdentityEndpoint, IdentityFields, Lane, RuntimeIdentity,
    RuntimeIdentitySpec, VerificationCheck,
};
use launchplane_api::verdict::{FieldMismatch, Verdict};
use std::collections::BTreeMap;

/// What the aspects stage takes.
pub(super) struct Inputs<'a> {
    pub lane: &'a Lane,
    pub resolved: &'a Resolved<'a>,
    pub history: &'a History<'a>,
    pub observed: Observed<'a>,
    /// How failed attempts are retried (what `Deployed` says comes next).
    pub policy: &'a DeployRetryPolicy,
    pub now: Timestamp,
}

/// The lane's aspects, and what judging them found that the next step and the status use.
pub(super) struct Aspects {
    /// `TargetVerified`, `ConfigSynced`, `Deployed`, `RuntimeIdentityVerified`, `Healthy`: the
    /// order of the lane's conditions.
    pub list: [Aspect; 5],
    /// How the target differs from the reference record (`None`: it could not be compared).
    pub drift: Option<Vec<FieldMismatch>>,
    /// The difference is the lane's own spec change, to deploy rather than to report as drift.
    pub spec_change: bool,
    /// The lane's RuntimeIdentity child, when there is an identity to expect.
    pub child: Option<RuntimeIdentity>,
    /// `identity.*` mismatches the child's probe found.
    pub identity_mismatches: Vec<FieldMismatch>,
}

impl Aspects {
    /// Whether the running target strays from the reference record: its config or the
    /// identity it serves.
    pub fn drifted(&self) -> bool {
        self.drift.as_ref().is_some_and(|d| !d.is_empty()) || !self.identity_mismatches.is_empty()
    }
}

/// Judge every aspect of the lane.
pub(super) fn judge(input: &Inputs<'_>) -> Aspects {
    let Inputs {
        lane,
        resolved,
        history,
        observed,
        policy,
        ..
    } = *input;
    let config = config_synced(lane, resolved, history, observed.facts);
    let identity = runtime_identity(input);
    Aspects {
        list: [
            target_verified(&resolved.target_check),
            config.aspect,
            deployed(resolved, history, policy),
            identity.aspect,
            healthy(observed.health, observed.checks),
        ],
        drift: config.drift,
        spec_change: config.spec_change,
        child: identity.child,
        identity_mismatches: identity.mismatches,
    }
}

fn target_verified(check: &TargetCheck) -> Aspect {
    Aspect::required(types::TARGET_VERIFIED, check.verdict, check.message.clone())
}

/// What `ConfigSynced` found.
struct Config {
    drift: Option<Vec<FieldMismatch>>,
    spec_change: bool,
    aspect: Aspect,
}

/// The target against what the reference record deployed.
fn config_synced(lane: &Lane, resolved: &Resolved<'_>, history: &History<'_>, facts: Facts<'_>) -> Config {
    let reference = history.reference;
    let drift: Option<Vec<FieldMismatch>> = match (reference, facts) {
        (Some(r), Some(Ok(f))) => Some(drift(r, f, resolved.env, &resolved.pin)),
        _ => None,
    };
    // A difference after a spec change is desired state to deploy, not drift.
    let spec_change = reference.is_some_and(|r| spec_changed(lane, r, old_conditions(lane)))
        && drift.as_ref().is_some_and(|d| !d.is_empty());
    let aspect = match (reference, facts, &drift) {
        (None, _, _) if resolved.desired.is_some() => Aspect::required(
            types::CONFIG_SYNCED,
            Verdict::Missing,
            "nothing deployed by Launchplane yet: no verified deployment record",
        ),
        (None, _, _) => Aspect::advisory(
            types::CONFIG_SYNCED,
            Verdict::Unchecked,
            format!("{}: nothing to compare", resolved.nothing_desired()),
        ),
        // Nothing compared yet (a controller just started, before its first poll): no
        // evidence either way, so no Incident clock starts.
        (Some(_), None, _) if resolved.target_check.verdict == Verdict::Unchecked => Aspect::required(
            types::CONFIG_SYNCED,
            Verdict::Unchecked,
            format!("the target was not read yet: {}", resolved.target_check.message),
        ),
        (Some(_), None, _) => Aspect::required(
            types::CONFIG_SYNCED,
            Verdict::Unverifiable,
            "the target was not read (it is not bound to a provider id)",
        ),
        (Some(_), Some(Err(e)), _) => Aspect::required(
            types::CONFIG_SYNCED,
            Verdict::Unverifiable,
            format!("the target could not be read: {e}"),
        ),
        (Some(r), Some(Ok(_)), Some(d)) if d.is_empty() => Aspect::required(
            types::CONFIG_SYNCED,
            Verdict::Matched,
            format!(
                "image and owned env keys match deployment record {}",
                name_of(&r.metadata)
            ),
        ),
        (Some(r), Some(Ok(_)), d) => {
            let d = d.clone().unwrap_or_default();
            let what_next = drift_handling(lane, history.active.is_some(), spec_change, &resolved.blockers);
            Aspect::required(
                types::CONFIG_SYNCED,
                Verdict::Mismatch,
                format!(
                    "the target differs from deployment record {}: {} ({what_next})",
                    name_of(&r.metadata),
                    describe(&d)
                ),
            )
        }
    };
    Config {
        drift,
        spec_change,
        aspect,
    }
}

/// What happens to a difference on the target: a deploy in flight, a spec change to deploy,
/// or drift reported or corrected under `driftPolicy`; and what holds it back.
fn drift_handling(lane: &Lane, in_flight: bool, spec_change: bool, blockers: &Blockers) -> String {
    if in_flight {
        "a deploy is in flight".to_string()
    } else if spec_change && blockers.any() {
        format!(
            "the lane's spec changed, but not deploying: {}",
            blockers.message()
        )
    } else if spec_change {
        "the lane's spec changed: deploying it through a new deployment record".to_string()
    } else {
        match lane.spec.drift_policy {
            DriftPolicy::Report => "driftPolicy Report: not corrected".to_string(),
            DriftPolicy::Correct if blockers.any() => {
                format!("driftPolicy Correct, but not correcting: {}", blockers.message())
            }
            DriftPolicy::Correct => "driftPolicy Correct: restoring through a new deployment record".into(),
        }
    }
}

/// The RuntimeIdentity child of a lane expecting `expected`.
pub fn identity_child(
    lane: &Lane,
    endpoint: &ProbeTarget,
    expected: &IdentityFields,
    required: bool,
    old: Option<&RuntimeIdentity>,
) -> RuntimeIdentity {
    let name = name_of(&lane.metadata);
    let spec = RuntimeIdentitySpec {
        expected: expected.clone(),
        endpoint: IdentityEndpoint {
            base_url: endpoint.base_url.clone(),
            health_path: endpoint.health_path.clone(),
        },
        surfaces: lane.spec.runtime_identity.surfaces.clone(),
        required,
        ..Default::default()
    };
    let mut child = RuntimeIdentity::new(&name, spec);
    child.metadata.namespace = lane.metadata.namespace.clone();
    child.metadata.labels = Some(BTreeMap::from([(LANE_LABEL.to_string(), name)]));
    child.metadata.generation = old.and_then(|o| o.metadata.generation);
    // Transition times carry over while the expectation is the same one.
    child.status = old
        .filter(|o| o.spec.expected == *expected)
        .and_then(|o| o.status.clone());
    child
}

/// The child with the fresh probe folded into its status, when one was made.
fn with_probe(mut child: RuntimeIdentity, observed: Observed<'_>, now: Timestamp) -> RuntimeIdentity {
    if let Some(probe) = observed.probe {
        child.status = Some(runtime_identity::reconcile(&child, Some(probe), now).status);
    }
    child
}

/// What `RuntimeIdentityVerified` found.
struct Identity {
    /// The lane's RuntimeIdentity child, with the fresh probe folded in.
    child: Option<RuntimeIdentity>,
    aspect: Aspect,
    /// The child's `identity.*` mismatches.
    mismatches: Vec<FieldMismatch>,
}

/// `RuntimeIdentityVerified`, judged through the lane's RuntimeIdentity child.
fn runtime_identity(input: &Inputs<'_>) -> Identity {
    let (lane, resolved) = (input.lane, input.resolved);
    let Some(reference) = input.history.reference else {
        let aspect = Aspect::advisory(
            types::RUNTIME_IDENTITY_VERIFIED,
            Verdict::Unchecked,
            "nothing deployed yet: no identity to expect",
        );
        return Identity {
            child: None,
            aspect,
            mismatches: Vec::new(),
        };
    };
    let Some(endpoint) = endpoint(lane, resolved.product, resolved.base.url.as_deref()) else {
        let why = resolved
            .base
            .problem
            .as_deref()
            .unwrap_or("the lane has no base URL");
        let aspect = Aspect::required(
            types::RUNTIME_IDENTITY_VERIFIED,
            Verdict::Unverifiable,
            format!("no endpoint to probe: {why}"),
        );
        return Identity {
            child: None,
            aspect,
            mismatches: Vec::new(),
        };
    };
    let expected = &reference.spec.expected_identity;
    let child = identity_child(
        lane,
        &endpoint,
        expected,
        resolved.identity_required,
        input.observed.identity,
    );
    let child = with_probe(child, input.observed, input.now);
    let status = child.status.clone().unwrap_or_default();
    let verdict = status.verdict.unwrap_or_default();
    let hard = matches!(
        status.reason,
        Some(ClassificationReason::Mismatch | ClassificationReason::Malformed)
    );
    let mismatches = status
        .mismatches
        .iter()
        .map(|m| FieldMismatch {
            field: format!("identity.{}", m.field),
            ..m.clone()
        })
        .collect();
    let message = status.message.unwrap_or_else(|| "not probed yet".into());
    let aspect = if resolved.identity_required || hard {
        Aspect::required(types::RUNTIME_IDENTITY_VERIFIED, verdict, message)
    } else {
        Aspect::advisory(types::RUNTIME_IDENTITY_VERIFIED, verdict, message)
    };
    Identity {
        child: Some(child),
        aspect,
        mismatches,
    }
}

/// `Healthy`: the worst of the required checks (of every check when none is required): the
/// lane's health checks and its driver's checks (Odoo: health, canonical URL, logo; the
/// identity has its own aspect).
fn healthy(health: &[HealthResult], checks: &[VerificationCheck]) -> Aspect {
    if health.is_empty() && checks.is_empty() {
        return Aspect::advisory(types::HEALTHY, Verdict::Matched, "no health checks declared");
    }
    // (verdict, required, sentence) of every check, the lane's first.
    let all: Vec<(Verdict, bool, String)> = health
        .iter()
        .map(|h| {
            let verdict = h.evidence.verdict.unwrap_or_default();
            let sentence = format!(
                "{}{}: {} ({})",
                h.evidence.target,
                if h.required { "" } else { " (advisory)" },
                verdict,
                h.evidence.message.clone().unwrap_or_default()
            );
            (verdict, h.required, sentence)
        })
        .chain(checks.iter().map(|c| {
            let verdict = verification::verdict(c);
            let sentence = format!(
                "{}{}: {:?} ({})",
                verification::check_name(c.name),
                if c.required { "" } else { " (advisory)" },
                c.result,
                c.message.clone().unwrap_or_default()
            );
            (verdict, c.required, sentence)
        }))
        .collect();
    let any_required = all.iter().any(|(_, required, _)| *required);
    let verdict = Verdict::worst(
        all.iter()
            .filter(|(_, required, _)| *required || !any_required)
            .map(|(v, _, _)| *v),
    );
    let message = all
        .into_iter()
        .map(|(_, _, sentence)| sentence)
        .collect::<Vec<_>>()
        .join("; ");
    if any_required {
        Aspect::required(types::HEALTHY, verdict, message)
    } else {
        Aspect::advisory(types::HEALTHY, verdict, message)
    }
}

/// `Deployed`: the desired Artifact against the inventory, a deploy in flight, or the failed
/// attempt that left the inventory where it is.
fn deployed(resolved: &Resolved<'_>, history: &History<'_>, policy: &DeployRetryPolicy) -> Aspect {
    let Some(desired) = resolved.desired.as_deref() else {
        return Aspect::advisory(
            types::DEPLOYED,
            Verdict::Matched,
            format!("{}: the lane only observes", resolved.nothing_desired()),
        );
    };
    let current = history.current_artifact();
    let (verdict, mut message) = if let Some(r) = history.active {
        (
            Verdict::Unchecked,
            format!(
                "deploying {}: deployment record {} is {:?}",
                r.spec.artifact_ref.name,
                name_of(&r.metadata),
                record::phase(r)
            ),
        )
    } else if current == Some(desired) {
        let record = history
            .inventory
            .as_ref()
            .and_then(|i| i.deployment_record.clone())
            .unwrap_or_default();
        (
            Verdict::Matched,
            format!("runs {desired} (deployment record {record})"),
        )
    } else if let Some(f) = history
        .latest
        .filter(|r| record::phase(r) == DeploymentPhase::Failed && r.spec.artifact_ref.name == *desired)
    {
        (Verdict::Mismatch, failed_deploy(f, desired, history, policy))
    } else if let Some(current) = current {
        (Verdict::Mismatch, format!("runs {current}, not {desired}"))
    } else {
        (Verdict::Missing, format!("{desired} is not deployed yet"))
    };
    if resolved.blockers.any() {
        message = format!("{message}; not deploying: {}", resolved.blockers.message());
    }
    Aspect::required(types::DEPLOYED, verdict, message)
}

/// Why the newest attempt `failed` at `desired` did not move the inventory, and what the retry
/// policy does next.
fn failed_deploy(
    failed: &DeploymentRecord,
    desired: &str,
    history: &History<'_>,
    policy: &DeployRetryPolicy,
) -> String {
    let why = failed
        .status
        .as_ref()
        .and_then(|s| {
            s.verification
                .as_ref()
                .and_then(|v| v.message.clone())
                .or_else(|| s.post_deploy.as_ref().and_then(|p| p.message.clone()))
        })
        .unwrap_or_default();
    let next = match history.gate {
        _ if history.streak.is_empty() => String::new(),
        retry::Gate::Exhausted { failures } => format!(
            "; {failures} attempts failed, no further attempt until the lane's spec or artifactRef \
             changes"
        ),
        gate => format!(
            "; attempt {} of {} failed, {}",
            history.streak.len(),
            policy.attempts(),
            retry::next_attempt_text(&gate)
        ),
    };
    format!(
        "the deploy of {desired} failed (deployment record {}: {why}); the inventory stays at {}{next}",
        name_of(&failed.metadata),
        history.current_artifact().unwrap_or("nothing")
    )
}
