//! Contract test: every request the Dokploy client can send must be one the OpenAPI document
//! (`shared/dokploy/openapi.json`, Dokploy v0.30.x) describes: route and method exist, every sent
//! field is a property of the operation's input, every required field is sent, value types and
//! client-chosen enum values are allowed.
//!
//! The document is read from `$DOKPLOY_OPENAPI`, else from `../shared/dokploy/openapi.json` next to
//! the workspace. If neither exists the test says so loudly on stderr and passes: the document is
//! reference material, not part of this repository.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use launchplane_providers::{Method, Op, RequestSpec, request_spec};
use serde_json::Value;

fn document() -> Option<Value> {
    let path = std::env::var_os("DOKPLOY_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/dokploy/openapi.json")
        });
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap()),
        Err(_) => {
            eprintln!(
                "\n*** SKIPPED: OpenAPI contract test: {} not found; set DOKPLOY_OPENAPI ***\n",
                path.display()
            );
            None
        }
    }
}

/// Follow a local `$ref` (`#/components/schemas/x`).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |v, seg| &v[seg]))
            .unwrap_or(schema),
        None => schema,
    }
}

/// The JSON types a schema admits (empty = anything).
fn admitted_types(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(doc, schema);
    let mut out = BTreeSet::new();
    match schema.get("type") {
        Some(Value::String(t)) => {
            out.insert(t.clone());
        }
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            for alt in alts {
                let t = admitted_types(doc, alt);
                if t.is_empty() {
                    return BTreeSet::new();
                }
                out.extend(t);
            }
        }
    }
    out
}

fn admitted_enum(doc: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(doc, schema);
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return Some(e.iter().filter_map(Value::as_str).map(str::to_owned).collect());
    }
    let mut out = BTreeSet::new();
    let mut any = false;
    for key in ["anyOf", "oneOf"] {
        for alt in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(e) = admitted_enum(doc, alt) {
                any = true;
                out.extend(e);
            }
        }
    }
    any.then_some(out)
}

/// Every violation of the document by `spec`, as readable lines.
fn violations(doc: &Value, spec: &RequestSpec) -> Vec<String> {
    let mut out = Vec::new();
    let path = format!("/{}", spec.route);
    let Some(item) = doc["paths"].get(&path) else {
        return vec![format!("{path}: no such path in the document")];
    };
    let method = spec.method.as_str().to_ascii_lowercase();
    let Some(operation) = item.get(&method) else {
        let has: Vec<&String> = item.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        return vec![format!(
            "{path}: method {method} not in the document (has {has:?})"
        )];
    };
    match spec.method {
        Method::Get => {
            if !spec.body_keys.is_empty() {
                out.push(format!("{path}: GET with a body"));
            }
            let params: Vec<&Value> = operation
                .get("parameters")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .map(|p| resolve(doc, p))
                        .filter(|p| p["in"] == "query")
                        .collect()
                })
                .unwrap_or_default();
            let names: BTreeSet<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
            for k in &spec.query_keys {
                if !names.contains(k) {
                    out.push(format!(
                        "{path}: query parameter {k:?} is not in the document ({names:?})"
                    ));
                }
            }
            for p in &params {
                if p["required"] == true && !spec.query_keys.iter().any(|k| p["name"] == *k) {
                    out.push(format!("{path}: required query parameter {} not sent", p["name"]));
                }
            }
            for (k, v) in &spec.query_constants {
                let allowed = params
                    .iter()
                    .find(|p| p["name"] == *k)
                    .and_then(|p| admitted_enum(doc, &p["schema"]));
                if let Some(allowed) = allowed
                    && !allowed.contains(v)
                {
                    out.push(format!(
                        "{path}: query parameter {k:?} = {v:?} not in {allowed:?}"
                    ));
                }
            }
        }
        Method::Post => {
            if !spec.query_keys.is_empty() {
                out.push(format!("{path}: POST with query parameters"));
            }
            let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema") else {
                out.push(format!(
                    "{path}: no application/json request body in the document"
                ));
                return out;
            };
            let schema = resolve(doc, schema);
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, sent_type) in &spec.body_types {
                let Some(prop) = props.and_then(|p| p.get(k)) else {
                    out.push(format!(
                        "{path}: body field {k:?} is not a property of the input schema"
                    ));
                    continue;
                };
                let admitted = admitted_types(doc, prop);
                let ok = admitted.is_empty()
                    || admitted.contains(*sent_type)
                    || (*sent_type == "number" && admitted.contains("integer"));
                if !ok {
                    out.push(format!(
                        "{path}: body field {k:?} sent as {sent_type}, document admits {admitted:?}"
                    ));
                }
            }
            for (k, v) in &spec.body_constants {
                if let Some(allowed) = props.and_then(|p| p.get(k)).and_then(|p| admitted_enum(doc, p))
                    && !allowed.contains(v)
                {
                    out.push(format!("{path}: body field {k:?} = {v:?} not in {allowed:?}"));
                }
            }
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = r.as_str()
                    && !spec.body_keys.iter().any(|k| k == r)
                {
                    out.push(format!("{path}: required body field {r:?} not sent"));
                }
            }
        }
    }
    out
}

