//! The preview loop, like a lane's ([`crate::engine::driver`]): read what the plan needs,
//! plan, perform the one planned step through the executor, and again, within limits.
//!
//! Every step's effect is persisted before the next plan (the status written through the
//! [`StatusStore`] first, for the steps that [save first](PreviewStep::saves_first)) or read
//! back from Dokploy by the next observation, so stopping the loop after any step loses
//! nothing. Waits (a running deploy, a URL not serving the generation yet) end the loop when
//! the next look would overrun the deadline; the next reconcile picks up from the status.

use super::observe::observe;
use crate::engine::StatusStore;
use crate::engine::driver::DriveLimits;
use crate::engine::executor::Executor;
use crate::observe::prober::Prober;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{Artifact, Preview, PreviewStatus, Product, ProviderTarget};
use launchplane_core::preview::{
    Observation, Pace, PreviewInputs, PreviewPlan, PreviewSettings, needs, plan,
};
use std::time::{Duration, Instant};

/// The objects one Preview is reconciled from.
pub struct PreviewWorld<'a> {
    pub preview: &'a Preview,
    pub product: Option<&'a Product>,
    /// The Product's `preview.templateTargetRef`.
    pub template: Option<&'a ProviderTarget>,
    pub artifact: Option<&'a Artifact>,
}

/// What one drive did and where it left the preview.
#[derive(Clone, Debug)]
pub struct PreviewReport {
    /// The status the Preview should have now.
    pub status: PreviewStatus,
    /// The ttl has passed: the caller deletes the Preview (its finalizer tears it down).
    pub expired: bool,
    /// When to look again.
    pub requeue: Duration,
    /// A transient failure (the status says so too).
    pub error: Option<String>,
    /// The steps performed, in order.
    pub steps: Vec<&'static str>,
}

fn report(plan: PreviewPlan, steps: Vec<&'static str>, settings: &PreviewSettings) -> PreviewReport {
    PreviewReport {
        expired: plan.expired(),
        requeue: plan.requeue(settings),
        error: plan.error(),
        status: plan.status,
        steps,
    }
}

/// Drive one Preview: name it, request the generation for its head commit and artifact,
/// create its application and domain if needed, deploy, follow, verify; a settled one is
/// verified again. `executor` is `None` when the template's ProviderConfig has no client (the
/// plan then stalls without reading anything).
pub async fn drive<S: StatusStore>(
    world: &PreviewWorld<'_>,
    executor: Option<&Executor>,
    prober: &Prober,
    settings: &PreviewSettings,
    limits: DriveLimits,
    store: &S,
    clock: &dyn Clock,
) -> PreviewReport {
    let started = Instant::now();
    let inputs = PreviewInputs {
        preview: world.preview,
        product: world.product,
        template: world.template,
        artifact: world.artifact,
        provider: executor.is_some(),
    };
    let mut status = world.preview.status.clone().unwrap_or_default();
    let mut steps: Vec<&'static str> = Vec::new();
    // A plan a step's outcome decided: taken before reading again.
    let mut decided: Option<PreviewPlan> = None;
    loop {
        let plan = match decided.take() {
            Some(plan) => plan,
            None => {
                let now = clock.now();
                let needs = needs(&inputs, &status, settings, now);
                let observed = match executor {
                    Some(exec) => observe(&needs, exec, prober).await,
                    None => Observation::default(),
                };
                plan(&inputs, &observed, &status, settings, now)
            }
        };
        let Some(step) = plan.step.clone() else {
            let waiting = matches!(plan.pace, Pace::Waiting(_));
            if waiting && started.elapsed() + settings.poll_delay < limits.deadline {
                status = plan.status;
                tokio::time::sleep(settings.poll_delay).await;
                continue;
            }
            return report(plan, steps, settings);
        };
        if steps.len() >= limits.max_steps || started.elapsed() >= limits.deadline {
            return report(plan, steps, settings);
        }
        tracing::info!(step = step.name(), "preview step");
        steps.push(step.name());
        if step.saves_first()
            && let Err(error) = store.write_status(world.preview, &plan.status).await
        {
            tracing::warn!(step = step.name(), %error, "cannot persist the Preview status; the step waits");
            return report(plan.unsaved(&error.to_string(), clock.now()), steps, settings);
        }
        status = plan.status.clone();
        let (Some(action), Some(exec)) = (step.action(), executor) else {
            continue;
        };
        let result = exec.perform(&action).await;
        if let Err(error) = &result {
            tracing::warn!(step = step.name(), %error, "preview step failed");
        }
        // `None`: done (or, for a deploy, maybe sent): the next look reads its effect back.
        decided = plan.after(result.as_ref(), clock.now());
    }
}
