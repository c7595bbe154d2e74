//! The Preview controller: [`crate::preview::reconcile`] under the
//! `launchplane.dev/preview-teardown` finalizer (kube's `finalizer` helper adds it before the
//! first reconcile and removes it only after [`crate::preview::teardown`] confirmed the Dokploy
//! application and domain are gone). An expired Preview (spec.ttl) is deleted by the
//! controller; its finalizer then tears it down. A failed teardown keeps the finalizer and says
//! why in status (`Stalled`, reason `TeardownFailed`).

use super::cache::{Cache, CacheWriter, cache};
use super::context::Context;
use super::status::apply_status;
use crate::preview::{PreviewSettings, StatusSink, TeardownTarget, reconcile as drive, teardown};
use futures::future::BoxFuture;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use launchplane_api::conditions::Progress;
use launchplane_api::resources::{Artifact, Preview, PreviewStatus, Product, ProviderTarget};
use launchplane_core::preview::{FINALIZER, Fresh, preview_conditions};
use std::sync::Arc;
use std::time::Duration;

pub const KIND: &str = "Preview";

/// Why a Preview reconcile failed (secret-free).
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("a Preview without namespace or name")]
    Unnamed,
    #[error("writing the status of Preview {namespace}/{name}: {source}")]
    Status {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("deleting expired Preview {namespace}/{name}: {source}")]
    Delete {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("tearing down Preview {namespace}/{name} (the finalizer stays): {message}")]
    Teardown {
        namespace: String,
        name: String,
        message: String,
    },
    #[error("Preview finalizer: {0}")]
    Finalizer(String),
    #[error("{0}")]
    ProductStatus(String),
}

/// What the Preview controller reads besides the Context.
#[derive(Clone)]
pub struct PreviewStores {
    pub products: Cache<Product>,
    pub artifacts: Cache<Artifact>,
    pub settings: PreviewSettings,
}

fn get<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

/// A Preview's Product, template ProviderTarget and Artifact, as the stores hold them.
type Looked = (
    Option<Arc<Product>>,
    Option<Arc<ProviderTarget>>,
    Option<Arc<Artifact>>,
);

/// The objects a Preview needs, from the stores, once each has listed (before that a Product
/// or template would look missing, and a teardown would lose what it needs to find).
async fn lookup(preview: &Preview, namespace: &str, ctx: &Context, stores: &PreviewStores) -> Looked {
    stores.products.synced().await;
    stores.artifacts.synced().await;
    ctx.targets.synced().await;
    let product = get(&stores.products, namespace, &preview.spec.product_ref.name);
    let template = product
        .as_ref()
        .and_then(|p| p.spec.preview.template_target_ref.clone())
        .and_then(|r| get(&ctx.targets, namespace, &r.name));
    let artifact = get(&stores.artifacts, namespace, &preview.spec.artifact_ref.name);
    (product, template, artifact)
}

fn provider_of(
    ctx: &Context,
    template: Option<&ProviderTarget>,
) -> Option<Arc<dyn launchplane_providers::Provider>> {
    let t = template?;
    let key = format!(
        "{}/{}",
        t.namespace().unwrap_or_default(),
        t.spec.provider_config_ref.name
    );
    ctx.registry.provider(&key)
}

struct KubeSink {
    api: Api<Preview>,
    name: String,
}

impl StatusSink for KubeSink {
    fn save<'a>(&'a self, status: &'a PreviewStatus) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            apply_status(&self.api, &self.name, status)
                .await
                .map(|_| ())
                .map_err(|e| format!("writing the Preview status: {e}"))
        })
    }
}

/// Reconcile one Preview (finalizer, apply or cleanup).
#[tracing::instrument(skip_all, fields(kind = KIND, name = %preview.name_any(), namespace = preview.namespace().unwrap_or_default()))]
pub async fn reconcile(
    preview: Arc<Preview>,
    ctx: Arc<Context>,
    stores: Arc<PreviewStores>,
) -> Result<Action, PreviewError> {
    let namespace = preview.namespace().ok_or(PreviewError::Unnamed)?;
    let api: Api<Preview> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, preview, |event| async {
        match event {
            Event::Apply(p) => apply(&p, &namespace, &api, &ctx, &stores).await,
            Event::Cleanup(p) => cleanup(&p, &namespace, &api, &ctx, &stores).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(inner)
        | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner,
        other => PreviewError::Finalizer(other.to_string()),
    })
}

