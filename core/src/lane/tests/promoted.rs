//! A lane fed by Promotions (`spec.promotion`): it deploys its Promotion in flight once, through
//! the usual records, naming the Promotion; it shows what it wants and who set it; it keeps its
//! rollback candidates.

use super::*;
use launchplane_api::resources::{LanePromotion, Promotion, PromotionPhase, PromotionSpec, PromotionStatus};

/// The fixture's lane, fed by Promotions from `shop-staging` instead of its `artifactRef`.
fn fed() -> Fx {
    let mut f = fx();
    f.lane.spec.artifact_ref = None;
    f.lane.spec.promotion = Some(LanePromotion {
        source_lane: "shop-staging".into(),
        ..Default::default()
    });
    f
}

fn promotion(name: &str, artifact: &str, phase: PromotionPhase, from: Option<&str>, at: i64) -> Promotion {
    let mut p = Promotion::new(
        name,
        PromotionSpec {
            product_ref: LocalObjectRef::new("shop"),
            from_lane: from.map(String::from),
            to_lane: "testing".into(),
            artifact_ref: Some(LocalObjectRef::new(artifact)),
            reason: None,
        },
    );
    p.metadata.namespace = Some("shop".into());
    p.status = Some(PromotionStatus {
        phase: Some(phase),
        artifact: Some(artifact.into()),
        start_time: Some(Time(t(at))),
        completion_time: phase.is_final().then(|| Time(t(at))),
        backup_gate: Some(format!("backup-{name}")),
        ..Default::default()
    });
    p
}

fn created(p: &LanePlan) -> DeploymentRecord {
    match &p.step {
        Some(Step::CreateRecord(r)) => (**r).clone(),
        other => panic!("expected CreateRecord, got {other:?}"),
    }
}

#[test]
fn a_fed_lane_observes_until_a_promotion_sets_its_artifact() {
    let f = fed();
    let p = f.plan(t(0));
    assert_eq!(p.step, None);
    assert_eq!(p.outcome.status.desired, None);
    assert_eq!(
        cond(&p, types::DEPLOYED).2,
        "no Promotion has set an artifact yet: the lane only observes"
    );
}

#[test]
fn a_fed_lane_deploys_its_promotion_in_flight_once_naming_it() {
    let mut f = fed();
    f.promotions.push(promotion(
        "p1",
        "shop-1",
        PromotionPhase::Deploying,
        Some("shop-staging"),
        0,
    ));
    let p = f.plan(t(0));
    let r = created(&p);
    assert_eq!(r.spec.promotion_ref, Some(LocalObjectRef::new("p1")));
    assert_eq!(r.spec.artifact_ref.name, "shop-1");
    assert!(
        r.spec
            .requested_by
            .as_deref()
            .unwrap()
            .contains("artifact shop-1 of Promotion p1"),
        "{:?}",
        r.spec.requested_by
    );
    let desired = p.outcome.status.desired.clone().unwrap();
    assert_eq!(
        (desired.artifact.as_str(), desired.promotion.as_deref()),
        ("shop-1", Some("p1"))
    );

    // Its one attempt failed: the lane makes no other (the Promotion fails instead), however
    // long it waits, whereas a lane fed by its spec retries.
    let mut failed = r.clone();
    let s = failed.status.as_mut().unwrap();
    s.phase = Some(DeploymentPhase::Failed);
    s.verification = Some(StepEvidence {
        finished_at: Some(Time(t(10))),
        ..Default::default()
    });
    f.records.push(failed.clone());
    for at in [11, 10_000] {
        let p = f.plan(t(at));
        assert!(
            !matches!(p.step, Some(Step::CreateRecord(_))),
            "at {at}: {:?}",
            p.step
        );
    }
    let mut by_spec = fx();
    failed.spec.promotion_ref = None;
    by_spec.records.push(failed);
    assert!(matches!(
        by_spec.plan(t(10_000)).step,
        Some(Step::CreateRecord(_))
    ));
}

#[test]
fn a_promotion_in_flight_deploys_even_an_artifact_the_lane_holds() {
    // The lane runs shop-1 (verified by a record of its own), but the Promotion went Deploying
    // because the destination did not verify it: a record naming the Promotion is written.
    let mut f = fed();
    let mut earlier = f.record(DeploymentPhase::Pending);
    earlier.metadata.name = Some("dr-earlier".into());
    f.records.push(succeeded(earlier, 5));
    f.promotions.push(promotion(
        "p1",
        "shop-1",
        PromotionPhase::Deploying,
        Some("shop-staging"),
        10,
    ));
    let r = created(&f.plan(t(20)));
    assert_eq!(r.spec.promotion_ref, Some(LocalObjectRef::new("p1")));
    // Once a record names it and succeeded, nothing more.
    f.records.push(succeeded(r, 30));
    let p = f.plan(t(40));
    assert!(!matches!(p.step, Some(Step::CreateRecord(_))), "{:?}", p.step);
}

