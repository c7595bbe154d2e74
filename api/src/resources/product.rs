//! Product: the profile of one web product (repository, driver, image, health path, preview
//! and runtime-identity policy) and, in status, the read model over its lanes and previews.

use super::common::{
    DNS1123_SUBDOMAIN_PATTERN, DURATION_MAX_LEN, DURATION_PATTERN, HTTP_URL_PATTERN,
    IMAGE_REPOSITORY_MAX_LEN, IMAGE_REPOSITORY_PATTERN, LocalObjectRef, SOURCE_REPOSITORY_MAX_LEN,
    SOURCE_REPOSITORY_PATTERN, URL_MAX_LEN, URL_PATH_MAX_LEN, URL_PATH_PATTERN, default_health_path,
    keep_field_description, pattern_rule,
};
use super::odoo::OdooSpec;
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A web product: where its code and images live, how it is run and checked, and how its
/// pull-request previews are made. Lanes and Previews reference it by name.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "Product",
    namespaced,
    status = "ProductStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpprod",
    category = "launchplane",
    doc = "A web product profile: repository, driver, image repository, health path, preview and runtime-identity policy.",
    printcolumn(name = "Display Name", type_ = "string", json_path = ".spec.displayName"),
    printcolumn(name = "Driver", type_ = "string", json_path = ".spec.driver"),
    printcolumn(name = "Previews", type_ = "integer", json_path = ".status.previewCount"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ProductSpec {
    /// Human-readable name of the product, e.g. `Shop`.
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// The source repository, `owner/name` or `host/owner/name` (e.g. `github.com/acme/shop`).
    #[schemars(length(min = 1, max = SOURCE_REPOSITORY_MAX_LEN), regex(pattern = SOURCE_REPOSITORY_PATTERN))]
    pub repository: String,
    /// How the product is deployed and checked: `generic-web` (the default), `odoo` or
    /// `verireel`.
    #[serde(default)]
    pub driver: Driver,
    /// The image repository artifacts of this product are pushed to, without tag or digest,
    /// e.g. `ghcr.io/acme/shop`.
    #[schemars(length(min = 1, max = IMAGE_REPOSITORY_MAX_LEN), regex(pattern = IMAGE_REPOSITORY_PATTERN))]
    #[x_kube(validation = pattern_rule(IMAGE_REPOSITORY_PATTERN,
        "imageRepository must be an image repository without tag or digest, e.g. ghcr.io/acme/shop (digests belong in an Artifact's spec.image.digest)"))]
    pub image_repository: String,
    /// The port the app listens on inside its container, 1-65535.
    #[schemars(range(min = 1, max = 65535))]
    pub runtime_port: i32,
    /// The HTTP path of the app's health endpoint, which also serves the runtime identity
    /// JSON. Default `/healthz`.
    #[serde(default = "default_health_path")]
    #[schemars(length(min = 1, max = URL_PATH_MAX_LEN), regex(pattern = URL_PATH_PATTERN))]
    pub health_path: String,
    /// The public base URL the product's lanes are verified at, e.g. `https://erp.example.com`,
    /// when the lanes do not set their own (`spec.runtimeIdentity.baseUrl` wins). Absent: each
    /// lane's own, else its ProviderTarget's first domain (driver `verireel`: the domain Dokploy
    /// routes to the target). Credentials in it are never shown in status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub base_url: Option<String>,
    /// How pull-request previews are created and cleaned up. Default: previews disabled.
    #[serde(default)]
    pub preview: PreviewPolicy,
    /// Runtime-identity policy for every lane and preview of the product. Default: identity
    /// failures are advisory.
    #[serde(default)]
    pub runtime_identity: RuntimeIdentityPolicy,
    /// When a lane, preview or health check of the product that stays wrong becomes an
    /// Incident, and when it is resolved. Default: open after 10m, resolve after 5m, 20
    /// transitions kept.
    #[serde(default)]
    pub incidents: IncidentPolicy,
    /// How the `odoo` driver deploys the product to a Dokploy compose. Absent: the defaults
    /// (`imageEnvKey: ODOO_IMAGE`, `webService: web`). Only read when `driver` is `odoo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odoo: Option<OdooSpec>,
}

