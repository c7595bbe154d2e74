//! The Lane controller: gather a lane's inputs from the reflector stores and the API, run the
//! shared lane driver for **one** step ([`crate::deploy::driver::drive`], the same loop
//! standalone mode runs to completion), keep the lane's RuntimeIdentity child, write status.
//!
//! ```text
//!  stores: Product, ProviderTarget (status), Artifact, DeploymentRecord, RuntimeIdentity,
//!          Lane (the other lanes naming the same target)
//!  API:    Secrets / ConfigMaps of spec.env (get; values never logged), the lane's records
//!          (list by label: fresh, never a lagging cache)
//!  registry: the provider client of the ProviderTarget's ProviderConfig
//!        │
//!        ▼
//!  drive(max one step) ── CreateRecord (POST, ownerReference to the lane) before any
//!        │                provider mutation; every later phase by SSA on the record's status
//!        ▼
//!  RuntimeIdentity child (SSA, owned by the lane) ─► lane status (SSA) ─► Event on a verdict
//!  transition ─► requeue soon while a step is in flight, at the poll interval when settled,
//!  or when a retry is due (`status.deployRetry.nextAttemptTime`) if that comes first
//! ```
//!
//! One step per reconcile keeps every reconcile short and makes each persisted step visible
//! before the next is planned; a controller restart resumes from the records.

use super::cache::{Cache, CacheWriter, cache, listed_cache};
use super::common::{failure_key, namespace_and_name, write_status_if_changed};
use super::context::Context;
use super::error::{Error, Result};
use super::events::publish_transition;
use super::provider_config::ready_message;
use super::records::{KubeRecordStore, lane_owner};
use super::status::FIELD_MANAGER;
use crate::deploy::driver::{DriveLimits, LaneWorld, PolledFacts, drive};
use crate::deploy::executor::Executor;
use crate::error_policy::jittered;
use futures::channel::mpsc::UnboundedSender;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{
    Artifact, DeploymentRecord, Lane, LaneStatus, Product, ProviderTarget, RuntimeIdentity,
};
use launchplane_core::deployment_record::DeploySettings;
use launchplane_core::target::DesiredEnv;
use launchplane_providers::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "Lane";

/// How long a settled lane waits when its ProviderConfig has no poll interval to offer.
const SETTLED_RECHECK: Duration = Duration::from_secs(60);

/// What the Lane, Artifact and DeploymentRecord controllers share (`Context::lanes`).
#[derive(Clone)]
pub struct LaneStores {
    pub lanes: Cache<Lane>,
    pub products: Cache<Product>,
    pub artifacts: Cache<Artifact>,
    /// Every DeploymentRecord (status included): evidence records are found here.
    pub records: Cache<DeploymentRecord>,
    /// Every RuntimeIdentity: each lane's child is read from here.
    pub identities: Cache<RuntimeIdentity>,
    /// Asks the Lane controller to look again (an artifact or record of the lane changed).
    pub lane_trigger: UnboundedSender<ObjectRef<Lane>>,
    /// Asks the Artifact controller to recount who references an artifact.
    pub artifact_trigger: UnboundedSender<ObjectRef<Artifact>>,
    /// Deploy timings (how soon a lane with a step in flight is looked at again).
    pub settings: DeploySettings,
}

impl Default for LaneStores {
    /// Empty, ready stores and triggers nobody listens to: a context without lanes.
    fn default() -> Self {
        LaneStores {
            lanes: listed_cache(),
            products: listed_cache(),
            artifacts: listed_cache(),
            records: listed_cache(),
            identities: listed_cache(),
            lane_trigger: futures::channel::mpsc::unbounded().0,
            artifact_trigger: futures::channel::mpsc::unbounded().0,
            settings: DeploySettings::default(),
        }
    }
}

/// `now`, whole seconds (Kubernetes keeps times to the second; see [`Context::now`]).
struct WholeSeconds<'a>(&'a dyn Clock);

