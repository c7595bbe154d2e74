//! Incident: a resource of a product that stayed wrong. Written by the controller only: one
//! Incident per (product, lane or preview, check or aspect), named deterministically, opened
//! when the failure outlasts the Product's `incidents.openAfter`, resolved when the resource
//! has been Matched for `incidents.resolveAfter`, reopened as a new occurrence if it fails
//! again. Its transitions (bounded history) are what notifications will route on; its
//! `deliveries` list is where each notification attempt will be recorded.

use super::common::{NAME_MAX_LEN, TEXT_MAX_LEN, immutable_rule, keep_field_description};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The message of the immutability rule on Incident's spec.
pub const INCIDENT_IMMUTABLE_MESSAGE: &str =
    "spec is immutable: Incidents are written by the controller, which names one per product, lane and check";

/// Longest `spec.check`.
pub const CHECK_MAX_LEN: usize = 512;

/// A resource of a product that stayed wrong for longer than the Product's
/// `incidents.openAfter` (written by the controller; spec immutable).
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Incident",
    namespaced,
    status = "IncidentStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpinc",
    category = "launchplane",
    doc = "A resource of a product that stayed wrong: one per product, lane (or preview) and check, written by the controller.",
    printcolumn(name = "Product", type_ = "string", json_path = ".spec.product"),
    printcolumn(
        name = "Lane",
        type_ = "string",
        json_path = ".spec.lane",
        description = "The Lane or Preview (or the ProviderTarget or RuntimeIdentity no lane covers)"
    ),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.kind", priority = 1),
    printcolumn(name = "Check", type_ = "string", json_path = ".spec.check"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Severity",
        type_ = "string",
        json_path = ".status.severity",
        priority = 1
    ),
    printcolumn(
        name = "Occurrence",
        type_ = "integer",
        json_path = ".status.occurrence",
        priority = 1
    ),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = immutable_rule(INCIDENT_IMMUTABLE_MESSAGE))]
pub struct IncidentSpec {
    /// The Product the failing resource belongs to; empty for a ProviderTarget or
    /// RuntimeIdentity no lane covers.
    #[serde(default)]
    #[schemars(length(max = NAME_MAX_LEN))]
    pub product: String,
    /// The kind of the failing resource: `Lane`, `Preview`, `ProviderTarget` or
    /// `RuntimeIdentity`.
    pub kind: IncidentSubjectKind,
    /// The name of the failing resource: the Lane or Preview (or the ProviderTarget or
    /// RuntimeIdentity).
    #[schemars(length(min = 1, max = NAME_MAX_LEN))]
    pub lane: String,
    /// What failed: an aspect condition of the resource (`Deployed`, `ConfigSynced`,
    /// `TargetVerified`, `RuntimeIdentityVerified`), or one health check
    /// (`health provider`, `health publicHttp /healthz`, ...).
    #[schemars(length(min = 1, max = CHECK_MAX_LEN))]
    pub check: String,
}

/// The kinds whose verdicts open incidents.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum IncidentSubjectKind {
    #[default]
    Lane,
    Preview,
    ProviderTarget,
    RuntimeIdentity,
}

impl IncidentSubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lane => "Lane",
            Self::Preview => "Preview",
            Self::ProviderTarget => "ProviderTarget",
            Self::RuntimeIdentity => "RuntimeIdentity",
        }
    }
}

/// Where an incident stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum IncidentState {
    /// The resource is not Matched, for less than `openAfter` so far: not an incident yet.
    #[default]
    Pending,
    /// The resource has not been Matched for `openAfter` (or longer), and not yet Matched
    /// again for `resolveAfter`.
    Open,
    /// The resource has been Matched for `resolveAfter` since the incident opened.
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Open => "Open",
            Self::Resolved => "Resolved",
        }
    }
}

/// How bad an incident is: `critical` when the resource was proven wrong (Mismatch or Missing),
/// `warning` when it could not be compared (Unverifiable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum IncidentSeverity {
    #[default]
    Warning,
    Critical,
}

