//! One standalone round: the engine's reconciles ([`crate::engine::kinds`], the same ones the
//! cluster runs) over the folder's objects, in an order that lets each kind read what the
//! kinds before it wrote, with statuses kept in the state folder; then one row per resource.
//!
//! The order: ProviderConfigs (each polls Dokploy once), ProviderTargets, RuntimeIdentities
//! (probed together), DeploymentRecords given as evidence, Promotions (their gates, so a
//! Promotion allowed now feeds its lane this round), Lanes (each runs its steps to completion
//! within the round, and creates the automatic Promotion it wants), Promotions again (what the
//! lanes deployed and verified decides them; one row each), Previews (with `--previews`:
//! deploys, and the teardown of the ones whose manifest left the folder or whose ttl passed),
//! BackupGates and Approvals (which Promotion used or names them), Products (counts, protected
//! set, sweep), Artifacts. Lanes, Previews, ProviderTargets and RuntimeIdentities move their
//! Incidents on as they are reconciled (kept whole in the state folder); one row per Incident
//! ends the table, shown but never failing the run.
//!
//! Promotions the controller created (`promotion.auto`) are kept in the state folder and join
//! every round's Promotions; a Promotion's creation time (its place in its lane's queue) is
//! when the state folder first saw it.
//!
//! A round has a deadline (`--timeout`, [`DEFAULT_ROUND_TIMEOUT`]): every Dokploy client the
//! engine builds shares it, so past it no Dokploy call is sent and a call still waiting is
//! abandoned, and the lanes' and previews' own waits end by it. What was not compared by then
//! is Unverifiable (reason `DeadlinePassed`, "the round's deadline passed"), and a `--once` run
//! against a Dokploy that never answers ends within the deadline instead of one request
//! timeout per read per lane and preview.

use super::inputs::Inputs;
use super::report::{self, Row};
use super::secrets::{EnvLookup, FolderSecrets};
use super::state::StateDir;
use super::store::AUTO_PROMOTIONS;
use super::store::FolderStore;
use crate::engine::caches::caches;
use crate::engine::driver::DriveLimits;
use crate::engine::kinds;
use crate::engine::preview::PreviewSettings;
use crate::engine::providers::{ClientSettings, Registry};
use crate::engine::{Cached, Caches, Kind, StatusStore, World};
use crate::error_policy::{BackoffPolicy, FailureCounts};
use crate::metrics::Metrics;
use crate::observe::prober::Prober;
use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{Clock, SystemClock};
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DataBootstrap, DeploymentRecord, IncidentSubjectKind, Lane, LaneSpec,
    NotificationPolicy, Preview, Product, Promotion, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use launchplane_core::deployment_record::DeploySettings;
use launchplane_providers::Deadline;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How long one round may take by default (`--timeout`): Helm's default wait, and room for
/// the lanes' in-process deploy waits (each at most [`DriveLimits`]'s 120 s).
pub const DEFAULT_ROUND_TIMEOUT: Duration = Duration::from_secs(300);

/// Whole-request timeout of one Dokploy call attempt in standalone mode (reads make up to
/// three attempts). Dokploy answers in well under a second; the cluster keeps the client's
/// 30 s, where a slow answer only delays a background poll.
pub const STANDALONE_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What keeps a Preview whose teardown failed, in its status.
const HELD: &str = "the Preview stays recorded in the state folder";

/// Whole Preview objects, for the teardown of a Preview whose manifest left the folder.
const PREVIEW_OBJECTS: &str = "previews";

/// A lane's spec as last seen and the generation it was given (manifests in a folder carry no
/// `metadata.generation`). The spec holds references and literal, non-secret values only.
const LANE_GENERATIONS: &str = "lane-generations";

/// When the state folder first saw each Promotion: its `creationTimestamp` (manifests in a
/// folder carry none), which orders the Promotions queued for one lane.
const PROMOTIONS_SEEN: &str = "promotions-first-seen";

#[derive(serde::Serialize, serde::Deserialize)]
struct SeenSpec {
    generation: i64,
    spec: LaneSpec,
}

/// Deploy timings for standalone mode: a quicker poll than in the cluster, since `--once`
/// waits in-process for the deploy to finish.
pub fn standalone_deploy_settings() -> DeploySettings {
    DeploySettings {
        poll_delay: Duration::from_millis(500),
        ..DeploySettings::default()
    }
}

