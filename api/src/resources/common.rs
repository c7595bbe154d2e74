//! Types and formats shared by several kinds: object references, the expected runtime
//! identity, and the patterns and length limits that the API server enforces.
//!
//! Every string that can sit under a CEL rule carries a `maxLength` and every list a
//! `maxItems`: the API server estimates the worst-case cost of each CEL rule from these bounds
//! and refuses a CRD whose rules could exceed its budget.

use crate::identity::{ENVIRONMENT_KIND_PREVIEW, ENVIRONMENT_KIND_STABLE, RuntimeIdentityPayload};
use kube::core::Rule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A DNS-1123 label: the name of an object of this API (`kubectl` names), at most 63 characters.
pub const DNS1123_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Longest DNS-1123 label.
pub const DNS1123_LABEL_MAX_LEN: usize = 63;
/// A DNS-1123 subdomain: a host name such as `shop.example.com`.
pub const DNS1123_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Longest host name.
pub const HOSTNAME_MAX_LEN: usize = 253;
/// An image digest: `sha256:` and 64 lowercase hex digits.
pub const IMAGE_DIGEST_PATTERN: &str = r"^sha256:[0-9a-f]{64}$";
/// Length of an image digest (`sha256:` + 64).
pub const IMAGE_DIGEST_LEN: usize = 71;
/// A full git commit SHA: 40 lowercase hex digits (never a branch or tag name).
pub const GIT_SHA_PATTERN: &str = r"^[0-9a-f]{40}$";
/// Length of a git commit SHA.
pub const GIT_SHA_LEN: usize = 40;
/// An image repository without tag or digest, e.g. `ghcr.io/acme/shop`.
pub const IMAGE_REPOSITORY_PATTERN: &str =
    r"^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$";
/// Longest image repository.
pub const IMAGE_REPOSITORY_MAX_LEN: usize = 255;
/// A source repository: `owner/name` or `host/owner/name`, e.g. `github.com/acme/shop`.
pub const SOURCE_REPOSITORY_PATTERN: &str = r"^[A-Za-z0-9][-A-Za-z0-9._]*(/[-A-Za-z0-9._]+)+$";
/// Longest source repository.
pub const SOURCE_REPOSITORY_MAX_LEN: usize = 253;
/// An absolute http(s) URL.
pub const HTTP_URL_PATTERN: &str = r"^https?://[^\s]+$";
/// Longest URL.
pub const URL_MAX_LEN: usize = 2048;
/// An absolute URL path, e.g. `/healthz`.
pub const URL_PATH_PATTERN: &str = r"^/[^\s]*$";
/// Longest URL path.
pub const URL_PATH_MAX_LEN: usize = 1024;
/// A duration made of hours, minutes and seconds, e.g. `72h`, `1h30m`.
pub const DURATION_PATTERN: &str = r"^([0-9]{1,6}(h|m|s))+$";
/// Longest duration string.
pub const DURATION_MAX_LEN: usize = 32;
/// An environment variable name (a C identifier).
pub const ENV_NAME_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";
/// Longest environment variable name.
pub const ENV_NAME_MAX_LEN: usize = 253;
/// A Secret or ConfigMap data key.
pub const DATA_KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";
/// Longest identity field value in an expectation (image references are the longest).
pub const IDENTITY_FIELD_MAX_LEN: usize = 512;
/// Longest free-text field (reasons, messages supplied by users).
pub const TEXT_MAX_LEN: usize = 1024;
/// Longest short free-form name (display names, provider names).
pub const NAME_MAX_LEN: usize = 253;

/// A reference to another Launchplane (or core) object in the same namespace, by name.
/// Cross-namespace references are refused, so there is no namespace field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectRef {
    /// Name of the referenced object in this namespace: a DNS-1123 label (lowercase letters,
    /// digits and `-`, starting and ending with a letter or digit, at most 63 characters).
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub name: String,
}

impl LocalObjectRef {
    /// A reference to the object called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        LocalObjectRef { name: name.into() }
    }
}

/// A key of a Secret in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret in this namespace (DNS-1123 label).
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub name: String,
    /// Key within the Secret's `data` whose value is used, e.g. `api-key`.
    #[schemars(length(min = 1, max = 253), regex(pattern = DATA_KEY_PATTERN))]
    pub key: String,
}

/// Whether an identity belongs to a stable lane or to a pull-request preview.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum EnvironmentKind {
    /// A stable lane (testing, prod).
    #[default]
    #[serde(rename = "stable")]
    Stable,
    /// A pull-request preview.
    #[serde(rename = "preview")]
    Preview,
}

impl EnvironmentKind {
    /// The payload value (`stable` or `preview`).
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentKind::Stable => ENVIRONMENT_KIND_STABLE,
            EnvironmentKind::Preview => ENVIRONMENT_KIND_PREVIEW,
        }
    }
}

