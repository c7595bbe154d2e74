//! End to end against a real cluster: apply the CRDs; apply every manifest of docs/examples
//! (the API server must accept them) and a bad one (it must refuse it, naming the field); run
//! the controllers in-process in a temporary namespace against the Dokploy simulator; and
//! wait, on watches rather than sleeps, for a resource in each verdict: Matched, Missing,
//! Mismatch (renamed target, stale identity) and Unverifiable (provider down). A second test
//! takes a Preview through its life: finalizer, Matched/Ready through the simulator's ingress
//! (`--preview-probe-via`), counted on its Product, then deleted and gone only once its
//! Dokploy application is.
//!
//! Needs `KUBECONFIG`. Without it, or when the cluster does not answer, the test says
//! `SKIPPED: ...` on stderr and passes: CI without a cluster still compiles and runs it up to
//! the skip, and the skip is loud rather than a silent green.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use launchplane::k8s::run::{self, RunOptions};
use launchplane::metrics::Metrics;
use launchplane_api::Verdict;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DeploymentRecord, IdentityEndpoint, IdentityFields, Lane, LocalObjectRef,
    Preview, PreviewPolicy, Product, Promotion, ProviderConfig, ProviderConfigSpec, ProviderTarget,
    RuntimeIdentity, RuntimeIdentitySpec, SecretKeyRef,
};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

mod e2e_support;