async fn apply(
    preview: &Preview,
    namespace: &str,
    api: &Api<Preview>,
    ctx: &Context,
    stores: &PreviewStores,
) -> Result<Action, PreviewError> {
    let name = preview.name_any();
    let (product, template, artifact) = lookup(preview, namespace, ctx, stores).await;
    let provider = provider_of(ctx, template.as_deref());
    let world = crate::preview::PreviewWorld {
        preview,
        product: product.as_deref(),
        template: template.as_deref(),
        artifact: artifact.as_deref(),
    };
    let sink = KubeSink {
        api: api.clone(),
        name: name.clone(),
    };
    let report = drive(
        &world,
        provider.as_deref(),
        &ctx.prober,
        &stores.settings,
        &sink,
        ctx.clock.as_ref(),
    )
    .await;
    if preview.status.as_ref() != Some(&report.status) {
        apply_status(api, &name, &report.status)
            .await
            .map_err(|source| PreviewError::Status {
                namespace: namespace.to_string(),
                name: name.clone(),
                source: Box::new(source),
            })?;
    }
    if report.expired {
        tracing::info!("spec.ttl has passed: deleting the Preview (its finalizer tears it down)");
        api.delete(&name, &DeleteParams::default())
            .await
            .map_err(|source| PreviewError::Delete {
                namespace: namespace.to_string(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        return Ok(Action::await_change());
    }
    ctx.metrics.reconciled(KIND, Duration::ZERO);
    Ok(Action::requeue(until_expiry(
        &report.status,
        ctx.now(),
        report.requeue,
    )))
}

/// Come back no later than the ttl's expiry, so an expired Preview is deleted on time rather
/// than at the next resync.
fn until_expiry(status: &PreviewStatus, now: jiff::Timestamp, requeue: Duration) -> Duration {
    match status.expires_at.as_ref() {
        Some(at) => {
            // Past expiry the next reconcile deletes it; one second avoids a hot loop.
            let left = at.0.duration_since(now);
            let left = if left.is_positive() {
                left.unsigned_abs()
            } else {
                Duration::ZERO
            };
            requeue.min(left.max(Duration::from_secs(1)))
        }
        None => requeue,
    }
}

async fn cleanup(
    preview: &Preview,
    namespace: &str,
    api: &Api<Preview>,
    ctx: &Context,
    stores: &PreviewStores,
) -> Result<Action, PreviewError> {
    let name = preview.name_any();
    // The spec may no longer validate (product gone, policy changed): the status recorded the
    // target id and slug, which is what the teardown goes by.
    let (product, template, _) = lookup(preview, namespace, ctx, stores).await;
    let template = template.or_else(|| {
        // Without the Product, any template of the namespace's ProviderConfigs can reach Dokploy;
        // the recorded target id decides what is deleted.
        ctx.targets
            .state()
            .into_iter()
            .find(|t| t.namespace().as_deref() == Some(namespace))
    });
    let provider = provider_of(ctx, template.as_deref());
    let target = TeardownTarget::of(preview, product.as_deref(), &stores.settings.instance);
    match teardown(&target, provider.as_deref(), &ctx.prober, &stores.settings).await {
        Ok(done) => {
            if done.left_alone.is_some() {
                // The finalizer goes (the Preview is the user's to delete), but what was not
                // ours stays in Dokploy, and the log says why.
                tracing::warn!(summary = %done.summary(), "preview removed without deleting its application");
            } else {
                tracing::info!(summary = %done.summary(), domains = ?done.domains, "preview torn down");
            }
            Ok(Action::await_change())
        }
        Err(e) => {
            let message = format!("teardown failed, the finalizer stays until it succeeds: {e}");
            let old = preview.status.clone().unwrap_or_default();
            let computed = preview_conditions(
                &old.conditions,
                old.generations.last(),
                &Fresh::default(),
                &Progress::Stalled {
                    reason: "TeardownFailed".into(),
                    message: message.clone(),
                },
                preview.metadata.generation,
                ctx.now(),
            );
            let status = PreviewStatus {
                conditions: computed.conditions,
                ..old
            };
            if preview.status.as_ref() != Some(&status)
                && let Err(error) = apply_status(api, &name, &status).await
            {
                tracing::warn!(%error, "cannot write the teardown failure to status");
            }
            Err(PreviewError::Teardown {
                namespace: namespace.to_string(),
                name,
                message: e.to_string(),
            })
        }
    }
}

/// Count, log, retry in 30 seconds (a teardown failure or an API hiccup).
pub fn error_policy(preview: Arc<Preview>, error: &PreviewError, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed(KIND, "preview");
    tracing::warn!(%error, name = %preview.name_any(), namespace = %preview.namespace().unwrap_or_default(), "Preview reconcile failed");
    Action::requeue(Duration::from_secs(30))
}

/// The Preview controller over `stream` (the store `reader` is fed by it). Public so tests
/// drive the real controller loop from an in-memory stream.
pub async fn previews(
    stream: impl futures::Stream<Item = Result<Preview, kube::runtime::watcher::Error>> + Send + 'static,
    reader: Store<Preview>,
    ctx: Arc<Context>,
    stores: Arc<PreviewStores>,
    shutdown: super::run::Shutdown,
) {
    use futures::StreamExt;
    kube::runtime::Controller::for_stream(stream, reader)
        .graceful_shutdown_on(shutdown)
        .run(
            move |p, c| {
                let s = stores.clone();
                async move { reconcile(p, c, s).await }
            },
            error_policy,
            ctx,
        )
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(kind = KIND, %error, "controller loop");
            }
        })
        .await;
}