/// When failures of a product's resources become Incidents.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentPolicy {
    /// How long a required verdict or health check must stay not Matched before its Incident
    /// opens, as hours, minutes and seconds, e.g. `10m` (the default).
    #[serde(default = "default_open_after")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("self.matches('[1-9]')")
        .message("openAfter must be longer than zero, e.g. 10m"))]
    pub open_after: String,
    /// How long the resource must be Matched again before its open Incident resolves, e.g.
    /// `5m` (the default).
    #[serde(default = "default_resolve_after")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("self.matches('[1-9]')")
        .message("resolveAfter must be longer than zero, e.g. 5m"))]
    pub resolve_after: String,
    /// How many transitions each Incident keeps in its status. Default 20, 1-100.
    #[serde(default = "default_incident_history_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub history_limit: i32,
}

fn default_open_after() -> String {
    "10m".to_string()
}

fn default_resolve_after() -> String {
    "5m".to_string()
}

fn default_incident_history_limit() -> i32 {
    20
}

impl Default for IncidentPolicy {
    fn default() -> Self {
        IncidentPolicy {
            open_after: default_open_after(),
            resolve_after: default_resolve_after(),
            history_limit: default_incident_history_limit(),
        }
    }
}

impl Default for ProductSpec {
    fn default() -> Self {
        ProductSpec {
            display_name: String::new(),
            repository: String::new(),
            driver: Driver::default(),
            image_repository: String::new(),
            runtime_port: 8080,
            health_path: default_health_path(),
            base_url: None,
            preview: PreviewPolicy::default(),
            runtime_identity: RuntimeIdentityPolicy::default(),
            incidents: IncidentPolicy::default(),
            odoo: None,
        }
    }
}

/// How a product is deployed and checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Driver {
    /// Any HTTP app built as one image.
    #[default]
    #[serde(rename = "generic-web")]
    GenericWeb,
    /// Odoo on a Dokploy compose: the image pinned through the compose env
    /// (`spec.odoo.imageEnvKey`), with its database bootstrap handled separately.
    #[serde(rename = "odoo")]
    Odoo,
    /// VeriReel.
    #[serde(rename = "verireel")]
    Verireel,
}

/// Pull-request preview policy.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!self.enabled || (has(self.baseDomain) && has(self.templateTargetRef))")
    .message("preview.enabled needs preview.baseDomain (e.g. preview.example.com) and preview.templateTargetRef (the ProviderTarget previews are cloned from)"))]
pub struct PreviewPolicy {
    /// Whether previews are made for this product. Default false.
    #[serde(default)]
    pub enabled: bool,
    /// The pull-request label that asks for a preview. Default `preview`.
    #[serde(default = "default_preview_label")]
    #[schemars(length(min = 1, max = 63))]
    pub label: String,
    /// The slug of a preview; `{number}` is replaced by the pull-request number. The result is
    /// a DNS label used in the preview's host name. Default `pr-{number}`.
    #[serde(default = "default_slug_template")]
    #[schemars(length(min = 1, max = 40), regex(pattern = r"^[a-z0-9{}-]+$"))]
    #[x_kube(validation = Rule::new("self.contains('{number}') && self.replace('{number}', '1').matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')")
        .message("slugTemplate must contain {number} and otherwise only lowercase letters, digits and '-', e.g. pr-{number}"))]
    pub slug_template: String,
    /// The domain preview hosts are made under: a preview is served at
    /// `<slug>.<baseDomain>`, e.g. `pr-42.preview.example.com`. Required when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = DNS1123_SUBDOMAIN_PATTERN))]
    pub base_domain: Option<String>,
    /// The ProviderTarget whose settings new preview targets copy. Required when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_target_ref: Option<LocalObjectRef>,
    /// The Dokploy environment preview targets are created in. Absent: the template target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub environment: Option<String>,
    /// What happens to a preview target whose Preview is gone or expired: `Report` (the
    /// default: list it in `status.orphans`) or `Delete` (remove it from the provider).
    #[serde(default)]
    pub cleanup: CleanupPolicy,
    /// The most preview targets deleted in one reconcile, so a mistake cannot wipe a whole
    /// project. Default 3; 0 disables deletion.
    #[serde(default = "default_delete_budget")]
    #[schemars(range(min = 0, max = 100))]
    pub delete_budget: i32,
    /// How many generations each Preview keeps in its status. Default 10, 1-50.
    #[serde(default = "default_preview_history_limit")]
    #[schemars(range(min = 1, max = 50))]
    pub history_limit: i32,
}

