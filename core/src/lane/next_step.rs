//! Stage 4 of [`plan`](super::plan): the one next step, from the persisted phase of the lane's
//! records, so that a controller stopped between any two steps resumes at the right one.
//!
//! In order: a controller record in flight is continued; else a record written by others is
//! verified; else a new attempt is recorded when the desired Artifact is not the inventory's,
//! a Promotion in flight has no record yet, the lane's spec changed, drift is to be corrected,
//! or the last attempt failed (unless the retry policy holds it back); else old records are
//! pruned.
//!
//! A Promotion in flight is deployed once: when its record failed, no new attempt is made (the
//! Promotion fails, and the lane's feed goes back to what it ran), and its record's
//! verification requires the runtime identity whatever the lane says (a Promotion succeeds only
//! when the app echoes the artifact).

use super::aspects::Aspects;
use super::drift::{drift, record_env};
use super::history::History;
use super::intent::{deploy_description, new_record};
use super::resolve::Resolved;
use super::retry;
use super::{Observed, Step, name_of};
use crate::deployment_record::{self as record, DeploySettings};
use crate::probe::ProbeResult;
use crate::promotion::Feed;
use crate::target::TargetRef;
use crate::verification;
use jiff::Timestamp;
use launchplane_api::identity::RuntimeIdentityPayload;
use launchplane_api::resources::{
    Artifact, DeploymentPhase, DeploymentRecord, DriftPolicy, Lane, LocalObjectRef,
};

/// What the next-step stage takes.
pub(super) struct Inputs<'a> {
    pub lane: &'a Lane,
    /// The seed of the lane's record ids.
    pub lane_key: &'a str,
    pub resolved: &'a Resolved<'a>,
    pub feed: &'a Feed,
    pub history: &'a History<'a>,
    pub aspects: &'a Aspects,
    pub observed: Observed<'a>,
    pub settings: &'a DeploySettings,
    pub now: Timestamp,
}

/// Where the lane stands with its deploys, as its progress conditions say.
pub(super) enum Pace {
    /// Nothing under way: the lane is settled, or stalled by a blocker.
    Idle,
    /// Something is under way (`Reconciling`).
    Reconciling { reason: String, message: String },
    /// Every attempt for the desired state failed: the message of `Stalled`.
    RetriesExhausted(String),
}

/// What the next-step stage decided.
pub(super) struct Next {
    pub step: Option<Step>,
    pub pace: Pace,
}

impl Next {
    fn idle() -> Self {
        Next {
            step: None,
            pace: Pace::Idle,
        }
    }

    fn reconciling(reason: impl Into<String>, message: String, step: Option<Step>) -> Self {
        Next {
            step,
            pace: Pace::Reconciling {
                reason: reason.into(),
                message,
            },
        }
    }
}

/// The lane's next step, at most one.
pub(super) fn decide(input: &Inputs<'_>) -> Next {
    let (history, resolved) = (input.history, input.resolved);
    let next = if let Some(r) = history.active {
        continue_active(r, input)
    } else if let (Some(r), Some(probe)) = (history.evidence, input.observed.probe) {
        let message = format!("verifying deployment record {} (evidence)", name_of(&r.metadata));
        Next::reconciling("Verifying", message, Some(verification(r, probe, input)))
    } else if let (Some(a), Some(desired)) = (resolved.artifact, resolved.desired.as_deref()) {
        new_attempt(a, desired, input)
    } else {
        Next::idle()
    };
    if next.step.is_some() {
        return next;
    }
    let names = history.prunable(input.lane.spec.history_limit);
    Next {
        step: (!names.is_empty()).then_some(Step::PruneRecords { names }),
        ..next
    }
}

