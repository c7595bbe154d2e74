//! Issue 16 end to end, on a real API server: a lane whose app starts serving the wrong
//! artifact opens an Incident once the failure outlasts `openAfter`, keeps one Incident across
//! a controller restart, and resolves it once the app is fixed and stays Matched for
//! `resolveAfter`. The controllers run in-process (`launchplane::k8s::run`) against the Dokploy
//! simulator in a temporary namespace; every wait has a timeout and says what it saw.
//!
//! Needs `KUBECONFIG`; without it the test says `SKIPPED: ...` and passes (see e2e_support).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use jiff::{SignedDuration, Timestamp};
use kube::api::{ListParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client};
use launchplane_api::resources::{
    Artifact, Incident, IncidentPolicy, IncidentSeverity, IncidentState, Lane, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, ManagementPolicy, PreviewPolicy, Product, ProviderTarget,
};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::sim::{AppBehaviour, DokploySim, SeedApplication, SimConfig};
use launchplane_testkit::build::{artifact, in_namespace};
use std::fmt::Debug;
use std::time::{Duration, Instant};

mod e2e_support;

use e2e_support::{
    Controllers, app_target, apply_crds, clean_up, connect, create_namespaces, create_sim_provider_config,
    shop_product,
};

/// How long one step may take: a deploy, the lane's settled re-check (60 s), `openAfter`.
const STEP: Duration = Duration::from_secs(150);
const LANE: &str = "shop-testing";
const WELL_KNOWN_PATH: &str = "/.well-known/launchplane-runtime.json";
const OPEN_AFTER: &str = "6s";
const RESOLVE_AFTER: &str = "6s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_serving_the_wrong_artifact_opens_then_resolves_one_incident() {
    let Some(client) = connect("e2e_incidents test").await else {
        return;
    };
    apply_crds(&client).await;
    let ns = format!("launchplane-e2e-incidents-{}", Timestamp::now().as_millisecond());
    let namespaces = create_namespaces(&client, &[&ns]).await;
    let started = Instant::now();
    let outcome = std::panic::AssertUnwindSafe(scenario(client.clone(), ns.clone()))
        .catch_unwind()
        .await;
    eprintln!(
        "e2e_incidents: the scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    clean_up(&namespaces, &[&ns], outcome).await;
}

async fn scenario(client: Client, ns: String) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: LANE.into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let scene = Scene {
        lanes: Api::namespaced(client.clone(), &ns),
        incidents: Api::namespaced(client.clone(), &ns),
        client: client.clone(),
        ns: ns.clone(),
        app,
        sim,
    };
    let controllers = Controllers::start(&client, &ns, "e2e-incidents");
    let steps = std::panic::AssertUnwindSafe(steps(&scene, controllers))
        .catch_unwind()
        .await;
    scene.sim.shutdown().await;
    if let Err(panic) = steps {
        std::panic::resume_unwind(panic);
    }
}

struct Scene {
    client: Client,
    ns: String,
    lanes: Api<Lane>,
    incidents: Api<Incident>,
    app: String,
    sim: DokploySim,
}

async fn steps(s: &Scene, controllers: Controllers) {
    s.create_shop().await;
    s.wait_lane(Verdict::Matched, "verifies shop-a").await;
    assert!(
        s.all_incidents().await.is_empty(),
        "a healthy lane has no Incident"
    );

    // The app starts serving another artifact's identity.
    let mut stale = s.served().await;
    stale["artifactId"] = "shop-b".into();
    s.sim
        .set_app_behaviour(&s.app, AppBehaviour::StaleIdentity(stale));
    s.wait_lane(Verdict::Mismatch, "sees the wrong artifact").await;
    let open = s
        .wait_incident("to open", |st| st.state == Some(IncidentState::Open))
        .await;
    let name = open.metadata.name.clone().unwrap();
    let status = open.status.clone().unwrap();
    assert_eq!(open.spec.product, "shop");
    assert_eq!(open.spec.lane, LANE);
    assert_eq!(open.spec.check, "RuntimeIdentityVerified");
    assert_eq!(status.severity, Some(IncidentSeverity::Critical));
    assert_eq!(status.occurrence, 1);
    let failing = status.first_seen_time.clone().unwrap().0;
    let opened = status.opened_time.clone().unwrap().0;
    assert!(
        opened.duration_since(failing) >= SignedDuration::from_secs(6),
        "opened {opened} only after openAfter ({OPEN_AFTER}) from {failing}"
    );
    assert!(
        status.message.as_deref().unwrap_or_default().contains("shop-b"),
        "the evidence names what the app serves: {status:?}"
    );

    // A restart while it is open: still one Incident, the same occurrence.
    controllers.stop().await;
    let controllers = Controllers::start(&s.client, &s.ns, "e2e-incidents");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = s.all_incidents().await;
    assert_eq!(all.len(), 1, "deduplicated across the restart: {all:?}");
    assert_eq!(all[0].status.as_ref().unwrap().occurrence, 1);

    // Fixed: Matched again, then resolved after resolveAfter.
    s.sim.set_app_behaviour(&s.app, AppBehaviour::Normal);
    s.wait_lane(Verdict::Matched, "verifies shop-a again").await;
    let resolved = s
        .wait_incident("to resolve", |st| st.state == Some(IncidentState::Resolved))
        .await;
    let status = resolved.status.unwrap();
    let matched = status.matched_since.clone().map(|t| t.0);
    let at = status.resolved_time.clone().unwrap().0;
    if let Some(matched) = matched {
        assert!(
            at.duration_since(matched) >= SignedDuration::from_secs(6),
            "{status:?}"
        );
    }
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Resolved" && c.status == "True"),
        "kubectl wait --for=condition=Resolved works: {:?}",
        status.conditions
    );
    assert_eq!(resolved.metadata.name.as_deref(), Some(name.as_str()));
    controllers.stop().await;
}

