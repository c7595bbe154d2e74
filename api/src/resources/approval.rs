//! Approval: a person's approval of one Promotion. A lane with `promotion.requireApproval`
//! deploys a Promotion only once an Approval names it. That the approver is who they say is the
//! API server's to prove, not Launchplane's: the Helm chart ships a ValidatingAdmissionPolicy
//! that refuses an Approval whose `spec.approver` is not the user creating it.

use super::common::{LocalObjectRef, TEXT_MAX_LEN, immutable_rule, keep_field_description};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// The message of the immutability rule on Approval's spec.
pub const APPROVAL_IMMUTABLE_MESSAGE: &str = "spec is immutable: create a new Approval instead";

/// A person's approval of a Promotion (spec immutable; the approver is the user who created
/// it, as the chart's admission policy enforces).
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Approval",
    namespaced,
    status = "ApprovalStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpapr",
    category = "launchplane",
    doc = "A person's approval of one Promotion (spec immutable; the approver is the user who created it).",
    printcolumn(name = "Promotion", type_ = "string", json_path = ".spec.promotionRef.name"),
    printcolumn(name = "Approver", type_ = "string", json_path = ".spec.approver"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = immutable_rule(APPROVAL_IMMUTABLE_MESSAGE))]
pub struct ApprovalSpec {
    /// The Promotion approved.
    pub promotion_ref: LocalObjectRef,
    /// The user approving: must be the Kubernetes user creating the Approval (the chart's
    /// ValidatingAdmissionPolicy refuses anything else), e.g. `alice@example.com`.
    #[schemars(length(min = 1, max = 253))]
    pub approver: String,
    /// Why, for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = TEXT_MAX_LEN))]
    pub comment: Option<String>,
}

/// Whether the approval counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Matched when the Promotion it names exists and has not finished; Missing when it does
    /// not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
