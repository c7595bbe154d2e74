#![allow(clippy::unwrap_used)]

use super::admission::{self, Admission};
use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{
    BackupGate, BackupGateSpec, BackupResult, BootstrapSource, BootstrapStepResult, DataBootstrapSpec,
    DataBootstrapStatus, DeployEvidence, DeploymentPhase, DeploymentRecord, DeploymentRecordSpec,
    DeploymentRecordStatus, Lane, LaneBootstrap, LaneBootstrapState, LaneInventory, LaneSpec, LaneStatus,
    LocalObjectRef, Promotion, PromotionSpec, PromotionStatus, StepOutcome,
};
use launchplane_api::verdict::Verdict;

const NS: &str = "shop";
const LANE: &str = "shop-testing";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn mins(m: i64) -> i64 {
    m * 60
}

/// A lane with a status: running `shop-1` by `dr-1`, and the bootstrap summary given.
fn lane(bootstrap: Option<LaneBootstrap>) -> Lane {
    let mut l = Lane::new(
        LANE,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new(LANE),
            ..Default::default()
        },
    );
    l.metadata.namespace = Some(NS.into());
    l.status = Some(LaneStatus {
        inventory: Some(LaneInventory {
            artifact: "shop-1".into(),
            deployment_record: Some("dr-1".into()),
            since: Some(Time(t(-mins(120)))),
            ..Default::default()
        }),
        release_tuple: Some("rt-1".into()),
        last_deployment_record: Some("dr-1".into()),
        bootstrap,
        ..Default::default()
    });
    l
}

fn bootstrapped_by(name: &str, at: i64) -> Option<LaneBootstrap> {
    Some(LaneBootstrap {
        state: LaneBootstrapState::Bootstrapped,
        last: Some(name.into()),
        since: Some(Time(t(at))),
        ..Default::default()
    })
}

fn bootstrap(name: &str, created: i64) -> DataBootstrap {
    let mut b = DataBootstrap::new(
        name,
        DataBootstrapSpec {
            lane_ref: LocalObjectRef::new(LANE),
            source: BootstrapSource {
                dataset: "demo-2026-11".into(),
                sha256: None,
            },
            command: Some("odoo-bootstrap demo-2026-11".into()),
            confirm_destructive: true,
            backup_gate_ref: None,
        },
    );
    b.metadata.namespace = Some(NS.into());
    b.metadata.generation = Some(1);
    b.metadata.creation_timestamp = Some(Time(t(created)));
    b
}

fn with_status(mut b: DataBootstrap, status: DataBootstrapStatus) -> DataBootstrap {
    b.status = Some(status);
    b
}

fn step(result: StepOutcome, at: i64) -> Option<BootstrapStepResult> {
    Some(BootstrapStepResult {
        result,
        message: String::new(),
        time: Some(Time(t(at))),
        deployment_id: None,
    })
}

/// A DataBootstrap that started at `at` and stands at `phase` with `outcome`.
fn started(name: &str, at: i64, phase: BootstrapPhase, outcome: BootstrapOutcome) -> DataBootstrap {
    let run = match outcome {
        BootstrapOutcome::NotStarted | BootstrapOutcome::Failed => StepOutcome::Failed,
        BootstrapOutcome::Unknown => StepOutcome::Unknown,
        _ => StepOutcome::Passed,
    };
    with_status(
        bootstrap(name, at - 10),
        DataBootstrapStatus {
            phase: Some(phase),
            outcome: Some(outcome),
            start_time: Some(Time(t(at))),
            bootstrap_run: step(run, at),
            ..Default::default()
        },
    )
}

fn gate(name: &str, taken: i64, result: BackupResult) -> BackupGate {
    let mut g = BackupGate::new(
        name,
        BackupGateSpec {
            lane_ref: LocalObjectRef::new(LANE),
            backup_id: Some(format!("backup-{name}")),
            taken_at: Some(Time(t(taken))),
            location: Some("s3://acme-backups/shop/testing.dump".into()),
            evidence: None,
            result: Some(result),
            capture: None,
        },
    );
    g.metadata.namespace = Some(NS.into());
    g
}

fn deploy(name: &str, phase: DeploymentPhase, at: i64) -> DeploymentRecord {
    let mut r = DeploymentRecord::new(
        name,
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new(LANE)),
            artifact_ref: LocalObjectRef::new("shop-1"),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some(NS.into());
    r.status = Some(DeploymentRecordStatus {
        phase: Some(phase),
        deploy: Some(DeployEvidence {
            started_at: Some(Time(t(at))),
            ..Default::default()
        }),
        ..Default::default()
    });
    r
}

fn promotion_using(name: &str, gate: &str) -> Promotion {
    let mut p = Promotion::new(
        name,
        PromotionSpec {
            product_ref: LocalObjectRef::new("shop"),
            from_lane: Some("shop-dev".into()),
            to_lane: LANE.into(),
            ..Default::default()
        },
    );
    p.metadata.namespace = Some(NS.into());
    p.status = Some(PromotionStatus {
        backup_gate: Some(gate.into()),
        ..Default::default()
    });
    p
}

