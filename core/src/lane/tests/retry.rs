//! Failed attempts: exponential backoff with a cap, Stalled after `maxAttempts`, an immediate
//! attempt when the desired state changes, and pruning that never erases the streak.

use super::*;
use crate::deployment_record::DeployRetryPolicy as Policy;
use crate::lane::retry::{RETRIES_EXHAUSTED, RETRY_SCHEDULED};

/// The record of attempt `attempt` at `artifact` (planned at the lane's generation), Failed at
/// `at` with `why`.
fn failed(f: &Fx, artifact: &Artifact, attempt: u32, at: i64, why: &str) -> DeploymentRecord {
    let mut r = new_record(&f.lane, "testing", "shop", artifact, attempt, "test", t(at - 5));
    let s = r.status.as_mut().unwrap();
    s.phase = Some(DeploymentPhase::Failed);
    s.post_deploy = Some(StepEvidence {
        verdict: Some(Verdict::Mismatch),
        message: Some(why.into()),
        finished_at: Some(Time(t(at))),
        ..Default::default()
    });
    r
}

fn attempt_of(step: &Option<Step>) -> Option<String> {
    match step {
        Some(Step::CreateRecord(r)) => Some(r.metadata.labels.as_ref().unwrap()[ATTEMPT_LABEL].clone()),
        _ => None,
    }
}

#[test]
fn the_backoff_doubles_per_failure_up_to_the_cap() {
    let p = Policy {
        base_delay: SignedDuration::from_secs(30),
        max_delay: SignedDuration::from_secs(300),
        max_attempts: 5,
    };
    let delays: Vec<i64> = (1..=7).map(|n| p.delay_after(n).as_secs()).collect();
    assert_eq!(delays, vec![30, 60, 120, 240, 300, 300, 300]);
    assert_eq!(p.delay_after(u32::MAX).as_secs(), 300, "no overflow");
    // The documented defaults: 30s doubling, capped at 30 minutes, 5 attempts.
    let d = Policy::default();
    let delays: Vec<i64> = (1..=8).map(|n| d.delay_after(n).as_secs()).collect();
    assert_eq!(delays, vec![30, 60, 120, 240, 480, 960, 1800, 1800]);
    assert_eq!(d.max_attempts, 5);
    assert_eq!(
        Policy { max_attempts: 0, ..d }.attempts(),
        1,
        "one attempt at least"
    );
}

#[test]
fn failed_attempts_are_retried_after_a_growing_backoff_then_the_lane_stalls() {
    let mut f = fx();
    f.lane.metadata.generation = Some(1);
    let artifact = f.artifact.clone();
    // Failure n happens at `at`; attempt n+1 is due `30 × 2^(n-1)` seconds later.
    let mut at = 100;
    for n in 1..=4_u32 {
        f.records.push(failed(&f, &artifact, n, at, &format!("boom {n}")));
        let delay = 30 * (1 << (n - 1));
        let due = at + delay;

        let p = f.plan(t(due - 1));
        assert_eq!(p.step, None, "failure {n}: nothing before the backoff ends");
        let (status, reason, message) = cond(&p, types::RECONCILING);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("True", RETRY_SCHEDULED),
            "{message}"
        );
        assert!(
            message.starts_with(&format!("attempt {n} of 5 failed (deployment record ")),
            "{message}"
        );
        assert!(message.contains(&format!("boom {n}")), "{message}");
        let due_text = t(due).strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        assert!(
            message.ends_with(&format!("next attempt at {due_text}")),
            "{message}"
        );
        assert_eq!(cond(&p, types::STALLED).0, "False");
        let retry = p.outcome.status.deploy_retry.clone().unwrap();
        assert_eq!(retry.failed_attempts, i32::try_from(n).unwrap());
        assert_eq!(retry.max_attempts, 5);
        assert_eq!(retry.next_attempt_time, Some(Time(t(due))));
        assert!(retry.last_failure.unwrap().contains(&format!("boom {n}")));
        assert_eq!(retry.last_failed_record, f.records.last().unwrap().metadata.name);
        assert!(
            cond(&p, types::DEPLOYED)
                .2
                .contains(&format!("attempt {n} of 5 failed, next attempt at")),
            "{}",
            cond(&p, types::DEPLOYED).2
        );

        let p = f.plan(t(due));
        assert_eq!(
            attempt_of(&p.step),
            Some((n + 1).to_string()),
            "failure {n}: retried when due"
        );
        let Some(Step::CreateRecord(r)) = &p.step else {
            unreachable!()
        };
        let why = r.spec.requested_by.clone().unwrap();
        assert!(
            why.contains(&format!("attempt {} of 5 after a failure", n + 1)),
            "{why}"
        );
        at = due + 10;
    }
    f.records.push(failed(&f, &artifact, 5, at, "boom 5"));
    for later in [at, at + 3_600, at + 86_400 * 30] {
        let p = f.plan(t(later));
        assert_eq!(p.step, None, "no sixth attempt, however long it waits");
        let (status, reason, message) = cond(&p, types::STALLED);
        assert_eq!((status.as_str(), reason.as_str()), ("True", RETRIES_EXHAUSTED));
        assert!(message.starts_with("attempt 5 of 5 failed"), "{message}");
        assert!(message.contains("boom 5"), "{message}");
        assert!(
            message.contains("change the lane's spec or spec.artifactRef"),
            "{message}"
        );
        assert_eq!(cond(&p, types::RECONCILING).0, "False");
        let retry = p.outcome.status.deploy_retry.clone().unwrap();
        assert_eq!((retry.failed_attempts, retry.max_attempts), (5, 5));
        assert_eq!(retry.next_attempt_time, None);
    }
}

