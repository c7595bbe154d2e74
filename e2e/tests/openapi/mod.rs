//! A small JSON-Schema checker for the contract tests: `$ref`s within the document, `allOf`,
//! `oneOf`/`anyOf`, `type` (OpenAPI 3.0 `nullable` and 3.1 type lists), `const`, `enum`, and
//! `required` down to a depth. Enough to hold a fake's answers to the description it was
//! written from.
#![allow(dead_code)]

use serde_json::Value;

pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |v, seg| &v[seg.replace("~1", "/")]))
            .map(|s| resolve(doc, s))
            .unwrap_or(schema),
        None => schema,
    }
}

pub fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Violations of `schema` by `value` at `path`. `required` is checked down to `depth` levels of
/// objects (the fake's nested users and repositories are abbreviated below that); types
/// everywhere.
pub fn check(doc: &Value, schema: &Value, value: &Value, path: &str, depth: usize, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, path, depth, out);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let fits = alts.iter().any(|s| {
                let mut o = Vec::new();
                check(doc, s, value, path, depth, &mut o);
                o.is_empty()
            });
            if !fits {
                out.push(format!("{path}: fits none of {key}"));
            }
        }
    }
    let actual = type_of(value);
    let mut allowed: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        allowed.push("null");
    }
    let ok = allowed.is_empty()
        || allowed.contains(&actual)
        || (actual == "integer" && allowed.contains(&"number"));
    if !ok {
        out.push(format!("{path}: {actual}, the schema admits {allowed:?}"));
        return;
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        out.push(format!("{path}: {value}, the schema admits only {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !value.is_null()
        && !e.contains(value)
    {
        out.push(format!("{path}: {value} not in {e:?}"));
    }
    if let (Value::Object(o), Some(props)) = (value, schema.get("properties").and_then(Value::as_object)) {
        if depth > 0 {
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = r.as_str()
                    && !o.contains_key(r)
                {
                    out.push(format!("{path}.{r}: required, missing"));
                }
            }
        }
        for (k, v) in o {
            if let Some(s) = props.get(k) {
                check(doc, s, v, &format!("{path}.{k}"), depth.saturating_sub(1), out);
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(doc, s, v, &format!("{path}[{i}]"), depth, out);
        }
    }
}

/// The schema a dotted property path (`pull_request.head.sha`) leads to in `schema`.
pub fn property<'a>(doc: &'a Value, schema: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = resolve(doc, schema);
    for seg in path.split('.') {
        let found = std::iter::once(at)
            .chain(
                at.get("allOf")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|s| resolve(doc, s)),
            )
            .find_map(|s| s.get("properties").and_then(|p| p.get(seg)))?;
        at = resolve(doc, found);
    }
    Some(at)
}