/// Standalone preview timings: `--once` waits in-process for the deploy.
pub fn standalone_preview_settings() -> PreviewSettings {
    PreviewSettings {
        poll_delay: Duration::from_millis(500),
        deadline: Duration::from_secs(120),
        ..PreviewSettings::default()
    }
}

/// State kept between rounds (one round with `--once`): the Dokploy clients and pollers, the
/// state folder, this folder's instance id.
pub struct Engine {
    world: World,
    state: StateDir,
    env: Arc<EnvLookup>,
    round_timeout: Duration,
    deadline: Deadline,
}

impl Engine {
    /// An engine over the state folder `state`; API keys may come from `env` (the variables of
    /// [`crate::engine::providers::api_key_variable`]).
    pub fn new(prober: Prober, state: StateDir, env: Box<EnvLookup>) -> Self {
        let instance = match state.instance_id() {
            Ok(id) => id,
            Err(error) => {
                // Marks made under this id are never taken for another run's, so the worst
                // case is an app left in place or a lane refusing its own target, never an
                // app changed or deleted by mistake.
                tracing::warn!(%error, "cannot keep an instance id in the state folder; using \"standalone\"");
                "standalone".into()
            }
        };
        let deadline = Deadline::new();
        let (empty, _) = caches();
        let env: Arc<EnvLookup> = Arc::from(env);
        Engine {
            world: World {
                caches: empty,
                secrets: Arc::new(FolderSecrets::new(&Inputs::default(), Box::new(|_: &str| None))),
                providers: Registry::new(ClientSettings {
                    request_timeout: Some(STANDALONE_REQUEST_TIMEOUT),
                    deadline: Some(deadline.clone()),
                    observer: None,
                }),
                prober,
                instance,
                clock: Arc::new(SystemClock),
                metrics: Arc::new(Metrics::new()),
                failures: FailureCounts::default(),
                backoff: BackoffPolicy::default(),
                deploy: standalone_deploy_settings(),
                drive: DriveLimits::default(),
                preview_steps: DriveLimits::default().max_steps,
                previews: None,
                round: Some(deadline.clone()),
                feedback: None,
                notify: None,
            },
            state,
            env,
            round_timeout: DEFAULT_ROUND_TIMEOUT,
            deadline,
        }
    }

    /// This state folder's controller instance, as ownership markers name it.
    pub fn instance(&self) -> &str {
        &self.world.instance
    }

    /// Bound each round by `timeout` instead of [`DEFAULT_ROUND_TIMEOUT`].
    pub fn with_round_timeout(mut self, timeout: Duration) -> Self {
        self.round_timeout = timeout;
        self
    }

    /// Reconcile Previews too (and sweep each Product's preview environment) with these
    /// timings. Their Dokploy applications are marked with this state folder's instance id
    /// ([`Engine::instance`]), whatever `settings.instance` says.
    pub fn with_previews(mut self, settings: PreviewSettings) -> Self {
        self.world.previews = Some(settings);
        self
    }

    /// Send the notifications of NotificationPolicies (`--notify`), building destinations with
    /// `factory`. Off by default: a drift check run by hand should not file issues.
    pub fn with_notify(mut self, factory: Arc<dyn crate::notify::destination::DestinationFactory>) -> Self {
        self.world.notify = Some(factory);
        self
    }

    /// Post pull-request feedback for Previews.
    pub fn with_feedback(mut self, settings: crate::engine::feedback::FeedbackSettings) -> Self {
        self.world.feedback = Some(settings);
        self
    }

    /// With these deploy timings (tests: quick polling).
    pub fn with_deploy(mut self, settings: DeploySettings) -> Self {
        self.world.deploy = settings;
        self
    }

