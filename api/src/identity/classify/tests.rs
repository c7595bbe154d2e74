use super::*;
use crate::identity::payload::IdentityField;
use crate::identity::surfaces::{SurfaceObservation, combine};

use ClassificationReason as R;
use IdentityField as F;

fn payload(pairs: &[(IdentityField, &str)]) -> RuntimeIdentityPayload {
    pairs
        .iter()
        .fold(RuntimeIdentityPayload::default(), |p, (f, v)| p.with(*f, *v))
}

/// A lane's expectation: what Launchplane injected for the last deploy.
fn expected() -> RuntimeIdentityPayload {
    payload(&[
        (F::Product, "shop"),
        (F::Context, "prod"),
        (F::EnvironmentKind, "stable"),
        (F::DeploymentRecordId, "dr-1"),
        (F::ArtifactId, "art-1"),
        (F::SourceGitRef, "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"),
        (F::ImageReference, "ghcr.io/acme/shop@sha256:aaaa"),
    ])
}

/// What the app serves when it runs the expected deploy (plus a field the expectation omits).
fn served() -> RuntimeIdentityPayload {
    expected().with(F::DeployedAt, "2026-03-01T10:00:00Z")
}

fn health(p: RuntimeIdentityPayload) -> SurfaceObservation {
    SurfaceObservation::Found {
        surface: Surface::HealthBody,
        payload: p,
    }
}

fn well_known(p: RuntimeIdentityPayload) -> SurfaceObservation {
    SurfaceObservation::Found {
        surface: Surface::WellKnown,
        payload: p,
    }
}

fn header(id: &str) -> SurfaceObservation {
    SurfaceObservation::Found {
        surface: Surface::DeploymentHeader,
        payload: payload(&[(F::DeploymentRecordId, id)]),
    }
}

fn absent(surface: Surface) -> SurfaceObservation {
    SurfaceObservation::Absent {
        surface,
        reason: "answered without an identity".into(),
    }
}

fn malformed(surface: Surface) -> SurfaceObservation {
    SurfaceObservation::Malformed {
        surface,
        reason: "field `artifactId` is a number, not a string".into(),
    }
}

fn unreachable(surface: Surface) -> SurfaceObservation {
    SurfaceObservation::unreachable(surface, "connection refused")
}

/// (field, expected, observed) of a mismatch, for compact assertions.
type M = (&'static str, Option<&'static str>, Option<&'static str>);

/// The `runtimeIdentity.required` policy of a case.
#[derive(Clone, Copy)]
enum Policy {
    Advisory,
    Required,
}
use Policy::{Advisory, Required};

/// Whether a case must fail, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fails {
    No,
    /// Whatever the policy (`hard_failure`).
    Hard,
    /// Only because the policy requires an identity.
    ByPolicy,
}

struct Case {
    name: &'static str,
    expected: RuntimeIdentityPayload,
    surfaces: Vec<SurfaceObservation>,
    policy: Policy,
    reason: ClassificationReason,
    verdict: Verdict,
    fails: Fails,
    mismatches: Vec<M>,
}

#[allow(clippy::too_many_arguments)]
fn case(
    name: &'static str,
    expected: RuntimeIdentityPayload,
    surfaces: Vec<SurfaceObservation>,
    policy: Policy,
    reason: ClassificationReason,
    verdict: Verdict,
    fails: Fails,
    mismatches: Vec<M>,
) -> Case {
    Case {
        name,
        expected,
        surfaces,
        policy,
        reason,
        verdict,
        fails,
        mismatches,
    }
}

