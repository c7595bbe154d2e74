//! `launchplane targets audit` and `launchplane targets import` against the simulator: every
//! category of the audit from a folder and from the cluster (the fake API server), the import's
//! dry run, manifests written for a GitOps repo that the CRD accepts and that verify Matched, a
//! second identical run that changes nothing, `--apply` creating only, and no answer from a
//! partial reading. Neither command writes to Dokploy: the simulator's mutation journal stays
//! empty and only read routes are called.

#![allow(clippy::unwrap_used)]

use http::{Method, Request, Response};
use k8s_openapi::ByteString;
use kube::Client;
use kube::client::Body;
use launchplane::cli::targets::{
    AuditArgs, Env, ImportArgs, Output, SourceArgs, audit_cluster, audit_folder, import_cluster,
    import_folder,
};
use launchplane::standalone::inputs::{self, LoadContext};
use launchplane::standalone::manifests::load_dir;
use launchplane_api::resources::{
    LocalObjectRef, ManagementPolicy, ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec,
    SecretKeyRef,
};
use launchplane_api::validation::{SchemaValidator, validate_metadata};
use launchplane_e2e::sim::{DokploySim, Fault, SeedDocument, SimConfig};
use launchplane_testkit::FakeApiServer;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output as ProcessOutput};
use std::sync::Arc;

const INSTANCE: &str = "cluster-a";
const FOREIGN: &str = "Newsletter sender\nlaunchplane.dev/owner=cluster-eu/marketing/Lane/newsletter/6f1c2d3e-0000-4000-8000-000000000001";
const OUR_PREVIEW: &str = "Preview shop-pr-7\nlaunchplane.dev/owner=cluster-a/shop/Preview/shop-pr-7/uid-7";

/// An estate with one service of every kind the audit tells apart.
fn seed() -> SeedDocument {
    serde_json::from_value(json!({"projects": [
        {"name": "shop", "environments": [
            {"name": "production",
             "applications": [
                {"id": "app-web", "name": "web", "dockerImage": "ghcr.io/acme/web:1", "domains": ["web.shop.test"]},
                {"id": "app-api", "name": "api", "dockerImage": "ghcr.io/acme/api:1", "domains": ["api.shop.test"]},
                {"id": "app-twice", "name": "twice", "dockerImage": "ghcr.io/acme/twice:1"},
                {"id": "app-worker", "name": "worker", "dockerImage": "ghcr.io/acme/worker:1"},
                {"id": "app-wild", "name": "wild", "dockerImage": "ghcr.io/acme/wild:1", "domains": ["*.wild.shop.test"]},
                {"id": "app-pr-7", "name": "shop-pr-7", "dockerImage": "ghcr.io/acme/web:2", "description": OUR_PREVIEW}
             ],
             "compose": [
                {"name": "search", "composeFile": "services:\n  meili:\n    image: getmeili/meilisearch:v1\n",
                 "domains": ["search.shop.test"], "serviceName": "meili"}
             ]},
            {"name": "staging",
             "applications": [{"id": "app-web-staging", "name": "web", "dockerImage": "ghcr.io/acme/web:2"}]}
        ]},
        {"name": "blog", "environments": [
            {"name": "production",
             "applications": [
                {"id": "app-cron-a", "name": "cron", "dockerImage": "ghcr.io/acme/cron:1"},
                {"id": "app-cron-b", "name": "cron", "dockerImage": "ghcr.io/acme/cron:2"},
                {"id": "app-newsletter", "name": "newsletter", "dockerImage": "ghcr.io/acme/news:1", "description": FOREIGN}
             ]}
        ]}
    ]}))
    .unwrap()
}

/// The simulator with [`seed`], and the compose's (random) id.
async fn estate() -> (DokploySim, String) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let ids = sim.seed(&seed());
    let search = ids["projects"]["shop"]["environments"]["production"]["compose"]["search"]
        .as_str()
        .unwrap()
        .to_string();
    (sim, search)
}