/// The step that moves the record in flight `r` forward from its phase.
fn continue_active(r: &DeploymentRecord, input: &Inputs<'_>) -> Next {
    let name = name_of(&r.metadata);
    let phase = record::phase(r);
    let note = retry::in_flight_note(&input.history.streak, &input.settings.retry)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let message = format!(
        "deploying {}: deployment record {name} is {phase:?}{note}",
        r.spec.artifact_ref.name
    );
    let target = input.resolved.target_check.target_ref.as_ref();
    let step = match phase {
        DeploymentPhase::Pending if input.resolved.blockers.any() => None,
        DeploymentPhase::Pending => target.and_then(|t| prepare(r, name, t, input)),
        DeploymentPhase::Deploying => target.map(|t| Step::FollowDeployment {
            record: name.clone(),
            target: t.clone(),
            title: r
                .status
                .as_ref()
                .and_then(|s| s.deploy.as_ref())
                .and_then(|d| d.title.clone())
                .unwrap_or_else(|| name.clone()),
            description: deploy_description(&name_of(&input.lane.metadata), r),
        }),
        DeploymentPhase::Verifying => match super::post_deploy::pending(
            r,
            &name,
            input.resolved.post_deploy.as_ref(),
            &input.history.post_deploy_schedules(),
            input.resolved.blockers.any(),
            input.now,
        ) {
            Some(step) => step,
            None => input.observed.probe.map(|p| verification(r, p, input)),
        },
        DeploymentPhase::Succeeded | DeploymentPhase::Failed => None,
    };
    let post_deploy = matches!(
        step,
        Some(Step::EnsureSchedule { .. } | Step::RunCommand { .. } | Step::SettleCommand { .. })
    );
    if post_deploy {
        let message = format!("{message}: running its post-deploy command");
        return Next::reconciling("PostDeploying", message, step);
    }
    Next::reconciling(format!("{phase:?}"), message, step)
}

/// The next change a Pending record `r` (named `name`) makes on `target`, as read now: the
/// ownership marker first, then the image, then the env, then the deploy. Nothing while the
/// target could not be read.
fn prepare(r: &DeploymentRecord, name: String, target: &TargetRef, input: &Inputs<'_>) -> Option<Step> {
    let facts = input.observed.facts?.ok()?;
    let env = input.resolved.env;
    let target = target.clone();
    if let Some(description) = input.resolved.target_check.mark.clone() {
        return Some(Step::MarkTarget {
            record: name,
            target,
            description,
        });
    }
    let pin = &input.resolved.pin;
    let d = drift(r, facts, env, pin);
    // A compose pins its image through its env: the env merge below writes it.
    let set_image = pin.env_key().is_none() && d.iter().any(|m| m.field == "image");
    Some(if set_image {
        Step::SetImage {
            record: name,
            target,
            image: r
                .spec
                .expected_identity
                .image_reference
                .clone()
                .unwrap_or_default(),
        }
    } else if !d.is_empty() {
        let identity = RuntimeIdentityPayload::from(&r.spec.expected_identity);
        Step::MergeEnv {
            record: name,
            target,
            keys: record_env(&identity, env, pin).into_keys().collect(),
            identity: Box::new(identity),
            pin: pin.clone(),
        }
    } else {
        Step::Deploy {
            title: name.clone(),
            description: deploy_description(&name_of(&input.lane.metadata), r),
            status: Box::new(record::start_deploy(r, &name, input.now)),
            record: name,
            target,
        }
    })
}

/// Write the outcome of verifying `r` against `probe` and the health checks.
fn verification(r: &DeploymentRecord, probe: &ProbeResult, input: &Inputs<'_>) -> Step {
    let v = record::verify(
        r,
        probe,
        input.observed.health,
        verification::has_checks(input.resolved.product).then_some(input.observed.checks),
        input.resolved.identity_required || r.spec.promotion_ref.is_some(),
        input.settings,
        input.now,
    );
    Step::WriteRecord {
        record: name_of(&r.metadata),
        status: Box::new(v.status),
        wait: v.wait,
    }
}

/// Why a new attempt is wanted, most telling first.
enum Cause {
    /// The desired Artifact is not the inventory's.
    NewArtifact,
    /// The lane's spec changed and the target lacks it.
    SpecChange,
    /// The target drifted out of band and `driftPolicy` is `Correct`.
    DriftCorrection,
    /// Only the last attempt at the desired state failed.
    Retry,
}

