//! The DeploymentRecords of a lane as its own reconcile reads them: those this controller
//! wrote, and the evidence others wrote for it. The lane, its Promotions and its
//! DataBootstraps all read them so.

use crate::engine::{Result, StatusStore, World};
use launchplane_api::resources::{DeploymentRecord, Lane};

/// The DeploymentRecords others wrote for Lane `namespace/name` (evidence to verify).
pub fn evidence_of(world: &World, namespace: &str, name: &str) -> Vec<DeploymentRecord> {
    world
        .caches
        .in_namespace::<DeploymentRecord>(namespace)
        .iter()
        .filter(|r| r.spec.lane_ref.as_ref().is_some_and(|l| l.name == name))
        .map(|r| r.as_ref().clone())
        .collect()
}

/// The DeploymentRecords of `lane`, as its own reconcile reads them (its own and others').
pub async fn lane_records<S: StatusStore>(
    world: &World,
    store: &S,
    lane: &Lane,
    namespace: &str,
) -> Result<Vec<DeploymentRecord>> {
    let name = lane.metadata.name.clone().unwrap_or_default();
    store
        .lane_records(lane, evidence_of(world, namespace, &name))
        .list(namespace, &name)
        .await
        .map_err(|e| {
            crate::engine::Error::write(
                format!("listing the DeploymentRecords of lane {namespace}/{name}"),
                e,
            )
        })
}
