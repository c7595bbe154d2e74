//! NotificationPolicy: say whether each destination is configured (its Secrets read, the
//! destination built) and delivering (its last attempt on any Incident of the namespace did
//! not fail), [`launchplane_core::notification::status`]. Deliveries themselves happen after
//! an Incident is written ([`crate::engine::deliveries`]); this reconcile only reports.

use crate::engine::deliveries;
use crate::engine::{Reconciled, Result, StatusStore, World, commit, namespace_and_name, ready_message};
use crate::error_policy::jittered;
use launchplane_api::resources::{Incident, NotificationPolicy};
use launchplane_core::notification::{self as rule, Configured};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the policy looks at its destinations' latest deliveries again (they are written
/// on Incidents, not on the policy).
const RECHECK: Duration = Duration::from_secs(60);

/// Reconcile one NotificationPolicy.
#[tracing::instrument(skip_all, fields(kind = "NotificationPolicy", name = %obj.metadata.name.as_deref().unwrap_or_default(), namespace = obj.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    obj: Arc<NotificationPolicy>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, name) = namespace_and_name(obj.as_ref())?;
    world.caches.incidents.synced().await;
    let mut configured: BTreeMap<String, Configured> = BTreeMap::new();
    for destination in &obj.spec.destinations {
        let outcome = match &world.notify {
            Some(factory) => deliveries::build(world, factory.as_ref(), &namespace, &name, destination)
                .await
                .map(drop),
            None => deliveries::resolve(world, &namespace, &name, destination)
                .await
                .map(drop),
        };
        configured.insert(destination.name.clone(), outcome);
    }
    let incidents = world.caches.in_namespace::<Incident>(&namespace);
    let refs: Vec<&Incident> = incidents.iter().map(|i| i.as_ref()).collect();
    let latest = rule::latest_deliveries(&name, &refs);
    let outcome = rule::status(&obj, &configured, &latest, world.now());
    let message = ready_message(&outcome.status.conditions);
    commit(store, obj.as_ref(), &outcome.status, Some(&message)).await?;
    Ok(Reconciled::after(jittered(RECHECK)))
}
