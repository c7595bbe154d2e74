//! DataBootstrap: one destructive load of data into a lane (restore a dataset or dump, then
//! post-deploy, then verification). One operation per object: the spec is immutable, and a
//! DataBootstrap that finished never runs again. Its provenance is its own: it never writes a
//! DeploymentRecord and never claims that an artifact was deployed; the Lane's `bootstrap`
//! summary names it instead.

use super::common::{
    LocalObjectRef, NAME_MAX_LEN, TEXT_MAX_LEN, immutable_rule, keep_field_description, pattern_rule,
};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The message of the immutability rule on DataBootstrap's spec.
pub const DATA_BOOTSTRAP_IMMUTABLE_MESSAGE: &str =
    "spec is immutable: a DataBootstrap runs once; create a new DataBootstrap instead";

/// The message of the rule that requires `confirmDestructive: true`.
pub const CONFIRM_DESTRUCTIVE_MESSAGE: &str = "spec.confirmDestructive must be true: a data bootstrap \
     replaces the lane's data; set confirmDestructive: true to confirm that it may";

/// A sha256 digest of the source: 64 lowercase hex digits.
pub const SOURCE_SHA256_PATTERN: &str = r"^[0-9a-f]{64}$";

/// Longest bootstrap command.
pub const BOOTSTRAP_COMMAND_MAX_LEN: usize = 4096;

/// One destructive data bootstrap of a lane: run the bootstrap command, then the post-deploy
/// command, then the verification (spec immutable; one operation per object).
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "DataBootstrap",
    namespaced,
    status = "DataBootstrapStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpboot",
    category = "launchplane",
    doc = "One destructive data bootstrap of a lane: bootstrap command, post-deploy, verification (spec immutable; runs once).",
    printcolumn(name = "Lane", type_ = "string", json_path = ".spec.laneRef.name"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.readiness.result",
        description = "Overall readiness: Passed only when the bootstrap, post-deploy and every required check passed"
    ),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = immutable_rule(DATA_BOOTSTRAP_IMMUTABLE_MESSAGE),
    validation = Rule::new("has(self.confirmDestructive) && self.confirmDestructive == true")
        .message(CONFIRM_DESTRUCTIVE_MESSAGE)
)]
pub struct DataBootstrapSpec {
    /// The Lane whose data is replaced (its ProviderTarget must be a compose target).
    pub lane_ref: LocalObjectRef,
    /// The data to load: what the bootstrap command restores.
    pub source: BootstrapSource,
    /// The bootstrap command, run once in the compose's web service as a Dokploy schedule.
    /// Absent: the Product's. Never put a secret in it: pass secrets through the lane's env
    /// (Secret references), which the command reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = BOOTSTRAP_COMMAND_MAX_LEN))]
    pub command: Option<String>,
    /// Must be `true`: the bootstrap replaces the lane's data, and says so here on purpose.
    /// Default false (refused).
    #[serde(default)]
    pub confirm_destructive: bool,
    /// The BackupGate (of this lane) taken before the bootstrap. Required in effect unless the
    /// lane has never been bootstrapped; absent: the newest usable Passed BackupGate of the lane
    /// is taken. Each BackupGate authorizes one operation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_gate_ref: Option<LocalObjectRef>,
}

/// The data a bootstrap loads. No secret belongs here: a URL with credentials is refused by
/// the controller, and the value is shown in status and events.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapSource {
    /// A named dataset or dump the bootstrap command knows how to fetch, as free text, e.g.
    /// `demo-2026-11` or `s3://acme-data/shop/2026-11-20.dump`.
    #[schemars(length(min = 1, max = TEXT_MAX_LEN))]
    pub dataset: String,
    /// The source's sha256 digest (64 lowercase hex digits), when the command checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 64, max = 64), regex(pattern = SOURCE_SHA256_PATTERN))]
    #[x_kube(validation = pattern_rule(SOURCE_SHA256_PATTERN, "source.sha256 must be 64 lowercase hex digits (the digest alone, without a sha256: prefix)"))]
    pub sha256: Option<String>,
}

/// Where a data bootstrap stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum BootstrapPhase {
    /// Not started: admission not decided yet, or waiting (it says for what).
    #[default]
    Pending,
    /// Admission refused it (no confirmation, no usable BackupGate, another operation on the
    /// lane); looked at again when what it needs changes. Nothing ran.
    Blocked,
    /// The bootstrap command runs (the intent is recorded before it is sent).
    Bootstrapping,
    /// The bootstrap succeeded; the post-deploy command runs.
    PostDeploying,
    /// Post-deploy succeeded; the checks run until they pass or their time is up.
    Verifying,
    /// Bootstrapped, post-deployed and verified. Final.
    Succeeded,
    /// A step failed, or it never started. Final: nothing runs again.
    Failed,
    /// A run's answer was lost (timeout, lost connection, a restart) while Dokploy's schedule
    /// may still run; settled by the schedule's deployment history.
    Unknown,
}

