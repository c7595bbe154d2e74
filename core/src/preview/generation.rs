//! Stage 3's decisions for the generation the spec asks for, by its phase: placing its
//! application, preparing and sending its deploy, following it and verifying it, and verifying
//! a settled one again. Each returns a [`Decision`]: how the preview goes on, at most one
//! step, and what was seen fresh.

use super::decision::{Decision, Pace};
use super::observation::{ApplicationQuery, Observation, signed};
use super::resolve::Job;
use super::settings::PreviewSettings;
use super::step::PreviewStep;
use super::{
    Finding, Fresh, TargetCheck, conflict_message, identity_finding, mark_resent, preview_env,
    redeploy_after_gone, sent_deploy, set_phase, start_deploy,
};
use jiff::Timestamp;
use launchplane_api::identity::{classify, combine};
use launchplane_api::ownership::{Ownership, ownership};
use launchplane_api::resources::{GenerationPhase, PreviewGeneration, PreviewStatus};
use launchplane_api::verdict::Verdict;
use launchplane_providers::{Deployment, DeploymentStatus, SecretString, TargetDetail, env_merge};
use std::collections::{BTreeMap, BTreeSet};

/// The recorded application as read now: its check (the `TargetVerified` finding goes into
/// `fresh`) and its detail when it is ours.
fn application<'o>(
    job: &Job<'_>,
    id: &str,
    observed: &'o Observation,
    fresh: &mut Fresh,
) -> (TargetCheck, Option<&'o TargetDetail>) {
    let query = ApplicationQuery {
        id: id.to_string(),
        owner: job.owner.clone(),
        name: job.names.target_name.clone(),
    };
    let Some(read) = &observed.application else {
        let why = format!("application {id} was not read in this reconcile");
        fresh.target = Some(Finding::new(Verdict::Unverifiable, why.clone()));
        return (TargetCheck::Unknown(why), None);
    };
    let check = read.check(&query);
    fresh.target = Some(check.finding(id));
    let detail = read.detail.as_ref().ok().filter(|_| check == TargetCheck::Ours);
    (check, detail)
}

/// The identity finding of the probe made now, if one was.
fn probed(job: &Job<'_>, observed: &Observation) -> Option<Finding> {
    let probe = observed.probe.as_ref()?;
    let class = classify(&job.identity(), &combine(&probe.observations), true);
    Some(identity_finding(&class, probe.health_status, &job.names.url))
}