/// The world a plan reads.
struct World {
    lane: Option<Lane>,
    records: Vec<DeploymentRecord>,
    others: Vec<DataBootstrap>,
    gates: Vec<BackupGate>,
    promotions: Vec<Promotion>,
    product_command: Option<&'static str>,
}

impl World {
    fn fresh() -> Self {
        World {
            lane: Some(lane(None)),
            records: vec![deploy("dr-1", DeploymentPhase::Succeeded, -mins(120))],
            others: vec![],
            gates: vec![],
            promotions: vec![],
            product_command: None,
        }
    }

    fn bootstrapped() -> Self {
        World {
            lane: Some(lane(bootstrapped_by("boot-old", -mins(60)))),
            ..World::fresh()
        }
    }

    fn plan(&self, b: &DataBootstrap, now: Timestamp) -> BootstrapPlan {
        let others: Vec<&DataBootstrap> = self.others.iter().chain(std::iter::once(b)).collect();
        let gates: Vec<&BackupGate> = self.gates.iter().collect();
        let promotions: Vec<&Promotion> = self.promotions.iter().collect();
        plan(&BootstrapInputs {
            bootstrap: b,
            lane: self.lane.as_ref(),
            records: &self.records,
            bootstraps: &others,
            gates: &gates,
            promotions: &promotions,
            product_command: self.product_command,
            target_refusal: None,
            now,
        })
    }

    fn admit(&self, b: &DataBootstrap) -> Admission {
        let others: Vec<&DataBootstrap> = self.others.iter().chain(std::iter::once(b)).collect();
        let gates: Vec<&BackupGate> = self.gates.iter().collect();
        let promotions: Vec<&Promotion> = self.promotions.iter().collect();
        admit(&BootstrapInputs {
            bootstrap: b,
            lane: self.lane.as_ref(),
            records: &self.records,
            bootstraps: &others,
            gates: &gates,
            promotions: &promotions,
            product_command: self.product_command,
            target_refusal: None,
            now: t(0),
        })
    }
}

fn reason_of(a: &Admission) -> &'static str {
    match a {
        Admission::Admit { .. } => "Admit",
        Admission::Wait { reason, .. } | Admission::Block { reason, .. } => reason,
    }
}

fn message_of(a: &Admission) -> &str {
    match a {
        Admission::Admit { message, .. }
        | Admission::Wait { message, .. }
        | Admission::Block { message, .. } => message,
    }
}

// ---- admission ----

#[test]
fn admission_table() {
    type Setup = fn(&mut World, &mut DataBootstrap);
    let cases: Vec<(&str, Setup, &str, &str)> = vec![
        (
            "a fresh lane needs no BackupGate",
            |_, _| {},
            "Admit",
            "never been bootstrapped",
        ),
        (
            "no confirmation",
            |_, b| b.spec.confirm_destructive = false,
            admission::CONFIRMATION_MISSING,
            "spec.confirmDestructive is not true",
        ),
        (
            "credentials in the source",
            |_, b| b.spec.source.dataset = "s3://key:hunter2@acme-data/shop.dump".into(),
            admission::SECRET_IN_SOURCE,
            "spec.source.dataset s3://<redacted>@acme-data/shop.dump carries credentials",
        ),
        (
            "no command anywhere",
            |_, b| b.spec.command = None,
            admission::NO_COMMAND,
            "set spec.command",
        ),
        (
            "the Product's command serves",
            |w, b| {
                b.spec.command = None;
                w.product_command = Some("odoo-bootstrap");
            },
            "Admit",
            "admitted",
        ),
        (
            "no lane",
            |w, _| w.lane = None,
            admission::LANE_NOT_FOUND,
            "spec.laneRef: Lane shop-testing not found",
        ),
        (
            "a lane without status",
            |w, _| w.lane.as_mut().unwrap().status = None,
            admission::LANE_NOT_OBSERVED,
            "no status yet",
        ),
        (
            "another bootstrap of the lane runs",
            |w, _| {
                w.others.push(started(
                    "boot-a",
                    -30,
                    BootstrapPhase::Bootstrapping,
                    BootstrapOutcome::Unknown,
                ))
            },
            admission::BOOTSTRAP_IN_PROGRESS,
            "DataBootstrap boot-a in progress (phase Bootstrapping)",
        ),
        (
            "another bootstrap of the lane is Unknown",
            |w, _| {
                w.others.push(started(
                    "boot-a",
                    -30,
                    BootstrapPhase::Unknown,
                    BootstrapOutcome::Unknown,
                ))
            },
            admission::BOOTSTRAP_IN_PROGRESS,
            "DataBootstrap boot-a in progress (phase Unknown)",
        ),
        (
            "an earlier one waits (even Blocked): behind it",
            |w, _| {
                let mut a = bootstrap("boot-a", -100);
                a.status = Some(DataBootstrapStatus {
                    phase: Some(BootstrapPhase::Blocked),
                    ..Default::default()
                });
                w.others.push(a);
            },
            admission::QUEUED,
            "behind DataBootstrap boot-a",
        ),
        (
            "a later one waiting does not hold it",
            |w, _| w.others.push(bootstrap("boot-z", 100)),
            "Admit",
            "admitted",
        ),
        (
            "a finished one of the lane does not hold it",
            |w, _| {
                w.others.push(started(
                    "boot-a",
                    -30,
                    BootstrapPhase::Failed,
                    BootstrapOutcome::NotStarted,
                ))
            },
            "Admit",
            "never been bootstrapped",
        ),
        (
            "one of another lane does not hold it",
            |w, _| {
                let mut a = started(
                    "boot-a",
                    -30,
                    BootstrapPhase::Bootstrapping,
                    BootstrapOutcome::Unknown,
                );
                a.spec.lane_ref = LocalObjectRef::new("shop-prod");
                w.others.push(a);
            },
            "Admit",
            "admitted",
        ),
        (
            "a deploy of the lane in flight",
            |w, _| w.records.push(deploy("dr-2", DeploymentPhase::Deploying, -10)),
            admission::LANE_DEPLOYING,
            "DeploymentRecord dr-2",
        ),
    ];
    for (what, setup, reason, message) in cases {
        let mut w = World::fresh();
        let mut b = bootstrap("boot", 0);
        setup(&mut w, &mut b);
        let a = w.admit(&b);
        assert_eq!(reason_of(&a), reason, "{what}: {a:?}");
        assert!(message_of(&a).contains(message), "{what}: {a:?}");
        assert!(!message_of(&a).contains("hunter2"), "{what}: a secret in {a:?}");
    }
}