impl BootstrapPhase {
    /// Succeeded and Failed are final.
    pub fn is_final(self) -> bool {
        matches!(self, BootstrapPhase::Succeeded | BootstrapPhase::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Blocked => "Blocked",
            Self::Bootstrapping => "Bootstrapping",
            Self::PostDeploying => "PostDeploying",
            Self::Verifying => "Verifying",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Unknown => "Unknown",
        }
    }
}

/// The result of one step or check of a bootstrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StepOutcome {
    Passed,
    Failed,
    /// Not known (yet): running, its answer lost, or it could not be checked.
    #[default]
    Unknown,
    /// Not run: not required, or an earlier step failed.
    Skipped,
}

/// One step or check of a bootstrap, with its evidence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapStepResult {
    /// `Passed`, `Failed`, `Unknown` or `Skipped`.
    pub result: StepOutcome,
    /// The evidence, in a sentence (never a secret, never the command line).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = TEXT_MAX_LEN))]
    pub message: String,
    /// When the result was recorded (for a run: when it was sent, then when it ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// Dokploy's deployment id of the schedule run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = NAME_MAX_LEN))]
    pub deployment_id: Option<String>,
}

/// What a bootstrap did to its lane: the four outcomes of the inventory rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum BootstrapOutcome {
    /// Bootstrapped, post-deployed and verified: the lane records the bootstrap.
    Bootstrapped,
    /// The bootstrap ran but post-deploy or verification did not pass: partially bootstrapped;
    /// the lane's inventory keeps its deployment pointer.
    VerificationFailed,
    /// Failed before anything was mutated (refused, or provably never started): nothing moves.
    NotStarted,
    /// The bootstrap command ran and failed: the lane's data may be partly replaced.
    Failed,
    /// Running, or its answer was lost while the schedule may still run: the lane's inventory
    /// is stale until the schedule's history settles it.
    Unknown,
}

/// The steps and checks of a bootstrap, and what it did to its lane.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataBootstrapStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The bootstrap's verdict: Matched once Succeeded, Mismatch when Blocked or Failed,
    /// Unverifiable while Unknown, Unchecked while under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Ready` (True once Succeeded; its reason says why not), `Reconciling`,
    /// `Stalled` (its reason is why it is Blocked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// `Pending`, `Blocked`, `Bootstrapping`, `PostDeploying`, `Verifying`, `Succeeded`,
    /// `Failed` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub phase: Option<BootstrapPhase>,
    /// What it did to its lane, once it started: `Bootstrapped`, `VerificationFailed`,
    /// `NotStarted`, `Failed` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub outcome: Option<BootstrapOutcome>,
    /// Why it stands where it stands, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = TEXT_MAX_LEN))]
    pub message: Option<String>,
    /// The BackupGate it took (fixed when the bootstrap starts); absent when the lane had never
    /// been bootstrapped and none was required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_gate: Option<String>,
    /// Whether the lane had never been bootstrapped when this one was admitted (so no
    /// BackupGate was required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bootstrap: Option<bool>,
    /// The Dokploy schedule the bootstrap command runs as (created for this DataBootstrap and
    /// carrying Launchplane's ownership marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = NAME_MAX_LEN))]
    pub schedule_id: Option<String>,
    /// The bootstrap command's run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_run: Option<BootstrapStepResult>,
    /// The post-deploy command's run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_deploy: Option<BootstrapStepResult>,
    /// The health check (Odoo: `/web/health`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<BootstrapStepResult>,
    /// The canonical URL check: the public base URL answers from the expected host without
    /// redirecting elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_url: Option<BootstrapStepResult>,
    /// The logo check: the company logo route answers an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<BootstrapStepResult>,
    /// The runtime identity check: the app still echoes the lane's deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_identity: Option<BootstrapStepResult>,
    /// Overall readiness: Passed only when the bootstrap, post-deploy and every required check
    /// passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<BootstrapStepResult>,
    /// When the bootstrap was admitted and its intent recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When it finished (Succeeded, Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
}

/// What the lane's data came from last, as its DataBootstraps tell (never a deploy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LaneBootstrapState {
    /// Never bootstrapped by Launchplane.
    #[default]
    None,
    /// The last bootstrap ran, post-deployed and verified.
    Bootstrapped,
    /// The last bootstrap ran, but post-deploy or verification did not pass: partially
    /// bootstrapped.
    VerificationFailed,
    /// The last bootstrap's command ran and failed: the data may be partly replaced.
    Failed,
    /// The last bootstrap runs, or its answer was lost: not known until its schedule's
    /// history settles it.
    Unknown,
}

/// The lane's data-bootstrap provenance, apart from its deploys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneBootstrap {
    /// `None`, `Bootstrapped`, `VerificationFailed`, `Failed` or `Unknown`.
    #[serde(default)]
    pub state: LaneBootstrapState,
    /// The DataBootstrap that set the state (absent while `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// When that DataBootstrap started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
    /// True while a bootstrap's outcome is Unknown: the lane's data may have changed under its
    /// inventory, which no longer speaks for what runs until the schedule's history settles it.
    #[serde(default)]
    pub inventory_stale: bool,
    /// Why, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
