//! Every manifest in docs/examples/ is a valid object of its kind: it deserializes into the Rust
//! type, passes the CRD's OpenAPI validation (no unknown fields) and CEL rules as the standalone
//! evaluator runs them, and its references point at objects defined in the examples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DeploymentRecord, Lane, Preview, Product, Promotion, ProviderConfig,
    ProviderTarget, RuntimeIdentity,
};
use launchplane_api::validation::{SchemaValidator, validate_metadata};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use support::schema_of;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
}

/// Every document of every example file, with its file name.
fn documents() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .expect("docs/examples exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no examples found");
    let mut docs = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{name}: not YAML: {e}"));
        for doc in parsed.into_iter().filter(|d| !d.is_null()) {
            docs.push((name.clone(), doc));
        }
    }
    docs
}

fn parse<K: DeserializeOwned>(file: &str, doc: &Value) {
    let de = serde_json::from_value::<K>(doc.clone());
    if let Err(e) = de {
        panic!("{file}: {} does not deserialize: {e}", doc["metadata"]["name"]);
    }
}

#[test]
fn every_example_parses_into_its_type_and_passes_the_schema() {
    let mut kinds = BTreeSet::new();
    let mut validator = SchemaValidator::new();
    let dns1123 = regex::Regex::new(launchplane_api::resources::DNS1123_LABEL_PATTERN).unwrap();
    for (file, doc) in documents() {
        let kind = doc["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: a document without kind"));
        if kind == "Secret" || kind == "ConfigMap" {
            assert_eq!(doc["apiVersion"], "v1", "{file}");
            continue;
        }
        assert_eq!(doc["apiVersion"], "launchplane.dev/v1alpha1", "{file}: {kind}");
        match kind {
            "ProviderConfig" => parse::<ProviderConfig>(&file, &doc),
            "ProviderTarget" => parse::<ProviderTarget>(&file, &doc),
            "Product" => parse::<Product>(&file, &doc),
            "Lane" => parse::<Lane>(&file, &doc),
            "Preview" => parse::<Preview>(&file, &doc),
            "RuntimeIdentity" => parse::<RuntimeIdentity>(&file, &doc),
            "Artifact" => parse::<Artifact>(&file, &doc),
            "DeploymentRecord" => parse::<DeploymentRecord>(&file, &doc),
            "Promotion" => parse::<Promotion>(&file, &doc),
            "BackupGate" => parse::<BackupGate>(&file, &doc),
            "Approval" => parse::<Approval>(&file, &doc),
            other => panic!("{file}: unexpected kind {other}"),
        }
        let schema = schema_of(kind);
        let errors: Vec<String> = validator
            .validate_object(&schema, &doc, None)
            .iter()
            .chain(&validate_metadata(&doc["metadata"]))
            .map(ToString::to_string)
            .collect();
        assert!(
            errors.is_empty(),
            "{file}: {kind} {}:\n{}",
            doc["metadata"]["name"],
            errors.join("\n")
        );
        let name = doc["metadata"]["name"].as_str().unwrap_or_default();
        assert!(
            dns1123.is_match(name),
            "{file}: {kind} name {name:?} is not a DNS-1123 label"
        );
        kinds.insert(kind.to_string());
    }
    let all: BTreeSet<String> = [
        "ProviderConfig",
        "ProviderTarget",
        "Product",
        "Lane",
        "Preview",
        "RuntimeIdentity",
        "Artifact",
        "DeploymentRecord",
        "Promotion",
        "BackupGate",
        "Approval",
    ]
    .map(String::from)
    .into();
    assert_eq!(kinds, all, "every kind needs at least one example");
}

#[test]
fn example_references_resolve() {
    let docs = documents();
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, doc) in &docs {
        names
            .entry(doc["kind"].as_str().unwrap_or_default().to_string())
            .or_default()
            .insert(doc["metadata"]["name"].as_str().unwrap_or_default().to_string());
    }
    let exists = |kind: &str, name: &Value| {
        let name = name.as_str().unwrap_or_default();
        names.get(kind).is_some_and(|n| n.contains(name))
    };
    for (file, doc) in &docs {
        let s = &doc["spec"];
        let refs: Vec<(&str, &Value)> = match doc["kind"].as_str().unwrap_or_default() {
            "ProviderConfig" => vec![("Secret", &s["apiKeySecretRef"]["name"])],
            "ProviderTarget" => vec![("ProviderConfig", &s["providerConfigRef"]["name"])],
            "Product" => vec![("ProviderTarget", &s["preview"]["templateTargetRef"]["name"])],
            "Lane" => {
                let mut r = vec![
                    ("Product", &s["productRef"]["name"]),
                    ("ProviderTarget", &s["targetRef"]["name"]),
                ];
                // A lane fed by Promotions has no artifactRef (CEL refuses one beside it).
                if s.get("artifactRef").is_some() {
                    r.push(("Artifact", &s["artifactRef"]["name"]));
                }
                if s.get("promotion").is_some() {
                    r.push(("Lane", &s["promotion"]["sourceLane"]));
                }
                r
            }
            "Preview" => vec![
                ("Product", &s["productRef"]["name"]),
                ("Artifact", &s["artifactRef"]["name"]),
            ],
            "DeploymentRecord" => {
                let mut r = vec![
                    ("Lane", &s["laneRef"]["name"]),
                    ("Artifact", &s["artifactRef"]["name"]),
                    ("ProviderTarget", &s["targetRef"]["name"]),
                ];
                if s.get("promotionRef").is_some() {
                    r.push(("Promotion", &s["promotionRef"]["name"]));
                }
                r
            }
            "Approval" => vec![("Promotion", &s["promotionRef"]["name"])],
            "Promotion" => vec![
                ("Product", &s["productRef"]["name"]),
                ("Lane", &s["fromLane"]),
                ("Lane", &s["toLane"]),
                ("Artifact", &s["artifactRef"]["name"]),
            ],
            "BackupGate" => vec![("Lane", &s["laneRef"]["name"])],
            _ => vec![],
        };
        for (kind, name) in refs {
            assert!(
                exists(kind, name),
                "{file}: {} refers to a missing {kind} {name}",
                doc["metadata"]["name"]
            );
        }
    }
}

#[test]
fn the_example_preview_is_pull_request_42_of_shop() {
    let docs = documents();
    let (_, doc) = docs
        .iter()
        .find(|(_, d)| d["kind"] == "Preview")
        .expect("a Preview example");
    let preview: Preview = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(preview.spec.pull_request.number, 42);
    assert_eq!(preview.spec.product_ref.name, "shop");
    let (_, product) = docs.iter().find(|(_, d)| d["kind"] == "Product").unwrap();
    let product: Product = serde_json::from_value(product.clone()).unwrap();
    assert_eq!(product.spec.preview.slug(42), "pr-42");
    // The preview artifact was built from the pull request's head commit.
    let (_, artifact) = docs
        .iter()
        .find(|(_, d)| {
            d["kind"] == "Artifact" && d["metadata"]["name"] == preview.spec.artifact_ref.name.as_str()
        })
        .unwrap();
    let artifact: Artifact = serde_json::from_value(artifact.clone()).unwrap();
    assert_eq!(artifact.spec.source.commit, preview.spec.pull_request.head_sha);
}
