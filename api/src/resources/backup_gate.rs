//! BackupGate: evidence that a destination lane was backed up, required by promotions into
//! lanes that ask for it. The spec is immutable.

use super::common::{HTTP_URL_PATTERN, LocalObjectRef, URL_MAX_LEN, immutable_rule, keep_field_description};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The message of the immutability rule on BackupGate's spec.
pub const BACKUP_GATE_IMMUTABLE_MESSAGE: &str = "spec is immutable: create a new BackupGate instead";

/// Backup evidence for a destination lane: written by the workflow that took the backup (with
/// its result), or, with `capture`, taken by the controller itself by running the lane's backup
/// command (the Odoo driver's `spec.odoo.backup`). A promotion into a lane with
/// `promotion.requireBackupGate` needs a Passed BackupGate taken after the lane's last deploy
/// and within `backupMaxAge`; each BackupGate authorizes one Promotion only. No secret belongs
/// in it.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "BackupGate",
    namespaced,
    status = "BackupGateStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpbg",
    category = "launchplane",
    doc = "Backup evidence for a destination lane, written by a workflow or captured by the controller (spec immutable).",
    printcolumn(name = "Lane", type_ = "string", json_path = ".spec.laneRef.name"),
    printcolumn(name = "Backup", type_ = "string", json_path = ".spec.backupId"),
    printcolumn(name = "Taken", type_ = "date", json_path = ".spec.takenAt"),
    printcolumn(name = "Captured", type_ = "date", json_path = ".status.capture.takenAt"),
    printcolumn(name = "Result", type_ = "string", json_path = ".status.result"),
    printcolumn(name = "Used By", type_ = "string", json_path = ".status.usedBy"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = immutable_rule(BACKUP_GATE_IMMUTABLE_MESSAGE))]
#[x_kube(validation = Rule::new("has(self.capture) ? !has(self.backupId) && !has(self.takenAt) && !has(self.location) && !has(self.result) && !has(self.evidence) : has(self.backupId) && has(self.takenAt) && has(self.location) && has(self.result)")
    .message("a BackupGate is either written by a workflow (backupId, takenAt, location and result, no capture) or captured by the controller (capture, and none of backupId, takenAt, location, result, evidence)"))]
pub struct BackupGateSpec {
    /// The Lane the backup protects (the promotion's destination).
    pub lane_ref: LocalObjectRef,
    /// Take the backup now: the controller runs the lane's backup command (its Product's
    /// `spec.odoo.backup`) and writes the evidence to status. Exclusive with the workflow fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<BackupCapture>,
    /// The backup's id in the backup system (workflow gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub backup_id: Option<String>,
    /// When the backup was taken (RFC 3339, e.g. `2026-11-20T03:00:00Z`; workflow gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Time>,
    /// Where the backup is stored, e.g. `s3://acme-backups/shop/prod/2026-11-20.dump`
    /// (workflow gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub location: Option<String>,
    /// Evidence that the backup is usable. Absent: only the fact that it was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<BackupEvidence>,
    /// What the workflow that took the backup concluded: `Passed` or `Failed` (workflow gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<BackupResult>,
}

impl Default for BackupGateSpec {
    /// An empty workflow gate (a fixture, not a valid gate).
    fn default() -> Self {
        BackupGateSpec {
            lane_ref: LocalObjectRef::default(),
            capture: None,
            backup_id: None,
            taken_at: None,
            location: None,
            evidence: None,
            result: None,
        }
    }
}

/// How the controller captures a backup for a gate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCapture {
    /// Whether to stop the compose's web service while capturing, instead of the Product's
    /// `spec.odoo.backup.stopWeb`. Only the web service's containers are stopped, and they are
    /// started again whatever happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_web: Option<bool>,
}

/// Evidence that a backup is usable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupEvidence {
    /// Size of the backup in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub size_bytes: Option<i64>,
    /// Checksum of the backup, e.g. `sha256:` and 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 135))]
    pub checksum: Option<String>,
    /// Whether a test restore of the backup succeeded. Default false.
    #[serde(default)]
    pub restore_verified: bool,
    /// Web URL of the backup job or its log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub url: Option<String>,
}

/// The outcome of a backup gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum BackupResult {
    /// The evidence is acceptable.
    Passed,
    /// It is not (e.g. the backup is older than required or a restore failed).
    #[default]
    Failed,
}

/// Whether the gate passed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupGateStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The gate's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// `Passed` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub result: Option<BackupResult>,
    /// Why, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The Promotion that consumed the gate, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    /// When the gate was last evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<Time>,
    /// A captured gate's capture: the run of the backup command, whether (and when) the
    /// controller stopped and started the web containers, and the evidence the command reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureStatus>,
}

/// What the controller did to capture a backup (no secret: the command's output is not kept,
/// only the evidence it reported on its last line).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptureStatus {
    /// The compose service the command ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The run of the backup command (a Dokploy schedule Launchplane owns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<super::odoo::CommandRun>,
    /// The ids of the web service's containers the controller stops for the capture, written
    /// before the first `docker.stopContainer`. Set and `webStartedAt` absent: they are started
    /// again before anything else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub web_containers: Vec<String>,
    /// When the web service's containers were all stopped (none was running: when that was
    /// seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_stopped_at: Option<Time>,
    /// When the controller started the web containers it stopped again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_started_at: Option<Time>,
    /// When the backup was taken (its command ended successfully).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Time>,
    /// Where the command said it wrote the backup (`path` on its last output line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The size in bytes the command reported (`sizeBytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// The checksum the command reported (`checksum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}
