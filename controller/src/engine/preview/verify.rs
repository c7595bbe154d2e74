//! Fresh evidence about a preview's application: read by id, a 404 confirmed by the org
//! listing before the id is forgotten, and the re-verification of a settled Ready preview.

use super::{Driven, Job, conflict_message};
use launchplane_api::Verdict;
use launchplane_api::ownership::{Owner, Ownership, ownership};
use launchplane_api::resources::PreviewStatus;
use launchplane_core::preview::{
    AppRead, Finding, Fresh, Listed, TargetCheck, check_target, redeploy_after_gone,
};
use launchplane_providers::{Provider, ProviderError, TargetCategory, TargetDetail};

/// Read the recorded application `id` by id, and after a 404 ask the org listing whether it
/// is really gone ([`check_target`]). The detail comes back when it was read and is ours.
pub(super) async fn read_target(
    provider: &dyn Provider,
    id: &str,
    owner: &Owner,
    name: &str,
) -> (TargetCheck, Option<TargetDetail>) {
    let (read, detail) = match provider.target_detail(TargetCategory::Application, id).await {
        Ok(detail) => match ownership(detail.description.as_deref(), owner) {
            Ownership::Ours => (AppRead::Ours, Some(detail)),
            whose => (AppRead::NotOurs(conflict_message(id, name, &whose)), None),
        },
        Err(ProviderError::NotFound { .. }) => (AppRead::NotFound, None),
        Err(e) => (AppRead::Failed(e.to_string()), None),
    };
    let listed = match read {
        AppRead::NotFound => Some(match provider.observe_org().await {
            Ok(snapshot) if snapshot.services.iter().any(|s| s.id == id) => Listed::Present,
            Ok(_) => Listed::Absent,
            Err(e) => Listed::Failed(e.to_string()),
        }),
        _ => None,
    };
    (check_target(id, read, listed), detail)
}

/// The recorded application `gone` is confirmed deleted: forget it and request the generation
/// again (see [`redeploy_after_gone`]).
pub(super) fn forget_gone(job: &Job<'_>, status: &mut PreviewStatus, gone: Option<&str>) -> String {
    status.target_id = None;
    status.generations = redeploy_after_gone(&status.generations, job.generation_id, gone, job.clock.now());
    match gone {
        Some(gone) => format!(
            "application {gone} was deleted outside Launchplane; a new application is created \
             and generation {} deployed again",
            job.generation_id
        ),
        None => format!(
            "no application is recorded; one is created and generation {} deployed again",
            job.generation_id
        ),
    }
}

/// Verify a settled Ready generation again: its recorded application read by id (still ours),
/// then its URL probed for its identity. Matched only on that evidence; a failed read or
/// probe is Unverifiable; an application confirmed gone starts the recovery.
pub(super) async fn verify(job: &Job<'_>, status: &mut PreviewStatus, fresh: &mut Fresh) -> Driven {
    let Some(id) = status.target_id.clone() else {
        let message = forget_gone(job, status, None);
        fresh.target = Some(Finding::new(Verdict::Missing, message.clone()));
        return Driven::Recovering(message);
    };
    let (check, _) = read_target(job.provider, &id, job.owner, &job.names.target_name).await;
    fresh.target = Some(check.finding(&id));
    match check {
        TargetCheck::Ours => {}
        TargetCheck::NotOurs(why) => {
            return Driven::Stalled {
                reason: "Conflict",
                message: why,
            };
        }
        TargetCheck::Gone => return Driven::Recovering(forget_gone(job, status, Some(&id))),
        TargetCheck::Unknown(why) => return Driven::Unverifiable(why),
    }
    let finding = job.probe().await;
    fresh.identity = Some(finding.clone());
    if finding.verdict == Verdict::Unverifiable {
        Driven::Unverifiable(finding.message)
    } else {
        Driven::Settled
    }
}
