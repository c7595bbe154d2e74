//! Ids, and the contract end to end: inject, serve, parse, combine, classify.

use super::*;
use crate::Verdict;
use serde_json::json;

fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

fn shape_ok(id: &str, prefix: &str) -> bool {
    id.len() == prefix.len() + 12
        && id.starts_with(prefix)
        && id[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn deployment_record_id_shape_and_determinism() {
    let id = deployment_record_id("7c9e6679-7425-40de-944b-e07fc1f90ae7", "art-1", 1);
    assert!(shape_ok(&id, "dr-"), "{id}");
    assert!(is_dns1123_label(&id), "{id}");
    assert_eq!(
        id,
        deployment_record_id("7c9e6679-7425-40de-944b-e07fc1f90ae7", "art-1", 1)
    );
}

#[test]
fn deployment_record_id_depends_on_every_input() {
    let base = deployment_record_id("lane-uid", "art-1", 1);
    assert_ne!(base, deployment_record_id("lane-uid-2", "art-1", 1));
    assert_ne!(base, deployment_record_id("lane-uid", "art-2", 1));
    assert_ne!(base, deployment_record_id("lane-uid", "art-1", 2));
    // Boundaries between inputs matter: naive concatenation would make these equal.
    assert_ne!(
        deployment_record_id("ab", "c", 1),
        deployment_record_id("a", "bc", 1)
    );
    assert_ne!(
        deployment_record_id("a", "b1", 1),
        deployment_record_id("a", "b", 11)
    );
}

#[test]
fn ids_are_stable_across_releases() {
    // Records are named by these ids and found again after a restart or an upgrade: the
    // derivation must never change. Pinned values, cross-checked with an independent
    // implementation (Python hashlib: sha256 over u64-BE-length-prefixed domain and parts).
    assert_eq!(deployment_record_id("lane-uid", "art-1", 1), PINNED_DR);
    assert_eq!(release_tuple_id("shop", "prod", "art-1"), PINNED_RT);
}

const PINNED_DR: &str = "dr-ccf648099874";
const PINNED_RT: &str = "rt-98f7796f1b75";

#[test]
fn release_tuple_id_shape_and_inputs() {
    let id = release_tuple_id("shop", "prod", "art-1");
    assert!(shape_ok(&id, "rt-"), "{id}");
    assert!(is_dns1123_label(&id), "{id}");
    assert_ne!(id, release_tuple_id("shop", "testing", "art-1"));
    assert_ne!(id, release_tuple_id("shop", "prod", "art-2"));
    assert_ne!(id, release_tuple_id("shop2", "prod", "art-1"));
    assert_ne!(release_tuple_id("ab", "c", "d"), release_tuple_id("a", "bc", "d"));
    // Different domain from record ids: the same strings never give the same digest.
    assert_ne!(id[3..], deployment_record_id("shop", "prod", 0)[3..]);
}

/// The full loop a deploy goes through: what Launchplane injects, an app echoing it on each
/// surface, and the verdict.
#[test]
fn injected_identity_round_trips_through_every_surface() {
    let lane_uid = "3f1c-lane";
    let expected = RuntimeIdentityPayload::default()
        .with(IdentityField::Product, "shop")
        .with(IdentityField::Context, "prod")
        .with(IdentityField::EnvironmentKind, ENVIRONMENT_KIND_STABLE)
        .with(
            IdentityField::DeploymentRecordId,
            deployment_record_id(lane_uid, "art-1", 1),
        )
        .with(IdentityField::ArtifactId, "art-1")
        .with(
            IdentityField::SourceGitRef,
            "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f",
        )
        .with(
            IdentityField::ReleaseTupleId,
            release_tuple_id("shop", "prod", "art-1"),
        );
    let env = identity_env(&expected);

    for key in IDENTITY_KEYS {
        // An app that echoes the env var verbatim (a string holding JSON).
        let health =
            serde_json::to_vec(&json!({"status": "ok", key: env[RUNTIME_IDENTITY_JSON_ENV]})).unwrap();
        let well_known = env[RUNTIME_IDENTITY_JSON_ENV].as_bytes().to_vec();
        let observed = combine(&[
            parse_health_body(&health),
            parse_well_known(&well_known),
            parse_deployment_header(Some(&env[DEPLOYMENT_RECORD_ID_ENV])),
        ]);
        assert_eq!(observed.payload.as_ref(), Some(&expected), "key {key}");
        let c = classify(&expected, &observed, true);
        assert_eq!(
            c.reason,
            ClassificationReason::Matched,
            "key {key}: {}",
            c.message
        );
        assert!(!c.is_failure());
    }

    // The same app after a newer deploy it did not pick up (stale container still serving).
    let newer = expected
        .clone()
        .with(
            IdentityField::DeploymentRecordId,
            deployment_record_id(lane_uid, "art-2", 1),
        )
        .with(IdentityField::ArtifactId, "art-2");
    let health = serde_json::to_vec(&json!({"runtime_identity": env[RUNTIME_IDENTITY_JSON_ENV]})).unwrap();
    let c = classify(
        &newer,
        &combine(&[
            parse_health_body(&health),
            parse_deployment_header(Some(&env[DEPLOYMENT_RECORD_ID_ENV])),
        ]),
        false,
    );
    assert_eq!(c.verdict, Verdict::Mismatch);
    assert!(c.hard_failure);
    let fields: Vec<&str> = c.mismatches.iter().map(|m| m.field.as_str()).collect();
    assert_eq!(fields, ["deploymentRecordId", "artifactId"]);
}

#[test]
fn app_without_identity_env_is_missing_not_malformed() {
    // The env was never injected: the app echoes empty values.
    let env = identity_env(&RuntimeIdentityPayload::default());
    let health = serde_json::to_vec(&json!({"runtime_identity": env[RUNTIME_IDENTITY_JSON_ENV]})).unwrap();
    let observed = combine(&[
        parse_health_body(&health),
        parse_deployment_header(Some(&env[DEPLOYMENT_RECORD_ID_ENV])),
    ]);
    let expected = RuntimeIdentityPayload::default().with(IdentityField::ArtifactId, "art-1");
    assert_eq!(classify(&expected, &observed, false).verdict, Verdict::Missing);
    assert!(!classify(&expected, &observed, false).is_failure());
    assert!(classify(&expected, &observed, true).is_failure());
}
