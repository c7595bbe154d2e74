//! Issue 12, D10: a reference to an object the folder does not hold is refused at load (exit 2
//! from the CLI), naming the field and the missing object. Before, seven of them failed a
//! round halfway (exit 1) and an evidence record naming a missing lane was ignored (exit 0).

use super::*;
use serde_json::json;

/// (kind, name, JSON pointer, the field named, the object named as missing)
const DANGLING: [(&str, &str, &str, &str, &str); 19] = [
    (
        "ProviderTarget",
        "shop-prod",
        "/spec/providerConfigRef/name",
        "spec.providerConfigRef",
        "ProviderConfig default/nope",
    ),
    (
        "Product",
        "shop",
        "/spec/preview/templateTargetRef/name",
        "spec.preview.templateTargetRef",
        "ProviderTarget default/nope",
    ),
    (
        "Lane",
        "shop-prod",
        "/spec/productRef/name",
        "spec.productRef",
        "Product default/nope",
    ),
    (
        "Lane",
        "shop-prod",
        "/spec/targetRef/name",
        "spec.targetRef",
        "ProviderTarget default/nope",
    ),
    (
        "Lane",
        "shop-testing",
        "/spec/artifactRef/name",
        "spec.artifactRef",
        "Artifact default/nope",
    ),
    (
        "Lane",
        "shop-testing",
        "/spec/env/configMapRefs/0/name",
        "spec.env.configMapRefs[0]",
        "ConfigMap default/nope",
    ),
    (
        "Lane",
        "shop-testing",
        "/spec/env/secretRefs/0/name",
        "spec.env.secretRefs[0]",
        "Secret default/nope",
    ),
    (
        "Lane",
        "shop-prod",
        "/spec/promotion/sourceLane",
        "spec.promotion.sourceLane",
        "Lane default/nope",
    ),
    (
        "Preview",
        "shop-pr-42",
        "/spec/productRef/name",
        "spec.productRef",
        "Product default/nope",
    ),
    (
        "Preview",
        "shop-pr-42",
        "/spec/artifactRef/name",
        "spec.artifactRef",
        "Artifact default/nope",
    ),
    (
        "DeploymentRecord",
        "",
        "/spec/laneRef/name",
        "spec.laneRef",
        "Lane default/nope",
    ),
    (
        "DeploymentRecord",
        "",
        "/spec/artifactRef/name",
        "spec.artifactRef",
        "Artifact default/nope",
    ),
    (
        "DeploymentRecord",
        "",
        "/spec/targetRef/name",
        "spec.targetRef",
        "ProviderTarget default/nope",
    ),
    (
        "Promotion",
        "",
        "/spec/productRef/name",
        "spec.productRef",
        "Product default/nope",
    ),
    (
        "Promotion",
        "",
        "/spec/fromLane",
        "spec.fromLane",
        "Lane default/nope",
    ),
    (
        "Promotion",
        "",
        "/spec/toLane",
        "spec.toLane",
        "Lane default/nope",
    ),
    (
        "Promotion",
        "",
        "/spec/artifactRef/name",
        "spec.artifactRef",
        "Artifact default/nope",
    ),
    (
        "BackupGate",
        "",
        "/spec/laneRef/name",
        "spec.laneRef",
        "Lane default/nope",
    ),
    (
        "ProviderConfig",
        "dokploy-main",
        "/spec/apiKeySecretRef/name",
        "spec.apiKeySecretRef",
        "Secret default/nope",
    ),
];

#[test]
fn every_dangling_reference_is_refused_naming_field_and_object() {
    for (kind, name, pointer, field, object) in DANGLING {
        let manifests = edited(kind, name, &|v| set(v, pointer, json!("nope")));
        let errors = decode(&manifests, LoadContext::isolated())
            .err()
            .unwrap_or_else(|| panic!("{kind} {pointer}: accepted"));
        assert_eq!(errors.len(), 1, "{kind} {pointer}: {errors:#?}");
        let shown = errors[0].to_string();
        assert!(
            shown.contains(&format!(": field {field}: {object} is not in the folder")),
            "{kind} {pointer}: {shown}"
        );
        assert!(shown.contains(&format!(": {kind}/default/")), "{shown}");
    }
}

