//! Preview: look up its Product, template ProviderTarget and Artifact, drive its generation
//! ([`crate::engine::preview::drive`]: plan → one step → plan, as far as the World's limits
//! allow: application, domain, deploy, verification, and the fresh re-verification of a settled
//! preview), write status; and, when the Preview goes, tear its Dokploy application down
//! ([`tear_down`]).
//!
//! How a Preview goes is the shell's: the cluster holds it with a finalizer and deletes an
//! expired one (the finalizer then calls [`tear_down`]); standalone mode tears down the
//! Previews whose manifest left the folder, and the expired ones, itself.

use crate::engine::driver::DriveLimits;
use crate::engine::executor::Executor;
use crate::engine::feedback::{feedback, until_retry};
use crate::engine::incidents::{self, Tracking, owner_of};
use crate::engine::preview::{
    PreviewSettings, PreviewWorld, TeardownReport, TeardownTarget, drive, teardown,
};
use crate::engine::world::WholeSeconds;
use crate::engine::{Error, Reconciled, Result, StatusStore, World, commit, namespace_and_name};
use jiff::Timestamp;
use launchplane_api::conditions::types;
use launchplane_api::resources::{
    Artifact, IncidentSubjectKind, Preview, PreviewStatus, Product, ProviderTarget,
};
use launchplane_core::incident::{self, Subject};
use launchplane_core::preview::teardown_stalled;
use launchplane_providers::Provider;
use std::sync::Arc;
use std::time::Duration;

/// What a Preview reconcile found besides its status.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewRun {
    pub reconciled: Reconciled,
    /// The ttl has passed: the shell removes the Preview (and so tears it down).
    pub expired: bool,
    /// A transient failure the status also names; the shell retries sooner.
    pub error: Option<String>,
}

/// The preview settings of this World, with its instance id and the round's budget. `None`
/// when previews are not reconciled.
fn settings(world: &World) -> Option<PreviewSettings> {
    let settings = world.previews.as_ref()?;
    Some(PreviewSettings {
        instance: world.instance.clone(),
        deadline: world.wait_budget(settings.deadline),
        ..settings.clone()
    })
}

/// A Preview's Product, template ProviderTarget and Artifact, and its Dokploy client, once the
/// caches have listed (before that a Product or template would look missing, and a teardown
/// would lose what it needs to find).
struct Looked {
    product: Option<Arc<Product>>,
    template: Option<Arc<ProviderTarget>>,
    artifact: Option<Arc<Artifact>>,
    provider: Option<Arc<dyn Provider>>,
}

async fn look_up(preview: &Preview, namespace: &str, world: &World) -> Looked {
    let caches = &world.caches;
    caches.products.synced().await;
    caches.artifacts.synced().await;
    caches.targets.synced().await;
    let product = caches.get::<Product>(namespace, &preview.spec.product_ref.name);
    let template = product
        .as_ref()
        .and_then(|p| p.spec.preview.template_target_ref.clone())
        .and_then(|r| caches.get::<ProviderTarget>(namespace, &r.name));
    let artifact = caches.get::<Artifact>(namespace, &preview.spec.artifact_ref.name);
    let provider = provider_of(world, template.as_deref());
    Looked {
        product,
        template,
        artifact,
        provider,
    }
}

fn provider_of(world: &World, template: Option<&ProviderTarget>) -> Option<Arc<dyn Provider>> {
    let t = template?;
    let namespace = t.metadata.namespace.as_deref().unwrap_or("default");
    world
        .providers
        .provider(&format!("{namespace}/{}", t.spec.provider_config_ref.name))
}

