//! Checking a manifest against its CRD's OpenAPI schema without an API server: the keywords
//! the API server checks (types, required, unknown fields, enum, pattern, lengths, ranges, set
//! and list-map uniqueness), then the schema's defaults and its CEL rules ([`rules`]).
//! Standalone mode uses it so a bad manifest is refused with the field named, as
//! `kubectl apply` would refuse it; the CRD tests use it to prove the generated schemas reject
//! what they should.

mod defaults;
mod metadata;
pub mod rules;

pub use defaults::apply_defaults;
pub use metadata::validate_metadata;

use regex::Regex;
use rules::{RuleDefinition, RuleEvaluator};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// One schema violation: the dotted path of the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// e.g. `spec.apiKeySecretRef.name`, `spec.domains[2]`.
    pub path: String,
    pub problem: String,
    /// A wrong type, a missing required field, a value outside an enum or over a maximum size:
    /// the API server evaluates no CEL rule over such a value (rules assume the schema's
    /// types). Patterns, minimums and unknown fields do not block the rules.
    pub blocking: bool,
}

impl Violation {
    fn new(path: &str, problem: String) -> Self {
        Violation {
            path: path.trim_start_matches('.').to_string(),
            problem,
            blocking: false,
        }
    }

    fn blocking(path: &str, problem: String) -> Self {
        Violation {
            blocking: true,
            ..Violation::new(path, problem)
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// A validator; it caches compiled patterns and rules, so reuse one across many manifests.
#[derive(Debug, Default)]
pub struct SchemaValidator {
    patterns: HashMap<String, Option<Regex>>,
    rules: RuleEvaluator,
}

/// The top-level fields of every object that the API server checks itself, not the CRD schema.
const OBJECT_ENVELOPE: [&str; 3] = ["apiVersion", "kind", "metadata"];

impl SchemaValidator {
    pub fn new() -> Self {
        SchemaValidator::default()
    }

    /// Validate a whole object against its CRD's `openAPIV3Schema` as the API server does on
    /// create or update: the schema (unknown top-level fields included), then the CEL rules on
    /// the defaulted object. `old` is the object as last accepted, for transition rules
    /// (`oldSelf`); without it, those rules are skipped, as on a create. `apiVersion`, `kind`
    /// and `metadata` are the caller's to check ([`validate_metadata`]); `status` is ignored, as
    /// the API server ignores it on the main resource of a CRD with a status subresource.
    pub fn validate_object(&mut self, schema: &Value, object: &Value, old: Option<&Value>) -> Vec<Violation> {
        let body = object_body(object);
        let mut errors = self.validate(schema, &body, "");
        let defaulted = apply_defaults(schema, &body);
        let old = old.map(|o| apply_defaults(schema, &object_body(o)));
        let broken: Vec<String> = errors
            .iter()
            .filter(|v| v.blocking)
            .map(|v| v.path.clone())
            .collect();
        self.check_rules(schema, &defaulted, old.as_ref(), "", &broken, &mut errors);
        errors
    }

    /// Every rule of the schema, read and compiled: what a CRD needs before the API server
    /// takes it. Problems are `path: rule: why`.
    pub fn compile_rules(&mut self, schema: &Value, path: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for entry in schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let compiled =
                RuleDefinition::from_schema(entry).and_then(|d| self.rules.compile(&d.rule).map(|_| ()));
            if let Err(why) = compiled {
                problems.push(format!(
                    "{}: {}: {why}",
                    path.trim_start_matches('.'),
                    entry["rule"]
                ));
            }
        }
        for (child, child_schema) in children(schema) {
            problems.extend(self.compile_rules(child_schema, &format!("{path}{child}")));
        }
        problems
    }

    /// Evaluate the rules at `schema`'s node and below, skipping every node under which the
    /// schema check already found a problem (its value may not have the type the rule expects).
    fn check_rules(
        &mut self,
        schema: &Value,
        value: &Value,
        old: Option<&Value>,
        path: &str,
        broken: &[String],
        errors: &mut Vec<Violation>,
    ) {
        let here = path.trim_start_matches('.');
        let clean = !broken.iter().any(|b| {
            here.is_empty()
                || b == here
                || b.strip_prefix(here)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        });
        if value.is_null() {
            return;
        }
        if clean {
            for entry in schema
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.check_rule(entry, value, old, path, errors);
            }
        }
        match value {
            Value::Object(map) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties").filter(|s| s.is_object());
                for (k, v) in map {
                    let Some(child_schema) = props.and_then(|p| p.get(k)).or(additional) else {
                        continue;
                    };
                    let old_child = old.and_then(|o| o.get(k));
                    self.check_rules(child_schema, v, old_child, &format!("{path}.{k}"), broken, errors);
                }
            }
            Value::Array(items) => {
                let Some(item_schema) = schema.get("items") else {
                    return;
                };
                for (i, item) in items.iter().enumerate() {
                    let old_item = old.and_then(|o| correlated_item(schema, item, o));
                    self.check_rules(
                        item_schema,
                        item,
                        old_item,
                        &format!("{path}[{i}]"),
                        broken,
                        errors,
                    );
                }
            }
            _ => {}
        }
    }

