//! RuntimeIdentity: an expected identity and where to observe it. Created as a child of each
//! Lane and Preview, or standalone to verify a target Launchplane does not deploy.

use super::common::{
    HTTP_URL_PATTERN, IdentityFields, IdentitySurface, URL_MAX_LEN, URL_PATH_MAX_LEN, URL_PATH_PATTERN,
    default_health_path, default_surfaces, keep_field_description,
};
use crate::identity::{ClassificationReason, RuntimeIdentityPayload};
use crate::verdict::{FieldMismatch, Verdict};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An expected runtime identity and the endpoint that should serve it.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "RuntimeIdentity",
    plural = "runtimeidentities",
    namespaced,
    status = "RuntimeIdentityStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpri",
    category = "launchplane",
    doc = "An expected runtime identity and where to observe it (health JSON, header, well-known URL).",
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".spec.endpoint.baseUrl"),
    printcolumn(
        name = "Required",
        type_ = "boolean",
        json_path = ".spec.required",
        priority = 1
    ),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.reason"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeIdentitySpec {
    /// The identity the endpoint should serve. Only the fields set here are compared.
    #[serde(default)]
    pub expected: IdentityFields,
    /// Where the app is reached.
    pub endpoint: IdentityEndpoint,
    /// Where the identity is read: `healthJson`, `header`, `wellKnown`. Default all three.
    #[serde(default = "default_surfaces")]
    #[schemars(length(min = 1, max = 3), extend("x-kubernetes-list-type" = "set"))]
    pub surfaces: Vec<IdentitySurface>,
    /// When true, Missing and Unreachable are failures rather than advisory. Default false.
    #[serde(default)]
    pub required: bool,
    /// Seconds between two probes. Default 60, 5-86400.
    #[serde(default = "default_interval_seconds")]
    #[schemars(range(min = 5, max = 86400))]
    pub interval_seconds: i32,
    /// Seconds before a probe of one surface gives up. Default 5, 1-60.
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 60))]
    pub timeout_seconds: i32,
}

fn default_interval_seconds() -> i32 {
    60
}

fn default_timeout_seconds() -> i32 {
    5
}

impl Default for RuntimeIdentitySpec {
    fn default() -> Self {
        RuntimeIdentitySpec {
            expected: IdentityFields::default(),
            endpoint: IdentityEndpoint::default(),
            surfaces: default_surfaces(),
            required: false,
            interval_seconds: default_interval_seconds(),
            timeout_seconds: default_timeout_seconds(),
        }
    }
}

/// Where an app is reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityEndpoint {
    /// Base URL of the app, e.g. `https://shop.example.com`.
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub base_url: String,
    /// Path of the health endpoint that serves the identity JSON. Default `/healthz`.
    #[serde(default = "default_health_path")]
    #[schemars(length(min = 1, max = URL_PATH_MAX_LEN), regex(pattern = URL_PATH_PATTERN))]
    pub health_path: String,
}

impl Default for IdentityEndpoint {
    fn default() -> Self {
        IdentityEndpoint {
            base_url: String::new(),
            health_path: default_health_path(),
        }
    }
}

/// The last probe and its classification.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeIdentityStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The identity verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// The classification, finer than the verdict: `Matched`, `Mismatch`, `Malformed`,
    /// `Missing`, `Unreachable`, `Unchecked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub reason: Option<ClassificationReason>,
    /// Human-readable explanation of the classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Conditions: `RuntimeIdentityVerified`, `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The identity served at the last probe (non-secret by contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<RuntimeIdentityPayload>,
    /// Fields that differ from the expectation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
    /// When the last probe ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
}