#[test]
fn a_record_naming_a_missing_preview_is_refused() {
    let manifests = edited("DeploymentRecord", "", &|v| {
        remove(v, "/spec/laneRef");
        set(v, "/spec/previewRef", json!({"name": "shop-pr-7"}));
    });
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].field.as_deref(), Some("spec.previewRef"));
    assert!(
        errors[0]
            .message
            .starts_with("Preview default/shop-pr-7 is not in the folder")
    );
}

#[test]
fn references_do_not_cross_namespaces() {
    // The Product moved to another namespace: the Lanes in `default` no longer reach it.
    let manifests = edited("Product", "shop", &|v| {
        set(v, "/metadata/namespace", json!("web"))
    });
    let mut manifests = manifests;
    for m in manifests.iter_mut().filter(|m| m.kind == "Product") {
        m.namespace = "web".into();
    }
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    let lane = errors
        .iter()
        .find(|e| e.resource.as_deref() == Some("Lane/default/shop-prod"))
        .unwrap_or_else(|| panic!("{errors:#?}"));
    assert!(
        lane.message
            .contains("a Product shop is in namespace web, but references do not cross namespaces"),
        "{}",
        lane.message
    );
    // A namespace in a reference is not a field of the CRDs.
    let manifests = edited("Lane", "shop-prod", &|v| {
        set(v, "/spec/productRef", json!({"name": "shop", "namespace": "web"}));
    });
    let errors = decode(&manifests, LoadContext::isolated()).unwrap_err();
    assert_eq!(errors[0].field.as_deref(), Some("spec.productRef.namespace"));
    assert!(
        errors[0].message.contains("unknown field"),
        "{}",
        errors[0].message
    );
}

/// The key may come from `LAUNCHPLANE_API_KEY_<NAME>` instead of the Secret: with the variable
/// set, the Secret manifest may be absent or lack the key; with neither, the message says both.
#[test]
fn the_api_key_variable_stands_in_for_the_secret() {
    let without_secret: Vec<Manifest> = examples()
        .into_iter()
        .filter(|m| m.name != "dokploy-main-api-key")
        .collect();
    let errors = decode(&without_secret, LoadContext::isolated()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].field.as_deref(), Some("spec.apiKeySecretRef"));
    let message = &errors[0].message;
    assert!(
        message.starts_with("Secret default/dokploy-main-api-key is not in the folder")
            && message.contains("LAUNCHPLANE_API_KEY_DOKPLOY_MAIN"),
        "{message}"
    );
    let variable = |name: &str| (name == "LAUNCHPLANE_API_KEY_DOKPLOY_MAIN").then(|| "k".to_string());
    let with_variable = LoadContext {
        variable: &variable,
        ..LoadContext::isolated()
    };
    assert!(decode(&without_secret, with_variable).is_ok());

    let wrong_key = edited("ProviderConfig", "dokploy-main", &|v| {
        set(v, "/spec/apiKeySecretRef/key", json!("token"))
    });
    let errors = decode(&wrong_key, LoadContext::isolated()).unwrap_err();
    assert_eq!(errors[0].field.as_deref(), Some("spec.apiKeySecretRef.key"));
    assert!(
        errors[0]
            .message
            .starts_with("Secret default/dokploy-main-api-key has no key token"),
        "{}",
        errors[0].message
    );
    assert!(decode(&wrong_key, with_variable).is_ok());
    // An empty variable supplies nothing.
    let empty = |_: &str| Some(String::new());
    let empty = LoadContext {
        variable: &empty,
        ..LoadContext::isolated()
    };
    assert!(decode(&without_secret, empty).is_err());
}
