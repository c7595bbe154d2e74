//! Tearing a preview down, decided from fresh reads, one delete at a time: the recorded
//! application only (never by name), and only when its ownership marker, read now by id, is
//! this Preview's; its domains first, then the application; then the confirmation that both are
//! gone from the Dokploy inventory and that the preview URL no longer answers with its
//! previewId. Any failure keeps the Preview (its finalizer in the cluster, its record in the
//! state folder) and says why.
//!
//! ```text
//!  read the recorded id ─► not recorded / 404 / not ours ─► done, nothing deleted (said why)
//!                       ─► ours ─► DeleteDomain (each of its domains) ─► DeleteApplication
//!                                    ─► confirm: not listed, host not listed, URL not serving
//! ```

use super::resolve::{preview_names, preview_owner};
use super::settings::PreviewSettings;
use super::step::PreviewStep;
use super::{Fresh, preview_conditions};
use crate::action::ExecError;
use crate::probe::{ProbeResult, ProbeTarget, Surfaces};
use jiff::Timestamp;
use launchplane_api::conditions::Progress;
use launchplane_api::identity::combine;
use launchplane_api::ownership::{Owner, Ownership, ownership};
use launchplane_api::resources::{Preview, PreviewStatus, Product};
use launchplane_providers::{OrgSnapshot, TargetDetail};
use thiserror::Error;

/// What teardown needs to know about a preview, from its spec where that still validates and
/// from what its status recorded otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeardownTarget {
    /// The recorded application id, if one was created: the only thing teardown deletes.
    pub target_id: Option<String>,
    /// Who the application must be marked as, to be deleted.
    pub owner: Owner,
    pub host: Option<String>,
    pub url: Option<String>,
    pub preview_id: Option<String>,
    pub health_path: String,
}

impl TeardownTarget {
    /// From the Preview's status (target id, slug, URL) and, when available, its Product;
    /// `instance` is this controller's instance id.
    pub fn of(preview: &Preview, product: Option<&Product>, instance: &str) -> Self {
        let status = preview.status.clone().unwrap_or_default();
        let derived = product.and_then(|p| preview_names(preview, p).ok());
        let product_name = product
            .and_then(|p| p.metadata.name.clone())
            .unwrap_or_else(|| preview.spec.product_ref.name.clone());
        let slug = status
            .slug
            .clone()
            .or_else(|| derived.as_ref().map(|n| n.slug.clone()));
        let url = status
            .url
            .clone()
            .or_else(|| derived.as_ref().map(|n| n.url.clone()));
        let host = url.as_deref().and_then(|u| {
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            rest.split(['/', ':']).next().map(str::to_string)
        });
        TeardownTarget {
            target_id: status.target_id.clone(),
            owner: preview_owner(preview, instance),
            preview_id: slug.as_ref().map(|s| format!("{product_name}-{s}")),
            host,
            url,
            health_path: product.map_or_else(|| "/healthz".into(), |p| p.spec.health_path.clone()),
        }
    }
}

/// Why a teardown did not complete (secret-free). The Preview stays.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TeardownError {
    #[error("deleting the preview's Dokploy domain {domain}: {error}")]
    Domain { domain: String, error: String },
    #[error("deleting the preview's Dokploy application {target}: {error}")]
    Application { target: String, error: String },
    #[error("cannot confirm the teardown: the Dokploy inventory could not be read ({0})")]
    Inventory(String),
    #[error("the Dokploy application {0} is still listed after its deletion")]
    StillListed(String),
    #[error("the domain {0} is still listed in Dokploy after its deletion")]
    DomainStillListed(String),
    #[error("{url} still answers with previewId {preview_id}")]
    StillServing { url: String, preview_id: String },
    #[error("no provider client for this preview's ProviderConfig")]
    NoProvider,
    #[error(
        "cannot read the Dokploy application {target} to check its ownership marker ({error}); nothing was deleted"
    )]
    OwnershipUnknown { target: String, error: String },
}

/// What a teardown removed, or left alone and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownReport {
    pub application: Option<String>,
    pub domains: Vec<String>,
    /// The recorded application was not deleted because it is not ours (the sentence says
    /// whose it is); a person decides what happens to it.
    pub left_alone: Option<String>,
}

impl TeardownReport {
    /// One sentence for status and the table.
    pub fn summary(&self) -> String {
        match (&self.application, &self.left_alone) {
            (Some(id), _) => format!("application {id} and its domains were removed"),
            (None, Some(why)) => format!("nothing was deleted: {why}"),
            (None, None) => "no application was recorded for it, so nothing was deleted".into(),
        }
    }
}

/// Where a teardown stands between its steps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownProgress {
    /// The recorded application was read in this teardown and is ours: its deletes go ahead.
    pub ours: bool,
    /// The ids of the domains deleted so far.
    pub deleted_domains: Vec<String>,
    pub report: TeardownReport,
}

impl TeardownProgress {
    /// `step` was performed.
    pub fn performed(&mut self, step: &PreviewStep) {
        match step {
            PreviewStep::DeleteDomain { domain, host } => {
                self.deleted_domains.push(domain.clone());
                self.report.domains.push(host.clone());
            }
            PreviewStep::DeleteApplication { application } => {
                self.report.application = Some(application.clone());
            }
            _ => {}
        }
    }
}

/// What to read for the teardown's next step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownNeeds {
    /// The recorded application by id, for its marker (until it is known to be ours).
    pub application: Option<String>,
    /// The preview URL, once the application is deleted (the confirmation).
    pub probe: Option<(ProbeTarget, Option<String>)>,
}

/// What was read for the teardown's next step. The org listing is always read.
#[derive(Clone, Debug, PartialEq)]
pub struct TeardownObservation {
    pub inventory: Result<OrgSnapshot, ExecError>,
    pub application: Option<Result<TargetDetail, ExecError>>,
    pub probe: Option<ProbeResult>,
}

