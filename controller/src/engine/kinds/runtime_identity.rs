//! RuntimeIdentity: probe the app's identity surfaces through the one shared prober on the
//! resource's interval, classify, write status.

use crate::engine::incidents::{self, Tracking, owner_of};
use crate::engine::{Kind, Reconciled, Result, StatusStore, World, commit, namespace_and_name};
use crate::error_policy::jittered;
use crate::observe::prober::Prober;
use kube::Resource;
use launchplane_api::conditions::types;
use launchplane_api::identity::{ClassificationReason, Surface, SurfaceObservation};
use launchplane_api::resources::{
    IncidentSubjectKind, Lane, Product, RuntimeIdentity, RuntimeIdentityStatus,
};
use launchplane_core::incident::{self, Subject};
use launchplane_core::probe::{ProbeResult, ProbeTarget};
use launchplane_core::runtime_identity::{probe_target, reconcile as compute};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reconcile one RuntimeIdentity.
#[tracing::instrument(skip_all, fields(kind = "RuntimeIdentity", name = %identity.metadata.name.as_deref().unwrap_or_default(), namespace = identity.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    identity: Arc<RuntimeIdentity>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    namespace_and_name(identity.as_ref())?;
    let spec = &identity.spec;
    let target = probe_target(spec);
    let timeout = Duration::from_secs(u64::try_from(spec.timeout_seconds.clamp(1, 60)).unwrap_or(5));
    let probe = probe_within(&world.prober, &target, timeout).await;
    let outcome = compute(&identity, Some(&probe), world.now());
    let result = outcome.status.reason.as_ref().map_or("unchecked", reason_label);
    world.metrics.probe(result);
    let message = outcome.status.message.clone().unwrap_or_default();
    commit(store, identity.as_ref(), &outcome.status, Some(&message)).await?;
    world.caches.products.synced().await;
    let due = incidents::track(world, store, &tracking(&identity, &outcome.status, world)).await?;
    let interval = Duration::from_secs(u64::try_from(spec.interval_seconds.max(1)).unwrap_or(60));
    Ok(Reconciled::after(incidents::sooner(jittered(interval), due)))
}

/// What of the RuntimeIdentity incidents watch: its required verdict, unless a Lane owns it
/// (its child: the lane's `RuntimeIdentityVerified` carries it, in the lane's incident). Its
/// product is the one its expected identity names.
fn tracking(identity: &RuntimeIdentity, status: &RuntimeIdentityStatus, world: &World) -> Tracking {
    let namespace = identity.namespace_or_default().to_string();
    let lanes = Lane::kind(&());
    let covered = identity
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == lanes);
    let product_name = identity.spec.expected.product.clone().unwrap_or_default();
    let product = world.caches.get::<Product>(&namespace, &product_name);
    let watched = if covered {
        Vec::new()
    } else {
        incident::watched_by_ready(types::RUNTIME_IDENTITY_VERIFIED, &status.conditions)
            .into_iter()
            .collect()
    };
    Tracking {
        subject: Subject {
            namespace,
            kind: IncidentSubjectKind::RuntimeIdentity,
            name: identity.name_or_empty().to_string(),
            product: product.as_ref().map(|_| product_name).unwrap_or_default(),
        },
        owner: owner_of(identity),
        watched,
        policy: incident::policy(product.as_deref()),
    }
}

/// Probe, bounded by the resource's own timeout (the shared client's is the upper bound).
/// A probe that runs out of time reads as every requested surface unreachable.
pub async fn probe_within(prober: &Prober, target: &ProbeTarget, timeout: Duration) -> ProbeResult {
    let started = Instant::now();
    match tokio::time::timeout(timeout, prober.probe(target)).await {
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

fn reason_label(reason: &ClassificationReason) -> &'static str {
    match reason {
        ClassificationReason::Matched => "matched",
        ClassificationReason::Mismatch => "mismatch",
        ClassificationReason::Malformed => "malformed",
        ClassificationReason::Missing => "missing",
        ClassificationReason::Unreachable => "unreachable",
        ClassificationReason::Unchecked => "unchecked",
    }
}
