//! DeploymentRecord: one deploy attempt, written before the provider is touched and kept as
//! append-only evidence. The spec is immutable.

use super::common::{IdentityFields, LocalObjectRef, immutable_rule, keep_field_description};
use super::verification::VerificationCheck;
use crate::identity::{ClassificationReason, RuntimeIdentityPayload};
use crate::verdict::{FieldMismatch, Verdict};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The message of the immutability rule on DeploymentRecord's spec.
pub const DEPLOYMENT_RECORD_IMMUTABLE_MESSAGE: &str =
    "spec is immutable: create a new DeploymentRecord instead";

/// One deploy attempt: which lane or preview, which artifact, which target, and the identity
/// the deploy should leave behind. Written by the controller before it calls the provider, or
/// by an external workflow as evidence of a deploy it made.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "DeploymentRecord",
    namespaced,
    status = "DeploymentRecordStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpdr",
    category = "launchplane",
    doc = "One deploy attempt (append-only, spec immutable): lane or preview, artifact, target, expected identity.",
    printcolumn(name = "Lane", type_ = "string", json_path = ".spec.laneRef.name"),
    printcolumn(
        name = "Preview",
        type_ = "string",
        json_path = ".spec.previewRef.name",
        priority = 1
    ),
    printcolumn(name = "Artifact", type_ = "string", json_path = ".spec.artifactRef.name"),
    printcolumn(name = "Origin", type_ = "string", json_path = ".spec.origin", priority = 1),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = immutable_rule(DEPLOYMENT_RECORD_IMMUTABLE_MESSAGE),
    validation = Rule::new("has(self.laneRef) != has(self.previewRef)")
        .message("set exactly one of laneRef (a stable lane) or previewRef (a pull-request preview)")
)]
pub struct DeploymentRecordSpec {
    /// The Lane deployed to. Exactly one of `laneRef` and `previewRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane_ref: Option<LocalObjectRef>,
    /// The Preview deployed to. Exactly one of `laneRef` and `previewRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_ref: Option<LocalObjectRef>,
    /// The Artifact deployed.
    pub artifact_ref: LocalObjectRef,
    /// The Promotion this deploy carries out, when one does (its lane is fed by promotions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_ref: Option<LocalObjectRef>,
    /// The ProviderTarget deployed to.
    pub target_ref: LocalObjectRef,
    /// The runtime identity the deploy injects and expects to read back.
    #[serde(default)]
    pub expected_identity: IdentityFields,
    /// Who made the deploy: `Controller` (the default) or `External` (a workflow that reports
    /// a deploy it made itself).
    #[serde(default)]
    pub origin: DeploymentOrigin,
    /// Who or what asked for the deploy, e.g. `promotion/shop-prod-42` or
    /// `github-actions/run/123`. Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub requested_by: Option<String>,
    /// The Lane's `metadata.generation` the controller planned this record from (set on the
    /// records it writes; optional, absent on records from elsewhere). A lane whose generation
    /// is newer than its current record's changed its spec: differences in env or image are
    /// then deployed through a new record whatever `driftPolicy` says. When the generations are
    /// equal, a difference is out-of-band drift, handled by `driftPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub lane_generation: Option<i64>,
}

/// Who made a deploy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeploymentOrigin {
    /// The Launchplane controller.
    #[default]
    Controller,
    /// An external workflow, reporting evidence.
    External,
}

/// The phase of a deploy attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeploymentPhase {
    /// Recorded; the provider has not been asked yet.
    #[default]
    Pending,
    /// The provider is deploying.
    Deploying,
    /// Deployed; health and identity are being verified.
    Verifying,
    /// Deployed and verified.
    Succeeded,
    /// The deploy or a required verification failed.
    Failed,
}

/// The evidence of one deploy attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecordStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The attempt's verdict: Matched when deployed and verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Deployed`, `Healthy`, `RuntimeIdentityVerified`, `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// `Pending`, `Deploying`, `Verifying`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub phase: Option<DeploymentPhase>,
    /// What the provider reported about the deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployEvidence>,
    /// Steps after the deploy (env sync, restarts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_deploy: Option<StepEvidence>,
    /// Health checks after the deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health: Vec<HealthEvidence>,
    /// The runtime identity read back after the deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityEvidence>,
    /// Verification of the deploy (health and identity): when it started, when it ended and
    /// its verdict. Also used for records given as external evidence, which are only verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<StepEvidence>,
    /// The driver's verification checks, each with its own result (driver `odoo`: health,
    /// canonicalUrl, logo, runtimeIdentity); empty for `generic-web`. The attempt succeeds only
    /// when every required one passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<VerificationCheck>,
    /// Data bootstrap (e.g. an Odoo database), kept apart from the deploy itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<StepEvidence>,
    /// The driver's post-deploy command (Odoo: `spec.odoo.postDeploy`), run after the deploy
    /// finished and before verification; a Failed one fails the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_deploy_command: Option<super::odoo::CommandRun>,
}

/// The provider's account of a deploy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployEvidence {
    /// The provider's deployment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_deployment_id: Option<String>,
    /// The provider's title of the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The provider's status of the deployment, e.g. `running`, `done`, `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When Launchplane sent the deploy (its own clock, which every other time it compares
    /// this with is read on too; for records given as evidence, when their author says the
    /// deploy started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// When the deploy was sent a second time, because no deployment with its title had appeared
    /// and Dokploy showed no deploy under way or queued for the target (a controller stopped
    /// between recording the deploy and sending it). A deploy is re-sent at most once per
    /// record: this field is written before the second send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resent_at: Option<Time>,
}

/// The outcome of one step of an attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepEvidence {
    /// The step's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// What happened, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the step started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

/// The result of one health check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthEvidence {
    /// The URL checked, or `provider` for a provider-status check.
    pub target: String,
    /// The check's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// The HTTP status answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i32>,
    /// What happened, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Time>,
}

/// The runtime identity read back after a deploy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityEvidence {
    /// The identity verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// The classification (`Matched`, `Mismatch`, `Malformed`, `Missing`, `Unreachable`,
    /// `Unchecked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub reason: Option<ClassificationReason>,
    /// The identity served (non-secret by contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<RuntimeIdentityPayload>,
    /// Fields that differ from the expectation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
    /// When the identity was probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed_at: Option<Time>,
}