fn target(name: &str, id: Option<&str>, display: &str, domains: &[&str]) -> ProviderTarget {
    let mut t = ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef {
                name: "dokploy".into(),
            },
            target_id: id.map(str::to_string),
            display_name: display.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        },
    );
    t.metadata.namespace = Some("shop".into());
    t
}

/// The ProviderTargets a team wrote before adopting the rest: one that matches, one with a
/// domain that drifted, two on one application, one whose application is gone, and one
/// adopting by a name two applications have.
fn existing_targets() -> Vec<ProviderTarget> {
    vec![
        target("web", Some("app-web"), "web", &["web.shop.test"]),
        target("api", Some("app-api"), "api", &["api.shop.example"]),
        target("twice-a", Some("app-twice"), "twice", &[]),
        target("twice-b", Some("app-twice"), "twice", &[]),
        target("gone", Some("app-gone"), "gone", &[]),
        target("by-name", None, "web", &[]),
    ]
}

fn config(url: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: url.into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-key".into(),
                key: "api-key".into(),
            },
            ..Default::default()
        },
    );
    c.metadata.namespace = Some("shop".into());
    c
}

fn yaml(value: &impl serde::Serialize) -> String {
    serde_saphyr::to_string(value).unwrap()
}

/// The GitOps folder: the ProviderConfig, a placeholder Secret (the key comes from the
/// environment), and the existing ProviderTargets.
fn write_folder(dir: &Path, sim: &DokploySim) {
    let mut docs = vec![
        yaml(&config(&sim.base_url())),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: dokploy-key, namespace: shop}\nstringData: {api-key: placeholder}\n"
            .to_string(),
    ];
    docs.extend(existing_targets().iter().map(yaml));
    std::fs::write(dir.join("launchplane.yaml"), docs.join("---\n")).unwrap();
}

fn source(dir: Option<&Path>) -> SourceArgs {
    SourceArgs {
        provider_config: "dokploy".into(),
        namespace: Some("shop".into()),
        dir: dir.map(Path::to_path_buf),
        state: None,
        instance_id: Some(INSTANCE.into()),
    }
}