#[test]
fn a_new_generation_or_artifact_starts_an_attempt_at_once() {
    let mut exhausted = fx();
    exhausted.lane.metadata.generation = Some(1);
    let artifact = exhausted.artifact.clone();
    for n in 1..=5 {
        exhausted
            .records
            .push(failed(&exhausted, &artifact, n, 100 * i64::from(n), "boom"));
    }
    assert_eq!(exhausted.plan(t(501)).step, None);

    // A spec edit (a new generation): a new attempt now, with nothing to wait out.
    let mut f = Fx {
        lane: exhausted.lane.clone(),
        records: exhausted.records.clone(),
        ..fx()
    };
    f.lane.metadata.generation = Some(2);
    let p = f.plan(t(501));
    assert_eq!(attempt_of(&p.step), Some("6".into()));
    assert_eq!(
        p.outcome.status.deploy_retry, None,
        "a new desired state starts a new count"
    );
    assert_eq!(cond(&p, types::STALLED).0, "False");

    // Right after a single failure too: the new generation does not wait for the backoff.
    let mut f = fx();
    f.lane.metadata.generation = Some(1);
    f.records.push(failed(&f, &artifact, 1, 100, "boom"));
    assert_eq!(f.plan(t(101)).step, None);
    f.lane.metadata.generation = Some(2);
    assert_eq!(attempt_of(&f.plan(t(101)).step), Some("2".into()));

    // A new desired artifact: the same.
    let mut f = Fx {
        lane: exhausted.lane.clone(),
        records: exhausted.records.clone(),
        ..fx()
    };
    f.artifact.metadata.name = Some("shop-2".into());
    f.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-2"));
    let p = f.plan(t(501));
    let Some(Step::CreateRecord(r)) = &p.step else {
        panic!("{:?}", p.step)
    };
    assert_eq!(r.spec.artifact_ref.name, "shop-2");
    assert_eq!(p.outcome.status.deploy_retry, None);
}

/// A lane running shop-1 (generation 1) whose spec change (generation 2) was being deployed:
/// the target already holds the new record's image and env (SetImage and MergeEnv ran), and
/// the lane's status was computed while the attempt was in flight.
fn spec_change_in_flight() -> (Fx, DeploymentRecord) {
    let mut f = synced_at_generation_one(DriftPolicy::Report);
    f.lane.metadata.generation = Some(2);
    f.env
        .insert("API_KEY".into(), SecretString::new("rotated-by-a-spec-edit"));
    let Some(Step::CreateRecord(r)) = f.plan(t(20)).step else {
        panic!("the spec change is deployed")
    };
    let mut r = *r;
    let id = r.metadata.name.clone().unwrap();
    r.status = Some(start_deploy(&r, &id, t(21)));
    f.records.push(r.clone());
    f.converge(&r);
    let p = f.plan(t(22));
    assert_eq!(p.step.as_ref().map(Step::name), Some("FollowDeployment"));
    f.lane.status = Some(p.outcome.status);
    (f, r)
}

