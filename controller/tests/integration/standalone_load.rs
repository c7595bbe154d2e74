//! Issue 12, D10, through the real binary: a folder standalone mode would once have reconciled
//! (or failed halfway, exit 1) is now refused as the API server would refuse it, with exit 2
//! and nothing reconciled: CEL rules, `specs:` typos, zero ttls, dangling references, and
//! immutable fields edited between two runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

/// The documents of docs/examples/ (a complete, valid folder), with their file stems.
fn examples() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        docs.extend(
            parsed
                .into_iter()
                .filter(|d| !d.is_null())
                .map(|d| (stem.clone(), d)),
        );
    }
    docs
}

/// Write `docs` into `dir`, one JSON file each (`<stem>-<i>.json`), replacing what was there.
fn write(dir: &Path, docs: &[(String, Value)]) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    for (i, (stem, doc)) in docs.iter().enumerate() {
        std::fs::write(dir.join(format!("{stem}-{i:02}.json")), doc.to_string()).unwrap();
    }
}

/// The examples with `edit` applied to `kind`/`name` (the first of `kind` when `name` is "").
fn edited(kind: &str, name: &str, edit: impl Fn(&mut Value)) -> Vec<(String, Value)> {
    let mut docs = examples();
    let (_, doc) = docs
        .iter_mut()
        .find(|(_, d)| d["kind"] == kind && (name.is_empty() || d["metadata"]["name"] == name))
        .unwrap_or_else(|| panic!("no {kind} {name}"));
    edit(doc);
    docs
}

/// `launchplane reconcile --once` on `dir`, the API key variable of the examples unset.
fn reconcile(dir: &Path, state: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "--once", "-f"])
        .arg(dir)
        .arg("--state")
        .arg(state)
        .env_remove("LAUNCHPLANE_API_KEY_DOKPLOY_MAIN")
        .output()
        .unwrap()
}

/// Run on `docs`; the run must be refused at load with a line holding every one of `says`.
fn refused(docs: &[(String, Value)], says: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (folder, state) = (dir.path().join("m"), dir.path().join("state"));
    write(&folder, docs);
    let out = reconcile(&folder, &state);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{says:?}: {stderr}");
    assert!(out.stdout.is_empty(), "nothing reconciled, nothing printed");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error: ") && says.iter().all(|s| l.contains(s))),
        "{says:?}:\n{stderr}"
    );
    assert!(stderr.contains("nothing was reconciled"), "{stderr}");
    assert!(!state.exists(), "a refused folder writes no state");
}

fn set(doc: &mut Value, pointer: &str, to: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent).unwrap()[key] = to;
}

#[test]
fn cel_rules_refuse_the_folder_with_exit_2() {
    let cases: [(&str, &str, &str, Value, &str, &str); 5] = [
        (
            "Product",
            "shop",
            "/spec/preview/slugTemplate",
            json!("pr"),
            "field spec.preview.slugTemplate",
            "slugTemplate must contain {number}",
        ),
        (
            "Product",
            "shop",
            "/spec/preview/baseDomain",
            Value::Null,
            "field spec.preview:",
            "preview.enabled needs preview.baseDomain",
        ),
        (
            "Lane",
            "shop-testing",
            "/spec/healthChecks/0/url",
            json!("https://shop.example.com/healthz"),
            "field spec.healthChecks[0]:",
            "exactly one of url",
        ),
        (
            "DeploymentRecord",
            "",
            "/spec/previewRef",
            json!({"name": "shop-pr-42"}),
            "field spec:",
            "set exactly one of laneRef",
        ),
        (
            "Preview",
            "shop-pr-42",
            "/spec/ttl",
            json!("0s"),
            "field spec.ttl",
            "ttl must be longer than zero",
        ),
    ];
    for (kind, name, pointer, to, field, says) in cases {
        let docs = edited(kind, name, |d| {
            if to.is_null() {
                let (parent, key) = pointer.rsplit_once('/').unwrap();
                d.pointer_mut(parent)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove(key);
            } else {
                set(d, pointer, to.clone());
            }
        });
        refused(&docs, &[&format!(": {kind}/default/"), field, says]);
    }
}

