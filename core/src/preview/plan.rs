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

use super::observation::{ApplicationQuery, Observation, signed};
use super::resolve::{Job, PreviewInputs, Resolved, resolve};
use super::settings::{EXPIRED_RETRY, PreviewSettings, UNVERIFIABLE_RETRY};
use super::{
    Finding, Fresh, TargetCheck, identity_finding, mark_resent, preview_conditions, preview_env,
    redeploy_after_gone, sent_deploy, serving, set_phase, start_deploy,
};
use crate::action::{Action, ExecError, Performed};
use crate::target::TargetRef;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use launchplane_api::conditions::Progress;
use launchplane_api::identity::{classify, combine};
use launchplane_api::ownership::{Ownership, ownership};
use launchplane_api::resources::{GenerationPhase, PreviewGeneration, PreviewStatus};
use launchplane_api::verdict::Verdict;
use launchplane_providers::{DeploymentStatus, SecretString, TargetCategory, TargetDetail, env_merge};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The one next thing to do for a preview.
#[derive(Clone, Debug, PartialEq)]
pub enum PreviewStep {
    /// Create the preview's application, marked as this Preview's in `description`.
    CreateApplication {
        environment: String,
        name: String,
        description: String,
    },
    /// Persist the status, which records `application` as the preview's (created by this
    /// controller, or created before a crash and found again by its name and marker).
    RecordApplication { application: String },
    /// Attach the preview's domain to its application.
    AddDomain {
        application: String,
        host: String,
        port: u16,
        https: bool,
    },
    /// Point the application at the generation's image, by digest.
    SetImage { application: String, image: String },
    /// Merge the generation's identity and URL keys into the application's env (not secret).
    MergeEnv {
        application: String,
        env: BTreeMap<String, String>,
    },
    /// A deployment titled with the generation id exists already (sent before the phase was
    /// persisted): persist the phase Deploying, send nothing.
    MarkDeploying { application: String },
    /// Persist the phase Deploying, then send the deploy titled `title`.
    Deploy {
        application: String,
        title: String,
        description: String,
    },
    /// No deployment appeared and Dokploy shows nothing under way for the application: persist
    /// the re-send, then send the deploy again, once.
    Resend {
        application: String,
        title: String,
        description: String,
    },
    /// Delete a domain of the preview's application (teardown).
    DeleteDomain { domain: String, host: String },
    /// Delete the preview's application (teardown, sweep).
    DeleteApplication { application: String },
}

impl PreviewStep {
    /// A short name for logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            PreviewStep::CreateApplication { .. } => "CreateApplication",
            PreviewStep::RecordApplication { .. } => "RecordApplication",
            PreviewStep::AddDomain { .. } => "AddDomain",
            PreviewStep::SetImage { .. } => "SetImage",
            PreviewStep::MergeEnv { .. } => "MergeEnv",
            PreviewStep::MarkDeploying { .. } => "MarkDeploying",
            PreviewStep::Deploy { .. } => "Deploy",
            PreviewStep::Resend { .. } => "Resend",
            PreviewStep::DeleteDomain { .. } => "DeleteDomain",
            PreviewStep::DeleteApplication { .. } => "DeleteApplication",
        }
    }

    /// Whether the plan's status is persisted before the step's action (for a step without an
    /// action, persisting it is the step).
    pub fn saves_first(&self) -> bool {
        matches!(
            self,
            PreviewStep::RecordApplication { .. }
                | PreviewStep::MarkDeploying { .. }
                | PreviewStep::Deploy { .. }
                | PreviewStep::Resend { .. }
        )
    }

    /// What the step does on Dokploy, if anything.
    pub fn action(&self) -> Option<Action> {
        let app = |id: &str| TargetRef {
            category: TargetCategory::Application,
            id: id.to_string(),
        };
        Some(match self {
            PreviewStep::CreateApplication {
                environment,
                name,
                description,
            } => Action::CreateApplication {
                environment: environment.clone(),
                name: name.clone(),
                description: description.clone(),
            },
            PreviewStep::RecordApplication { .. } | PreviewStep::MarkDeploying { .. } => return None,
            PreviewStep::AddDomain {
                application,
                host,
                port,
                https,
            } => Action::CreateDomain {
                application: application.clone(),
                host: host.clone(),
                port: *port,
                https: *https,
            },
            PreviewStep::SetImage { application, image } => Action::SetImage {
                target: app(application),
                image: image.clone(),
            },
            PreviewStep::MergeEnv { application, env } => Action::MergeEnv {
                target: app(application),
                env: env
                    .iter()
                    .map(|(k, v)| (k.clone(), SecretString::new(v.clone())))
                    .collect(),
            },
            PreviewStep::Deploy {
                application,
                title,
                description,
            }
            | PreviewStep::Resend {
                application,
                title,
                description,
            } => Action::Deploy {
                target: app(application),
                title: title.clone(),
                description: description.clone(),
            },
            PreviewStep::DeleteDomain { domain, .. } => Action::DeleteDomain {
                domain: domain.clone(),
            },
            PreviewStep::DeleteApplication { application } => Action::DeleteApplication {
                application: application.clone(),
            },
        })
    }
}