#[test]
fn a_failed_spec_change_is_retried_and_a_later_spec_change_is_deployed_at_once() {
    let (mut f, r) = spec_change_in_flight();
    // The deploy never came (D8): the attempt failed at 30.
    let mut failed = r.clone();
    failed.status = Some(
        record::follow(&r, None, None, &settings(), t(21 + 61))
            .status
            .unwrap(),
    );
    let failed_at = 21 + 61;
    *f.records.last_mut().unwrap() = failed;
    let p = f.plan(t(failed_at + 1));
    assert_eq!(p.step, None, "backoff first");
    assert_eq!(cond(&p, types::RECONCILING).1, RETRY_SCHEDULED);
    f.lane.status = Some(p.outcome.status);
    // The same desired state is retried when due, whatever the drift comparison says: the
    // failed attempt left it undeployed.
    let p = f.plan(t(failed_at + 30));
    assert_eq!(
        attempt_of(&p.step),
        Some("3".into()),
        "{:?}",
        p.outcome.status.conditions
    );

    // Before that, the user edits the lane again: deployed at once.
    f.lane.metadata.generation = Some(3);
    f.env.insert("API_KEY".into(), SecretString::new("edited-again"));
    let p = f.plan(t(failed_at + 2));
    let Some(Step::CreateRecord(next)) = &p.step else {
        panic!("a later spec change waits for nothing: {:?}", p.step)
    };
    assert_eq!(next.spec.lane_generation, Some(3));
}

#[test]
fn a_failed_drift_correction_counts_the_same_way() {
    let mut f = deployed_fixture();
    f.lane.spec.drift_policy = DriftPolicy::Correct;
    f.facts.image = Some("ghcr.io/acme/shop:latest".into());
    let artifact = f.artifact.clone();
    let Some(Step::CreateRecord(r)) = f.plan(t(10)).step else {
        panic!("drift is corrected")
    };
    assert!(r.spec.requested_by.as_ref().unwrap().contains("drift correction"));
    f.records.push(failed(&f, &artifact, 2, 20, "correction failed"));
    let p = f.plan(t(49));
    assert_eq!(p.step, None);
    assert_eq!(p.outcome.status.deploy_retry.as_ref().unwrap().failed_attempts, 1);
    assert_eq!(attempt_of(&f.plan(t(50)).step), Some("3".into()));
}

#[test]
fn pruning_never_erases_the_current_streak() {
    let mut f = deployed_fixture();
    f.lane.spec.history_limit = 1;
    let shop1 = f.artifact.clone();
    let mut shop2 = fx().artifact;
    shop2.metadata.name = Some("shop-2".into());
    // An older failed attempt at another artifact, then three at the desired one.
    f.records.push(failed(&f, &shop1, 2, 10, "old failure"));
    f.artifact = shop2.clone();
    f.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-2"));
    for n in 3..=5 {
        f.records.push(failed(&f, &shop2, n, 100 * i64::from(n), "boom"));
    }
    // Waiting out the backoff: the only step is pruning, which keeps the streak.
    let p = f.plan(t(501));
    let Some(Step::PruneRecords { names }) = &p.step else {
        panic!("{:?}", p.step)
    };
    assert_eq!(names, &vec![f.records[1].metadata.name.clone().unwrap()]);
    f.records.remove(1);
    let p = f.plan(t(502));
    assert_eq!(p.step, None, "nothing else is pruned");
    assert_eq!(p.outcome.status.deploy_retry.unwrap().failed_attempts, 3);
    // The count survives: the next attempt (the fourth at shop-2) is due 120s after the third
    // failure.
    assert_eq!(attempt_of(&f.plan(t(620)).step), Some("6".into()));
}

#[test]
fn an_attempt_in_flight_after_failures_says_which_attempt_it_is() {
    let mut f = fx();
    let artifact = f.artifact.clone();
    f.records.push(failed(&f, &artifact, 1, 100, "boom"));
    f.records.push(failed(&f, &artifact, 2, 200, "boom"));
    let mut third = failed(&f, &artifact, 3, 300, "");
    third.status = Some(start_deploy(
        &third,
        third.metadata.name.as_deref().unwrap(),
        t(300),
    ));
    f.records.push(third);
    let p = f.plan(t(301));
    assert_eq!(p.step.as_ref().map(Step::name), Some("FollowDeployment"));
    let (_, reason, message) = cond(&p, types::RECONCILING);
    assert_eq!(reason, "Deploying");
    assert!(
        message.ends_with("(attempt 3 of 5; 2 failed before)"),
        "{message}"
    );
    let retry = p.outcome.status.deploy_retry.unwrap();
    assert_eq!((retry.failed_attempts, retry.next_attempt_time), (2, None));
}
