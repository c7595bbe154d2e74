//! Product: the product's read model — each lane's artifact, verdict and last deploy — and a
//! clear refusal of drivers Launchplane does not deploy yet.

use super::Outcome;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, Progress, types};
use launchplane_api::resources::{Lane, LaneSummary, Product, ProductStatus};
use launchplane_api::verdict::Verdict;
use std::collections::BTreeSet;

/// Compute a Product's status from the lanes of its namespace that reference it.
/// `preview_count`: `None` keeps what the status held (previews are summarised elsewhere).
pub fn reconcile(
    product: &Product,
    lanes: &[Lane],
    preview_count: Option<i32>,
    now: Timestamp,
) -> Outcome<ProductStatus> {
    let old = product.status.clone().unwrap_or_default();
    let name = product.metadata.name.clone().unwrap_or_default();
    let mut mine: Vec<&Lane> = lanes
        .iter()
        .filter(|l| l.metadata.namespace == product.metadata.namespace && l.spec.product_ref.name == name)
        .collect();
    mine.sort_by_key(|l| l.metadata.name.clone());
    let summaries: Vec<LaneSummary> = mine
        .iter()
        .map(|l| {
            let status = l.status.as_ref();
            let inventory = status.and_then(|s| s.inventory.as_ref());
            LaneSummary {
                name: l.metadata.name.clone().unwrap_or_default(),
                stage: Some(l.spec.stage.clone()),
                artifact: inventory.map(|i| i.artifact.clone()),
                verdict: Some(status.and_then(|s| s.verdict).unwrap_or_default()),
                last_deploy_time: inventory.and_then(|i| i.since.clone()),
            }
        })
        .collect();
    let protected: BTreeSet<String> = mine
        .iter()
        .flat_map(|l| {
            let status = l.status.as_ref();
            l.spec
                .artifact_ref
                .as_ref()
                .map(|r| r.name.clone())
                .into_iter()
                .chain(
                    status
                        .and_then(|s| s.desired.as_ref())
                        .map(|d| d.artifact.clone()),
                )
                .chain(
                    status
                        .and_then(|s| s.inventory.as_ref())
                        .map(|i| i.artifact.clone()),
                )
                .chain(
                    status
                        .into_iter()
                        .flat_map(|s| s.rollback_candidates.iter().cloned()),
                )
        })
        .collect();

    let (verdict, message) = if mine.is_empty() {
        (Verdict::Unchecked, "no Lane references this product".to_string())
    } else {
        let worst = Verdict::worst(summaries.iter().map(|s| s.verdict.unwrap_or_default()));
        let failing: Vec<String> = summaries
            .iter()
            .filter(|s| !s.verdict.unwrap_or_default().is_matched())
            .map(|s| format!("lane {} is {}", s.name, s.verdict.unwrap_or_default()))
            .collect();
        let message = if failing.is_empty() {
            format!("all {} lanes Matched", summaries.len())
        } else {
            failing.join("; ")
        };
        (worst, message)
    };
    // Every driver deploys: generic-web and verireel (its variant) applications, odoo composes.
    let progress = Progress::Settled;
    let computed = conditions::compute(&old.conditions, &[], &progress, product.metadata.generation, now);
    let mut conditions = computed.conditions;
    // The product's one aspect is the summary of its lanes, reported through Ready itself.
    let ready_status = conditions::status_for(verdict).to_string();
    if let Some(ready) = conditions.iter_mut().find(|c| c.type_ == types::READY) {
        let was = conditions::find(&old.conditions, types::READY);
        ready.last_transition_time = match was {
            Some(w) if w.status == ready_status => w.last_transition_time.clone(),
            _ => Time(now),
        };
        ready.status = ready_status;
        ready.reason = verdict.to_string();
        ready.message = message;
    }
    Outcome {
        status: ProductStatus {
            observed_generation: product.metadata.generation,
            verdict: Some(verdict),
            conditions,
            lanes: summaries,
            preview_count: preview_count.or(old.preview_count),
            orphans: old.orphans,
            protected_artifacts: protected.into_iter().collect(),
            // The sweep's to move (k8s::product, standalone previews); kept across every write.
            sweep_baseline: old.sweep_baseline,
        },
        transitions: computed.transitions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::lane::driver_name;
    use launchplane_api::resources::{
        Driver, LaneInventory, LaneSpec, LaneStatus, LocalObjectRef, ProductSpec,
    };

    fn t() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn product(driver: Driver) -> Product {
        let mut p = Product::new(
            "shop",
            ProductSpec {
                driver,
                ..Default::default()
            },
        );
        p.metadata.namespace = Some("shop".into());
        p
    }

    fn lane(name: &str, product: &str, runs: Option<&str>, verdict: Verdict) -> Lane {
        let mut l = Lane::new(
            name,
            LaneSpec {
                product_ref: LocalObjectRef::new(product),
                stage: name.into(),
                artifact_ref: Some(LocalObjectRef::new("shop-2")),
                ..Default::default()
            },
        );
        l.metadata.namespace = Some("shop".into());
        l.status = Some(LaneStatus {
            verdict: Some(verdict),
            inventory: runs.map(|a| LaneInventory {
                artifact: a.into(),
                since: Some(Time(t())),
                ..Default::default()
            }),
            ..Default::default()
        });
        l
    }

    #[test]
    fn the_read_model_lists_each_lane_with_artifact_verdict_and_last_deploy() {
        let lanes = [
            lane("prod", "shop", Some("shop-1"), Verdict::Mismatch),
            lane("testing", "shop", Some("shop-2"), Verdict::Matched),
            lane("elsewhere", "blog", Some("blog-1"), Verdict::Matched),
        ];
        let out = reconcile(&product(Driver::GenericWeb), &lanes, None, t());
        let s = out.status;
        let names: Vec<&str> = s.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, vec!["prod", "testing"]);
        assert_eq!(s.lanes[0].artifact.as_deref(), Some("shop-1"));
        assert_eq!(s.lanes[0].verdict, Some(Verdict::Mismatch));
        assert_eq!(s.lanes[1].last_deploy_time, Some(Time(t())));
        assert_eq!(s.verdict, Some(Verdict::Mismatch));
        assert_eq!(s.protected_artifacts, vec!["shop-1", "shop-2"]);
        let ready = conditions::find(&s.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "Mismatch")
        );
        assert!(
            ready.message.contains("lane prod is Mismatch"),
            "{}",
            ready.message
        );
    }

    #[test]
    fn all_lanes_matched_is_ready() {
        let lanes = [lane("testing", "shop", Some("shop-2"), Verdict::Matched)];
        let out = reconcile(&product(Driver::GenericWeb), &lanes, Some(2), t());
        assert_eq!(out.status.verdict, Some(Verdict::Matched));
        assert_eq!(out.status.preview_count, Some(2));
        let ready = conditions::find(&out.status.conditions, types::READY).unwrap();
        assert_eq!(ready.status, "True");
    }

    #[test]
    fn every_driver_is_accepted() {
        for driver in [Driver::GenericWeb, Driver::Odoo, Driver::Verireel] {
            let out = reconcile(&product(driver), &[], None, t());
            let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
            assert_eq!(stalled.status, "False", "{}: {stalled:?}", driver_name(driver));
        }
    }
}
