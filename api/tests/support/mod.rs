//! Helpers shared by the CRD and example tests: the generated schemas as JSON, and a small
//! validator for the OpenAPI keywords the API server checks before CEL (types, required,
//! unknown fields, enum, pattern, lengths, ranges, list-map key uniqueness).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use launchplane_api::crd;
use serde_json::Value;

/// Every generated CRD as JSON, keyed by kind.
pub fn crds_by_kind() -> Vec<(String, Value)> {
    crd::all()
        .into_iter()
        .map(|c| (c.spec.names.kind.clone(), serde_json::to_value(&c).unwrap()))
        .collect()
}

/// The openAPIV3Schema of the CRD of `kind`.
pub fn schema_of(kind: &str) -> Value {
    let (_, crd) = crds_by_kind()
        .into_iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no CRD for kind {kind}"));
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// The schema at a dotted property path (`spec.image.digest`), descending through `items`
/// for `[]` segments (`spec.sourceRepos[].commit`).
pub fn at<'a>(schema: &'a Value, path: &str) -> &'a Value {
    let mut cur = schema;
    for seg in path.split('.') {
        let (name, items) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        cur = cur
            .get("properties")
            .and_then(|p| p.get(name))
            .unwrap_or_else(|| panic!("no property {name} in path {path}"));
        if items {
            cur = cur
                .get("items")
                .unwrap_or_else(|| panic!("{name} in {path} has no items"));
        }
    }
    cur
}

/// The CEL rules (rule, message) on the schema node.
pub fn rules(node: &Value) -> Vec<(String, String)> {
    node.get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["rule"].as_str().unwrap_or_default().to_string(),
                        r["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Validate `value` against `schema`; the violations as `path: problem` strings.
pub fn validate(schema: &Value, value: &Value, path: &str) -> Vec<String> {
    launchplane_api::validation::SchemaValidator::new()
        .validate(schema, value, path)
        .into_iter()
        .map(|v| v.to_string())
        .collect()
}
