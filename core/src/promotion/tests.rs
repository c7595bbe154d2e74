#![allow(clippy::unwrap_used)]

use super::gates::{self, BackupGateInputs};
use super::*;
use crate::backup_gate;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::identity::RuntimeIdentityPayload;
use launchplane_api::resources::{
    Approval, ApprovalSpec, Artifact, ArtifactImage, ArtifactSpec, BackupGate, BackupGateSpec,
    BackupGateStatus, BackupResult, DeployEvidence, DeploymentPhase, DeploymentRecord, DeploymentRecordSpec,
    DeploymentRecordStatus, GateOutcome, IdentityEvidence, Lane, LaneHold, LaneInventory, LanePromotion,
    LaneSpec, LaneStatus, LocalObjectRef, Promotion, PromotionPhase, PromotionSpec, PromotionStatus,
    PromotionWindow, SourceRef, StepEvidence, Weekday,
};
use launchplane_api::verdict::Verdict;
use std::collections::BTreeMap;

const NS: &str = "shop";

/// 2027-01-15T08:00:00Z, a Friday.
fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn hours(h: i64) -> i64 {
    h * 3600
}

fn lane(name: &str, promotion: Option<LanePromotion>) -> Lane {
    let mut l = Lane::new(
        name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: name.trim_start_matches("shop-").into(),
            target_ref: LocalObjectRef::new(name),
            promotion,
            ..Default::default()
        },
    );
    l.metadata.namespace = Some(NS.into());
    l
}

fn rules(source: &str) -> LanePromotion {
    LanePromotion {
        source_lane: source.into(),
        ..Default::default()
    }
}

fn testing() -> Lane {
    lane("shop-testing", None)
}

fn prod() -> Lane {
    lane("shop-prod", Some(rules("shop-testing")))
}