#[test]
fn never_bootstrapped_is_read_from_the_lane_status_and_its_bootstraps() {
    let b = bootstrap("boot", 0);
    assert!(never_bootstrapped(&lane(None), &[&b], "boot"));
    let none = Some(LaneBootstrap::default());
    assert!(never_bootstrapped(&lane(none), &[&b], "boot"));
    assert!(!never_bootstrapped(
        &lane(bootstrapped_by("boot-old", -60)),
        &[&b],
        "boot"
    ));
    // The summary lags behind a DataBootstrap that touched the lane: not fresh.
    let running = started("boot-a", -30, BootstrapPhase::Unknown, BootstrapOutcome::Unknown);
    assert!(!never_bootstrapped(&lane(None), &[&b, &running], "boot"));
    // One that provably never started did not touch it.
    let refused = started(
        "boot-a",
        -30,
        BootstrapPhase::Failed,
        BootstrapOutcome::NotStarted,
    );
    assert!(never_bootstrapped(&lane(None), &[&b, &refused], "boot"));
    // A summary that says Unknown (the DataBootstrap deleted since) is not fresh either.
    let unknown = Some(LaneBootstrap {
        state: LaneBootstrapState::Unknown,
        last: Some("gone".into()),
        inventory_stale: true,
        ..Default::default()
    });
    assert!(!never_bootstrapped(&lane(unknown), &[&b], "boot"));
}

#[test]
fn a_bootstrapped_lane_needs_a_usable_backup_gate() {
    let b = bootstrap("boot", 0);
    let mut w = World::bootstrapped();
    let a = w.admit(&b);
    assert_eq!(reason_of(&a), admission::BACKUP_GATE_REQUIRED, "{a:?}");
    assert!(
        message_of(&a).contains("has been bootstrapped before") && message_of(&a).ends_with("there is none"),
        "{a:?}"
    );

    w.gates = vec![gate("bg-fresh", -mins(10), BackupResult::Passed)];
    assert_eq!(
        w.admit(&b),
        Admission::Admit {
            backup_gate: Some("bg-fresh".into()),
            first: false,
            message: "admitted with BackupGate bg-fresh of Lane shop-testing".into(),
        }
    );

    // Refused like the promotion gate refuses: failed, before the last change, too old, used.
    let refusals = [
        (
            gate("bg", -mins(10), BackupResult::Failed),
            vec![],
            vec![],
            "the backup workflow concluded Failed",
        ),
        (
            gate("bg", -mins(90), BackupResult::Passed),
            vec![],
            vec![],
            "before the lane's last deploy or data bootstrap",
        ),
        (
            gate("bg", -mins(10), BackupResult::Passed),
            vec![promotion_using("promo-1", "bg")],
            vec![],
            "is used by Promotion promo-1 (a BackupGate authorizes one Promotion or DataBootstrap only)",
        ),
        (
            gate("bg", -mins(10), BackupResult::Passed),
            vec![],
            vec![with_status(
                bootstrap("boot-b", -100),
                DataBootstrapStatus {
                    phase: Some(BootstrapPhase::Succeeded),
                    backup_gate: Some("bg".into()),
                    ..Default::default()
                },
            )],
            "is used by DataBootstrap boot-b",
        ),
    ];
    for (g, promotions, others, why) in refusals {
        let w = World {
            gates: vec![g],
            promotions,
            others,
            ..World::bootstrapped()
        };
        let a = w.admit(&b);
        assert_eq!(reason_of(&a), admission::BACKUP_GATE_REQUIRED, "{why}: {a:?}");
        assert!(message_of(&a).contains(why), "{why}: {a:?}");
    }

    // Too old for the lane's backupMaxAge (24h by default).
    let mut w = World::bootstrapped();
    w.lane.as_mut().unwrap().status.as_mut().unwrap().bootstrap = bootstrapped_by("boot-old", -mins(60 * 48));
    w.records.clear();
    w.gates = vec![gate("bg", -mins(60 * 25), BackupResult::Passed)];
    let a = w.admit(&b);
    assert!(message_of(&a).contains("more than 24h before"), "{a:?}");
}

