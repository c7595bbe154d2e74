//! Lane: a stable lane (testing, prod) of a product — which target it deploys to, which
//! artifact it should run, with what env, and how it is verified.

use super::common::{
    DNS1123_LABEL_MAX_LEN, DNS1123_LABEL_PATTERN, DURATION_MAX_LEN, DURATION_PATTERN, HTTP_URL_PATTERN,
    IdentityFields, IdentitySurface, LocalObjectRef, URL_MAX_LEN, URL_PATH_MAX_LEN, URL_PATH_PATTERN,
    default_surfaces, default_true, keep_field_description,
};
use super::data_bootstrap::LaneBootstrap;
use super::env::LaneEnv;
use super::verification::LaneVerification;
use crate::identity::RuntimeIdentityPayload;
use crate::verdict::{FieldMismatch, Verdict};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A stable lane of a product: the provider target it runs on, the artifact it should run,
/// its runtime env, its health and identity checks, and how drift and promotions are handled.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Lane",
    namespaced,
    status = "LaneStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpl",
    category = "launchplane",
    doc = "A stable lane (testing, prod) of a product: target, desired artifact, env, checks, drift policy, promotion source.",
    printcolumn(name = "Product", type_ = "string", json_path = ".spec.productRef.name"),
    printcolumn(name = "Stage", type_ = "string", json_path = ".spec.stage"),
    printcolumn(
        name = "Desired",
        type_ = "string",
        json_path = ".status.desired.artifact",
        description = "The Artifact the lane should run (spec.artifactRef, or its current Promotion)"
    ),
    printcolumn(
        name = "Promotion",
        type_ = "string",
        json_path = ".status.desired.promotion",
        description = "The Promotion that set the desired Artifact",
        priority = 1
    ),
    printcolumn(
        name = "Current",
        type_ = "string",
        json_path = ".status.inventory.artifact",
        description = "The Artifact the lane runs (inventory)"
    ),
    printcolumn(
        name = "Suspended",
        type_ = "boolean",
        json_path = ".spec.suspend",
        priority = 1
    ),
    printcolumn(
        name = "Hold",
        type_ = "string",
        json_path = ".status.hold.promotion",
        description = "The rollback Promotion holding the lane",
        priority = 1
    ),
    printcolumn(
        name = "Bootstrap",
        type_ = "string",
        json_path = ".status.bootstrap.state",
        description = "The lane's last data bootstrap: None, Bootstrapped, VerificationFailed, Failed or Unknown",
        priority = 1
    ),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.promotion) || !has(self.artifactRef)")
    .message("a lane fed by promotions (spec.promotion) takes its artifact from its Promotions: remove spec.artifactRef, or remove spec.promotion to set the artifact in spec.artifactRef"))]
