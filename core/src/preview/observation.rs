//! Stage 2 of the preview pipeline: what to read for the generation's phase ([`needs`]), and
//! what was read ([`Observation`]). The shell reads exactly what [`Needs`] names, in the order
//! and under the conditions its methods state; every decision about what was read is the
//! plan's ([`super::plan()`]).
//!
//! - Failed, or stopped at stage 1: nothing.
//! - Ready: the recorded application by id; the preview URL.
//! - Requested or Deploying without a recorded application: the org listing, the preview
//!   environment, and the detail of the one application of the preview's name there.
//! - Requested: the recorded application by id; the deployment titled with the generation id.
//! - Deploying: the same; Dokploy's deploy activity when none appeared and the deploy is due
//!   for its re-send; the preview URL once the deployment is done.
//!
//! The reads after the recorded application's are made only when it is read and ours: a
//! Conflict, an application gone or unreadable decides the plan without them.

use super::resolve::{PreviewInputs, Resolved, probe_target, resolve};
use super::settings::PreviewSettings;
use super::{AppRead, EnvSetup, Listed, TargetCheck, check_target, conflict_message, sent_deploy};
use crate::action::ExecError;
use crate::deployment_record::DeployActivity;
use crate::probe::{ProbeResult, ProbeTarget};
use jiff::{SignedDuration, Timestamp};
use launchplane_api::ownership::{Owner, Ownership, ownership};
use launchplane_api::resources::{GenerationPhase, PreviewStatus};
use launchplane_providers::{Deployment, DeploymentStatus, TargetDetail};

/// What to read for one plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    /// No application is recorded: where it goes and what is already there.
    pub placement: Option<PlacementQuery>,
    /// The recorded application, by id (`application.one`), with the org listing after a 404.
    pub application: Option<ApplicationQuery>,
    /// The deployment titled with the generation id.
    pub deployment: Option<DeploymentQuery>,
    /// A probe of the preview URL.
    pub probe: Option<ProbeQuery>,
}

/// Where the preview's application goes: the org listing, the preview environment resolved
/// from it (and, for a name the listing cannot tell, `environment.byProjectId`), and the
/// applications of the preview's name there, with the detail of the one when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementQuery {
    /// The Dokploy application the template ProviderTarget is bound to.
    pub template_id: String,
    /// The Product's `preview.environment` (an id or a name); `None`: the template's own.
    pub environment: Option<String>,
    /// The preview application's name.
    pub name: String,
}

/// The recorded application, and who it must be marked as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationQuery {
    pub id: String,
    pub owner: Owner,
    /// The preview application's name (for the Conflict message).
    pub name: String,
}

/// The deployment of the generation, found by its title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentQuery {
    pub application: String,
    pub title: String,
    /// The deploy is due for its one re-send ([`crate::deployment_record::SentDeploy`]): when no
    /// deployment carries the title, read what Dokploy has under way for the application.
    pub activity_when_missing: bool,
}

/// A probe of the preview URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeQuery {
    pub target: ProbeTarget,
    /// Sent as `Host` (probing through `probe_via`).
    pub host: Option<String>,
    /// Only once the deployment is done (a deploying generation), or now (a Ready one).
    pub once_deployed: bool,
}

impl Needs {
    /// Whether the reads after the recorded application's (deployment, activity, probe) are
    /// worth making, given what its read found: only when it is ours.
    pub fn past_application(&self, read: Option<&ApplicationRead>) -> bool {
        match (&self.application, read) {
            (None, _) => true,
            (Some(q), Some(read)) => read.check(q) == TargetCheck::Ours,
            (Some(_), None) => false,
        }
    }

    /// Whether to read Dokploy's deploy activity after the lookup by title found `found`.
    pub fn wants_activity(&self, found: &Result<Option<Deployment>, ExecError>) -> bool {
        self.deployment
            .as_ref()
            .is_some_and(|q| q.activity_when_missing && matches!(found, Ok(None)))
    }

    /// Whether to probe, given what the lookup by title found (`None`: not looked up).
    pub fn wants_probe(&self, found: Option<&Result<Option<Deployment>, ExecError>>) -> bool {
        self.probe.as_ref().is_some_and(|p| {
            !p.once_deployed || matches!(found, Some(Ok(Some(d))) if d.status == DeploymentStatus::Done)
        })
    }
}

