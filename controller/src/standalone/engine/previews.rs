//! Standalone previews and the Product's preview summary.
//!
//! - Each Preview in the folder is reconciled through [`crate::preview::reconcile`] (its
//!   Dokploy application, domain and generations); its status is kept under `Preview/`, and the
//!   whole object (spec and status) under `previews/` so it can still be torn down later.
//! - A Preview recorded in the state folder whose manifest is gone from the folder is torn
//!   down: that is standalone mode's deletion. The record is dropped only once the teardown is
//!   confirmed; a failed teardown is a failing row and is retried on the next round.
//! - An expired Preview (spec.ttl) is torn down the same way; its manifest stays in the folder
//!   until someone removes it, and it is not deployed again.
//! - Each Product's status gains previewCount, orphans (the sweep of its preview environment)
//!   and protectedArtifacts (lanes and previews), on top of the lanes summary, and keeps the
//!   sweep's baseline (`sweepBaseline`, the last whole listing) in the state folder with it,
//!   exactly as the cluster keeps it in Product status: a new Engine over the same folder
//!   holds the same line. (The `preview-sweeps/` files of earlier versions, which could hold a
//!   shrunken count, are no longer read.)

use super::{Engine, key_of};
use crate::preview::orphans_after;
use crate::preview::{PreviewSettings, StatusSink, SweepReport, TeardownTarget, reconcile, sweep, teardown};
use crate::standalone::inputs::Inputs;
use crate::standalone::report::Row;
use crate::standalone::state::StateDir;
use futures::future::BoxFuture;
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    Lane, LaneStatus, Preview, PreviewStatus, Product, ProductStatus, ProviderTarget,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::preview::next_baseline;
use launchplane_core::protected::protected;
use launchplane_providers::Provider;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Whole Preview objects, for teardown after the manifest is gone.
const PREVIEW_OBJECTS: &str = "previews";

/// Standalone preview timings: `--once` waits in-process for the deploy.
pub fn standalone_preview_settings() -> PreviewSettings {
    PreviewSettings {
        poll_delay: Duration::from_millis(500),
        deadline: Duration::from_secs(120),
        ..PreviewSettings::default()
    }
}

struct FileSink {
    state: StateDir,
    namespace: String,
    name: String,
}

impl StatusSink for FileSink {
    fn save<'a>(&'a self, status: &'a PreviewStatus) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.state
                .save("Preview", &self.namespace, &self.name, status)
                .map_err(|e| format!("cannot write the preview state: {e}"))
        })
    }
}

/// `(namespace, name)` of every Preview object recorded in the state folder.
fn recorded(state: &StateDir) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(namespaces) = std::fs::read_dir(state.root().join(PREVIEW_OBJECTS)) else {
        return out;
    };
    for ns in namespaces.flatten() {
        let Ok(files) = std::fs::read_dir(ns.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "json")
                && let (Some(n), Some(stem)) = (
                    ns.file_name().to_str().map(str::to_string),
                    path.file_stem().and_then(|s| s.to_str()).map(str::to_string),
                )
                && !stem.starts_with('.')
            {
                out.push((n, stem));
            }
        }
    }
    out.sort();
    out
}

fn forget(state: &StateDir, namespace: &str, name: &str) {
    for kind in [PREVIEW_OBJECTS, "preview"] {
        let path = state
            .root()
            .join(kind)
            .join(namespace)
            .join(format!("{name}.json"));
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(namespace, name, error = %e, "cannot remove the preview state file");
        }
    }
}

impl Engine {
    fn provider_for(&self, template: Option<&ProviderTarget>) -> Option<Arc<dyn Provider>> {
        let t = template?;
        let key = key_of(
            &t.metadata.namespace,
            &Some(t.spec.provider_config_ref.name.clone()),
        );
        self.providers.get(&key).map(|slot| slot.provider.clone())
    }

