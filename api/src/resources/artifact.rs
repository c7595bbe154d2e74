//! Artifact: an immutable artifact manifest — the image by digest, the exact source commit and
//! the build that made it.

use super::common::{
    GIT_SHA_LEN, GIT_SHA_PATTERN, HTTP_URL_PATTERN, IMAGE_DIGEST_LEN, IMAGE_DIGEST_PATTERN,
    IMAGE_REPOSITORY_MAX_LEN, IMAGE_REPOSITORY_PATTERN, SOURCE_REPOSITORY_MAX_LEN, SOURCE_REPOSITORY_PATTERN,
    URL_MAX_LEN, immutable_rule, keep_field_description, pattern_rule,
};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An artifact manifest: one image by digest, built from exact source commits. Lanes, Previews
/// and Promotions reference it by name; the image digest and source commit cannot change.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Artifact",
    namespaced,
    status = "ArtifactStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpa",
    category = "launchplane",
    doc = "An immutable artifact manifest: image repository and digest, source commit, source repos, build provenance.",
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.image.repository"),
    printcolumn(
        name = "Digest",
        type_ = "string",
        json_path = ".spec.image.digest",
        priority = 1
    ),
    printcolumn(name = "Commit", type_ = "string", json_path = ".spec.source.commit"),
    printcolumn(name = "Protected", type_ = "boolean", json_path = ".status.protected"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSpec {
    /// The image, by digest.
    pub image: ArtifactImage,
    /// The commit of the product's own repository the image was built from.
    pub source: SourceRef,
    /// Other repositories that went into the build (libraries, addons), each at an exact
    /// commit, one entry per repository (the commit of an entry is immutable). Default empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["repository"])
    )]
    pub source_repos: Vec<SourceRef>,
    /// Who built the image and where the build can be seen. Absent: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildProvenance>,
}

impl ArtifactSpec {
    /// The pinned image reference, `repository@sha256:...`.
    pub fn image_reference(&self) -> String {
        format!("{}@{}", self.image.repository, self.image.digest)
    }
}

/// An image by digest.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactImage {
    /// The image repository without tag or digest, e.g. `ghcr.io/acme/shop`. Immutable.
    #[schemars(length(min = 1, max = IMAGE_REPOSITORY_MAX_LEN), regex(pattern = IMAGE_REPOSITORY_PATTERN))]
    #[x_kube(
        validation = pattern_rule(IMAGE_REPOSITORY_PATTERN, "image.repository must be an image repository without tag or digest, e.g. ghcr.io/acme/shop; put the digest in image.digest"),
        validation = immutable_rule("image.repository is immutable: create a new Artifact for a new build")
    )]
    pub repository: String,
    /// The image digest, `sha256:` followed by 64 lowercase hex digits (tags are not accepted:
    /// they can move). Immutable.
    #[schemars(length(min = IMAGE_DIGEST_LEN, max = IMAGE_DIGEST_LEN), regex(pattern = IMAGE_DIGEST_PATTERN))]
    #[x_kube(
        validation = pattern_rule(IMAGE_DIGEST_PATTERN, "image.digest must be sha256: followed by 64 lowercase hex digits (the pushed manifest digest, e.g. from `docker buildx imagetools inspect`); tags are not accepted"),
        validation = immutable_rule("image.digest is immutable: create a new Artifact for a new build")
    )]
    pub digest: String,
}

/// A repository at an exact commit.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    /// The repository, `owner/name` or `host/owner/name`, e.g. `github.com/acme/shop`.
    #[schemars(length(min = 1, max = SOURCE_REPOSITORY_MAX_LEN), regex(pattern = SOURCE_REPOSITORY_PATTERN))]
    pub repository: String,
    /// The commit: a full 40-character lowercase hex git SHA. Branch and tag names are refused
    /// because they move. Immutable.
    #[schemars(length(min = GIT_SHA_LEN, max = GIT_SHA_LEN), regex(pattern = GIT_SHA_PATTERN))]
    #[x_kube(
        validation = pattern_rule(GIT_SHA_PATTERN, "commit must be the full 40-character lowercase hex git SHA (git rev-parse HEAD), not a branch, tag or short SHA"),
        validation = immutable_rule("commit is immutable: create a new Artifact for a new build")
    )]
    pub commit: String,
}

/// Where and by whom an artifact was built.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildProvenance {
    /// The build system, e.g. `github-actions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub builder: Option<String>,
    /// The build's id in that system, e.g. a workflow run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub build_id: Option<String>,
    /// Web URL of the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub url: Option<String>,
    /// When the image was built (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
}

/// Who uses the artifact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Whether the manifest is usable (Matched) or, e.g., its image is missing from the
    /// registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The lanes, previews and promotions that reference the artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referenced_by: Vec<ArtifactUser>,
    /// True while anything references the artifact (it must not be garbage-collected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
}

/// One object that references an artifact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactUser {
    /// The kind of the referencing object: `Lane`, `Preview` or `Promotion`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Whether it runs the artifact now (inventory) rather than only asking for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub current: bool,
}