#[test]
fn classification_table() {
    use Surface::*;
    let e = expected();
    let cases = vec![
        // --- Unchecked
        case(
            "no probe yet",
            e.clone(),
            vec![],
            Advisory,
            R::Unchecked,
            Verdict::Unchecked,
            Fails::No,
            vec![],
        ),
        case(
            "no probe yet, required",
            e.clone(),
            vec![],
            Required,
            R::Unchecked,
            Verdict::Unchecked,
            Fails::No,
            vec![],
        ),
        // --- Matched
        case(
            "health serves the expected identity",
            e.clone(),
            vec![health(served())],
            Advisory,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "matched is never a failure when required",
            e.clone(),
            vec![health(served())],
            Required,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "all three surfaces agree",
            e.clone(),
            vec![health(served()), well_known(served()), header("dr-1")],
            Required,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "extra observed fields are not compared",
            e.clone(),
            vec![health(
                served().with(F::Instance, "blue").with(F::PreviewId, "pr-9"),
            )],
            Advisory,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "partial expectation compares only its fields",
            payload(&[(F::ArtifactId, "art-1")]),
            vec![health(
                served()
                    .with(F::DeploymentRecordId, "dr-other")
                    .with(F::Context, "testing"),
            )],
            Advisory,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "empty-string expected fields are not compared",
            RuntimeIdentityPayload {
                context: Some(String::new()),
                artifact_id: Some("art-1".into()),
                ..Default::default()
            },
            vec![health(payload(&[
                (F::ArtifactId, "art-1"),
                (F::Context, "elsewhere"),
            ]))],
            Advisory,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "deployedAt equal as an instant",
            payload(&[(F::DeployedAt, "2026-03-01T10:00:00Z")]),
            vec![health(payload(&[(F::DeployedAt, "2026-03-01T12:00:00+02:00")]))],
            Advisory,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "header alone verifies the record id",
            payload(&[(F::DeploymentRecordId, "dr-1"), (F::ArtifactId, "art-1")]),
            vec![absent(HealthBody), header("dr-1")],
            Required,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "a match is not spoiled by an unreachable surface",
            e.clone(),
            vec![health(served()), unreachable(WellKnown)],
            Required,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        case(
            "empty expectation, identity served",
            RuntimeIdentityPayload::default(),
            vec![health(served())],
            Required,
            R::Matched,
            Verdict::Matched,
            Fails::No,
            vec![],
        ),
        // --- Mismatch
        case(
            "one field differs",
            e.clone(),
            vec![health(served().with(F::ArtifactId, "art-0"))],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("artifactId", Some("art-1"), Some("art-0"))],
        ),
        case(
            "every differing field is listed, in contract order",
            e.clone(),
            vec![health(
                served()
                    .with(F::ImageReference, "ghcr.io/acme/shop@sha256:bbbb")
                    .with(F::ArtifactId, "art-0")
                    .with(F::SourceGitRef, "1e1e")
                    .with(F::EnvironmentKind, "preview"),
            )],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![
                ("environmentKind", Some("stable"), Some("preview")),
                ("artifactId", Some("art-1"), Some("art-0")),
                (
                    "sourceGitRef",
                    Some("0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"),
                    Some("1e1e"),
                ),
                (
                    "imageReference",
                    Some("ghcr.io/acme/shop@sha256:aaaa"),
                    Some("ghcr.io/acme/shop@sha256:bbbb"),
                ),
            ],
        ),
        case(
            "an expected field the app does not serve",
            payload(&[(F::ArtifactId, "art-1"), (F::ReleaseTupleId, "rt-1")]),
            vec![health(payload(&[(F::ArtifactId, "art-1")]))],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("releaseTupleId", Some("rt-1"), None)],
        ),
        case(
            "header alone with another record id",
            payload(&[(F::DeploymentRecordId, "dr-1"), (F::ArtifactId, "art-1")]),
            vec![absent(HealthBody), header("dr-0")],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("deploymentRecordId", Some("dr-1"), Some("dr-0"))],
        ),
        case(
            "header disagrees with the body, body right",
            e.clone(),
            vec![health(served()), header("dr-0")],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("deploymentRecordId@header", Some("dr-1"), Some("dr-0"))],
        ),
        case(
            "header disagrees with the body, header right",
            e.clone(),
            vec![
                health(served().with(F::DeploymentRecordId, "dr-0")),
                header("dr-1"),
            ],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("deploymentRecordId", Some("dr-1"), Some("dr-0"))],
        ),
        case(
            "surfaces disagree on a field the expectation leaves empty",
            payload(&[(F::ArtifactId, "art-1")]),
            vec![
                health(payload(&[
                    (F::ArtifactId, "art-1"),
                    (F::DeploymentRecordId, "dr-a"),
                ])),
                header("dr-b"),
            ],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("deploymentRecordId@header", Some("dr-a"), Some("dr-b"))],
        ),
        case(
            "two surfaces, both wrong, differently",
            payload(&[(F::ArtifactId, "art-1")]),
            vec![
                health(payload(&[(F::ArtifactId, "art-2")])),
                well_known(payload(&[(F::ArtifactId, "art-3")])),
            ],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![
                ("artifactId", Some("art-1"), Some("art-2")),
                ("artifactId@well-known", Some("art-1"), Some("art-3")),
            ],
        ),
        case(
            "mismatch outranks a malformed surface",
            e.clone(),
            vec![
                health(served().with(F::ArtifactId, "art-0")),
                malformed(WellKnown),
            ],
            Advisory,
            R::Mismatch,
            Verdict::Mismatch,
            Fails::Hard,
            vec![("artifactId", Some("art-1"), Some("art-0"))],
        ),
        // --- Malformed: always hard
        case(
            "malformed, advisory",
            e.clone(),
            vec![malformed(HealthBody)],
            Advisory,
            R::Malformed,
            Verdict::Unverifiable,
            Fails::Hard,
            vec![],
        ),
        case(
            "malformed, required",
            e.clone(),
            vec![malformed(HealthBody)],
            Required,
            R::Malformed,
            Verdict::Unverifiable,
            Fails::Hard,
            vec![],
        ),
        case(
            "malformed next to a match",
            e.clone(),
            vec![health(served()), malformed(WellKnown)],
            Advisory,
            R::Malformed,
            Verdict::Unverifiable,
            Fails::Hard,
            vec![],
        ),
        // --- Missing: advisory unless required
        case(
            "missing, advisory",
            e.clone(),
            vec![absent(HealthBody), absent(DeploymentHeader)],
            Advisory,
            R::Missing,
            Verdict::Missing,
            Fails::No,
            vec![],
        ),
        case(
            "missing, required",
            e.clone(),
            vec![absent(HealthBody), absent(DeploymentHeader)],
            Required,
            R::Missing,
            Verdict::Missing,
            Fails::ByPolicy,
            vec![],
        ),
        case(
            "header alone cannot speak to an expectation without a record id",
            payload(&[(F::ArtifactId, "art-1")]),
            vec![absent(HealthBody), header("dr-1")],
            Advisory,
            R::Missing,
            Verdict::Missing,
            Fails::No,
            vec![],
        ),
        case(
            "same, required",
            payload(&[(F::ArtifactId, "art-1")]),
            vec![absent(HealthBody), header("dr-1")],
            Required,
            R::Missing,
            Verdict::Missing,
            Fails::ByPolicy,
            vec![],
        ),
        case(
            "a hand-built empty Found is no identity",
            e.clone(),
            vec![health(RuntimeIdentityPayload::default())],
            Advisory,
            R::Missing,
            Verdict::Missing,
            Fails::No,
            vec![],
        ),
        case(
            "empty expectation, nothing served",
            RuntimeIdentityPayload::default(),
            vec![absent(HealthBody)],
            Required,
            R::Missing,
            Verdict::Missing,
            Fails::ByPolicy,
            vec![],
        ),
        // --- Unreachable: advisory unless required
        case(
            "unreachable, advisory",
            e.clone(),
            vec![unreachable(HealthBody)],
            Advisory,
            R::Unreachable,
            Verdict::Unverifiable,
            Fails::No,
            vec![],
        ),
        case(
            "unreachable, required",
            e.clone(),
            vec![unreachable(HealthBody)],
            Required,
            R::Unreachable,
            Verdict::Unverifiable,
            Fails::ByPolicy,
            vec![],
        ),
        case(
            "unreachable outranks absent (we did not see everything)",
            e.clone(),
            vec![absent(HealthBody), unreachable(WellKnown)],
            Advisory,
            R::Unreachable,
            Verdict::Unverifiable,
            Fails::No,
            vec![],
        ),
        case(
            "malformed outranks unreachable",
            e.clone(),
            vec![unreachable(HealthBody), malformed(WellKnown)],
            Advisory,
            R::Malformed,
            Verdict::Unverifiable,
            Fails::Hard,
            vec![],
        ),
    ];

    for c in cases {
        let observed = combine(&c.surfaces);
        let required = matches!(c.policy, Required);
        let got = classify(&c.expected, &observed, required);
        let name = c.name;
        assert_eq!(got.reason, c.reason, "case {name}: reason ({})", got.message);
        assert_eq!(got.verdict, c.verdict, "case {name}: verdict");
        assert_eq!(
            got.hard_failure,
            c.fails == Fails::Hard,
            "case {name}: hard_failure"
        );
        assert_eq!(got.is_failure(), c.fails != Fails::No, "case {name}: is_failure");
        assert_eq!(got.required, required, "case {name}: required");
        let want: Vec<FieldMismatch> = c
            .mismatches
            .iter()
            .map(|(f, e, o)| FieldMismatch::values(*f, *e, *o))
            .collect();
        assert_eq!(got.mismatches, want, "case {name}: mismatches");
        assert!(!got.message.is_empty(), "case {name}: message");
        for m in &got.mismatches {
            assert!(!m.withheld, "case {name}: identity fields are not secret");
        }
    }
}

