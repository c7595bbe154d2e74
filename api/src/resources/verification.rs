//! The driver's verification checks: what a lane's deploy is verified by beyond the lane's own
//! health checks (Odoo: health, canonical URL, logo, runtime identity), each with its own
//! result, on the DeploymentRecord (at verification) and on the Lane (as last observed).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which check of a driver's verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum VerificationCheckName {
    /// The app's health route answers 2xx (Odoo: `/web/health`).
    Health,
    /// The public base URL answers from its own host and does not redirect to another.
    CanonicalUrl,
    /// The company logo route answers an image (Odoo: `/web/binary/company_logo`).
    Logo,
    /// The runtime identity contract (docs/runtime-identity.md).
    RuntimeIdentity,
}

/// The result of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CheckResult {
    Passed,
    Failed,
    /// Nothing could be compared (no base URL, the route could not be reached): never a pass.
    Unverifiable,
}

/// One check of a verification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCheck {
    /// `health`, `canonicalUrl`, `logo` or `runtimeIdentity`.
    pub name: VerificationCheckName,
    /// `Passed`, `Failed` or `Unverifiable`.
    pub result: CheckResult,
    /// Whether the check must pass for the deploy to count (the inventory advances only when
    /// every required check passed).
    pub required: bool,
    /// The URL requested, credentials withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What was found, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the check ran (on a Lane: since when it has said this, so that an unchanged lane
    /// is not written again at every probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Time>,
}

/// Where the base URL a lane is verified at came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum BaseUrlSource {
    /// The Lane's `spec.runtimeIdentity.baseUrl`.
    Lane,
    /// The Product's `spec.baseUrl`.
    Product,
    /// `https://` and the ProviderTarget's first expected domain (`spec.domains`).
    ProviderTarget,
    /// The target's domain as Dokploy routes it (host, https, path), from the shared poll
    /// (driver `verireel`).
    DokployDomain,
}

/// A lane's verification as last observed: where it was reached and each check's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneVerification {
    /// The base URL the checks and identity probes use, credentials withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Where the base URL came from: `Lane`, `Product`, `ProviderTarget` or `DokployDomain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url_source: Option<BaseUrlSource>,
    /// Why there is no base URL, when there is none (names the field to set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The driver's checks (empty for `generic-web`, whose checks are `spec.healthChecks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<VerificationCheck>,
}