    fn check_rule(
        &mut self,
        entry: &Value,
        value: &Value,
        old: Option<&Value>,
        path: &str,
        errors: &mut Vec<Violation>,
    ) {
        let definition = match RuleDefinition::from_schema(entry) {
            Ok(d) => d,
            Err(why) => {
                errors.push(Violation::new(
                    path,
                    format!("a rule of this field cannot be checked: {why}"),
                ));
                return;
            }
        };
        let at = match &definition.field_path {
            Some(relative) => format!("{path}{relative}"),
            None => path.to_string(),
        };
        let compiled = match self.rules.compile(&definition.rule) {
            Ok(c) => c,
            Err(why) => {
                errors.push(Violation::new(
                    &at,
                    format!("the rule `{}` cannot be checked: {why}", definition.rule),
                ));
                return;
            }
        };
        // A transition rule compares with the object as it was; on a create there is none.
        if compiled.transition && old.is_none() {
            return;
        }
        match self.rules.evaluate(&compiled, value, old) {
            Ok(true) => {}
            Ok(false) => errors.push(Violation::new(&at, definition.failure_message())),
            Err(why) => errors.push(Violation::new(&at, format!("`{}`: {why}", definition.rule))),
        }
    }

    /// Validate `value` against `schema`. `path` prefixes every reported path (`""` for a
    /// whole object). Unknown fields are violations: the API server would prune them
    /// silently, which in a manifest means a typo.
    pub fn validate(&mut self, schema: &Value, value: &Value, path: &str) -> Vec<Violation> {
        let mut errors = Vec::new();
        self.validate_into(schema, value, path, &mut errors);
        errors
    }

    /// A pattern that does not compile (none of ours) matches nothing, so the problem shows.
    fn matches(&mut self, pattern: &str, text: &str) -> bool {
        self.patterns
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).ok())
            .as_ref()
            .is_some_and(|r| r.is_match(text))
    }

    fn validate_into(&mut self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<Violation>) {
        if value.is_null() {
            if schema.get("nullable") != Some(&Value::Bool(true)) {
                errors.push(Violation::blocking(path, "null where not nullable".to_string()));
            }
            return;
        }
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            if !(value.is_i64() || value.is_string()) {
                errors.push(Violation::blocking(path, "expected int or string".to_string()));
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
                errors.push(Violation::blocking(path, format!("unknown schema type {other}")));
                true
            }
        };
        if !type_ok {
            let got = match value {
                Value::String(text) => quoted(path, text),
                other => other.to_string(),
            };
            errors.push(Violation::blocking(path, format!("expected {ty}, got {got}")));
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(Violation::blocking(
                path,
                format!("{value} is not one of {allowed:?}"),
            ));
        }
        match value {
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                    && len > max
                {
                    errors.push(Violation::blocking(path, format!("longer than {max}")));
                }
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                    && len < min
                {
                    errors.push(Violation::new(path, format!("shorter than {min}")));
                }
                if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                    && !self.matches(p, s)
                {
                    errors.push(Violation::new(
                        path,
                        format!("{} does not match {p}", quoted(path, s)),
                    ));
                }
                if schema.get("format").and_then(Value::as_str) == Some("date-time")
                    && s.parse::<jiff::Timestamp>().is_err()
                {
                    errors.push(Violation::new(
                        path,
                        format!("{} is not an RFC 3339 date-time", quoted(path, s)),
                    ));
                }
            }
            Value::Number(n) => {
                if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_f64), n.as_f64())
                    && v < min
                {
                    errors.push(Violation::new(path, format!("{v} below minimum {min}")));
                }
                if let (Some(max), Some(v)) = (schema.get("maximum").and_then(Value::as_f64), n.as_f64())
                    && v > max
                {
                    errors.push(Violation::new(path, format!("{v} above maximum {max}")));
                }
            }
            Value::Array(items) => {
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && items.len() as u64 > max
                {
                    errors.push(Violation::blocking(path, format!("more than {max} items")));
                }
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    errors.push(Violation::new(path, format!("fewer than {min} items")));
                }
                let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
                if list_type == Some("set") {
                    for (i, a) in items.iter().enumerate() {
                        if items[..i].contains(a) {
                            errors.push(Violation::new(path, format!("duplicate set item {a}")));
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
                            errors.push(Violation::new(
                                path,
                                format!("duplicate list-map key {:?}", key_of(a)),
                            ));
                        }
                    }
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.validate_into(item_schema, item, &format!("{path}[{i}]"), errors);
                    }
                }
            }
            Value::Object(map) => {
                let props = schema.get("properties").and_then(Value::as_object);
                if let Some(required) = schema.get("required").and_then(Value::as_array) {
                    for r in required.iter().filter_map(Value::as_str) {
                        if !map.contains_key(r) {
                            errors.push(Violation::blocking(
                                &format!("{path}.{r}"),
                                "required".to_string(),
                            ));
                        }
                    }
                }
                if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                    && map.len() as u64 > max
                {
                    errors.push(Violation::blocking(path, format!("more than {max} properties")));
                }
                for (k, v) in map {
                    let child = format!("{path}.{k}");
                    match (props.and_then(|p| p.get(k)), schema.get("additionalProperties")) {
                        (Some(s), _) => self.validate_into(s, v, &child, errors),
                        (None, Some(s)) if s.is_object() => self.validate_into(s, v, &child, errors),
                        _ => {
                            if schema.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true))
                            {
                                errors.push(Violation::new(
                                    &child,
                                    "unknown field (the API server would prune it)".to_string(),
                                ));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The part of an object its CRD's schema describes: everything but the envelope the API server
/// checks itself and the status the author does not write.
fn object_body(object: &Value) -> Value {
    match object {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !OBJECT_ENVELOPE.contains(&k.as_str()) && k.as_str() != "status")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The sub-schemas of a node with the path suffix each is reached by.
fn children(schema: &Value) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (format!(".{k}"), v))
        .collect();
    if let Some(items) = schema.get("items") {
        out.push(("[]".into(), items));
    }
    if let Some(additional) = schema.get("additionalProperties").filter(|s| s.is_object()) {
        out.push((".*".into(), additional));
    }
    out
}

/// The old list's item that `item` is the new version of, as the API server correlates them
/// for transition rules: by the keys of a `map` list; items of other lists have none.
fn correlated_item<'a>(schema: &Value, item: &Value, old_list: &'a Value) -> Option<&'a Value> {
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    old_list
        .as_array()?
        .iter()
        .find(|old| keys.iter().all(|k| old.get(*k) == item.get(*k)))
}

