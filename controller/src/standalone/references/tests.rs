#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

/// Every field of a CRD that names another object (`…Ref`, `…Refs[]`, and the lane names of
/// Lane promotions, Promotions) is in [`REFERENCES`], and nothing else is: a reference added
/// to a CRD cannot go unresolved at load.
#[test]
fn the_table_holds_every_reference_field_of_the_crds() {
    fn walk(node: &Value, path: &str, out: &mut BTreeSet<String>) {
        for (k, child) in node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let here = format!("{path}.{k}");
            // `sourceGitRef` is a git ref, not an object: references are objects with a name.
            let names_an_object = child.pointer("/properties/name").is_some();
            if k.ends_with("Ref") && names_an_object {
                out.insert(format!("{here}.name"));
            } else if k.ends_with("Refs") && child.pointer("/items/properties/name").is_some() {
                out.insert(format!("{here}[].name"));
            } else if ["sourceLane", "fromLane", "toLane"].contains(&k.as_str()) {
                out.insert(here.clone());
            }
            walk(child, &here, out);
            if let Some(items) = child.get("items") {
                walk(items, &format!("{here}[]"), out);
            }
        }
    }
    let mut in_crds = BTreeSet::new();
    for c in launchplane_api::crd::all() {
        let kind = c.spec.names.kind.clone();
        let schema = serde_json::to_value(&c.spec.versions[0].schema).unwrap();
        let mut paths = BTreeSet::new();
        walk(
            &schema["openAPIV3Schema"]["properties"]["spec"],
            "spec",
            &mut paths,
        );
        in_crds.extend(paths.into_iter().map(|p| format!("{kind} {p}")));
    }
    let in_table: BTreeSet<String> = REFERENCES
        .iter()
        .map(|r| format!("{} {}", r.kind, r.path))
        .collect();
    assert_eq!(in_table, in_crds);
}

#[test]
fn values_at_walks_lists_and_skips_what_is_absent() {
    let v = json!({"spec": {"env": {"secretRefs": [{"name": "a"}, {"name": "b"}]}}});
    let found: Vec<(String, &Value)> = values_at(&v, "spec.env.secretRefs[].name");
    assert_eq!(
        found,
        vec![
            ("spec.env.secretRefs[0].name".to_string(), &json!("a")),
            ("spec.env.secretRefs[1].name".to_string(), &json!("b")),
        ]
    );
    assert!(values_at(&v, "spec.env.configMapRefs[].name").is_empty());
    assert!(values_at(&v, "spec.productRef.name").is_empty());
}
