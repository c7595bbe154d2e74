//! The identity payload, its field vocabulary, and the environment Launchplane injects so an
//! app can serve it back.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// Env key holding the whole payload as compact JSON.
pub const RUNTIME_IDENTITY_JSON_ENV: &str = "LAUNCHPLANE_RUNTIME_IDENTITY_JSON";
/// Env key holding `deploymentRecordId` alone (what the `X-Launchplane-Deployment` header serves).
pub const DEPLOYMENT_RECORD_ID_ENV: &str = "LAUNCHPLANE_DEPLOYMENT_RECORD_ID";
/// Env key holding `artifactId` alone.
pub const ARTIFACT_ID_ENV: &str = "LAUNCHPLANE_ARTIFACT_ID";
/// Env key holding `sourceGitRef` alone.
pub const SOURCE_GIT_REF_ENV: &str = "LAUNCHPLANE_SOURCE_GIT_REF";

/// The env keys Launchplane owns on a target. Every other key is the tenant's and is preserved
/// when Launchplane writes these.
pub const OWNED_ENV_KEYS: [&str; 4] = [
    RUNTIME_IDENTITY_JSON_ENV,
    DEPLOYMENT_RECORD_ID_ENV,
    ARTIFACT_ID_ENV,
    SOURCE_GIT_REF_ENV,
];

/// `environmentKind` of a stable lane (testing, prod).
pub const ENVIRONMENT_KIND_STABLE: &str = "stable";
/// `environmentKind` of a pull-request preview.
pub const ENVIRONMENT_KIND_PREVIEW: &str = "preview";

/// Longest value, in bytes, an observed identity field may have. Identity values are ids,
/// refs and image references (well under 300 bytes); the cap keeps an app that serves
/// something else from bloating status, where mismatching values are written.
pub const MAX_FIELD_LEN: usize = 1024;

/// The runtime identity of one deploy: which product, lane or preview, deployment record and
/// artifact a running app is. Non-secret by contract, so it may be written to status and
/// shown in messages.
///
/// Every field is optional. In an *expectation*, an absent or empty field is not compared; in
/// an *observation*, it means the app did not serve it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeIdentityPayload {
    /// The Product's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The lane (e.g. `testing`, `prod`) or preview context the app runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The instance within the context, where a product runs several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `stable` or `preview`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_kind: Option<String>,
    /// The DeploymentRecord of the deploy that started this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_record_id: Option<String>,
    /// The Artifact deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    /// The exact source commit the artifact was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_git_ref: Option<String>,
    /// The image reference deployed (repository and digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<String>,
    /// The release tuple (product, context, artifact) this deploy belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_tuple_id: Option<String>,
    /// The Preview, for preview deploys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_id: Option<String>,
    /// The generation of the Preview this deploy serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_generation_id: Option<String>,
    /// When the deploy happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
}

/// One field of the payload. [`IdentityField::ALL`] is the canonical order, used for the
/// injected JSON and for the order of reported mismatches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityField {
    Product,
    Context,
    Instance,
    EnvironmentKind,
    DeploymentRecordId,
    ArtifactId,
    SourceGitRef,
    ImageReference,
    ReleaseTupleId,
    PreviewId,
    PreviewGenerationId,
    DeployedAt,
}

impl IdentityField {
    pub const ALL: [IdentityField; 12] = [
        IdentityField::Product,
        IdentityField::Context,
        IdentityField::Instance,
        IdentityField::EnvironmentKind,
        IdentityField::DeploymentRecordId,
        IdentityField::ArtifactId,
        IdentityField::SourceGitRef,
        IdentityField::ImageReference,
        IdentityField::ReleaseTupleId,
        IdentityField::PreviewId,
        IdentityField::PreviewGenerationId,
        IdentityField::DeployedAt,
    ];

