//! The Artifact controller: check the manifest and record which lanes want or run it (so it is
//! protected), from the lane store. Lanes ask for a recount when their wish or inventory moves;
//! a new or edited artifact asks the lanes that want it to look again.

use super::common::{failure_key, namespace_and_name, write_status_if_changed};
use super::context::Context;
use super::error::Result;
use super::events::publish_transition;
use super::provider_config::ready_message;
use crate::error_policy::jittered;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use launchplane_api::resources::{Artifact, Lane};
use launchplane_core::artifact::reconcile as compute;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "Artifact";

/// A recount now and then, in case a trigger was lost (lanes also ask after each change).
const RECOUNT: Duration = Duration::from_secs(600);

/// Reconcile one Artifact.
#[tracing::instrument(skip_all, fields(kind = KIND, name = %artifact.name_any(), namespace = artifact.namespace().unwrap_or_default()))]
pub async fn reconcile(artifact: Arc<Artifact>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let (namespace, name) = namespace_and_name(artifact.as_ref(), KIND)?;
    ctx.lanes.lanes.synced().await;
    let lanes: Vec<Lane> = ctx
        .lanes
        .lanes
        .state_filter(|l| l.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .iter()
        .map(|l| l.as_ref().clone())
        .collect();
    let outcome = compute(&artifact, &lanes, ctx.now());

    let api: Api<Artifact> = Api::namespaced(ctx.client.clone(), &namespace);
    let old = artifact.status.as_ref();
    write_status_if_changed(&api, KIND, &namespace, &name, old, &outcome.status).await?;
    if let Some(verdict) = outcome.status.verdict {
        publish_transition(
            &ctx.recorder,
            artifact.as_ref(),
            old.and_then(|s| s.verdict),
            verdict,
            &ready_message(&outcome.status.conditions),
        )
        .await;
    }
    // Lanes that want this artifact and have not deployed it yet look again (it may have
    // just been created or fixed).
    let wanting = lanes.iter().filter(|l| {
        l.spec.artifact_ref.as_ref().is_some_and(|r| r.name == name)
            && l.status
                .as_ref()
                .and_then(|s| s.inventory.as_ref())
                .is_none_or(|i| i.artifact != name)
    });
    for lane in wanting {
        let _ = ctx.lanes.lane_trigger.unbounded_send(ObjectRef::from_obj(lane));
    }
    ctx.metrics.reconciled(KIND, started.elapsed());
    ctx.failures.succeeded(&failure_key(artifact.as_ref(), KIND));
    Ok(Action::requeue(jittered(RECOUNT)))
}

/// The Artifact controller over `stream`, plus the recounts `triggered` by lanes.
pub async fn controller(
    stream: impl futures::Stream<Item = std::result::Result<Artifact, kube::runtime::watcher::Error>>
    + Send
    + 'static,
    reader: kube::runtime::reflector::Store<Artifact>,
    triggered: impl futures::Stream<Item = ObjectRef<Artifact>> + Send + 'static,
    ctx: Arc<Context>,
    shutdown: super::run::Shutdown,
) {
    use futures::StreamExt;
    kube::runtime::Controller::for_stream(stream, reader)
        .reconcile_on(triggered)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, super::common::policy_for(KIND), ctx)
        .for_each(|result| super::run::report(KIND, result))
        .await;
}
