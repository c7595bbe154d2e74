//! The Product controller, the one writer of Product status: the lanes summary
//! ([`launchplane_core::product`]), previewCount, protectedArtifacts
//! ([`launchplane_core::protected`], lanes and previews) and the orphans of the preview
//! environment ([`crate::preview::sweep`], which deletes only under `cleanup: Delete`, within
//! `deleteBudget`, and never on a failed or shrunken listing).
//!
//! The sweep's baseline (the last whole listing of the preview environment) is persisted in
//! `status.sweepBaseline`, so a restarted controller holds the same line: it moves only on a
//! listing that looks whole, and a Product without one (new, or written by an older version)
//! has its first listing set it and deletes nothing that round. Nothing is swept before the
//! Lane, Preview, Artifact and ProviderTarget caches have listed: before that every live
//! preview would look orphaned.

use super::cache::Cache;
use super::common::write_status_if_changed;
use super::context::Context;
use super::preview::PreviewError;
use crate::preview::sweep;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{Artifact, Lane, Preview, Product};
use launchplane_core::preview::next_baseline;
use launchplane_core::product;
use launchplane_core::protected::protected;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub const KIND: &str = "Product";

/// What the Product controller reads.
pub struct ProductStores {
    pub lanes: Cache<Lane>,
    pub previews: Cache<Preview>,
    pub artifacts: Cache<Artifact>,
    /// This controller's instance id, as its ownership markers name it.
    pub instance: String,
    pub resync: Duration,
}

/// Reconcile one Product.
#[tracing::instrument(skip_all, fields(kind = KIND, name = %obj.name_any(), namespace = obj.namespace().unwrap_or_default()))]
pub async fn reconcile(
    obj: Arc<Product>,
    ctx: Arc<Context>,
    stores: Arc<ProductStores>,
) -> Result<Action, PreviewError> {
    let namespace = obj.namespace().ok_or(PreviewError::Unnamed)?;
    let name = obj.name_any();
    let in_ns = |o: &Option<String>| o.as_deref() == Some(namespace.as_str());
    // The counts, the protected set and above all the orphan sweep read these stores: before
    // they have listed, every live preview would look orphaned.
    stores.lanes.synced().await;
    stores.previews.synced().await;
    stores.artifacts.synced().await;
    ctx.targets.synced().await;
    let lanes: Vec<Lane> = stores
        .lanes
        .state()
        .iter()
        .filter(|l| in_ns(&l.metadata.namespace))
        .map(|l| (**l).clone())
        .collect();
    let previews: Vec<Preview> = stores
        .previews
        .state()
        .iter()
        .filter(|p| in_ns(&p.metadata.namespace) && p.spec.product_ref.name == name)
        .map(|p| (**p).clone())
        .collect();
    let artifacts: Vec<Artifact> = stores
        .artifacts
        .state()
        .iter()
        .filter(|a| in_ns(&a.metadata.namespace))
        .map(|a| (**a).clone())
        .collect();
    let count = i32::try_from(previews.len()).unwrap_or(i32::MAX);
    let mut status = product::reconcile(&obj, &lanes, Some(count), ctx.now()).status;
    status.protected_artifacts = protected(&name, &namespace, &lanes, &previews, &artifacts)
        .artifacts
        .into_keys()
        .collect();
    status.orphans = Vec::new();
    if obj.spec.preview.enabled {
        let template = obj
            .spec
            .preview
            .template_target_ref
            .as_ref()
            .and_then(|r| ctx.targets.get(&ObjectRef::new(&r.name).within(&namespace)));
        let provider = template.as_ref().and_then(|t| {
            ctx.registry
                .provider(&format!("{namespace}/{}", t.spec.provider_config_ref.name))
        });
        let baseline = obj.status.as_ref().and_then(|s| s.sweep_baseline.clone());
        let live: BTreeSet<i64> = previews.iter().map(|p| p.spec.pull_request.number).collect();
        // Every Preview of the namespace, whatever its product: none of their apps is an orphan.
        let live_owners: BTreeSet<_> = stores
            .previews
            .state()
            .iter()
            .filter(|p| in_ns(&p.metadata.namespace))
            .map(|p| crate::preview::preview_owner(p, &stores.instance))
            .collect();
        let report = sweep(
            &obj,
            template.as_deref(),
            &live,
            &live_owners,
            &stores.instance,
            baseline.as_ref(),
            provider.as_deref(),
        )
        .await;
        status.sweep_baseline = next_baseline(&report.plan, baseline.as_ref(), report.deleted.len());
        if let Some(why) = &report.plan.refused {
            tracing::debug!(%why, "the preview sweep deletes nothing this round");
        }
        if !report.deleted.is_empty() {
            tracing::info!(deleted = ?report.deleted, "orphaned preview targets deleted");
        }
        for (id, error) in &report.failed {
            tracing::warn!(target_id = %id, %error, "deleting an orphaned preview target failed");
        }
        status.orphans = crate::preview::orphans_after(&report);
    }
    let api: Api<Product> = Api::namespaced(ctx.client.clone(), &namespace);
    write_status_if_changed(&api, KIND, &namespace, &name, obj.status.as_ref(), &status)
        .await
        .map_err(|e| PreviewError::ProductStatus(e.to_string()))?;
    Ok(Action::requeue(stores.resync))
}

/// Count, log, retry in 30 seconds.
pub fn error_policy(obj: Arc<Product>, error: &PreviewError, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed(KIND, "product");
    tracing::warn!(%error, name = %obj.name_any(), "Product reconcile failed");
    Action::requeue(Duration::from_secs(30))
}