/// Reconcile one Preview. Previews are reconciled only when the World has preview settings.
#[tracing::instrument(skip_all, fields(kind = "Preview", name = %preview.metadata.name.as_deref().unwrap_or_default(), namespace = preview.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    preview: Arc<Preview>,
    world: &World,
    store: &S,
) -> Result<PreviewRun> {
    let (namespace, _) = namespace_and_name(preview.as_ref())?;
    let Some(settings) = settings(world) else {
        return Ok(PreviewRun {
            reconciled: Reconciled::on_change(),
            expired: false,
            error: None,
        });
    };
    let looked = look_up(&preview, &namespace, world).await;
    let inputs = PreviewWorld {
        preview: &preview,
        product: looked.product.as_deref(),
        template: looked.template.as_deref(),
        artifact: looked.artifact.as_deref(),
    };
    let executor = looked.provider.map(Executor::new);
    // One generation's steps in the cluster, to completion in standalone mode; the waits end
    // with the round (standalone) or the preview deadline.
    let limits = DriveLimits {
        max_steps: world.preview_steps,
        deadline: settings.deadline,
    };
    let clock = WholeSeconds(world.clock.as_ref());
    let mut report = drive(
        &inputs,
        executor.as_ref(),
        &world.prober,
        &settings,
        limits,
        store,
        &clock,
    )
    .await;
    if !report.steps.is_empty() {
        tracing::info!(steps = ?report.steps, "preview steps taken");
    }
    // After the verdict is settled: GitHub's answer changes only `status.feedback`.
    if let Some(record) = feedback(world, &preview, &namespace, &report.status, false).await {
        report.status.feedback = Some(record);
    }
    commit(store, preview.as_ref(), &report.status, None).await?;
    let mut requeue = until_retry(
        report.status.feedback.as_ref(),
        world.now(),
        until_expiry(&report.status, world.now(), report.requeue),
    );
    if !report.expired {
        let tracking = Tracking {
            subject: Subject {
                namespace: namespace.clone(),
                kind: IncidentSubjectKind::Preview,
                name: preview.metadata.name.clone().unwrap_or_default(),
                product: preview.spec.product_ref.name.clone(),
            },
            owner: owner_of(preview.as_ref()),
            // Every aspect of a preview is required.
            watched: incident::from_conditions(
                &report.status.conditions,
                &[
                    types::TARGET_VERIFIED,
                    types::DEPLOYED,
                    types::RUNTIME_IDENTITY_VERIFIED,
                ],
            ),
            policy: incident::policy(looked.product.as_deref()),
        };
        let due = incidents::track(world, store, &tracking).await?;
        requeue = incidents::sooner(requeue, due);
    }
    Ok(PreviewRun {
        reconciled: if report.expired {
            Reconciled::on_change()
        } else {
            Reconciled::after(requeue)
        },
        expired: report.expired,
        error: report.error,
    })
}

/// Come back no later than the ttl's expiry, so an expired Preview is removed on time rather
/// than at the next resync.
pub fn until_expiry(status: &PreviewStatus, now: Timestamp, requeue: Duration) -> Duration {
    match status.expires_at.as_ref() {
        Some(at) => {
            // Past expiry the next reconcile removes it; one second avoids a hot loop.
            let left = at.0.duration_since(now);
            let left = if left.is_positive() {
                left.unsigned_abs()
            } else {
                Duration::ZERO
            };
            requeue.min(left.max(Duration::from_secs(1)))
        }
        None => requeue,
    }
}

/// Tear a going Preview down: delete its recorded Dokploy application (only when its marker,
/// read now, is this Preview's) and domains, and confirm they are gone. A failure is written
/// to the Preview's status (Stalled, `TeardownFailed`, saying that `held` until it succeeds:
/// the finalizer in the cluster, the state folder's record in standalone mode) and returned.
pub async fn tear_down<S: StatusStore>(
    preview: &Preview,
    world: &World,
    store: &S,
    held: &str,
) -> Result<TeardownReport> {
    let (namespace, name) = namespace_and_name(preview)?;
    let settings = settings(world).unwrap_or_default();
    // The spec may no longer validate (product gone, policy changed): the status recorded the
    // target id and slug, which is what the teardown goes by.
    let looked = look_up(preview, &namespace, world).await;
    let provider = looked.provider.or_else(|| {
        // Without the Product, any ProviderConfig of the namespace can reach Dokploy; the
        // recorded target id decides what is deleted.
        world
            .caches
            .in_namespace::<ProviderTarget>(&namespace)
            .iter()
            .find_map(|t| provider_of(world, Some(t)))
    });
    let target = TeardownTarget::of(preview, looked.product.as_deref(), &world.instance);
    let executor = provider.map(Executor::new);
    match teardown(&target, executor.as_ref(), &world.prober, &settings).await {
        Ok(done) => {
            // Best effort: the Preview goes whatever GitHub answers; a failure is logged.
            let status = preview.status.clone().unwrap_or_default();
            if let Some(record) = feedback(world, preview, &namespace, &status, true).await
                && let Some(message) = record.message
            {
                tracing::warn!(%message, "the pull request was not told of the teardown");
            }
            if done.left_alone.is_some() {
                // The Preview goes (it is the user's to delete), but what was not ours stays in
                // Dokploy, and the log says why.
                tracing::warn!(summary = %done.summary(), "preview removed without deleting its application");
            } else {
                tracing::info!(summary = %done.summary(), domains = ?done.domains, "preview torn down");
            }
            Ok(done)
        }
        Err(e) => {
            let message = format!("teardown failed, {held} until it succeeds: {e}");
            let status = teardown_stalled(preview, message, world.now());
            if let Err(error) = store.write_status(preview, &status).await {
                tracing::warn!(%error, "cannot write the teardown failure to status");
            }
            Err(Error::Teardown {
                namespace,
                name,
                message: e.to_string(),
            })
        }
    }
}
