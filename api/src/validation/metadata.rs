//! `metadata` checked as `kubectl apply --validate=strict` and the API server check it: no
//! unknown fields (a `lables:` typo is refused, not dropped), labels and annotations as string
//! maps with keys the API server accepts. `name` and `namespace` are checked where a folder's
//! manifests are read, since they also become paths in the state folder.

use super::{Violation, is_dns1123_subdomain};
use serde_json::Value;

/// The fields of ObjectMeta. Those a server fills in (`uid`, `resourceVersion`, …) are accepted
/// so that `kubectl get -o yaml` output loads, and ignored like the API server ignores them.
const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Problems with an object's `metadata`, at paths `metadata.…`.
pub fn validate_metadata(metadata: &Value) -> Vec<Violation> {
    let mut errors = Vec::new();
    let Some(map) = metadata.as_object() else {
        errors.push(Violation::new(
            "metadata",
            "must be a mapping with at least a name".into(),
        ));
        return errors;
    };
    for key in map.keys().filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str())) {
        errors.push(Violation::new(
            &format!("metadata.{key}"),
            "unknown field (kubectl apply --validate=strict refuses it)".into(),
        ));
    }
    for (field, values_are_labels) in [("labels", true), ("annotations", false)] {
        let Some(entries) = map.get(field) else {
            continue;
        };
        let Some(entries) = entries.as_object() else {
            errors.push(Violation::new(
                &format!("metadata.{field}"),
                "must be a mapping of strings".into(),
            ));
            continue;
        };
        for (key, value) in entries {
            let path = format!("metadata.{field}.{key}");
            if !is_qualified_name(key) {
                errors.push(Violation::new(
                    &path,
                    "the key must be a name of at most 63 letters, digits, '-', '_' and '.', starting \
                     and ending with a letter or digit, optionally after a DNS subdomain prefix and '/' \
                     (e.g. app.kubernetes.io/name)"
                        .into(),
                ));
            }
            match value.as_str() {
                None => errors.push(Violation::new(&path, "must be a string (quote it)".into())),
                Some(v) if values_are_labels && !is_label_value(v) => errors.push(Violation::new(
                    &path,
                    "a label value must be empty or at most 63 letters, digits, '-', '_' and '.', \
                     starting and ending with a letter or digit"
                        .into(),
                )),
                Some(_) => {}
            }
        }
    }
    errors
}

/// A label value: empty, or a name part.
fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_name_part(value)
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS-1123 subdomain.
fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => !prefix.is_empty() && is_dns1123_subdomain(prefix) && is_name_part(name),
        None => is_name_part(key),
    }
}

/// At most 63 alphanumerics, `-`, `_` and `.`, beginning and ending with an alphanumeric.
fn is_name_part(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(metadata: Value) -> Vec<String> {
        validate_metadata(&metadata).into_iter().map(|v| v.path).collect()
    }

    #[test]
    fn unknown_fields_and_bad_labels_are_refused() {
        assert!(
            paths(
                json!({"name": "a", "namespace": "shop", "uid": "x", "resourceVersion": "1",
                "labels": {"app.kubernetes.io/name": "shop", "tier": ""},
                "annotations": {"note": "any text: at all"}})
            )
            .is_empty()
        );
        assert_eq!(paths(json!({"name": "a", "lables": {}})), vec!["metadata.lables"]);
        assert_eq!(
            paths(json!({"name": "a", "labels": {"a b": "x", "ok": "-bad", "n": 1}})),
            vec!["metadata.labels.a b", "metadata.labels.n", "metadata.labels.ok"]
        );
        assert_eq!(
            paths(json!({"name": "a", "annotations": {"/x": "y"}})),
            vec!["metadata.annotations./x"]
        );
        assert_eq!(paths(json!("a")), vec!["metadata"]);
    }
}
