//! Stage 3 of the preview pipeline: from the Preview's references, what was read now
//! ([`Observation`]) and its status as persisted, the status to write and **at most one**
//! [`PreviewStep`]. A controller stopped between any two steps resumes at the right one,
//! because each step's effect is either persisted in the status before anything else happens
//! (the recorded application, the phase Deploying before the deploy, a re-send before it is
//! sent) or read back from Dokploy by the next observation (the domain, the image, the env).
//!
//! ```text
//!  no application recorded ─► the one of its name, ours ─► RecordApplication
//!                           ─► none ─► CreateApplication ─► (its id) RecordApplication
//!                           ─► not ours / several / no environment ─► Stalled (stays Requested)
//!  recorded, read, ours ─► no domain ─► AddDomain
//!   Requested ─► deployment titled with the generation exists ─► MarkDeploying
//!             ─► image ─► SetImage ─► env ─► MergeEnv ─► Deploy (Deploying persisted first)
//!   Deploying ─► done ─► probe: Matched ─► Ready; not by verifyTimeout ─► Failed
//!             ─► error / cancelled / not done by deployTimeout ─► Failed
//!             ─► none after resendAfter, Dokploy idle for the app ─► Resend (once)
//!   Ready ─► read again and probed: Matched, or Unverifiable, or Conflict
//!  recorded but confirmed gone ─► forgotten, generation requested again (Recovering)
//! ```
//!
//! What a step's outcome means is decided here too ([`PreviewPlan::after`]): setup refused by
//! Dokploy (the application, its domain) stalls the Preview and leaves the generation
//! requested; a refused image, env or deploy fails the generation; a transient failure is
//! retried soon, except a deploy, which may have been sent and is followed by its title.

use super::decision::{Decision, Pace};
use super::generation::{advance, reverify};
use super::observation::Observation;
use super::resolve::{PreviewInputs, Resolved, resolve};
use super::settings::{EXPIRED_RETRY, PreviewSettings, UNVERIFIABLE_RETRY};
use super::step::PreviewStep;
use super::{Fresh, preview_conditions, serving, set_phase};
use crate::action::{ExecError, Performed};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use launchplane_api::conditions::Progress;
use launchplane_api::resources::{GenerationPhase, PreviewStatus};
use launchplane_api::verdict::Verdict;
use std::time::Duration;

/// How soon a preview stopped before anything was read is looked at again.
pub const BLOCKED_RECHECK: Duration = Duration::from_secs(300);

/// How soon a preview waiting for its Artifact looks again (the cluster also wakes it when
/// the Artifact is created).
pub const ARTIFACT_RECHECK: Duration = Duration::from_secs(60);

impl Pace {
    fn progress(&self) -> Progress {
        let reconciling = |reason: &str, message: &str| Progress::Reconciling {
            reason: reason.into(),
            message: message.into(),
        };
        match self {
            Pace::Settled => Progress::Settled,
            Pace::Working(m) | Pace::Waiting(m) => reconciling("Deploying", m),
            Pace::Recovering(m) => reconciling("Recovering", m),
            Pace::Unverifiable(m) => reconciling("Unverifiable", m),
            Pace::ProviderError(m) => reconciling("ProviderError", m),
            Pace::Expired(m) => reconciling("Expired", m),
            Pace::AwaitingArtifact(m) => reconciling("WaitingForArtifact", m),
            Pace::Stalled { reason, message } | Pace::Blocked { reason, message, .. } => Progress::Stalled {
                reason: reason.clone(),
                message: message.clone(),
            },
        }
    }

    fn stalls(&self) -> bool {
        matches!(self, Pace::Stalled { .. } | Pace::Blocked { .. })
    }
}

/// What [`plan`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewPlan {
    /// The status the Preview should have now; for a step that [saves first](PreviewStep::saves_first),
    /// the status to persist before its action.
    pub status: PreviewStatus,
    pub step: Option<PreviewStep>,
    pub pace: Pace,
    basis: Basis,
}

