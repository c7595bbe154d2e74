#![allow(clippy::unwrap_used)]

use super::*;
use launchplane_api::identity::{Surface, SurfaceObservation};
use launchplane_api::resources::{IdentityEndpoint, IdentityFields};
use launchplane_api::verdict::Verdict;
use std::time::Duration;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn identity(required: bool) -> RuntimeIdentity {
    let mut ri = RuntimeIdentity::new(
        "shop-prod",
        RuntimeIdentitySpec {
            expected: IdentityFields {
                product: Some("shop".into()),
                artifact_id: Some("artifact-2".into()),
                ..Default::default()
            },
            endpoint: IdentityEndpoint {
                base_url: "http://127.0.0.1:1".into(),
                health_path: "/healthz".into(),
            },
            required,
            ..Default::default()
        },
    );
    ri.metadata.generation = Some(1);
    ri
}

fn found(artifact: &str) -> ProbeResult {
    let payload = RuntimeIdentityPayload {
        product: Some("shop".into()),
        artifact_id: Some(artifact.into()),
        ..Default::default()
    };
    ProbeResult {
        health_status: Some(200),
        observations: vec![SurfaceObservation::Found {
            surface: Surface::HealthBody,
            payload,
        }],
        elapsed: Duration::from_millis(3),
    }
}

fn unreachable() -> ProbeResult {
    ProbeResult {
        health_status: None,
        observations: vec![SurfaceObservation::unreachable(
            Surface::HealthBody,
            "connection failed",
        )],
        elapsed: Duration::from_millis(3),
    }
}

fn ready(s: &RuntimeIdentityStatus) -> String {
    conditions::find(&s.conditions, types::READY)
        .unwrap()
        .status
        .clone()
}

#[test]
fn the_expected_identity_is_matched() {
    let s = reconcile(&identity(true), Some(&found("artifact-2")), t(1)).status;
    assert_eq!(s.verdict, Some(Verdict::Matched));
    assert_eq!(s.reason, Some(ClassificationReason::Matched));
    assert_eq!(
        s.observed.as_ref().unwrap().artifact_id.as_deref(),
        Some("artifact-2")
    );
    assert_eq!(s.last_probe_time, Some(Time(t(1))));
    assert_eq!(ready(&s), "True");
}

fn s_with(required: bool, probe: ProbeResult) -> RuntimeIdentityStatus {
    reconcile(&identity(required), Some(&probe), t(1)).status
}

#[test]
fn a_stale_identity_is_a_mismatch_that_fails_ready_even_when_advisory() {
    let s = s_with(false, found("artifact-1"));
    assert_eq!(s.verdict, Some(Verdict::Mismatch));
    assert_eq!(s.mismatches[0].field, "artifactId");
    assert_eq!(ready(&s), "False");
}

#[test]
fn an_unreachable_endpoint_fails_only_a_required_identity() {
    let advisory = s_with(false, unreachable());
    assert_eq!(advisory.verdict, Some(Verdict::Unverifiable));
    assert_eq!(advisory.reason, Some(ClassificationReason::Unreachable));
    assert_eq!(ready(&advisory), "True");
    let required = s_with(true, unreachable());
    assert_eq!(ready(&required), "Unknown");
}

#[test]
fn before_the_first_probe_it_is_unchecked_and_reconciling() {
    let s = reconcile(&identity(true), None, t(0)).status;
    assert_eq!(s.verdict, Some(Verdict::Unchecked));
    assert_eq!(s.last_probe_time, None);
    let reconciling = conditions::find(&s.conditions, types::RECONCILING).unwrap();
    assert_eq!(reconciling.status, "True");
}

#[test]
fn probe_target_follows_the_spec_surfaces() {
    let mut ri = identity(true);
    ri.spec.surfaces = vec![IdentitySurface::Header];
    let target = probe_target(&ri.spec);
    assert!(target.surfaces.header && !target.surfaces.health_json && !target.surfaces.well_known);
    assert_eq!(target.health_path, "/healthz");
}