pub struct LaneSpec {
    /// The Product this lane belongs to.
    pub product_ref: LocalObjectRef,
    /// The lane's stage within the product, e.g. `testing` or `prod` (a DNS-1123 label). It is
    /// the runtime identity's `context`.
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub stage: String,
    /// The ProviderTarget the lane deploys to. It must be Matched before anything is deployed.
    pub target_ref: LocalObjectRef,
    /// The Artifact the lane should run. Absent: nothing is deployed; the lane only observes,
    /// unless `promotion` is set: then its Promotions set the artifact, and `artifactRef` is
    /// refused beside it (a sync from git never undoes a promotion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_ref: Option<LocalObjectRef>,
    /// The runtime environment written to the target (besides Launchplane's own identity keys,
    /// and without touching keys set by others).
    #[serde(default)]
    pub env: LaneEnv,
    /// Checks run after each deploy and on every probe. Empty (the default): no health checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub health_checks: Vec<HealthCheck>,
    /// How the lane's runtime identity is verified. Default: not required, every surface.
    #[serde(default)]
    pub runtime_identity: LaneRuntimeIdentity,
    /// What to do when the target drifts from the desired state: `Report` (the default: set the
    /// verdict to Mismatch) or `Correct` (also restore the desired state; only for `Manage`
    /// targets).
    #[serde(default)]
    pub drift_policy: DriftPolicy,
    /// Where promotions into this lane come from and what they need. Absent: the lane accepts
    /// no Promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<LanePromotion>,
    /// When true, the controller stops deploying and correcting this lane (observation and
    /// status continue). Default false.
    #[serde(default)]
    pub suspend: bool,
    /// Whether the lane may take over a `Manage` target whose Dokploy application builds from
    /// source (sourceType git, github, gitlab, bitbucket, gitea or drop). Deploying an
    /// Artifact switches such an application to sourceType `docker` for good, and its build
    /// settings stop being used; set the ProviderTarget's `providerTargetType` to `docker` (or
    /// leave it out) with it, or the converted target reads as a Mismatch. Default false: the
    /// lane refuses (Stalled, `TargetSourceNotDocker`) and changes nothing on it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_source_conversion: bool,
    /// How many DeploymentRecords of this lane are kept. Default 10, 1-100.
    #[serde(default = "default_history_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub history_limit: i32,
    /// For lanes of an `odoo` Product: overrides of its `spec.odoo` (the post-deploy command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odoo: Option<super::odoo::LaneOdoo>,
}

fn default_history_limit() -> i32 {
    10
}

impl Default for LaneSpec {
    fn default() -> Self {
        LaneSpec {
            product_ref: LocalObjectRef::default(),
            stage: String::new(),
            target_ref: LocalObjectRef::default(),
            artifact_ref: None,
            env: LaneEnv::default(),
            health_checks: Vec::new(),
            runtime_identity: LaneRuntimeIdentity::default(),
            drift_policy: DriftPolicy::default(),
            promotion: None,
            suspend: false,
            allow_source_conversion: false,
            history_limit: default_history_limit(),
            odoo: None,
        }
    }
}

/// One health check.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type == 'provider' ? !has(self.url) && !has(self.path) : has(self.url) != has(self.path)")
    .message("a publicHttp or privateHttp health check needs exactly one of url (absolute) or path (on the lane's domain); a provider check takes neither"))]
pub struct HealthCheck {
    /// `publicHttp` (GET through the public route), `privateHttp` (GET from inside the
    /// provider network) or `provider` (the provider's own status of the target).
    #[serde(rename = "type")]
    pub check_type: HealthCheckType,
    /// Absolute URL to GET, e.g. `https://shop.example.com/healthz`. Exactly one of `url` and
    /// `path` for HTTP checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub url: Option<String>,
    /// Path to GET on the target's first domain, e.g. `/healthz`. Exactly one of `url` and
    /// `path` for HTTP checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_PATH_MAX_LEN), regex(pattern = URL_PATH_PATTERN))]
    pub path: Option<String>,
    /// The HTTP status that counts as healthy. Default 200.
    #[serde(default = "default_expect_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: i32,
    /// Seconds before the check gives up. Default 5, 1-60.
    #[serde(default = "default_check_timeout_seconds")]
    #[schemars(range(min = 1, max = 60))]
    pub timeout_seconds: i32,
    /// Whether a failing check fails the lane (true, the default) or is only reported.
    #[serde(default = "default_true")]
    pub required: bool,
}

fn default_expect_status() -> i32 {
    200
}

fn default_check_timeout_seconds() -> i32 {
    5
}

/// Kinds of health check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HealthCheckType {
    /// GET through the public route.
    #[default]
    PublicHttp,
    /// GET from inside the provider network.
    PrivateHttp,
    /// The provider's own status of the target.
    Provider,
}