/// What the conditions were computed from, to compute them again after a step's outcome.
#[derive(Clone, Debug, PartialEq)]
struct Basis {
    /// The conditions before this plan.
    old: Vec<Condition>,
    fresh: Fresh,
    /// The generation the spec asks for (`None`: stopped at stage 1; the newest is used).
    generation_id: Option<String>,
    observed_generation: Option<i64>,
}

impl PreviewPlan {
    /// The ttl has passed: the shell removes the Preview (and so tears it down).
    pub fn expired(&self) -> bool {
        matches!(self.pace, Pace::Expired(_))
    }

    /// A transient failure the status also names (the shell retries sooner).
    pub fn error(&self) -> Option<String> {
        match &self.pace {
            Pace::Unverifiable(m) | Pace::ProviderError(m) => Some(m.clone()),
            _ => None,
        }
    }

    /// When to look again.
    pub fn requeue(&self, settings: &PreviewSettings) -> Duration {
        match &self.pace {
            Pace::Settled | Pace::Stalled { .. } => settings.resync,
            Pace::Working(_) | Pace::Waiting(_) | Pace::Recovering(_) => settings.poll_delay,
            Pace::Unverifiable(_) | Pace::ProviderError(_) => UNVERIFIABLE_RETRY,
            Pace::Blocked { retry, .. } => retry.unwrap_or(BLOCKED_RECHECK),
            Pace::Expired(_) => EXPIRED_RETRY,
            Pace::AwaitingArtifact(_) => ARTIFACT_RECHECK,
        }
    }

    /// What the outcome of this plan's step means: `None`, go on (read again and plan);
    /// `Some`, the plan that now stands (a step to take next, or where the preview stops).
    pub fn after(&self, outcome: Result<&Performed, &ExecError>, now: Timestamp) -> Option<PreviewPlan> {
        let step = self.step.as_ref()?;
        let mut status = self.status.clone();
        let generation = self.basis.generation_id.clone().unwrap_or_default();
        let (pace, step) = match (step, outcome) {
            (PreviewStep::CreateApplication { .. }, Ok(Performed::Created(id))) => {
                status.target_id = Some(id.clone());
                let message = format!("recording application {id}, created for this preview");
                let step = PreviewStep::RecordApplication {
                    application: id.clone(),
                };
                (Pace::Working(message), Some(step))
            }
            (_, Ok(_)) => return None,
            (step, Err(e)) if e.is_refused() => {
                (refused(step, e.message(), &mut status, &generation, now), None)
            }
            // Maybe sent, maybe not: following it by its title decides.
            (PreviewStep::Deploy { .. } | PreviewStep::Resend { .. }, Err(_)) => return None,
            (step, Err(e)) => (Pace::ProviderError(transient(step, e.message())), None),
        };
        Some(self.again(status, pace, step, now))
    }

    /// The status could not be persisted before the step (which is therefore not taken):
    /// retried soon.
    pub fn unsaved(&self, error: &str, now: Timestamp) -> PreviewPlan {
        let message = format!("writing the Preview status: {error}");
        self.again(self.status.clone(), Pace::ProviderError(message), None, now)
    }

    fn again(
        &self,
        status: PreviewStatus,
        pace: Pace,
        step: Option<PreviewStep>,
        now: Timestamp,
    ) -> PreviewPlan {
        conclude(
            status,
            Decision {
                pace,
                step,
                fresh: self.basis.fresh.clone(),
            },
            self.basis.clone(),
            now,
        )
    }
}

