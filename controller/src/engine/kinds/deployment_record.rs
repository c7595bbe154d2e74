//! DeploymentRecord. Records the controller writes are moved forward by their lane (every
//! phase is a step of the lane driver); this reconcile makes records given as evidence by
//! external workflows visible at once: it writes their first status (Pending, verdict
//! Unchecked, so `kubectl get deploymentrecords` shows them) and wakes their lane, whose next
//! reconcile writes the verification outcome on the record.

use crate::engine::{Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name};
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{DeploymentPhase, DeploymentRecord, DeploymentRecordStatus, Lane};
use launchplane_core::deployment_record::{self as record, LANE_LABEL};
use std::sync::Arc;
use std::time::Duration;

/// How often evidence whose lane does not exist looks again.
const LANE_MISSING_RECHECK: Duration = Duration::from_secs(300);

/// The Lane a record belongs to: `spec.laneRef`, else the lane label.
pub fn lane_of(rec: &DeploymentRecord) -> Option<String> {
    rec.spec.lane_ref.as_ref().map(|l| l.name.clone()).or_else(|| {
        rec.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LANE_LABEL))
            .cloned()
    })
}

/// Reconcile one DeploymentRecord.
#[tracing::instrument(skip_all, fields(kind = "DeploymentRecord", name = %rec.metadata.name.as_deref().unwrap_or_default(), namespace = rec.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    rec: Arc<DeploymentRecord>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, _) = namespace_and_name(rec.as_ref())?;
    // Preview records belong to their Preview.
    let Some(lane_name) = lane_of(&rec).filter(|_| rec.spec.preview_ref.is_none()) else {
        return Ok(Reconciled::on_change());
    };
    let mut result = Reconciled::on_change();
    if record::is_evidence(&rec) {
        if rec.status.is_none() {
            let first = record::summarize(
                &rec,
                DeploymentRecordStatus {
                    phase: Some(DeploymentPhase::Pending),
                    ..Default::default()
                },
                world.now(),
            );
            commit(store, rec.as_ref(), &first, None).await?;
        }
        world.caches.lanes.synced().await;
        if world.caches.get::<Lane>(&namespace, &lane_name).is_none()
            && !record::is_terminal(record::phase(&rec))
        {
            tracing::info!(lane = %lane_name, "evidence names a lane that does not exist (yet)");
            result = Reconciled::after(LANE_MISSING_RECHECK);
        }
    }
    // The lane plans from its records: a new one is news for it.
    Ok(result.waking([Wake::Lane(ObjectRef::new(&lane_name).within(&namespace))]))
}
