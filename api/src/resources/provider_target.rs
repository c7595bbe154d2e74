//! ProviderTarget: the explicit identity of one Dokploy application or compose service, and
//! the execution facts it is expected to have.

use super::common::{
    DNS1123_LABEL_MAX_LEN, DNS1123_LABEL_PATTERN, DNS1123_SUBDOMAIN_PATTERN, HOSTNAME_MAX_LEN,
    LocalObjectRef, NAME_MAX_LEN, keep_field_description,
};
use crate::verdict::{FieldMismatch, Verdict};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One target on a provider (a Dokploy application or compose service), bound by id.
/// Without `targetId` it is adopted by `displayName`, but only if exactly one target has that
/// name; the bound id is then kept in `status.boundTargetId`.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "ProviderTarget",
    namespaced,
    status = "ProviderTargetStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpt",
    category = "launchplane",
    doc = "One provider target (Dokploy application or compose service) bound by id, with its expected facts.",
    printcolumn(
        name = "Provider",
        type_ = "string",
        json_path = ".spec.providerConfigRef.name",
        priority = 1
    ),
    printcolumn(name = "Category", type_ = "string", json_path = ".spec.targetCategory"),
    printcolumn(name = "Display Name", type_ = "string", json_path = ".spec.displayName"),
    printcolumn(
        name = "Target ID",
        type_ = "string",
        json_path = ".status.boundTargetId",
        description = "The provider id this resource is bound to"
    ),
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.managementPolicy"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTargetSpec {
    /// The ProviderConfig (Dokploy instance) that hosts the target.
    pub provider_config_ref: LocalObjectRef,
    /// Whether the target is a Dokploy `application` or a `compose` service.
    pub target_category: TargetCategory,
    /// The provider's id of the target (Dokploy `applicationId` / `composeId`). Absent: adopt
    /// the one target whose name equals `displayName` (none is Missing, several is Mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub target_id: Option<String>,
    /// The name the target is expected to have in Dokploy. Names are not unique there, so this
    /// is compared, never used to bind once an id is known.
    #[schemars(length(min = 1, max = NAME_MAX_LEN))]
    pub display_name: String,
    /// Where the target's workload comes from, as Dokploy's `sourceType` names it: for an
    /// application `docker` (deployed from an image), `github`, `git`, `gitlab`, `bitbucket`,
    /// `gitea` or `drop`; for a compose service `raw`, `git`, `github`, …. Absent: not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub provider_target_type: Option<String>,
    /// Name of the Dokploy project the target is expected in. Absent: not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub project: Option<String>,
    /// Name of the Dokploy environment (within the project) the target is expected in.
    /// Absent: not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub environment: Option<String>,
    /// Host names the target is expected to serve, e.g. `shop.example.com`. Compared as a set.
    /// Empty (the default): domains are not compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        inner(length(min = 1, max = HOSTNAME_MAX_LEN), regex(pattern = DNS1123_SUBDOMAIN_PATTERN)),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub domains: Vec<String>,
    /// `Observe` (the default): only compare and report; the target is never changed.
    /// `Manage`: Launchplane may deploy to the target and write its own env keys.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

/// The kind of Dokploy target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetCategory {
    /// A Dokploy application.
    #[default]
    Application,
    /// A Dokploy compose service.
    Compose,
}

impl TargetCategory {
    /// The wire name (`application` / `compose`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetCategory::Application => "application",
            TargetCategory::Compose => "compose",
        }
    }
}

/// What Launchplane may do to a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ManagementPolicy {
    /// Compare and report only; never mutate the target.
    #[default]
    Observe,
    /// Deploy to the target and keep Launchplane's env keys on it.
    Manage,
}

/// What the controller observed of the target and how it compares.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTargetStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The target verdict: Matched, Mismatch (drift, ambiguity, conflict), Missing, Unverifiable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Machine-readable reason of the verdict, e.g. `Drifted`, `Ambiguous`, `Conflict`,
    /// `TargetNotFound`, `ProviderUnreachable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable explanation of the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Conditions: `TargetVerified`, `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The provider id the resource is bound to (from `spec.targetId` or by adoption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_target_id: Option<String>,
    /// The target as last observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<TargetObservation>,
    /// Fields whose observed value differs from the expected one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
    /// When the observation behind this status was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_observed_time: Option<Time>,
    /// When the first Dokploy listing that lacked the bound target was made. A target an
    /// earlier listing showed is `Unverifiable` (reason `AbsenceUnconfirmed`) while only one
    /// listing lacks it, and `Missing` once a later listing lacks it too: a listing can be
    /// partial. Cleared when a listing shows the target again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_absent_time: Option<Time>,
}

/// A provider target as observed. Env values are never recorded, only key names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetObservation {
    /// The provider's id of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// The target's name in the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `application` or `compose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The provider's source type of the target, e.g. `docker`, `github`, `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub target_type: Option<String>,
    /// The provider's status of the target, e.g. `done`, `running`, `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The Dokploy project the target is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The Dokploy environment the target is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Host names the target serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Names of the env keys set on the target (values are never read into status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_keys: Vec<String>,
    /// The image the target runs, when it is image-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When the provider last deployed the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deploy_at: Option<Time>,
}