impl Scene {
    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    async fn create_shop(&self) {
        let pp = PostParams::default();
        create_sim_provider_config(&self.client, &self.ns, &self.sim).await;
        let mut target = app_target(LANE, "dokploy-main", Some(self.app.clone()), LANE);
        target.spec.management_policy = ManagementPolicy::Manage;
        self.api::<ProviderTarget>().create(&pp, &target).await.unwrap();
        let mut product = shop_product(PreviewPolicy::default());
        product.spec.incidents = IncidentPolicy {
            open_after: OPEN_AFTER.into(),
            resolve_after: RESOLVE_AFTER.into(),
            ..IncidentPolicy::default()
        };
        self.api::<Product>().create(&pp, &product).await.unwrap();
        for (name, c) in [("shop-a", 'a'), ("shop-b", 'b')] {
            self.api::<Artifact>()
                .create(&pp, &in_namespace(artifact(name, c), &self.ns))
                .await
                .unwrap();
        }
        let lane = Lane::new(
            LANE,
            LaneSpec {
                product_ref: LocalObjectRef::new("shop"),
                stage: "testing".into(),
                target_ref: LocalObjectRef::new(LANE),
                artifact_ref: Some(LocalObjectRef::new("shop-a")),
                runtime_identity: LaneRuntimeIdentity {
                    required: true,
                    base_url: Some(self.sim.app_url(&self.app).expect("the seeded app serves")),
                    ..LaneRuntimeIdentity::default()
                },
                ..LaneSpec::default()
            },
        );
        self.lanes.create(&pp, &lane).await.unwrap();
    }

    /// The identity the app serves now.
    async fn served(&self) -> serde_json::Value {
        let url = self.sim.app_url(&self.app).expect("the app runs");
        reqwest::get(format!("{url}{WELL_KNOWN_PATH}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_lane(&self, verdict: Verdict, what: &str) -> Lane {
        wait_until(
            &self.lanes,
            LANE,
            &format!("Lane {LANE} {what}"),
            move |l: &Lane| l.status.as_ref().and_then(|s| s.verdict) == Some(verdict),
        )
        .await
    }

    async fn all_incidents(&self) -> Vec<Incident> {
        self.incidents.list(&ListParams::default()).await.unwrap().items
    }

    /// Waits until the lane's one Incident's status satisfies `done`.
    async fn wait_incident(
        &self,
        what: &str,
        done: impl Fn(&launchplane_api::resources::IncidentStatus) -> bool,
    ) -> Incident {
        let until = Instant::now() + STEP;
        loop {
            let all = self.all_incidents().await;
            assert!(all.len() <= 1, "one Incident per lane and check: {all:#?}");
            if let Some(found) = all.into_iter().next()
                && found.status.as_ref().is_some_and(&done)
            {
                return found;
            }
            assert!(
                Instant::now() < until,
                "the Incident {what}: not within {STEP:?}; {:#?}",
                self.all_incidents().await
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn wait_until<K>(api: &Api<K>, name: &str, what: &str, done: impl Fn(&K) -> bool + Send + 'static) -> K
where
    K: kube::Resource + Clone + Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let waited = tokio::time::timeout(
        STEP,
        await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&done)),
    )
    .await;
    match waited {
        Ok(Ok(Some(object))) => object,
        Ok(Err(error)) => panic!("watching {name}: {error}"),
        _ => {
            let now = api.get_opt(name).await.ok().flatten();
            panic!("{what}: not within {STEP:?}; it is {now:#?}")
        }
    }
}
