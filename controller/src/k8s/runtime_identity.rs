//! The RuntimeIdentity controller: probe the app's identity surfaces through the one shared
//! prober on the resource's interval, classify, write status.

use super::common::{failure_key, namespace_and_name, write_status_if_changed};
use super::context::Context;
use super::error::Result;
use super::events::publish_transition;
use crate::error_policy::jittered;
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use launchplane_api::identity::{Surface, SurfaceObservation};
use launchplane_api::resources::RuntimeIdentity;
use launchplane_core::probe::{ProbeResult, ProbeTarget};
use launchplane_core::runtime_identity::{probe_target, reconcile as compute};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "RuntimeIdentity";

/// Reconcile one RuntimeIdentity.
#[tracing::instrument(skip_all, fields(kind = KIND, name = %identity.name_any(), namespace = identity.namespace().unwrap_or_default()))]
pub async fn reconcile(identity: Arc<RuntimeIdentity>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let (namespace, name) = namespace_and_name(identity.as_ref(), KIND)?;
    let spec = &identity.spec;
    let target = probe_target(spec);
    let timeout = Duration::from_secs(u64::try_from(spec.timeout_seconds.clamp(1, 60)).unwrap_or(5));
    let probe = probe_within(&ctx, &target, timeout).await;
    let outcome = compute(&identity, Some(&probe), ctx.now());
    let result = outcome.status.reason.as_ref().map_or("unchecked", reason_label);
    ctx.metrics.probe(result);

    let api: Api<RuntimeIdentity> = Api::namespaced(ctx.client.clone(), &namespace);
    let old = identity.status.as_ref();
    write_status_if_changed(&api, KIND, &namespace, &name, old, &outcome.status).await?;
    if let Some(verdict) = outcome.status.verdict {
        let message = outcome.status.message.clone().unwrap_or_default();
        publish_transition(
            &ctx.recorder,
            identity.as_ref(),
            old.and_then(|s| s.verdict),
            verdict,
            &message,
        )
        .await;
    }
    ctx.metrics.reconciled(KIND, started.elapsed());
    ctx.failures.succeeded(&failure_key(identity.as_ref(), KIND));
    let interval = Duration::from_secs(u64::try_from(spec.interval_seconds.max(1)).unwrap_or(60));
    Ok(Action::requeue(jittered(interval).max(Duration::from_secs(1))))
}

/// Probe, bounded by the resource's own timeout (the shared client's is the upper bound).
/// A probe that runs out of time reads as every requested surface unreachable.
pub async fn probe_within(ctx: &Context, target: &ProbeTarget, timeout: Duration) -> ProbeResult {
    let started = Instant::now();
    match tokio::time::timeout(timeout, ctx.prober.probe(target)).await {
        Ok(result) => result,
        Err(_) => {
            let reason = format!("timed out after {}s", timeout.as_secs());
            let s = target.surfaces;
            let observations = [
                (s.health_json, Surface::HealthBody),
                (s.header, Surface::DeploymentHeader),
                (s.well_known, Surface::WellKnown),
            ]
            .into_iter()
            .filter(|(wanted, _)| *wanted)
            .map(|(_, surface)| SurfaceObservation::unreachable(surface, &reason))
            .collect();
            ProbeResult {
                health_status: None,
                observations,
                elapsed: started.elapsed(),
            }
        }
    }
}

fn reason_label(reason: &launchplane_api::identity::ClassificationReason) -> &'static str {
    use launchplane_api::identity::ClassificationReason as R;
    match reason {
        R::Matched => "matched",
        R::Mismatch => "mismatch",
        R::Malformed => "malformed",
        R::Missing => "missing",
        R::Unreachable => "unreachable",
        R::Unchecked => "unchecked",
    }
}