/// How a lane's runtime identity is verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneRuntimeIdentity {
    /// When true, a Missing or Unreachable identity fails the lane instead of being advisory.
    /// Default false (the Product's policy can also require it).
    #[serde(default)]
    pub required: bool,
    /// Where the identity is read: `healthJson`, `header`, `wellKnown`. Default all three.
    #[serde(default = "default_surfaces")]
    #[schemars(length(min = 1, max = 3), extend("x-kubernetes-list-type" = "set"))]
    pub surfaces: Vec<IdentitySurface>,
    /// Base URL the lane's app is reached at for identity probes and `path` health checks,
    /// e.g. `https://shop.example.com`. Absent: `https://` and the ProviderTarget's first
    /// expected domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub base_url: Option<String>,
}

impl Default for LaneRuntimeIdentity {
    fn default() -> Self {
        LaneRuntimeIdentity {
            required: false,
            surfaces: default_surfaces(),
            base_url: None,
        }
    }
}

/// What to do about drift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DriftPolicy {
    /// Report drift as a Mismatch; change nothing.
    #[default]
    Report,
    /// Report drift and restore the desired state (Manage targets only).
    Correct,
}

/// Promotion rules of a lane. A lane with them is fed by Promotions: its desired artifact is
/// the one its current Promotion deploys (or last deployed), never a field of its spec.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LanePromotion {
    /// Name of the Lane object artifacts are promoted from, e.g. `shop-testing`. Its
    /// inventory must hold the artifact, and its runtime identity must echo it.
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub source_lane: String,
    /// When true, a promotion needs a Passed BackupGate for this lane, taken after the lane's
    /// last deploy and no older than `backupMaxAge`; each BackupGate authorizes one Promotion.
    /// Default false.
    #[serde(default)]
    pub require_backup_gate: bool,
    /// How old a BackupGate may be, as hours, minutes and seconds, e.g. `24h` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("self.matches('[1-9]')")
        .message("backupMaxAge must be longer than zero, e.g. 24h; leave it out for the default of 24h"))]
    pub backup_max_age: Option<String>,
    /// How long the source lane must have been verified on the artifact before it may be
    /// promoted, as hours, minutes and seconds, e.g. `1h`. Absent: no soak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    // `0s` would read as "no soak" to a person and as a soak to nobody; leave it out instead.
    #[x_kube(validation = Rule::new("self.matches('[1-9]')")
        .message("soak must be longer than zero, e.g. 1h; leave soak out for none"))]
    pub soak: Option<String>,
    /// When promotions may deploy. Absent: any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<PromotionWindow>,
    /// When true, a promotion needs an Approval naming it (the chart's admission policy makes
    /// sure an Approval's approver is the user who created it). Default false.
    #[serde(default)]
    pub require_approval: bool,
    /// When true, a new artifact verified in the source lane is promoted by a Promotion the
    /// controller creates itself (named `<lane>-auto-<artifact>`), through the same gates;
    /// never while the lane is held by a rollback. Default false.
    #[serde(default)]
    pub auto: bool,
    /// How many distinct verified artifacts of this lane stay protected for rollbacks (and in
    /// `launchplane artifacts protected`). Default 3, 1-20.
    #[serde(default = "default_rollback_candidates")]
    #[schemars(range(min = 1, max = 20))]
    pub rollback_candidates: i32,
}

fn default_rollback_candidates() -> i32 {
    3
}

impl Default for LanePromotion {
    fn default() -> Self {
        LanePromotion {
            source_lane: String::new(),
            require_backup_gate: false,
            backup_max_age: None,
            soak: None,
            window: None,
            require_approval: false,
            auto: false,
            rollback_candidates: default_rollback_candidates(),
        }
    }
}

/// When promotions into a lane may deploy: some days of the week, between two hours, in a
/// time zone.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.startHour < self.endHour")
    .message("window.startHour must be before window.endHour, e.g. 9 and 17"))]