/// Where the teardown goes next.
#[derive(Clone, Debug, PartialEq)]
pub enum TeardownNext {
    Step(PreviewStep),
    /// Done: the progress's report says what was removed or left alone.
    Done,
    Failed(TeardownError),
}

/// What to read next.
pub fn teardown_needs(
    target: &TeardownTarget,
    progress: &TeardownProgress,
    settings: &PreviewSettings,
) -> TeardownNeeds {
    let confirming = progress.report.application.is_some();
    let probe = match (&target.url, &target.host, &target.preview_id) {
        (Some(url), Some(host), Some(_)) if confirming => {
            let (base_url, host_header) = match &settings.probe_via {
                Some(via) => (via.trim_end_matches('/').to_string(), Some(host.clone())),
                None => (url.clone(), None),
            };
            let target = ProbeTarget {
                base_url,
                health_path: target.health_path.clone(),
                surfaces: Surfaces::default(),
            };
            Some((target, host_header))
        }
        _ => None,
    };
    TeardownNeeds {
        application: target.target_id.clone().filter(|_| !progress.ours),
        probe,
    }
}

/// The teardown's next step, from what was read now and what it did so far.
pub fn plan_teardown(
    target: &TeardownTarget,
    observed: &TeardownObservation,
    progress: &mut TeardownProgress,
) -> TeardownNext {
    let snapshot = match &observed.inventory {
        Ok(snapshot) => snapshot,
        Err(e) => return TeardownNext::Failed(TeardownError::Inventory(e.message().to_string())),
    };
    if let Some(id) = &progress.report.application {
        return confirm(target, snapshot, observed.probe.as_ref(), id);
    }
    // The recorded id only, and only when its marker, read now, is ours. Never by name: an
    // application of the same name may be anyone's.
    let Some(id) = &target.target_id else {
        return TeardownNext::Done;
    };
    if !progress.ours {
        match &observed.application {
            Some(Ok(detail)) => match ownership(detail.description.as_deref(), &target.owner) {
                Ownership::Ours => progress.ours = true,
                whose => {
                    progress.report.left_alone = Some(format!(
                        "Dokploy application {id} was recorded for this preview but {}, so it was left in place",
                        whose.describe()
                    ));
                    return TeardownNext::Done;
                }
            },
            // Already gone: nothing of ours to delete. Whatever still holds the host is someone
            // else's, so there is nothing to confirm either. An application created but never
            // recorded carries our marker and is left to the orphan sweep.
            Some(Err(ExecError::NotFound(_))) => return TeardownNext::Done,
            Some(Err(e)) => {
                return TeardownNext::Failed(TeardownError::OwnershipUnknown {
                    target: id.clone(),
                    error: e.message().to_string(),
                });
            }
            None => {
                return TeardownNext::Failed(TeardownError::OwnershipUnknown {
                    target: id.clone(),
                    error: "it was not read".into(),
                });
            }
        }
    }
    let domain = snapshot.domains.iter().find(|d| {
        d.service_owner_id.as_deref() == Some(id.as_str()) && !progress.deleted_domains.contains(&d.domain_id)
    });
    TeardownNext::Step(match domain {
        Some(d) => PreviewStep::DeleteDomain {
            domain: d.domain_id.clone(),
            host: d.host.clone(),
        },
        None => PreviewStep::DeleteApplication {
            application: id.clone(),
        },
    })
}

/// The status of a Preview whose teardown failed: its recorded application and history kept,
/// Stalled with `TeardownFailed` and `message` (which says what holds the Preview meanwhile).
pub fn teardown_stalled(preview: &Preview, message: String, now: Timestamp) -> PreviewStatus {
    let old = preview.status.clone().unwrap_or_default();
    let computed = preview_conditions(
        &old.conditions,
        old.generations.last(),
        &Fresh::default(),
        &Progress::Stalled {
            reason: "TeardownFailed".into(),
            message,
        },
        preview.metadata.generation,
        now,
    );
    PreviewStatus {
        conditions: computed.conditions,
        ..old
    }
}

/// `step` failed: the teardown stops and says which delete.
pub fn teardown_failed(step: &PreviewStep, error: &ExecError) -> TeardownError {
    let error = error.message().to_string();
    match step {
        PreviewStep::DeleteDomain { host, .. } => TeardownError::Domain {
            domain: host.clone(),
            error,
        },
        PreviewStep::DeleteApplication { application } => TeardownError::Application {
            target: application.clone(),
            error,
        },
        other => TeardownError::Application {
            target: other.name().to_string(),
            error,
        },
    }
}

/// The application `deleted` is gone from the listing, so is the preview's host, and its URL
/// no longer answers with its previewId.
fn confirm(
    target: &TeardownTarget,
    after: &OrgSnapshot,
    probe: Option<&ProbeResult>,
    deleted: &str,
) -> TeardownNext {
    if after.services.iter().any(|s| s.id == deleted) {
        return TeardownNext::Failed(TeardownError::StillListed(deleted.to_string()));
    }
    if let Some(host) = &target.host
        && after.domains.iter().any(|d| &d.host == host)
    {
        return TeardownNext::Failed(TeardownError::DomainStillListed(host.clone()));
    }
    if let (Some(url), Some(preview_id), Some(probe)) = (&target.url, &target.preview_id, probe) {
        let observed = combine(&probe.observations);
        if observed.payload.as_ref().and_then(|p| p.preview_id.as_deref()) == Some(preview_id.as_str()) {
            return TeardownNext::Failed(TeardownError::StillServing {
                url: url.clone(),
                preview_id: preview_id.clone(),
            });
        }
    }
    TeardownNext::Done
}
