//! Lane: gather a lane's inputs from the World, run the lane driver ([`crate::engine::driver`]:
//! plan → one step → plan, as far as [`World::drive`] allows), keep the lane's RuntimeIdentity
//! child, write status.
//!
//! ```text
//!  caches: Product, ProviderTarget (status), Artifact, DeploymentRecord (evidence), the other
//!          Lanes of the namespace (one Manage target per Lane), the Promotions into it (a lane
//!          with spec.promotion is fed by them: launchplane_core::promotion::feed)
//!  secrets: the Secrets / ConfigMaps of spec.env (values never logged)
//!  providers: the client and shared view of the ProviderTarget's ProviderConfig
//!        │
//!        ▼
//!  drive ── CreateRecord before any provider mutation; every later phase on the record
//!        ▼
//!  RuntimeIdentity child ─► lane status ─► announcement on a verdict change ─► its Incidents
//!  (required aspects and health checks: crate::engine::incidents) ─► wake the
//!  artifacts the lane wants or runs, the Promotions from and into it, the lanes it feeds
//!  automatically ─► create the automatic Promotion it wants (spec.promotion.auto) ─► look
//!  again soon while a step is in flight, when a retry is due, else at the poll interval
//! ```
//!
//! In the cluster one reconcile takes one step, so every persisted step is seen before the
//! next is planned; standalone mode runs the loop to completion within its round. A restart
//! resumes from the records either way.

