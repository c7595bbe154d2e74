//! Tearing a preview down: the teardown's pipeline ([`plan_teardown`]) run to its end, one
//! delete at a time through the executor, each decided from what was read just before.

use crate::engine::executor::{Executor, probe_as};
use crate::observe::prober::Prober;
use launchplane_core::preview::{
    PreviewSettings, TeardownError, TeardownNext, TeardownObservation, TeardownProgress, TeardownReport,
    TeardownTarget, plan_teardown, teardown_failed, teardown_needs,
};

/// The most steps one teardown takes: its application's domains and the application itself
/// (a preview has one domain; the bound keeps a Dokploy that never forgets a domain from
/// looping).
const MAX_STEPS: usize = 20;

/// Tear a preview down: delete its domains and application (only when the recorded
/// application's marker, read now, is this Preview's), then confirm both are absent from the
/// Dokploy inventory and that its URL no longer answers with its previewId. Any failure keeps
/// the Preview (the caller writes why).
pub async fn teardown(
    target: &TeardownTarget,
    executor: Option<&Executor>,
    prober: &Prober,
    settings: &PreviewSettings,
) -> Result<TeardownReport, TeardownError> {
    let exec = executor.ok_or(TeardownError::NoProvider)?;
    let mut progress = TeardownProgress::default();
    for _ in 0..=MAX_STEPS {
        let needs = teardown_needs(target, &progress, settings);
        let inventory = exec.inventory().await;
        let application = match (&needs.application, &inventory) {
            (Some(id), Ok(_)) => Some(exec.application(id).await),
            _ => None,
        };
        let probe = match &needs.probe {
            Some((probe, host)) if inventory.is_ok() => Some(probe_as(prober, probe, host.as_deref()).await),
            _ => None,
        };
        let observed = TeardownObservation {
            inventory,
            application,
            probe,
        };
        let step = match plan_teardown(target, &observed, &mut progress) {
            TeardownNext::Done => return Ok(progress.report),
            TeardownNext::Failed(e) => return Err(e),
            TeardownNext::Step(step) => step,
        };
        let Some(action) = step.action() else {
            break;
        };
        tracing::info!(step = step.name(), "teardown step");
        exec.perform(&action)
            .await
            .map_err(|e| teardown_failed(&step, &e))?;
        progress.performed(&step);
    }
    Err(TeardownError::Application {
        target: target.target_id.clone().unwrap_or_default(),
        error: format!("the teardown did not finish within {MAX_STEPS} steps"),
    })
}
