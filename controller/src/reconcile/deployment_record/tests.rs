#![allow(clippy::unwrap_used)]

use super::*;
use crate::reconcile::lane::HealthResult;
use launchplane_api::identity::{Surface, SurfaceObservation};
use launchplane_api::resources::{DeploymentRecordSpec, HealthEvidence, IdentityFields, LocalObjectRef};
use std::collections::BTreeMap;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn settings() -> DeploySettings {
    DeploySettings {
        start_timeout: SignedDuration::from_secs(60),
        verify_timeout: SignedDuration::from_secs(30),
        retry_after: SignedDuration::from_secs(300),
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
        let out = follow(&deploying, found.as_ref(), &settings(), t(now));
        assert_eq!(out.wait, wait, "{found:?}");
        assert_eq!(out.status.as_ref().and_then(|s| s.phase), want, "{found:?}");
        if let (Some(s), Some(_)) = (&out.status, &found) {
            assert_eq!(
                s.deploy.as_ref().unwrap().provider_deployment_id.as_deref(),
                Some("dep-9")
            );
        }
    }
    let missing = follow(&deploying, None, &settings(), t(61)).status.unwrap();
    assert!(
        missing
            .post_deploy
            .unwrap()
            .message
            .unwrap()
            .contains("not sent again"),
        "a deploy that never appeared is failed, never re-sent"
    );
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