/// The runtime identity a deploy is expected to serve. Every field is optional: a field left
/// out is not compared. Values are non-secret ids and refs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityFields {
    /// The Product's name, e.g. `shop`. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub product: Option<String>,
    /// The lane stage (e.g. `testing`, `prod`) or preview slug the app runs as. Not compared
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub context: Option<String>,
    /// The instance within the context, where a product runs several. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub instance: Option<String>,
    /// `stable` (a lane) or `preview` (a pull-request preview). Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub environment_kind: Option<EnvironmentKind>,
    /// Name of the DeploymentRecord of the deploy. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub deployment_record_id: Option<String>,
    /// Name of the Artifact deployed. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub artifact_id: Option<String>,
    /// The exact source commit (40-hex git SHA) the artifact was built from. Not compared when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub source_git_ref: Option<String>,
    /// The image reference deployed, `repository@sha256:...`. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub image_reference: Option<String>,
    /// The release tuple (product, context, artifact) id. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub release_tuple_id: Option<String>,
    /// Name of the Preview, for preview deploys. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub preview_id: Option<String>,
    /// Id of the preview generation this deploy serves. Not compared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = IDENTITY_FIELD_MAX_LEN))]
    pub preview_generation_id: Option<String>,
}

impl From<&IdentityFields> for RuntimeIdentityPayload {
    fn from(f: &IdentityFields) -> Self {
        RuntimeIdentityPayload {
            product: f.product.clone(),
            context: f.context.clone(),
            instance: f.instance.clone(),
            environment_kind: f.environment_kind.map(|k| k.as_str().to_string()),
            deployment_record_id: f.deployment_record_id.clone(),
            artifact_id: f.artifact_id.clone(),
            source_git_ref: f.source_git_ref.clone(),
            image_reference: f.image_reference.clone(),
            release_tuple_id: f.release_tuple_id.clone(),
            preview_id: f.preview_id.clone(),
            preview_generation_id: f.preview_generation_id.clone(),
            deployed_at: None,
        }
    }
}

impl From<&RuntimeIdentityPayload> for IdentityFields {
    /// Keeps the fields of an expectation; `deployedAt` (never expected) is dropped and an
    /// `environmentKind` outside the contract's two values is dropped too.
    fn from(p: &RuntimeIdentityPayload) -> Self {
        let environment_kind = match p.environment_kind.as_deref() {
            Some(ENVIRONMENT_KIND_STABLE) => Some(EnvironmentKind::Stable),
            Some(ENVIRONMENT_KIND_PREVIEW) => Some(EnvironmentKind::Preview),
            _ => None,
        };
        IdentityFields {
            product: p.product.clone(),
            context: p.context.clone(),
            instance: p.instance.clone(),
            environment_kind,
            deployment_record_id: p.deployment_record_id.clone(),
            artifact_id: p.artifact_id.clone(),
            source_git_ref: p.source_git_ref.clone(),
            image_reference: p.image_reference.clone(),
            release_tuple_id: p.release_tuple_id.clone(),
            preview_id: p.preview_id.clone(),
            preview_generation_id: p.preview_generation_id.clone(),
        }
    }
}

/// Where the runtime identity is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum IdentitySurface {
    /// The JSON body of the health endpoint, under `runtime_identity` (or one of its aliases).
    HealthJson,
    /// The `X-Launchplane-Deployment` response header (the deployment record id only).
    Header,
    /// The document at `/.well-known/launchplane-runtime.json`.
    WellKnown,
}

impl IdentitySurface {
    /// Every surface, in probe order.
    pub const ALL: [IdentitySurface; 3] = [
        IdentitySurface::HealthJson,
        IdentitySurface::Header,
        IdentitySurface::WellKnown,
    ];
}

/// A CEL rule that accepts a string matching `pattern` (an RE2 regex without `'`) and
/// otherwise fails with `message`: used where the plain OpenAPI pattern error would not tell
/// the user what to write instead.
pub fn pattern_rule(pattern: &str, message: &str) -> Rule {
    Rule::new(format!("self.matches(r'{pattern}')")).message(message)
}

/// A CEL transition rule that refuses any change, with `message`.
pub fn immutable_rule(message: &str) -> Rule {
    Rule::new("self == oldSelf").message(message)
}

/// Schema transform for `Option<SomeEnum>` fields: drops the enum type's own description from
/// the `anyOf` branches so that kube's `OptionalEnum` rewrite keeps the field's doc comment
/// (otherwise `kubectl explain` would show the enum type's doc instead of the field's).
pub fn keep_field_description(schema: &mut schemars::Schema) {
    if let Some(branches) = schema.get_mut("anyOf").and_then(|v| v.as_array_mut()) {
        for branch in branches {
            if let Some(obj) = branch.as_object_mut() {
                obj.remove("description");
            }
        }
    }
}

/// Default for `surfaces`: every surface.
pub fn default_surfaces() -> Vec<IdentitySurface> {
    IdentitySurface::ALL.to_vec()
}

/// Default health path.
pub fn default_health_path() -> String {
    "/healthz".to_string()
}

/// Serde helper: `true`.
pub(crate) fn default_true() -> bool {
    true
}