/// The recorded application `gone` (or none) is confirmed deleted: forget it and request the
/// generation again ([`redeploy_after_gone`]).
fn forget_gone(job: &Job<'_>, status: &mut PreviewStatus, gone: Option<&str>, now: Timestamp) -> String {
    status.target_id = None;
    status.generations = redeploy_after_gone(&status.generations, &job.generation_id, gone, now);
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

/// A settled Ready generation, verified again: its recorded application read by id (still
/// ours), then its URL probed. Matched only on that evidence; a failed read or probe is
/// Unverifiable; an application confirmed gone starts the recovery.
pub(super) fn reverify(
    job: &Job<'_>,
    observed: &Observation,
    status: &mut PreviewStatus,
    now: Timestamp,
) -> Decision {
    let mut fresh = Fresh::default();
    let Some(id) = status.target_id.clone() else {
        let message = forget_gone(job, status, None, now);
        fresh.target = Some(Finding::new(Verdict::Missing, message.clone()));
        return Decision::new(Pace::Recovering(message), fresh);
    };
    match application(job, &id, observed, &mut fresh).0 {
        TargetCheck::Ours => {}
        TargetCheck::NotOurs(why) => return Decision::stall("Conflict", why, fresh),
        TargetCheck::Gone => {
            let message = forget_gone(job, status, Some(&id), now);
            return Decision::new(Pace::Recovering(message), fresh);
        }
        TargetCheck::Unknown(why) => return Decision::new(Pace::Unverifiable(why), fresh),
    }
    let finding = probed(job, observed)
        .unwrap_or_else(|| Finding::new(Verdict::Unverifiable, format!("{} was not probed", job.names.url)));
    fresh.identity = Some(finding.clone());
    let pace = if finding.verdict == Verdict::Unverifiable {
        Pace::Unverifiable(finding.message)
    } else {
        Pace::Settled
    };
    Decision::new(pace, fresh)
}

/// A Requested or Deploying generation, one step forward.
pub(super) fn advance(
    job: &Job<'_>,
    phase: GenerationPhase,
    observed: &Observation,
    status: &mut PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
) -> Decision {
    let mut fresh = Fresh::default();
    let Some(id) = status.target_id.clone() else {
        return place(job, observed, status, fresh);
    };
    // The recorded application, read by id and still ours. A 404 alone never makes the
    // preview forget it: only one the org listing confirms.
    let detail = match application(job, &id, observed, &mut fresh) {
        (TargetCheck::Ours, Some(detail)) => detail,
        (TargetCheck::NotOurs(why), _) => return Decision::stall("Conflict", why, fresh),
        (TargetCheck::Gone, _) => {
            let message = forget_gone(job, status, Some(&id), now);
            return Decision::new(Pace::Recovering(message), fresh);
        }
        (TargetCheck::Unknown(why), _) => return Decision::new(Pace::ProviderError(why), fresh),
        (TargetCheck::Ours, None) => {
            let why = format!("application {id} was read without its detail");
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    let names = &job.names;
    if !detail.hosts().contains(&names.host.as_str()) {
        let step = PreviewStep::AddDomain {
            application: id.clone(),
            host: names.host.clone(),
            port: u16::try_from(job.product.spec.runtime_port).unwrap_or(8080),
            https: names.url.starts_with("https://"),
        };
        let message = format!("adding the domain {} to application {id}", names.host);
        return Decision::step(step, message, fresh);
    }
    match phase {
        GenerationPhase::Requested => prepare(job, &id, detail, observed, status, now, fresh),
        _ => follow(job, observed, status, settings, now, fresh),
    }
}

/// No application recorded: the one of the preview's name in the preview environment when it
/// carries this Preview's marker, else a new one. Whatever stops it here is a setup problem:
/// the generation stays requested and the next resync tries again.
fn place(job: &Job<'_>, observed: &Observation, status: &mut PreviewStatus, mut fresh: Fresh) -> Decision {
    let placement = match &observed.placement {
        Some(Ok(placement)) => placement,
        Some(Err(why)) => return Decision::new(Pace::ProviderError(why.clone()), fresh),
        None => {
            let why = "the preview environment was not read in this reconcile".to_string();
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    let environment = match &placement.environment {
        Ok(environment) => environment,
        Err(setup) => return Decision::stall(setup.reason, setup.message.clone(), fresh),
    };
    let name = &job.names.target_name;
    match placement.named.as_slice() {
        [one] => {
            let detail = match &placement.detail {
                Some(Ok(detail)) => detail,
                Some(Err(e)) => {
                    let why = format!("reading the application named {name}: {}", e.message());
                    return Decision::new(Pace::ProviderError(why), fresh);
                }
                None => {
                    let why = format!("the application named {name} was not read in this reconcile");
                    return Decision::new(Pace::ProviderError(why), fresh);
                }
            };
            match ownership(detail.description.as_deref(), &job.owner) {
                Ownership::Ours => {
                    status.target_id = Some(one.clone());
                    let message = format!("recording application {one}, which carries this Preview's marker");
                    let step = PreviewStep::RecordApplication {
                        application: one.clone(),
                    };
                    Decision::step(step, message, fresh)
                }
                whose => {
                    let message = conflict_message(one, name, &whose);
                    fresh.target = Some(Finding::new(Verdict::Mismatch, message.clone()));
                    Decision::stall("Conflict", message, fresh)
                }
            }
        }
        [] => {
            let description = job.owner.describe(&format!(
                "Launchplane preview {} of {}; deleted with its Preview",
                job.names.preview_id,
                job.product_name()
            ));
            let message = format!("creating application {name} in environment {environment}");
            let step = PreviewStep::CreateApplication {
                environment: environment.clone(),
                name: name.clone(),
                description,
            };
            Decision::step(step, message, fresh)
        }
        several => Decision::stall(
            "Ambiguous",
            format!(
                "{} Dokploy applications are named {name} in the preview environment; remove the \
                 extra ones (nothing is guessed); retried on the next resync",
                several.len(),
            ),
            fresh,
        ),
    }
}

/// A Requested generation on its application: found by its title when it was sent before,
/// else the image, the env, then the deploy (the phase Deploying persisted first).
fn prepare(
    job: &Job<'_>,
    id: &str,
    detail: &TargetDetail,
    observed: &Observation,
    status: &mut PreviewStatus,
    now: Timestamp,
    fresh: Fresh,
) -> Decision {
    let gen_id = &job.generation_id;
    let found = match &observed.deployment {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            let why = format!("looking up the deploy: {}", e.message());
            return Decision::new(Pace::ProviderError(why), fresh);
        }
        None => {
            let why = "the deploy was not looked up in this reconcile".to_string();
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    if found.is_some() {
        status.generations = start_deploy(&status.generations, gen_id, id, now);
        let message = format!("deployment {gen_id} was sent before; following it");
        let step = PreviewStep::MarkDeploying {
            application: id.to_string(),
        };
        return Decision::step(step, message, fresh);
    }
    let application = id.to_string();
    if detail.image.as_deref() != Some(job.image.as_str()) {
        let message = format!("setting the image of application {id} to {}", job.image);
        let step = PreviewStep::SetImage {
            application,
            image: job.image.clone(),
        };
        return Decision::step(step, message, fresh);
    }
    let env = preview_env(&job.identity(), &job.names);
    if !env_in_place(detail, &env) {
        let message = format!("writing the preview env of application {id}");
        return Decision::step(PreviewStep::MergeEnv { application, env }, message, fresh);
    }
    status.generations = start_deploy(&status.generations, gen_id, id, now);
    let step = PreviewStep::Deploy {
        application,
        title: gen_id.clone(),
        description: deploy_description(job),
    };
    Decision::step(step, format!("deploying generation {gen_id}"), fresh)
}

fn deploy_description(job: &Job<'_>) -> String {
    format!(
        "Launchplane preview {} of {} ({})",
        job.names.preview_id,
        job.product_name(),
        job.image
    )
}

/// Whether merging `env` into the application's env would change nothing. An env that cannot
/// be merged is not in place: the merge step says why.
fn env_in_place(detail: &TargetDetail, env: &BTreeMap<String, String>) -> bool {
    let wanted: BTreeMap<String, SecretString> = env
        .iter()
        .map(|(k, v)| (k.clone(), SecretString::new(v.clone())))
        .collect();
    let current = detail.env.as_ref().map_or("", |e| e.expose());
    env_merge::merge(current, &wanted, &BTreeSet::new()).is_ok_and(|m| !m.changed())
}

/// Move generation `id` to Failed with `evidence`.
fn fail(status: &mut PreviewStatus, id: &str, evidence: String, now: Timestamp) {
    status.generations = set_phase(
        &status.generations,
        id,
        GenerationPhase::Failed,
        Some(evidence),
        now,
    );
}

/// A Deploying generation: its deployment followed by title (timed from when it was sent),
/// then its identity verified at the preview URL ([`verify_deployed`]).
fn follow(
    job: &Job<'_>,
    observed: &Observation,
    status: &mut PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
    fresh: Fresh,
) -> Decision {
    let gen_id = &job.generation_id;
    let found = match &observed.deployment {
        Some(Ok(found)) => found.as_ref(),
        Some(Err(e)) => {
            let why = format!("following the deploy: {}", e.message());
            return Decision::new(Pace::ProviderError(why), fresh);
        }
        None => {
            let why = "the deploy was not looked up in this reconcile".to_string();
            return Decision::new(Pace::ProviderError(why), fresh);
        }
    };
    match found {
        Some(d) if d.status == DeploymentStatus::Done => {
            return verify_deployed(job, d, observed, status, settings, now, fresh);
        }
        Some(d) if matches!(d.status, DeploymentStatus::Error | DeploymentStatus::Cancelled) => {
            let word = if d.status == DeploymentStatus::Error {
                "error"
            } else {
                "cancelled"
            };
            let evidence = format!("deploy: Dokploy deployment {gen_id} ended {word}");
            fail(status, gen_id, evidence, now);
            return Decision::new(Pace::Settled, fresh);
        }
        _ => {}
    }
    let generation = status.generations.iter().find(|g| &g.id == gen_id);
    let sent = generation
        .and_then(|g| g.deploy_time.as_ref().or(g.requested_time.as_ref()))
        .map_or(now, |t| t.0);
    if now >= sent.checked_add(signed(settings.deploy_timeout)).unwrap_or(sent) {
        let evidence = format!(
            "deploy: Dokploy deployment {gen_id} did not finish within {}s",
            settings.deploy_timeout.as_secs()
        );
        fail(status, gen_id, evidence, now);
        return Decision::new(Pace::Settled, fresh);
    }
    if found.is_none() && resend(generation, observed, settings, now) {
        status.generations = mark_resent(&status.generations, gen_id, now);
        let application = status.target_id.clone().unwrap_or_default();
        let message = format!(
            "no deployment titled {gen_id} appeared and Dokploy shows none under way for \
             application {application}: sending the deploy again, once"
        );
        let step = PreviewStep::Resend {
            application,
            title: gen_id.clone(),
            description: deploy_description(job),
        };
        return Decision::step(step, message, fresh);
    }
    Decision::new(Pace::Waiting(format!("deployment {gen_id} is running")), fresh)
}

/// A generation whose deployment `done` finished: Ready once its URL serves its identity,
/// Failed when it still does not `verifyTimeout` after Dokploy says the deploy finished
/// (however many reconciles that spans), else waited for.
fn verify_deployed(
    job: &Job<'_>,
    done: &Deployment,
    observed: &Observation,
    status: &mut PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
    mut fresh: Fresh,
) -> Decision {
    let gen_id = &job.generation_id;
    let waiting = || {
        let message = format!("waiting for {} to serve generation {gen_id}", job.names.url);
        Pace::Waiting(message)
    };
    let Some(finding) = probed(job, observed) else {
        return Decision::new(waiting(), fresh);
    };
    if finding.verdict.is_matched() {
        status.generations = set_phase(
            &status.generations,
            gen_id,
            GenerationPhase::Ready,
            Some(format!("deploy done; {}", finding.message)),
            now,
        );
        fresh.identity = Some(finding);
        return Decision::new(Pace::Settled, fresh);
    }
    let finished = done
        .finished_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(now);
    let deadline = finished
        .checked_add(signed(settings.verify_timeout))
        .unwrap_or(finished);
    if now >= deadline {
        fail(status, gen_id, finding.message, now);
        return Decision::new(Pace::Settled, fresh);
    }
    Decision::new(waiting(), fresh)
}

/// Whether the generation's deploy, not found by its title, is sent again now (the rule lanes
/// follow too: [`crate::deployment_record::SentDeploy::resend`]).
fn resend(
    generation: Option<&PreviewGeneration>,
    observed: &Observation,
    settings: &PreviewSettings,
    now: Timestamp,
) -> bool {
    let activity = observed.activity.as_ref().and_then(|a| a.as_ref().ok());
    generation.and_then(sent_deploy).is_some_and(|sent| {
        sent.resend(
            signed(settings.resend_after),
            signed(settings.deploy_timeout),
            activity,
            now,
        )
    })
}
