//! Where previews live: `preview.environment` resolved among the environments of the template
//! target's project.

use crate::action::ExecError;
use launchplane_providers::{OrgSnapshot, ServiceSummary, TargetCategory};
use std::collections::BTreeSet;

/// An environment of the template target's project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectEnvironment {
    pub id: String,
    pub name: Option<String>,
}

/// Resolve `preview.environment` (`wanted`) to an environment id: an environment of the
/// template target's project (`environments`) by id, else by name (exactly one may carry it),
/// else an environment id the org listing shows (`listed`: an environment of another project
/// that holds services). `Err`: a sentence saying what to fix.
pub fn resolve_environment(
    wanted: &str,
    project: &str,
    environments: &[ProjectEnvironment],
    listed: &BTreeSet<&str>,
) -> Result<String, String> {
    if environments.iter().any(|e| e.id == wanted) {
        return Ok(wanted.to_string());
    }
    let named: BTreeSet<&str> = environments
        .iter()
        .filter(|e| e.name.as_deref() == Some(wanted))
        .map(|e| e.id.as_str())
        .collect();
    match named.len() {
        1 => return Ok(named.into_iter().next().unwrap_or_default().to_string()),
        0 => {}
        n => {
            return Err(format!(
                "{n} environments of project {project} (the template target's) are named {wanted:?}; \
                 set preview.environment to the id of the one previews go to"
            ));
        }
    }
    if listed.contains(wanted) {
        return Ok(wanted.to_string());
    }
    Err(format!(
        "preview.environment {wanted:?} is neither the id nor the name of an environment of \
         project {project} (the template target's); create that environment in Dokploy or fix \
         preview.environment"
    ))
}

/// The preview environment could not be resolved: a setup problem a person fixes in Dokploy or
/// in the Product (the Preview stalls with `reason` and retries on its resync).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSetup {
    pub reason: &'static str,
    pub message: String,
}

impl EnvSetup {
    fn not_found(message: String) -> Self {
        EnvSetup {
            reason: "PreviewEnvironmentNotFound",
            message,
        }
    }
}

/// Where the org listing says previews go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// The preview environment's id.
    Found(String),
    /// `preview.environment` is not among the environments the listing shows for the template's
    /// project (an environment without services does not appear there): ask the project.
    AskProject(String),
    /// It cannot be resolved.
    Setup(EnvSetup),
}

/// The preview environment as far as the org listing `snapshot` tells: `wanted`
/// (`preview.environment`, an id or name) among the environments of the template target's
/// project, else the template target's own environment.
pub fn locate(snapshot: &OrgSnapshot, template_id: &str, wanted: Option<&str>) -> Located {
    let Some(template) = snapshot.services.iter().find(|s| s.id == template_id) else {
        return Located::Setup(EnvSetup {
            reason: "TemplateTargetNotListed",
            message: format!(
                "the template target {template_id} is not in the Dokploy inventory; fix the \
                 Product's preview.templateTargetRef or its ProviderTarget"
            ),
        });
    };
    let Some(wanted) = wanted else {
        return match template.environment_id.clone() {
            Some(id) => Located::Found(id),
            None => Located::Setup(EnvSetup::not_found(format!(
                "Dokploy lists no environment for the template target {template_id}"
            ))),
        };
    };
    let Some(project) = template.project_id.as_deref() else {
        return Located::Setup(EnvSetup::not_found(format!(
            "Dokploy lists no project for the template target {template_id}"
        )));
    };
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
    match resolve_environment(wanted, project, &seen, &listed(snapshot)) {
        Ok(id) => Located::Found(id),
        Err(_) => Located::AskProject(project.to_string()),
    }
}

/// `wanted` among `environments`, every environment of `project` as Dokploy lists them
/// (`environment.byProjectId`).
pub fn among_project(
    snapshot: &OrgSnapshot,
    wanted: &str,
    project: &str,
    environments: &[ProjectEnvironment],
) -> Result<String, EnvSetup> {
    resolve_environment(wanted, project, environments, &listed(snapshot)).map_err(EnvSetup::not_found)
}

/// The project's environments could not be listed: `Err` when that is worth retrying soon,
/// else the setup problem it is.
pub fn project_unlisted(project: &str, error: &ExecError) -> Result<EnvSetup, String> {
    let message = format!(
        "listing the environments of project {project}: {}",
        error.message()
    );
    if error.is_refused() {
        Ok(EnvSetup::not_found(message))
    } else {
        Err(message)
    }
}

/// Every environment id the org listing shows.
fn listed(snapshot: &OrgSnapshot) -> BTreeSet<&str> {
    snapshot
        .services
        .iter()
        .filter_map(|s| s.environment_id.as_deref())
        .collect()
}

/// The applications of `environment`, as the org listing shows them.
pub fn in_environment<'a>(
    snapshot: &'a OrgSnapshot,
    environment: &'a str,
) -> impl Iterator<Item = &'a ServiceSummary> {
    snapshot.services.iter().filter(move |s| {
        s.category.target() == Some(TargetCategory::Application)
            && s.environment_id.as_deref() == Some(environment)
    })
}

/// The ids of the applications named `name` in `environment`.
pub fn named_in(snapshot: &OrgSnapshot, environment: &str, name: &str) -> Vec<String> {
    in_environment(snapshot, environment)
        .filter(|s| s.name.as_deref() == Some(name))
        .map(|s| s.id.clone())
        .collect()
}