#[test]
fn a_named_backup_gate_must_exist_protect_the_lane_and_be_usable() {
    let mut b = bootstrap("boot", 0);
    b.spec.backup_gate_ref = Some(LocalObjectRef::new("bg"));
    let w = World::bootstrapped();
    assert!(message_of(&w.admit(&b)).contains("spec.backupGateRef: BackupGate bg not found"));

    let mut other_lane = gate("bg", -mins(10), BackupResult::Passed);
    other_lane.spec.lane_ref = LocalObjectRef::new("shop-prod");
    let w = World {
        gates: vec![other_lane],
        ..World::bootstrapped()
    };
    assert!(message_of(&w.admit(&b)).contains("protects Lane shop-prod, not Lane shop-testing"));

    // Named on a fresh lane, it is still checked.
    let w = World {
        gates: vec![gate("bg", -mins(10), BackupResult::Failed)],
        ..World::fresh()
    };
    let a = w.admit(&b);
    assert_eq!(reason_of(&a), admission::BACKUP_GATE_REQUIRED);
    assert!(
        message_of(&a).contains("back Lane shop-testing up again"),
        "{a:?}"
    );

    let w = World {
        gates: vec![gate("bg", -mins(10), BackupResult::Passed)],
        ..World::fresh()
    };
    assert!(matches!(w.admit(&b), Admission::Admit { backup_gate: Some(g), first: true, .. } if g == "bg"));
}

// ---- the phase machine ----

/// Plans, applies the status (as a shell writes it), and returns the step.
fn plan_and_write(w: &World, b: &mut DataBootstrap, now: Timestamp) -> Step {
    let p = w.plan(b, now);
    b.status = Some(p.outcome.status);
    p.step
}

fn record_on(b: &mut DataBootstrap, event: Event, now: Timestamp) {
    b.status = Some(record(b, event, now));
}

fn passed(id: &str) -> RunAnswer {
    RunAnswer::Finished {
        succeeded: true,
        deployment_id: Some(id.into()),
        message: String::new(),
    }
}

fn check(result: StepOutcome) -> BootstrapStepResult {
    BootstrapStepResult {
        result,
        message: format!("{result:?}"),
        ..Default::default()
    }
}

fn checks(health: StepOutcome, logo: StepOutcome) -> Verification {
    Verification {
        health: check(health),
        canonical_url: check(StepOutcome::Passed),
        logo: check(logo),
        runtime_identity: check(StepOutcome::Skipped),
    }
}

fn status(b: &DataBootstrap) -> &DataBootstrapStatus {
    b.status.as_ref().unwrap()
}