fn env(sim: &DokploySim) -> Arc<Env> {
    let key = sim.api_key();
    Arc::new(move |name: &str| (name == "LAUNCHPLANE_API_KEY_DOKPLOY").then(|| key.clone()))
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn states(audit: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in audit["services"].as_array().unwrap() {
        out.insert(
            s["id"].as_str().unwrap().to_string(),
            s["state"].as_str().unwrap().to_string(),
        );
    }
    for t in audit["targets"].as_array().unwrap() {
        out.insert(
            t["target"].as_str().unwrap().to_string(),
            t["state"].as_str().unwrap().to_string(),
        );
    }
    out
}

fn expected_states(search: &str) -> BTreeMap<String, String> {
    [
        ("app-web", "matched"),
        ("app-api", "mismatch"),
        ("app-twice", "claimed-twice"),
        ("app-worker", "unclaimed"),
        ("app-wild", "unclaimed"),
        ("app-pr-7", "unclaimed"),
        (search, "unclaimed"),
        ("app-web-staging", "ambiguous-claim"),
        ("app-cron-a", "duplicate-name"),
        ("app-cron-b", "duplicate-name"),
        ("app-newsletter", "foreign-marker"),
        ("shop/gone", "gone"),
        ("shop/by-name", "ambiguous"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Only reads reached Dokploy: no mutation passed, and no mutating route was even called.
fn read_only(sim: &DokploySim) {
    assert_eq!(sim.mutations(), vec![], "the journal of Dokploy writes");
    let called: Vec<String> = sim.call_counts().into_keys().collect();
    for route in &called {
        assert!(
            [
                "overview.services",
                "overview.domains",
                "deployment.allCentralized",
                "application.one",
                "compose.one",
                "settings.getDokployVersion"
            ]
            .contains(&route.as_str()),
            "{route} was called: {called:?}"
        );
    }
}

fn import_args(dir: Option<&Path>, out: Option<&Path>) -> ImportArgs {
    ImportArgs {
        source: source(dir),
        out: out.map(Path::to_path_buf),
        output: Output::Json,
        ..ImportArgs::default()
    }
}

fn outcomes(import: &Value) -> BTreeMap<String, String> {
    import["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn binary(args: &[&str], dir: &Path, sim: &DokploySim) -> ProcessOutput {
    Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["targets"])
        .args(args)
        .arg("-f")
        .arg(dir)
        .args([
            "--provider-config",
            "dokploy",
            "-n",
            "shop",
            "--instance-id",
            INSTANCE,
        ])
        .env("LAUNCHPLANE_API_KEY_DOKPLOY", sim.api_key())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

#[test]
fn audit_then_import_a_folder_then_a_second_import_changes_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (sim, search) = runtime.block_on(estate());
    let repo = tempfile::tempdir().unwrap();
    write_folder(repo.path(), &sim);

    // The audit, through the binary: every category, exit 1 (things block adoption).
    let out = binary(&["audit", "-o", "json"], repo.path(), &sim);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = json_of(&stdout);
    assert_eq!(states(&audit), expected_states(&search));
    assert_eq!(audit["blocking"], true);
    assert_eq!(audit["instance"], INSTANCE);
    let api = audit["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "app-api")
        .unwrap();
    assert_eq!(
        api["mismatches"],
        json!([{"field": "domains", "expected": "api.shop.example", "observed": "api.shop.test"}])
    );
    assert_eq!(
        audit["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "app-twice")
            .unwrap()["claimedBy"],
        json!(["shop/twice-a", "shop/twice-b"])
    );
    read_only(&sim);

    // The dry run: rows and counts, nothing written anywhere.
    let dry = runtime.block_on(import_folder(
        &import_args(Some(repo.path()), None),
        repo.path(),
        env(&sim),
    ));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let dry = json_of(&dry.stdout);
    assert_eq!(dry["mode"], "dry-run");
    let mut want: BTreeMap<String, String> = [
        ("app-web", "skipped-exists"),
        ("app-api", "skipped-exists"),
        ("app-twice", "skipped-exists"),
        ("app-worker", "would-create"),
        ("app-wild", "skipped-incomplete"),
        ("app-pr-7", "unsupported"),
        (search.as_str(), "would-create"),
        ("app-web-staging", "skipped-conflict"),
        ("app-cron-a", "skipped-conflict"),
        ("app-cron-b", "skipped-conflict"),
        ("app-newsletter", "skipped-conflict"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(outcomes(&dry), want);
    assert_eq!(
        dry["counts"],
        json!({"would-create": 2, "skipped-exists": 3, "skipped-incomplete": 1, "skipped-conflict": 4, "unsupported": 1})
    );

    // Into the repository: one manifest per importable service.
    let imported = repo.path().join("imported");
    let first = runtime.block_on(import_folder(
        &import_args(Some(repo.path()), Some(&imported)),
        repo.path(),
        env(&sim),
    ));
    assert_eq!(first.code, 0, "{}", first.stderr);
    want.insert("app-worker".into(), "written".into());
    want.insert(search.clone(), "written".into());
    assert_eq!(outcomes(&json_of(&first.stdout)), want);
    let mut files: Vec<String> = std::fs::read_dir(&imported)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["shop-production-search.yaml", "shop-production-worker.yaml"]
    );
    let worker = std::fs::read_to_string(imported.join("shop-production-worker.yaml")).unwrap();
    assert_eq!(
        worker,
        "apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata:\n  name: shop-production-worker\n  \
         namespace: shop\nspec:\n  providerConfigRef:\n    name: dokploy\n  targetCategory: application\n  \
         targetId: app-worker\n  displayName: worker\n  project: shop\n  environment: production\n  \
         managementPolicy: Observe\n"
    );
    valid_manifests(repo.path(), &imported);
    let before = snapshot(&imported);

    // The same run again: everything claimed by the files of the first, nothing written.
    let second = runtime.block_on(import_folder(
        &import_args(Some(repo.path()), Some(&imported)),
        repo.path(),
        env(&sim),
    ));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let second = json_of(&second.stdout);
    assert_eq!(second["counts"]["would-create"], 0);
    assert_eq!(second["counts"].get("written"), None);
    assert_eq!(outcomes(&second)["app-worker"], "skipped-exists");
    assert_eq!(outcomes(&second)[&search], "skipped-exists");
    assert_eq!(snapshot(&imported), before);

    // Into a folder outside the repository, twice: the second finds its files and keeps them.
    let elsewhere = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let run = runtime.block_on(import_folder(
            &import_args(Some(repo.path()), Some(elsewhere.path())),
            repo.path(),
            env(&sim),
        ));
        let json = json_of(&run.stdout);
        // The repository's own imports claim both already.
        assert_eq!(json["counts"]["would-create"], 0, "round {round}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
    read_only(&sim);

    // The audit now: the imports match; what blocked before still blocks.
    let after = runtime.block_on(audit_folder(
        &AuditArgs {
            source: source(Some(repo.path())),
            output: Output::Json,
        },
        repo.path(),
        env(&sim),
    ));
    assert_eq!(after.code, 1);
    let after = states(&json_of(&after.stdout));
    assert_eq!(after["app-worker"], "matched");
    assert_eq!(after[&search], "matched");

    // And standalone mode verifies them Matched.
    let state = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "--once", "--output", "json", "-f"])
        .arg(repo.path())
        .arg("--state")
        .arg(state.path())
        .env("LAUNCHPLANE_API_KEY_DOKPLOY", sim.api_key())
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&run.stdout).unwrap();
    for name in ["shop-production-worker", "shop-production-search"] {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {rows}"));
        assert_eq!(row["verdict"], "Matched", "{row}");
    }
    runtime.block_on(sim.shutdown());
}

/// Every file in `dir`, by name, with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The written manifests pass the API's validation (metadata, schema and CEL rules of the
/// ProviderTarget CRD) and load with the repository as standalone mode loads a folder.
fn valid_manifests(repo: &Path, imported: &Path) {
    let schema = launchplane_core::adoption::import::provider_target_schema().unwrap();
    let mut validator = SchemaValidator::new();
    let (manifests, errors) = load_dir(imported);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(manifests.len(), 2);
    for m in &manifests {
        let mut violations = validate_metadata(&m.value["metadata"]);
        violations.extend(validator.validate_object(&schema, &m.value, None));
        assert!(violations.is_empty(), "{}: {violations:?}", m.file.display());
    }
    let (all, errors) = load_dir(repo);
    assert!(errors.is_empty(), "{errors:?}");
    let variable = |name: &str| (name == "LAUNCHPLANE_API_KEY_DOKPLOY").then(|| "k".to_string());
    let nothing = |_: &str, _: &str, _: &str| None;
    let loaded = inputs::decode(
        &all,
        LoadContext {
            variable: &variable,
            accepted: &nothing,
        },
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        loaded
            .targets
            .iter()
            .all(|t| t.spec.provider_config_ref.name == "dokploy")
    );
    let imported: Vec<&ProviderTarget> = loaded
        .targets
        .iter()
        .filter(|t| {
            t.metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("shop-production-")
        })
        .collect();
    assert_eq!(imported.len(), 2);
    assert!(
        imported
            .iter()
            .all(|t| t.spec.management_policy == ManagementPolicy::Observe)
    );
}

#[test]
fn no_answer_and_nothing_written_when_dokploy_cannot_be_read_whole() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (sim, _) = runtime.block_on(estate());
    let repo = tempfile::tempdir().unwrap();
    write_folder(repo.path(), &sim);
    let out = repo.path().join("imported");
    for (route, fault) in [
        ("compose.one", Fault::Status(503)),
        ("application.one", Fault::MalformedBody),
        ("overview.services", Fault::Status(500)),
        ("overview.domains", Fault::UnauthorizedAfter(0)),
    ] {
        sim.clear_faults();
        sim.inject(route, fault);
        let audit = binary(&["audit"], repo.path(), &sim);
        let stderr = String::from_utf8_lossy(&audit.stderr);
        assert_eq!(audit.status.code(), Some(2), "{route}: {stderr}");
        assert!(audit.stdout.is_empty(), "{route}: no partial answer");
        assert!(
            stderr.contains("cannot read Dokploy") && stderr.contains(route),
            "{route}: {stderr}"
        );

        let import = binary(&["import", "--out", out.to_str().unwrap()], repo.path(), &sim);
        assert_eq!(import.status.code(), Some(2), "{route}");
        assert!(!out.exists(), "{route}: nothing written");
    }
    read_only(&sim);
    runtime.block_on(sim.shutdown());
}

/// The cluster holds the ProviderConfig, its Secret and the ProviderTargets (statuses
/// included); every call the commands make to it is recorded.
fn cluster(sim: &DokploySim) -> FakeApiServer {
    let server = FakeApiServer::new();
    server.put(&config(&sim.base_url()));
    server.put_secret("shop", "dokploy-key", &[("api-key", sim.api_key().as_bytes())]);
    for t in existing_targets() {
        server.put(&t);
    }
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_and_apply_in_the_cluster_create_only_and_only_once() {
    let (sim, search) = estate().await;
    let server = cluster(&sim);

    let audit = audit_cluster(
        server.client(),
        &AuditArgs {
            source: source(None),
            output: Output::Json,
        },
    )
    .await;
    assert_eq!(audit.code, 1, "{}", audit.stderr);
    assert_eq!(states(&json_of(&audit.stdout)), expected_states(&search));
    assert!(
        server.calls().iter().all(|c| c.method == Method::GET),
        "{:?}",
        server.calls()
    );
    // `kubectl launchplane audit` is the same command: the same answer, exit code and rows.
    let plugin = launchplane::cli::plugin::answer(
        &server.client(),
        launchplane::cli::plugin::connect::Scope::Namespace("shop".into()),
        &launchplane::cli::plugin::PluginCommand::Audit(launchplane::cli::plugin::AuditCmd {
            provider_config: "dokploy".into(),
            instance_id: Some(INSTANCE.into()),
        }),
        launchplane::cli::plugin::output::Format::Json,
        jiff::Timestamp::now(),
        false,
    )
    .await;
    assert_eq!(plugin.code, audit.code, "{}", plugin.stderr);
    let (plugin, audit) = (json_of(&plugin.stdout), json_of(&audit.stdout));
    assert_eq!(states(&plugin), states(&audit));
    assert_eq!(plugin["counts"], audit["counts"]);

    let args = ImportArgs {
        apply: true,
        ..import_args(None, None)
    };
    let first = import_cluster(server.client(), &args).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first = json_of(&first.stdout);
    assert_eq!(first["mode"], "apply");
    assert_eq!(outcomes(&first)["app-worker"], "created");
    assert_eq!(outcomes(&first)[&search], "created");
    assert_eq!(first["counts"]["created"], 2);
    let created: Vec<ProviderTarget> = server.objects("shop");
    let worker = created
        .iter()
        .find(|t| t.metadata.name.as_deref() == Some("shop-production-worker"))
        .unwrap();
    assert_eq!(worker.spec.target_id.as_deref(), Some("app-worker"));
    assert_eq!(worker.spec.management_policy, ManagementPolicy::Observe);
    let writes = |server: &FakeApiServer| -> Vec<(Method, String)> {
        server
            .calls()
            .into_iter()
            .filter(|c| c.method != Method::GET)
            .map(|c| (c.method, c.path))
            .collect()
    };
    let collection = "/apis/launchplane.dev/v1alpha1/namespaces/shop/providertargets".to_string();
    assert_eq!(
        writes(&server),
        [(Method::POST, collection.clone()), (Method::POST, collection)]
    );

    let second = import_cluster(server.client(), &args).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let second = json_of(&second.stdout);
    assert_eq!(second["counts"].get("created"), None);
    assert_eq!(second["counts"]["would-create"], 0);
    assert_eq!(writes(&server).len(), 2, "the second run created nothing");
    read_only(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_a_cluster_or_with_a_folder_is_refused() {
    let (sim, _) = estate().await;
    let repo = tempfile::tempdir().unwrap();
    write_folder(repo.path(), &sim);
    let refused = import_folder(
        &ImportArgs {
            apply: true,
            ..import_args(Some(repo.path()), None)
        },
        repo.path(),
        env(&sim),
    )
    .await;
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--out DIR"), "{}", refused.stderr);
    assert!(sim.call_counts().is_empty(), "nothing was read");
    sim.shutdown().await;
}

/// An API server scripted call by call (the tower-test verifier pattern): the
/// ProviderTarget the import would create appears between the list and the create, so the
/// create answers 409, which is `skipped-exists`; nothing is ever updated.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_finds_the_target_created_meanwhile_skips_it() {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    sim.seed(
        &serde_json::from_value(json!({"projects": [{"name": "shop", "environments": [{"name": "production",
            "applications": [{"id": "app-worker", "name": "worker"}, {"id": "app-admin", "name": "admin"}]}]}]}))
        .unwrap(),
    );
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "shop");
    let config = serde_json::to_value(config(&sim.base_url())).unwrap();
    let api_key = sim.api_key();
    let server = tokio::spawn(async move {
        let mut creates = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (method, path) = (request.method().clone(), request.uri().path().to_string());
            let (code, body) = match (method.clone(), path.as_str()) {
                (Method::GET, "/apis/launchplane.dev/v1alpha1/namespaces/shop/providerconfigs/dokploy") => {
                    (200, config.clone())
                }
                (Method::GET, "/apis/launchplane.dev/v1alpha1/namespaces/shop/providertargets") => (
                    200,
                    json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": "ProviderTargetList",
                           "metadata": {"resourceVersion": "1"}, "items": []}),
                ),
                (Method::GET, "/api/v1/namespaces/shop/secrets/dokploy-key") => (
                    200,
                    json!({"apiVersion": "v1", "kind": "Secret",
                           "metadata": {"name": "dokploy-key", "namespace": "shop"},
                           "data": {"api-key": ByteString(api_key.clone().into_bytes())}}),
                ),
                (Method::POST, "/apis/launchplane.dev/v1alpha1/namespaces/shop/providertargets") => {
                    let bytes = request.into_body().collect_bytes().await.unwrap();
                    let object: Value = serde_json::from_slice(&bytes).unwrap();
                    let name = object["metadata"]["name"].as_str().unwrap().to_string();
                    creates.push(name.clone());
                    if name == "shop-production-admin" {
                        (
                            409,
                            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                   "reason": "AlreadyExists", "code": 409,
                                   "message": format!("providertargets \"{name}\" already exists")}),
                        )
                    } else {
                        (201, object)
                    }
                }
                other => panic!("unexpected call {other:?}: an import only reads and creates"),
            };
            send.send_response(
                Response::builder()
                    .status(code)
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            );
        }
        creates
    });
    let answer = import_cluster(
        client,
        &ImportArgs {
            apply: true,
            ..import_args(None, None)
        },
    )
    .await;
    let creates = server.await.unwrap();
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    assert_eq!(creates, ["shop-production-admin", "shop-production-worker"]);
    let json = json_of(&answer.stdout);
    assert_eq!(outcomes(&json)["app-admin"], "skipped-exists");
    assert_eq!(outcomes(&json)["app-worker"], "created");
    let admin = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "app-admin")
        .unwrap();
    assert_eq!(
        admin["detail"],
        "ProviderTarget shop/shop-production-admin exists already; left as it is"
    );
    sim.shutdown().await;
}
