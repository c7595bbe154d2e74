//! Helpers shared by the CRD and example tests: the generated schemas as JSON, and a small
//! validator for the OpenAPI keywords the API server checks before CEL (types, required,
//! unknown fields, enum, pattern, lengths, ranges, list-map key uniqueness).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use launchplane_api::crd;
use regex::Regex;
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

/// Validate `value` against `schema` (OpenAPI subset); returns the violations as
/// `path: problem` strings. Unknown fields are violations (the API server would prune them
/// silently, which in an example means a typo).
pub fn validate(schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    validate_into(schema, value, path, &mut errors);
    errors
}

fn validate_into(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{path}: null where not nullable"));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_i64() || value.is_string()) {
            errors.push(format!("{path}: expected int or string"));
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let type_ok = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "" => true,
        other => {
            errors.push(format!("{path}: unknown schema type {other}"));
            true
        }
    };
    if !type_ok {
        errors.push(format!("{path}: expected {ty}, got {value}"));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    match value {
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errors.push(format!("{path}: longer than {max}"));
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                errors.push(format!("{path}: shorter than {min}"));
            }
            if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                && !Regex::new(p).unwrap().is_match(s)
            {
                errors.push(format!("{path}: {s:?} does not match {p}"));
            }
            if schema.get("format").and_then(Value::as_str) == Some("date-time")
                && s.parse::<jiff::Timestamp>().is_err()
            {
                errors.push(format!("{path}: {s:?} is not an RFC 3339 date-time"));
            }
        }
        Value::Number(n) => {
            if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_f64), n.as_f64())
                && v < min
            {
                errors.push(format!("{path}: {v} below minimum {min}"));
            }
            if let (Some(max), Some(v)) = (schema.get("maximum").and_then(Value::as_f64), n.as_f64())
                && v > max
            {
                errors.push(format!("{path}: {v} above maximum {max}"));
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                errors.push(format!("{path}: more than {max} items"));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                errors.push(format!("{path}: fewer than {min} items"));
            }
            let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
            if list_type == Some("set") {
                for (i, a) in items.iter().enumerate() {
                    if items[..i].contains(a) {
                        errors.push(format!("{path}: duplicate set item {a}"));
                    }
                }
            }
            if list_type == Some("map") {
                let keys: Vec<&str> = schema["x-kubernetes-list-map-keys"]
                    .as_array()
                    .map(|k| k.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let key_of = |v: &Value| keys.iter().map(|k| v.get(*k).cloned()).collect::<Vec<_>>();
                for (i, a) in items.iter().enumerate() {
                    if items[..i].iter().any(|b| key_of(b) == key_of(a)) {
                        errors.push(format!("{path}: duplicate list-map key {:?}", key_of(a)));
                    }
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_into(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        errors.push(format!("{path}.{r}: required"));
                    }
                }
            }
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                && map.len() as u64 > max
            {
                errors.push(format!("{path}: more than {max} properties"));
            }
            for (k, v) in map {
                let child = format!("{path}.{k}");
                match (props.and_then(|p| p.get(k)), schema.get("additionalProperties")) {
                    (Some(s), _) => validate_into(s, v, &child, errors),
                    (None, Some(s)) if s.is_object() => validate_into(s, v, &child, errors),
                    _ => {
                        if schema.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true)) {
                            errors.push(format!("{child}: unknown field (the API server would prune it)"));
                        }
                    }
                }
            }
        }
        _ => {}
    }
}