#[test]
fn the_phase_machine_runs_each_step_once_to_success() {
    let w = World::fresh();
    let mut b = bootstrap("boot", 0);
    assert_eq!(plan_and_write(&w, &mut b, t(0)), Step::RunBootstrap);
    // The intent is in the status the shell writes before sending.
    let s = status(&b);
    assert_eq!(s.phase, Some(BootstrapPhase::Bootstrapping));
    assert_eq!(s.bootstrap_run.as_ref().unwrap().result, StepOutcome::Unknown);
    assert!(
        s.bootstrap_run
            .as_ref()
            .unwrap()
            .message
            .starts_with("intent recorded")
    );
    assert_eq!(s.first_bootstrap, Some(true));
    assert_eq!(s.start_time, Some(Time(t(0))));

    record_on(
        &mut b,
        Event::ScheduleCreated {
            schedule_id: "sch-1".into(),
        },
        t(1),
    );
    record_on(
        &mut b,
        Event::Answered {
            stage: RunStage::Bootstrap,
            answer: passed("d-1"),
        },
        t(60),
    );
    assert_eq!(plan_and_write(&w, &mut b, t(60)), Step::RunPostDeploy);
    assert_eq!(status(&b).phase, Some(BootstrapPhase::PostDeploying));
    assert_eq!(status(&b).schedule_id.as_deref(), Some("sch-1"));
    assert_eq!(
        status(&b)
            .bootstrap_run
            .as_ref()
            .unwrap()
            .deployment_id
            .as_deref(),
        Some("d-1")
    );

    record_on(
        &mut b,
        Event::Answered {
            stage: RunStage::PostDeploy,
            answer: passed("d-2"),
        },
        t(90),
    );
    assert_eq!(plan_and_write(&w, &mut b, t(90)), Step::Verify);
    // The logo is not there yet: verifying, looked at again after RECHECK.
    record_on(
        &mut b,
        Event::Verified(Box::new(checks(StepOutcome::Passed, StepOutcome::Failed))),
        t(91),
    );
    assert_eq!(
        plan_and_write(&w, &mut b, t(91)),
        Step::Wait {
            retry_at: Some(t(121))
        }
    );
    assert_eq!(status(&b).phase, Some(BootstrapPhase::Verifying));
    assert_eq!(
        status(&b).readiness.as_ref().unwrap().result,
        StepOutcome::Unknown
    );
    assert_eq!(plan_and_write(&w, &mut b, t(121)), Step::Verify);
    record_on(
        &mut b,
        Event::Verified(Box::new(checks(StepOutcome::Passed, StepOutcome::Passed))),
        t(122),
    );
    assert_eq!(plan_and_write(&w, &mut b, t(122)), Step::Done);
    let s = status(&b);
    assert_eq!(s.phase, Some(BootstrapPhase::Succeeded));
    assert_eq!(s.outcome, Some(BootstrapOutcome::Bootstrapped));
    assert_eq!(s.verdict, Some(Verdict::Matched));
    assert_eq!(s.readiness.as_ref().unwrap().result, StepOutcome::Passed);
    assert_eq!(s.runtime_identity.as_ref().unwrap().result, StepOutcome::Skipped);
    assert_eq!(s.completion_time, Some(Time(t(122))));
    let ready = s.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Succeeded")
    );

    // Finished: it never runs again, whatever the world says.
    let w = World::bootstrapped();
    assert_eq!(plan_and_write(&w, &mut b, t(10_000)), Step::Done);
    assert_eq!(status(&b).phase, Some(BootstrapPhase::Succeeded));
}

#[test]
fn a_blocked_bootstrap_waits_for_a_wake_and_says_why() {
    let w = World::bootstrapped();
    let mut b = bootstrap("boot", 0);
    assert_eq!(plan_and_write(&w, &mut b, t(0)), Step::Wait { retry_at: None });
    assert_eq!(w.plan(&b, t(0)).requeue_at, None);
    let s = status(&b);
    assert_eq!(s.phase, Some(BootstrapPhase::Blocked));
    assert_eq!(s.verdict, Some(Verdict::Mismatch));
    assert!(s.bootstrap_run.is_none() && s.start_time.is_none());
    let ready = s.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "BackupGateRequired")
    );
    let stalled = s.conditions.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!(stalled.reason, "BackupGateRequired");
    // A BackupGate arrives: it starts.
    let w = World {
        gates: vec![gate("bg", -mins(5), BackupResult::Passed)],
        ..World::bootstrapped()
    };
    assert_eq!(plan_and_write(&w, &mut b, t(1)), Step::RunBootstrap);
    assert_eq!(status(&b).backup_gate.as_deref(), Some("bg"));
    assert_eq!(status(&b).first_bootstrap, Some(false));
}

#[test]
fn a_queued_bootstrap_is_pending_and_looked_at_again() {
    let w = World {
        others: vec![bootstrap("boot-a", -100)],
        ..World::fresh()
    };
    let mut b = bootstrap("boot", 0);
    assert_eq!(
        plan_and_write(&w, &mut b, t(0)),
        Step::Wait {
            retry_at: Some(t(30))
        }
    );
    assert_eq!(status(&b).phase, Some(BootstrapPhase::Pending));
    assert_eq!(status(&b).verdict, Some(Verdict::Unchecked));
}

#[test]
fn a_restart_after_the_intent_never_sends_the_run_again() {
    let w = World::fresh();
    for (stage, running) in [
        (RunStage::Bootstrap, BootstrapPhase::Bootstrapping),
        (RunStage::PostDeploy, BootstrapPhase::PostDeploying),
    ] {
        let mut b = bootstrap("boot", 0);
        assert_eq!(plan_and_write(&w, &mut b, t(0)), Step::RunBootstrap);
        if stage == RunStage::PostDeploy {
            record_on(
                &mut b,
                Event::Answered {
                    stage: RunStage::Bootstrap,
                    answer: passed("d-1"),
                },
                t(10),
            );
            assert_eq!(plan_and_write(&w, &mut b, t(10)), Step::RunPostDeploy);
        }
        assert_eq!(status(&b).phase, Some(running));
        // The controller stops here; the next plan settles instead of sending again.
        assert_eq!(
            plan_and_write(&w, &mut b, t(100)),
            Step::Settle(stage),
            "{stage:?}"
        );
        let s = status(&b);
        assert_eq!(s.phase, Some(BootstrapPhase::Unknown));
        assert_eq!(s.verdict, Some(Verdict::Unverifiable));
        assert!(s.message.as_ref().unwrap().contains("was not recorded"), "{s:?}");
        assert_eq!(plan_and_write(&w, &mut b, t(200)), Step::Settle(stage));
        assert_eq!(w.plan(&b, t(200)).requeue_at, Some(t(230)));
    }
}

