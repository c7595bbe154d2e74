//! The wiring: three kube-runtime controllers, their watches and the stores they share.
//!
//! ```text
//!  watch ProviderConfig ──► store ──► ProviderConfig controller ── poll Dokploy ──► registry
//!                                           │  reconcile_on(its targets)              │
//!  watch ProviderTarget ──► store ──► ProviderTarget controller ◄── snapshot ─────────┘
//!  watch RuntimeIdentity ─► store ──► RuntimeIdentity controller ── probe app endpoints
//! ```
//!
//! Each watch stream is filtered on `metadata.generation`: the controllers' own status writes
//! do not trigger reconciles (that would be a write loop for anything carrying a timestamp),
//! while the stores still see every change, status included.
//! The stream-taking functions are public so tests drive the real controller loop from an
//! in-memory stream ([`Controller::for_stream`]).

use super::cache::{Cache, CacheWriter, cache};
use super::common::policy_for;
use super::context::Context;
use super::error::Error;
use super::{provider_config, provider_target, runtime_identity};
use crate::metrics::Metrics;
use crate::observe::prober::{Prober, ProberConfig};
use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, Stream, StreamExt};
use jiff::Timestamp;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, predicates, watcher};
use kube::{Api, Client, Resource};
use launchplane_api::Verdict;
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{ProviderConfig, ProviderTarget, RuntimeIdentity};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A shutdown signal every controller can wait on.
pub type Shutdown = Shared<BoxFuture<'static, ()>>;

/// How often the per-verdict gauges are recounted from the stores.
const GAUGE_INTERVAL: Duration = Duration::from_secs(15);

/// What `launchplane controller` passes in.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Watch one namespace only; `None` watches all.
    pub watch_namespace: Option<String>,
    /// This replica's name on Events (POD_NAME).
    pub instance: Option<String>,
    /// Probe preview hosts through this base URL, sending the preview host as `Host`
    /// (`--preview-probe-via`; [`crate::preview::PreviewSettings::probe_via`]). `None`: probe
    /// the public preview URL.
    pub preview_probe_via: Option<String>,
    /// This controller instance in the ownership markers of what it creates in Dokploy
    /// (`--instance-id`); `None`: [`crate::preview::DEFAULT_INSTANCE`].
    pub instance_id: Option<String>,
}

/// An Api over every namespace, or one.
pub fn api<K>(client: Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

/// The watch of one kind: retried with backoff, then [`filtered`].
pub fn watched<K>(
    api: Api<K>,
    writer: CacheWriter<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    filtered(watcher(api, watcher::Config::default()).default_backoff(), writer)
}

/// Watch events reflected into `writer` (so the store sees every change, status included),
/// then filtered so only spec changes and first sightings reach the controller. Tests feed
/// this from an in-memory channel.
pub fn filtered<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    writer: CacheWriter<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Debug + Send + Sync + 'static,
{
    writer
        .reflect(events)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default())
}

/// Run every controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    options: RunOptions,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: Shutdown,
) -> Result<(), reqwest::Error> {
    let ns = options.watch_namespace.as_deref();
    let (configs, config_writer) = cache::<ProviderConfig>();
    let (targets, target_writer) = cache::<ProviderTarget>();
    let (identities, identity_writer) = cache::<RuntimeIdentity>();
    let (trigger, triggered) = futures::channel::mpsc::unbounded();
    let (lane_stores, lane_loops) = super::lane::wiring(identities.clone());
    let ctx = Arc::new(
        Context::new(
            client.clone(),
            options.instance.clone(),
            metrics.clone(),
            Prober::new(ProberConfig::default())?,
            configs.clone(),
            targets.clone(),
            trigger,
            Arc::new(SystemClock),
        )
        .with_lanes(lane_stores)
        .with_instance_id(
            options
                .instance_id
                .clone()
                .unwrap_or_else(|| crate::preview::DEFAULT_INSTANCE.into()),
        ),
    );

    let config_loop = provider_configs(
        watched(api(client.clone(), ns), config_writer),
        configs.store(),
        ctx.clone(),
        shutdown.clone(),
    );
    let target_loop = provider_targets(
        watched(api(client.clone(), ns), target_writer),
        targets.store(),
        triggered,
        ctx.clone(),
        shutdown.clone(),
    );
    let lane_loops = lane_loops.run(
        client.clone(),
        options.watch_namespace.clone(),
        ctx.clone(),
        shutdown.clone(),
    );
    let preview_loops = super::preview::run_loops(
        client.clone(),
        options.watch_namespace.clone(),
        ctx.clone(),
        crate::preview::PreviewSettings {
            probe_via: options.preview_probe_via.clone(),
            instance: ctx.instance_id.clone(),
            ..crate::preview::PreviewSettings::default()
        },
        shutdown.clone(),
    );
    let identity_loop = runtime_identities(
        watched(api(client, ns), identity_writer),
        identities.store(),
        ctx.clone(),
        shutdown.clone(),
    );
    let gauges = verdict_gauges(metrics, configs, targets, identities, shutdown);
    ready.store(true, Ordering::Relaxed);
    tracing::info!(namespace = ns.unwrap_or("<all>"), "controllers started");
    tokio::join!(
        config_loop,
        target_loop,
        identity_loop,
        gauges,
        lane_loops,
        preview_loops
    );
    ready.store(false, Ordering::Relaxed);
    tracing::info!("controllers stopped");
    Ok(())
}