#[test]
fn every_request_the_client_sends_is_in_the_openapi_document() {
    let Some(doc) = document() else { return };
    // The document's paths are `/router.procedure` (the server mounts them under /api/).
    assert!(
        doc["paths"].get("/application.one").is_some(),
        "paths do not look like /application.one"
    );
    let mut checked = BTreeSet::new();
    let mut problems = Vec::new();
    for op in Op::examples() {
        let spec = request_spec(&op);
        checked.insert(format!("{} {}", spec.method.as_str(), spec.route));
        problems.extend(violations(&doc, &spec));
    }
    assert!(
        problems.is_empty(),
        "requests that disagree with openapi.json:\n  {}",
        problems.join("\n  ")
    );
    eprintln!("openapi contract: {} routes checked: {checked:?}", checked.len());
    assert_eq!(checked.len(), 36);
}

/// The checker itself must be able to fail.
#[test]
fn the_checker_catches_violations() {
    let Some(doc) = document() else { return };
    let good = request_spec(&Op::ApplicationDelete {
        application_id: "a".into(),
    });
    assert!(violations(&doc, &good).is_empty());

    let mut unknown_field = good.clone();
    unknown_field.body_keys.push("notAField".into());
    unknown_field.body_types.push(("notAField".into(), "string"));
    assert_eq!(violations(&doc, &unknown_field).len(), 1);

    let mut missing_required = good.clone();
    missing_required.body_keys.clear();
    missing_required.body_types.clear();
    assert_eq!(violations(&doc, &missing_required).len(), 1);

    let mut wrong_method = good.clone();
    wrong_method.method = Method::Get;
    assert_eq!(violations(&doc, &wrong_method).len(), 1);

    let mut wrong_route = good.clone();
    wrong_route.route = "application.remove";
    assert_eq!(violations(&doc, &wrong_route).len(), 1);

    let mut bad_enum = request_spec(&Op::ApplicationCreate {
        environment_id: "e".into(),
        name: "n".into(),
        app_name: None,
        description: None,
    });
    assert!(violations(&doc, &bad_enum).is_empty());
    bad_enum.body_constants = vec![("sourceType".into(), "raw".into())];
    assert_eq!(violations(&doc, &bad_enum).len(), 1);

    let mut bad_type = request_spec(&Op::DomainCreate {
        application_id: "a".into(),
        host: "h".into(),
        port: 80,
        https: false,
        path: None,
    });
    assert!(violations(&doc, &bad_type).is_empty());
    bad_type.body_types = bad_type
        .body_types
        .into_iter()
        .map(|(k, t)| if k == "port" { (k, "string") } else { (k, t) })
        .collect();
    assert_eq!(violations(&doc, &bad_type).len(), 1);

    let one = request_spec(&Op::ApplicationOne {
        application_id: "a".into(),
    });
    assert!(violations(&doc, &one).is_empty());
    let mut no_param = one.clone();
    no_param.query_keys.clear();
    assert_eq!(violations(&doc, &no_param).len(), 1);

    let runs = request_spec(&Op::DeploymentAllBySchedule {
        schedule_id: "s".into(),
    });
    assert!(violations(&doc, &runs).is_empty());
    let mut bad_query_enum = runs.clone();
    bad_query_enum.query_constants = vec![("type", "cron".into())];
    assert_eq!(violations(&doc, &bad_query_enum).len(), 1);

    let create = Op::examples()
        .into_iter()
        .find(|op| op.route() == "schedule.create")
        .unwrap();
    let create = request_spec(&create);
    assert!(violations(&doc, &create).is_empty());
    let mut no_command = create.clone();
    no_command.body_keys.retain(|k| k != "command");
    no_command.body_types.retain(|(k, _)| k != "command");
    assert_eq!(violations(&doc, &no_command).len(), 1);
    let mut bad_shell = create.clone();
    bad_shell.body_constants = vec![("shellType".into(), "zsh".into())];
    assert_eq!(violations(&doc, &bad_shell).len(), 1);
}