#[test]
fn a_lost_answer_is_unknown_and_settled_by_history() {
    let w = World::fresh();
    let sent = t(0);
    let lost_bootstrap = || {
        let mut b = bootstrap("boot", 0);
        assert_eq!(plan_and_write(&w, &mut b, sent), Step::RunBootstrap);
        record_on(
            &mut b,
            Event::ScheduleCreated {
                schedule_id: "sch-1".into(),
            },
            t(1),
        );
        record_on(
            &mut b,
            Event::Answered {
                stage: RunStage::Bootstrap,
                answer: RunAnswer::Lost {
                    message: "timed out after 300s".into(),
                },
            },
            t(300),
        );
        assert_eq!(
            plan_and_write(&w, &mut b, t(300)),
            Step::Settle(RunStage::Bootstrap)
        );
        assert_eq!(status(&b).phase, Some(BootstrapPhase::Unknown));
        assert_eq!(status(&b).outcome, Some(BootstrapOutcome::Unknown));
        b
    };
    let run = |id: &str, status: ScheduleRunStatus, started: i64| ScheduleRun {
        deployment_id: id.into(),
        status,
        started_at: Some(t(started)),
        finished_at: (status != ScheduleRunStatus::Running).then(|| t(started + 500)),
    };
    let history = |runs: Vec<ScheduleRun>, at: i64| Event::History {
        stage: RunStage::Bootstrap,
        history: History::Runs {
            runs,
            observed_at: t(at),
        },
    };
    // (history, phase after, outcome after, bootstrap run result, message part)
    let cases: Vec<(Event, BootstrapPhase, BootstrapOutcome, StepOutcome, &str)> = vec![
        (
            history(vec![run("d-9", ScheduleRunStatus::Done, 2)], 600),
            BootstrapPhase::PostDeploying,
            BootstrapOutcome::Unknown,
            StepOutcome::Passed,
            "settled by the schedule's history: Dokploy deployment d-9",
        ),
        (
            history(vec![run("d-9", ScheduleRunStatus::Error, 2)], 600),
            BootstrapPhase::Failed,
            BootstrapOutcome::Failed,
            StepOutcome::Failed,
            "ran and failed",
        ),
        (
            history(vec![run("d-9", ScheduleRunStatus::Running, 2)], 600),
            BootstrapPhase::Unknown,
            BootstrapOutcome::Unknown,
            StepOutcome::Unknown,
            "still running",
        ),
        // A run from before it was sent (beyond the clock skew) is not ours.
        (
            history(vec![run("d-8", ScheduleRunStatus::Done, -mins(60))], 400),
            BootstrapPhase::Unknown,
            BootstrapOutcome::Unknown,
            StepOutcome::Unknown,
            "shows no run of it yet",
        ),
        // Dokploy's clock a minute behind: still ours.
        (
            history(vec![run("d-9", ScheduleRunStatus::Done, -60)], 600),
            BootstrapPhase::PostDeploying,
            BootstrapOutcome::Unknown,
            StepOutcome::Passed,
            "Dokploy deployment d-9",
        ),
        (
            history(vec![], mins(11)),
            BootstrapPhase::Failed,
            BootstrapOutcome::NotStarted,
            StepOutcome::Failed,
            "never started, so nothing was changed",
        ),
        (
            Event::History {
                stage: RunStage::Bootstrap,
                history: History::NoSchedule { observed_at: t(400) },
            },
            BootstrapPhase::Failed,
            BootstrapOutcome::NotStarted,
            StepOutcome::Failed,
            "Dokploy holds no schedule of Launchplane's for it",
        ),
        (
            history(
                vec![
                    run("d-10", ScheduleRunStatus::Done, 20),
                    run("d-9", ScheduleRunStatus::Done, 2),
                ],
                600,
            ),
            BootstrapPhase::Unknown,
            BootstrapOutcome::Unknown,
            StepOutcome::Unknown,
            "shows 2 runs since (d-10, d-9)",
        ),
        (
            Event::History {
                stage: RunStage::Bootstrap,
                history: History::Unreadable {
                    message: "401 Unauthorized".into(),
                },
            },
            BootstrapPhase::Unknown,
            BootstrapOutcome::Unknown,
            StepOutcome::Unknown,
            "could not be read: 401 Unauthorized",
        ),
    ];
    for (event, phase, outcome, result, message) in cases {
        let mut b = lost_bootstrap();
        let what = format!("{event:?}");
        record_on(&mut b, event, t(700));
        let s = status(&b);
        assert_eq!(s.phase, Some(phase), "{what}");
        assert_eq!(s.outcome, Some(outcome), "{what}");
        let run = s.bootstrap_run.as_ref().unwrap();
        assert_eq!(run.result, result, "{what}");
        assert!(run.message.contains(message), "{what}: {}", run.message);
        if result == StepOutcome::Unknown {
            // The time it was sent stays: later history is matched with it.
            assert_eq!(run.time, Some(Time(sent)), "{what}");
        }
        // Never sent again: an unsettled run is settled, a settled one goes on.
        let next = plan_and_write(&w, &mut b, t(800));
        assert_ne!(next, Step::RunBootstrap, "{what}");
    }
}

