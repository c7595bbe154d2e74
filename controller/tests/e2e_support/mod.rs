//! What the e2e tests (`tests/e2e_*.rs`) share: the connection to the cluster (and when to
//! skip), throw-away namespaces, and the objects every scenario starts from.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, Lane, LanePromotion, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, PreviewPolicy, Product, ProductSpec, Promotion, PromotionSpec, ProviderTarget,
    ProviderTargetSpec, SourceRef, TargetCategory,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The field manager of what the e2e tests apply.
pub const MANAGER: &str = "launchplane-e2e";

/// A client for the cluster in KUBECONFIG, or `None` after saying why the test is skipped.
pub async fn connect(test: &str) -> Option<Client> {
    // scripts/e2e.sh sets this once it has a cluster: from then on a test that cannot reach
    // it fails rather than skips (CI must never pass on a skipped e2e tier).
    let required = std::env::var_os("LAUNCHPLANE_E2E_REQUIRED").is_some();
    let skip = |why: String| {
        assert!(
            !required,
            "{test}: no cluster although scripts/e2e.sh set one up: {why}"
        );
        eprintln!("SKIPPED: {test} ({why})");
    };
    if std::env::var_os("KUBECONFIG").is_none() {
        skip("KUBECONFIG is not set; make e2e starts a local API server".into());
        return None;
    }
    launchplane_providers::install_crypto_provider();
    // RUST_LOG=launchplane=debug shows what the in-process controllers did.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let client = match Client::try_default().await {
        Ok(client) => client,
        Err(error) => {
            skip(format!("no usable kubeconfig: {error}"));
            return None;
        }
    };
    if let Err(error) = tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
        .await
        .map_err(|_| "timed out".to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        skip(format!("cluster unreachable: {error}"));
        return None;
    }
    Some(client)
}

/// Creates each of `names`, labelled `launchplane.dev/e2e=true`; returns the Namespace API.
pub async fn create_namespaces(client: &Client, names: &[&str]) -> Api<Namespace> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in names {
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(name.to_string());
        namespace.metadata.labels = Some(BTreeMap::from([("launchplane.dev/e2e".into(), "true".into())]));
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
    }
    namespaces
}

/// Deletes `names` (best effort, whatever happened), then re-raises the scenario's panic.
pub async fn clean_up(namespaces: &Api<Namespace>, names: &[&str], outcome: std::thread::Result<()>) {
    for name in names {
        let _ = namespaces.delete(name, &DeleteParams::default()).await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// An Application target named `name` on the ProviderConfig `config`, bound to `id`.
pub fn app_target(name: &str, config: &str, id: Option<String>, display: &str) -> ProviderTarget {
    ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new(config),
            target_category: TargetCategory::Application,
            target_id: id,
            display_name: display.into(),
            ..ProviderTargetSpec::default()
        },
    )
}

/// The `shop` Product (display name, repository, image repository) with `preview`.
pub fn shop_product(preview: PreviewPolicy) -> Product {
    Product::new(
        "shop",
        ProductSpec {
            display_name: "Shop".into(),
            repository: "github.com/acme/shop".into(),
            image_repository: "ghcr.io/acme/shop".into(),
            preview,
            ..ProductSpec::default()
        },
    )
}

/// The shop image whose digest and commit are all `a`s, as the Artifact `name`.
pub fn artifact_a(name: &str) -> Artifact {
    Artifact::new(
        name,
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "a".repeat(40),
            },
            ..ArtifactSpec::default()
        },
    )
}

/// The controllers (`launchplane::k8s::run`), running in-process on a task until stopped.
pub struct Controllers {
    stop: futures::channel::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), reqwest::Error>>,
}

impl Controllers {
    /// Runs the controllers watching only `ns`, as replica `instance`.
    pub fn start(client: &Client, ns: &str, instance: &str) -> Self {
        Self::start_with(
            client,
            launchplane::k8s::run::RunOptions {
                watch_namespace: Some(ns.to_string()),
                instance: Some(instance.into()),
                preview_probe_via: None,
                instance_id: Some(format!("{instance}-{ns}")),
                feedback: None,
            },
        )
    }

    /// Runs the controllers with `options` (probe path, PR feedback, ...).
    pub fn start_with(client: &Client, options: launchplane::k8s::run::RunOptions) -> Self {
        use futures::FutureExt;
        let (stop, shutdown) = futures::channel::oneshot::channel::<()>();
        let task = tokio::spawn(launchplane::k8s::run::run(
            client.clone(),
            options,
            std::sync::Arc::new(launchplane::metrics::Metrics::new()),
            std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
            shutdown.map(|_| ()).boxed().shared(),
        ));
        Self { stop, task }
    }

    /// Signals shutdown and waits up to 10 s for the controllers to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// The `dokploy-main-api-key` Secret and the `dokploy-main` ProviderConfig (polling every
/// 5 s) for the simulator, created in `ns`.
pub async fn create_sim_provider_config(client: &Client, ns: &str, sim: &launchplane_e2e::sim::DokploySim) {
    use k8s_openapi::api::core::v1::Secret;
    use launchplane_api::resources::{ProviderConfig, ProviderConfigSpec, SecretKeyRef};
    let mut secret = Secret::default();
    secret.metadata.name = Some("dokploy-main-api-key".into());
    secret.string_data = Some(BTreeMap::from([("api-key".into(), sim.api_key())]));
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let config = ProviderConfig::new(
        "dokploy-main",
        ProviderConfigSpec {
            url: sim.base_url(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-main-api-key".into(),
                key: "api-key".into(),
            },
            poll_interval_seconds: 5,
            ..ProviderConfigSpec::default()
        },
    );
    Api::<ProviderConfig>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
}

/// Server-side apply every CRD in crds/ and wait until each is established.
pub async fn apply_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let crd: CustomResourceDefinition = serde_saphyr::from_str(&text).unwrap();
        let name = crd.metadata.name.clone().unwrap();
        api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(api.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .expect("CRD established in time")
        .unwrap();
    }
}