fn default_preview_label() -> String {
    "preview".to_string()
}

/// Default `slugTemplate`.
pub fn default_slug_template() -> String {
    "pr-{number}".to_string()
}

fn default_delete_budget() -> i32 {
    3
}

fn default_preview_history_limit() -> i32 {
    10
}

impl Default for PreviewPolicy {
    fn default() -> Self {
        PreviewPolicy {
            enabled: false,
            label: default_preview_label(),
            slug_template: default_slug_template(),
            base_domain: None,
            template_target_ref: None,
            environment: None,
            cleanup: CleanupPolicy::default(),
            delete_budget: default_delete_budget(),
            history_limit: default_preview_history_limit(),
        }
    }
}

impl PreviewPolicy {
    /// The slug of the preview for pull request `number`.
    pub fn slug(&self, number: i64) -> String {
        self.slug_template.replace("{number}", &number.to_string())
    }
}

/// What to do with preview targets nobody claims any more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CleanupPolicy {
    /// List them in `status.orphans`; delete nothing.
    #[default]
    Report,
    /// Delete them from the provider, within `deleteBudget`.
    Delete,
}

/// Runtime-identity policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeIdentityPolicy {
    /// When true, a Missing or Unreachable identity is a failure (not advisory) for every lane
    /// and preview of the product. Default false.
    #[serde(default)]
    pub required: bool,
}

/// The product's read model, summarised from its lanes and previews.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The worst verdict over the product's lanes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// One entry per Lane of the product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<LaneSummary>,
    /// Number of Previews of the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_count: Option<i32>,
    /// Provider targets that look like this product's previews but no Preview claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<OrphanTarget>,
    /// Artifacts referenced by a lane or preview (and therefore not to be garbage-collected).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_artifacts: Vec<String>,
    /// The orphan sweep's fail-closed baseline: the last listing of the preview environment
    /// that looked whole. Moves only on a whole listing; a sweep whose listing has fewer than
    /// half its targets deletes nothing and leaves it where it is. Absent: no whole listing
    /// seen yet, so the next sweep only sets it and deletes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_baseline: Option<SweepBaseline>,
}

/// The size of the last whole listing of a product's preview environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepBaseline {
    /// The Dokploy environment listed; a listing of another environment starts a new baseline.
    pub environment_id: String,
    /// How many applications it held (after that sweep's own deletions).
    #[schemars(range(min = 0))]
    pub targets: i32,
}

/// One lane in the product summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneSummary {
    /// Name of the Lane object.
    pub name: String,
    /// The lane's stage, e.g. `prod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The Artifact the lane currently runs (its inventory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The lane's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// When the lane's inventory last advanced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deploy_time: Option<Time>,
}

/// A provider target nobody claims.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanTarget {
    /// The provider's id of the target.
    pub target_id: String,
    /// The target's name in the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Why it counts as an orphan, e.g. `PreviewDeleted`, `PreviewExpired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
