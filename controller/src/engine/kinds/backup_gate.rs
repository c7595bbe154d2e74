//! BackupGate: judge the evidence a backup workflow wrote ([`launchplane_core::backup_gate`]),
//! or take the backup itself for a gate with `spec.capture` ([`crate::engine::backup_capture`]),
//! name the Promotion that used it, and wake the Promotions into its lane when it becomes
//! usable. This reconcile is the one writer of a BackupGate's status.

use crate::engine::backup_capture::{CaptureSink, CaptureWorld, capture};
use crate::engine::executor::Executor;
use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use futures::future::BoxFuture;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{
    BackupGate, BackupResult, CaptureStatus, Lane, Product, Promotion, ProviderTarget,
};
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
    let lane = gate.spec.lane_ref.name.clone();
    let lane = &lane;
    let lane_object = caches.get::<Lane>(&namespace, lane);
    let lane_exists = lane_object.is_some();
    let promotions = caches.in_namespace::<Promotion>(&namespace);
    let refs: Vec<&Promotion> = promotions.iter().map(AsRef::as_ref).collect();
    let mut gate = gate;
    let mut capture_error = None;
    let mut captured_steps = 0;
    if gate.spec.capture.is_some() {
        caches.products.synced().await;
        caches.targets.synced().await;
        let product = lane_object
            .as_ref()
            .and_then(|l| caches.get::<Product>(&namespace, &l.spec.product_ref.name));
        let target = lane_object
            .as_ref()
            .and_then(|l| caches.get::<ProviderTarget>(&namespace, &l.spec.target_ref.name));
        let executor = target
            .as_ref()
            .and_then(|t| {
                world
                    .providers
                    .provider(&format!("{namespace}/{}", t.spec.provider_config_ref.name))
            })
            .map(Executor::new);
        caches.backup_gates.synced().await;
        let known = lane_backup_schedules(&caches.in_namespace::<BackupGate>(&namespace), lane);
        let capture_world = CaptureWorld {
            lane: lane_object.as_deref(),
            product: product.as_deref(),
            target: target.as_deref(),
            instance: &world.instance,
            known,
            settle_timeout: world.deploy.start_timeout,
            poll_delay: world.deploy.poll_delay,
        };
        let sink = GateSink {
            store,
            gate: gate.as_ref(),
            lane_exists,
            promotions: &refs,
            world,
        };
        let report = capture(
            &gate,
            &capture_world,
            executor.as_ref(),
            &sink,
            world.clock.as_ref(),
            world.drive.max_steps,
            world.wait_budget(world.drive.deadline),
        )
        .await;
        capture_error = report.error;
        captured_steps = report.steps.len();
        if let Some(c) = report.capture {
            Arc::make_mut(&mut gate)
                .status
                .get_or_insert_with(Default::default)
                .capture = Some(c);
        }
    }
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
    if let Some(e) = capture_error {
        tracing::warn!(error = %e, "backup capture interrupted; retried");
        return Ok(Reconciled::after(jittered(CAPTURE_RETRY)).waking(wake));
    }
    let capturing = gate.spec.capture.is_some() && status.result.is_none();
    let after = next_look(capturing, captured_steps, world.deploy.poll_delay);
    Ok(Reconciled::after(after).waking(wake))
}

/// The backup schedules the BackupGates of `lane` recorded: what makes a marked schedule the
/// lane's, since they all reuse the one the first capture made.
fn lane_backup_schedules(gates: &[Arc<BackupGate>], lane: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for gate in gates.iter().filter(|g| g.spec.lane_ref.name == lane) {
        let id = gate
            .status
            .as_ref()
            .and_then(|s| s.capture.as_ref())
            .and_then(|c| c.run.as_ref())
            .and_then(|r| r.schedule_id.clone());
        if let Some(id) = id
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

/// A capture under way (or interrupted) is looked at again soon.
const CAPTURE_RETRY: Duration = Duration::from_secs(10);

/// When to reconcile the gate again. A capture that just took a step and is not over goes on
/// after the deploy poll delay, as a lane's deploy does: the cluster takes one step per
/// reconcile and the gate's own status writes wake nothing (the watch filters on generation),
/// so waiting [`CAPTURE_RETRY`] between steps kept a `stopWeb` capture's web stopped ten seconds
/// longer per step and a Promotion waiting for the gate tens of seconds.
fn next_look(capturing: bool, steps_taken: usize, poll_delay: Duration) -> Duration {
    match (capturing, steps_taken) {
        (false, _) => jittered(RECHECK),
        (true, 0) => jittered(CAPTURE_RETRY),
        (true, _) => poll_delay,
    }
}

/// Saves each capture step as the gate's whole status, in both shells.
struct GateSink<'a, S: StatusStore> {
    store: &'a S,
    gate: &'a BackupGate,
    lane_exists: bool,
    promotions: &'a [&'a Promotion],
    world: &'a World,
}

impl<S: StatusStore + Sync> CaptureSink for GateSink<'_, S> {
    fn save<'a>(&'a self, capture: &'a CaptureStatus) -> BoxFuture<'a, std::result::Result<(), String>> {
        Box::pin(async move {
            let mut gate = self.gate.clone();
            gate.status.get_or_insert_with(Default::default).capture = Some(capture.clone());
            let outcome = backup_gate::reconcile(&gate, self.lane_exists, self.promotions, self.world.now());
            commit(self.store, self.gate, &outcome.status, None)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_that_took_a_step_goes_on_after_the_poll_delay_not_the_retry() {
        let poll = Duration::from_secs(2);
        assert_eq!(next_look(true, 1, poll), poll);
        let idle = next_look(true, 0, poll);
        assert!(idle >= CAPTURE_RETRY.mul_f64(0.9), "{idle:?}");
        let settled = next_look(false, 3, poll);
        assert!(settled >= RECHECK.mul_f64(0.9), "{settled:?}");
    }
}