use crate::engine::driver::{DriveLimits, DriveReport, LaneWorld, PolledFacts, drive};
use crate::engine::env::resolve_env;
use crate::engine::executor::Executor;
use crate::engine::incidents::{self, Tracking, owner_of};
use crate::engine::lane_records;
use crate::engine::world::WholeSeconds;
use crate::engine::{
    Error, Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{
    Artifact, BackupGate, IncidentSubjectKind, Lane, LaneStatus, Product, Promotion, ProviderTarget,
};
use launchplane_core::backup_capture;
use launchplane_core::incident::{self, Subject};
use launchplane_core::lane::rival_lanes;
use launchplane_core::promotion::{self, Feed};
use std::sync::Arc;
use std::time::Duration;

/// How long a settled lane waits when its ProviderConfig has no poll interval to offer.
const SETTLED_RECHECK: Duration = Duration::from_secs(60);

/// Reconcile one Lane: as many steps as [`World::drive`] allows, then status.
#[tracing::instrument(skip_all, fields(kind = "Lane", name = %lane.metadata.name.as_deref().unwrap_or_default(), namespace = lane.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(lane: Arc<Lane>, world: &World, store: &S) -> Result<Reconciled> {
    let (namespace, name) = namespace_and_name(lane.as_ref())?;
    let caches = &world.caches;
    // Before the caches have listed once, every reference would look missing, and a lane
    // sharing this lane's target would go unseen.
    caches.products.synced().await;
    caches.artifacts.synced().await;
    caches.records.synced().await;
    caches.identities.synced().await;
    caches.lanes.synced().await;
    caches.targets.synced().await;
    // Before they have listed, a lane fed by Promotions would look as if it had none.
    caches.promotions.synced().await;
    // Before they have listed, a bootstrap under way would go unseen and a deploy could start.
    caches.data_bootstraps.synced().await;

    let spec = &lane.spec;
    let product = caches.get::<Product>(&namespace, &spec.product_ref.name);
    let target = caches.get::<ProviderTarget>(&namespace, &spec.target_ref.name);
    let promotions = caches.in_namespace::<Promotion>(&namespace);
    let promotion_refs: Vec<&Promotion> = promotions.iter().map(AsRef::as_ref).collect();
    let feed = promotion::feed(&lane, &promotion_refs);
    let artifact = feed
        .desired
        .as_ref()
        .and_then(|d| caches.get::<Artifact>(&namespace, &d.artifact));
    let identity = store.lane_identity(&lane);
    let desired_env = resolve_env(world.secrets.as_ref(), &lane, product.as_deref()).await?;
    let config_key = target
        .as_ref()
        .map(|t| format!("{namespace}/{}", t.spec.provider_config_ref.name));
    let executor = config_key
        .as_deref()
        .and_then(|k| world.providers.provider(k))
        .map(Executor::new);
    // The config's shared observation: the target's image and env as its poller last read them.
    let view = config_key.as_deref().and_then(|k| world.providers.view(k));
    let polled = view.as_ref().map(|v| PolledFacts {
        facts: v.facts.clone(),
        max_age: v.settings.detail_interval,
        listing: Some((v.snapshot.clone(), v.settings)),
    });
    let evidence = lane_records::evidence_of(world, &namespace, &name);
    let lanes = caches.in_namespace::<Lane>(&namespace);
    let rivals = rival_lanes(&lane, lanes.iter().map(|l| &**l));
    let records = store.lane_records(&lane, evidence);
    let inputs = LaneWorld {
        lane: &lane,
        lane_key: lane.metadata.uid.clone().unwrap_or_else(|| name.clone()),
        feed: feed.clone(),
        product: product.as_deref(),
        target: target.as_deref(),
        artifact: artifact.as_deref(),
        desired_env,
        identity: identity.clone(),
        polled,
        instance: &world.instance,
        rivals,
        bootstraps: caches.in_namespace::<launchplane_api::resources::DataBootstrap>(&namespace),
    };
    // The lane's waits end with the round (standalone): what is left continues next round.
    let limits = DriveLimits {
        deadline: world.wait_budget(world.drive.deadline),
        ..world.drive
    };
    let clock = WholeSeconds(world.clock.as_ref());
    let report = drive(
        &inputs,
        executor.as_ref(),
        &world.prober,
        records.as_ref(),
        &world.deploy,
        limits,
        &clock,
    )
    .await;
    if !report.steps.is_empty() {
        tracing::info!(steps = ?report.steps, "lane steps taken");
    }

    if let Some(child) = &report.plan.identity {
        store
            .save_lane_identity(&lane, child, identity.as_ref())
            .await
            .map_err(|e| {
                Error::write(
                    format!("storing the RuntimeIdentity of lane {namespace}/{name}"),
                    e,
                )
            })?;
    }

    let status = &report.plan.outcome.status;
    let old = lane.status.as_ref();
    let message = ready_message(&status.conditions);
    let written = commit(store, lane.as_ref(), status, Some(&message)).await?;
    caches.backup_gates.synced().await;
    let web_stopped = caches
        .in_namespace::<BackupGate>(&namespace)
        .iter()
        .any(|g| g.spec.lane_ref.name == name && backup_capture::holds_web_stopped(g));
    let incident_due = incidents::track(
        world,
        store,
        &tracking(&lane, &report, product.as_deref(), &namespace, &name, web_stopped),
    )
    .await?;
    let mut wake = Vec::new();
    if written {
        // The artifacts this lane wants, runs or may roll back to recount their users.
        let rollback = |s: Option<&LaneStatus>| {
            s.map(|s| s.rollback_candidates.clone())
                .unwrap_or_default()
                .into_iter()
        };
        let mut artifacts: Vec<String> = feed
            .desired
            .iter()
            .map(|d| d.artifact.clone())
            .chain(old.and_then(|s| s.desired.as_ref()).map(|d| d.artifact.clone()))
            .chain(old.and_then(|s| s.inventory.as_ref()).map(|i| i.artifact.clone()))
            .chain(status.inventory.as_ref().map(|i| i.artifact.clone()))
            .chain(rollback(old))
            .chain(rollback(Some(status)))
            .collect();
        artifacts.sort();
        artifacts.dedup();
        wake.extend(
            artifacts
                .iter()
                .map(|a| Wake::Artifact(ObjectRef::new(a).within(&namespace))),
        );
        // Promotions from and into this lane read its inventory and identity; lanes promoted
        // from it automatically look for a new artifact.
        wake.extend(super::promotion::promotions_of_lane(world, &namespace, &name));
        wake.extend(
            caches
                .in_namespace::<Lane>(&namespace)
                .iter()
                .filter(|l| {
                    l.spec
                        .promotion
                        .as_ref()
                        .is_some_and(|p| p.auto && p.source_lane == name)
                })
                .map(|l| Wake::Lane(ObjectRef::from_obj(l.as_ref()))),
        );
    }
    wake.extend(auto_promote(&lane, status, &feed, &promotion_refs, world, store, &namespace).await?);
    if let Some(error) = report.error {
        // The status above already says where the lane stands; the step is retried.
        return Err(Error::LaneStep {
            namespace,
            name,
            message: error.to_string(),
        });
    }
    let delay = if report.plan.step.is_some() {
        world.deploy.poll_delay
    } else {
        let interval = view
            .as_ref()
            .map(|v| v.settings.poll_interval.unsigned_abs())
            .unwrap_or(SETTLED_RECHECK);
        // A lane waiting out a retry backoff wakes when its next attempt is due, not a poll
        // later (and not sooner: the plan would only wait again).
        let retry = retry_due_in(status, world.now());
        retry.map_or_else(|| jittered(interval), |due| due.min(jittered(interval)))
    };
    Ok(Reconciled::after(incidents::sooner(delay, incident_due)).waking(wake))
}