/// A step the provider refused.
fn refused(
    step: &PreviewStep,
    e: &str,
    status: &mut PreviewStatus,
    generation: &str,
    now: Timestamp,
) -> Pace {
    let mut fail = |evidence: String| {
        status.generations = set_phase(
            &status.generations,
            generation,
            GenerationPhase::Failed,
            Some(evidence),
            now,
        );
        Pace::Settled
    };
    match step {
        PreviewStep::CreateApplication {
            environment, name, ..
        } => Pace::Stalled {
            reason: "ApplicationNotCreated".into(),
            message: format!(
                "Dokploy refused to create application {name} in environment {environment} ({e}); \
                 fix the environment in Dokploy or the Product's preview.environment; retried on \
                 the next resync"
            ),
        },
        PreviewStep::AddDomain {
            application, host, ..
        } => Pace::Stalled {
            reason: "DomainNotCreated".into(),
            message: format!(
                "Dokploy refused the domain {host} on application {application} ({e}); retried on \
                 the next resync"
            ),
        },
        PreviewStep::SetImage { .. } => fail(format!("deploy: setting the image: {e}")),
        PreviewStep::MergeEnv { .. } => fail(format!("deploy: writing the env: {e}")),
        PreviewStep::Deploy { .. } | PreviewStep::Resend { .. } => fail(format!("deploy: {e}")),
        other => Pace::ProviderError(transient(other, e)),
    }
}

/// The sentence for a step that failed in a way worth retrying.
fn transient(step: &PreviewStep, e: &str) -> String {
    let what = match step {
        PreviewStep::CreateApplication { .. } => "creating the application",
        PreviewStep::AddDomain { .. } => "adding the domain",
        PreviewStep::SetImage { .. } => "setting the image",
        PreviewStep::MergeEnv { .. } => "writing the env",
        PreviewStep::Deploy { .. } | PreviewStep::Resend { .. } => "sending the deploy",
        PreviewStep::DeleteDomain { .. } => "deleting the domain",
        PreviewStep::DeleteApplication { .. } => "deleting the application",
        PreviewStep::RecordApplication { .. } | PreviewStep::MarkDeploying { .. } => {
            "writing the Preview status"
        }
    };
    format!("{what}: {e}")
}

/// Plan the preview: the status to write and at most one step.
pub fn plan(
    inputs: &PreviewInputs<'_>,
    observed: &Observation,
    status: &PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
) -> PreviewPlan {
    let basis = |generation_id| Basis {
        old: status.conditions.clone(),
        fresh: Fresh::default(),
        generation_id,
        observed_generation: inputs.preview.metadata.generation,
    };
    let (job, mut status) = match resolve(inputs, status, settings, now) {
        Resolved::Job(job, status) => (job, status),
        Resolved::Early(status, pace) => {
            return conclude(status, Decision::new(pace, Fresh::default()), basis(None), now);
        }
    };
    let phase = status
        .generations
        .iter()
        .find(|g| g.id == job.generation_id)
        .map(|g| g.phase);
    let decision = match phase {
        // A failed generation is not retried: a new commit or artifact starts another.
        Some(GenerationPhase::Failed) => Decision::new(Pace::Settled, Fresh::default()),
        // Settled and Ready: verified again, with fresh evidence, every time.
        Some(GenerationPhase::Ready) => reverify(&job, observed, &mut status, now),
        Some(phase) => advance(&job, phase, observed, &mut status, settings, now),
        None => Decision::new(
            Pace::ProviderError("the generation was not recorded".into()),
            Fresh::default(),
        ),
    };
    conclude(status, decision, basis(Some(job.generation_id.clone())), now)
}

/// The conditions and verdict of `status` as `decision` leaves it.
fn conclude(mut status: PreviewStatus, decision: Decision, basis: Basis, now: Timestamp) -> PreviewPlan {
    if basis.generation_id.is_some() {
        status.serving_generation =
            serving(&status.generations, status.target_id.as_deref()).map(|g| g.id.clone());
    }
    let newest = match &basis.generation_id {
        Some(id) => status.generations.iter().find(|g| &g.id == id),
        None => status.generations.last(),
    };
    let computed = preview_conditions(
        &basis.old,
        newest,
        &decision.fresh,
        &decision.pace.progress(),
        basis.observed_generation,
        now,
    );
    status.observed_generation = basis.observed_generation;
    status.conditions = computed.conditions;
    // As for every stall: what could not be done is not verified.
    status.verdict = Some(if decision.pace.stalls() {
        Verdict::worst([computed.verdict, Verdict::Unverifiable])
    } else {
        computed.verdict
    });
    PreviewPlan {
        status,
        step: decision.step,
        pace: decision.pace,
        basis: Basis {
            fresh: decision.fresh,
            ..basis
        },
    }
}
