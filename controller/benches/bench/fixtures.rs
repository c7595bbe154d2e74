//! What the sections are measured on: the simulator and its seeded apps, clients whose rate
//! limit is not what is measured, ProviderTargets bound to the apps, the lanes' Product,
//! Artifact, Lane and target objects, and the in-memory record store.

use launchplane::engine::store::{RecordStore, StoreError};
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, DeploymentRecord, DeploymentRecordStatus, Lane,
    LaneRuntimeIdentity, LaneSpec, LocalObjectRef, ManagementPolicy, Product, ProductSpec, ProviderTarget,
    ProviderTargetSpec, ProviderTargetStatus, SourceRef, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_api::verify::target::ObservedTarget;
use launchplane_core::observation::TrackedTarget;
use launchplane_core::target::DesiredEnv;
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use launchplane_providers::{
    DokployClient, DokployConfig, RateLimit, SecretString, TargetCategory as ProviderCategory,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub const NS: &str = "bench";
pub const CONFIG: &str = "dokploy-main";
/// The controller instance the lanes mark their targets as.
pub const INSTANCE: &str = "bench";
/// The image the lanes' apps run before their lane deploys the artifact.
pub const OLD_IMAGE: &str = "ghcr.io/acme/shop:old";

// ---------------------------------------------------------------------------------------
// The simulator and clients
// ---------------------------------------------------------------------------------------

/// A client with a rate limit high enough not to be what is measured (the default, 5 calls/s,
/// would make the first cycle at 10,000 targets take 2,000 s of detail reads on purpose).
pub fn client(sim: &DokploySim) -> Arc<DokployClient> {
    client_for(&sim.base_url(), &sim.api_key())
}

/// The same client in a child process, which knows the simulator by URL and key.
pub fn client_for(url: &str, key: &str) -> Arc<DokployClient> {
    let mut config = DokployConfig::new(url.to_string(), key.to_string());
    config.rate_limit = RateLimit {
        per_second: 1_000_000.0,
        burst: 1_000_000,
    };
    Arc::new(DokployClient::new(config).expect("client"))
}

/// Seed `n` applications (with a domain each) into a fresh simulator; returns the ids.
pub async fn seeded_sim(n: usize, key: &str) -> (DokploySim, Vec<String>) {
    let sim = DokploySim::start(SimConfig {
        api_key: key.into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let (_, env) = sim.seed_project("bench");
    let ids = (0..n)
        .map(|i| {
            sim.seed_application(
                &env,
                SeedApplication {
                    name: format!("app-{i:05}"),
                    docker_image: Some(format!("ghcr.io/acme/app-{i:05}:1")),
                    env: Some("A=1\nB=2\n".into()),
                    domains: vec![format!("app-{i:05}.bench.test")],
                    ..SeedApplication::default()
                },
            )
            .expect("seed")
        })
        .collect();
    (sim, ids)
}

/// (org-wide calls, detail calls) the simulator served since its counts were reset.
pub fn total_calls(sim: &DokploySim) -> (u64, u64) {
    let counts = sim.call_counts();
    let detail: u64 = ["application.one", "compose.one"]
        .iter()
        .map(|r| counts.get(*r).copied().unwrap_or(0))
        .sum();
    let all: u64 = counts.values().sum();
    (all - detail, detail)
}

// ---------------------------------------------------------------------------------------
// ProviderTargets
// ---------------------------------------------------------------------------------------

/// ProviderTarget `i`, bound by id to the app `id` named `display`.
pub fn provider_target(i: usize, id: &str, display: &str) -> ProviderTarget {
    let mut t = ProviderTarget::new(
        &format!("target-{i:05}"),
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new(CONFIG),
            target_category: TargetCategory::Application,
            target_id: Some(id.to_string()),
            display_name: display.to_string(),
            domains: vec![format!("app-{i:05}.bench.test")],
            ..ProviderTargetSpec::default()
        },
    );
    t.metadata.namespace = Some(NS.into());
    t.metadata.generation = Some(1);
    t
}

/// App `i` as the poller would list it after a detail read (for the pure-core section).
pub fn observed_target(i: usize) -> ObservedTarget {
    ObservedTarget {
        routes: Vec::new(),
        id: format!("id-{i:05}-aaaaaaaaaaaaaa"),
        category: "application".into(),
        name: format!("app-{i:05}"),
        status: Some("done".into()),
        project: Some("bench".into()),
        environment: Some("production".into()),
        domains: [format!("app-{i:05}.bench.test")].into_iter().collect(),
        last_deploy_at: Some("2026-01-01T00:00:00.000Z".into()),
        target_type: Some("docker".into()),
        image: Some(format!("ghcr.io/acme/app-{i:05}:1")),
        env_keys: Some(["A".to_string(), "B".to_string()].into_iter().collect()),
        last_deployment: None,
    }
}

/// One ProviderTarget per seeded app, named as [`seeded_sim`] named the apps.
pub fn targets_for(ids: &[String]) -> Vec<ProviderTarget> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| provider_target(i, id, &format!("app-{i:05}")))
        .collect()
}

