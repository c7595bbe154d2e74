//! Protected artifacts: every artifact a product still needs, so a registry-cleanup job
//! never deletes an image that a lane runs or wants, a release tuple names, a rollback may
//! return to (each lane's `status.rollbackCandidates`) or a live preview serves.
//!
//! The set is conservative: a lane's desired artifact counts even before it is deployed, and
//! every generation of a live preview counts, not only the serving one, since a rollback or a
//! retry may need it. An id whose Artifact manifest is missing stays in the set (something
//! still references it) and is reported, so the job can refuse to run.

use launchplane_api::resources::{Artifact, GenerationPhase, Lane, Preview};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The protected set of one product.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedSet {
    pub product: String,
    pub namespace: String,
    /// Artifact name → image reference (`repository@digest`) when its manifest exists.
    pub artifacts: BTreeMap<String, Option<String>>,
    /// Referenced artifacts without a manifest, each with who references it.
    pub missing: Vec<MissingArtifact>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingArtifact {
    pub artifact: String,
    pub referenced_by: Vec<String>,
}

/// Compute the protected set of `product` from the namespace's lanes, previews and artifacts.
pub fn protected(
    product: &str,
    namespace: &str,
    lanes: &[Lane],
    previews: &[Preview],
    artifacts: &[Artifact],
) -> ProtectedSet {
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |artifact: &str, by: String| {
        if !artifact.is_empty() {
            refs.entry(artifact.to_string()).or_default().insert(by);
        }
    };
    for lane in lanes.iter().filter(|l| l.spec.product_ref.name == product) {
        let name = format!("Lane/{}", lane.metadata.name.as_deref().unwrap_or_default());
        if let Some(desired) = &lane.spec.artifact_ref {
            add(&desired.name, format!("{name} spec.artifactRef"));
        }
        let status = lane.status.as_ref();
        if let Some(desired) = status.and_then(|s| s.desired.as_ref()) {
            let by = desired
                .promotion
                .as_ref()
                .map(|p| format!(" (Promotion {p})"))
                .unwrap_or_default();
            add(&desired.artifact, format!("{name} status.desired{by}"));
        }
        if let Some(inventory) = status.and_then(|s| s.inventory.as_ref()) {
            add(
                &inventory.artifact,
                format!("{name} status.inventory (release tuple)"),
            );
        }
        for candidate in status.iter().flat_map(|s| s.rollback_candidates.iter()) {
            add(candidate, format!("{name} status.rollbackCandidates"));
        }
    }
    for preview in previews.iter().filter(|p| p.spec.product_ref.name == product) {
        let name = format!("Preview/{}", preview.metadata.name.as_deref().unwrap_or_default());
        add(
            &preview.spec.artifact_ref.name,
            format!("{name} spec.artifactRef"),
        );
        for generation in preview.status.iter().flat_map(|s| s.generations.iter()) {
            if generation.phase != GenerationPhase::Failed
                && let Some(artifact) = &generation.artifact
            {
                add(artifact, format!("{name} generation {}", generation.id));
            }
        }
    }
    let manifests: BTreeMap<&str, &Artifact> = artifacts
        .iter()
        .filter_map(|a| Some((a.metadata.name.as_deref()?, a)))
        .collect();
    let mut set = ProtectedSet {
        product: product.into(),
        namespace: namespace.into(),
        ..ProtectedSet::default()
    };
    for (artifact, by) in refs {
        let image = manifests
            .get(artifact.as_str())
            .map(|a| format!("{}@{}", a.spec.image.repository, a.spec.image.digest));
        if image.is_none() {
            set.missing.push(MissingArtifact {
                artifact: artifact.clone(),
                referenced_by: by.into_iter().collect(),
            });
        }
        set.artifacts.insert(artifact, image);
    }
    set
}

#[cfg(test)]
mod tests;