pub struct PromotionWindow {
    /// An IANA time zone, e.g. `Europe/Berlin`. Default `UTC`.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// The days promotions may deploy on. Empty (the default): every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 7), extend("x-kubernetes-list-type" = "set"))]
    pub days: Vec<Weekday>,
    /// The first hour (0-23) promotions may deploy in.
    #[schemars(range(min = 0, max = 23))]
    pub start_hour: i32,
    /// The hour (1-24) from which they may not any more.
    #[schemars(range(min = 1, max = 24))]
    pub end_hour: i32,
}

fn default_time_zone() -> String {
    "UTC".into()
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// The artifact a lane should run, and what set it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesiredArtifact {
    /// Name of the Artifact.
    pub artifact: String,
    /// The Promotion that set it; absent when `spec.artifactRef` did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<String>,
}

/// A lane held on a rolled-back artifact: automation never replaces it until a person
/// promotes again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneHold {
    /// The rollback Promotion.
    pub promotion: String,
    /// The artifact it rolled back to.
    pub artifact: String,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

/// What the lane runs and how it compares with what it should run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The artifact the lane should run, and the Promotion that set it (absent: the lane only
    /// observes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<DesiredArtifact>,
    /// Set by a rollback: automatic promotions leave the lane alone until a person promotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<LaneHold>,
    /// The worst verdict of the lane's aspects (target, config, deploy, identity, health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `TargetVerified`, `ConfigSynced`, `Deployed`, `RuntimeIdentityVerified`,
    /// `Healthy`, `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// What the lane runs, as last verified. Advances only when a deploy and its required
    /// verification pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<LaneInventory>,
    /// The release tuple id (product, stage, artifact) of the current inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_tuple: Option<String>,
    /// The identity the running app should serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_identity: Option<IdentityFields>,
    /// The identity the running app served at the last probe (non-secret by contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_identity: Option<RuntimeIdentityPayload>,
    /// Fields that differ between desired and observed state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
    /// The artifacts a rollback may return to, newest first: the last `rollbackCandidates`
    /// distinct artifacts the lane verified (each with a Succeeded DeploymentRecord, kept from
    /// pruning). Registry cleanup keeps them (`launchplane artifacts protected`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollback_candidates: Vec<String>,
    /// Name of the most recent DeploymentRecord of the lane, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployment_record: Option<String>,
    /// Where the lane's app is reached for verification (and where that came from), and the
    /// driver's checks as last observed (driver `odoo`: health, canonicalUrl, logo,
    /// runtimeIdentity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<LaneVerification>,
    /// Where the lane stands in retrying its desired state after failed deploy attempts.
    /// Absent when the last attempt for the current desired state did not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_retry: Option<DeployRetryStatus>,
    /// The lane's data-bootstrap provenance (its DataBootstraps), kept apart from its deploys:
    /// a bootstrap never moves `inventory`. Absent: never bootstrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<LaneBootstrap>,
}

/// Consecutive failed deploy attempts for the lane's current desired state (its
/// `spec.artifactRef` and its spec generation), and when the next attempt is made.
///
/// Attempts are retried with exponential backoff (30s, 60s, 120s, ... capped at 30m by
/// default). After `maxAttempts` failed attempts the lane is Stalled (reason
/// `DeployRetriesExhausted`) until its spec or its desired artifact changes; either change starts
/// a new attempt at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployRetryStatus {
    /// How many attempts in a row failed for the current desired state.
    pub failed_attempts: i32,
    /// How many attempts are made for one desired state before the lane is Stalled.
    pub max_attempts: i32,
    /// When the next attempt is made. Absent while an attempt is in flight and once the
    /// attempts are exhausted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// The DeploymentRecord of the last failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failed_record: Option<String>,
}

/// The artifact a lane runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneInventory {
    /// Name of the Artifact.
    pub artifact: String,
    /// The source commit (40-hex SHA) of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// The image reference (`repository@sha256:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The DeploymentRecord that put the artifact there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_record: Option<String>,
    /// The Promotion that put it there, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<String>,
    /// The BackupGate that authorized that Promotion, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_gate: Option<String>,
    /// Since when the lane runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}