/// The ProviderConfig controller over `stream` (the store `reader` is fed by it).
pub async fn provider_configs(
    stream: impl Stream<Item = Result<ProviderConfig, watcher::Error>> + Send + 'static,
    reader: Store<ProviderConfig>,
    ctx: Arc<Context>,
    shutdown: Shutdown,
) {
    Controller::for_stream(stream, reader)
        .graceful_shutdown_on(shutdown)
        .run(provider_config::reconcile, policy_for(provider_config::KIND), ctx)
        .for_each(|result| report(provider_config::KIND, result))
        .await;
}

/// The ProviderTarget controller over `stream`, plus the re-verifications `triggered` by
/// ProviderConfig polls.
pub async fn provider_targets(
    stream: impl Stream<Item = Result<ProviderTarget, watcher::Error>> + Send + 'static,
    reader: Store<ProviderTarget>,
    triggered: impl Stream<Item = ObjectRef<ProviderTarget>> + Send + 'static,
    ctx: Arc<Context>,
    shutdown: Shutdown,
) {
    Controller::for_stream(stream, reader)
        .reconcile_on(triggered)
        .graceful_shutdown_on(shutdown)
        .run(provider_target::reconcile, policy_for(provider_target::KIND), ctx)
        .for_each(|result| report(provider_target::KIND, result))
        .await;
}

/// The RuntimeIdentity controller over `stream`.
pub async fn runtime_identities(
    stream: impl Stream<Item = Result<RuntimeIdentity, watcher::Error>> + Send + 'static,
    reader: Store<RuntimeIdentity>,
    ctx: Arc<Context>,
    shutdown: Shutdown,
) {
    Controller::for_stream(stream, reader)
        .graceful_shutdown_on(shutdown)
        .run(
            runtime_identity::reconcile,
            policy_for(runtime_identity::KIND),
            ctx,
        )
        .for_each(|result| report(runtime_identity::KIND, result))
        .await;
}

type RunResult<K> = Result<(ObjectRef<K>, Action), kube::runtime::controller::Error<Error, watcher::Error>>;

/// Log what the controller loop reports. Reconcile failures were already logged (and
/// counted) by the error policy; these are the loop's own hiccups.
pub(crate) async fn report<K: Resource>(kind: &'static str, result: RunResult<K>)
where
    K::DynamicType: Debug,
{
    match result {
        Ok((object, action)) => tracing::debug!(kind, %object, ?action, "reconciled"),
        Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
        // A trigger for an object deleted meanwhile: nothing to do.
        Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
            tracing::debug!(kind, %object, "object gone before its reconcile");
        }
        Err(error) => tracing::warn!(kind, %error, "controller loop error"),
    }
}

/// Recount the per-verdict gauges from the stores, so the gauges cost one pass per interval
/// rather than one per reconcile.
async fn verdict_gauges(
    metrics: Arc<Metrics>,
    configs: Cache<ProviderConfig>,
    targets: Cache<ProviderTarget>,
    identities: Cache<RuntimeIdentity>,
    shutdown: Shutdown,
) {
    let tick = async {
        let mut interval = tokio::time::interval(GAUGE_INTERVAL);
        loop {
            interval.tick().await;
            let now = Timestamp::now();
            let c = configs.state();
            let cs = c.iter().filter_map(|o| o.status.as_ref());
            record(
                &metrics,
                provider_config::KIND,
                now,
                cs.map(|s| (s.verdict, s.last_poll_time.as_ref())),
            );
            let t = targets.state();
            let ts = t.iter().filter_map(|o| o.status.as_ref());
            record(
                &metrics,
                provider_target::KIND,
                now,
                ts.map(|s| (s.verdict, s.last_observed_time.as_ref())),
            );
            let i = identities.state();
            let is = i.iter().filter_map(|o| o.status.as_ref());
            record(
                &metrics,
                runtime_identity::KIND,
                now,
                is.map(|s| (s.verdict, s.last_probe_time.as_ref())),
            );
        }
    };
    futures::pin_mut!(tick);
    futures::future::select(tick, shutdown).await;
}

fn record<'a>(
    metrics: &Metrics,
    kind: &str,
    now: Timestamp,
    statuses: impl Iterator<
        Item = (
            Option<Verdict>,
            Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
        ),
    >,
) {
    let mut counts: Vec<(Verdict, i64)> = Vec::new();
    let mut oldest: Option<Timestamp> = None;
    for (verdict, observed) in statuses {
        let verdict = verdict.unwrap_or(Verdict::Unchecked);
        match counts.iter_mut().find(|(v, _)| *v == verdict) {
            Some((_, n)) => *n += 1,
            None => counts.push((verdict, 1)),
        }
        if let Some(time) = observed {
            oldest = Some(oldest.map_or(time.0, |o| o.min(time.0)));
        }
    }
    metrics.set_verdict_counts(kind, &counts);
    let age = oldest.map_or(0.0, |o| now.duration_since(o).as_secs_f64().max(0.0));
    metrics.set_verdict_age(kind, age);
}

/// A [`Shutdown`] that resolves on SIGTERM or ctrl-c.
pub fn shutdown_on_signal() -> Shutdown {
    async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                // Without a SIGTERM handler, ctrl-c still works; never panic over it.
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    futures::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = futures::future::pending::<()>();
        futures::pin_mut!(ctrl_c, term);
        futures::future::select(ctrl_c, term).await;
        tracing::info!("shutdown signal received");
    }
    .boxed()
    .shared()
}