/// A value quoted for an error message, never a credential (issue 12, D14): a field whose name
/// says it may hold a secret is withheld, and a URL's user and password are replaced by `***`.
fn quoted(path: &str, value: &str) -> String {
    let field = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    let secretish = ["password", "secret", "token", "apikey", "api-key", "credential"]
        .iter()
        .any(|word| field.contains(word));
    if secretish {
        return "(value withheld)".into();
    }
    match value.split_once("://") {
        Some((scheme, rest))
            if rest
                .split(['/', '?', '#'])
                .next()
                .is_some_and(|auth| auth.contains('@')) =>
        {
            let after = rest.split_once('@').map_or(rest, |(_, after)| after);
            format!("{:?}", format!("{scheme}://***@{after}"))
        }
        _ => format!("{value:?}"),
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::quoted;

    #[test]
    fn credentials_never_reach_a_message() {
        let q = quoted("spec.url", "http://user:PASSWORD@dokploy.test:3000/x");
        assert!(!q.contains("PASSWORD") && !q.contains("user:"), "{q}");
        assert!(q.contains("***@dokploy.test:3000/x"), "{q}");
        assert_eq!(quoted("spec.registry.password", "hunter2"), "(value withheld)");
        assert_eq!(quoted("spec.url", "ftp:/x"), "\"ftp:/x\"");
        assert_eq!(quoted("spec.url", "https://host/a@b"), "\"https://host/a@b\"");
    }
}

/// A DNS-1123 label, as the API server requires of a namespace: 1-63 lowercase letters, digits
/// and `-`, starting and ending with a letter or digit.
pub fn is_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 subdomain, as the API server requires of most object names: at most 253
/// characters, dot-separated DNS-1123 labels.
pub fn is_dns1123_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(is_dns1123_label)
}

#[cfg(test)]
mod dns_tests {
    use super::*;

    #[test]
    fn names_and_namespaces_follow_the_api_servers_rules() {
        for good in ["shop", "shop-pr-42", "a", "a.b-c", "0x"] {
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        let long = "a".repeat(300);
        for bad in [
            "",
            "Shop",
            "a/b",
            "../../../x",
            "-a",
            "a-",
            "a..b",
            ".a",
            long.as_str(),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
        assert!(is_dns1123_label("shop-testing"));
        for bad in ["a.b", "../x", "Shop", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }
}
