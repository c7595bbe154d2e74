#![allow(clippy::unwrap_used)]

use super::*;
use crate::health::HealthResult;
use launchplane_api::identity::{Surface, SurfaceObservation};
use launchplane_api::resources::{CheckResult, VerificationCheck, VerificationCheckName};
use launchplane_api::resources::{DeploymentRecordSpec, HealthEvidence, IdentityFields, LocalObjectRef};
use std::collections::BTreeMap;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn settings() -> DeploySettings {
    DeploySettings {
        start_timeout: SignedDuration::from_secs(60),
        resend_after: SignedDuration::from_secs(20),
        verify_timeout: SignedDuration::from_secs(30),
        retry: DeployRetryPolicy {
            base_delay: SignedDuration::from_secs(30),
            max_delay: SignedDuration::from_secs(300),
            max_attempts: 5,
        },
        poll_delay: Duration::from_millis(1),
    }
}

fn rec(phase: Option<DeploymentPhase>) -> DeploymentRecord {
    let mut r = DeploymentRecord::new(
        "dr-1",
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new("testing")),
            artifact_ref: LocalObjectRef::new("shop-1"),
            target_ref: LocalObjectRef::new("t"),
            expected_identity: IdentityFields {
                deployment_record_id: Some("dr-1".into()),
                artifact_id: Some("shop-1".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    r.metadata.labels = Some(BTreeMap::from([(ATTEMPT_LABEL.to_string(), "1".to_string())]));
    r.status = phase.map(|p| DeploymentRecordStatus {
        phase: Some(p),
        ..Default::default()
    });
    r
}

fn deployment(status: DeploymentStatus) -> Deployment {
    Deployment {
        id: "dep-9".into(),
        title: Some("dr-1".into()),
        description: None,
        status,
        created_at: None,
        started_at: None,
        finished_at: Some("2027-01-15T08:00:05Z".into()),
    }
}

#[test]
fn ids_phases_and_evidence() {
    let mine = rec(None);
    assert_eq!(phase(&mine), DeploymentPhase::Pending);
    assert_eq!(attempt(&mine), Some(1));
    assert!(!is_evidence(&mine));
    let mut theirs = rec(None);
    theirs.metadata.labels = None;
    assert!(is_evidence(&theirs), "not written by the controller");
    let mut external = rec(None);
    external.spec.origin = DeploymentOrigin::External;
    assert!(is_evidence(&external));
    assert!(is_terminal(DeploymentPhase::Succeeded) && is_terminal(DeploymentPhase::Failed));
    assert!(!is_terminal(DeploymentPhase::Deploying));
}

#[test]
fn start_deploy_is_written_before_the_call_with_the_title() {
    let s = start_deploy(&rec(Some(DeploymentPhase::Pending)), "dr-1", t(0));
    assert_eq!(s.phase, Some(DeploymentPhase::Deploying));
    let d = s.deploy.unwrap();
    assert_eq!(d.title.as_deref(), Some("dr-1"));
    assert_eq!(d.status.as_deref(), Some("queued"));
    assert_eq!(d.started_at, Some(Time(t(0))));
}

#[test]
fn follow_table() {
    let deploying = {
        let mut r = rec(None);
        r.status = Some(start_deploy(&rec(Some(DeploymentPhase::Pending)), "dr-1", t(0)));
        r
    };
    // (found, now, expected phase, wait)
    let table: Vec<(Option<Deployment>, i64, Option<DeploymentPhase>, bool)> = vec![
        (None, 10, None, true),
        (None, 61, Some(DeploymentPhase::Failed), false),
        (
            Some(deployment(DeploymentStatus::Running)),
            10,
            Some(DeploymentPhase::Deploying),
            true,
        ),
        (
            Some(deployment(DeploymentStatus::Done)),
            10,
            Some(DeploymentPhase::Verifying),
            false,
        ),
        (
            Some(deployment(DeploymentStatus::Error)),
            10,
            Some(DeploymentPhase::Failed),
            false,
        ),
        (
            Some(deployment(DeploymentStatus::Cancelled)),
            10,
            Some(DeploymentPhase::Failed),
            false,
        ),
    ];
    for (found, now, want, wait) in table {
        let out = follow(&deploying, found.as_ref(), None, &settings(), t(now));
        assert_eq!(out.wait, wait, "{found:?}");
        assert_eq!(out.status.as_ref().and_then(|s| s.phase), want, "{found:?}");
        if let (Some(s), Some(_)) = (&out.status, &found) {
            assert_eq!(
                s.deploy.as_ref().unwrap().provider_deployment_id.as_deref(),
                Some("dep-9")
            );
        }
    }
    let missing = follow(&deploying, None, None, &settings(), t(61)).status.unwrap();
    let message = missing.post_deploy.unwrap().message.unwrap();
    assert!(
        message.contains("appeared within 60s") && message.contains("attempt failed"),
        "{message}"
    );
    assert!(!message.contains("sent again"), "{message}");
}

fn deploying_since(start: i64) -> DeploymentRecord {
    let mut r = rec(None);
    r.status = Some(start_deploy(
        &rec(Some(DeploymentPhase::Pending)),
        "dr-1",
        t(start),
    ));
    r
}

const IDLE: DeployActivity = DeployActivity {
    queued: 0,
    running: false,
};

#[test]
fn an_invisible_deploy_is_sent_again_once_after_the_wait_and_only_when_dokploy_is_idle() {
    let deploying = deploying_since(0);
    // resendAfter is 20s. Before it: nothing is re-sent, even with Dokploy idle.
    assert!(!resend_due(&deploying, &settings(), t(19)));
    let early = follow(&deploying, None, Some(&IDLE), &settings(), t(19));
    assert_eq!((early.status, early.wait, early.resend), (None, true, false));

    // After it: due, but sent only on proof that Dokploy is idle for the target.
    assert!(resend_due(&deploying, &settings(), t(20)));
    let busy = [
        DeployActivity {
            queued: 1,
            running: false,
        },
        DeployActivity {
            queued: 0,
            running: true,
        },
    ];
    for activity in busy {
        let out = follow(&deploying, None, Some(&activity), &settings(), t(25));
        assert_eq!(
            (out.status.is_none(), out.wait, out.resend),
            (true, true, false),
            "{activity:?}: the deploy may be queued behind another"
        );
    }
    let unknown = follow(&deploying, None, None, &settings(), t(25));
    assert!(!unknown.resend, "no activity read: no proof of idleness");

    let out = follow(&deploying, None, Some(&IDLE), &settings(), t(25));
    assert!(out.resend && out.wait);
    let status = out.status.unwrap();
    assert_eq!(status.phase, Some(DeploymentPhase::Deploying));
    let deploy = status.deploy.clone().unwrap();
    assert_eq!(deploy.resent_at, Some(Time(t(25))), "recorded before the send");
    assert_eq!(
        deploy.started_at,
        Some(Time(t(0))),
        "the start timeout still counts from the first send"
    );

    // Recorded once, never again: a restart that reads the record does not re-send.
    let mut resent = deploying.clone();
    resent.status = Some(status);
    assert!(!resend_due(&resent, &settings(), t(40)));
    let again = follow(&resent, None, Some(&IDLE), &settings(), t(40));
    assert!(!again.resend && again.wait && again.status.is_none());

    // Still nothing by startTimeout: the attempt fails, saying it was re-sent.
    let failed = follow(&resent, None, Some(&IDLE), &settings(), t(61));
    assert!(!failed.resend);
    let failed = failed.status.unwrap();
    assert_eq!(failed.phase, Some(DeploymentPhase::Failed));
    let message = failed.post_deploy.unwrap().message.unwrap();
    assert!(message.contains("sent again at"), "{message}");
    assert_eq!(
        failed.deploy.unwrap().resent_at,
        Some(Time(t(25))),
        "the re-send stays on the record"
    );
}

#[test]
fn a_deploy_that_exists_is_followed_never_sent_again() {
    let deploying = deploying_since(0);
    for status in [
        DeploymentStatus::Running,
        DeploymentStatus::Done,
        DeploymentStatus::Error,
    ] {
        let found = deployment(status.clone());
        let out = follow(&deploying, Some(&found), Some(&IDLE), &settings(), t(30));
        assert!(!out.resend, "{status:?}");
        assert_eq!(out.status.unwrap().deploy.unwrap().resent_at, None, "{status:?}");
    }
    // Past the start timeout nothing is re-sent either (the attempt fails instead).
    assert!(!resend_due(&deploying, &settings(), t(61)));
    // Other phases are never re-sent.
    for phase in [
        DeploymentPhase::Pending,
        DeploymentPhase::Verifying,
        DeploymentPhase::Failed,
    ] {
        let mut r = deploying.clone();
        r.status.as_mut().unwrap().phase = Some(phase);
        assert!(!resend_due(&r, &settings(), t(30)), "{phase:?}");
    }
}

fn probe(artifact: Option<&str>) -> ProbeResult {
    ProbeResult {
        health_status: Some(200),
        observations: vec![match artifact {
            Some(a) => SurfaceObservation::Found {
                surface: Surface::HealthBody,
                payload: RuntimeIdentityPayload {
                    deployment_record_id: Some("dr-1".into()),
                    artifact_id: Some(a.into()),
                    ..Default::default()
                },
            },
            None => SurfaceObservation::Absent {
                surface: Surface::HealthBody,
                reason: "no identity".into(),
            },
        }],
        elapsed: Duration::from_millis(1),
    }
}

fn health(verdict: Verdict, required: bool) -> HealthResult {
    HealthResult {
        evidence: HealthEvidence {
            target: "http://app/healthz".into(),
            verdict: Some(verdict),
            ..Default::default()
        },
        required,
    }
}

#[test]
fn verify_table() {
    let verifying = {
        let mut r = rec(None);
        r.status = Some(DeploymentRecordStatus {
            phase: Some(DeploymentPhase::Verifying),
            verification: Some(StepEvidence {
                started_at: Some(Time(t(0))),
                ..Default::default()
            }),
            ..Default::default()
        });
        r
    };
    // (probe artifact, health, identity required, now, phase, wait)
    let table = [
        (
            Some("shop-1"),
            vec![health(Verdict::Matched, true)],
            true,
            5,
            DeploymentPhase::Succeeded,
            false,
        ),
        (Some("shop-0"), vec![], false, 5, DeploymentPhase::Verifying, true),
        (Some("shop-0"), vec![], false, 31, DeploymentPhase::Failed, false),
        (None, vec![], false, 5, DeploymentPhase::Succeeded, false),
        (None, vec![], true, 5, DeploymentPhase::Verifying, true),
        (None, vec![], true, 31, DeploymentPhase::Failed, false),
        (
            Some("shop-1"),
            vec![health(Verdict::Mismatch, true)],
            true,
            5,
            DeploymentPhase::Verifying,
            true,
        ),
        (
            Some("shop-1"),
            vec![health(Verdict::Mismatch, false)],
            true,
            5,
            DeploymentPhase::Succeeded,
            false,
        ),
        (
            Some("shop-1"),
            vec![health(Verdict::Unverifiable, true)],
            true,
            31,
            DeploymentPhase::Failed,
            false,
        ),
    ];
    for (i, (artifact, health, required, now, want, wait)) in table.into_iter().enumerate() {
        let out = verify(
            &verifying,
            &probe(artifact),
            &health,
            None,
            required,
            &settings(),
            t(now),
        );
        assert_eq!(out.status.phase, Some(want), "row {i}");
        assert_eq!(out.wait, wait, "row {i}");
        assert!(out.status.identity.is_some(), "row {i}: identity evidence kept");
        let expected_verdict = match want {
            DeploymentPhase::Succeeded => Verdict::Matched,
            DeploymentPhase::Verifying => Verdict::Unchecked,
            _ => out.status.verdict.unwrap(),
        };
        assert_eq!(out.status.verdict, Some(expected_verdict), "row {i}");
        if want == DeploymentPhase::Failed {
            assert_ne!(out.status.verdict, Some(Verdict::Matched), "row {i}");
            assert!(out.status.verification.unwrap().finished_at.is_some(), "row {i}");
        }
    }
}

fn check(name: VerificationCheckName, result: CheckResult) -> VerificationCheck {
    VerificationCheck {
        name,
        result,
        required: true,
        url: Some("https://erp.example.com/".into()),
        message: Some(format!("{result:?}")),
        checked_at: Some(Time(t(0))),
    }
}

/// A driver's checks: the attempt succeeds only when every required one passed, each is kept
/// on the record with the identity's, and a failing one fails the attempt once the window
/// closes (never Succeeded, so the inventory never advances on it).
#[test]
fn verify_with_driver_checks_needs_every_required_one_passed() {
    use CheckResult::{Failed, Passed, Unverifiable};
    use VerificationCheckName::{CanonicalUrl, Health, Logo, RuntimeIdentity};
    let verifying = {
        let mut r = rec(None);
        r.status = Some(DeploymentRecordStatus {
            phase: Some(DeploymentPhase::Verifying),
            verification: Some(StepEvidence {
                started_at: Some(Time(t(0))),
                ..Default::default()
            }),
            ..Default::default()
        });
        r
    };
    // (health, canonicalUrl, logo, now, phase, verification verdict)
    let table = [
        (
            Passed,
            Passed,
            Passed,
            5,
            DeploymentPhase::Succeeded,
            Verdict::Matched,
        ),
        (
            Passed,
            Failed,
            Passed,
            5,
            DeploymentPhase::Verifying,
            Verdict::Unchecked,
        ),
        (
            Passed,
            Failed,
            Passed,
            31,
            DeploymentPhase::Failed,
            Verdict::Mismatch,
        ),
        (
            Passed,
            Passed,
            Failed,
            31,
            DeploymentPhase::Failed,
            Verdict::Mismatch,
        ),
        (
            Failed,
            Passed,
            Passed,
            31,
            DeploymentPhase::Failed,
            Verdict::Mismatch,
        ),
        (
            Unverifiable,
            Passed,
            Passed,
            31,
            DeploymentPhase::Failed,
            Verdict::Unverifiable,
        ),
    ];
    for (i, (health, canonical, logo, now, phase, verdict)) in table.into_iter().enumerate() {
        let checks = [
            check(Health, health),
            check(CanonicalUrl, canonical),
            check(Logo, logo),
        ];
        let out = verify(
            &verifying,
            &probe(Some("shop-1")),
            &[],
            Some(&checks),
            true,
            &settings(),
            t(now),
        );
        let status = &out.status;
        assert_eq!(status.phase, Some(phase), "row {i}");
        let v = status.verification.as_ref().unwrap();
        assert_eq!(v.verdict, Some(verdict), "row {i}: {:?}", v.message);
        let names: Vec<_> = status.checks.iter().map(|c| (c.name, c.result)).collect();
        assert_eq!(
            names,
            vec![
                (Health, health),
                (CanonicalUrl, canonical),
                (Logo, logo),
                (RuntimeIdentity, Passed)
            ],
            "row {i}: each check is its own result"
        );
        if phase == DeploymentPhase::Failed {
            let message = v.message.clone().unwrap_or_default();
            let failing = [(health, "health"), (canonical, "canonicalUrl"), (logo, "logo")]
                .into_iter()
                .find(|(r, _)| *r != Passed)
                .unwrap()
                .1;
            assert!(message.contains(failing), "row {i}: {message}");
        }
    }
    // The identity is one of the checks too: a mismatch fails the attempt with all else passing.
    let passing = [
        check(Health, Passed),
        check(CanonicalUrl, Passed),
        check(Logo, Passed),
    ];
    let out = verify(
        &verifying,
        &probe(Some("shop-0")),
        &[],
        Some(&passing),
        false,
        &settings(),
        t(31),
    );
    assert_eq!(out.status.phase, Some(DeploymentPhase::Failed));
    let identity = out.status.checks.last().unwrap();
    assert_eq!((identity.name, identity.result), (RuntimeIdentity, Failed));
    // Without driver checks (generic-web) nothing is listed.
    let out = verify(
        &verifying,
        &probe(Some("shop-1")),
        &[],
        None,
        true,
        &settings(),
        t(5),
    );
    assert!(out.status.checks.is_empty());
    assert_eq!(out.status.phase, Some(DeploymentPhase::Succeeded));
}

#[test]
fn refused_mutations_fail_the_attempt_naming_the_step() {
    let s = fail(
        &rec(Some(DeploymentPhase::Pending)),
        "SetImage",
        "application.saveDockerProvider: bad request",
        t(3),
    );
    assert_eq!(s.phase, Some(DeploymentPhase::Failed));
    assert!(
        s.post_deploy
            .unwrap()
            .message
            .unwrap()
            .starts_with("SetImage failed")
    );
    assert_eq!(s.verdict, Some(Verdict::Mismatch));
}

/// The one re-send rule lanes and previews share: due once invisible for `resend_after`, not
/// past the give-up time, never twice; sent only on proof that Dokploy is idle for the target.
#[test]
fn a_sent_deploy_is_due_for_one_resend_in_its_window_and_sent_only_when_dokploy_is_idle() {
    let (after, give_up) = (SignedDuration::from_secs(60), SignedDuration::from_secs(600));
    let sent = SentDeploy {
        sent_at: t(0),
        resent_at: None,
    };
    assert!(!sent.resend_due(after, give_up, t(59)));
    assert!(sent.resend_due(after, give_up, t(60)));
    assert!(sent.resend_due(after, give_up, t(600)));
    assert!(!sent.resend_due(after, give_up, t(601)));
    let resent = SentDeploy {
        resent_at: Some(t(70)),
        ..sent
    };
    assert!(!resent.resend_due(after, give_up, t(120)));
    let idle = DeployActivity::default();
    let busy = DeployActivity {
        queued: 0,
        running: true,
    };
    assert!(sent.resend(after, give_up, Some(&idle), t(90)));
    assert!(!sent.resend(after, give_up, Some(&busy), t(90)));
    assert!(
        !sent.resend(after, give_up, None, t(90)),
        "unread activity is no proof"
    );
    assert!(!resent.resend(after, give_up, Some(&idle), t(90)));
}