use e2e_support::{
    MANAGER, app_target, apply_crds, artifact_a, clean_up, connect, create_namespaces, shop_product,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_shows_every_verdict_on_a_real_cluster() {
    let Some(client) = connect("e2e_cluster controller test").await else {
        return;
    };
    apply_crds(&client).await;
    let ns = format!("launchplane-e2e-{}", Timestamp::now().as_millisecond());
    // The examples get their own namespace: their names would collide with the scenario's,
    // and the controller, watching only `ns`, leaves them alone.
    let examples_ns = format!("{ns}-examples");
    let namespaces = create_namespaces(&client, &[&ns, &examples_ns]).await;

    // Run the scenario, then clean up whatever happened, then report.
    let outcome = std::panic::AssertUnwindSafe(async {
        apply_examples(&client, &examples_ns).await;
        refuse_bad_artifact(&client, &examples_ns).await;
        scenario(client.clone(), ns.clone()).await;
    })
    .catch_unwind()
    .await;
    clean_up(&namespaces, &[&ns, &examples_ns], outcome).await;
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
                env: Some(
                    r#"LAUNCHPLANE_RUNTIME_IDENTITY_JSON='{"product":"shop","artifactId":"shop-1"}'"#.into(),
                ),
                domains: vec!["shop.example.com".into()],
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let renamed = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-testing-renamed".into(),
                docker_image: Some("ghcr.io/acme/shop:1".into()),
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let app_url = sim.app_url(&app).expect("the deployed app serves");
    // A port nothing listens on: the second provider is down from the start.
    let dead_url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };

    let controllers = Controllers::start(&client, &ns, "e2e", None);

    let config = create_provider_config(&client, &ns, &sim).await;
    let mut target = app_target("shop-prod", "dokploy-main", Some(app.clone()), "shop-prod");
    target.spec.domains = vec!["shop.example.com".into()];
    let targets = Api::<ProviderTarget>::namespaced(client.clone(), &ns);
    targets.create(&PostParams::default(), &target).await.unwrap();

    let extra_targets = [
        (
            "gone",
            "dokploy-main",
            Some("app-that-does-not-exist".to_string()),
            "gone",
        ),
        ("shop-testing", "dokploy-main", Some(renamed), "shop-testing"),
        (
            "behind-outage",
            "dokploy-down",
            Some("app-anything".to_string()),
            "behind-outage",
        ),
    ];
    for (name, config_name, id, display) in extra_targets {
        let t = app_target(name, config_name, id, display);
        targets.create(&PostParams::default(), &t).await.unwrap();
    }
    let down = ProviderConfig::new(
        "dokploy-down",
        ProviderConfigSpec {
            url: dead_url,
            ..config.spec.clone()
        },
    );
    Api::<ProviderConfig>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &down)
        .await
        .unwrap();
    let identities = Api::<RuntimeIdentity>::namespaced(client.clone(), &ns);
    for (name, artifact) in [("shop-current", "shop-1"), ("shop-expects-newer", "shop-2")] {
        let ri = RuntimeIdentity::new(
            name,
            RuntimeIdentitySpec {
                expected: IdentityFields {
                    product: Some("shop".into()),
                    artifact_id: Some(artifact.into()),
                    ..IdentityFields::default()
                },
                endpoint: IdentityEndpoint {
                    base_url: app_url.clone(),
                    ..IdentityEndpoint::default()
                },
                interval_seconds: 5,
                ..RuntimeIdentitySpec::default()
            },
        );
        identities.create(&PostParams::default(), &ri).await.unwrap();
    }

    let lanes = create_lane(&client, &ns, &sim, &environment).await;

    let waits = async {
        wait_verdict(&targets, "shop-prod", Verdict::Matched).await;
        // The lane deploys its artifact to the simulator and verifies it: Matched, inventory set.
        await_condition(lanes.clone(), "shop-lane", |l: Option<&Lane>| {
            l.and_then(|l| l.status.as_ref()).is_some_and(|s| {
                s.verdict == Some(Verdict::Matched)
                    && s.inventory.as_ref().is_some_and(|i| i.artifact == "shop-lane-a")
            })
        })
        .await
        .unwrap_or_else(|e| panic!("watching lane shop-lane: {e}"));
        wait_verdict(&targets, "gone", Verdict::Missing).await;
        wait_verdict(&targets, "shop-testing", Verdict::Mismatch).await;
        wait_verdict(&targets, "behind-outage", Verdict::Unverifiable).await;
        wait_verdict(&identities, "shop-current", Verdict::Matched).await;
        wait_verdict(&identities, "shop-expects-newer", Verdict::Mismatch).await;
    };
    let waited = tokio::time::timeout(Duration::from_secs(120), waits).await;
    controllers.stop().await;
    sim.shutdown().await;
    let report = targets
        .list(&Default::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .map(|t| {
                    (
                        t.metadata.name,
                        t.status.map(|s| (s.verdict, s.reason, s.message)),
                    )
                })
                .collect::<Vec<_>>()
        })
        .ok();
    assert!(
        waited.is_ok(),
        "not every verdict showed in time; ProviderTargets: {report:#?}"
    );
    let lane_records = Api::<DeploymentRecord>::namespaced(client.clone(), &ns)
        .list(&kube::api::ListParams::default().labels("launchplane.dev/lane=shop-lane"))
        .await
        .unwrap()
        .items;
    assert_eq!(lane_records.len(), 1, "one deploy, one record");
    let owner = &lane_records[0].metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Lane", "shop-lane"));
    let prod = targets.get("shop-prod").await.unwrap().status.unwrap();
    assert_eq!(prod.bound_target_id, Some(app));
    let renamed = targets.get("shop-testing").await.unwrap().status.unwrap();
    assert_eq!(renamed.mismatches[0].field, "displayName");
    let stale = identities
        .get("shop-expects-newer")
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(stale.mismatches[0].field, "artifactId");
}