#[test]
fn the_post_deploy_and_the_checks_fail_into_a_partial_bootstrap() {
    let w = World::fresh();
    let to_post_deploy = || {
        let mut b = bootstrap("boot", 0);
        plan_and_write(&w, &mut b, t(0));
        record_on(
            &mut b,
            Event::Answered {
                stage: RunStage::Bootstrap,
                answer: passed("d-1"),
            },
            t(60),
        );
        assert_eq!(plan_and_write(&w, &mut b, t(60)), Step::RunPostDeploy);
        b
    };
    let mut b = to_post_deploy();
    record_on(
        &mut b,
        Event::Answered {
            stage: RunStage::PostDeploy,
            answer: RunAnswer::Finished {
                succeeded: false,
                deployment_id: Some("d-2".into()),
                message: "exit 1".into(),
            },
        },
        t(90),
    );
    assert_eq!(plan_and_write(&w, &mut b, t(90)), Step::Done);
    let s = status(&b);
    assert_eq!(s.phase, Some(BootstrapPhase::Failed));
    assert_eq!(s.outcome, Some(BootstrapOutcome::VerificationFailed));
    assert_eq!(s.bootstrap_run.as_ref().unwrap().result, StepOutcome::Passed);
    assert_eq!(s.health.as_ref().unwrap().result, StepOutcome::Skipped);
    assert!(
        s.readiness
            .as_ref()
            .unwrap()
            .message
            .starts_with("partially bootstrapped")
    );

    // A check still failing when the window ends.
    let mut b = to_post_deploy();
    record_on(
        &mut b,
        Event::Answered {
            stage: RunStage::PostDeploy,
            answer: passed("d-2"),
        },
        t(90),
    );
    plan_and_write(&w, &mut b, t(90));
    let end = t(90).checked_add(VERIFY_WINDOW).unwrap();
    record_on(
        &mut b,
        Event::Verified(Box::new(checks(StepOutcome::Unknown, StepOutcome::Passed))),
        end,
    );
    assert_eq!(plan_and_write(&w, &mut b, end), Step::Done);
    let s = status(&b);
    assert_eq!(s.phase, Some(BootstrapPhase::Failed));
    assert_eq!(s.outcome, Some(BootstrapOutcome::VerificationFailed));
    assert_eq!(s.readiness.as_ref().unwrap().result, StepOutcome::Failed);
    assert!(s.message.as_ref().unwrap().contains("health Unknown"), "{s:?}");
}

#[test]
fn a_run_refused_before_it_started_and_one_that_failed_differ() {
    let w = World::fresh();
    for (answer, outcome) in [
        (
            RunAnswer::NotStarted {
                message: "schedule.create answered 400".into(),
            },
            BootstrapOutcome::NotStarted,
        ),
        (
            RunAnswer::Finished {
                succeeded: false,
                deployment_id: Some("d-1".into()),
                message: "exit 2".into(),
            },
            BootstrapOutcome::Failed,
        ),
    ] {
        let mut b = bootstrap("boot", 0);
        plan_and_write(&w, &mut b, t(0));
        record_on(
            &mut b,
            Event::Answered {
                stage: RunStage::Bootstrap,
                answer,
            },
            t(5),
        );
        assert_eq!(plan_and_write(&w, &mut b, t(5)), Step::Done);
        let s = status(&b);
        assert_eq!(
            (s.phase, s.outcome),
            (Some(BootstrapPhase::Failed), Some(outcome))
        );
        assert_eq!(s.post_deploy.as_ref().unwrap().result, StepOutcome::Skipped);
        // A late answer changes nothing on a finished bootstrap.
        let again = record(
            &b,
            Event::Answered {
                stage: RunStage::Bootstrap,
                answer: passed("d-1"),
            },
            t(6),
        );
        assert_eq!(&again, status(&b));
    }
}

// ---- the four inventory outcomes ----