#[test]
fn a_promotion_record_needs_the_runtime_identity_even_where_the_lane_does_not() {
    let mut f = fed();
    assert!(!f.lane.spec.runtime_identity.required);
    f.promotions.push(promotion(
        "p1",
        "shop-1",
        PromotionPhase::Deploying,
        Some("shop-staging"),
        0,
    ));
    let mut r = created(&f.plan(t(0)));
    r.status.as_mut().unwrap().phase = Some(DeploymentPhase::Verifying);
    f.records.push(r.clone());
    // Healthy, but the app serves no identity.
    f.probe = Some(ProbeResult {
        health_status: Some(200),
        observations: vec![SurfaceObservation::Absent {
            surface: Surface::HealthBody,
            reason: "no identity in the health JSON".into(),
        }],
        elapsed: Duration::from_millis(1),
    });
    let Some(Step::WriteRecord { status, .. }) = f.plan(t(5)).step else {
        panic!("verification")
    };
    assert_eq!(
        status.phase,
        Some(DeploymentPhase::Verifying),
        "not verified without the identity"
    );
    // The same record without a Promotion passes on health alone (identity advisory).
    r.spec.promotion_ref = None;
    f.records[0] = r;
    f.promotions.clear();
    f.lane.spec.promotion = None;
    f.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-1"));
    let Some(Step::WriteRecord { status, .. }) = f.plan(t(5)).step else {
        panic!("verification")
    };
    assert_eq!(status.phase, Some(DeploymentPhase::Succeeded));
}

#[test]
fn the_status_shows_the_hold_and_the_backup_gate_of_the_promotion_it_runs() {
    let mut f = fed();
    let mut r = f.record(DeploymentPhase::Pending);
    r.spec.promotion_ref = Some(LocalObjectRef::new("back"));
    f.records.push(succeeded(r, 5));
    f.promotions
        .push(promotion("back", "shop-1", PromotionPhase::Succeeded, None, 10));
    let s = f.plan(t(20)).outcome.status;
    let hold = s.hold.unwrap();
    assert_eq!(
        (hold.promotion.as_str(), hold.artifact.as_str()),
        ("back", "shop-1")
    );
    let inventory = s.inventory.unwrap();
    assert_eq!(inventory.promotion.as_deref(), Some("back"));
    assert_eq!(inventory.backup_gate.as_deref(), Some("backup-back"));
    assert_eq!(s.desired.unwrap().promotion.as_deref(), Some("back"));
}

#[test]
fn rollback_candidates_are_the_last_verified_artifacts_and_their_records_stay() {
    let mut f = fed();
    f.lane.spec.history_limit = 1;
    f.lane.spec.promotion.as_mut().unwrap().rollback_candidates = 2;
    for (attempt, name) in [(1u32, "shop-a"), (2, "shop-b"), (3, "shop-a"), (4, "shop-c")] {
        let mut artifact = f.artifact.clone();
        artifact.metadata.name = Some(name.into());
        let r = new_record(
            &f.lane,
            "testing",
            "shop",
            &artifact,
            attempt,
            "test",
            t(i64::from(attempt)),
        );
        f.records.push(succeeded(r, 100 * i64::from(attempt)));
    }
    let p = f.plan(t(1000));
    assert_eq!(p.outcome.status.rollback_candidates, vec!["shop-c", "shop-a"]);
    match p.step {
        // The newest record of shop-c (also the inventory's) and of shop-a stay; attempt 1 (an
        // older shop-a) and shop-b's go.
        Some(Step::PruneRecords { names }) => {
            let artifacts: Vec<String> = names
                .iter()
                .map(|n| {
                    f.records
                        .iter()
                        .find(|r| r.metadata.name.as_deref() == Some(n.as_str()))
                        .unwrap()
                        .spec
                        .artifact_ref
                        .name
                        .clone()
                })
                .collect();
            assert_eq!(names.len(), 2, "{names:?}");
            assert_eq!(artifacts, vec!["shop-b", "shop-a"]);
            let kept = &f.records[2];
            assert!(!names.contains(kept.metadata.name.as_ref().unwrap()));
        }
        other => panic!("{other:?}"),
    }
}