/// The chart's ValidatingAdmissionPolicy and binding, rendered by `helm` in namespace mode for
/// `ns` (release `launchplane` in `ns`, so the cluster-scoped names are the namespace's own).
pub async fn render_approval_policy(
    helm: &Path,
    ns: &str,
) -> (ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding) {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/launchplane");
    let out = tokio::process::Command::new(helm)
        .args(["template", "launchplane"])
        .arg(&chart)
        .args(["--namespace", ns, "--set", &format!("watchNamespace={ns}")])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let one = |kind: &str| {
        let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "the chart must render one {kind} by default");
        found[0].clone()
    };
    (
        serde_json::from_value(one("ValidatingAdmissionPolicy")).unwrap(),
        serde_json::from_value(one("ValidatingAdmissionPolicyBinding")).unwrap(),
    )
}

/// Wait up to `step` until `name` (watched on `api`) satisfies `done`; otherwise fail naming
/// `what` and showing the object as it is (without its managed fields).
pub async fn wait_until<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    step: Duration,
    done: impl Fn(&K) -> bool + Send + 'static,
) -> K
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let waited = tokio::time::timeout(
        step,
        await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&done)),
    )
    .await;
    match waited {
        Ok(Ok(Some(object))) => object,
        Ok(Err(error)) => panic!("watching {name}: {error}"),
        _ => {
            let mut now = api.get_opt(name).await.ok().flatten();
            if let Some(o) = now.as_mut() {
                o.meta_mut().managed_fields = None;
            }
            panic!("{what}: not within {step:?}; it is {now:#?}")
        }
    }
}

/// One e2e scenario in a throw-away namespace `<prefix>-<millis>`: connects (or says why it is
/// skipped), applies the CRDs, runs `scenario(client, namespace)`, prints how long it took as
/// `<test>: the scenario took …`, and deletes the namespace whatever happened.
pub async fn run_in_namespace<F, Fut>(test: &str, prefix: &str, scenario: F)
where
    F: FnOnce(Client, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::FutureExt;
    let Some(client) = connect(&format!("{test} test")).await else {
        return;
    };
    apply_crds(&client).await;
    let ns = format!("{prefix}-{}", jiff::Timestamp::now().as_millisecond());
    let namespaces = create_namespaces(&client, &[&ns]).await;
    let started = std::time::Instant::now();
    let outcome = std::panic::AssertUnwindSafe(scenario(client.clone(), ns.clone()))
        .catch_unwind()
        .await;
    eprintln!(
        "{test}: the scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    clean_up(&namespaces, &[&ns], outcome).await;
}

/// A Promotion of shop's `artifact` into `to`, from `from` (`None`: a rollback).
pub fn promotion(name: &str, from: Option<&str>, to: &str, artifact: &str) -> Promotion {
    Promotion::new(
        name,
        PromotionSpec {
            product_ref: LocalObjectRef::new("shop"),
            from_lane: from.map(String::from),
            to_lane: to.into(),
            artifact_ref: Some(LocalObjectRef::new(artifact)),
            reason: Some("e2e".into()),
        },
    )
}

/// Waits up to `step` until `lane` runs `artifact`, verified (inventory and verdict Matched).
pub async fn wait_lane_runs(lanes: &Api<Lane>, lane: &str, artifact: &'static str, step: Duration) -> Lane {
    wait_until(
        lanes,
        lane,
        &format!("Lane {lane} verifies {artifact}"),
        step,
        move |l: &Lane| {
            l.status.as_ref().is_some_and(|s| {
                s.verdict == Some(launchplane_api::verdict::Verdict::Matched)
                    && s.inventory.as_ref().is_some_and(|i| i.artifact == artifact)
            })
        },
    )
    .await
}

/// Shop's two lanes in `ns`, each on the ProviderTarget of its own name with its identity
/// required at its base URL: `testing` running `testing_artifact`, and `prod` fed by
/// Promotions from it, each needing a BackupGate.
pub async fn create_testing_and_prod(
    lanes: &Api<Lane>,
    (testing, testing_url): (&str, String),
    (prod, prod_url): (&str, String),
    testing_artifact: &str,
) {
    let lane = |name: &str, stage: &str, base_url: String| {
        Lane::new(
            name,
            LaneSpec {
                product_ref: LocalObjectRef::new("shop"),
                stage: stage.into(),
                target_ref: LocalObjectRef::new(name),
                runtime_identity: LaneRuntimeIdentity {
                    required: true,
                    base_url: Some(base_url),
                    ..LaneRuntimeIdentity::default()
                },
                ..LaneSpec::default()
            },
        )
    };
    let mut first = lane(testing, "testing", testing_url);
    first.spec.artifact_ref = Some(LocalObjectRef::new(testing_artifact));
    let mut second = lane(prod, "prod", prod_url);
    second.spec.promotion = Some(LanePromotion {
        source_lane: testing.into(),
        require_backup_gate: true,
        ..LanePromotion::default()
    });
    for l in [first, second] {
        lanes.create(&PostParams::default(), &l).await.unwrap();
    }
}
