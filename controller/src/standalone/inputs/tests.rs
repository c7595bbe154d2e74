#![allow(clippy::unwrap_used)]

use super::*;
use crate::standalone::manifests::parse_file;
use std::path::Path;

fn load(text: &str) -> Result<Inputs, Vec<ManifestError>> {
    let (mut manifests, mut errors) = (Vec::new(), Vec::new());
    parse_file(Path::new("repo/shop.yaml"), text, &mut manifests, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    decode(&manifests, LoadContext::isolated())
}

const CONFIG: &str = "apiVersion: launchplane.dev/v1alpha1
kind: ProviderConfig
metadata: {name: dokploy, namespace: shop}
spec:
  url: https://dokploy.example.com
  apiKeySecretRef: {name: dokploy-key, key: api-key}
";

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata: {name: dokploy-key, namespace: shop}
stringData: {api-key: the-key}
";

#[test]
fn good_manifests_decode_with_their_namespace_and_secrets() {
    let text = format!(
        "{CONFIG}---
apiVersion: v1
kind: Secret
metadata: {{name: dokploy-key, namespace: shop}}
data: {{api-key: c2VjcmV0LWtleQ==}}
stringData: {{other: plain}}
---
apiVersion: launchplane.dev/v1alpha1
kind: ProviderTarget
metadata: {{name: web, namespace: shop}}
spec:
  providerConfigRef: {{name: dokploy}}
  targetCategory: application
  displayName: web
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{LOG_LEVEL: debug}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: other}}
---
apiVersion: launchplane.dev/v1alpha1
kind: Product
metadata: {{name: shop}}
spec:
  displayName: Shop
  repository: github.com/acme/shop
  driver: generic-web
  imageRepository: ghcr.io/acme/shop
  runtimePort: 8080
"
    );
    let inputs = load(&text).unwrap();
    assert_eq!(inputs.configs[0].metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(inputs.targets[0].metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(inputs.products[0].metadata.namespace.as_deref(), Some("default"));
    let secret = &inputs.secrets["shop/dokploy-key"];
    assert_eq!(secret["api-key"], b"secret-key");
    assert_eq!(secret["other"], b"plain");
    assert_eq!(inputs.config_maps["default/settings"]["LOG_LEVEL"], "debug");
    assert_eq!(inputs.ignored, vec!["Deployment/default/other"]);
    assert_eq!(inputs.products[0].metadata.name.as_deref(), Some("shop"));
    assert!(inputs.not_reconciled.is_empty(), "{:?}", inputs.not_reconciled);
}

#[test]
fn schema_violations_name_file_resource_and_field() {
    let text = CONFIG.replace("https://dokploy.example.com", "ftp://dokploy")
        + "  pollIntervalSeconds: 1\n  pollIntervalSecond: 30\n";
    let errors = load(&text).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for (field, words) in [
        ("spec.url", "does not match"),
        ("spec.pollIntervalSeconds", "below minimum 5"),
        ("spec.pollIntervalSecond", "unknown field"),
    ] {
        assert!(
            shown.iter().any(
                |s| s.starts_with("repo/shop.yaml: ProviderConfig/shop/dokploy: field ")
                    && s.contains(field)
                    && s.contains(words)
            ),
            "{field}: {shown:#?}"
        );
    }
}

#[test]
fn wrong_kind_version_missing_spec_and_duplicates_are_refused() {
    let text = format!(
        "apiVersion: launchplane.dev/v1beta1
kind: Lane
metadata: {{name: a}}
spec: {{}}
---
apiVersion: launchplane.dev/v1alpha1
kind: Lanes
metadata: {{name: b}}
---
apiVersion: launchplane.dev/v1alpha1
kind: ProviderTarget
metadata: {{name: c}}
---
{CONFIG}---
{CONFIG}---
{SECRET}"
    );
    let errors = load(&text).unwrap_err();
    let fields: Vec<(String, Option<String>)> = errors
        .iter()
        .map(|e| (e.resource.clone().unwrap_or_default(), e.field.clone()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Lane/default/a".into(), Some("apiVersion".into())),
            ("Lanes/default/b".into(), Some("kind".into())),
            ("ProviderTarget/default/c".into(), Some("spec".into())),
            ("ProviderConfig/shop/dokploy".into(), Some("metadata.name".into())),
        ]
    );
    assert!(
        errors[1].message.contains("ProviderTarget"),
        "lists the kinds: {}",
        errors[1].message
    );
    assert!(
        errors[3].message.contains("defined twice"),
        "{}",
        errors[3].message
    );
}

#[test]
fn a_type_error_names_the_field_path() {
    let text = CONFIG.to_string() + "  rateLimit: {requestsPerSecond: fast}\n";
    let errors = load(&text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].field.as_deref(),
        Some("spec.rateLimit.requestsPerSecond")
    );
}

mod references;
mod rules;
mod strictness;

/// docs/examples/: a complete, valid folder with every kind, which the tests below break one
/// field at a time.
fn examples() -> Vec<Manifest> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    let (manifests, errors) = crate::standalone::manifests::load_dir(&dir);
    assert!(errors.is_empty(), "{errors:?}");
    manifests
}

/// The examples with `edit` applied to the manifest `kind`/`name` (the first of `kind` when
/// `name` is empty).
fn edited(kind: &str, name: &str, edit: &dyn Fn(&mut Value)) -> Vec<Manifest> {
    let mut manifests = examples();
    let m = manifests
        .iter_mut()
        .find(|m| m.kind == kind && (name.is_empty() || m.name == name))
        .unwrap_or_else(|| panic!("no {kind} {name} in docs/examples"));
    edit(&mut m.value);
    manifests
}

/// `value` at the JSON pointer `at` set to `to` (parents must exist).
fn set(value: &mut Value, at: &str, to: Value) {
    let (parent, key) = at.rsplit_once('/').unwrap();
    let parent = value.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    match parent {
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = to,
        Value::Object(map) => {
            map.insert(key.to_string(), to);
        }
        other => panic!("{at}: {other} is not a container"),
    }
}

fn remove(value: &mut Value, at: &str) {
    let (parent, key) = at.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove(key))
        .unwrap_or_else(|| panic!("nothing at {at}"));
}

#[test]
fn the_examples_load_as_they_are() {
    let inputs = decode(&examples(), LoadContext::isolated()).unwrap();
    assert_eq!(inputs.lanes.len(), 2);
    assert!(
        inputs
            .accepted
            .iter()
            .any(|a| a.kind == "Artifact" && a.name == "shop-3f2a9c1")
    );
}
