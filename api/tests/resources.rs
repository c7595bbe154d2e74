//! Rust-side behaviour of the resource types: serde defaults agree with the schema defaults
//! and the `Default` impls, and the expected identity converts to the identity payload.
#![allow(clippy::unwrap_used)]

use launchplane_api::identity::RuntimeIdentityPayload;
use launchplane_api::resources::*;
use serde_json::json;

#[test]
fn minimal_specs_get_the_documented_defaults() {
    let pc: ProviderConfigSpec = serde_json::from_value(json!({
        "url": "https://dokploy.example.com",
        "apiKeySecretRef": {"name": "k", "key": "api-key"}
    }))
    .unwrap();
    assert_eq!(pc.provider_type, ProviderType::Dokploy);
    assert_eq!(pc.poll_interval_seconds, 60);
    assert_eq!(pc.detail_interval_seconds, None);
    assert_eq!(pc.effective_detail_interval_seconds(), 60);
    assert_eq!(pc.stale_after_polls, 3);
    assert_eq!(
        pc.rate_limit,
        RateLimit {
            requests_per_second: 5,
            burst: 10
        }
    );

    let pt: ProviderTargetSpec = serde_json::from_value(json!({
        "providerConfigRef": {"name": "dokploy-main"},
        "targetCategory": "compose",
        "displayName": "web"
    }))
    .unwrap();
    assert_eq!(pt.management_policy, ManagementPolicy::Observe);
    assert_eq!(pt.target_category.as_str(), "compose");

    let product: ProductSpec = serde_json::from_value(json!({
        "displayName": "Shop", "repository": "acme/shop",
        "imageRepository": "ghcr.io/acme/shop", "runtimePort": 8080
    }))
    .unwrap();
    assert_eq!(product.driver, Driver::GenericWeb);
    assert_eq!(product.health_path, "/healthz");
    assert_eq!(product.preview, PreviewPolicy::default());
    assert_eq!(product.preview.slug_template, "pr-{number}");
    assert_eq!(product.preview.cleanup, CleanupPolicy::Report);
    assert_eq!(product.preview.slug(42), "pr-42");
    assert!(!product.runtime_identity.required);

    let lane: LaneSpec = serde_json::from_value(json!({
        "productRef": {"name": "shop"}, "stage": "prod", "targetRef": {"name": "shop-prod"},
        "healthChecks": [{"type": "provider"}]
    }))
    .unwrap();
    assert_eq!(lane.drift_policy, DriftPolicy::Report);
    assert_eq!(lane.history_limit, 10);
    assert!(!lane.suspend);
    assert_eq!(lane.runtime_identity.surfaces, IdentitySurface::ALL.to_vec());
    let check = &lane.health_checks[0];
    assert_eq!(
        (check.expect_status, check.timeout_seconds, check.required),
        (200, 5, true)
    );
    assert_eq!(
        LaneSpec {
            product_ref: lane.product_ref.clone(),
            stage: "prod".into(),
            target_ref: lane.target_ref.clone(),
            health_checks: lane.health_checks.clone(),
            ..LaneSpec::default()
        },
        lane
    );

    let ri: RuntimeIdentitySpec = serde_json::from_value(json!({
        "endpoint": {"baseUrl": "https://shop.example.com"}
    }))
    .unwrap();
    assert_eq!(ri.endpoint.health_path, "/healthz");
    assert_eq!((ri.interval_seconds, ri.timeout_seconds), (60, 5));
    assert_eq!(ri.surfaces.len(), 3);
    assert_eq!(
        ri,
        RuntimeIdentitySpec {
            endpoint: ri.endpoint.clone(),
            ..RuntimeIdentitySpec::default()
        }
    );
}

#[test]
fn unknown_enum_values_are_refused() {
    let bad = serde_json::from_value::<ProviderTargetSpec>(json!({
        "providerConfigRef": {"name": "p"}, "targetCategory": "Application", "displayName": "web"
    }));
    assert!(bad.is_err(), "targetCategory is lowercase on the wire");
    let bad = serde_json::from_value::<ProductSpec>(json!({
        "displayName": "S", "repository": "a/b", "imageRepository": "x", "runtimePort": 1, "driver": "GenericWeb"
    }));
    assert!(bad.is_err(), "driver is generic-web on the wire");
}

#[test]
fn expected_identity_converts_to_the_payload_and_back() {
    let fields = IdentityFields {
        product: Some("shop".into()),
        context: Some("prod".into()),
        environment_kind: Some(EnvironmentKind::Stable),
        artifact_id: Some("shop-3f2a9c1".into()),
        ..IdentityFields::default()
    };
    let payload = RuntimeIdentityPayload::from(&fields);
    assert_eq!(payload.environment_kind.as_deref(), Some("stable"));
    assert_eq!(payload.artifact_id.as_deref(), Some("shop-3f2a9c1"));
    assert_eq!(payload.deployed_at, None);
    assert_eq!(IdentityFields::from(&payload), fields);
    let odd = RuntimeIdentityPayload {
        environment_kind: Some("staging".into()),
        ..Default::default()
    };
    assert_eq!(IdentityFields::from(&odd).environment_kind, None);
}

#[test]
fn status_omits_absent_fields() {
    let status = LaneStatus::default();
    assert_eq!(serde_json::to_value(&status).unwrap(), json!({}));
    let status = LaneStatus {
        verdict: Some(launchplane_api::Verdict::Mismatch),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"verdict": "Mismatch"})
    );
}

#[test]
fn artifact_image_reference_pins_the_digest() {
    let spec = ArtifactSpec {
        image: ArtifactImage {
            repository: "ghcr.io/acme/shop".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
        },
        ..ArtifactSpec::default()
    };
    assert_eq!(
        spec.image_reference(),
        format!("ghcr.io/acme/shop@sha256:{}", "a".repeat(64))
    );
}

#[test]
fn a_data_bootstrap_reads_and_writes_the_documented_field_names() {
    let spec: DataBootstrapSpec = serde_json::from_value(json!({
        "laneRef": {"name": "shop-testing"},
        "source": {"dataset": "demo-2026-11"}
    }))
    .unwrap();
    // Left out, the confirmation is false, which the CRD and the controller refuse.
    assert!(!spec.confirm_destructive);
    assert_eq!((spec.command, spec.backup_gate_ref), (None, None));

    let result = BootstrapStepResult {
        result: StepOutcome::Passed,
        ..Default::default()
    };
    let status = DataBootstrapStatus {
        phase: Some(BootstrapPhase::PostDeploying),
        outcome: Some(BootstrapOutcome::Unknown),
        bootstrap_run: Some(result.clone()),
        canonical_url: Some(result.clone()),
        runtime_identity: Some(result),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({
            "phase": "PostDeploying", "outcome": "Unknown",
            "bootstrapRun": {"result": "Passed"},
            "canonicalUrl": {"result": "Passed"},
            "runtimeIdentity": {"result": "Passed"}
        })
    );
    let lane = LaneStatus {
        bootstrap: Some(LaneBootstrap {
            state: LaneBootstrapState::Unknown,
            last: Some("shop-testing-demo".into()),
            inventory_stale: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&lane).unwrap(),
        json!({"bootstrap": {"state": "Unknown", "last": "shop-testing-demo", "inventoryStale": true}})
    );
}