/// What the placement reads found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The preview environment's id, or why it could not be resolved.
    pub environment: Result<String, EnvSetup>,
    /// The applications of the preview's name in that environment (none when it did not
    /// resolve).
    pub named: Vec<String>,
    /// The detail of the one named application, when there is exactly one.
    pub detail: Option<Result<TargetDetail, ExecError>>,
}

/// The recorded application, read by id now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRead {
    /// `application.one`: a 404 is [`ExecError::NotFound`].
    pub detail: Result<TargetDetail, ExecError>,
    /// After a 404 only: whether the org listing still lists it.
    pub listed: Option<Listed>,
}

impl ApplicationRead {
    /// Whether the org listing is to be asked after `detail`: after a 404 only.
    pub fn wants_listing(detail: &Result<TargetDetail, ExecError>) -> bool {
        matches!(detail, Err(ExecError::NotFound(_)))
    }

    /// What the reads say of the recorded application ([`check_target`]).
    pub fn check(&self, query: &ApplicationQuery) -> TargetCheck {
        let read = match &self.detail {
            Ok(detail) => match ownership(detail.description.as_deref(), &query.owner) {
                Ownership::Ours => AppRead::Ours,
                whose => AppRead::NotOurs(conflict_message(&query.id, &query.name, &whose)),
            },
            Err(ExecError::NotFound(_)) => AppRead::NotFound,
            Err(e) => AppRead::Failed(e.message().to_string()),
        };
        check_target(&query.id, read, self.listed.clone())
    }
}

/// What was read for one plan: the answers to [`Needs`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// The placement reads, or why the org listing (or the project's environments) could not be
    /// read (a secret-free sentence).
    pub placement: Option<Result<Placement, String>>,
    pub application: Option<ApplicationRead>,
    /// The deployment titled with the generation id, if one has started.
    pub deployment: Option<Result<Option<Deployment>, ExecError>>,
    pub activity: Option<Result<DeployActivity, ExecError>>,
    pub probe: Option<ProbeResult>,
}

/// What to read for the Preview's current state (see the module's table).
pub fn needs(
    inputs: &PreviewInputs<'_>,
    status: &PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
) -> Needs {
    let (job, status) = match resolve(inputs, status, settings, now) {
        Resolved::Job(job, status) => (job, status),
        Resolved::Early(..) => return Needs::default(),
    };
    let Some(generation) = status.generations.iter().find(|g| g.id == job.generation_id) else {
        return Needs::default();
    };
    let (probe, host) = probe_target(job.product, &job.names, settings);
    let probe = |once_deployed| ProbeQuery {
        target: probe.clone(),
        host: host.clone(),
        once_deployed,
    };
    let application = |id: &str| ApplicationQuery {
        id: id.to_string(),
        owner: job.owner.clone(),
        name: job.names.target_name.clone(),
    };
    match (generation.phase, status.target_id.as_deref()) {
        (GenerationPhase::Failed, _) | (GenerationPhase::Ready, None) => Needs::default(),
        (GenerationPhase::Ready, Some(id)) => Needs {
            application: Some(application(id)),
            probe: Some(probe(false)),
            ..Needs::default()
        },
        (_, None) => Needs {
            placement: Some(PlacementQuery {
                template_id: job.template_id.clone(),
                environment: job.product.spec.preview.environment.clone(),
                name: job.names.target_name.clone(),
            }),
            ..Needs::default()
        },
        (phase, Some(id)) => {
            let deploying = phase == GenerationPhase::Deploying;
            let resend_due = sent_deploy(generation).is_some_and(|sent| {
                sent.resend_due(
                    signed(settings.resend_after),
                    signed(settings.deploy_timeout),
                    now,
                )
            });
            Needs {
                application: Some(application(id)),
                deployment: Some(DeploymentQuery {
                    application: id.to_string(),
                    title: job.generation_id.clone(),
                    activity_when_missing: deploying && resend_due,
                }),
                probe: deploying.then(|| probe(true)),
                ..Needs::default()
            }
        }
    }
}

pub(super) fn signed(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}