/// A DataBootstrap that ended with `outcome`, and the lane's status after it: only
/// `bootstrap` may differ, and it must say what the table says.
#[test]
fn the_four_inventory_outcomes() {
    // (outcome, lane state, last, stale)
    let table = [
        (
            BootstrapOutcome::Bootstrapped,
            LaneBootstrapState::Bootstrapped,
            Some("boot"),
            false,
        ),
        (
            BootstrapOutcome::VerificationFailed,
            LaneBootstrapState::VerificationFailed,
            Some("boot"),
            false,
        ),
        // Failed before any mutation: nothing moves (the lane stays as it was: bootstrapped
        // by boot-old).
        (
            BootstrapOutcome::NotStarted,
            LaneBootstrapState::Bootstrapped,
            Some("boot-old"),
            false,
        ),
        (
            BootstrapOutcome::Unknown,
            LaneBootstrapState::Unknown,
            Some("boot"),
            true,
        ),
        (
            BootstrapOutcome::Failed,
            LaneBootstrapState::Failed,
            Some("boot"),
            false,
        ),
    ];
    for (outcome, state, last, stale) in table {
        let before = lane(bootstrapped_by("boot-old", -mins(60)));
        let phase = match outcome {
            BootstrapOutcome::Bootstrapped => BootstrapPhase::Succeeded,
            BootstrapOutcome::Unknown => BootstrapPhase::Unknown,
            _ => BootstrapPhase::Failed,
        };
        let b = started("boot", 0, phase, outcome);
        let summary = lane_summary(&before, &[&b]);
        assert_eq!(summary.state, state, "{outcome:?}");
        assert_eq!(summary.last.as_deref(), last, "{outcome:?}");
        assert_eq!(summary.inventory_stale, stale, "{outcome:?}");
        // The lane's own reference to the bootstrap; the deploy pointer stays where it was.
        let mut after = before.status.clone().unwrap();
        after.bootstrap = Some(summary);
        let old = before.status.as_ref().unwrap();
        assert_eq!(after.inventory, old.inventory, "{outcome:?}");
        assert_eq!(
            after.inventory.as_ref().unwrap().deployment_record.as_deref(),
            Some("dr-1")
        );
        assert_eq!(
            after.last_deployment_record, old.last_deployment_record,
            "{outcome:?}"
        );
        assert_eq!(after.release_tuple, old.release_tuple, "{outcome:?}");
        assert_eq!(
            lane_effect(outcome).state.is_none(),
            outcome == BootstrapOutcome::NotStarted
        );
    }
}

#[test]
fn the_lane_summary_follows_the_newest_bootstrap_and_outlives_it() {
    let fresh = lane(None);
    assert_eq!(lane_summary(&fresh, &[]).state, LaneBootstrapState::None);
    // Settling moves the summary from Unknown (stale) to what the history said.
    let unknown = started("boot", 0, BootstrapPhase::Unknown, BootstrapOutcome::Unknown);
    let s = lane_summary(&fresh, &[&unknown]);
    assert_eq!((s.state, s.inventory_stale), (LaneBootstrapState::Unknown, true));
    let mut stale_lane = fresh.clone();
    stale_lane.status.as_mut().unwrap().bootstrap = Some(s);
    let settled = started(
        "boot",
        0,
        BootstrapPhase::Succeeded,
        BootstrapOutcome::Bootstrapped,
    );
    let s = lane_summary(&stale_lane, &[&settled]);
    assert_eq!(
        (s.state, s.inventory_stale),
        (LaneBootstrapState::Bootstrapped, false)
    );
    // The newest that touched the lane wins; a deleted one is remembered.
    let older = started("boot-a", -100, BootstrapPhase::Failed, BootstrapOutcome::Failed);
    assert_eq!(
        lane_summary(&fresh, &[&older, &settled]).last.as_deref(),
        Some("boot")
    );
    assert_eq!(
        lane_summary(&stale_lane, &[]),
        stale_lane.status.unwrap().bootstrap.unwrap()
    );
    // An older DataBootstrap does not overwrite a newer summary.
    let newer = lane(bootstrapped_by("boot-new", 500));
    assert_eq!(lane_summary(&newer, &[&older]).last.as_deref(), Some("boot-new"));
}

#[test]
fn no_secret_reaches_the_status() {
    let w = World::fresh();
    let mut b = bootstrap("boot", 0);
    plan_and_write(&w, &mut b, t(0));
    record_on(
        &mut b,
        Event::Answered {
            stage: RunStage::Bootstrap,
            answer: RunAnswer::Lost {
                message: "connection to https://admin:hunter2@dokploy.example.com/api reset".into(),
            },
        },
        t(5),
    );
    plan_and_write(&w, &mut b, t(5));
    let text = serde_json::to_string(&b.status).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("https://<redacted>@dokploy.example.com/api"),
        "{text}"
    );
    // Nor the command line.
    assert!(!text.contains("odoo-bootstrap demo-2026-11"), "{text}");
}