/// Previews on a real cluster: a Product with previews enabled (template target bound to a
/// simulator app), an Artifact and a Preview; the controllers run in-process and verify the
/// preview through the simulator's ingress (`preview_probe_via`, as `--preview-probe-via`).
/// The Preview gets the finalizer and goes Matched/Ready; deleted, it disappears from the API
/// only after its Dokploy application is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_deploy_and_tear_down_on_a_real_cluster() {
    let Some(client) = connect("e2e_cluster preview test").await else {
        return;
    };
    apply_crds(&client).await;
    let ns = format!("launchplane-e2e-pv-{}", Timestamp::now().as_millisecond());
    let namespaces = create_namespaces(&client, &[&ns]).await;

    let outcome = std::panic::AssertUnwindSafe(preview_scenario(client.clone(), ns.clone()))
        .catch_unwind()
        .await;
    // A Preview left behind by a failure keeps its finalizer with no controller to release it,
    // which would hold the namespace in Terminating: drop the finalizers first.
    let previews = Api::<Preview>::namespaced(client.clone(), &ns);
    if let Ok(list) = previews.list(&Default::default()).await {
        for p in list.items {
            let name = p.metadata.name.unwrap_or_default();
            let _ = previews
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
                )
                .await;
        }
    }
    clean_up(&namespaces, &[&ns], outcome).await;
}

/// The controllers, running in-process on a task until stopped.
struct Controllers {
    stop: futures::channel::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), reqwest::Error>>,
}

impl Controllers {
    /// Runs the controllers watching only `ns`, as replica `instance`, probing previews via
    /// `preview_probe_via` (`--preview-probe-via`).
    fn start(client: &Client, ns: &str, instance: &str, preview_probe_via: Option<String>) -> Self {
        let (stop, shutdown) = futures::channel::oneshot::channel::<()>();
        let task = tokio::spawn(run::run(
            client.clone(),
            RunOptions {
                watch_namespace: Some(ns.to_string()),
                instance: Some(instance.into()),
                preview_probe_via,
                instance_id: Some(format!("{instance}-{ns}")),
                feedback: None,
            },
            Arc::new(Metrics::new()),
            Arc::new(AtomicBool::new(false)),
            shutdown.map(|_| ()).boxed().shared(),
        ));
        Self { stop, task }
    }

