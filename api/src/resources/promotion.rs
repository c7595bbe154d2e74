//! Promotion: move an artifact from one lane to another, or roll a lane back to a recorded
//! artifact. The spec is immutable; the status records the gates and the resulting deploy.

use super::common::{
    DNS1123_LABEL_MAX_LEN, DNS1123_LABEL_PATTERN, LocalObjectRef, TEXT_MAX_LEN, immutable_rule,
    keep_field_description,
};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The message of the immutability rule on Promotion's spec.
pub const PROMOTION_IMMUTABLE_MESSAGE: &str = "spec is immutable: create a new Promotion instead";

/// A request to promote what one lane runs into another lane (or to roll a lane back to a
/// recorded artifact), with its gates and outcome.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Promotion",
    namespaced,
    status = "PromotionStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lppromo",
    category = "launchplane",
    doc = "Move an artifact from one lane to another, or roll a lane back to a recorded artifact (spec immutable).",
    printcolumn(
        name = "Product",
        type_ = "string",
        json_path = ".spec.productRef.name",
        priority = 1
    ),
    printcolumn(name = "From", type_ = "string", json_path = ".spec.fromLane"),
    printcolumn(name = "To", type_ = "string", json_path = ".spec.toLane"),
    printcolumn(name = "Artifact", type_ = "string", json_path = ".status.artifact"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Gate",
        type_ = "string",
        json_path = ".status.waitingOn",
        description = "The first gate that did not allow the promotion"
    ),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = immutable_rule(PROMOTION_IMMUTABLE_MESSAGE),
    validation = Rule::new("has(self.fromLane) || has(self.artifactRef)")
        .message("set fromLane (promote what that lane runs) or artifactRef (roll back to a recorded artifact)"),
    validation = Rule::new("!has(self.fromLane) || self.fromLane != self.toLane")
        .message("fromLane and toLane must be different lanes")
)]
pub struct PromotionSpec {
    /// The Product both lanes belong to.
    pub product_ref: LocalObjectRef,
    /// Name of the Lane object to promote from, e.g. `shop-testing`; its inventory must hold
    /// the artifact. Absent for a rollback (then `artifactRef` is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub from_lane: Option<String>,
    /// Name of the Lane object to deploy to, e.g. `shop-prod`.
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub to_lane: String,
    /// The Artifact to deploy. Absent: whatever `fromLane` runs now. Set without `fromLane` to
    /// roll `toLane` back to an artifact it ran before (it must have a DeploymentRecord).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_ref: Option<LocalObjectRef>,
    /// Why the promotion is made, for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = TEXT_MAX_LEN))]
    pub reason: Option<String>,
}

/// The phase of a promotion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PromotionPhase {
    /// Waiting: behind another Promotion of the same lane, or a gate deferred it (it says
    /// until when).
    #[default]
    Pending,
    /// A gate denied it; nothing was deployed. Looked at again when what the gate needs
    /// changes (a BackupGate, an Approval, the source lane).
    Blocked,
    /// The gates allowed it; the destination lane is deploying the artifact.
    Deploying,
    /// Deployed and verified in the destination lane (its runtime identity echoes the artifact).
    Succeeded,
    /// The deploy or its verification failed; the destination's inventory stayed where it was.
    Failed,
}

impl PromotionPhase {
    /// Succeeded and Failed are final.
    pub fn is_final(self) -> bool {
        matches!(self, PromotionPhase::Succeeded | PromotionPhase::Failed)
    }
}

/// The gates and outcome of a promotion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The promotion's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Ready` (True once Succeeded), `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// `Pending`, `Blocked`, `Deploying`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub phase: Option<PromotionPhase>,
    /// The Artifact resolved for the promotion (fixed once it deploys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Every gate's last answer, in the order they are asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub gates: Vec<GateResult>,
    /// The first gate that did not allow the promotion (or the Promotion it waits behind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    /// The BackupGate the promotion used (each authorizes one Promotion only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_gate: Option<String>,
    /// The DeploymentRecord of the promotion's deploy (absent when the destination already ran
    /// and verified the artifact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_record: Option<String>,
    /// What was released, once Succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_tuple: Option<ReleaseTuple>,
    /// When the gates allowed it (the deploy began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the promotion finished (Succeeded, Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
}

/// A gate's answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum GateOutcome {
    /// The gate lets the promotion go.
    Allow,
    /// It does not, until what it needs changes.
    Deny,
    /// Not yet: ask again at `retryAt`.
    #[default]
    Defer,
}

/// The result of one promotion gate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateResult {
    /// The gate: `SourceVerified`, `Soak`, `BackupGate`, `Window`, `Approval`, `RollbackTarget`,
    /// `Hold`.
    pub name: String,
    /// `Allow`, `Deny` or `Defer`.
    pub outcome: GateOutcome,
    /// The evidence, in a sentence.
    pub message: String,
    /// When a deferred gate is asked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Time>,
}

/// What a Succeeded Promotion released into its lane.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseTuple {
    /// `rt-` and a hash of product, lane stage and artifact (as in the runtime identity).
    pub id: String,
    /// The Product released.
    pub product: String,
    /// The Lane released into.
    pub lane: String,
    /// The Artifact released.
    pub artifact: String,
    /// `repository@sha256:...`.
    pub image: String,
    /// The product repository's commit.
    pub source_commit: String,
    /// The other repositories' commits, `repository@commit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_repos: Vec<String>,
    /// The DeploymentRecord that deployed it; absent when the lane already ran and verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_record: Option<String>,
    /// The Promotion that released it.
    pub promotion: String,
    /// The BackupGate the Promotion took, where the lane requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_gate: Option<String>,
}
