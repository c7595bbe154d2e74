//! ProviderConfig: resolve the API key, keep one client and one poller per config, poll when
//! due, publish the snapshot for the config's ProviderTargets, write status.

use crate::engine::notification::{intent_pending, keep as keep_notification};
use crate::engine::providers::{ProviderView, resolve_api_key};
use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::{RetryClass, jittered};
use jiff::SignedDuration;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{ProviderConfig, ProviderTarget};
use launchplane_api::verify::target::ProviderFailure;
use launchplane_core::observation::{PollSettings, TrackedTarget};
use launchplane_core::provider_config::{
    KeySource, poll_requested_at, reconcile as compute, requested_poll_due,
};
use launchplane_core::provider_target::{ClaimIndex, tracked_target};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Reconcile one ProviderConfig.
#[tracing::instrument(skip_all, fields(kind = "ProviderConfig", name = %config.metadata.name.as_deref().unwrap_or_default(), namespace = config.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    config: Arc<ProviderConfig>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, name) = namespace_and_name(config.as_ref())?;
    let key = format!("{namespace}/{name}");
    let now = world.now();
    // Deleted configs are never reconciled again, so their pollers are dropped here.
    world.providers.retain(|k| {
        k == key
            || k.split_once('/')
                .is_some_and(|(ns, n)| world.caches.get::<ProviderConfig>(ns, n).is_some())
    });

    // Tracked ids and the target count come from the ProviderTarget cache: a poll before it
    // has listed once would track nothing.
    world.caches.targets.synced().await;
    let targets = targets_of(world, &namespace, &name);
    let credentials = resolve_api_key(world.secrets.as_ref(), &config).await?;
    let slot = credentials.and_then(|(api_key, source)| {
        world
            .providers
            .slot_for(&key, &config.spec, api_key)
            .map(|slot| (slot, source))
    });

    // Whether the targets have something new to be verified against (a snapshot, or none).
    let mut news = true;
    let (outcome, delay) = match slot {
        Err(problem) => {
            tracing::info!(reason = problem.reason, message = %problem.message, "no usable API key");
            world.providers.remove(&key);
            // The Secret is not watched, so "wait for a change" would miss the user creating
            // it; back off instead, quickly at first (Secret and config applied together),
            // up to the long interval for a reference that stays broken.
            let delay = world
                .failures
                .delay(&world.backoff, RetryClass::Transient, &key)
                .unwrap_or(world.backoff.max);
            (
                compute(&config, Err(&problem), &KeySource::Secret, targets.len(), now),
                delay,
            )
        }
        Ok((slot, source)) => {
            let mut slot = slot.lock().await;
            // A deploy Dokploy reported (through `launchplane webhooks`) brings the poll forward.
            if let Some(at) = requested_poll_due(poll_requested_at(&config), slot.last_poll_at) {
                slot.next_poll_at = Some(slot.next_poll_at.map_or(at, |next| next.min(at)));
            }
            let due = slot.next_poll_at.is_none_or(|at| at <= now);
            news = due;
            if due {
                let tracked = tracked(&targets);
                let snapshot = slot.poller.poll(&tracked, now).await.clone();
                slot.last_poll_at = Some(now);
                let delay = next_poll_delay(world, &key, &snapshot.last_failure, slot.poller.settings());
                slot.next_poll_at = Some(now + delay);
                world.providers.publish(
                    &key,
                    ProviderView {
                        snapshot: Arc::new(snapshot),
                        settings: *slot.poller.settings(),
                        claims: Arc::new(ClaimIndex::build(targets.iter().map(AsRef::as_ref))),
                        facts: slot.poller.facts(),
                    },
                );
            }
            let delay = slot
                .next_poll_at
                .map(|at| at.duration_since(now).unsigned_abs())
                .unwrap_or_default();
            let mut outcome = compute(&config, Ok(slot.poller.snapshot()), &source, targets.len(), now);
            // The deploy notification is looked after with each poll, and at once when the
            // spec changed.
            let spec_changed =
                config.status.as_ref().and_then(|s| s.observed_generation) != config.metadata.generation;
            let old = config
                .status
                .as_ref()
                .and_then(|s| s.deploy_notification.as_ref());
            if due || spec_changed || intent_pending(old) {
                let provider = slot.poller.provider();
                outcome.status.deploy_notification =
                    keep_notification(&config, world, provider.as_ref()).await;
                // The intent to create is stored before Dokploy is asked (its create answers
                // with no id, so only a notification that appears after the intent may be
                // found by name); then the same reconcile carries it out.
                if intent_pending(outcome.status.deploy_notification.as_ref()) {
                    store
                        .write_status(config.as_ref(), &outcome.status)
                        .await
                        .map_err(|e| {
                            crate::engine::Error::write(
                                format!("recording the intent to create the Dokploy notification of ProviderConfig {name}"),
                                e,
                            )
                        })?;
                    let mut stored = config.as_ref().clone();
                    stored.status = Some(outcome.status.clone());
                    outcome.status.deploy_notification =
                        keep_notification(&stored, world, provider.as_ref()).await;
                }
            }
            (outcome, delay)
        }
    };
    let message = ready_message(&outcome.status.conditions);
    commit(store, config.as_ref(), &outcome.status, Some(&message)).await?;
    // Its targets are verified against the new snapshot, or learn that there is none.
    let wake = targets
        .iter()
        .filter(|_| news)
        .map(|t| Wake::ProviderTarget(ObjectRef::from_obj(t.as_ref())));
    Ok(Reconciled::after(delay).waking(wake))
}

/// The ProviderTargets that reference `namespace/name` (references never cross namespaces).
pub fn targets_of(world: &World, namespace: &str, name: &str) -> Vec<Arc<ProviderTarget>> {
    world
        .caches
        .in_namespace::<ProviderTarget>(namespace)
        .into_iter()
        .filter(|t| t.spec.provider_config_ref.name == name)
        .collect()
}

/// The targets whose detail is worth reading: the ids the ProviderTargets claim.
pub fn tracked(targets: &[Arc<ProviderTarget>]) -> BTreeSet<TrackedTarget> {
    targets.iter().filter_map(|t| tracked_target(t)).collect()
}

/// When to poll next: the interval after a success; backoff after a failure, the long wait
/// when Dokploy throttles the key or refuses it.
fn next_poll_delay(
    world: &World,
    key: &str,
    failure: &Option<(ProviderFailure, String)>,
    settings: &PollSettings,
) -> SignedDuration {
    let interval = settings.poll_interval.unsigned_abs();
    let delay = match failure {
        None => {
            world.failures.succeeded(key);
            jittered(interval)
        }
        Some((ProviderFailure::Throttled, _)) => world.backoff.throttle.max(interval),
        Some((ProviderFailure::Unauthorized, _)) => world.backoff.max.max(interval),
        Some(_) => world
            .failures
            .delay(&world.backoff, RetryClass::Transient, key)
            .unwrap_or(interval)
            .min(interval),
    };
    SignedDuration::try_from(delay).unwrap_or(settings.poll_interval)
}