#[test]
fn a_specs_typo_is_refused_with_exit_2() {
    // A `specs:` block next to `spec:` (meant as an edit of it) was silently dropped.
    let docs = edited("Lane", "shop-prod", |d| {
        d["specs"] = json!({"suspend": true});
    });
    refused(&docs, &["Lane/default/shop-prod: field specs: unknown field"]);
}

#[test]
fn every_dangling_reference_kind_exits_2_naming_field_and_object() {
    let cases: [(&str, &str, &str, &str); 12] = [
        (
            "ProviderTarget",
            "shop-prod",
            "/spec/providerConfigRef/name",
            "spec.providerConfigRef",
        ),
        (
            "Product",
            "shop",
            "/spec/preview/templateTargetRef/name",
            "spec.preview.templateTargetRef",
        ),
        ("Lane", "shop-prod", "/spec/productRef/name", "spec.productRef"),
        ("Lane", "shop-prod", "/spec/targetRef/name", "spec.targetRef"),
        (
            "Lane",
            "shop-testing",
            "/spec/artifactRef/name",
            "spec.artifactRef",
        ),
        (
            "Lane",
            "shop-testing",
            "/spec/env/configMapRefs/0/name",
            "spec.env.configMapRefs[0]",
        ),
        (
            "Lane",
            "shop-testing",
            "/spec/env/secretRefs/0/name",
            "spec.env.secretRefs[0]",
        ),
        (
            "Preview",
            "shop-pr-42",
            "/spec/productRef/name",
            "spec.productRef",
        ),
        (
            "Preview",
            "shop-pr-42",
            "/spec/artifactRef/name",
            "spec.artifactRef",
        ),
        // Was ignored with exit 0: an evidence record naming a lane that does not exist.
        ("DeploymentRecord", "", "/spec/laneRef/name", "spec.laneRef"),
        ("DeploymentRecord", "", "/spec/targetRef/name", "spec.targetRef"),
        (
            "ProviderConfig",
            "dokploy-main",
            "/spec/apiKeySecretRef/name",
            "spec.apiKeySecretRef",
        ),
    ];
    for (kind, name, pointer, field) in cases {
        let docs = edited(kind, name, |d| set(d, pointer, json!("missing")));
        refused(
            &docs,
            &[
                &format!(": {kind}/default/"),
                &format!("field {field}: "),
                "default/missing is not in the folder",
            ],
        );
    }
}

#[test]
fn an_immutable_field_edited_between_runs_is_refused_until_the_object_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let (folder, state) = (dir.path().join("m"), dir.path().join("state"));
    // The examples' Artifact alone: loaded and accepted (the round itself has nothing to do).
    let artifact = |digest: &str| {
        let mut docs = examples();
        docs.retain(|(_, d)| d["kind"] == "Artifact" && d["metadata"]["name"] == "shop-3f2a9c1");
        set(&mut docs[0].1, "/spec/image/digest", json!(digest));
        docs
    };
    let first = format!("sha256:{}", "1".repeat(64));
    let second = format!("sha256:{}", "2".repeat(64));
    write(&folder, &artifact(&first));
    assert_ne!(reconcile(&folder, &state).status.code(), Some(2));

    write(&folder, &artifact(&second));
    let out = reconcile(&folder, &state);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "Artifact/default/shop-3f2a9c1: field spec.image.digest: image.digest is immutable: create a \
             new Artifact for a new build"
        ),
        "{stderr}"
    );

    // Removed from the folder, it is forgotten; added back, it is a new object.
    write(
        &folder,
        &[(
            "cm".into(),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        )],
    );
    assert_ne!(reconcile(&folder, &state).status.code(), Some(2));
    assert!(!state.join("accepted/artifact/default/shop-3f2a9c1.json").exists());
    write(&folder, &artifact(&second));
    let out = reconcile(&folder, &state);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