impl Clock for WholeSeconds<'_> {
    fn now(&self) -> Timestamp {
        let now = self.0.now();
        Timestamp::from_second(now.as_second()).unwrap_or(now)
    }
}

/// Reconcile one Lane: at most one step, then status.
#[tracing::instrument(skip_all, fields(kind = KIND, name = %lane.name_any(), namespace = lane.namespace().unwrap_or_default()))]
pub async fn reconcile(lane: Arc<Lane>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let (namespace, name) = namespace_and_name(lane.as_ref(), KIND)?;
    let stores = &ctx.lanes;
    // Before the stores have listed once, every reference would look missing.
    stores.products.synced().await;
    stores.artifacts.synced().await;
    stores.records.synced().await;
    stores.identities.synced().await;
    // Before the lane store has listed, a lane sharing this lane's target would go unseen.
    stores.lanes.synced().await;
    ctx.targets.synced().await;

    let spec = &lane.spec;
    let product = stores
        .products
        .get(&ObjectRef::new(&spec.product_ref.name).within(&namespace));
    let target = ctx
        .targets
        .get(&ObjectRef::<ProviderTarget>::new(&spec.target_ref.name).within(&namespace));
    let artifact = spec
        .artifact_ref
        .as_ref()
        .and_then(|r| stores.artifacts.get(&ObjectRef::new(&r.name).within(&namespace)));
    let identity = own_child(
        &lane,
        stores.identities.get(&ObjectRef::new(&name).within(&namespace)),
    );
    let desired_env = resolve_env(&ctx.client, &lane, &namespace).await?;
    let config_key = target
        .as_ref()
        .map(|t| format!("{namespace}/{}", t.spec.provider_config_ref.name));
    let executor = config_key
        .as_deref()
        .and_then(|k| ctx.registry.provider(k))
        .map(Executor::new);
    // The config's shared observation: the target's image and env as its poller last read them.
    let view = config_key.as_deref().and_then(|k| ctx.registry.view(k));
    let polled = view.as_ref().map(|v| PolledFacts {
        facts: v.facts.clone(),
        max_age: v.settings.detail_interval,
    });
    let evidence: Vec<DeploymentRecord> = stores
        .records
        .state_filter(|r| {
            r.metadata.namespace.as_deref() == Some(namespace.as_str())
                && r.spec.lane_ref.as_ref().is_some_and(|l| l.name == name)
        })
        .iter()
        .map(|r| r.as_ref().clone())
        .collect();
    let lanes = stores.lanes.state();
    let rivals = launchplane_core::lane::rival_lanes(&lane, lanes.iter().map(|l| &**l));
    let store = KubeRecordStore::new(ctx.client.clone(), &lane, evidence);
    let world = LaneWorld {
        lane: &lane,
        lane_key: lane.metadata.uid.clone().unwrap_or_else(|| name.clone()),
        product: product.as_deref(),
        target: target.as_deref(),
        artifact: artifact.as_deref(),
        desired_env,
        identity: identity.clone(),
        polled,
        instance: &ctx.instance_id,
        rivals,
    };
    let limits = DriveLimits {
        max_steps: 1,
        deadline: Duration::from_secs(30),
    };
    let clock = WholeSeconds(ctx.clock.as_ref());
    let report = drive(
        &world,
        executor.as_ref(),
        &ctx.prober,
        &store,
        &stores.settings,
        limits,
        &clock,
    )
    .await;
    if !report.steps.is_empty() {
        tracing::info!(steps = ?report.steps, "lane step taken");
    }

    if let Some(child) = &report.plan.identity
        && identity_blocked(
            &lane,
            stores.identities.get(&ObjectRef::new(&name).within(&namespace)),
        )
        .is_none()
    {
        apply_child(&ctx.client, &lane, child, identity.as_ref()).await?;
    }

    let status = &report.plan.outcome.status;
    let api: Api<Lane> = Api::namespaced(ctx.client.clone(), &namespace);
    let old = lane.status.as_ref();
    let written = write_status_if_changed(&api, KIND, &namespace, &name, old, status).await?;
    if let Some(verdict) = status.verdict {
        publish_transition(
            &ctx.recorder,
            lane.as_ref(),
            old.and_then(|s| s.verdict),
            verdict,
            &ready_message(&status.conditions),
        )
        .await;
    }
    if written {
        // The artifacts this lane wants or runs recount their users.
        let artifacts = spec
            .artifact_ref
            .iter()
            .map(|r| r.name.clone())
            .chain(old.and_then(|s| s.inventory.as_ref()).map(|i| i.artifact.clone()))
            .chain(status.inventory.as_ref().map(|i| i.artifact.clone()));
        for a in artifacts {
            let _ = stores
                .artifact_trigger
                .unbounded_send(ObjectRef::new(&a).within(&namespace));
        }
    }
    ctx.metrics.reconciled(KIND, started.elapsed());
    if let Some(error) = report.error {
        // The status above already says where the lane stands; the step is retried.
        return Err(Error::LaneStep {
            namespace,
            name,
            message: error.to_string(),
        });
    }
    ctx.failures.succeeded(&failure_key(lane.as_ref(), KIND));
    let delay = if report.plan.step.is_some() {
        stores.settings.poll_delay
    } else {
        let interval = view
            .as_ref()
            .map(|v| v.settings.poll_interval.unsigned_abs())
            .unwrap_or(SETTLED_RECHECK);
        // A lane waiting out a retry backoff wakes when its next attempt is due, not a poll
        // later (and not sooner: the plan would only wait again).
        let retry = retry_due_in(status, clock.now());
        retry.map_or_else(|| jittered(interval), |due| due.min(jittered(interval)))
    };
    Ok(Action::requeue(delay.max(Duration::from_secs(1))))
}