/// Where the plan leaves the preview, and so how the shell goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Ready (and verified now) or Failed: nothing more until the resync.
    Settled,
    /// A step is planned: perform it and plan again (or, past the drive's limits, soon).
    Working(String),
    /// Deploying or waiting for the URL: look again after the poll delay.
    Waiting(String),
    /// The application was confirmed deleted outside Launchplane: the generation is requested
    /// again; the next reconcile creates a new application and deploys it.
    Recovering(String),
    /// Could not be verified (Dokploy or the URL did not answer usefully): retried soon; the
    /// recorded application is kept.
    Unverifiable(String),
    /// A setup problem outside the spec (environment, name conflict, Dokploy refusing the
    /// application or domain): the generation stays requested and is retried on the resync.
    Stalled { reason: String, message: String },
    /// Stopped before anything was read (a missing reference, previews off, no Dokploy client):
    /// looked at again after `retry`, or [`BLOCKED_RECHECK`].
    Blocked {
        reason: String,
        message: String,
        retry: Option<Duration>,
    },
    /// A read or a step failed in a way worth retrying soon.
    ProviderError(String),
    /// The ttl has passed: the shell deletes the Preview (its teardown follows).
    Expired(String),
}

/// How soon a preview stopped before anything was read is looked at again.
pub const BLOCKED_RECHECK: Duration = Duration::from_secs(300);

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
            (step, Err(e)) if e.is_refused() => (refused(step, e.message(), &mut status, &generation, now), None),
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

    fn again(&self, status: PreviewStatus, pace: Pace, step: Option<PreviewStep>, now: Timestamp) -> PreviewPlan {
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

/// What one stage decided, before the conditions.
struct Decision {
    pace: Pace,
    step: Option<PreviewStep>,
    fresh: Fresh,
}

impl Decision {
    fn new(pace: Pace, fresh: Fresh) -> Self {
        Decision {
            pace,
            step: None,
            fresh,
        }
    }

    fn step(step: PreviewStep, message: String, fresh: Fresh) -> Self {
        Decision {
            pace: Pace::Working(message),
            step: Some(step),
            fresh,
        }
    }

    fn stall(reason: &str, message: String, fresh: Fresh) -> Self {
        Decision::new(
            Pace::Stalled {
                reason: reason.into(),
                message,
            },
            fresh,
        )
    }
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

/// The recorded application as read now: its check (the `TargetVerified` finding goes into
/// `fresh`) and its detail when it is ours.
fn application<'o>(
    job: &Job<'_>,
    id: &str,
    observed: &'o Observation,
    fresh: &mut Fresh,
) -> (TargetCheck, Option<&'o TargetDetail>) {
    let query = ApplicationQuery {
        id: id.to_string(),
        owner: job.owner.clone(),
        name: job.names.target_name.clone(),
    };
    let Some(read) = &observed.application else {
        let why = format!("application {id} was not read in this reconcile");
        fresh.target = Some(Finding::new(Verdict::Unverifiable, why.clone()));
        return (TargetCheck::Unknown(why), None);
    };
    let check = read.check(&query);
    fresh.target = Some(check.finding(id));
    let detail = read.detail.as_ref().ok().filter(|_| check == TargetCheck::Ours);
    (check, detail)
}

/// The identity finding of the probe made now, if one was.
fn probed(job: &Job<'_>, observed: &Observation) -> Option<Finding> {
    let probe = observed.probe.as_ref()?;
    let class = classify(&job.identity(), &combine(&probe.observations), true);
    Some(identity_finding(&class, probe.health_status, &job.names.url))
}

/// The recorded application `gone` (or none) is confirmed deleted: forget it and request the
/// generation again ([`redeploy_after_gone`]).
fn forget_gone(job: &Job<'_>, status: &mut PreviewStatus, gone: Option<&str>, now: Timestamp) -> String {
    status.target_id = None;
    status.generations = redeploy_after_gone(&status.generations, &job.generation_id, gone, now);
    match gone {
        Some(gone) => format!(
            "application {gone} was deleted outside Launchplane; a new application is created \
             and generation {} deployed again",
            job.generation_id
        ),
        None => format!(
            "no application is recorded; one is created and generation {} deployed again",
            job.generation_id
        ),
    }
}

/// A settled Ready generation, verified again: its recorded application read by id (still
/// ours), then its URL probed. Matched only on that evidence; a failed read or probe is
/// Unverifiable; an application confirmed gone starts the recovery.
fn reverify(job: &Job<'_>, observed: &Observation, status: &mut PreviewStatus, now: Timestamp) -> Decision {
    let mut fresh = Fresh::default();
    let Some(id) = status.target_id.clone() else {
        let message = forget_gone(job, status, None, now);
        fresh.target = Some(Finding::new(Verdict::Missing, message.clone()));
        return Decision::new(Pace::Recovering(message), fresh);
    };
    match application(job, &id, observed, &mut fresh).0 {
        TargetCheck::Ours => {}
        TargetCheck::NotOurs(why) => return Decision::stall("Conflict", why, fresh),
        TargetCheck::Gone => {
            let message = forget_gone(job, status, Some(&id), now);
            return Decision::new(Pace::Recovering(message), fresh);
        }
        TargetCheck::Unknown(why) => return Decision::new(Pace::Unverifiable(why), fresh),
    }
    let finding = probed(job, observed)
        .unwrap_or_else(|| Finding::new(Verdict::Unverifiable, format!("{} was not probed", job.names.url)));
    fresh.identity = Some(finding.clone());
    let pace = if finding.verdict == Verdict::Unverifiable {
        Pace::Unverifiable(finding.message)
    } else {
        Pace::Settled
    };
    Decision::new(pace, fresh)
}

/// A Requested or Deploying generation, one step forward.
fn advance(
    job: &Job<'_>,
    phase: GenerationPhase,
    observed: &Observation,
    status: &mut PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
) -> Decision {
    let mut fresh = Fresh::default();
    let Some(id) = status.target_id.clone() else {
        return place(job, observed, status, fresh);
    };
    // The recorded application, read by id and still ours. A 404 alone never makes the
    // preview forget it: only one the org listing confirms.
    let detail = match application(job, &id, observed, &mut fresh) {
        (TargetCheck::Ours, Some(detail)) => detail,
        (TargetCheck::NotOurs(why), _) => return Decision::stall("Conflict", why, fresh),
        (TargetCheck::Gone, _) => {
            let message = forget_gone(job, status, Some(&id), now);
            return Decision::new(Pace::Recovering(message), fresh);
        }
        (TargetCheck::Unknown(why), _) => return Decision::new(Pace::ProviderError(why), fresh),
        (TargetCheck::Ours, None) => {
            let why = format!("application {id} was read without its detail");
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    let names = &job.names;
    if !detail.hosts().contains(&names.host.as_str()) {
        let step = PreviewStep::AddDomain {
            application: id.clone(),
            host: names.host.clone(),
            port: u16::try_from(job.product.spec.runtime_port).unwrap_or(8080),
            https: names.url.starts_with("https://"),
        };
        let message = format!("adding the domain {} to application {id}", names.host);
        return Decision::step(step, message, fresh);
    }
    match phase {
        GenerationPhase::Requested => prepare(job, &id, detail, observed, status, now, fresh),
        _ => follow(job, observed, status, settings, now, fresh),
    }
}

/// No application recorded: the one of the preview's name in the preview environment when it
/// carries this Preview's marker, else a new one. Whatever stops it here is a setup problem:
/// the generation stays requested and the next resync tries again.
fn place(job: &Job<'_>, observed: &Observation, status: &mut PreviewStatus, mut fresh: Fresh) -> Decision {
    let placement = match &observed.placement {
        Some(Ok(placement)) => placement,
        Some(Err(why)) => return Decision::new(Pace::ProviderError(why.clone()), fresh),
        None => {
            let why = "the preview environment was not read in this reconcile".to_string();
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    let environment = match &placement.environment {
        Ok(environment) => environment,
        Err(setup) => return Decision::stall(setup.reason, setup.message.clone(), fresh),
    };
    let name = &job.names.target_name;
    match placement.named.as_slice() {
        [one] => {
            let detail = match &placement.detail {
                Some(Ok(detail)) => detail,
                Some(Err(e)) => {
                    let why = format!("reading the application named {name}: {}", e.message());
                    return Decision::new(Pace::ProviderError(why), fresh);
                }
                None => {
                    let why = format!("the application named {name} was not read in this reconcile");
                    return Decision::new(Pace::ProviderError(why), fresh);
                }
            };
            match ownership(detail.description.as_deref(), &job.owner) {
                Ownership::Ours => {
                    status.target_id = Some(one.clone());
                    let message = format!("recording application {one}, which carries this Preview's marker");
                    let step = PreviewStep::RecordApplication {
                        application: one.clone(),
                    };
                    Decision::step(step, message, fresh)
                }
                whose => {
                    let message = super::conflict_message(one, name, &whose);
                    fresh.target = Some(Finding::new(Verdict::Mismatch, message.clone()));
                    Decision::stall("Conflict", message, fresh)
                }
            }
        }
        [] => {
            let description = job.owner.describe(&format!(
                "Launchplane preview {} of {}; deleted with its Preview",
                job.names.preview_id,
                job.product_name()
            ));
            let message = format!("creating application {name} in environment {environment}");
            let step = PreviewStep::CreateApplication {
                environment: environment.clone(),
                name: name.clone(),
                description,
            };
            Decision::step(step, message, fresh)
        }
        several => Decision::stall(
            "Ambiguous",
            format!(
                "{} Dokploy applications are named {name} in the preview environment; remove the \
                 extra ones (nothing is guessed); retried on the next resync",
                several.len(),
            ),
            fresh,
        ),
    }
}

/// A Requested generation on its application: found by its title when it was sent before,
/// else the image, the env, then the deploy (the phase Deploying persisted first).
fn prepare(
    job: &Job<'_>,
    id: &str,
    detail: &TargetDetail,
    observed: &Observation,
    status: &mut PreviewStatus,
    now: Timestamp,
    fresh: Fresh,
) -> Decision {
    let gen_id = &job.generation_id;
    let found = match &observed.deployment {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            let why = format!("looking up the deploy: {}", e.message());
            return Decision::new(Pace::ProviderError(why), fresh);
        }
        None => {
            let why = "the deploy was not looked up in this reconcile".to_string();
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    if found.is_some() {
        status.generations = start_deploy(&status.generations, gen_id, id, now);
        let message = format!("deployment {gen_id} was sent before; following it");
        let step = PreviewStep::MarkDeploying {
            application: id.to_string(),
        };
        return Decision::step(step, message, fresh);
    }
    let application = id.to_string();
    if detail.image.as_deref() != Some(job.image.as_str()) {
        let message = format!("setting the image of application {id} to {}", job.image);
        let step = PreviewStep::SetImage {
            application,
            image: job.image.clone(),
        };
        return Decision::step(step, message, fresh);
    }
    let env = preview_env(&job.identity(), &job.names);
    if !env_in_place(detail, &env) {
        let message = format!("writing the preview env of application {id}");
        return Decision::step(PreviewStep::MergeEnv { application, env }, message, fresh);
    }
    status.generations = start_deploy(&status.generations, gen_id, id, now);
    let step = PreviewStep::Deploy {
        application,
        title: gen_id.clone(),
        description: deploy_description(job),
    };
    Decision::step(step, format!("deploying generation {gen_id}"), fresh)
}

fn deploy_description(job: &Job<'_>) -> String {
    format!(
        "Launchplane preview {} of {} ({})",
        job.names.preview_id,
        job.product_name(),
        job.image
    )
}

/// Whether merging `env` into the application's env would change nothing. An env that cannot
/// be merged is not in place: the merge step says why.
fn env_in_place(detail: &TargetDetail, env: &BTreeMap<String, String>) -> bool {
    let wanted: BTreeMap<String, SecretString> = env
        .iter()
        .map(|(k, v)| (k.clone(), SecretString::new(v.clone())))
        .collect();
    let current = detail.env.as_ref().map_or("", |e| e.expose());
    env_merge::merge(current, &wanted, &BTreeSet::new()).is_ok_and(|m| !m.changed())
}

/// A Deploying generation: its deployment followed by title (timed from when it was sent),
/// then its identity verified at the preview URL (timed from when Dokploy says the deploy
/// finished).
fn follow(
    job: &Job<'_>,
    observed: &Observation,
    status: &mut PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
    mut fresh: Fresh,
) -> Decision {
    let gen_id = &job.generation_id;
    let fail = |status: &mut PreviewStatus, evidence: String| {
        status.generations = set_phase(
            &status.generations,
            gen_id,
            GenerationPhase::Failed,
            Some(evidence),
            now,
        );
    };
    let found = match &observed.deployment {
        Some(Ok(found)) => found.as_ref(),
        Some(Err(e)) => {
            let why = format!("following the deploy: {}", e.message());
            return Decision::new(Pace::ProviderError(why), fresh);
        }
        None => {
            let why = "the deploy was not looked up in this reconcile".to_string();
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    match found.map(|d| &d.status) {
        Some(DeploymentStatus::Done) => {
            let finished = found
                .and_then(|d| d.finished_at.as_deref())
                .and_then(|t| t.parse::<Timestamp>().ok())
                .unwrap_or(now);
            let Some(finding) = probed(job, observed) else {
                let message = format!("waiting for {} to serve generation {gen_id}", job.names.url);
                return Decision::new(Pace::Waiting(message), fresh);
            };
            if finding.verdict.is_matched() {
                status.generations = set_phase(
                    &status.generations,
                    gen_id,
                    GenerationPhase::Ready,
                    Some(format!("deploy done; {}", finding.message)),
                    now,
                );
                fresh.identity = Some(finding);
                return Decision::new(Pace::Settled, fresh);
            }
            if now >= finished.checked_add(signed(settings.verify_timeout)).unwrap_or(finished) {
                fail(status, finding.message);
                return Decision::new(Pace::Settled, fresh);
            }
            let message = format!("waiting for {} to serve generation {gen_id}", job.names.url);
            return Decision::new(Pace::Waiting(message), fresh);
        }
        Some(s @ (DeploymentStatus::Error | DeploymentStatus::Cancelled)) => {
            let word = if *s == DeploymentStatus::Error {
                "error"
            } else {
                "cancelled"
            };
            fail(status, format!("deploy: Dokploy deployment {gen_id} ended {word}"));
            return Decision::new(Pace::Settled, fresh);
        }
        _ => {}
    }
    let generation = status.generations.iter().find(|g| &g.id == gen_id);
    let sent = generation
        .and_then(|g| g.deploy_time.as_ref().or(g.requested_time.as_ref()))
        .map_or(now, |t| t.0);
    if now >= sent.checked_add(signed(settings.deploy_timeout)).unwrap_or(sent) {
        fail(
            status,
            format!(
                "deploy: Dokploy deployment {gen_id} did not finish within {}s",
                settings.deploy_timeout.as_secs()
            ),
        );
        return Decision::new(Pace::Settled, fresh);
    }
    if found.is_none() && resend(generation, observed, settings, now) {
        status.generations = mark_resent(&status.generations, gen_id, now);
        let application = status.target_id.clone().unwrap_or_default();
        let message = format!(
            "no deployment titled {gen_id} appeared and Dokploy shows none under way for \
             application {application}: sending the deploy again, once"
        );
        let step = PreviewStep::Resend {
            application,
            title: gen_id.clone(),
            description: deploy_description(job),
        };
        return Decision::step(step, message, fresh);
    }
    Decision::new(Pace::Waiting(format!("deployment {gen_id} is running")), fresh)
}

/// Whether the generation's deploy, not found by its title, is sent again now (the rule lanes
/// follow too: [`crate::deployment_record::SentDeploy::resend`]).
fn resend(
    generation: Option<&PreviewGeneration>,
    observed: &Observation,
    settings: &PreviewSettings,
    now: Timestamp,
) -> bool {
    let activity = observed.activity.as_ref().and_then(|a| a.as_ref().ok());
    generation.and_then(sent_deploy).is_some_and(|sent| {
        sent.resend(
            signed(settings.resend_after),
            signed(settings.deploy_timeout),
            activity,
            now,
        )
    })
}
