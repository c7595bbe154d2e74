//! Product, the one writer of Product status: the lanes summary ([`launchplane_core::product`]),
//! previewCount, protectedArtifacts ([`launchplane_core::protected`], lanes and previews) and
//! the orphans of the preview environment ([`crate::engine::preview::sweep`], which deletes
//! only under `cleanup: Delete`, within `deleteBudget`, only what carries this instance's
//! marker, and never on a failed or shrunken listing).
//!
//! The sweep's baseline (the last whole listing of the preview environment) is persisted in
//! `status.sweepBaseline`, so a restarted controller holds the same line: it moves only on a
//! listing that looks whole, and a Product without one (new, or written by an older version)
//! has its first listing set it and deletes nothing that round. Nothing is swept before the
//! Lane, Preview, Artifact and ProviderTarget caches have listed: before that every live
//! preview would look orphaned. Without previews (standalone mode without `--previews`) there
//! is no sweep.

use crate::engine::executor::Executor;
use crate::engine::preview::{SweepReport, orphans_after, preview_owner, sweep};
use crate::engine::{Reconciled, Result, StatusStore, World, commit, namespace_and_name};
use launchplane_api::resources::{Artifact, Lane, Preview, Product, ProviderTarget};
use launchplane_core::preview::next_baseline;
use launchplane_core::product;
use launchplane_core::protected::protected;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How often a Product looks again without a change (previews wake it when they change).
const RESYNC: Duration = Duration::from_secs(300);

/// What a Product reconcile did besides writing status.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductRun {
    pub reconciled: Reconciled,
    /// The preview sweep, when there was one (what was deleted, what failed, why nothing was).
    pub sweep: Option<SweepReport>,
    /// How many Previews the product has.
    pub previews: usize,
}

/// Reconcile one Product.
#[tracing::instrument(skip_all, fields(kind = "Product", name = %obj.metadata.name.as_deref().unwrap_or_default(), namespace = obj.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(obj: Arc<Product>, world: &World, store: &S) -> Result<ProductRun> {
    let (namespace, name) = namespace_and_name(obj.as_ref())?;
    let caches = &world.caches;
    // The counts, the protected set and above all the orphan sweep read these caches: before
    // they have listed, every live preview would look orphaned.
    caches.lanes.synced().await;
    caches.previews.synced().await;
    caches.artifacts.synced().await;
    caches.targets.synced().await;
    let lanes: Vec<Lane> = caches
        .in_namespace::<Lane>(&namespace)
        .iter()
        .map(|l| (**l).clone())
        .collect();
    let namespace_previews = caches.in_namespace::<Preview>(&namespace);
    let previews: Vec<Preview> = namespace_previews
        .iter()
        .filter(|p| p.spec.product_ref.name == name)
        .map(|p| (**p).clone())
        .collect();
    let artifacts: Vec<Artifact> = caches
        .in_namespace::<Artifact>(&namespace)
        .iter()
        .map(|a| (**a).clone())
        .collect();
    let count = i32::try_from(previews.len()).unwrap_or(i32::MAX);
    let mut status = product::reconcile(&obj, &lanes, Some(count), world.now()).status;
    status.protected_artifacts = protected(&name, &namespace, &lanes, &previews, &artifacts)
        .artifacts
        .into_keys()
        .collect();
    status.orphans = Vec::new();
    let mut swept = None;
    if obj.spec.preview.enabled && world.previews.is_some() {
        let template = obj
            .spec
            .preview
            .template_target_ref
            .as_ref()
            .and_then(|r| caches.get::<ProviderTarget>(&namespace, &r.name));
        let executor = template.as_ref().and_then(|t| {
            world
                .providers
                .provider(&format!("{namespace}/{}", t.spec.provider_config_ref.name))
                .map(Executor::new)
        });
        let baseline = obj.status.as_ref().and_then(|s| s.sweep_baseline.clone());
        let live: BTreeSet<i64> = previews.iter().map(|p| p.spec.pull_request.number).collect();
        // Every Preview of the namespace, whatever its product: none of their apps is an orphan.
        let live_owners: BTreeSet<_> = namespace_previews
            .iter()
            .map(|p| preview_owner(p, &world.instance))
            .collect();
        let report = sweep(
            &obj,
            template.as_deref(),
            &live,
            &live_owners,
            &world.instance,
            baseline.as_ref(),
            executor.as_ref(),
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
        status.orphans = orphans_after(&report);
        swept = Some(report);
    } else {
        // Without previews reconciled, the last sweep's baseline stands for the next one.
        status.sweep_baseline = obj.status.as_ref().and_then(|s| s.sweep_baseline.clone());
    }
    // A Product's verdict sums up its lanes, which announce their own changes.
    commit(store, obj.as_ref(), &status, None).await?;
    Ok(ProductRun {
        reconciled: Reconciled::after(RESYNC),
        sweep: swept,
        previews: previews.len(),
    })
}