/// How long until the lane's next deploy attempt is due (`status.deployRetry.nextAttemptTime`),
/// rounded up to the second; `None` when no attempt is scheduled.
pub fn retry_due_in(status: &LaneStatus, now: Timestamp) -> Option<Duration> {
    let at = status.deploy_retry.as_ref()?.next_attempt_time.as_ref()?.0;
    let wait = now.duration_until(at);
    if wait.is_negative() {
        return Some(Duration::ZERO);
    }
    let secs = wait.as_secs() + i64::from(wait.subsec_nanos() > 0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// Why the RuntimeIdentity named like the lane is not the lane's to write: it exists and is
/// not owned by this lane (someone created it by hand).
fn identity_blocked(lane: &Lane, existing: Option<Arc<RuntimeIdentity>>) -> Option<String> {
    let existing = existing?;
    let uid = lane.metadata.uid.as_deref()?;
    let owned = existing
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid);
    (!owned).then(|| {
        format!(
            "RuntimeIdentity {} exists and is not owned by this lane; it is left alone",
            existing.name_any()
        )
    })
}

/// The lane's child as stored, if it is the lane's.
fn own_child(lane: &Lane, existing: Option<Arc<RuntimeIdentity>>) -> Option<RuntimeIdentity> {
    match identity_blocked(lane, existing.clone()) {
        Some(why) => {
            tracing::warn!(%why, "not adopting the RuntimeIdentity");
            None
        }
        None => existing.map(|e| e.as_ref().clone()),
    }
}

/// Server-side apply the child's spec, labels and ownerReference (its status is the
/// RuntimeIdentity controller's), unless the stored child already carries them.
async fn apply_child(
    client: &Client,
    lane: &Lane,
    child: &RuntimeIdentity,
    stored: Option<&RuntimeIdentity>,
) -> Result<()> {
    let owner = lane_owner(lane);
    let unchanged = stored.is_some_and(|s| {
        s.spec == child.spec
            && s.metadata.labels == child.metadata.labels
            && owner.as_ref().is_none_or(|o| {
                s.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|r| r.uid == o.uid)
            })
    });
    if unchanged {
        return Ok(());
    }
    let namespace = child.metadata.namespace.clone().unwrap_or_default();
    let name = child.name_any();
    let body = serde_json::json!({
        "apiVersion": RuntimeIdentity::api_version(&()),
        "kind": RuntimeIdentity::kind(&()),
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": child.metadata.labels,
            "ownerReferences": owner.into_iter().collect::<Vec<_>>(),
        },
        "spec": child.spec,
    });
    let api: Api<RuntimeIdentity> = Api::namespaced(client.clone(), &namespace);
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await
    .map_err(|source| Error::ApplyChild {
        namespace: namespace.clone(),
        name: name.clone(),
        source: Box::new(source),
    })?;
    Ok(())
}

