//! The DeploymentRecord controller. Records the controller writes are moved forward by their
//! lane (every phase is a step of the lane driver); this controller makes records given as
//! evidence by external workflows visible at once: it writes their first status (Pending,
//! verdict Unchecked, so `kubectl get deploymentrecords` shows them) and asks their lane to
//! verify them. The lane's next reconcile writes the verification outcome on the record.

use super::common::{failure_key, namespace_and_name, write_status_if_changed};
use super::context::Context;
use super::error::Result;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use launchplane_api::resources::{DeploymentPhase, DeploymentRecord, DeploymentRecordStatus, Lane};
use launchplane_core::deployment_record::{self as record, LANE_LABEL};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "DeploymentRecord";

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
#[tracing::instrument(skip_all, fields(kind = KIND, name = %rec.name_any(), namespace = rec.namespace().unwrap_or_default()))]
pub async fn reconcile(rec: Arc<DeploymentRecord>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let (namespace, name) = namespace_and_name(rec.as_ref(), KIND)?;
    // Preview records belong to the Preview controller.
    let Some(lane_name) = lane_of(&rec).filter(|_| rec.spec.preview_ref.is_none()) else {
        return Ok(Action::await_change());
    };
    let mut delay = None;
    if record::is_evidence(&rec) {
        if rec.status.is_none() {
            let first = record::summarize(
                &rec,
                DeploymentRecordStatus {
                    phase: Some(DeploymentPhase::Pending),
                    ..Default::default()
                },
                ctx.now(),
            );
            let api: Api<DeploymentRecord> = Api::namespaced(ctx.client.clone(), &namespace);
            write_status_if_changed(&api, KIND, &namespace, &name, None, &first).await?;
        }
        ctx.lanes.lanes.synced().await;
        let lane = ObjectRef::<Lane>::new(&lane_name).within(&namespace);
        if ctx.lanes.lanes.get(&lane).is_none() && !record::is_terminal(record::phase(&rec)) {
            tracing::info!(lane = %lane_name, "evidence names a lane that does not exist (yet)");
            delay = Some(LANE_MISSING_RECHECK);
        }
    }
    // The lane plans from its records: a new one is news for it.
    let _ = ctx
        .lanes
        .lane_trigger
        .unbounded_send(ObjectRef::new(&lane_name).within(&namespace));
    ctx.metrics.reconciled(KIND, started.elapsed());
    ctx.failures.succeeded(&failure_key(rec.as_ref(), KIND));
    Ok(delay.map_or_else(Action::await_change, Action::requeue))
}

/// The DeploymentRecord controller over `stream`.
pub async fn controller(
    stream: impl futures::Stream<Item = std::result::Result<DeploymentRecord, kube::runtime::watcher::Error>>
    + Send
    + 'static,
    reader: kube::runtime::reflector::Store<DeploymentRecord>,
    ctx: Arc<Context>,
    shutdown: super::run::Shutdown,
) {
    use futures::StreamExt;
    kube::runtime::Controller::for_stream(stream, reader)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, super::common::policy_for(KIND), ctx)
        .for_each(|result| super::run::report(KIND, result))
        .await;
}
