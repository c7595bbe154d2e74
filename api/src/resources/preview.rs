//! Preview: one pull request's preview deployment, and the generations it went through.

use super::common::{
    DURATION_MAX_LEN, DURATION_PATTERN, GIT_SHA_LEN, GIT_SHA_PATTERN, HTTP_URL_PATTERN, LocalObjectRef,
    SOURCE_REPOSITORY_MAX_LEN, SOURCE_REPOSITORY_PATTERN, URL_MAX_LEN, keep_field_description, pattern_rule,
};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The preview of one pull request: which artifact it serves and for how long. Deleting it
/// tears down the provider app and domain (a finalizer guards that).
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Preview",
    namespaced,
    status = "PreviewStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lppv",
    category = "launchplane",
    doc = "One pull request's preview: product, pull request, artifact and time to live.",
    printcolumn(name = "Product", type_ = "string", json_path = ".spec.productRef.name"),
    printcolumn(name = "PR", type_ = "integer", json_path = ".spec.pullRequest.number"),
    printcolumn(
        name = "Artifact",
        type_ = "string",
        json_path = ".spec.artifactRef.name",
        priority = 1
    ),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct PreviewSpec {
    /// The Product the preview belongs to; its preview policy must be enabled.
    pub product_ref: LocalObjectRef,
    /// The pull request previewed.
    pub pull_request: PullRequest,
    /// The Artifact built from the pull request's head commit.
    pub artifact_ref: LocalObjectRef,
    /// How long the preview lives after creation, as hours, minutes and seconds, e.g. `72h` or
    /// `36h30m`; longer than zero. Absent: until the Preview is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    #[x_kube(
        validation = pattern_rule(DURATION_PATTERN, "ttl must be a duration in hours, minutes and seconds, e.g. 72h, 90m or 1h30m"),
        // Any non-zero digit makes the sum of the parts positive; `0s` or `0h0m` would otherwise
        // read as "no expiry" to a person and as an instant expiry to a parser.
        validation = Rule::new("self.matches('[1-9]')")
            .message("ttl must be longer than zero, e.g. 72h; leave ttl out for a preview that lives until it is deleted")
    )]
    pub ttl: Option<String>,
}

/// A pull request.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    /// The repository of the pull request, e.g. `github.com/acme/shop`.
    #[schemars(length(min = 1, max = SOURCE_REPOSITORY_MAX_LEN), regex(pattern = SOURCE_REPOSITORY_PATTERN))]
    pub repository: String,
    /// The pull request number (positive).
    #[schemars(range(min = 1))]
    pub number: i64,
    /// Web URL of the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub url: Option<String>,
    /// The head commit of the pull request: a full 40-hex git SHA.
    #[schemars(length(min = GIT_SHA_LEN, max = GIT_SHA_LEN), regex(pattern = GIT_SHA_PATTERN))]
    #[x_kube(validation = pattern_rule(GIT_SHA_PATTERN, "pullRequest.headSha must be the full 40-character lowercase hex commit SHA (git rev-parse HEAD), not a branch name or short SHA"))]
    pub head_sha: String,
}

/// The preview as deployed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The worst verdict of the preview's aspects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `TargetVerified` (the recorded application, read by id at the last
    /// reconcile), `Deployed` (the newest generation), `RuntimeIdentityVerified` (the preview
    /// URL, probed at the last reconcile), `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The preview's public URL, e.g. `https://pr-42.preview.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The slug made from the product's slug template, e.g. `pr-42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// The provider id of the preview's target (kept so the finalizer can remove it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// Deploy generations, oldest first; at most the product's `preview.historyLimit` are
    /// kept (hard cap 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub generations: Vec<PreviewGeneration>,
    /// The id of the generation the preview currently serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_generation: Option<String>,
    /// When the preview expires (creation time plus `ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// What was told the pull request on GitHub: its comment and deployment (see
    /// docs/github.md, "Pull-request feedback"). Absent when feedback is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<PreviewFeedback>,
}

/// The pull-request feedback of a preview, as last delivered. Kept so a restart finds its
/// comment and deployment again instead of making new ones. Never holds a token.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewFeedback {
    /// The id of the preview's comment on the pull request (one carrying its marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<i64>,
    /// The SHA-256 of the comment body last written: an unchanged body is not written again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_digest: Option<String>,
    /// The GitHub deployment of `deploymentGeneration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<i64>,
    /// The preview generation the deployment is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_generation: Option<String>,
    /// The deployment status last posted: `in_progress`, `success`, `failure` or `inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_state: Option<String>,
    /// Whether everything due was delivered at the last attempt.
    #[serde(default)]
    pub delivered: bool,
    /// Why the last attempt fell short (a GitHub error or rate limit); absent once delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Failed attempts in a row; the next waits longer (backoff).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// No GitHub call before this time (a rate limit's reset, or the backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<Time>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One deploy of a preview (a new head commit or artifact makes a new generation).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewGeneration {
    /// The generation id (served as `previewGenerationId` in the runtime identity).
    pub id: String,
    /// The head commit of the pull request at that generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// The Artifact deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// `Requested`, `Deploying`, `Ready` or `Failed`.
    #[serde(default)]
    pub phase: GenerationPhase,
    /// When the generation was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_time: Option<Time>,
    /// When it became Ready or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_time: Option<Time>,
    /// The Dokploy application the generation was deployed to. Only a generation deployed to
    /// the preview's current application (`status.targetId`) can be the serving one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// When its deploy was sent to Dokploy; the deploy timeout counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_time: Option<Time>,
    /// When its deploy was sent again, once: no deployment with its title had appeared and
    /// Dokploy showed nothing under way for the application (a controller stopped between
    /// recording the deploy and sending it, or a Dokploy restart). Written before the re-send,
    /// so it is never sent a third time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resent_time: Option<Time>,
    /// The DeploymentRecord of the generation's deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_record: Option<String>,
    /// Short evidence of the outcome (deploy status, health and identity verdicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// The phase of a preview generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum GenerationPhase {
    /// Asked for; not deployed yet.
    #[default]
    Requested,
    /// Being deployed.
    Deploying,
    /// Deployed and verified.
    Ready,
    /// The deploy or its verification failed.
    Failed,
}