/// The Product controller over `stream`, re-run whenever a Preview of the product changes
/// (`previews_changed`).
pub async fn products(
    stream: impl futures::Stream<Item = Result<Product, kube::runtime::watcher::Error>> + Send + 'static,
    reader: Store<Product>,
    previews_changed: impl futures::Stream<Item = ObjectRef<Product>> + Send + 'static,
    ctx: Arc<Context>,
    stores: Arc<super::product::ProductStores>,
    shutdown: super::run::Shutdown,
) {
    use futures::StreamExt;
    kube::runtime::Controller::for_stream(stream, reader)
        .reconcile_on(previews_changed)
        .graceful_shutdown_on(shutdown)
        .run(
            move |p, c| {
                let s = stores.clone();
                async move { super::product::reconcile(p, c, s).await }
            },
            super::product::error_policy,
            ctx,
        )
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(kind = super::product::KIND, %error, "controller loop");
            }
        })
        .await;
}

/// Preview watch events reflected into `writer`, then filtered so spec changes, first
/// sightings *and finalizer changes* reach the controller (status writes still do not).
///
/// kube's `finalizer` helper adds the finalizer and returns without applying, counting on the
/// patch to trigger the next reconcile; that patch leaves `metadata.generation` alone, so the
/// generation-only filter of [`super::run::filtered`] would swallow it and leave a new Preview
/// waiting for its first deploy until the controller restarted. (Deletion bumps the
/// generation of an object with finalizers, so the teardown is triggered either way.)
pub fn filtered_previews(
    events: impl futures::Stream<
        Item = Result<kube::runtime::watcher::Event<Preview>, kube::runtime::watcher::Error>,
    > + Send
    + 'static,
    writer: CacheWriter<Preview>,
) -> impl futures::Stream<Item = Result<Preview, kube::runtime::watcher::Error>> + Send + 'static {
    use kube::runtime::{Predicate, WatchStreamExt, predicates};
    writer.reflect(events).applied_objects().predicate_filter(
        predicates::generation::<Preview>.combine(predicates::finalizers::<Preview>),
        Default::default(),
    )
}

/// Watch Previews and Products and run both controllers until `shutdown` (k8s::run).
pub async fn run_loops(
    client: kube::Client,
    namespace: Option<String>,
    ctx: Arc<Context>,
    settings: PreviewSettings,
    shutdown: super::run::Shutdown,
) {
    use super::run::{api, watched};
    use futures::StreamExt;
    use kube::runtime::WatchStreamExt;
    let ns = namespace.as_deref();
    let instance = settings.instance.clone();
    let (preview_store, preview_writer) = cache::<Preview>();
    let (product_store, product_writer) = cache::<Product>();
    let preview_stores = Arc::new(PreviewStores {
        products: product_store.clone(),
        artifacts: ctx.lanes.artifacts.clone(),
        settings,
    });
    let product_stores = Arc::new(super::product::ProductStores {
        lanes: ctx.lanes.lanes.clone(),
        previews: preview_store.clone(),
        artifacts: ctx.lanes.artifacts.clone(),
        resync: Duration::from_secs(300),
        instance,
    });
    // Every Preview event (status and deletion included) re-runs its Product: previewCount
    // and the protected set follow the previews without waiting for the resync. Taken from
    // the raw events, before the Preview controller's filter drops status writes and deletions.
    let (tx, rx) = futures::channel::mpsc::unbounded::<ObjectRef<Product>>();
    let raw = kube::runtime::watcher(
        api::<Preview>(client.clone(), ns),
        kube::runtime::watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .inspect(move |event| {
        use kube::runtime::watcher::Event;
        if let Ok(Event::Apply(p) | Event::InitApply(p) | Event::Delete(p)) = event
            && let Some(ns) = p.namespace()
        {
            let _ = tx.unbounded_send(ObjectRef::new(&p.spec.product_ref.name).within(&ns));
        }
    });
    let preview_events = filtered_previews(raw, preview_writer);
    tokio::join!(
        previews(
            preview_events,
            preview_store.store(),
            ctx.clone(),
            preview_stores,
            shutdown.clone()
        ),
        products(
            watched(api::<Product>(client, ns), product_writer),
            product_store.store(),
            rx,
            ctx,
            product_stores,
            shutdown
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[allow(clippy::unwrap_used)]
    fn t(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn the_requeue_never_overshoots_the_expiry() {
        let five_min = Duration::from_secs(300);
        let expiring = |at: i64| PreviewStatus {
            expires_at: Some(Time(t(at))),
            ..PreviewStatus::default()
        };
        assert_eq!(until_expiry(&PreviewStatus::default(), t(0), five_min), five_min);
        assert_eq!(
            until_expiry(&expiring(40), t(0), five_min),
            Duration::from_secs(40)
        );
        assert_eq!(until_expiry(&expiring(4000), t(0), five_min), five_min);
        assert_eq!(
            until_expiry(&expiring(-10), t(0), five_min),
            Duration::from_secs(1)
        );
    }
}