/// What of the lane incidents watch ([`incident::lane_watched`]).
fn tracking(
    lane: &Lane,
    report: &DriveReport,
    product: Option<&Product>,
    namespace: &str,
    name: &str,
    web_stopped: bool,
) -> Tracking {
    let watched = incident::lane_watched(
        &report.plan.aspects,
        &lane.spec.health_checks,
        &report.health,
        &report.plan.outcome.status.conditions,
        // A capture stopped the web on purpose: planned, not an outage to page anyone for.
        web_stopped,
    );
    Tracking {
        subject: Subject {
            namespace: namespace.to_string(),
            kind: IncidentSubjectKind::Lane,
            name: name.to_string(),
            product: lane.spec.product_ref.name.clone(),
        },
        owner: owner_of(lane),
        watched,
        policy: incident::policy(product),
    }
}

/// Create the Promotion this lane wants made automatically (`spec.promotion.auto`), if any:
/// the source lane verifies an artifact this lane neither runs nor has a Promotion for, and no
/// rollback holds it. The name is deterministic, so a restart creates nothing twice.
async fn auto_promote<S: StatusStore>(
    lane: &Lane,
    status: &LaneStatus,
    feed: &Feed,
    promotions: &[&Promotion],
    world: &World,
    store: &S,
    namespace: &str,
) -> Result<Option<Wake>> {
    let Some(rules) = lane.spec.promotion.as_ref().filter(|r| r.auto) else {
        return Ok(None);
    };
    let source = world.caches.get::<Lane>(namespace, &rules.source_lane);
    let mut current = lane.clone();
    current.status = Some(status.clone());
    let Some(mut wanted) = promotion::auto::wanted(&current, source.as_deref(), promotions, feed) else {
        return Ok(None);
    };
    // The API server sets its own; standalone mode keeps this one (the queue's order).
    wanted.metadata.creation_timestamp = Some(Time(world.now()));
    let name = wanted.metadata.name.clone().unwrap_or_default();
    let created = store
        .create_promotion(&wanted)
        .await
        .map_err(|e| Error::write(format!("creating the automatic Promotion {namespace}/{name}"), e))?;
    if created {
        tracing::info!(promotion = %name, "automatic Promotion created");
    }
    Ok(Some(Wake::Promotion(ObjectRef::new(&name).within(namespace))))
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