    /// Reconcile every Preview, tear down the ones whose manifest is gone, then add the preview
    /// summary to each Product (its lanes summary was computed by [`Engine::lanes`]). Product
    /// rows already in `rows` gain the orphans in their message.
    pub(super) async fn previews(
        &mut self,
        inputs: &Inputs,
        targets: &[ProviderTarget],
        rows: &mut Vec<Row>,
    ) {
        let Some(settings) = self.previews.clone() else {
            return;
        };
        let find_product = |p: &Preview| {
            inputs.products.iter().find(|x| {
                x.metadata.namespace == p.metadata.namespace
                    && x.metadata.name.as_deref() == Some(p.spec.product_ref.name.as_str())
            })
        };
        let template_of = |product: Option<&Product>| {
            let product = product?;
            let r = product.spec.preview.template_target_ref.as_ref()?;
            targets.iter().find(|t| {
                t.metadata.namespace == product.metadata.namespace
                    && t.metadata.name.as_deref() == Some(r.name.as_str())
            })
        };
        let mut done: Vec<Preview> = Vec::new();
        for p in &inputs.previews {
            let mut preview = p.clone();
            preview.status = self.load(&preview.metadata.namespace, &preview.metadata.name, "Preview");
            let namespace = preview
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            let name = preview.metadata.name.clone().unwrap_or_default();
            let product = find_product(&preview);
            let template = template_of(product);
            let artifact = inputs.artifacts.iter().find(|a| {
                a.metadata.namespace == preview.metadata.namespace
                    && a.metadata.name.as_deref() == Some(preview.spec.artifact_ref.name.as_str())
            });
            let provider = self.provider_for(template);
            let sink = FileSink {
                state: self.state.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
            };
            let world = crate::preview::PreviewWorld {
                preview: &preview,
                product,
                template,
                artifact,
            };
            // The preview waits within the round's budget; what is left continues next round.
            let bounded = crate::preview::PreviewSettings {
                deadline: settings.deadline.min(self.round_left()),
                ..settings.clone()
            };
            let report = reconcile(
                &world,
                provider.as_deref(),
                &self.prober,
                &bounded,
                &sink,
                &SystemClock,
            )
            .await;
            let mut status = report.status.clone();
            let mut message = summary_message(&status);
            let mut verdict = status.verdict;
            if report.expired {
                preview.status = Some(status.clone());
                let target = TeardownTarget::of(&preview, product, &settings.instance);
                match teardown(&target, provider.as_deref(), &self.prober, &settings).await {
                    Ok(done) => {
                        status.target_id = None;
                        status.serving_generation = None;
                        verdict = Some(Verdict::Missing);
                        message = format!(
                            "spec.ttl has passed: {}; remove its manifest from the folder",
                            done.summary()
                        );
                    }
                    Err(e) => {
                        verdict = Some(Verdict::Unverifiable);
                        message = format!("spec.ttl has passed; teardown failed, retried next round: {e}");
                    }
                }
            } else if let Some(e) = &report.error {
                message = format!("{message} (last step: {e}; retried next round)");
            }
            self.save("Preview", &preview.metadata, &status);
            preview.status = Some(status);
            self.save(PREVIEW_OBJECTS, &preview.metadata, &preview);
            rows.push(self.row(
                "Preview",
                &preview.metadata,
                verdict,
                status_reason(preview.status.as_ref()),
                message,
                true,
            ));
            done.push(preview);
        }

        // Standalone deletion: recorded previews whose manifest left the folder.
        let present: BTreeSet<(String, String)> = inputs
            .previews
            .iter()
            .map(|p| {
                (
                    p.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
                    p.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        for (namespace, name) in recorded(&self.state) {
            if present.contains(&(namespace.clone(), name.clone())) {
                continue;
            }
            let Some(gone) = self.state.load::<Preview>(PREVIEW_OBJECTS, &namespace, &name) else {
                continue;
            };
            let product = find_product(&gone);
            let template = template_of(product);
            let provider = self.provider_for(template);
            let target = TeardownTarget::of(&gone, product, &settings.instance);
            let (verdict, reason, message) =
                match teardown(&target, provider.as_deref(), &self.prober, &settings).await {
                    Ok(report) => {
                        forget(&self.state, &namespace, &name);
                        (
                            Verdict::Matched,
                            "TornDown".to_string(),
                            format!("the manifest is gone: {}", report.summary()),
                        )
                    }
                    Err(e) => (
                        Verdict::Unverifiable,
                        "TeardownFailed".to_string(),
                        format!("the manifest is gone but the teardown failed (retried next round): {e}"),
                    ),
                };
            rows.push(self.row("Preview", &gone.metadata, Some(verdict), reason, message, true));
        }

        // Products: preview count, orphans (sweep), protected artifacts.
        let lanes: Vec<Lane> = inputs
            .lanes
            .iter()
            .cloned()
            .map(|mut l| {
                l.status = self.load::<LaneStatus>(&l.metadata.namespace, &l.metadata.name, "Lane");
                l
            })
            .collect();
        for product in &inputs.products {
            let product_name = product.metadata.name.clone().unwrap_or_default();
            let namespace = product
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            let mine: Vec<&Preview> = done
                .iter()
                .filter(|p| {
                    p.metadata.namespace == product.metadata.namespace
                        && p.spec.product_ref.name == product_name
                })
                .collect();
            let mut status: ProductStatus = self
                .load(&product.metadata.namespace, &product.metadata.name, "Product")
                .unwrap_or_default();
            status.preview_count = Some(i32::try_from(mine.len()).unwrap_or(i32::MAX));
            let mine_owned: Vec<Preview> = mine.iter().map(|p| (*p).clone()).collect();
            let set = protected(&product_name, &namespace, &lanes, &mine_owned, &inputs.artifacts);
            status.protected_artifacts = set.artifacts.keys().cloned().collect();
            if product.spec.preview.enabled {
                let template = template_of(Some(product));
                let provider = self.provider_for(template);
                let live: BTreeSet<i64> = mine.iter().map(|p| p.spec.pull_request.number).collect();
                let baseline = status.sweep_baseline.clone();
                let live_owners: BTreeSet<_> = inputs
                    .previews
                    .iter()
                    .map(|p| crate::preview::preview_owner(p, &settings.instance))
                    .collect();
                let report = sweep(
                    product,
                    template,
                    &live,
                    &live_owners,
                    &settings.instance,
                    baseline.as_ref(),
                    provider.as_deref(),
                )
                .await;
                status.sweep_baseline = next_baseline(&report.plan, baseline.as_ref(), report.deleted.len());
                status.orphans = orphans_after(&report);
                if let Some(row) = rows
                    .iter_mut()
                    .find(|r| r.kind == "Product" && r.namespace == namespace && r.name == product_name)
                {
                    row.message = format!("{}; {}", row.message, sweep_message(&report, mine.len()));
                }
            } else {
                status.orphans = Vec::new();
            }
            self.save("Product", &product.metadata, &status);
        }
    }
}

/// One line for a person about the sweep.
pub fn sweep_message(report: &SweepReport, previews: usize) -> String {
    let mut parts = vec![format!("{previews} previews")];
    let left = orphans_after(report).len();
    if left > 0 {
        parts.push(format!("{left} orphaned preview targets"));
    }
    if !report.deleted.is_empty() {
        parts.push(format!("{} orphans deleted", report.deleted.len()));
    }
    for (id, e) in &report.failed {
        parts.push(format!("deleting orphan {id} failed: {e}"));
    }
    if let Some(why) = &report.plan.refused
        && left > 0
    {
        parts.push(why.clone());
    }
    parts.join("; ")
}

fn status_reason(status: Option<&PreviewStatus>) -> String {
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let (reason, _) = super::summary(conditions, status.and_then(|s| s.verdict));
    reason
}

fn summary_message(status: &PreviewStatus) -> String {
    let (_, message) = super::summary(&status.conditions, status.verdict);
    let serving = status
        .serving_generation
        .as_deref()
        .map(|g| format!("serving {g} at {}", status.url.as_deref().unwrap_or_default()));
    match serving {
        Some(s) if !message.is_empty() => format!("{s}; {message}"),
        Some(s) => s,
        None => message,
    }
}
