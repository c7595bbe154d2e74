//! One controller runner for every kind: kube-runtime's `Controller` over the kind's watch
//! stream and wakes, calling the kind's engine reconcile, with one tail for all of them — the
//! reconcile's duration and failures counted, its wakes passed on, failures retried as the
//! error's class says ([`error_policy`]), and a requeue floor.
//!
//! Each kind's cluster behaviour is its engine reconcile ([`crate::engine::kinds`]); the
//! Preview's finalizer (its teardown before the object goes) is the one addition, below.

use super::context::{Context, Shutdown};
use crate::engine::kinds;
use crate::engine::{Cached, Error, Reconciled};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DataBootstrap, DeploymentRecord, Lane, NotificationPolicy, Preview,
    Product, Promotion, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use launchplane_core::preview::FINALIZER;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A kind the cluster reconciles: its engine reconcile.
pub trait Reconcile: Cached {
    fn reconcile(object: Arc<Self>, ctx: &Context) -> BoxFuture<'_, Result<Reconciled, Error>>;
}

macro_rules! reconciled_by {
    ($kind:ty, $module:ident) => {
        impl Reconcile for $kind {
            fn reconcile(object: Arc<Self>, ctx: &Context) -> BoxFuture<'_, Result<Reconciled, Error>> {
                Box::pin(kinds::$module::reconcile(object, &ctx.world, &ctx.store))
            }
        }
    };
}

reconciled_by!(ProviderConfig, provider_config);
reconciled_by!(ProviderTarget, provider_target);
reconciled_by!(RuntimeIdentity, runtime_identity);
reconciled_by!(Artifact, artifact);
reconciled_by!(Lane, lane);
reconciled_by!(DeploymentRecord, deployment_record);
reconciled_by!(Promotion, promotion);
reconciled_by!(BackupGate, backup_gate);
reconciled_by!(Approval, approval);
reconciled_by!(DataBootstrap, data_bootstrap);
reconciled_by!(NotificationPolicy, notification_policy);

impl Reconcile for Product {
    fn reconcile(object: Arc<Self>, ctx: &Context) -> BoxFuture<'_, Result<Reconciled, Error>> {
        Box::pin(async move {
            let run = kinds::product::reconcile(object, &ctx.world, &ctx.store).await?;
            Ok(run.reconciled)
        })
    }
}

impl Reconcile for Preview {
    /// Under the `launchplane.dev/preview-teardown` finalizer: kube's helper adds it before the
    /// first reconcile and removes it only after the teardown confirmed the Dokploy application
    /// and domain are gone. An expired Preview (spec.ttl) is deleted here; its finalizer then
    /// tears it down.
    fn reconcile(preview: Arc<Self>, ctx: &Context) -> BoxFuture<'_, Result<Reconciled, Error>> {
        Box::pin(async move {
            let namespace = preview
                .metadata
                .namespace
                .clone()
                .ok_or(Error::MissingNamespace { kind: "Preview" })?;
            let api: Api<Preview> = Api::namespaced(ctx.client.clone(), &namespace);
            // What the apply half decided; the finalizer helper only passes an Action on.
            let decided = Mutex::new(Reconciled::on_change());
            finalizer(&api, FINALIZER, preview, |event| async {
                match event {
                    Event::Apply(p) => {
                        let name = p.metadata.name.clone().unwrap_or_default();
                        let run = kinds::preview::reconcile(p, &ctx.world, &ctx.store).await?;
                        if run.expired {
                            tracing::info!(
                                "spec.ttl has passed: deleting the Preview (its finalizer tears it down)"
                            );
                            api.delete(&name, &DeleteParams::default()).await.map_err(|e| {
                                Error::Shell(format!("deleting expired Preview {namespace}/{name}: {e}"))
                            })?;
                        }
                        *decided.lock().unwrap_or_else(|p| p.into_inner()) = run.reconciled;
                        Ok(Action::await_change())
                    }
                    Event::Cleanup(p) => {
                        kinds::preview::tear_down(&p, &ctx.world, &ctx.store, "the finalizer stays").await?;
                        Ok(Action::await_change())
                    }
                }
            })
            .await
            .map_err(|e| match e {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner,
                other => Error::Shell(format!("Preview finalizer: {other}")),
            })?;
            Ok(decided.into_inner().unwrap_or_else(|p| p.into_inner()))
        })
    }
}

/// `kind/namespace/name`, the key failure counts are kept under.
pub fn failure_key<K: Cached>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::KIND,
        object.namespace_or_default(),
        object.name_or_empty()
    )
}

/// Reconcile `object` once, as the controller loop does: the engine's reconcile, then the tail
/// (duration, wakes, failure count reset). Public so tests call the real reconcile path.
pub async fn reconcile<K: Reconcile>(object: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let key = failure_key(object.as_ref());
    let result = K::reconcile(object, &ctx).await;
    ctx.metrics.reconciled(K::KIND, started.elapsed());
    let reconciled = result?;
    for wake in reconciled.wake {
        ctx.wakes.send(wake);
    }
    ctx.world.failures.succeeded(&key);
    Ok(reconciled
        .requeue
        .map_or_else(Action::await_change, Action::requeue))
}

/// The error policy of every controller: count it, then retry as its class says.
pub fn error_policy<K: Cached>(object: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed(K::KIND, error.category());
    let key = failure_key(object.as_ref());
    let delay = ctx.world.failures.delay(&ctx.world.backoff, error.class(), &key);
    tracing::warn!(
        %error,
        kind = K::KIND,
        name = %object.name_or_empty(),
        namespace = %object.namespace_or_default(),
        retry_in = ?delay,
        "reconcile failed"
    );
    match delay {
        Some(delay) => Action::requeue(delay),
        None => Action::await_change(),
    }
}

/// Run the controller of kind `K` over `stream` (the cache `reader` is fed by it) and the
/// objects `woken` by other reconciles, until `shutdown`. Public so tests drive the real
/// controller loop from an in-memory stream (`Controller::for_stream`).
pub async fn run<K: Reconcile>(
    stream: impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    reader: Store<K>,
    woken: impl Stream<Item = ObjectRef<K>> + Send + 'static,
    ctx: Arc<Context>,
    shutdown: Shutdown,
) {
    Controller::for_stream(stream, reader)
        .reconcile_on(woken)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, action)) => tracing::debug!(kind = K::KIND, %object, ?action, "reconciled"),
                // Counted and logged by the error policy.
                Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
                // A wake for an object deleted meanwhile: nothing to do.
                Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(kind = K::KIND, %object, "object gone before its reconcile");
                }
                Err(error) => tracing::warn!(kind = K::KIND, %error, "controller loop error"),
            }
        })
        .await;
}