/// A new attempt at `desired` (the deployable `artifact`), when one is wanted: written first as
/// its intent record, unless blocked or held back by the retry policy.
fn new_attempt(artifact: &Artifact, desired: &str, input: &Inputs<'_>) -> Next {
    let (history, aspects) = (input.history, input.aspects);
    let in_flight = input
        .feed
        .in_flight
        .then_some(input.resolved.promotion.as_deref())
        .flatten();
    let mut unrecorded = false;
    if let Some(promotion) = in_flight {
        let named: Vec<&&DeploymentRecord> = history
            .controller
            .iter()
            .filter(|r| r.spec.promotion_ref.as_ref().is_some_and(|p| p.name == promotion))
            .collect();
        if named.iter().any(|r| record::phase(r) == DeploymentPhase::Failed) {
            // The Promotion's one deploy failed: the Promotion fails, and nothing is retried.
            return Next::idle();
        }
        unrecorded = named.is_empty();
    }
    let changed = history.current_artifact() != Some(desired) || unrecorded;
    // A failed attempt leaves the desired state undeployed (and the target possibly half
    // changed), whatever the drift comparison says: it is retried under the policy.
    let retrying = !history.streak.is_empty();
    let cause = if changed {
        Cause::NewArtifact
    } else if aspects.spec_change {
        Cause::SpecChange
    } else if aspects.drifted() && input.lane.spec.drift_policy == DriftPolicy::Correct {
        Cause::DriftCorrection
    } else if retrying {
        Cause::Retry
    } else {
        return Next::idle();
    };
    if input.resolved.blockers.any() {
        return Next::idle();
    }
    if !history.gate.allows(input.now) {
        return held_back(desired, input);
    }
    let why = reason(&cause, desired, input);
    let mut new = new_record(
        input.lane,
        input.lane_key,
        input.resolved.product_name.as_deref().unwrap_or_default(),
        artifact,
        history.max_attempt + 1,
        &why,
        input.now,
    );
    // The record names the Promotion it carries out: the Promotion follows it to its end.
    new.spec.promotion_ref = input.resolved.promotion.as_deref().map(LocalObjectRef::new);
    let message = format!("writing deployment record {} for {why}", name_of(&new.metadata));
    Next::reconciling("Deploying", message, Some(Step::CreateRecord(Box::new(new))))
}

/// Failed attempts at the desired state hold the next one back: it waits out its backoff, or
/// every attempt failed and the lane stalls until its desired state changes.
fn held_back(desired: &str, input: &Inputs<'_>) -> Next {
    let (history, policy) = (input.history, &input.settings.retry);
    match history.gate {
        retry::Gate::Exhausted { .. } => Next {
            step: None,
            pace: Pace::RetriesExhausted(retry::exhausted_message(
                &history.streak,
                policy,
                desired,
                input.lane.metadata.generation,
            )),
        },
        gate => Next::reconciling(
            retry::RETRY_SCHEDULED,
            retry::scheduled_message(&history.streak, &gate, policy),
            None,
        ),
    }
}

/// The reason the new record gives (its `requestedBy` and the Reconciling message).
fn reason(cause: &Cause, desired: &str, input: &Inputs<'_>) -> String {
    let fields = || {
        input
            .aspects
            .drift
            .iter()
            .flatten()
            .map(|m| m.field.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let why = match cause {
        Cause::NewArtifact => match input.resolved.promotion.as_deref() {
            Some(p) => format!("artifact {desired} of Promotion {p}"),
            None => format!("artifact {desired}"),
        },
        Cause::SpecChange => format!(
            "spec change (generation {}: {})",
            input.lane.metadata.generation.unwrap_or_default(),
            fields()
        ),
        Cause::DriftCorrection => format!("drift correction ({})", fields()),
        Cause::Retry => format!("a new attempt at artifact {desired}"),
    };
    let streak = &input.history.streak;
    if streak.is_empty() {
        return why;
    }
    format!(
        "{why}, attempt {} of {} after a failure",
        streak.len() + 1,
        input.settings.retry.attempts()
    )
}