    /// The field's key in the JSON payload.
    pub fn json_key(self) -> &'static str {
        match self {
            IdentityField::Product => "product",
            IdentityField::Context => "context",
            IdentityField::Instance => "instance",
            IdentityField::EnvironmentKind => "environmentKind",
            IdentityField::DeploymentRecordId => "deploymentRecordId",
            IdentityField::ArtifactId => "artifactId",
            IdentityField::SourceGitRef => "sourceGitRef",
            IdentityField::ImageReference => "imageReference",
            IdentityField::ReleaseTupleId => "releaseTupleId",
            IdentityField::PreviewId => "previewId",
            IdentityField::PreviewGenerationId => "previewGenerationId",
            IdentityField::DeployedAt => "deployedAt",
        }
    }

    /// Whether an expected and an observed value of this field are the same.
    ///
    /// Exact string equality, except `deployedAt`: the same instant written with another
    /// offset or precision (`...Z` vs `...+00:00`) is equal, because apps re-serialize it.
    pub fn values_equal(self, expected: &str, observed: &str) -> bool {
        if expected == observed {
            return true;
        }
        if self == IdentityField::DeployedAt
            && let (Ok(e), Ok(o)) = (expected.parse::<Timestamp>(), observed.parse::<Timestamp>())
        {
            return e == o;
        }
        false
    }
}

impl std::fmt::Display for IdentityField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.json_key())
    }
}

/// Why a JSON object could not be read as an identity payload.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PayloadError {
    /// A known field holds something other than a string (or null).
    #[error("field `{field}` is {found}, not a string")]
    NotAString {
        field: IdentityField,
        found: &'static str,
    },
    /// A known field holds a string longer than [`MAX_FIELD_LEN`].
    #[error("field `{field}` is {len} bytes long, more than the {MAX_FIELD_LEN} allowed")]
    TooLong { field: IdentityField, len: usize },
}

/// "a number", "an array", ... for messages that must not echo the value itself.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl RuntimeIdentityPayload {
    /// The value of `field`; an empty string counts as absent (not served / not compared).
    pub fn get(&self, field: IdentityField) -> Option<&str> {
        non_empty(self.slot(field))
    }

    /// Set `field`; an empty string is stored as absent.
    pub fn set(&mut self, field: IdentityField, value: Option<String>) {
        *self.slot_mut(field) = value.filter(|v| !v.is_empty());
    }

    /// Builder form of [`set`](Self::set), handy for fixtures and for building expectations.
    #[must_use]
    pub fn with(mut self, field: IdentityField, value: impl Into<String>) -> Self {
        self.set(field, Some(value.into()));
        self
    }

    /// The same payload with empty strings turned into absent fields.
    #[must_use]
    pub fn normalized(&self) -> Self {
        let mut out = RuntimeIdentityPayload::default();
        for field in IdentityField::ALL {
            out.set(field, self.get(field).map(str::to_string));
        }
        out
    }

    /// True when no field has a non-empty value.
    pub fn is_empty(&self) -> bool {
        IdentityField::ALL.iter().all(|f| self.get(*f).is_none())
    }

    /// The non-empty fields, in canonical order.
    pub fn fields(&self) -> impl Iterator<Item = (IdentityField, &str)> + '_ {
        IdentityField::ALL
            .into_iter()
            .filter_map(|f| self.get(f).map(|v| (f, v)))
    }

    /// Compact JSON with the non-empty fields in canonical order: the same payload always
    /// gives the same bytes, so re-injecting an unchanged identity never looks like env drift.
    pub fn to_json_string(&self) -> String {
        // Built by hand rather than with serde_json::to_string: Display on a Value cannot
        // fail, so there is no error path to handle, and the key order does not depend on
        // whether serde_json's `preserve_order` feature is unified on (both orders are fixed).
        let mut map = Map::new();
        for (field, value) in self.fields() {
            map.insert(field.json_key().to_string(), Value::String(value.to_string()));
        }
        Value::Object(map).to_string()
    }

    /// Read a payload from a JSON object as an app serves it.
    ///
    /// Unknown keys are ignored (the contract may grow). A known key holding null or `""`
    /// counts as absent: apps serialize unset values that way. Any other non-string value of a
    /// known key is an error, as is a value longer than [`MAX_FIELD_LEN`].
    pub fn from_json_object(object: &Map<String, Value>) -> Result<Self, PayloadError> {
        let mut out = RuntimeIdentityPayload::default();
        for field in IdentityField::ALL {
            match object.get(field.json_key()) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.len() > MAX_FIELD_LEN => {
                    return Err(PayloadError::TooLong { field, len: s.len() });
                }
                Some(Value::String(s)) => out.set(field, Some(s.clone())),
                Some(other) => {
                    return Err(PayloadError::NotAString {
                        field,
                        found: json_type(other),
                    });
                }
            }
        }
        Ok(out)
    }

    fn slot(&self, field: IdentityField) -> &Option<String> {
        match field {
            IdentityField::Product => &self.product,
            IdentityField::Context => &self.context,
            IdentityField::Instance => &self.instance,
            IdentityField::EnvironmentKind => &self.environment_kind,
            IdentityField::DeploymentRecordId => &self.deployment_record_id,
            IdentityField::ArtifactId => &self.artifact_id,
            IdentityField::SourceGitRef => &self.source_git_ref,
            IdentityField::ImageReference => &self.image_reference,
            IdentityField::ReleaseTupleId => &self.release_tuple_id,
            IdentityField::PreviewId => &self.preview_id,
            IdentityField::PreviewGenerationId => &self.preview_generation_id,
            IdentityField::DeployedAt => &self.deployed_at,
        }
    }

    fn slot_mut(&mut self, field: IdentityField) -> &mut Option<String> {
        match field {
            IdentityField::Product => &mut self.product,
            IdentityField::Context => &mut self.context,
            IdentityField::Instance => &mut self.instance,
            IdentityField::EnvironmentKind => &mut self.environment_kind,
            IdentityField::DeploymentRecordId => &mut self.deployment_record_id,
            IdentityField::ArtifactId => &mut self.artifact_id,
            IdentityField::SourceGitRef => &mut self.source_git_ref,
            IdentityField::ImageReference => &mut self.image_reference,
            IdentityField::ReleaseTupleId => &mut self.release_tuple_id,
            IdentityField::PreviewId => &mut self.preview_id,
            IdentityField::PreviewGenerationId => &mut self.preview_generation_id,
            IdentityField::DeployedAt => &mut self.deployed_at,
        }
    }
}

