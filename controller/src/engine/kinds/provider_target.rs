//! ProviderTarget: verify one target against its config's shared snapshot. No Dokploy call is
//! made here; the ProviderConfig polls and then wakes its targets.

use crate::engine::incidents::{self, Tracking, owner_of};
use crate::engine::{Reconciled, Result, StatusStore, World, commit, namespace_and_name, ready_message};
use crate::error_policy::jittered;
use launchplane_api::conditions::types;
use launchplane_api::resources::{
    IncidentSubjectKind, Lane, Product, ProviderConfig, ProviderTarget, ProviderTargetStatus,
};
use launchplane_core::incident::{self, Subject};
use launchplane_core::provider_target::{ConfigState, config_unavailable, reconcile as compute};
use std::sync::Arc;
use std::time::Duration;

/// How often a target whose config is missing looks again (the config's creation also wakes
/// it at once).
const CONFIG_MISSING_RECHECK: Duration = Duration::from_secs(300);

/// Reconcile one ProviderTarget.
#[tracing::instrument(skip_all, fields(kind = "ProviderTarget", name = %target.metadata.name.as_deref().unwrap_or_default(), namespace = target.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    target: Arc<ProviderTarget>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, _) = namespace_and_name(target.as_ref())?;
    let config_name = &target.spec.provider_config_ref.name;
    let config_key = format!("{namespace}/{config_name}");
    let now = world.now();

    // Before the ProviderConfig cache has listed once, every config would look missing.
    world.caches.configs.synced().await;
    let config = world.caches.get::<ProviderConfig>(&namespace, config_name);
    let (outcome, requeue) = match (config, world.providers.view(&config_key)) {
        (None, _) => (
            config_unavailable(&target, ConfigState::NotFound(config_name), now),
            CONFIG_MISSING_RECHECK,
        ),
        (Some(config), None) => {
            let interval =
                Duration::from_secs(u64::try_from(config.spec.poll_interval_seconds.max(1)).unwrap_or(60));
            // Ready True (written by an earlier run): only this controller has not polled it yet,
            // as after a restart, so the target is Unchecked and no incident clock starts. Not
            // Ready, or no status at all (a Secret that cannot be read writes none): it cannot
            // observe Dokploy, and the target is Unverifiable.
            let observed_before = config.status.as_ref().is_some_and(|s| {
                launchplane_api::conditions::find(&s.conditions, types::READY)
                    .is_some_and(|c| c.status == launchplane_api::conditions::status::TRUE)
            });
            let state = if observed_before {
                ConfigState::NotPolledYet(config_name)
            } else {
                ConfigState::NotReady(config_name)
            };
            (config_unavailable(&target, state, now), interval)
        }
        (Some(_), Some(view)) => {
            let window = view.snapshot.window(&view.settings);
            let claims = view.claims.claims_for(&target);
            let interval = view.settings.poll_interval.unsigned_abs();
            (compute(&target, &window, &claims, now), jittered(interval))
        }
    };
    let message = outcome
        .status
        .message
        .clone()
        .unwrap_or_else(|| ready_message(&outcome.status.conditions));
    commit(store, target.as_ref(), &outcome.status, Some(&message)).await?;
    // Before they have listed, every target would look uncovered by a lane.
    world.caches.lanes.synced().await;
    world.caches.products.synced().await;
    let due = incidents::track(
        world,
        store,
        &tracking(&target, &outcome.status, world, &namespace),
    )
    .await?;
    Ok(Reconciled::after(incidents::sooner(requeue, due)))
}

/// What of the target incidents watch: its verdict, unless a Lane names it (the lane's
/// `TargetVerified` carries it then, in the lane's incident). A target a Product clones
/// previews from belongs to that Product.
fn tracking(
    target: &ProviderTarget,
    status: &ProviderTargetStatus,
    world: &World,
    namespace: &str,
) -> Tracking {
    let name = target.metadata.name.clone().unwrap_or_default();
    let covered = world
        .caches
        .in_namespace::<Lane>(namespace)
        .iter()
        .any(|l| l.spec.target_ref.name == name);
    let product = world
        .caches
        .in_namespace::<Product>(namespace)
        .into_iter()
        .find(|p| {
            p.spec
                .preview
                .template_target_ref
                .as_ref()
                .is_some_and(|r| r.name == name)
        });
    let watched = if covered {
        Vec::new()
    } else {
        incident::watched_by_ready(types::TARGET_VERIFIED, &status.conditions)
            .into_iter()
            .collect()
    };
    Tracking {
        subject: Subject {
            namespace: namespace.to_string(),
            kind: IncidentSubjectKind::ProviderTarget,
            name,
            product: product
                .as_ref()
                .and_then(|p| p.metadata.name.clone())
                .unwrap_or_default(),
        },
        owner: owner_of(target),
        watched,
        policy: incident::policy(product.as_deref()),
    }
}