    /// With this clock (tests: time they move).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.world.clock = clock;
        self
    }

    /// The shortest interval anything asks to be checked at, for the watch loop.
    pub fn interval(inputs: &Inputs) -> Duration {
        let seconds = inputs
            .configs
            .iter()
            .map(|c| c.spec.poll_interval_seconds)
            .chain(inputs.identities.iter().map(|i| i.spec.interval_seconds))
            .min()
            .unwrap_or(60)
            .max(5);
        Duration::from_secs(u64::try_from(seconds).unwrap_or(60))
    }

    /// Reconcile everything once and return one row per resource.
    pub async fn round(&mut self, inputs: &Inputs) -> Vec<Row> {
        self.deadline.start(self.round_timeout);
        // A round polls each ProviderConfig once, whatever its interval.
        self.world.providers.poll_all_now();
        let store = self.load(inputs);
        let world = &self.world;
        let mut rows = Vec::new();

        for config in cached::<ProviderConfig>(&world.caches, &inputs.configs) {
            let result = kinds::provider_config::reconcile(config.clone(), world, &store).await;
            rows.push(report::provider_config(
                &latest(&world.caches, &config),
                result.err(),
            ));
        }
        for target in cached::<ProviderTarget>(&world.caches, &inputs.targets) {
            let result = kinds::provider_target::reconcile(target.clone(), world, &store).await;
            rows.push(report::provider_target(
                &latest(&world.caches, &target),
                result.err(),
            ));
        }
        let identities = cached::<RuntimeIdentity>(&world.caches, &inputs.identities);
        let probed = join_all(
            identities
                .iter()
                .map(|identity| kinds::runtime_identity::reconcile(identity.clone(), world, &store)),
        )
        .await;
        for (identity, result) in identities.iter().zip(probed) {
            rows.push(report::runtime_identity(
                &latest(&world.caches, identity),
                result.err(),
            ));
        }
        for record in cached::<DeploymentRecord>(&world.caches, &inputs.records) {
            // Evidence gets its first status; the lane verifies it. Records have no row.
            if let Err(error) = kinds::deployment_record::reconcile(record, world, &store).await {
                tracing::warn!(%error, "cannot record the evidence's first status");
            }
        }
        for promotion in all::<Promotion>(&world.caches) {
            if let Err(error) = kinds::promotion::reconcile(promotion, world, &store).await {
                tracing::warn!(%error, "cannot evaluate the Promotion before the lanes");
            }
        }
        for lane in cached::<Lane>(&world.caches, &inputs.lanes) {
            let result = kinds::lane::reconcile(lane.clone(), world, &store).await;
            rows.push(report::lane(&latest(&world.caches, &lane), result.err()));
        }
        // Automatic Promotions created by the lanes just now are among them.
        for promotion in all::<Promotion>(&world.caches) {
            let result = kinds::promotion::reconcile(promotion.clone(), world, &store).await;
            rows.push(report::promotion(
                &latest(&world.caches, &promotion),
                result.err(),
            ));
        }
        if world.previews.is_some() {
            rows.extend(self.previews(inputs, &store).await);
        }
        let world = &self.world;
        for gate in cached::<BackupGate>(&world.caches, &inputs.backup_gates) {
            let result = kinds::backup_gate::reconcile(gate.clone(), world, &store).await;
            rows.push(report::backup_gate(&latest(&world.caches, &gate), result.err()));
        }
        // After the lanes (a bootstrap waits for its lane's first status) and the gates it
        // takes; its lane shows it from the next round.
        for bootstrap in cached::<DataBootstrap>(&world.caches, &inputs.data_bootstraps) {
            let result = kinds::data_bootstrap::reconcile(bootstrap.clone(), world, &store).await;
            rows.push(report::data_bootstrap(
                &latest(&world.caches, &bootstrap),
                result.err(),
            ));
        }
        for approval in cached::<Approval>(&world.caches, &inputs.approvals) {
            let result = kinds::approval::reconcile(approval.clone(), world, &store).await;
            rows.push(report::approval(&latest(&world.caches, &approval), result.err()));
        }
        for product in cached::<Product>(&world.caches, &inputs.products) {
            let result = kinds::product::reconcile(product.clone(), world, &store).await;
            rows.push(report::product(&latest(&world.caches, &product), result));
        }
        for artifact in cached::<Artifact>(&world.caches, &inputs.artifacts) {
            let result = kinds::artifact::reconcile(artifact.clone(), world, &store).await;
            rows.push(report::artifact(&latest(&world.caches, &artifact), result.err()));
        }
        // After every kind that writes Incidents (and delivers their notices).
        for policy in cached::<NotificationPolicy>(&world.caches, &inputs.notification_policies) {
            let result = kinds::notification_policy::reconcile(policy.clone(), world, &store).await;
            rows.push(report::notification_policy(
                &latest(&world.caches, &policy),
                result.err(),
            ));
        }
        rows.extend(incidents(inputs, &store));
        rows
    }

    /// Fresh caches for this round: the folder's objects with their stored statuses (and each
    /// lane's generation), and the store that writes back into them.
    fn load(&mut self, inputs: &Inputs) -> FolderStore {
        let (caches, mut writers) = caches();
        writers.listed();
        let store = FolderStore::new(self.state.clone(), writers, inputs.records.clone());
        fn put_all<K: Cached>(engine: &Engine, store: &FolderStore, objects: &[K]) {
            for object in objects {
                let mut object = object.clone();
                *object.status_mut() =
                    engine
                        .state
                        .load(K::KIND, object.namespace_or_default(), object.name_or_empty());
                store.put(object);
            }
        }
        put_all(self, &store, &inputs.configs);
        put_all(self, &store, &inputs.targets);
        put_all(self, &store, &inputs.identities);
        put_all(self, &store, &inputs.products);
        put_all(self, &store, &inputs.artifacts);
        put_all(self, &store, &inputs.records);
        put_all(self, &store, &inputs.previews);
        put_all(self, &store, &inputs.backup_gates);
        put_all(self, &store, &inputs.approvals);
        put_all(self, &store, &inputs.notification_policies);
        put_all(self, &store, &inputs.data_bootstraps);
        let promotions: Vec<Promotion> = self
            .promotions(inputs)
            .into_iter()
            .map(|mut p| {
                p.metadata.creation_timestamp = Some(self.first_seen(&p));
                p
            })
            .collect();
        put_all(self, &store, &promotions);
        let lanes: Vec<Lane> = inputs
            .lanes
            .iter()
            .cloned()
            .map(|mut lane| {
                lane.metadata.generation = Some(self.lane_generation(&lane));
                lane
            })
            .collect();
        put_all(self, &store, &lanes);
        // The Incidents the state folder keeps, with their statuses: a healthy resource with
        // none needs no read of them.
        for incident in store.stored_incidents() {
            store.put(incident);
        }
        self.world.caches = caches;
        self.world.secrets = Arc::new(FolderSecrets::new(
            inputs,
            Box::new({
                let env = self.env.clone();
                move |name: &str| env(name)
            }),
        ));
        store
    }

    /// The folder's Promotions and the ones the controller created (kept in the state folder).
    fn promotions(&self, inputs: &Inputs) -> Vec<Promotion> {
        let mut out = inputs.promotions.clone();
        for (namespace, name) in self.state.stored(AUTO_PROMOTIONS) {
            let in_folder = out
                .iter()
                .any(|p| p.namespace_or_default() == namespace && p.name_or_empty() == name);
            if in_folder {
                continue;
            }
            if let Some(p) = self.state.load::<Promotion>(AUTO_PROMOTIONS, &namespace, &name) {
                out.push(p);
            }
        }
        out
    }

    /// When the state folder first saw the Promotion (its own creation time, for one the
    /// controller created): kept, so the queue's order holds across rounds.
    fn first_seen(&self, p: &Promotion) -> Time {
        let (namespace, name) = (p.namespace_or_default(), p.name_or_empty());
        if let Some(seen) = self.state.load::<Time>(PROMOTIONS_SEEN, namespace, name) {
            return seen;
        }
        let seen = p
            .metadata
            .creation_timestamp
            .clone()
            .unwrap_or_else(|| Time(self.world.now()));
        if let Err(error) = self.state.save(PROMOTIONS_SEEN, namespace, name, &seen) {
            tracing::warn!(namespace, name, %error, "cannot keep when the Promotion was first seen");
        }
        seen
    }

    /// The lane's generation, counted like the API server does: one more on each spec edit.
    fn lane_generation(&self, lane: &Lane) -> i64 {
        let namespace = lane.metadata.namespace.as_deref().unwrap_or("default");
        let name = lane.metadata.name.as_deref().unwrap_or_default();
        let seen: Option<SeenSpec> = self.state.load(LANE_GENERATIONS, namespace, name);
        match seen {
            Some(s) if s.spec == lane.spec => s.generation,
            other => {
                let generation = other.map_or(1, |s| s.generation + 1);
                let spec = lane.spec.clone();
                if let Err(error) =
                    self.state
                        .save(LANE_GENERATIONS, namespace, name, &SeenSpec { generation, spec })
                {
                    tracing::warn!(namespace, name, %error, "cannot keep the lane's generation");
                }
                generation
            }
        }
    }

    /// Reconcile every Preview, and tear down the ones whose ttl passed or whose manifest left
    /// the folder (standalone mode's deletion: the recorded object is dropped only once the
    /// teardown is confirmed; a failed teardown is a failing row, retried next round).
    async fn previews(&self, inputs: &Inputs, store: &FolderStore) -> Vec<Row> {
        let world = &self.world;
        let mut rows = Vec::new();
        for preview in cached::<Preview>(&world.caches, &inputs.previews) {
            let result = kinds::preview::reconcile(preview.clone(), world, store).await;
            let current = latest(&world.caches, &preview);
            let namespace = current.namespace_or_default().to_string();
            let name = current.name_or_empty().to_string();
            let row = match result {
                Ok(run) if run.expired => {
                    let torn = kinds::preview::tear_down(&current, world, store, HELD).await;
                    if torn.is_ok() {
                        let mut status = current.status.clone().unwrap_or_default();
                        status.target_id = None;
                        status.serving_generation = None;
                        if let Err(error) = store.write_status(&current, &status).await {
                            tracing::warn!(%error, "cannot record the teardown");
                        }
                    }
                    report::expired_preview(&current, torn)
                }
                Ok(run) => report::preview(&current, None, run.error),
                Err(error) => report::preview(&current, Some(error), None),
            };
            rows.push(row);
            if let Err(error) = self.state.save(
                PREVIEW_OBJECTS,
                &namespace,
                &name,
                &latest(&world.caches, &preview),
            ) {
                tracing::warn!(namespace, name, %error, "cannot keep the Preview for its teardown");
            }
        }

        let present: BTreeSet<(String, String)> = inputs
            .previews
            .iter()
            .map(|p| {
                (
                    p.namespace_or_default().to_string(),
                    p.name_or_empty().to_string(),
                )
            })
            .collect();
        for (namespace, name) in self.state.stored(PREVIEW_OBJECTS) {
            if present.contains(&(namespace.clone(), name.clone())) {
                continue;
            }
            let Some(gone) = self.state.load::<Preview>(PREVIEW_OBJECTS, &namespace, &name) else {
                continue;
            };
            let torn = kinds::preview::tear_down(&gone, world, store, HELD).await;
            if torn.is_ok() {
                for kind in [PREVIEW_OBJECTS, Preview::KIND] {
                    if let Err(error) = self.state.remove(kind, &namespace, &name) {
                        tracing::warn!(namespace, name, %error, "cannot forget the torn-down Preview");
                    }
                }
            }
            rows.push(report::removed_preview(&gone, torn));
        }
        rows
    }
}