impl IncidentSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// What happened to an incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum IncidentTransitionType {
    /// Opened for the first time.
    #[default]
    Opened,
    /// Opened again after it was resolved: a new occurrence.
    Reopened,
    /// Still open, with another failing verdict.
    VerdictChanged,
    /// Resolved: Matched for `resolveAfter`, or the check was removed.
    Resolved,
}

/// One transition of an incident; notifications route on these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentTransition {
    /// Numbers every transition of the incident, from 1, never reused (the history is cut
    /// to `historyLimit`, the numbering is not): deliveries name the transition they carry.
    pub sequence: i64,
    /// `Opened`, `Reopened`, `VerdictChanged` or `Resolved`.
    #[serde(rename = "type")]
    pub type_: IncidentTransitionType,
    /// When it happened.
    pub time: Time,
    /// The occurrence it belongs to.
    pub occurrence: i32,
    /// The resource's verdict then.
    #[schemars(transform = keep_field_description)]
    pub verdict: Verdict,
    /// The evidence then (the condition's message; never a secret).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = TEXT_MAX_LEN))]
    pub message: String,
}

/// One attempt to deliver a notification of a transition (or a reminder) to one destination
/// of a NotificationPolicy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDelivery {
    /// The destination: `<NotificationPolicy>/<destination name>`.
    #[schemars(length(min = 1, max = NAME_MAX_LEN))]
    pub destination: String,
    /// The `sequence` of the transition delivered.
    pub transition: i64,
    /// The reminder's number (from 1) when this is a reminder that the incident is still
    /// open rather than the transition itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<i32>,
    /// The attempt's number for this destination and transition, from 1.
    pub attempt: i32,
    /// `Intended` (written before sending), `Delivered`, `Retrying` (not delivered; another
    /// attempt follows at `retryTime`), `Failed` (not delivered; given up) or `Unknown` (the
    /// send was interrupted and the destination cannot tell whether it delivered).
    #[schemars(length(min = 1, max = 32))]
    pub outcome: String,
    /// When the next attempt is due (a `Retrying` outcome): the backoff, or later when the
    /// destination asked to wait longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_time: Option<Time>,
    /// When the attempt was made.
    pub time: Time,
    /// The destination's id of what was sent (an issue number, a message id), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = NAME_MAX_LEN))]
    pub remote_id: Option<String>,
    /// Why it failed (never a credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = TEXT_MAX_LEN))]
    pub message: Option<String>,
}

/// Where the incident stands and how it got there.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Pending`, `Open` or `Resolved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub state: Option<IncidentState>,
    /// `critical` (the worst verdict of the occurrence is Mismatch or Missing) or `warning`
    /// (Unverifiable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub severity: Option<IncidentSeverity>,
    /// How many times the incident opened (0 while the first one is Pending).
    #[serde(default)]
    pub occurrence: i32,
    /// The resource's verdict for the check as last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// The worst verdict of the current (or last) occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub worst_verdict: Option<Verdict>,
    /// The evidence: the message of the resource's condition (or health check) when it was
    /// last seen failing. Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = TEXT_MAX_LEN))]
    pub message: Option<String>,
    /// Since when the resource has not been Matched, while it is not (the `openAfter` clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<Time>,
    /// Since when the resource has been Matched again, while the incident is Open (the
    /// `resolveAfter` clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_since: Option<Time>,
    /// When the failure of the current (or last) occurrence was first seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen_time: Option<Time>,
    /// When the resource was last seen not Matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_time: Option<Time>,
    /// When the current (or last) occurrence opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_time: Option<Time>,
    /// When the last occurrence resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_time: Option<Time>,
    /// The last `historyLimit` transitions, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<IncidentTransition>,
    /// Notification attempts, one entry each, the last few per destination (see
    /// NotificationPolicy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<IncidentDelivery>,
    /// Conditions: `Resolved` (True once resolved, False while open, Unknown while pending:
    /// the one `kubectl wait` is meant for) and `Ready` (the same status, for tools that read
    /// Ready only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
