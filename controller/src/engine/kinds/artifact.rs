//! Artifact: check the manifest and record which lanes want or run it (so it is protected).
//! Lanes wake it when their wish or inventory moves; a new or edited artifact wakes the lanes
//! that want it and have not deployed it yet, and the Previews that name it.

use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{Artifact, Lane, Preview};
use launchplane_core::artifact::reconcile as compute;
use std::sync::Arc;
use std::time::Duration;

/// A recount now and then, in case a wake was lost (lanes also ask after each change).
const RECOUNT: Duration = Duration::from_secs(600);

/// Reconcile one Artifact.
#[tracing::instrument(skip_all, fields(kind = "Artifact", name = %artifact.metadata.name.as_deref().unwrap_or_default(), namespace = artifact.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    artifact: Arc<Artifact>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, name) = namespace_and_name(artifact.as_ref())?;
    world.caches.lanes.synced().await;
    let lanes: Vec<Lane> = world
        .caches
        .in_namespace::<Lane>(&namespace)
        .iter()
        .map(|l| l.as_ref().clone())
        .collect();
    let outcome = compute(&artifact, &lanes, world.now());
    let message = ready_message(&outcome.status.conditions);
    commit(store, artifact.as_ref(), &outcome.status, Some(&message)).await?;
    // Lanes that want this artifact and have not deployed it yet look again (it may have
    // just been created or fixed).
    let wanting = lanes
        .iter()
        .filter(|l| {
            let wanted = l.spec.artifact_ref.as_ref().is_some_and(|r| r.name == name)
                || l.status
                    .as_ref()
                    .and_then(|s| s.desired.as_ref())
                    .is_some_and(|d| d.artifact == name);
            wanted
                && l.status
                    .as_ref()
                    .and_then(|s| s.inventory.as_ref())
                    .is_none_or(|i| i.artifact != name)
        })
        .map(|l| Wake::Lane(ObjectRef::from_obj(l)));
    // Previews waiting for this artifact (CI creates it after pushing the image) deploy now
    // rather than at their next look.
    world.caches.previews.synced().await;
    let waiting = world
        .caches
        .in_namespace::<Preview>(&namespace)
        .into_iter()
        .filter(|p| p.spec.artifact_ref.name == name)
        .map(|p| Wake::Preview(ObjectRef::from_obj(p.as_ref())));
    Ok(Reconciled::after(jittered(RECOUNT)).waking(wanting.chain(waiting)))
}