/// One row per Incident the state folder keeps, after forgetting those whose resource left the
/// folder (as garbage collection removes them with their owner in the cluster).
fn incidents(inputs: &Inputs, store: &FolderStore) -> Vec<Row> {
    fn has<K: Kind>(objects: &[K], namespace: &str, name: &str) -> bool {
        objects
            .iter()
            .any(|o| o.namespace_or_default() == namespace && o.name_or_empty() == name)
    }
    let mut rows = Vec::new();
    for incident in store.stored_incidents() {
        let (namespace, subject) = (incident.namespace_or_default(), incident.spec.lane.as_str());
        let present = match incident.spec.kind {
            IncidentSubjectKind::Lane => has(&inputs.lanes, namespace, subject),
            IncidentSubjectKind::Preview => has(&inputs.previews, namespace, subject),
            IncidentSubjectKind::ProviderTarget => has(&inputs.targets, namespace, subject),
            IncidentSubjectKind::RuntimeIdentity => has(&inputs.identities, namespace, subject),
        };
        if !present {
            if let Err(error) = store.forget_incident(&incident) {
                tracing::warn!(%error, "cannot forget the Incident of a resource that left the folder");
            }
            continue;
        }
        rows.push(report::incident(&incident));
    }
    rows
}

/// `objects` as the round's cache holds them (with their stored status), in folder order.
fn cached<K: Cached>(caches: &Caches, objects: &[K]) -> Vec<Arc<K>> {
    objects
        .iter()
        .filter_map(|o| caches.get::<K>(o.namespace_or_default(), o.name_or_empty()))
        .collect()
}

/// Every object of kind `K` the round's cache holds, by namespace and name.
fn all<K: Cached>(caches: &Caches) -> Vec<Arc<K>> {
    let mut out = caches.of::<K>().state();
    out.sort_by(|a, b| {
        (a.namespace_or_default(), a.name_or_empty()).cmp(&(b.namespace_or_default(), b.name_or_empty()))
    });
    out
}

/// The object as the cache holds it now (after its reconcile wrote its status).
fn latest<K: Cached>(caches: &Caches, object: &Arc<K>) -> K {
    caches
        .get::<K>(object.namespace_or_default(), object.name_or_empty())
        .map_or_else(|| object.as_ref().clone(), |o| o.as_ref().clone())
}
