//! The reads a preview's plan asks for ([`Needs`]), made through the one executor and the
//! prober, in the order and under the conditions [`Needs`] states. Nothing here decides.

use crate::engine::executor::{Executor, probe_as};
use crate::observe::prober::Prober;
use launchplane_core::preview::{
    ApplicationQuery, ApplicationRead, EnvSetup, Listed, Located, Needs, Observation, Placement,
    PlacementQuery, ProjectEnvironment, among_project, locate, named_in, project_unlisted,
};
use launchplane_core::target::TargetRef;
use launchplane_providers::{OrgSnapshot, TargetCategory};

/// Read what `needs` names.
pub(super) async fn observe(needs: &Needs, exec: &Executor, prober: &Prober) -> Observation {
    let mut observed = Observation::default();
    if let Some(query) = &needs.placement {
        observed.placement = Some(placement(exec, query).await);
    }
    if let Some(query) = &needs.application {
        observed.application = Some(application(exec, query).await);
    }
    if !needs.past_application(observed.application.as_ref()) {
        return observed;
    }
    if let Some(query) = &needs.deployment {
        let target = TargetRef {
            category: TargetCategory::Application,
            id: query.application.clone(),
        };
        let found = exec.find_deployment(&target, &query.title).await;
        if needs.wants_activity(&found) {
            let activity = exec.deploy_activity(&target).await;
            if let Err(error) = &activity {
                // Without proof that Dokploy is idle for the app, nothing is re-sent.
                tracing::warn!(%error, "cannot read Dokploy's deploy activity; not re-sending");
            }
            observed.activity = Some(activity);
        }
        observed.deployment = Some(found);
    }
    if needs.wants_probe(observed.deployment.as_ref())
        && let Some(probe) = &needs.probe
    {
        observed.probe = Some(probe_as(prober, &probe.target, probe.host.as_deref()).await);
    }
    observed
}

/// The recorded application by id, and after a 404 the org listing.
async fn application(exec: &Executor, query: &ApplicationQuery) -> ApplicationRead {
    let detail = exec.application(&query.id).await;
    let listed = if ApplicationRead::wants_listing(&detail) {
        Some(match exec.inventory().await {
            Ok(snapshot) if snapshot.services.iter().any(|s| s.id == query.id) => Listed::Present,
            Ok(_) => Listed::Absent,
            Err(e) => Listed::Failed(e.message().to_string()),
        })
    } else {
        None
    };
    ApplicationRead { detail, listed }
}

/// The org listing, the preview environment, the applications of the preview's name there and
/// the detail of the one. `Err`: why it could not be read (retried soon).
async fn placement(exec: &Executor, query: &PlacementQuery) -> Result<Placement, String> {
    let snapshot = exec.inventory().await.map_err(|e| e.message().to_string())?;
    let environment = environment(exec, &snapshot, &query.template_id, query.environment.as_deref()).await?;
    let named = match &environment {
        Ok(environment) => named_in(&snapshot, environment, &query.name),
        Err(_) => Vec::new(),
    };
    let detail = match named.as_slice() {
        [one] => Some(exec.application(one).await),
        _ => None,
    };
    Ok(Placement {
        environment,
        named,
        detail,
    })
}

/// The preview environment ([`locate`]), asking the template's project for its environments
/// when the listing cannot tell. `Err`: the project could not be asked (retried soon).
pub(super) async fn environment(
    exec: &Executor,
    snapshot: &OrgSnapshot,
    template_id: &str,
    wanted: Option<&str>,
) -> Result<Result<String, EnvSetup>, String> {
    let project = match locate(snapshot, template_id, wanted) {
        Located::Found(id) => return Ok(Ok(id)),
        Located::Setup(setup) => return Ok(Err(setup)),
        Located::AskProject(project) => project,
    };
    let wanted = wanted.unwrap_or_default();
    match exec.project_environments(&project).await {
        Ok(environments) => {
            let environments: Vec<ProjectEnvironment> = environments
                .into_iter()
                .map(|e| ProjectEnvironment {
                    id: e.environment_id,
                    name: e.name,
                })
                .collect();
            Ok(among_project(snapshot, wanted, &project, &environments))
        }
        Err(e) => project_unlisted(&project, &e).map(Err),
    }
}