/// The lane's env: ConfigMaps, then Secrets, then literal values (later wins), as the
/// standalone runner resolves it. A missing object is the user's to fix (`Ok(Err(..))`,
/// written to status naming it); an API failure is an error to retry. Values never leave
/// the returned map.
pub async fn resolve_env(
    client: &Client,
    lane: &Lane,
    namespace: &str,
) -> Result<std::result::Result<DesiredEnv, String>> {
    let mut env = DesiredEnv::new();
    let read_error = |kind: &'static str, name: &str, source: kube::Error| Error::ReadEnv {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
        source: Box::new(source),
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for r in &lane.spec.env.config_map_refs {
        let Some(cm) = config_maps
            .get_opt(&r.name)
            .await
            .map_err(|e| read_error("ConfigMap", &r.name, e))?
        else {
            return Ok(Err(format!(
                "spec.env.configMapRefs: ConfigMap {namespace}/{} does not exist; create it or remove \
                 the reference",
                r.name
            )));
        };
        env.extend(
            cm.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, SecretString::new(v))),
        );
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for r in &lane.spec.env.secret_refs {
        let Some(secret) = secrets
            .get_opt(&r.name)
            .await
            .map_err(|e| read_error("Secret", &r.name, e))?
        else {
            return Ok(Err(format!(
                "spec.env.secretRefs: Secret {namespace}/{} does not exist; create it or remove the \
                 reference",
                r.name
            )));
        };
        for (key, bytes) in secret.data.unwrap_or_default() {
            match String::from_utf8(bytes.0) {
                Ok(value) => {
                    env.insert(key, SecretString::new(value));
                }
                Err(_) => {
                    return Ok(Err(format!(
                        "spec.env.secretRefs: key {key} of Secret {namespace}/{} is not UTF-8 text; \
                         an env value must be text",
                        r.name
                    )));
                }
            }
        }
    }
    env.extend(
        lane.spec
            .env
            .values
            .iter()
            .map(|v| (v.name.clone(), SecretString::new(v.value.clone()))),
    );
    Ok(Ok(env))
}

/// The watches and triggers behind [`LaneStores`], made before the [`Context`] and run by
/// [`LaneLoops::run`] once it exists.
pub struct LaneLoops {
    lanes: CacheWriter<Lane>,
    products: CacheWriter<Product>,
    artifacts: CacheWriter<Artifact>,
    records: CacheWriter<DeploymentRecord>,
    lane_triggered: futures::channel::mpsc::UnboundedReceiver<ObjectRef<Lane>>,
    artifact_triggered: futures::channel::mpsc::UnboundedReceiver<ObjectRef<Artifact>>,
}

