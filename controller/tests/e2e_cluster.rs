//! End to end against a real cluster: apply the CRDs, run the controllers in-process in a
//! temporary namespace against the Dokploy simulator, apply a Secret, a ProviderConfig and a
//! ProviderTarget (as in docs/examples), and wait for `status.verdict: Matched`.
//!
//! Needs `KUBECONFIG`. Without it, or when the cluster does not answer, the test says
//! `SKIPPED: ...` on stderr and passes: CI without a cluster still compiles and runs it up to
//! the skip, and the skip is loud rather than a silent green.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use launchplane::k8s::run::{self, RunOptions};
use launchplane::metrics::Metrics;
use launchplane_api::Verdict;
use launchplane_api::resources::{
    LocalObjectRef, ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, SecretKeyRef,
    TargetCategory,
};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const MANAGER: &str = "launchplane-e2e";

fn skip(reason: &str) {
    eprintln!("SKIPPED: e2e_cluster controller test ({reason})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_verifies_a_provider_target_on_a_real_cluster() {
    if std::env::var_os("KUBECONFIG").is_none() {
        skip("KUBECONFIG is not set");
        return;
    }
    launchplane_providers::install_crypto_provider();
    let client = match Client::try_default().await {
        Ok(client) => client,
        Err(error) => return skip(&format!("no usable kubeconfig: {error}")),
    };
    if let Err(error) = tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
        .await
        .map_err(|_| "timed out".to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        return skip(&format!("cluster unreachable: {error}"));
    }

    apply_crds(&client).await;
    let ns = format!("launchplane-e2e-{}", Timestamp::now().as_millisecond());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(ns.clone());
    namespace.metadata.labels = Some(BTreeMap::from([("launchplane.dev/e2e".into(), "true".into())]));
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();

    // Run the scenario, then clean up whatever happened, then report.
    let outcome = std::panic::AssertUnwindSafe(scenario(client.clone(), ns.clone()))
        .catch_unwind()
        .await;
    let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn scenario(client: Client, ns: String) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-prod".into(),
                docker_image: Some("ghcr.io/acme/shop:1".into()),
                domains: vec!["shop.example.com".into()],
                ..SeedApplication::default()
            },
        )
        .unwrap();

    let (stop, shutdown) = futures::channel::oneshot::channel::<()>();
    let controllers = tokio::spawn(run::run(
        client.clone(),
        RunOptions {
            watch_namespace: Some(ns.clone()),
            instance: Some("e2e".into()),
        },
        Arc::new(Metrics::new()),
        Arc::new(AtomicBool::new(false)),
        shutdown.map(|_| ()).boxed().shared(),
    ));

    let mut secret = Secret::default();
    secret.metadata.name = Some("dokploy-main-api-key".into());
    secret.string_data = Some(BTreeMap::from([("api-key".into(), sim.api_key())]));
    Api::<Secret>::namespaced(client.clone(), &ns)
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
    Api::<ProviderConfig>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
    let target = ProviderTarget::new(
        "shop-prod",
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy-main"),
            target_category: TargetCategory::Application,
            target_id: Some(app.clone()),
            display_name: "shop-prod".into(),
            domains: vec!["shop.example.com".into()],
            ..ProviderTargetSpec::default()
        },
    );
    let targets = Api::<ProviderTarget>::namespaced(client.clone(), &ns);
    targets.create(&PostParams::default(), &target).await.unwrap();

    let matched = |obj: Option<&ProviderTarget>| {
        obj.and_then(|t| t.status.as_ref())
            .and_then(|s| s.verdict)
            .is_some_and(|v| v == Verdict::Matched)
    };
    let waited = tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(targets.clone(), "shop-prod", matched),
    )
    .await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controllers).await;
    sim.shutdown().await;
    let last = targets
        .get_opt("shop-prod")
        .await
        .ok()
        .flatten()
        .and_then(|t| t.status);
    assert!(
        matches!(waited, Ok(Ok(_))),
        "shop-prod never became Matched; last status: {last:?}"
    );
    assert_eq!(last.and_then(|s| s.bound_target_id), Some(app));
}

/// Server-side apply every CRD in crds/ and wait until each is established.
async fn apply_crds(client: &Client) {
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