    /// Signals shutdown and waits up to 10 s for the controllers to end.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// The `dokploy-main-api-key` Secret and the `dokploy-main` ProviderConfig (polling every
/// 5 s) for the simulator, created in `ns`; returns the ProviderConfig.
async fn create_provider_config(client: &Client, ns: &str, sim: &DokploySim) -> ProviderConfig {
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
    config
}

async fn preview_scenario(client: Client, ns: String) {
    use launchplane_api::resources::{PreviewSpec, PullRequest};
    use launchplane_core::preview::FINALIZER;
    const HOST: &str = "pr-42.preview.shop.test";

    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (project, _) = sim.seed_project("shop");
    // Previews live in their own environment of the project, next to the template app.
    let previews_env = sim.seed_environment(&project, "previews").unwrap();
    let template_app = sim
        .seed_application(
            &previews_env,
            SeedApplication {
                name: "shop-preview-template".into(),
                ..SeedApplication::default()
            },
        )
        .unwrap();

    // The preview host resolves nowhere: verify (and confirm teardown) through the
    // simulator's ingress, which routes by Host.
    let controllers = Controllers::start(&client, &ns, "e2e-previews", Some(sim.ingress_url()));

    let pp = PostParams::default();
    create_provider_config(&client, &ns, &sim).await;
    let template = app_target(
        "shop-preview-template",
        "dokploy-main",
        Some(template_app.clone()),
        "shop-preview-template",
    );
    let targets = Api::<ProviderTarget>::namespaced(client.clone(), &ns);
    targets.create(&pp, &template).await.unwrap();
    let product = shop_product(PreviewPolicy {
        enabled: true,
        base_domain: Some("preview.shop.test".into()),
        template_target_ref: Some(LocalObjectRef::new("shop-preview-template")),
        environment: Some("previews".into()),
        ..PreviewPolicy::default()
    });
    let products = Api::<Product>::namespaced(client.clone(), &ns);
    products.create(&pp, &product).await.unwrap();
    let artifact = artifact_a("shop-pr-42-a");
    Api::<Artifact>::namespaced(client.clone(), &ns)
        .create(&pp, &artifact)
        .await
        .unwrap();

    let previews = Api::<Preview>::namespaced(client.clone(), &ns);
    let waits = async {
        // The template is verified once its ProviderConfig has polled: its Dokploy client is
        // then registered, so the Preview does not start by stalling on ProviderUnavailable.
        wait_verdict(&targets, "shop-preview-template", Verdict::Matched).await;
        let preview = Preview::new(
            "shop-pr-42",
            PreviewSpec {
                product_ref: LocalObjectRef::new("shop"),
                pull_request: PullRequest {
                    repository: "github.com/acme/shop".into(),
                    number: 42,
                    url: Some("https://github.com/acme/shop/pull/42".into()),
                    head_sha: "a".repeat(40),
                },
                artifact_ref: LocalObjectRef::new("shop-pr-42-a"),
                ttl: Some("72h".into()),
            },
        );
        previews.create(&pp, &preview).await.unwrap();
        await_condition(previews.clone(), "shop-pr-42", |p: Option<&Preview>| {
            p.is_some_and(|p| {
                let ready = p
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                    .is_some_and(|c| c.status == "True");
                ready && p.status.as_ref().and_then(|s| s.verdict) == Some(Verdict::Matched)
            })
        })
        .await
        .unwrap_or_else(|e| panic!("watching preview shop-pr-42: {e}"));
        // The Product counts it and protects its artifact.
        await_condition(products.clone(), "shop", |p: Option<&Product>| {
            p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
                s.preview_count == Some(1) && s.protected_artifacts.iter().any(|a| a == "shop-pr-42-a")
            })
        })
        .await
        .unwrap_or_else(|e| panic!("watching product shop: {e}"));
    };
    let ready = tokio::time::timeout(Duration::from_secs(180), waits).await;
    let live = previews.get_opt("shop-pr-42").await.unwrap();
    if ready.is_err() {
        controllers.stop().await;
        sim.shutdown().await;
        panic!("the preview did not become Ready in time: {live:#?}");
    }
    let live = live.expect("the preview exists");
    assert!(
        live.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER),
        "{:?}",
        live.metadata.finalizers
    );
    let status = live.status.clone().unwrap();
    assert_eq!(status.url.as_deref(), Some("https://pr-42.preview.shop.test"));
    assert!(status.expires_at.is_some(), "ttl 72h gives an expiry");
    let app = status.target_id.clone().expect("the preview app is recorded");
    let service = sim.service_json(&app).expect("the preview app exists in Dokploy");
    assert_eq!(service["name"], "shop-pr-42");
    assert_eq!(service["environmentId"], previews_env.as_str());
    assert!(sim.app_urls().contains_key(&app), "the preview app runs");
    let served = reqwest::Client::new()
        .get(format!("{}/healthz", sim.ingress_url()))
        .header("host", HOST)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);

    // Issue 12, on the real API server: a person's app that has the name the next preview would
    // take is never adopted, changed or deleted. The Preview stalls with a Conflict, and deleting
    // it (its finalizer runs the teardown) leaves that app exactly as it was.
    let human = sim
        .seed_application(
            &previews_env,
            SeedApplication {
                name: "shop-pr-43".into(),
                description: Some("made by hand".into()),
                docker_image: Some("nginx:1.27".into()),
                env: Some("OWNER=human\n".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let human_before = sim.service_json(&human).unwrap();
    let pr43 = Preview::new(
        "shop-pr-43",
        PreviewSpec {
            product_ref: LocalObjectRef::new("shop"),
            pull_request: PullRequest {
                repository: "github.com/acme/shop".into(),
                number: 43,
                url: None,
                head_sha: "a".repeat(40),
            },
            artifact_ref: LocalObjectRef::new("shop-pr-42-a"),
            ttl: None,
        },
    );
    previews.create(&pp, &pr43).await.unwrap();
    let conflict = tokio::time::timeout(
        Duration::from_secs(120),
        await_condition(previews.clone(), "shop-pr-43", |p: Option<&Preview>| {
            p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Stalled" && c.status == "True" && c.reason == "Conflict")
            })
        }),
    )
    .await;
    let pr43_status = previews
        .get_opt("shop-pr-43")
        .await
        .unwrap()
        .and_then(|p| p.status);
    if !conflict.is_ok_and(|r| r.is_ok()) {
        controllers.stop().await;
        sim.shutdown().await;
        panic!("preview 43 did not report the Conflict in time: {pr43_status:#?}");
    }
    assert_eq!(pr43_status.and_then(|s| s.target_id), None, "nothing adopted");
    let pr43_uid = previews.get("shop-pr-43").await.unwrap().metadata.uid.unwrap();
    previews
        .delete("shop-pr-43", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(120),
        await_condition(previews.clone(), "shop-pr-43", conditions::is_deleted(&pr43_uid)),
    )
    .await
    .expect("preview 43 is deleted in time")
    .unwrap();
    assert_eq!(
        sim.service_json(&human).as_ref(),
        Some(&human_before),
        "the person's app named shop-pr-43 is exactly as it was"
    );
    let touched: Vec<_> = sim
        .mutations()
        .into_iter()
        .filter(|m| m.service_id.as_deref() == Some(human.as_str()))
        .collect();
    assert!(touched.is_empty(), "mutations of the person's app: {touched:?}");

    // Delete: the finalizer holds the Preview until the teardown is done, then it is gone.
    let uid = live.metadata.uid.clone().unwrap();
    previews
        .delete("shop-pr-42", &DeleteParams::default())
        .await
        .unwrap();
    let gone = tokio::time::timeout(
        Duration::from_secs(120),
        await_condition(previews.clone(), "shop-pr-42", conditions::is_deleted(&uid)),
    )
    .await;
    let left = previews.get_opt("shop-pr-42").await.ok().flatten();
    let torn_down = sim.service_json(&app).is_none();
    controllers.stop().await;
    let still_running = sim.app_urls().contains_key(&app);
    let after = reqwest::Client::new()
        .get(format!("{}/healthz", sim.ingress_url()))
        .header("host", HOST)
        .send()
        .await
        .map(|r| r.status().as_u16());
    sim.shutdown().await;
    assert!(
        gone.is_ok_and(|r| r.is_ok()),
        "the Preview was not deleted in time (teardown status: {:#?})",
        left.and_then(|p| p.status)
    );
    assert!(
        torn_down,
        "the finalizer was released while the Dokploy app was still listed"
    );
    assert!(!still_running, "the preview app still runs");
    assert_eq!(after.ok(), Some(404), "the preview host still routes");
}