/// The stores the lane controllers share (`identities`: the RuntimeIdentity controller's
/// store) and the loops that fill them.
pub fn wiring(identities: Cache<RuntimeIdentity>) -> (LaneStores, LaneLoops) {
    let (lanes, lane_writer) = cache::<Lane>();
    let (products, product_writer) = cache::<Product>();
    let (artifacts, artifact_writer) = cache::<Artifact>();
    let (records, record_writer) = cache::<DeploymentRecord>();
    let (lane_trigger, lane_triggered) = futures::channel::mpsc::unbounded();
    let (artifact_trigger, artifact_triggered) = futures::channel::mpsc::unbounded();
    (
        LaneStores {
            lanes,
            products,
            artifacts,
            records,
            identities,
            lane_trigger,
            artifact_trigger,
            settings: DeploySettings::default(),
        },
        LaneLoops {
            lanes: lane_writer,
            products: product_writer,
            artifacts: artifact_writer,
            records: record_writer,
            lane_triggered,
            artifact_triggered,
        },
    )
}

impl LaneLoops {
    /// Run the Lane, Artifact and DeploymentRecord controllers (and the Product reflector the
    /// lanes read) until `shutdown`.
    pub async fn run(
        self,
        client: Client,
        namespace: Option<String>,
        ctx: Arc<Context>,
        shutdown: super::run::Shutdown,
    ) {
        use super::run::{api, watched};
        use futures::StreamExt;
        let ns = namespace.as_deref();
        let stores = ctx.lanes.clone();
        let products = {
            let drain = watched(api::<Product>(client.clone(), ns), self.products).for_each(|_| async {});
            let stop = shutdown.clone();
            async move {
                futures::pin_mut!(drain);
                futures::future::select(drain, stop).await;
            }
        };
        tokio::join!(
            lanes(
                watched(api(client.clone(), ns), self.lanes),
                stores.lanes.store(),
                self.lane_triggered,
                ctx.clone(),
                shutdown.clone(),
            ),
            super::artifact::controller(
                watched(api(client.clone(), ns), self.artifacts),
                stores.artifacts.store(),
                self.artifact_triggered,
                ctx.clone(),
                shutdown.clone(),
            ),
            super::deployment_record::controller(
                watched(api(client, ns), self.records),
                stores.records.store(),
                ctx,
                shutdown,
            ),
            products,
        );
    }
}

/// The Lane controller over `stream`, plus the lanes `triggered` by their artifacts and
/// records.
pub async fn lanes(
    stream: impl futures::Stream<Item = std::result::Result<Lane, watcher::Error>> + Send + 'static,
    reader: Store<Lane>,
    triggered: impl futures::Stream<Item = ObjectRef<Lane>> + Send + 'static,
    ctx: Arc<Context>,
    shutdown: super::run::Shutdown,
) {
    use futures::StreamExt;
    kube::runtime::Controller::for_stream(stream, reader)
        .reconcile_on(triggered)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, super::common::policy_for(KIND), ctx)
        .for_each(|result| super::run::report(KIND, result))
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use launchplane_api::resources::DeployRetryStatus;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn waiting_until(next: Option<Timestamp>) -> LaneStatus {
        LaneStatus {
            deploy_retry: Some(DeployRetryStatus {
                failed_attempts: 2,
                max_attempts: 5,
                next_attempt_time: next.map(Time),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_lane_waiting_on_backoff_wakes_when_the_attempt_is_due() {
        let now = at(0);
        assert_eq!(retry_due_in(&LaneStatus::default(), now), None);
        assert_eq!(
            retry_due_in(&waiting_until(None), now),
            None,
            "stalled: nothing scheduled"
        );
        assert_eq!(
            retry_due_in(&waiting_until(Some(at(60))), now),
            Some(Duration::from_secs(60))
        );
        let half = now
            .checked_add(jiff::SignedDuration::from_millis(30_500))
            .unwrap();
        assert_eq!(
            retry_due_in(&waiting_until(Some(half)), now),
            Some(Duration::from_secs(31)),
            "rounded up, never woken before it is due"
        );
        assert_eq!(
            retry_due_in(&waiting_until(Some(at(-5))), now),
            Some(Duration::ZERO)
        );
    }
}
