//! BackupGate: judge the evidence a backup workflow wrote ([`launchplane_core::backup_gate`]),
//! name the Promotion that used it, and wake the Promotions into its lane when it becomes
//! usable. This reconcile is the one writer of a BackupGate's status.

use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{BackupGate, BackupResult, Lane, Promotion};
use launchplane_core::{backup_gate, promotion};
use std::sync::Arc;
use std::time::Duration;

/// A look now and then: a backup taken "in the future" (a clock ahead) becomes sane with time.
const RECHECK: Duration = Duration::from_secs(300);

/// Reconcile one BackupGate.
#[tracing::instrument(skip_all, fields(kind = "BackupGate", name = %gate.metadata.name.as_deref().unwrap_or_default(), namespace = gate.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    gate: Arc<BackupGate>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, _) = namespace_and_name(gate.as_ref())?;
    let caches = &world.caches;
    caches.lanes.synced().await;
    caches.promotions.synced().await;
    let lane = &gate.spec.lane_ref.name;
    let lane_exists = caches.get::<Lane>(&namespace, lane).is_some();
    let promotions = caches.in_namespace::<Promotion>(&namespace);
    let refs: Vec<&Promotion> = promotions.iter().map(AsRef::as_ref).collect();
    let outcome = backup_gate::reconcile(&gate, lane_exists, &refs, world.now());
    let status = &outcome.status;
    let was_passed = gate.status.as_ref().and_then(|s| s.result) == Some(BackupResult::Passed);
    let message = ready_message(&status.conditions);
    let written = commit(store, gate.as_ref(), status, Some(&message)).await?;
    let mut wake = Vec::new();
    if written && !was_passed && status.result == Some(BackupResult::Passed) {
        // A usable BackupGate: the Promotions into its lane that wait may go.
        wake.extend(
            refs.iter()
                .filter(|p| p.spec.to_lane == *lane && !promotion::phase(p).is_final())
                .map(|p| Wake::Promotion(ObjectRef::from_obj(*p))),
        );
    }
    Ok(Reconciled::after(jittered(RECHECK)).waking(wake))
}