/// `l` verified on `artifact` since `since` (identity Matched since then, app echoing it).
fn verified_on(mut l: Lane, artifact: &str, since: Timestamp) -> Lane {
    l.status = Some(LaneStatus {
        inventory: Some(LaneInventory {
            artifact: artifact.into(),
            deployment_record: Some(format!("dr-{artifact}")),
            since: Some(Time(since)),
            ..Default::default()
        }),
        conditions: vec![condition("RuntimeIdentityVerified", "True", "Matched", since)],
        observed_identity: Some(RuntimeIdentityPayload {
            artifact_id: Some(artifact.into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    l
}

fn condition(type_: &str, status: &str, reason: &str, at: Timestamp) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: format!("{type_} is {reason}"),
        observed_generation: None,
        last_transition_time: Time(at),
    }
}

fn promotion(name: &str, from: Option<&str>, to: &str, artifact: Option<&str>, created: i64) -> Promotion {
    let mut p = Promotion::new(
        name,
        PromotionSpec {
            product_ref: LocalObjectRef::new("shop"),
            from_lane: from.map(String::from),
            to_lane: to.into(),
            artifact_ref: artifact.map(LocalObjectRef::new),
            reason: None,
        },
    );
    p.metadata.namespace = Some(NS.into());
    p.metadata.creation_timestamp = Some(Time(t(created)));
    p
}

fn promote(name: &str, artifact: &str) -> Promotion {
    promotion(name, Some("shop-testing"), "shop-prod", Some(artifact), 0)
}

fn with_phase(mut p: Promotion, phase: PromotionPhase, artifact: &str, at: i64) -> Promotion {
    p.status = Some(PromotionStatus {
        phase: Some(phase),
        artifact: Some(artifact.into()),
        start_time: Some(Time(t(at))),
        completion_time: phase.is_final().then(|| Time(t(at))),
        ..Default::default()
    });
    p
}

fn record(
    name: &str,
    artifact: &str,
    phase: DeploymentPhase,
    promotion: Option<&str>,
    at: i64,
) -> DeploymentRecord {
    let mut r = DeploymentRecord::new(
        name,
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new("shop-prod")),
            artifact_ref: LocalObjectRef::new(artifact),
            promotion_ref: promotion.map(LocalObjectRef::new),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some(NS.into());
    r.metadata.labels = Some(BTreeMap::from([(
        crate::deployment_record::ATTEMPT_LABEL.to_string(),
        "1".to_string(),
    )]));
    let done = matches!(phase, DeploymentPhase::Succeeded | DeploymentPhase::Failed);
    r.status = Some(DeploymentRecordStatus {
        phase: Some(phase),
        deploy: Some(DeployEvidence {
            started_at: Some(Time(t(at - 60))),
            ..Default::default()
        }),
        identity: (phase == DeploymentPhase::Succeeded).then(|| IdentityEvidence {
            verdict: Some(Verdict::Matched),
            observed: Some(RuntimeIdentityPayload {
                artifact_id: Some(artifact.into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        verification: done.then(|| StepEvidence {
            finished_at: Some(Time(t(at))),
            message: Some("health and runtime identity verified".into()),
            ..Default::default()
        }),
        conditions: vec![condition(
            "Ready",
            if phase == DeploymentPhase::Succeeded {
                "True"
            } else {
                "False"
            },
            "Verified",
            t(at),
        )],
        ..Default::default()
    });
    r
}

fn backup(name: &str, taken: i64, result: BackupResult) -> BackupGate {
    let mut g = BackupGate::new(
        name,
        BackupGateSpec {
            lane_ref: LocalObjectRef::new("shop-prod"),
            capture: None,
            backup_id: Some(format!("backup-{name}")),
            taken_at: Some(Time(t(taken))),
            location: Some("s3://backups/shop".into()),
            evidence: None,
            result: Some(result),
        },
    );
    g.metadata.namespace = Some(NS.into());
    g
}

fn artifact(name: &str) -> Artifact {
    let mut a = Artifact::new(
        name,
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "b".repeat(40),
            },
            source_repos: vec![SourceRef {
                repository: "github.com/acme/theme".into(),
                commit: "c".repeat(40),
            }],
            ..Default::default()
        },
    );
    a.metadata.namespace = Some(NS.into());
    a
}

fn approval_of(promotion: &str, approver: &str) -> Approval {
    let mut a = Approval::new(
        &format!("{promotion}-{approver}"),
        ApprovalSpec {
            promotion_ref: LocalObjectRef::new(promotion),
            approver: approver.into(),
            comment: None,
        },
    );
    a.metadata.namespace = Some(NS.into());
    a
}

/// Everything one promotion plan reads.
struct World {
    lanes: Vec<Lane>,
    promotions: Vec<Promotion>,
    records: Vec<DeploymentRecord>,
    gates: Vec<BackupGate>,
    approvals: Vec<Approval>,
    artifacts: Vec<Artifact>,
}

impl World {
    fn new(testing: Lane, prod: Lane) -> Self {
        World {
            lanes: vec![testing, prod],
            promotions: Vec::new(),
            records: Vec::new(),
            gates: Vec::new(),
            approvals: Vec::new(),
            artifacts: vec![artifact("shop-a"), artifact("shop-b")],
        }
    }

    fn plan(&self, name: &str, now: Timestamp) -> PromotionPlan {
        let p = self
            .promotions
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .unwrap();
        plan(
            &PromotionInputs {
                promotion: p,
                lanes: &self.lanes.iter().collect::<Vec<_>>(),
                promotions: &self.promotions.iter().collect::<Vec<_>>(),
                records: &self.records,
                backup_gates: &self.gates.iter().collect::<Vec<_>>(),
                approvals: &self.approvals.iter().collect::<Vec<_>>(),
                artifacts: &self.artifacts.iter().collect::<Vec<_>>(),
                bootstraps: &[],
            },
            now,
        )
    }

    /// Plan `name` and keep its status, as a reconcile would.
    fn step(&mut self, name: &str, now: Timestamp) -> PromotionStatus {
        let status = self.plan(name, now).outcome.status;
        let p = self
            .promotions
            .iter_mut()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .unwrap();
        p.status = Some(status.clone());
        status
    }

    fn prod(&mut self) -> &mut Lane {
        &mut self.lanes[1]
    }
}

fn gate<'a>(status: &'a PromotionStatus, name: &str) -> &'a launchplane_api::resources::GateResult {
    status
        .gates
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no gate {name} in {:#?}", status.gates))
}

fn ready(status: &PromotionStatus) -> &Condition {
    status.conditions.iter().find(|c| c.type_ == "Ready").unwrap()
}

// ---- each gate: allow, deny, defer, and the evidence its message cites ----

#[test]
fn source_verified_allows_only_what_the_source_runs_and_echoes_now() {
    /// What, the source lane, the artifact named, the answer, the evidence cited.
    type Case<'a> = (&'a str, Option<Lane>, Option<&'a str>, GateOutcome, &'a str);
    let cases: Vec<Case> = vec![
        (
            "verified",
            Some(verified_on(testing(), "shop-a", t(0))),
            Some("shop-a"),
            GateOutcome::Allow,
            "Lane shop-testing runs shop-a and its app echoes it (DeploymentRecord dr-shop-a)",
        ),
        (
            "whatever it runs",
            Some(verified_on(testing(), "shop-a", t(0))),
            None,
            GateOutcome::Allow,
            "runs shop-a",
        ),
        (
            "another artifact",
            Some(verified_on(testing(), "shop-b", t(0))),
            Some("shop-a"),
            GateOutcome::Deny,
            "Lane shop-testing runs and verifies shop-b, not shop-a",
        ),
        (
            "nothing",
            Some(testing()),
            Some("shop-a"),
            GateOutcome::Deny,
            "has no status yet",
        ),
        (
            "no lane",
            None,
            Some("shop-a"),
            GateOutcome::Deny,
            "Lane shop-testing not found",
        ),
    ];
    for (what, source, artifact, outcome, cites) in cases {
        let g = gates::source_verified(artifact, "shop-testing", source.as_ref());
        assert_eq!(g.outcome, outcome, "{what}: {}", g.message);
        assert!(g.message.contains(cites), "{what}: {}", g.message);
        assert_eq!(g.name, "SourceVerified");
    }
    // Deployed but not echoed: what the app serves counts, not what was last deployed.
    let mut stale = verified_on(testing(), "shop-a", t(0));
    stale.status.as_mut().unwrap().conditions =
        vec![condition("RuntimeIdentityVerified", "False", "Mismatch", t(0))];
    let g = gates::source_verified(Some("shop-a"), "shop-testing", Some(&stale));
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(
        g.message
            .contains("runs shop-a, but its runtime identity is Mismatch"),
        "{}",
        g.message
    );
    let mut other = verified_on(testing(), "shop-a", t(0));
    other
        .status
        .as_mut()
        .unwrap()
        .observed_identity
        .as_mut()
        .unwrap()
        .artifact_id = Some("shop-b".into());
    let g = gates::source_verified(Some("shop-a"), "shop-testing", Some(&other));
    assert!(
        g.message.contains("its app echoes artifact shop-b"),
        "{}",
        g.message
    );
}

#[test]
fn soak_defers_until_the_source_has_verified_the_artifact_long_enough() {
    let source = verified_on(testing(), "shop-a", t(0));
    let g = gates::soak("1h", Some("shop-a"), Some(&source), t(600));
    assert_eq!(g.outcome, GateOutcome::Defer);
    assert_eq!(g.retry_at, Some(Time(t(hours(1)))));
    assert!(
        g.message.contains(&format!(
            "has verified shop-a since {}; the soak of 1h ends at {}",
            t(0),
            t(hours(1))
        )),
        "{}",
        g.message
    );
    let g = gates::soak("1h", Some("shop-a"), Some(&source), t(hours(1)));
    assert_eq!(g.outcome, GateOutcome::Allow, "{}", g.message);
    assert!(g.message.contains("at least the soak of 1h"), "{}", g.message);
    // A later return of the identity to Matched restarts the soak.
    let mut lapsed = source.clone();
    lapsed.status.as_mut().unwrap().conditions = vec![condition(
        "RuntimeIdentityVerified",
        "True",
        "Matched",
        t(hours(1)),
    )];
    let g = gates::soak("1h", Some("shop-a"), Some(&lapsed), t(hours(1)));
    assert_eq!(g.outcome, GateOutcome::Defer, "{}", g.message);
    assert_eq!(g.retry_at, Some(Time(t(hours(2)))));
    // Nothing verified, or another artifact: the soak has not begun.
    let g = gates::soak("1h", Some("shop-b"), Some(&source), t(hours(5)));
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(g.message.contains("runs shop-a, not shop-b"), "{}", g.message);
    let g = gates::soak("1h", Some("shop-a"), Some(&testing()), t(0));
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(g.message.contains("has not begun"), "{}", g.message);
}

#[test]
fn window_allows_inside_and_defers_to_the_next_opening_in_its_time_zone() {
    let w = PromotionWindow {
        time_zone: "Europe/Berlin".into(),
        days: vec![Weekday::Monday, Weekday::Friday],
        start_hour: 9,
        end_hour: 17,
    };
    // t(0) is Friday 2027-01-15 08:00 UTC = 09:00 in Berlin (UTC+1): inside.
    let friday_nine: Timestamp = "2027-01-15T08:00:00Z".parse().unwrap();
    assert_eq!(friday_nine, t(0), "the fixture's clock");
    let g = gates::window(&w, t(0));
    assert_eq!(g.outcome, GateOutcome::Allow, "{}", g.message);
    assert!(
        g.message.contains(
            "inside the window Monday, Friday 09:00-17:00 Europe/Berlin, open until 2027-01-15T16:00:00Z"
        ),
        "{}",
        g.message
    );
    // A minute before: deferred to 08:00 UTC the same day.
    let g = gates::window(&w, t(-60));
    assert_eq!(g.outcome, GateOutcome::Defer);
    assert_eq!(g.retry_at, Some(Time(t(0))));
    // Friday 17:00 Berlin: closed until Monday 09:00 Berlin.
    let g = gates::window(&w, t(hours(8)));
    assert_eq!(g.outcome, GateOutcome::Defer, "{}", g.message);
    let monday: Timestamp = "2027-01-18T08:00:00Z".parse().unwrap();
    assert_eq!(g.retry_at, Some(Time(monday)));
    assert!(
        g.message.contains("outside the window") && g.message.contains("it opens at 2027-01-18T08:00:00Z"),
        "{}",
        g.message
    );
    // Summer time moves the opening an hour in UTC.
    let july: Timestamp = "2027-07-05T06:30:00Z".parse().unwrap(); // a Monday, 08:30 in Berlin
    let g = gates::window(&w, july);
    assert_eq!(g.retry_at, Some(Time("2027-07-05T07:00:00Z".parse().unwrap())));
    let bad = PromotionWindow {
        time_zone: "Mars/Olympus".into(),
        ..w
    };
    let g = gates::window(&bad, t(0));
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(
        g.message.contains("\"Mars/Olympus\" is not a known time zone"),
        "{}",
        g.message
    );
}

#[test]
fn approval_allows_once_an_approval_names_the_promotion() {
    let p = promote("p1", "shop-a");
    let g = gates::approval(&p, "shop-prod", &[]);
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(g.message.contains("spec.promotionRef.name p1"), "{}", g.message);
    let other = approval_of("p2", "alice");
    let g = gates::approval(&p, "shop-prod", &[&other]);
    assert_eq!(g.outcome, GateOutcome::Deny, "an Approval of another Promotion");
    let mine = approval_of("p1", "alice");
    let g = gates::approval(&p, "shop-prod", &[&other, &mine]);
    assert_eq!(g.outcome, GateOutcome::Allow);
    assert_eq!(g.message, "approved by alice (Approval p1-alice)");
}

#[test]
fn hold_denies_automatic_promotions_only() {
    let h = LaneHold {
        promotion: "rollback-1".into(),
        artifact: "shop-a".into(),
        since: Some(Time(t(0))),
    };
    let person = promote("p1", "shop-b");
    let mut auto = promote("shop-prod-auto-shop-b", "shop-b");
    auto.metadata.labels = Some(BTreeMap::from([(AUTO_LABEL.to_string(), "true".to_string())]));
    let g = gates::hold(&auto, "shop-prod", Some(&h));
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(
        g.message
            .contains("held on shop-a by rollback Promotion rollback-1 since"),
        "{}",
        g.message
    );
    let g = gates::hold(&person, "shop-prod", Some(&h));
    assert_eq!(g.outcome, GateOutcome::Allow, "{}", g.message);
    let g = gates::hold(&auto, "shop-prod", None);
    assert_eq!(g.outcome, GateOutcome::Allow);
}

#[test]
fn rollback_target_needs_a_succeeded_record_of_the_artifact() {
    let mut to = prod();
    to.status = Some(LaneStatus {
        rollback_candidates: vec!["shop-b".into(), "shop-a".into()],
        ..Default::default()
    });
    let records = vec![
        record("dr-1", "shop-a", DeploymentPhase::Succeeded, None, 100),
        record("dr-2", "shop-c", DeploymentPhase::Failed, None, 200),
    ];
    let g = gates::rollback_target("shop-a", &to, &records);
    assert_eq!(g.outcome, GateOutcome::Allow);
    assert!(
        g.message
            .contains("Lane shop-prod ran shop-a before: DeploymentRecord dr-1 Succeeded"),
        "{}",
        g.message
    );
    // A failed attempt is no proof, and neither is nothing.
    for never in ["shop-c", "shop-z"] {
        let g = gates::rollback_target(never, &to, &records);
        assert_eq!(g.outcome, GateOutcome::Deny, "{never}");
        assert!(
            g.message
                .contains(&format!("no Succeeded DeploymentRecord of {never}")),
            "{}",
            g.message
        );
        assert!(
            g.message.contains("its rollback candidates: shop-b, shop-a"),
            "{}",
            g.message
        );
    }
}

#[test]
fn route_needs_a_destination_fed_by_promotions_from_that_source() {
    let p = promote("p1", "shop-a");
    let src = testing();
    let g = gates::route(&p, Some(&prod()), Some(&src));
    assert_eq!(g.outcome, GateOutcome::Allow);
    let g = gates::route(&p, None, Some(&src));
    assert!(g.message.contains("spec.toLane: Lane shop-prod not found"));
    let g = gates::route(&p, Some(&lane("shop-prod", None)), Some(&src));
    assert!(g.message.contains("takes no Promotions"), "{}", g.message);
    let other = lane("shop-prod", Some(rules("shop-staging")));
    let g = gates::route(&p, Some(&other), Some(&src));
    assert_eq!(g.outcome, GateOutcome::Deny);
    assert!(
        g.message.contains("takes promotions from Lane shop-staging only"),
        "{}",
        g.message
    );
}

#[test]
fn backup_gate_picks_the_newest_usable_one_and_says_why_the_others_are_not() {
    let p = promote("p1", "shop-a");
    let to = prod();
    let records = vec![record(
        "dr-1",
        "shop-0",
        DeploymentPhase::Succeeded,
        None,
        hours(10),
    )];
    let before_deploy = backup("before", hours(9), BackupResult::Passed);
    let failed = backup("failed", hours(12), BackupResult::Failed);
    let good = backup("good", hours(11), BackupResult::Passed);
    let future = backup("future", hours(30), BackupResult::Passed);
    let ask = |gates_: &[&BackupGate], promotions: &[&Promotion], now: i64| {
        gates::backup_gate(&BackupGateInputs {
            promotion: &p,
            to: &to,
            records: &records,
            gates: gates_,
            promotions,
            bootstraps: &[],
            max_age: None,
            now: t(now),
        })
    };
    let a = ask(&[&before_deploy, &failed, &good, &future], &[&p], hours(13));
    assert_eq!(a.result.outcome, GateOutcome::Allow, "{}", a.result.message);
    assert_eq!(a.chosen.as_deref(), Some("good"));
    assert!(
        a.result
            .message
            .contains("BackupGate good (backup backup-good, taken at"),
        "{}",
        a.result.message
    );
    // Too old (24h by default) and nothing else: denied, each one's flaw named.
    let a = ask(&[&before_deploy, &failed, &good], &[&p], hours(11) + hours(25));
    assert_eq!(a.result.outcome, GateOutcome::Deny);
    let m = &a.result.message;
    assert!(
        m.contains("BackupGate good was taken at") && m.contains("more than 24h before"),
        "{m}"
    );
    assert!(
        m.contains("BackupGate failed failed: the backup workflow concluded Failed"),
        "{m}"
    );
    assert!(
        m.contains("BackupGate before was taken at") && m.contains("before the last deploy"),
        "{m}"
    );
    assert_eq!(a.chosen, None);
    let a = ask(&[&future], &[&p], hours(13));
    assert!(
        a.result.message.contains("is in the future"),
        "{}",
        a.result.message
    );
    let a = ask(&[], &[&p], hours(13));
    assert!(
        a.result.message.ends_with("; there is none")
            && a.result
                .message
                .contains("requires a Passed BackupGate taken after its last deploy"),
        "{}",
        a.result.message
    );
}

/// A BackupGate a DataBootstrap took is spent: no Promotion may use it after.
#[test]
fn a_backup_gate_a_data_bootstrap_took_authorizes_no_promotion() {
    use launchplane_api::resources::{DataBootstrap, DataBootstrapSpec, DataBootstrapStatus};
    let p = promote("p2", "shop-a");
    let to = prod();
    let good = backup("good", hours(11), BackupResult::Passed);
    let mut boot = DataBootstrap::new("boot", DataBootstrapSpec::default());
    boot.metadata.namespace = good.metadata.namespace.clone();
    boot.status = Some(DataBootstrapStatus {
        backup_gate: Some("good".into()),
        ..Default::default()
    });
    let gates_: [&BackupGate; 1] = [&good];
    let promotions: [&Promotion; 1] = [&p];
    let inputs = |bootstraps| BackupGateInputs {
        promotion: &p,
        to: &to,
        records: &[],
        gates: &gates_,
        promotions: &promotions,
        bootstraps,
        max_age: Some("48h"),
        now: t(hours(12)),
    };
    assert_eq!(
        gates::backup_gate(&inputs(&[])).result.outcome,
        GateOutcome::Allow
    );
    let a = gates::backup_gate(&inputs(&[&boot]));
    assert_eq!(a.result.outcome, GateOutcome::Deny);
    assert!(
        a.result
            .message
            .contains("BackupGate good is used by DataBootstrap boot"),
        "{}",
        a.result.message
    );
}

#[test]
fn a_backup_gate_another_promotion_used_is_never_reused() {
    let p = promote("p2", "shop-a");
    let to = prod();
    let good = backup("good", hours(11), BackupResult::Passed);
    let mut used = with_phase(
        promote("p1", "shop-0"),
        PromotionPhase::Succeeded,
        "shop-0",
        hours(11),
    );
    used.status.as_mut().unwrap().backup_gate = Some("good".into());
    let a = gates::backup_gate(&BackupGateInputs {
        promotion: &p,
        to: &to,
        records: &[],
        gates: &[&good],
        promotions: &[&used, &p],
        bootstraps: &[],
        max_age: Some("48h"),
        now: t(hours(12)),
    });
    assert_eq!(a.result.outcome, GateOutcome::Deny);
    assert!(
        a.result
            .message
            .contains("BackupGate good is used by Promotion p1 (a BackupGate authorizes one Promotion or DataBootstrap only)"),
        "{}",
        a.result.message
    );
    // The BackupGate's own status saying so is enough, even once the Promotion is gone.
    let mut recorded = good.clone();
    recorded.status = Some(BackupGateStatus {
        used_by: Some("p0".into()),
        ..Default::default()
    });
    let a = gates::backup_gate(&BackupGateInputs {
        promotion: &p,
        to: &to,
        records: &[],
        gates: &[&recorded],
        promotions: &[&p],
        bootstraps: &[],
        max_age: Some("48h"),
        now: t(hours(12)),
    });
    assert!(
        a.result.message.contains("used by Promotion p0"),
        "{}",
        a.result.message
    );
}

// ---- the plan: queue, gates, deploy, outcome ----

#[test]
fn a_promotion_waits_for_soak_then_backup_then_deploys_and_succeeds() {
    let mut rules = rules("shop-testing");
    rules.soak = Some("1h".into());
    rules.require_backup_gate = true;
    let mut w = World::new(
        verified_on(testing(), "shop-a", t(0)),
        verified_on(lane("shop-prod", Some(rules)), "shop-0", t(-hours(100))),
    );
    w.promotions.push(promote("p1", "shop-a"));

    // Soak: deferred, and asked again when it ends.
    let plan1 = w.plan("p1", t(600));
    let s = &plan1.outcome.status;
    assert_eq!(
        s.phase,
        Some(PromotionPhase::Blocked),
        "the BackupGate denies too"
    );
    assert_eq!(gate(s, "Soak").outcome, GateOutcome::Defer);
    assert_eq!(gate(s, "BackupGate").outcome, GateOutcome::Deny);
    assert_eq!(
        s.waiting_on.as_deref(),
        Some("Soak"),
        "the first gate that did not allow"
    );
    assert_eq!(plan1.retry_at, Some(t(hours(1))));
    let stalled = s.conditions.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "BackupGate")
    );
    assert_eq!(s.verdict, Some(Verdict::Mismatch));
    assert_eq!(
        plan1.news.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        [
            "Route",
            "Artifact",
            "Hold",
            "SourceVerified",
            "Soak",
            "BackupGate"
        ],
        "every gate is news the first time"
    );
    w.step("p1", t(600));

    // A BackupGate arrives: only the soak is left.
    w.gates.push(backup("nightly", 300, BackupResult::Passed));
    let plan2 = w.plan("p1", t(900));
    let s = &plan2.outcome.status;
    assert_eq!(s.phase, Some(PromotionPhase::Pending));
    assert_eq!(s.waiting_on.as_deref(), Some("Soak"));
    assert_eq!(
        s.backup_gate, None,
        "no BackupGate is taken before the Promotion deploys"
    );
    assert_eq!(
        plan2
            .news
            .iter()
            .map(|g| (g.name.as_str(), g.outcome))
            .collect::<Vec<_>>(),
        [("BackupGate", GateOutcome::Allow)],
        "only what changed is news"
    );
    let reconciling = s.conditions.iter().find(|c| c.type_ == "Reconciling").unwrap();
    assert_eq!(
        (reconciling.status.as_str(), reconciling.reason.as_str()),
        ("True", "Soak")
    );
    w.step("p1", t(900));

    // The soak ends: every gate allows, the artifact is fixed, the BackupGate recorded.
    let s = w.step("p1", t(hours(1)));
    assert_eq!(s.phase, Some(PromotionPhase::Deploying));
    assert_eq!(s.artifact.as_deref(), Some("shop-a"));
    assert_eq!(s.backup_gate.as_deref(), Some("nightly"));
    assert_eq!(s.start_time, Some(Time(t(hours(1)))));
    assert_eq!(s.waiting_on, None);
    assert_eq!(ready(&s).status, "Unknown");
    // The destination's feed now names it.
    let f = feed(&w.lanes[1], &w.promotions.iter().collect::<Vec<_>>());
    assert_eq!(f.desired.as_ref().unwrap().artifact, "shop-a");
    assert_eq!(f.desired.as_ref().unwrap().promotion.as_deref(), Some("p1"));
    assert!(f.in_flight);
    assert_eq!(f.backup_gate.as_deref(), Some("nightly"));

    // The lane's record naming it is in flight, then Succeeded with the identity echoing it.
    w.records.push(record(
        "dr-9",
        "shop-a",
        DeploymentPhase::Verifying,
        Some("p1"),
        hours(1) + 60,
    ));
    let s = w.step("p1", t(hours(1) + 60));
    assert_eq!(s.phase, Some(PromotionPhase::Deploying));
    assert_eq!(s.deployment_record.as_deref(), Some("dr-9"));
    w.records[0] = record(
        "dr-9",
        "shop-a",
        DeploymentPhase::Succeeded,
        Some("p1"),
        hours(1) + 120,
    );
    let s = w.step("p1", t(hours(1) + 120));
    assert_eq!(s.phase, Some(PromotionPhase::Succeeded));
    assert_eq!(s.completion_time, Some(Time(t(hours(1) + 120))));
    assert_eq!(ready(&s).status, "True");
    assert_eq!(ready(&s).reason, "Succeeded");
    assert_eq!(s.verdict, Some(Verdict::Matched));
    let tuple = s.release_tuple.clone().unwrap();
    assert_eq!(tuple.artifact, "shop-a");
    assert_eq!(tuple.lane, "shop-prod");
    assert_eq!(tuple.promotion, "p1");
    assert_eq!(tuple.backup_gate.as_deref(), Some("nightly"));
    assert_eq!(tuple.deployment_record.as_deref(), Some("dr-9"));
    assert_eq!(tuple.source_commit, "b".repeat(40));
    assert_eq!(
        tuple.source_repos,
        vec![format!("github.com/acme/theme@{}", "c".repeat(40))]
    );
    assert_eq!(
        tuple.id,
        launchplane_api::identity::release_tuple_id("shop", "prod", "shop-a")
    );
    // Final: it stays as written.
    assert_eq!(w.plan("p1", t(hours(9))).outcome.status, s);
}

#[test]
fn a_failed_deploy_fails_the_promotion_and_the_feed_goes_back() {
    let mut w = World::new(
        verified_on(testing(), "shop-b", t(0)),
        verified_on(prod(), "shop-a", t(0)),
    );
    w.promotions.push(with_phase(
        promote("p0", "shop-a"),
        PromotionPhase::Succeeded,
        "shop-a",
        10,
    ));
    w.promotions.push(with_phase(
        promote("p1", "shop-b"),
        PromotionPhase::Deploying,
        "shop-b",
        100,
    ));
    w.records
        .push(record("dr-2", "shop-b", DeploymentPhase::Failed, Some("p1"), 200));
    let s = w.step("p1", t(300));
    assert_eq!(s.phase, Some(PromotionPhase::Failed));
    assert_eq!(s.deployment_record.as_deref(), Some("dr-2"));
    let stalled = s.conditions.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!(stalled.reason, "DeployFailed");
    assert!(
        stalled.message.contains("keeps what it ran before"),
        "{}",
        stalled.message
    );
    assert_eq!(ready(&s).status, "False");
    let f = feed(&w.lanes[1], &w.promotions.iter().collect::<Vec<_>>());
    assert_eq!(
        f.desired.unwrap().promotion.as_deref(),
        Some("p0"),
        "back to the last Succeeded one"
    );
    assert!(!f.in_flight);
}

#[test]
fn promoting_what_the_destination_already_verifies_succeeds_without_a_deploy() {
    let mut rules = rules("shop-testing");
    rules.require_backup_gate = true;
    let mut w = World::new(
        verified_on(testing(), "shop-a", t(0)),
        verified_on(lane("shop-prod", Some(rules)), "shop-a", t(0)),
    );
    w.promotions.push(promote("p1", "shop-a"));
    let s = w.step("p1", t(60));
    assert_eq!(
        s.phase,
        Some(PromotionPhase::Succeeded),
        "no BackupGate needed: nothing deploys"
    );
    assert!(
        ready(&s)
            .message
            .contains("already runs shop-a and its app echoes it: nothing deployed")
    );
    assert_eq!(s.deployment_record, None);
    assert_eq!(s.release_tuple.unwrap().deployment_record, None);
}

#[test]
fn one_promotion_per_destination_at_a_time_in_creation_order() {
    let mut w = World::new(verified_on(testing(), "shop-a", t(0)), prod());
    w.promotions.push(promotion(
        "later",
        Some("shop-testing"),
        "shop-prod",
        Some("shop-a"),
        20,
    ));
    w.promotions.push(promotion(
        "first",
        Some("shop-testing"),
        "shop-prod",
        Some("shop-a"),
        10,
    ));
    let s = w.step("later", t(60));
    assert_eq!(s.phase, Some(PromotionPhase::Pending));
    assert_eq!(s.waiting_on.as_deref(), Some("behind first"));
    assert!(s.gates.is_empty(), "a queued Promotion is not judged yet");
    let reconciling = s.conditions.iter().find(|c| c.type_ == "Reconciling").unwrap();
    assert!(
        reconciling.message.starts_with("behind Promotion first"),
        "{}",
        reconciling.message
    );
    assert_eq!(w.step("first", t(60)).phase, Some(PromotionPhase::Deploying));
    // Once the first finishes, the next one goes.
    w.records.push(record(
        "dr-1",
        "shop-a",
        DeploymentPhase::Failed,
        Some("first"),
        100,
    ));
    assert_eq!(w.step("first", t(120)).phase, Some(PromotionPhase::Failed));
    assert_eq!(w.step("later", t(130)).phase, Some(PromotionPhase::Deploying));
}

#[test]
fn a_rollback_to_an_artifact_never_run_is_refused_and_one_run_before_holds_the_lane() {
    let mut w = World::new(
        verified_on(testing(), "shop-b", t(0)),
        verified_on(prod(), "shop-b", t(0)),
    );
    w.records
        .push(record("dr-1", "shop-a", DeploymentPhase::Succeeded, None, 10));
    w.records
        .push(record("dr-2", "shop-b", DeploymentPhase::Succeeded, None, 20));
    w.promotions
        .push(promotion("back-to-z", None, "shop-prod", Some("shop-z"), 30));
    w.artifacts.push(artifact("shop-z"));
    let s = w.step("back-to-z", t(40));
    assert_eq!(s.phase, Some(PromotionPhase::Blocked));
    assert_eq!(s.waiting_on.as_deref(), Some("RollbackTarget"));
    assert!(
        gate(&s, "RollbackTarget")
            .message
            .contains("no Succeeded DeploymentRecord of shop-z")
    );
    assert!(
        s.gates.iter().all(|g| g.name != "SourceVerified"),
        "a rollback has no source"
    );

    w.promotions
        .push(promotion("back-to-a", None, "shop-prod", Some("shop-a"), 50));
    // back-to-z is Blocked, not final: it goes first. Deleted, it no longer does.
    w.promotions.remove(0);
    let s = w.step("back-to-a", t(60));
    assert_eq!(s.phase, Some(PromotionPhase::Deploying), "{:#?}", s.gates);
    w.records.push(record(
        "dr-3",
        "shop-a",
        DeploymentPhase::Succeeded,
        Some("back-to-a"),
        90,
    ));
    *w.prod() = verified_on(prod(), "shop-a", t(90));
    let s = w.step("back-to-a", t(100));
    assert_eq!(s.phase, Some(PromotionPhase::Succeeded));
    let f = feed(&w.lanes[1], &w.promotions.iter().collect::<Vec<_>>());
    let hold = f.hold.clone().unwrap();
    assert_eq!(
        (hold.promotion.as_str(), hold.artifact.as_str()),
        ("back-to-a", "shop-a")
    );

    // An automatic promotion is held; a person's promotion goes, and lifts the hold.
    let mut auto = promotion(
        "shop-prod-auto-shop-b",
        Some("shop-testing"),
        "shop-prod",
        Some("shop-b"),
        200,
    );
    auto.metadata.labels = Some(BTreeMap::from([(AUTO_LABEL.to_string(), "true".to_string())]));
    w.promotions.push(auto);
    let s = w.step("shop-prod-auto-shop-b", t(210));
    assert_eq!(s.phase, Some(PromotionPhase::Blocked));
    assert_eq!(s.waiting_on.as_deref(), Some("Hold"));
    w.promotions.pop();
    w.promotions.push(promote("by-hand", "shop-b"));
    w.promotions.last_mut().unwrap().metadata.creation_timestamp = Some(Time(t(300)));
    assert_eq!(w.step("by-hand", t(310)).phase, Some(PromotionPhase::Deploying));
    w.records.push(record(
        "dr-4",
        "shop-b",
        DeploymentPhase::Succeeded,
        Some("by-hand"),
        400,
    ));
    assert_eq!(w.step("by-hand", t(410)).phase, Some(PromotionPhase::Succeeded));
    let f = feed(&w.lanes[1], &w.promotions.iter().collect::<Vec<_>>());
    assert_eq!(f.hold, None, "a person's promotion lifted the hold");
}

#[test]
fn the_artifact_must_exist() {
    let mut w = World::new(verified_on(testing(), "shop-x", t(0)), prod());
    w.promotions
        .push(promotion("p1", Some("shop-testing"), "shop-prod", None, 0));
    let s = w.step("p1", t(10));
    assert_eq!(s.artifact.as_deref(), Some("shop-x"), "whatever the source runs");
    assert_eq!(s.waiting_on.as_deref(), Some("Artifact"));
    assert!(gate(&s, "Artifact").message.contains("Artifact shop-x not found"));
}

// ---- feed ----

#[test]
fn a_lane_without_promotion_rules_is_fed_by_its_spec() {
    let mut l = testing();
    l.spec.artifact_ref = Some(LocalObjectRef::new("shop-a"));
    let p = with_phase(
        promotion("p", Some("x"), "shop-testing", Some("shop-b"), 0),
        PromotionPhase::Succeeded,
        "shop-b",
        1,
    );
    let f = feed(&l, &[&p]);
    assert_eq!(f.desired.unwrap().artifact, "shop-a");
    assert_eq!(f.hold, None);
}

#[test]
fn a_fed_lane_takes_the_latest_succeeded_promotion_and_ignores_its_spec() {
    let mut l = prod();
    // Refused by the CRD beside spec.promotion; ignored should it get there.
    l.spec.artifact_ref = Some(LocalObjectRef::new("shop-z"));
    assert_eq!(feed(&l, &[]).desired, None, "nothing promoted yet: it observes");
    let older = with_phase(promote("p1", "shop-a"), PromotionPhase::Succeeded, "shop-a", 10);
    let newer = with_phase(promote("p2", "shop-b"), PromotionPhase::Succeeded, "shop-b", 20);
    let failed = with_phase(promote("p3", "shop-c"), PromotionPhase::Failed, "shop-c", 30);
    let blocked = with_phase(promote("p4", "shop-d"), PromotionPhase::Blocked, "shop-d", 40);
    let f = feed(&l, &[&newer, &older, &failed, &blocked]);
    assert_eq!(f.desired.unwrap().artifact, "shop-b");
}

// ---- auto ----

#[test]
fn auto_promotion_names_are_deterministic_and_bounded() {
    assert_eq!(auto::name("shop-prod", "shop-a"), "shop-prod-auto-shop-a");
    let long = auto::name(&"l".repeat(40), &"a".repeat(40));
    assert!(long.len() <= 63, "{long}");
    assert_eq!(long, auto::name(&"l".repeat(40), &"a".repeat(40)));
    assert_ne!(long, auto::name(&"l".repeat(40), &format!("{}b", "a".repeat(39))));
    assert!(!long.ends_with('-'));
}

#[test]
fn auto_promotion_creates_one_promotion_per_artifact_and_skips_held_lanes() {
    let mut rules = rules("shop-testing");
    rules.auto = true;
    let dest = verified_on(lane("shop-prod", Some(rules)), "shop-a", t(0));
    let source = verified_on(testing(), "shop-b", t(0));
    let f = feed(&dest, &[]);
    let p = auto::wanted(&dest, Some(&source), &[], &f).unwrap();
    assert_eq!(p.metadata.name.as_deref(), Some("shop-prod-auto-shop-b"));
    assert!(is_auto(&p));
    assert_eq!(p.spec.artifact_ref.as_ref().unwrap().name, "shop-b");
    assert_eq!(p.spec.from_lane.as_deref(), Some("shop-testing"));
    // Created once: the existing one (any phase) stops another.
    let mut existing = p.clone();
    existing.status = Some(PromotionStatus {
        phase: Some(PromotionPhase::Failed),
        ..Default::default()
    });
    assert_eq!(auto::wanted(&dest, Some(&source), &[&existing], &f), None);
    // The destination runs it already, or the source verifies nothing: nothing to do.
    let same = verified_on(testing(), "shop-a", t(0));
    assert_eq!(auto::wanted(&dest, Some(&same), &[], &f), None);
    assert_eq!(auto::wanted(&dest, Some(&testing()), &[], &f), None);
    // Held by a rollback: nothing.
    let held = Feed {
        hold: Some(LaneHold {
            promotion: "back".into(),
            artifact: "shop-a".into(),
            since: None,
        }),
        ..f.clone()
    };
    assert_eq!(auto::wanted(&dest, Some(&source), &[], &held), None);
    // Without `auto`, never.
    let manual = verified_on(prod(), "shop-a", t(0));
    assert_eq!(auto::wanted(&manual, Some(&source), &[], &f), None);
}

// ---- BackupGate and Approval statuses ----

#[test]
fn a_backup_gate_passes_only_on_sane_passed_evidence_and_names_its_user() {
    let good = backup("g", 100, BackupResult::Passed);
    let s = backup_gate::reconcile(&good, true, &[], t(200)).status;
    assert_eq!(s.result, Some(BackupResult::Passed));
    assert_eq!(s.verdict, Some(Verdict::Matched));
    assert_eq!(s.used_by, None);
    let mut user = with_phase(promote("p1", "shop-a"), PromotionPhase::Deploying, "shop-a", 150);
    user.status.as_mut().unwrap().backup_gate = Some("g".into());
    let s = backup_gate::reconcile(&good, true, &[&user], t(200)).status;
    assert_eq!(s.used_by.as_deref(), Some("p1"));
    assert!(s.message.unwrap().contains("authorized Promotion p1"));
    let cases = [
        (
            backup("f", 100, BackupResult::Failed),
            true,
            "concluded Failed",
            Verdict::Mismatch,
        ),
        (
            backup("future", 900, BackupResult::Passed),
            true,
            "is in the future",
            Verdict::Mismatch,
        ),
        (
            backup("orphan", 100, BackupResult::Passed),
            false,
            "Lane shop-prod not found",
            Verdict::Missing,
        ),
    ];
    for (g, lane_exists, why, verdict) in cases {
        let s = backup_gate::reconcile(&g, lane_exists, &[], t(200)).status;
        assert_eq!(s.result, Some(BackupResult::Failed), "{why}");
        assert_eq!(s.verdict, Some(verdict), "{why}");
        assert!(s.message.as_deref().unwrap().contains(why), "{s:?}");
    }
    // Evaluated again with nothing new: the status does not move (no write per reconcile).
    let first = backup_gate::reconcile(&good, true, &[], t(200)).status;
    let mut again = good.clone();
    again.status = Some(first.clone());
    assert_eq!(backup_gate::reconcile(&again, true, &[], t(900)).status, first);
}

#[test]
fn an_approval_is_matched_while_its_promotion_exists() {
    let a = approval_of("p1", "alice");
    let p = promote("p1", "shop-a");
    assert_eq!(
        crate::approval::reconcile(&a, Some(&p), t(0)).status.verdict,
        Some(Verdict::Matched)
    );
    let s = crate::approval::reconcile(&a, None, t(0)).status;
    assert_eq!(s.verdict, Some(Verdict::Missing));
    assert!(
        s.conditions
            .iter()
            .any(|c| c.message.contains("Promotion p1 not found"))
    );
}

#[test]
fn a_captured_backup_gate_is_accepted_like_a_workflow_one_once_passed() {
    use launchplane_api::resources::{
        BackupCapture, BackupGateStatus, CaptureStatus, CommandResult, CommandRun,
    };
    let p = promote("p1", "shop-a");
    let to = prod();
    let records = vec![record(
        "dr-1",
        "shop-0",
        DeploymentPhase::Succeeded,
        None,
        hours(10),
    )];
    let captured = |name: &str, result: CommandResult, started: bool| {
        let mut g = backup(name, 0, BackupResult::Passed);
        g.spec = BackupGateSpec {
            lane_ref: LocalObjectRef::new("shop-prod"),
            capture: Some(BackupCapture { stop_web: Some(true) }),
            ..Default::default()
        };
        g.status = Some(BackupGateStatus {
            capture: Some(CaptureStatus {
                run: Some(CommandRun {
                    result: Some(result),
                    ..Default::default()
                }),
                web_containers: vec!["a1b2c3d4e5f6".into()],
                web_stopped_at: Some(Time(t(hours(11)))),
                web_started_at: started.then(|| Time(t(hours(11)))),
                taken_at: Some(Time(t(hours(11)))),
                location: Some("/backups/prod.zip".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        g
    };
    let ask = |gate: &BackupGate| {
        gates::backup_gate(&BackupGateInputs {
            promotion: &p,
            to: &to,
            records: &records,
            gates: &[gate],
            promotions: &[&p],
            bootstraps: &[],
            max_age: None,
            now: t(hours(12)),
        })
    };
    let passed = captured("cap", CommandResult::Succeeded, true);
    let a = ask(&passed);
    assert_eq!(a.result.outcome, GateOutcome::Allow, "{}", a.result.message);
    assert!(
        a.result.message.contains("captured at /backups/prod.zip"),
        "{}",
        a.result.message
    );
    // Never while the web it stopped is not running again, nor when the capture failed.
    for (result, started) in [
        (CommandResult::Succeeded, false),
        (CommandResult::Failed, true),
        (CommandResult::Unknown, true),
    ] {
        let a = ask(&captured("cap", result, started));
        assert_eq!(
            a.result.outcome,
            GateOutcome::Deny,
            "{result:?} {started}: {}",
            a.result.message
        );
    }
}
