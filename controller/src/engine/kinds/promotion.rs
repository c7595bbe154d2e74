//! Promotion: gather what its gates and outcome read from the World, let
//! [`launchplane_core::promotion::plan`] decide, announce the gates whose answer changed, write
//! the status, and wake what the new status concerns.
//!
//! ```text
//!  caches: the namespace's Lanes, Promotions, BackupGates, Approvals, Artifacts
//!  records: the destination lane's DeploymentRecords (the store's, as the lane reads them)
//!        │
//!        ▼
//!  plan ─► gate news ─► Events (cluster) ─► status ─► wakes: the destination lane when the
//!  phase moved (its feed changed), the Promotions queued behind once this one finished, the
//!  BackupGate it took ─► look again at the earliest deferral, while deploying, or now and then
//! ```
//!
//! Nothing here touches Dokploy: the destination lane deploys (its feed names the Promotion).

use crate::engine::lane_records::lane_records;
use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, GateOutcome, Lane, Promotion, PromotionPhase,
};
use launchplane_core::promotion::{self, PromotionInputs};
use std::sync::Arc;
use std::time::Duration;

/// How often a Promotion waiting on something other than time looks again (what it waits for
/// wakes it sooner: a BackupGate, an Approval, its lanes).
const RECHECK: Duration = Duration::from_secs(300);

/// How often a deploying Promotion looks at its destination (the lane's status wakes it too).
const DEPLOYING_RECHECK: Duration = Duration::from_secs(30);

/// The Event reason of a gate's new answer.
fn news_reason(outcome: GateOutcome) -> &'static str {
    match outcome {
        GateOutcome::Allow => "GateAllowed",
        GateOutcome::Deny => "GateDenied",
        GateOutcome::Defer => "GateDeferred",
    }
}

/// Reconcile one Promotion.
#[tracing::instrument(skip_all, fields(kind = "Promotion", name = %promotion.metadata.name.as_deref().unwrap_or_default(), namespace = promotion.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    promotion: Arc<Promotion>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, _) = namespace_and_name(promotion.as_ref())?;
    let caches = &world.caches;
    // Before the caches have listed, a lane or a BackupGate would look missing and a gate
    // would deny for nothing.
    caches.lanes.synced().await;
    caches.promotions.synced().await;
    caches.backup_gates.synced().await;
    caches.approvals.synced().await;
    caches.artifacts.synced().await;
    caches.records.synced().await;
    if promotion::phase(&promotion).is_final() && promotion.status.is_some() {
        return Ok(Reconciled::on_change());
    }
    let lanes = caches.in_namespace::<Lane>(&namespace);
    let promotions = caches.in_namespace::<Promotion>(&namespace);
    let gates = caches.in_namespace::<BackupGate>(&namespace);
    let approvals = caches.in_namespace::<Approval>(&namespace);
    let artifacts = caches.in_namespace::<Artifact>(&namespace);
    caches.data_bootstraps.synced().await;
    let bootstraps = caches.in_namespace::<launchplane_api::resources::DataBootstrap>(&namespace);
    let to = lanes
        .iter()
        .find(|l| l.metadata.name.as_deref() == Some(promotion.spec.to_lane.as_str()));
    let records = match to {
        Some(lane) => lane_records(world, store, lane, &namespace).await?,
        None => Vec::new(),
    };
    let refs = |v: &[Arc<Promotion>]| -> Vec<Promotion> { v.iter().map(|p| p.as_ref().clone()).collect() };
    let mut others = refs(&promotions);
    // The cache may lag behind this very object; the one being reconciled is the truth.
    match others
        .iter_mut()
        .find(|p| p.metadata.name == promotion.metadata.name)
    {
        Some(p) => *p = promotion.as_ref().clone(),
        None => others.push(promotion.as_ref().clone()),
    }
    let now = world.now();
    let plan = promotion::plan(
        &PromotionInputs {
            promotion: &promotion,
            lanes: &lanes.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            promotions: &others.iter().collect::<Vec<_>>(),
            records: &records,
            backup_gates: &gates.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            approvals: &approvals.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            artifacts: &artifacts.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            bootstraps: &bootstraps.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
        },
        now,
    );
    for gate in &plan.news {
        let message = format!("{}: {}", gate.name, gate.message);
        store
            .notify(
                promotion.as_ref(),
                news_reason(gate.outcome),
                &message,
                gate.outcome == GateOutcome::Deny,
            )
            .await;
    }
    let status = &plan.outcome.status;
    let message = ready_message(&status.conditions);
    let old_phase = promotion::phase(&promotion);
    let new_phase = status.phase.unwrap_or_default();
    let written = commit(store, promotion.as_ref(), status, Some(&message)).await?;
    let mut wake = Vec::new();
    if written && old_phase != new_phase {
        // The destination's feed follows the phase (Deploying names it; a final one reverts
        // or settles it).
        wake.push(Wake::Lane(
            ObjectRef::new(&promotion.spec.to_lane).within(&namespace),
        ));
        if new_phase.is_final() {
            wake.extend(
                others
                    .iter()
                    .filter(|p| {
                        p.spec.to_lane == promotion.spec.to_lane && p.metadata.name != promotion.metadata.name
                    })
                    .filter(|p| !promotion::phase(p).is_final())
                    .map(|p| Wake::Promotion(ObjectRef::from_obj(p))),
            );
        }
    }
    if let Some(gate) = status.backup_gate.as_ref().filter(|_| written) {
        wake.push(Wake::BackupGate(ObjectRef::new(gate).within(&namespace)));
    }
    let reconciled = match new_phase {
        PromotionPhase::Succeeded | PromotionPhase::Failed => Reconciled::on_change(),
        PromotionPhase::Deploying => Reconciled::after(DEPLOYING_RECHECK),
        PromotionPhase::Pending | PromotionPhase::Blocked => match plan.retry_at {
            Some(at) => {
                let wait = now.duration_until(at).as_secs().max(1);
                Reconciled::after(Duration::from_secs(u64::try_from(wait).unwrap_or(1)).min(RECHECK))
            }
            None => Reconciled::after(jittered(RECHECK)),
        },
    };
    Ok(reconciled.waking(wake))
}

/// The Promotions a change of lane `name` concerns: those from it and into it that have not
/// finished.
pub fn promotions_of_lane(world: &World, namespace: &str, name: &str) -> Vec<Wake> {
    world
        .caches
        .in_namespace::<Promotion>(namespace)
        .iter()
        .filter(|p| p.spec.to_lane == name || p.spec.from_lane.as_deref() == Some(name))
        .filter(|p| !promotion::phase(p).is_final())
        .map(|p| Wake::Promotion(ObjectRef::from_obj(p.as_ref())))
        .collect()
}
