//! The wiring, in one place: one watch and one cache per kind, one controller per kind (the
//! generic runner of [`super::controller`]), and every relation between kinds.
//!
//! ```text
//!  kind              watch feeds its cache and its controller   woken by
//!  ProviderConfig    ──────────────────────────────────────►    (its own poll schedule); its
//!                                                                poll-requested-at annotation
//!  ProviderTarget    ──────────────────────────────────────►    its ProviderConfig's poll
//!  RuntimeIdentity   ──────────────────────────────────────►    (its probe interval)
//!  Product           ──────────────────────────────────────►    any change of one of its Previews
//!  Artifact          ──────────────────────────────────────►    a Lane whose wish or inventory moved
//!  Lane              ──────────────────────────────────────►    an Artifact it wants; a record of it;
//!                                                                a Promotion into it changing phase
//!                                                                or deleted; its auto source's status
//!  DeploymentRecord  ──────────────────────────────────────►    —
//!  Preview           ──────────────────────────────────────►    the Artifact it names appearing
//!  Promotion         ──────────────────────────────────────►    a status change of a lane it is from
//!                                                                or into; a BackupGate or Approval
//!                                                                for it; the one ahead finishing
//!  BackupGate        ──────────────────────────────────────►    a Promotion taking it
//!  Approval          ──────────────────────────────────────►    —
//!  DataBootstrap     ──────────────────────────────────────►    (its own requeue while it runs); it
//!                                                                wakes its Lane on every step
//!  Incident          its cache only (no controller: the Lane, Preview, ProviderTarget and
//!                    RuntimeIdentity reconciles write them; the gauges count them)
//! ```
//!
//! Each watch stream is filtered on `metadata.generation` (Previews also on finalizers): the
//! controllers' own status writes do not trigger reconciles (that would be a write loop for
//! anything carrying a timestamp), while the caches still see every change, status included.
//! The stream-taking functions are public so tests drive the real controller loop from an
//! in-memory stream ([`Controller::for_stream`](kube::runtime::Controller::for_stream)).

use super::context::{Context, Shutdown, wakes};
use super::controller;
use crate::engine::cache::{Cache, CacheWriter};
use crate::engine::caches::caches;
use crate::engine::preview::{DEFAULT_INSTANCE, PreviewSettings};
use crate::metrics::IncidentLabels;
use crate::metrics::Metrics;
use crate::observe::prober::{Prober, ProberConfig};
use futures::{FutureExt, Stream, StreamExt};
use jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Predicate, WatchStreamExt, predicates, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use launchplane_api::Verdict;
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DataBootstrap, DeploymentRecord, Incident, IncidentState, Lane,
    NotificationPolicy, Preview, Product, Promotion, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the per-verdict gauges are recounted from the caches.
const GAUGE_INTERVAL: Duration = Duration::from_secs(15);

/// What `launchplane controller` passes in.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Watch one namespace only; `None` watches all.
    pub watch_namespace: Option<String>,
    /// This replica's name on Events (POD_NAME).
    pub instance: Option<String>,
    /// Probe preview hosts through this base URL, sending the preview host as `Host`
    /// (`--preview-probe-via`; [`PreviewSettings::probe_via`]). `None`: probe the public
    /// preview URL.
    pub preview_probe_via: Option<String>,
    /// This controller instance in the ownership markers of what it creates and manages in
    /// Dokploy (`--instance-id`); `None`: [`DEFAULT_INSTANCE`].
    pub instance_id: Option<String>,
    /// Post pull-request feedback for Previews (`--pr-feedback`); `None`: none.
    pub feedback: Option<crate::engine::feedback::FeedbackSettings>,
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

/// Watch events reflected into `writer` (so the cache sees every change, status included),
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

/// The ProviderConfig watch: spec changes and first sightings, and *annotation changes*, so
/// `launchplane.dev/poll-requested-at` (set by `launchplane webhooks` when Dokploy reports a
/// deploy) makes the config poll at once rather than at its next interval.
pub fn watched_configs(
    api: Api<ProviderConfig>,
    writer: CacheWriter<ProviderConfig>,
) -> impl Stream<Item = Result<ProviderConfig, watcher::Error>> + Send + 'static {
    writer
        .reflect(watcher(api, watcher::Config::default()).default_backoff())
        .applied_objects()
        .predicate_filter(
            predicates::generation::<ProviderConfig>.combine(predicates::annotations::<ProviderConfig>),
            Default::default(),
        )
}