/// The env Launchplane injects into a target for `payload`: always exactly the four
/// [`OWNED_ENV_KEYS`].
///
/// A key whose field is absent gets an empty value rather than being left out, so writing this
/// map over a target's env always replaces what an earlier deploy injected: a stale record id
/// can never survive a deploy that has none. (An app serving the empty value is then seen as
/// serving no identity, never as serving the old one.)
pub fn identity_env(payload: &RuntimeIdentityPayload) -> BTreeMap<String, String> {
    let single = |field| payload.get(field).unwrap_or_default().to_string();
    BTreeMap::from([
        (RUNTIME_IDENTITY_JSON_ENV.to_string(), payload.to_json_string()),
        (
            DEPLOYMENT_RECORD_ID_ENV.to_string(),
            single(IdentityField::DeploymentRecordId),
        ),
        (ARTIFACT_ID_ENV.to_string(), single(IdentityField::ArtifactId)),
        (
            SOURCE_GIT_REF_ENV.to_string(),
            single(IdentityField::SourceGitRef),
        ),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A payload where every field holds its own JSON key: shows which field went where.
    fn every_field_named() -> RuntimeIdentityPayload {
        IdentityField::ALL
            .into_iter()
            .fold(RuntimeIdentityPayload::default(), |p, f| p.with(f, f.json_key()))
    }

    #[test]
    fn serde_keys_are_the_contract_keys() {
        // The serde renames and json_key() must agree, and both must be the DESIGN.md names.
        let contract = [
            "product",
            "context",
            "instance",
            "environmentKind",
            "deploymentRecordId",
            "artifactId",
            "sourceGitRef",
            "imageReference",
            "releaseTupleId",
            "previewId",
            "previewGenerationId",
            "deployedAt",
        ];
        let keys: Vec<&str> = IdentityField::ALL.iter().map(|f| f.json_key()).collect();
        assert_eq!(keys, contract);
        let value = serde_json::to_value(every_field_named()).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 12);
        for key in contract {
            assert_eq!(object[key], json!(key), "serde key for {key}");
        }
    }

    #[test]
    fn json_schema_is_embeddable_in_a_crd() {
        // Every field optional and a string: a CRD embedding the payload must accept a
        // partial expectation.
        let schema = serde_json::to_value(schemars::schema_for!(RuntimeIdentityPayload)).unwrap();
        let props = schema["properties"].as_object().unwrap();
        let keys: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut want: Vec<&str> = IdentityField::ALL.iter().map(|f| f.json_key()).collect();
        want.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, want);
        assert!(
            schema
                .get("required")
                .is_none_or(|r| r.as_array().is_some_and(Vec::is_empty))
        );
        for (key, prop) in props {
            assert!(prop["type"].to_string().contains("string"), "{key}: {prop}");
            assert!(prop.get("description").is_some(), "{key} has no doc");
        }
    }

    #[test]
    fn serde_skips_absent_fields_and_ignores_unknown_ones() {
        let p = RuntimeIdentityPayload::default().with(IdentityField::ArtifactId, "art-1");
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"artifactId":"art-1"}"#);
        let back: RuntimeIdentityPayload =
            serde_json::from_value(json!({"artifactId": "art-1", "somethingNew": 3})).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn serde_agrees_with_to_json_string() {
        let p = every_field_named();
        let via_serde: Value = serde_json::to_value(&p).unwrap();
        let via_hand: Value = serde_json::from_str(&p.to_json_string()).unwrap();
        assert_eq!(via_serde, via_hand);
    }

    #[test]
    fn to_json_string_is_compact_canonical_and_skips_empty() {
        let p = RuntimeIdentityPayload::default()
            .with(IdentityField::SourceGitRef, "abc")
            .with(IdentityField::Product, "shop");
        let mut with_empty = p.clone();
        with_empty.context = Some(String::new());
        assert_eq!(p.to_json_string(), r#"{"product":"shop","sourceGitRef":"abc"}"#);
        assert_eq!(with_empty.to_json_string(), p.to_json_string());
        assert_eq!(RuntimeIdentityPayload::default().to_json_string(), "{}");
    }

    #[test]
    fn empty_strings_count_as_absent() {
        let mut p = RuntimeIdentityPayload {
            product: Some(String::new()),
            ..Default::default()
        };
        assert!(p.is_empty());
        assert_eq!(p.get(IdentityField::Product), None);
        assert_eq!(p.normalized(), RuntimeIdentityPayload::default());
        p.set(IdentityField::Instance, Some(String::new()));
        assert_eq!(p.instance, None);
    }

    #[test]
    fn from_json_object_table() {
        let cases: Vec<(&str, Value, Result<RuntimeIdentityPayload, PayloadError>)> = vec![
            (
                "strings are read, unknown keys ignored",
                json!({"artifactId": "a", "product": "shop", "extra": {"deep": 1}}),
                Ok(RuntimeIdentityPayload::default()
                    .with(IdentityField::ArtifactId, "a")
                    .with(IdentityField::Product, "shop")),
            ),
            (
                "null and empty string are absent",
                json!({"artifactId": null, "product": ""}),
                Ok(RuntimeIdentityPayload::default()),
            ),
            (
                "number",
                json!({"previewGenerationId": 3}),
                Err(PayloadError::NotAString {
                    field: IdentityField::PreviewGenerationId,
                    found: "a number",
                }),
            ),
            (
                "boolean",
                json!({"product": true}),
                Err(PayloadError::NotAString {
                    field: IdentityField::Product,
                    found: "a boolean",
                }),
            ),
            (
                "object",
                json!({"artifactId": {"id": "a"}}),
                Err(PayloadError::NotAString {
                    field: IdentityField::ArtifactId,
                    found: "an object",
                }),
            ),
            (
                "array",
                json!({"sourceGitRef": ["a"]}),
                Err(PayloadError::NotAString {
                    field: IdentityField::SourceGitRef,
                    found: "an array",
                }),
            ),
            (
                "unknown key with a number is fine",
                json!({"build": 7, "context": "prod"}),
                Ok(RuntimeIdentityPayload::default().with(IdentityField::Context, "prod")),
            ),
            (
                "too long",
                json!({"imageReference": "x".repeat(MAX_FIELD_LEN + 1)}),
                Err(PayloadError::TooLong {
                    field: IdentityField::ImageReference,
                    len: MAX_FIELD_LEN + 1,
                }),
            ),
        ];
        for (name, input, want) in cases {
            let got = RuntimeIdentityPayload::from_json_object(input.as_object().unwrap());
            assert_eq!(got, want, "case {name}");
        }
    }

    #[test]
    fn payload_error_names_the_field_not_the_value() {
        let err =
            RuntimeIdentityPayload::from_json_object(json!({"artifactId": 123456789}).as_object().unwrap())
                .unwrap_err();
        let text = err.to_string();
        assert_eq!(text, "field `artifactId` is a number, not a string");
    }

    #[test]
    fn deployed_at_compares_instants() {
        let f = IdentityField::DeployedAt;
        assert!(f.values_equal("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"));
        assert!(f.values_equal("2026-01-02T03:04:05Z", "2026-01-02T04:04:05+01:00"));
        assert!(!f.values_equal("2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z"));
        assert!(!f.values_equal("2026-01-02T03:04:05Z", "yesterday"));
        // Only deployedAt gets instant semantics; other fields compare exactly.
        assert!(!IdentityField::ArtifactId.values_equal("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"));
        assert!(!IdentityField::ArtifactId.values_equal("abc", "ABC"));
    }

    #[test]
    fn identity_env_has_exactly_the_owned_keys() {
        let p = RuntimeIdentityPayload::default()
            .with(IdentityField::DeploymentRecordId, "dr-1")
            .with(IdentityField::ArtifactId, "art-1")
            .with(IdentityField::SourceGitRef, "0123abcd")
            .with(IdentityField::Product, "shop");
        let env = identity_env(&p);
        let keys: Vec<&str> = env.keys().map(String::as_str).collect();
        let mut owned = OWNED_ENV_KEYS.to_vec();
        owned.sort_unstable();
        assert_eq!(keys, owned);
        assert_eq!(env[DEPLOYMENT_RECORD_ID_ENV], "dr-1");
        assert_eq!(env[ARTIFACT_ID_ENV], "art-1");
        assert_eq!(env[SOURCE_GIT_REF_ENV], "0123abcd");
        let back: RuntimeIdentityPayload = serde_json::from_str(&env[RUNTIME_IDENTITY_JSON_ENV]).unwrap();
        assert_eq!(back, p);
        assert!(!env[RUNTIME_IDENTITY_JSON_ENV].contains(' '), "compact JSON");
    }

    #[test]
    fn identity_env_blanks_absent_fields_instead_of_dropping_them() {
        let env = identity_env(&RuntimeIdentityPayload::default().with(IdentityField::Product, "shop"));
        assert_eq!(env.len(), 4);
        assert_eq!(env[DEPLOYMENT_RECORD_ID_ENV], "");
        assert_eq!(env[ARTIFACT_ID_ENV], "");
        assert_eq!(env[SOURCE_GIT_REF_ENV], "");
        assert_eq!(env[RUNTIME_IDENTITY_JSON_ENV], r#"{"product":"shop"}"#);
    }

    #[test]
    fn identity_env_is_deterministic() {
        let a = every_field_named();
        let b = IdentityField::ALL
            .into_iter()
            .rev()
            .fold(RuntimeIdentityPayload::default(), |p, f| p.with(f, f.json_key()));
        assert_eq!(identity_env(&a), identity_env(&b));
    }
}