/// A Product, an Artifact, a managed ProviderTarget on a fresh simulator app and a Lane that
/// should deploy the artifact there.
async fn create_lane(client: &Client, ns: &str, sim: &DokploySim, environment: &str) -> Api<Lane> {
    use launchplane_api::resources::{LaneRuntimeIdentity, LaneSpec, ManagementPolicy};
    let app = sim
        .seed_application(
            environment,
            SeedApplication {
                name: "shop-lane".into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: Some("KEEP_ME=1\n".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let url = sim.app_url(&app).expect("the lane's app serves");
    let pp = PostParams::default();
    Api::<Product>::namespaced(client.clone(), ns)
        .create(&pp, &shop_product(PreviewPolicy::default()))
        .await
        .unwrap();
    Api::<Artifact>::namespaced(client.clone(), ns)
        .create(&pp, &artifact_a("shop-lane-a"))
        .await
        .unwrap();
    let mut target = app_target("shop-lane", "dokploy-main", Some(app), "shop-lane");
    target.spec.management_policy = ManagementPolicy::Manage;
    Api::<ProviderTarget>::namespaced(client.clone(), ns)
        .create(&pp, &target)
        .await
        .unwrap();
    let lane = Lane::new(
        "shop-lane",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-lane"),
            artifact_ref: Some(LocalObjectRef::new("shop-lane-a")),
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(url),
                ..LaneRuntimeIdentity::default()
            },
            ..LaneSpec::default()
        },
    );
    let lanes = Api::<Lane>::namespaced(client.clone(), ns);
    lanes.create(&pp, &lane).await.unwrap();
    lanes
}

/// Wait (on a watch) until `name` carries `verdict`.
async fn wait_verdict<K>(api: &Api<K>, name: &str, verdict: Verdict)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    K: HasVerdict,
{
    await_condition(api.clone(), name, move |obj: Option<&K>| {
        obj.and_then(HasVerdict::verdict) == Some(verdict)
    })
    .await
    .unwrap_or_else(|e| panic!("watching {name}: {e}"));
}

trait HasVerdict {
    fn verdict(&self) -> Option<Verdict>;
}

impl HasVerdict for ProviderTarget {
    fn verdict(&self) -> Option<Verdict> {
        self.status.as_ref().and_then(|s| s.verdict)
    }
}

impl HasVerdict for RuntimeIdentity {
    fn verdict(&self) -> Option<Verdict> {
        self.status.as_ref().and_then(|s| s.verdict)
    }
}

/// The API resource of each kind docs/examples uses.
fn api_resource(kind: &str) -> ApiResource {
    match kind {
        "Secret" => ApiResource::erase::<Secret>(&()),
        "ConfigMap" => ApiResource::erase::<ConfigMap>(&()),
        "ProviderConfig" => ApiResource::erase::<ProviderConfig>(&()),
        "ProviderTarget" => ApiResource::erase::<ProviderTarget>(&()),
        "Product" => ApiResource::erase::<Product>(&()),
        "Artifact" => ApiResource::erase::<Artifact>(&()),
        "Lane" => ApiResource::erase::<Lane>(&()),
        "Preview" => ApiResource::erase::<Preview>(&()),
        "RuntimeIdentity" => ApiResource::erase::<RuntimeIdentity>(&()),
        "DeploymentRecord" => ApiResource::erase::<DeploymentRecord>(&()),
        "Promotion" => ApiResource::erase::<Promotion>(&()),
        "BackupGate" => ApiResource::erase::<BackupGate>(&()),
        "Approval" => ApiResource::erase::<Approval>(&()),
        other => panic!("docs/examples uses kind {other}; add it here"),
    }
}

/// The `.yaml` files of `dir` (relative to this crate), sorted.
fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Server-side apply every document of docs/examples; the API server must accept each.
async fn apply_examples(client: &Client, ns: &str) {
    for file in yaml_files("../docs/examples") {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let kind = doc["kind"].as_str().unwrap().to_string();
            let name = doc["metadata"]["name"].as_str().unwrap().to_string();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource(&kind));
            api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&doc))
                .await
                .unwrap_or_else(|e| panic!("{}: {kind}/{name} refused: {e}", file.display()));
        }
    }
}

/// An Artifact whose digest is not `sha256:` + 64 hex is refused at apply time, naming the field.
async fn refuse_bad_artifact(client: &Client, ns: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/04-artifacts.yaml");
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(dir).unwrap()).unwrap();
    let mut bad = docs.into_iter().find(|d| d["kind"] == "Artifact").unwrap();
    bad["metadata"]["name"] = "bad-digest".into();
    bad["spec"]["image"]["digest"] = "sha256:not-a-digest".into();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource("Artifact"));
    let refused = api
        .patch(
            "bad-digest",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&bad),
        )
        .await
        .expect_err("a malformed digest must be refused");
    assert!(refused.to_string().contains("spec.image.digest"), "{refused}");
}