/// Preview watch events reflected into `writer`, then filtered so spec changes, first
/// sightings *and finalizer changes* reach the controller (status writes still do not).
///
/// kube's `finalizer` helper adds the finalizer and returns without applying, counting on the
/// patch to trigger the next reconcile; that patch leaves `metadata.generation` alone, so the
/// generation-only filter of [`filtered`] would swallow it and leave a new Preview waiting for
/// its first deploy until the controller restarted. (Deletion bumps the generation of an
/// object with finalizers, so the teardown is triggered either way.)
pub fn filtered_previews(
    events: impl Stream<Item = Result<watcher::Event<Preview>, watcher::Error>> + Send + 'static,
    writer: CacheWriter<Preview>,
) -> impl Stream<Item = Result<Preview, watcher::Error>> + Send + 'static {
    writer.reflect(events).applied_objects().predicate_filter(
        predicates::generation::<Preview>.combine(predicates::finalizers::<Preview>),
        Default::default(),
    )
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
    let (caches, writers) = caches();
    let (wakes, woken) = wakes();
    let instance = options
        .instance_id
        .clone()
        .unwrap_or_else(|| DEFAULT_INSTANCE.into());
    let mut context = Context::new(
        client.clone(),
        options.instance.clone(),
        instance,
        metrics.clone(),
        Prober::new(ProberConfig::default())?,
        caches.clone(),
        wakes.clone(),
        Arc::new(SystemClock),
    )
    .with_previews(PreviewSettings {
        probe_via: options.preview_probe_via.clone(),
        ..PreviewSettings::default()
    });
    if let Some(settings) = options.feedback.clone() {
        context = context.with_feedback(settings);
    }
    let ctx = Arc::new(context);

    // Every Preview event (status and deletion included) wakes its Product: previewCount and
    // the protected set follow the previews without waiting for the resync. Taken from the
    // raw events, before the Preview controller's filter drops status writes and deletions.
    let products_woken_by_previews = wakes.products.clone();
    let preview_events = watcher(
        api::<Preview>(client.clone(), ns),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .inspect(move |event| {
        if let Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p) | watcher::Event::Delete(p)) = event
            && let Some(ns) = p.namespace()
        {
            let _ = products_woken_by_previews
                .unbounded_send(ObjectRef::new(&p.spec.product_ref.name).within(&ns));
        }
    });

    // A deleted Promotion may have fed its destination lane (its status no longer names it):
    // the lane looks again. Phase changes wake it from the Promotion's reconcile.
    let lanes_woken_by_promotions = wakes.lanes.clone();
    let promotion_events = watcher(api::<Promotion>(client.clone(), ns), watcher::Config::default())
        .default_backoff()
        .inspect(move |event| {
            if let Ok(watcher::Event::Delete(p)) = event
                && let Some(ns) = p.namespace()
            {
                let _ = lanes_woken_by_promotions.unbounded_send(ObjectRef::new(&p.spec.to_lane).within(&ns));
            }
        });

    let gauges = verdict_gauges(
        metrics,
        caches.configs.clone(),
        caches.targets.clone(),
        caches.identities.clone(),
        caches.incidents.clone(),
        shutdown.clone(),
    );
    ready.store(true, Ordering::Relaxed);
    tracing::info!(namespace = ns.unwrap_or("<all>"), "controllers started");
    let w = writers;
    // Incidents have no controller: the watch only keeps their cache (the gauges; a healthy
    // resource with none skips the read), until shutdown.
    let incident_watch = {
        let drain = watched(api::<Incident>(client.clone(), ns), w.incidents)
            .for_each(|_| futures::future::ready(()));
        let shutdown = shutdown.clone();
        async move {
            futures::pin_mut!(drain);
            futures::future::select(drain, shutdown).await;
        }
    };
    tokio::join!(
        controller::run(
            watched_configs(api::<ProviderConfig>(client.clone(), ns), w.configs),
            caches.configs.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<ProviderTarget>(client.clone(), ns), w.targets),
            caches.targets.store(),
            woken.targets,
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<RuntimeIdentity>(client.clone(), ns), w.identities),
            caches.identities.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<Product>(client.clone(), ns), w.products),
            caches.products.store(),
            woken.products,
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<Artifact>(client.clone(), ns), w.artifacts),
            caches.artifacts.store(),
            woken.artifacts,
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<Lane>(client.clone(), ns), w.lanes),
            caches.lanes.store(),
            woken.lanes,
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            filtered(promotion_events, w.promotions),
            caches.promotions.store(),
            woken.promotions,
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<BackupGate>(client.clone(), ns), w.backup_gates),
            caches.backup_gates.store(),
            woken.backup_gates,
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<Approval>(client.clone(), ns), w.approvals),
            caches.approvals.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<DataBootstrap>(client.clone(), ns), w.data_bootstraps),
            caches.data_bootstraps.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(
                api::<NotificationPolicy>(client.clone(), ns),
                w.notification_policies
            ),
            caches.notification_policies.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            watched(api::<DeploymentRecord>(client, ns), w.records),
            caches.records.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone()
        ),
        controller::run(
            filtered_previews(preview_events, w.previews),
            caches.previews.store(),
            woken.previews,
            ctx,
            shutdown.clone()
        ),
        gauges,
        incident_watch,
    );
    ready.store(false, Ordering::Relaxed);
    tracing::info!("controllers stopped");
    Ok(())
}

/// Recount the per-verdict gauges from the caches, so the gauges cost one pass per interval
/// rather than one per reconcile.
async fn verdict_gauges(
    metrics: Arc<Metrics>,
    configs: Cache<ProviderConfig>,
    targets: Cache<ProviderTarget>,
    identities: Cache<RuntimeIdentity>,
    incidents: Cache<Incident>,
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
                "ProviderConfig",
                now,
                cs.map(|s| (s.verdict, s.last_poll_time.as_ref())),
            );
            let t = targets.state();
            let ts = t.iter().filter_map(|o| o.status.as_ref());
            record(
                &metrics,
                "ProviderTarget",
                now,
                ts.map(|s| (s.verdict, s.last_observed_time.as_ref())),
            );
            let i = identities.state();
            let is = i.iter().filter_map(|o| o.status.as_ref());
            record(
                &metrics,
                "RuntimeIdentity",
                now,
                is.map(|s| (s.verdict, s.last_probe_time.as_ref())),
            );
            metrics.set_incidents_open(&open_incidents(&incidents.state()));
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

/// Open Incidents by product and severity.
pub fn open_incidents(incidents: &[Arc<Incident>]) -> BTreeMap<IncidentLabels, i64> {
    let mut counts = BTreeMap::new();
    for incident in incidents {
        let Some(status) = incident.status.as_ref() else {
            continue;
        };
        if status.state != Some(IncidentState::Open) {
            continue;
        }
        let labels = IncidentLabels {
            product: incident.spec.product.clone(),
            severity: status.severity.unwrap_or_default().as_str().to_string(),
        };
        *counts.entry(labels).or_insert(0) += 1;
    }
    counts
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
