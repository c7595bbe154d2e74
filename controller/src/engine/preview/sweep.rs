//! The orphan sweep of a product's preview environment: one listing, [`plan_sweep`] picks the
//! candidates, and each candidate is deleted through the executor only when its ownership
//! marker, read now by id, makes it this instance's orphan ([`sweep_verdict`]).

use super::observe::environment;
use crate::engine::executor::Executor;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{OrphanTarget, Product, ProviderTarget, SweepBaseline};
use launchplane_core::preview::{
    InventoryTarget, Listing, PreviewStep, SweepInput, SweepPlan, in_environment, plan_sweep, sweep_verdict,
};
use launchplane_core::provider_target::claimed_id;
use std::collections::BTreeSet;

/// What a sweep saw and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepReport {
    pub plan: SweepPlan,
    /// Target ids deleted this sweep.
    pub deleted: Vec<String>,
    /// Deletions that failed, with why (secret-free).
    pub failed: Vec<(String, String)>,
    /// Candidates left in place because they are not this instance's orphans, with why.
    pub left_alone: Vec<(String, String)>,
}

/// The preview environment of `product` and its applications, or why they could not be listed.
async fn listing(
    product: &Product,
    template: Option<&ProviderTarget>,
    executor: Option<&Executor>,
) -> Result<(String, Vec<InventoryTarget>), String> {
    let exec = executor.ok_or("no Dokploy client for the template target's ProviderConfig")?;
    let template_id = template
        .and_then(claimed_id)
        .ok_or("the preview template target is missing or not bound")?;
    let snapshot = exec.inventory().await.map_err(|e| e.message().to_string())?;
    let wanted = product.spec.preview.environment.as_deref();
    let environment = environment(exec, &snapshot, &template_id, wanted)
        .await?
        .map_err(|setup| setup.message)?;
    let targets = in_environment(&snapshot, &environment)
        .map(|s| InventoryTarget {
            id: s.id.clone(),
            name: s.name.clone().unwrap_or_default(),
        })
        .collect();
    Ok((environment, targets))
}

/// Sweep the preview environment of `product`: list its targets (one `observe_org`), let
/// [`plan_sweep`] pick the candidates, and delete a candidate only when its marker, read now by
/// id, names this `instance`, the product's namespace and a Preview that is not in
/// `live_owners` (the owners of every existing Preview of that namespace). `live`: the
/// pull-request numbers of the product's Previews; `baseline`: the persisted last whole
/// listing (the caller persists [`launchplane_core::preview::next_baseline`] of the report).
#[allow(clippy::too_many_arguments)]
pub async fn sweep(
    product: &Product,
    template: Option<&ProviderTarget>,
    live: &BTreeSet<i64>,
    live_owners: &BTreeSet<Owner>,
    instance: &str,
    baseline: Option<&SweepBaseline>,
    executor: Option<&Executor>,
) -> SweepReport {
    let product_name = product.metadata.name.as_deref().unwrap_or_default();
    let listed = listing(product, template, executor).await;
    let plan = plan_sweep(&SweepInput {
        product: product_name,
        policy: &product.spec.preview,
        inventory: listed
            .as_ref()
            .map(|(environment, targets)| Listing { environment, targets })
            .map_err(Clone::clone),
        baseline,
        live,
    });
    let mut report = SweepReport {
        plan,
        ..SweepReport::default()
    };
    let namespace = product.metadata.namespace.as_deref().unwrap_or("default");
    let Some(exec) = executor else {
        return report;
    };
    for id in report.plan.delete.clone() {
        let detail = match exec.application(&id).await {
            Ok(detail) => detail,
            Err(e) => {
                let why = format!("its ownership marker could not be read ({})", e.message());
                report.left_alone.push((id, why));
                continue;
            }
        };
        if let Some(why) = sweep_verdict(detail.description.as_deref(), instance, namespace, live_owners) {
            report.left_alone.push((id, why));
            continue;
        }
        let step = PreviewStep::DeleteApplication {
            application: id.clone(),
        };
        let Some(action) = step.action() else {
            continue;
        };
        match exec.perform(&action).await {
            Ok(_) => report.deleted.push(id),
            Err(e) => report.failed.push((id, e.message().to_string())),
        }
    }
    report
}

/// The orphans still there after the sweep's deletions (what Product status lists).
pub fn orphans_after(report: &SweepReport) -> Vec<OrphanTarget> {
    report
        .plan
        .orphans
        .iter()
        .filter(|o| !report.deleted.contains(&o.target_id))
        .cloned()
        .collect()
}
