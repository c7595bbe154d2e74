#![allow(clippy::unwrap_used)]

use super::*;
use launchplane_api::resources::{
    ArtifactImage, ArtifactSpec, LaneInventory, LaneSpec, LaneStatus, LocalObjectRef, PreviewGeneration,
    PreviewSpec, PreviewStatus,
};

fn lane(name: &str, product: &str, desired: Option<&str>, running: Option<&str>) -> Lane {
    let mut l = Lane::new(
        name,
        LaneSpec {
            product_ref: LocalObjectRef::new(product),
            artifact_ref: desired.map(LocalObjectRef::new),
            ..LaneSpec::default()
        },
    );
    l.status = running.map(|a| LaneStatus {
        inventory: Some(LaneInventory {
            artifact: a.into(),
            ..LaneInventory::default()
        }),
        ..LaneStatus::default()
    });
    l
}

fn preview(name: &str, artifact: &str, generations: &[(&str, GenerationPhase)]) -> Preview {
    let mut p = Preview::new(
        name,
        PreviewSpec {
            product_ref: LocalObjectRef::new("shop"),
            artifact_ref: LocalObjectRef::new(artifact),
            ..PreviewSpec::default()
        },
    );
    p.status = Some(PreviewStatus {
        generations: generations
            .iter()
            .map(|(a, phase)| PreviewGeneration {
                id: format!("g-{a}"),
                artifact: Some(a.to_string()),
                phase: *phase,
                ..PreviewGeneration::default()
            })
            .collect(),
        ..PreviewStatus::default()
    });
    p
}

fn artifact(name: &str) -> Artifact {
    Artifact::new(
        name,
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            ..ArtifactSpec::default()
        },
    )
}

#[test]
fn lanes_and_live_previews_protect_their_artifacts() {
    let lanes = [
        lane("prod", "shop", Some("shop-3"), Some("shop-2")),
        lane("testing", "shop", Some("shop-3"), Some("shop-3")),
        lane("other", "blog", Some("blog-1"), Some("blog-1")),
    ];
    let previews = [preview(
        "pr-42",
        "shop-pr-b",
        &[
            ("shop-pr-a", GenerationPhase::Ready),
            ("shop-pr-x", GenerationPhase::Failed),
            ("shop-pr-b", GenerationPhase::Deploying),
        ],
    )];
    let artifacts = ["shop-2", "shop-3", "shop-pr-a", "shop-pr-b", "shop-1"].map(artifact);
    let set = protected("shop", "team", &lanes, &previews, &artifacts);
    let names: Vec<&str> = set.artifacts.keys().map(String::as_str).collect();
    assert_eq!(names, vec!["shop-2", "shop-3", "shop-pr-a", "shop-pr-b"]);
    assert!(set.missing.is_empty());
    assert_eq!(
        set.artifacts["shop-2"].as_deref(),
        Some(format!("ghcr.io/acme/shop@sha256:{}", "a".repeat(64)).as_str())
    );
}

#[test]
fn a_missing_manifest_stays_protected_and_is_reported_with_its_referrers() {
    let lanes = [lane("prod", "shop", None, Some("shop-gone"))];
    let set = protected("shop", "team", &lanes, &[], &[]);
    assert_eq!(set.artifacts.get("shop-gone"), Some(&None));
    assert_eq!(set.missing.len(), 1);
    assert_eq!(
        set.missing[0].referenced_by,
        vec!["Lane/prod status.inventory (release tuple)"]
    );
    let json = serde_json::to_value(&set).unwrap();
    assert_eq!(json["missing"][0]["artifact"], "shop-gone");
}

/// Issue 14: a lane fed by Promotions wants what its status says (no spec field holds it), and
/// a rollback needs the artifacts it ran before: both stay protected.
#[test]
fn promoted_artifacts_and_rollback_candidates_are_protected() {
    let mut prod = lane("shop-prod", "shop", None, Some("shop-3"));
    let status = prod.status.as_mut().unwrap();
    status.desired = Some(launchplane_api::resources::DesiredArtifact {
        artifact: "shop-4".into(),
        promotion: Some("p4".into()),
    });
    status.rollback_candidates = vec!["shop-3".into(), "shop-2".into(), "shop-1".into()];
    let artifacts: Vec<Artifact> = ["shop-1", "shop-2", "shop-3", "shop-4"]
        .into_iter()
        .map(artifact)
        .collect();
    let set = protected("shop", "default", &[prod], &[], &artifacts);
    assert_eq!(
        set.artifacts.keys().cloned().collect::<Vec<_>>(),
        ["shop-1", "shop-2", "shop-3", "shop-4"]
    );
    assert!(set.missing.is_empty());
}
