#![allow(clippy::unwrap_used)]

use super::*;
use crate::standalone::manifests::parse_file;
use std::path::Path;

fn load(text: &str) -> Result<Inputs, Vec<ManifestError>> {
    let (mut manifests, mut errors) = (Vec::new(), Vec::new());
    parse_file(Path::new("repo/shop.yaml"), text, &mut manifests, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    decode(&manifests)
}

const CONFIG: &str = "apiVersion: launchplane.dev/v1alpha1
kind: ProviderConfig
metadata: {name: dokploy, namespace: shop}
spec:
  url: https://dokploy.example.com
  apiKeySecretRef: {name: dokploy-key, key: api-key}
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
metadata: {{name: web}}
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
    assert_eq!(inputs.targets[0].metadata.namespace.as_deref(), Some("default"));
    let secret = &inputs.secrets["shop/dokploy-key"];
    assert_eq!(secret["api-key"], "secret-key");
    assert_eq!(secret["other"], "plain");
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
{CONFIG}"
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
