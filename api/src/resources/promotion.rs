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
    /// Not evaluated yet.
    #[default]
    Pending,
    /// A gate has not passed; nothing was deployed.
    Blocked,
    /// The gates passed; the deploy is running.
    Deploying,
    /// Deployed and verified in the destination lane.
    Succeeded,
    /// The deploy or its verification failed.
    Failed,
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
    /// Conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// `Pending`, `Blocked`, `Deploying`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub phase: Option<PromotionPhase>,
    /// The Artifact resolved for the promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The result of each gate (source inventory, backup gate, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateResult>,
    /// The DeploymentRecord of the promotion's deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_record: Option<String>,
    /// When the promotion finished (Succeeded, Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
}

/// The result of one promotion gate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateResult {
    /// The gate, e.g. `SourceInventory`, `BackupGate`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why, in a sentence (e.g. the BackupGate used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
