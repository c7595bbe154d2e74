//! Issue 12, D10: what `kubectl apply --validate=strict` refuses beyond the spec: unknown
//! top-level fields (a `specs:` typo was accepted, only `spec` was checked), unknown metadata
//! fields and malformed labels, unknown fields of Secrets and ConfigMaps.

use super::*;
use serde_json::json;

fn fields(errors: &[ManifestError]) -> Vec<(&str, &str)> {
    errors
        .iter()
        .map(|e| {
            (
                e.resource.as_deref().unwrap_or_default(),
                e.field.as_deref().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_specs_typo_is_refused() {
    let manifests = edited("Lane", "shop-prod", &|v| {
        let spec = v["spec"].clone();
        remove(v, "/spec");
        set(v, "/specs", spec);
    });
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(
        fields(&errors),
        vec![
            ("Lane/default/shop-prod", "spec"),
            ("Lane/default/shop-prod", "specs")
        ],
        "{errors:#?}"
    );
    assert!(
        errors[1].message.contains("unknown field"),
        "{}",
        errors[1].message
    );
    // Next to a good spec too.
    let manifests = edited("Artifact", "shop-3f2a9c1", &|v| set(v, "/spce", json!({})));
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(fields(&errors), vec![("Artifact/default/shop-3f2a9c1", "spce")]);
}

#[test]
fn metadata_is_as_strict_as_kubectl_apply() {
    let manifests = edited("Lane", "shop-prod", &|v| {
        set(v, "/metadata/lables", json!({"app": "shop"}));
        set(v, "/metadata/labels", json!({"tier": "-web-"}));
    });
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(
        fields(&errors),
        vec![
            ("Lane/default/shop-prod", "metadata.lables"),
            ("Lane/default/shop-prod", "metadata.labels.tier"),
        ],
        "{errors:#?}"
    );
    // What `kubectl get -o yaml` adds is accepted, and `status` is ignored.
    let manifests = edited("Lane", "shop-prod", &|v| {
        set(v, "/metadata/uid", json!("0f6c…"));
        set(v, "/metadata/resourceVersion", json!("42"));
        set(
            v,
            "/metadata/annotations",
            json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"}),
        );
        set(v, "/status", json!({"verdict": "Matched", "anything": 1}));
    });
    assert!(decode(&manifests, LoadContext::isolated()).is_ok());
}

#[test]
fn secrets_and_config_maps_refuse_unknown_fields() {
    let manifests = edited("Secret", "dokploy-main-api-key", &|v| {
        let data = v["stringData"].clone();
        set(v, "/strinData", data);
    });
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(
        fields(&errors),
        vec![("Secret/default/dokploy-main-api-key", "strinData")],
        "{errors:#?}"
    );
    let manifests = edited("ConfigMap", "", &|v| set(v, "/metadata/labels", json!({"a": 1})));
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(errors[0].field.as_deref(), Some("metadata.labels.a"));
}

/// Issue 12, D14 at load: no message quotes a credential, whichever check refuses the field
/// (a pattern, a CEL rule, a reference, metadata).
#[test]
fn no_error_quotes_a_credential() {
    let mut manifests = edited("ProviderConfig", "dokploy-main", &|v| {
        set(
            v,
            "/spec/url",
            json!("ftp://admin:PASSWORD-1@dokploy.example.com"),
        );
        set(v, "/spec/apiKeySecretRef/name", json!("gone"));
    });
    let identity = manifests
        .iter_mut()
        .find(|m| m.kind == "RuntimeIdentity")
        .unwrap();
    set(
        &mut identity.value,
        "/spec/endpoint/baseUrl",
        json!("https://u:PASSWORD-2@shop.example.com/ x"),
    );
    let secret = manifests.iter_mut().find(|m| m.kind == "Secret").unwrap();
    set(
        &mut secret.value,
        "/metadata/labels",
        json!({"token": "PASSWORD-3!"}),
    );
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert!(errors.len() >= 3, "{errors:#?}");
    for e in &errors {
        assert!(!e.to_string().contains("PASSWORD"), "{e}");
    }
}