#[test]
fn messages_say_what_happened() {
    let e = expected();
    let mismatch = classify(
        &e,
        &combine(&[health(served().with(F::ArtifactId, "art-0"))]),
        false,
    );
    assert!(
        mismatch
            .message
            .contains(r#"artifactId: expected "art-1", observed "art-0""#),
        "{}",
        mismatch.message
    );
    assert!(
        mismatch.message.contains("another artifact"),
        "{}",
        mismatch.message
    );

    let missing = classify(&e, &combine(&[absent(Surface::HealthBody)]), false);
    assert!(
        missing.message.contains("answered without an identity"),
        "{}",
        missing.message
    );
    assert!(missing.message.contains("advisory"), "{}", missing.message);
    let missing = classify(&e, &combine(&[absent(Surface::HealthBody)]), true);
    assert!(missing.message.contains("required"), "{}", missing.message);
    assert!(!missing.message.contains("advisory"), "{}", missing.message);

    let down = classify(&e, &combine(&[unreachable(Surface::WellKnown)]), false);
    assert!(
        down.message.contains("well-known: connection refused"),
        "{}",
        down.message
    );

    let matched = classify(
        &e,
        &combine(&[health(served()), unreachable(Surface::WellKnown)]),
        false,
    );
    assert!(matched.message.contains("artifactId"), "{}", matched.message);
    assert!(matched.message.contains("unreachable"), "{}", matched.message);

    let header_only = classify(
        &payload(&[(F::DeploymentRecordId, "dr-1"), (F::ArtifactId, "art-1")]),
        &combine(&[header("dr-1")]),
        false,
    );
    assert!(
        header_only.message.contains("not observable"),
        "{}",
        header_only.message
    );
    assert!(
        header_only.message.contains("artifactId"),
        "{}",
        header_only.message
    );
}

#[test]
fn message_cuts_long_values_but_mismatches_keep_them() {
    let long = "z".repeat(900);
    let got = classify(
        &payload(&[(F::ArtifactId, "art-1")]),
        &combine(&[health(payload(&[(F::ArtifactId, &long)]))]),
        false,
    );
    assert_eq!(got.mismatches[0].observed.as_deref(), Some(long.as_str()));
    assert!(got.message.len() < 400, "message is {} bytes", got.message.len());
}

#[test]
fn classification_serializes_for_status() {
    let got = classify(
        &payload(&[(F::ArtifactId, "art-1")]),
        &combine(&[health(payload(&[(F::ArtifactId, "art-0")]))]),
        true,
    );
    let v = serde_json::to_value(&got).unwrap();
    assert_eq!(v["verdict"], "Mismatch");
    assert_eq!(v["reason"], "Mismatch");
    assert_eq!(v["hardFailure"], true);
    assert_eq!(v["required"], true);
    assert_eq!(v["mismatches"][0]["field"], "artifactId");
    let back: Classification = serde_json::from_value(v).unwrap();
    assert_eq!(back, got);
    // An unchecked classification carries no mismatches key at all.
    let unchecked = serde_json::to_value(classify(&expected(), &Observed::unchecked(), false)).unwrap();
    assert!(unchecked.get("mismatches").is_none());
}

#[test]
fn reason_maps_to_verdict() {
    let pairs = [
        (R::Matched, Verdict::Matched),
        (R::Mismatch, Verdict::Mismatch),
        (R::Malformed, Verdict::Unverifiable),
        (R::Missing, Verdict::Missing),
        (R::Unreachable, Verdict::Unverifiable),
        (R::Unchecked, Verdict::Unchecked),
    ];
    for (reason, verdict) in pairs {
        assert_eq!(reason.verdict(), verdict, "{reason}");
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::json!(reason.as_str())
        );
    }
}
