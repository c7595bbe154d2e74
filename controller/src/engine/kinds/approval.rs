//! Approval: say whether the Promotion it approves exists ([`launchplane_core::approval`]),
//! and wake that Promotion (its Approval gate may now allow it).

use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{Approval, Promotion};
use launchplane_core::approval;
use std::sync::Arc;
use std::time::Duration;

/// A look now and then, in case its Promotion came or went unseen.
const RECHECK: Duration = Duration::from_secs(600);

/// Reconcile one Approval.
#[tracing::instrument(skip_all, fields(kind = "Approval", name = %obj.metadata.name.as_deref().unwrap_or_default(), namespace = obj.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(obj: Arc<Approval>, world: &World, store: &S) -> Result<Reconciled> {
    let (namespace, _) = namespace_and_name(obj.as_ref())?;
    world.caches.promotions.synced().await;
    let name = &obj.spec.promotion_ref.name;
    let promotion = world.caches.get::<Promotion>(&namespace, name);
    let outcome = approval::reconcile(&obj, promotion.as_deref(), world.now());
    let message = ready_message(&outcome.status.conditions);
    let written = commit(store, obj.as_ref(), &outcome.status, Some(&message)).await?;
    let wake =
        (written && promotion.is_some()).then(|| Wake::Promotion(ObjectRef::new(name).within(&namespace)));
    Ok(Reconciled::after(jittered(RECHECK)).waking(wake))
}
