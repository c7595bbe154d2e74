//! The Dokploy environment a product's previews live in.

use super::{Failure, classify_error};
use launchplane_api::resources::Product;
use launchplane_core::preview::{ProjectEnvironment, resolve_environment};
use launchplane_providers::{OrgSnapshot, Provider};
use std::collections::BTreeSet;

/// Why the preview environment could not be resolved.
pub(super) enum EnvFailure {
    /// A setup problem a person fixes in Dokploy or the Product: stall and retry on the resync.
    Setup(&'static str, String),
    /// Dokploy could not be asked: retry soon.
    Transient(String),
}

impl EnvFailure {
    pub(super) fn message(self) -> String {
        match self {
            EnvFailure::Setup(_, m) | EnvFailure::Transient(m) => m,
        }
    }
}

/// The id of the Dokploy environment previews of `product` live in: `preview.environment`
/// resolved by [`resolve_environment`] (an id or name of an environment of the template
/// target's project), else the template target's own environment. Names are looked up in the
/// org listing first and, when it cannot tell (an environment without services does not
/// appear there), through `environment.byProjectId`.
pub(super) async fn preview_environment(
    provider: &dyn Provider,
    snapshot: &OrgSnapshot,
    product: &Product,
    template_id: &str,
) -> Result<String, EnvFailure> {
    let template = snapshot
        .services
        .iter()
        .find(|s| s.id == template_id)
        .ok_or_else(|| {
            EnvFailure::Setup(
                "TemplateTargetNotListed",
                format!(
                    "the template target {template_id} is not in the Dokploy inventory; fix the \
                     Product's preview.templateTargetRef or its ProviderTarget"
                ),
            )
        })?;
    let Some(wanted) = product.spec.preview.environment.as_deref() else {
        return template.environment_id.clone().ok_or_else(|| {
            EnvFailure::Setup(
                "PreviewEnvironmentNotFound",
                format!("Dokploy lists no environment for the template target {template_id}"),
            )
        });
    };
    let Some(project) = template.project_id.as_deref() else {
        return Err(EnvFailure::Setup(
            "PreviewEnvironmentNotFound",
            format!("Dokploy lists no project for the template target {template_id}"),
        ));
    };
    let listed: BTreeSet<&str> = snapshot
        .services
        .iter()
        .filter_map(|s| s.environment_id.as_deref())
        .collect();
    let mut seen: Vec<ProjectEnvironment> = Vec::new();
    for s in snapshot
        .services
        .iter()
        .filter(|s| s.project_id.as_deref() == Some(project))
    {
        if let Some(id) = &s.environment_id
            && !seen.iter().any(|e| &e.id == id)
        {
            seen.push(ProjectEnvironment {
                id: id.clone(),
                name: s.environment_name.clone(),
            });
        }
    }
    if let Ok(id) = resolve_environment(wanted, project, &seen, &listed) {
        return Ok(id);
    }
    let environments = provider
        .project_environments(project)
        .await
        .map_err(|e| match classify_error(e) {
            Failure::Refused(e) => EnvFailure::Setup(
                "PreviewEnvironmentNotFound",
                format!("listing the environments of project {project}: {e}"),
            ),
            Failure::Transient(e) => {
                EnvFailure::Transient(format!("listing the environments of project {project}: {e}"))
            }
        })?;
    let environments: Vec<ProjectEnvironment> = environments
        .into_iter()
        .map(|e| ProjectEnvironment {
            id: e.environment_id,
            name: e.name,
        })
        .collect();
    resolve_environment(wanted, project, &environments, &listed)
        .map_err(|m| EnvFailure::Setup("PreviewEnvironmentNotFound", m))
}