pub fn tracked_of<'a>(ids: impl IntoIterator<Item = &'a String>) -> BTreeSet<TrackedTarget> {
    ids.into_iter()
        .map(|id| (ProviderCategory::Application, id.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Lanes
// ---------------------------------------------------------------------------------------

pub fn product() -> Product {
    let mut p = Product::new(
        "shop",
        ProductSpec {
            display_name: "Shop".into(),
            repository: "github.com/acme/shop".into(),
            image_repository: "ghcr.io/acme/shop".into(),
            ..Default::default()
        },
    );
    p.metadata.namespace = Some(NS.into());
    p
}

pub fn artifact() -> Artifact {
    let mut a = Artifact::new(
        "shop-a",
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "a".repeat(40),
            },
            ..Default::default()
        },
    );
    a.metadata.namespace = Some(NS.into());
    a
}

/// Lane `i` on app `app` (reachable at `url`) and its bound, Matched ProviderTarget.
pub fn lane_objects(i: usize, app: &str, url: &str) -> (Lane, ProviderTarget) {
    let name = format!("lane-{i:05}");
    let mut target = ProviderTarget::new(
        &name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new(CONFIG),
            target_category: TargetCategory::Application,
            target_id: Some(app.to_string()),
            display_name: name.clone(),
            management_policy: ManagementPolicy::Manage,
            ..Default::default()
        },
    );
    target.metadata.namespace = Some(NS.into());
    target.status = Some(ProviderTargetStatus {
        verdict: Some(Verdict::Matched),
        bound_target_id: Some(app.to_string()),
        ..Default::default()
    });
    let mut lane = Lane::new(
        &name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: format!("s{i:05}"),
            target_ref: LocalObjectRef::new(&name),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(url.to_string()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    lane.metadata.uid = Some(format!("uid-{i:05}"));
    lane.metadata.generation = Some(1);
    (lane, target)
}

pub fn desired_env() -> DesiredEnv {
    DesiredEnv::from([("APP_ENV".to_string(), SecretString::new("bench"))])
}

/// Seed `n` apps for lanes (deployed, on the old image) into `sim`; returns (id, URL) pairs.
pub fn seed_lane_apps(sim: &DokploySim, n: usize) -> Vec<(String, String)> {
    let (_, env) = sim.seed_project("lanes");
    (0..n)
        .map(|i| {
            let id = sim
                .seed_application(
                    &env,
                    SeedApplication {
                        name: format!("lane-app-{i:05}"),
                        docker_image: Some(OLD_IMAGE.into()),
                        env: Some("KEEP=1\n".into()),
                        domains: vec![format!("lane-{i:05}.bench.test")],
                        deployed: true,
                        ..SeedApplication::default()
                    },
                )
                .expect("seed");
            let url = sim.app_url(&id).expect("app url");
            (id, url)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

/// Records by lane, in memory (what a reflector store holds in the cluster).
#[derive(Default)]
pub struct MemoryStore {
    by_lane: Mutex<HashMap<String, Vec<DeploymentRecord>>>,
}

fn lane_of(r: &DeploymentRecord) -> String {
    r.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(launchplane_core::deployment_record::LANE_LABEL))
        .cloned()
        .unwrap_or_default()
}

impl MemoryStore {
    pub fn from_records(records: Vec<DeploymentRecord>) -> Self {
        let mut by_lane: HashMap<String, Vec<DeploymentRecord>> = HashMap::new();
        for r in records {
            by_lane.entry(lane_of(&r)).or_default().push(r);
        }
        MemoryStore {
            by_lane: Mutex::new(by_lane),
        }
    }

    pub fn all(&self) -> Vec<DeploymentRecord> {
        self.by_lane.lock().unwrap().values().flatten().cloned().collect()
    }
}

impl RecordStore for MemoryStore {
    fn list<'a>(
        &'a self,
        _namespace: &'a str,
        lane: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<DeploymentRecord>, StoreError>> {
        let out = self
            .by_lane
            .lock()
            .unwrap()
            .get(lane)
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { Ok(out) })
    }

    fn create<'a>(
        &'a self,
        record: &'a DeploymentRecord,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        let mut map = self.by_lane.lock().unwrap();
        let list = map.entry(lane_of(record)).or_default();
        if !list.iter().any(|r| r.metadata.name == record.metadata.name) {
            list.push(record.clone());
        }
        Box::pin(async { Ok(()) })
    }

    fn write_status<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
        status: &'a DeploymentRecordStatus,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        let mut map = self.by_lane.lock().unwrap();
        for r in map.values_mut().flatten() {
            if r.metadata.name.as_deref() == Some(name) {
                r.status = Some(status.clone());
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        let mut map = self.by_lane.lock().unwrap();
        for list in map.values_mut() {
            list.retain(|r| r.metadata.name.as_deref() != Some(name));
        }
        Box::pin(async { Ok(()) })
    }
}
