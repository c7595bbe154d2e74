//! DeploymentRecord: the phase machine of one deploy attempt, and the status that sums up its
//! evidence.
//!
//! A record is written (phase Pending) before the provider is touched; every later step moves
//! it forward through pure functions of the record and what the step observed:
//!
//! ```text
//!                            ┌─ follow: none titled so after resendAfter, Dokploy idle
//!                            ▼  for the target: sent again, once (deploy.resentAt)
//! Pending ──start_deploy──► Deploying ──follow: done──► Verifying ──verify: pass──► Succeeded
//!    │                          │  follow: error, or no deployment          │ verify: fail after
//!    └── deploy refused ────────┴──────────── by startTimeout ──────────────┴─ the window ──► Failed
//! ```
//!
//! Records given as external evidence skip straight to Verifying: nothing is deployed for
//! them, only the identity and health are checked. A Failed attempt is never resumed: the
//! lane's retry policy ([`DeployRetryPolicy`]) decides when a new attempt, with a new record, is made.

use crate::health::HealthResult;
use crate::probe::ProbeResult;
use crate::verification;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, Aspect, Progress, types};
use launchplane_api::identity::{ClassificationReason, RuntimeIdentityPayload, classify, combine};
use launchplane_api::resources::{
    CheckResult, DeployEvidence, DeploymentOrigin, DeploymentPhase, DeploymentRecord, DeploymentRecordStatus,
    IdentityEvidence, StepEvidence, VerificationCheck, VerificationCheckName,
};
use launchplane_api::verdict::Verdict;
use launchplane_providers::{Deployment, DeploymentStatus};
use std::time::Duration;

/// Label naming the Lane a record belongs to (set by the controller on the records it writes).
pub const LANE_LABEL: &str = "launchplane.dev/lane";
/// Label holding the attempt number of a record the controller wrote. Records without it
/// were written by someone else and are treated as external evidence.
pub const ATTEMPT_LABEL: &str = "launchplane.dev/attempt";

/// How failed attempts for one desired state are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployRetryPolicy {
    /// The wait after the first failure; it doubles after each further one. Default 30s.
    pub base_delay: SignedDuration,
    /// The longest wait between two attempts. Default 30m.
    pub max_delay: SignedDuration,
    /// Attempts made for one desired state before the lane is Stalled. Default 5.
    pub max_attempts: u32,
}

impl Default for DeployRetryPolicy {
    fn default() -> Self {
        DeployRetryPolicy {
            base_delay: SignedDuration::from_secs(30),
            max_delay: SignedDuration::from_mins(30),
            max_attempts: 5,
        }
    }
}

impl DeployRetryPolicy {
    /// The wait after the `failures`-th failure in a row: `base × 2^(failures-1)`, at most
    /// `max_delay`.
    pub fn delay_after(&self, failures: u32) -> SignedDuration {
        let doublings = failures.saturating_sub(1).min(30);
        self.base_delay
            .checked_mul(1_i32 << doublings)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// At least one attempt is always made.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// Timings of the deploy phase machine, and how failed attempts are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeploySettings {
    /// How long a deploy may stay invisible (no deployment with the record's title, queued or
    /// lost) before the attempt is failed. Default 600s. The retry policy then decides on the
    /// next attempt, which gets a new record.
    pub start_timeout: SignedDuration,
    /// How long a deploy may stay invisible before it is sent again, once: only when Dokploy
    /// shows no deploy of the target running or queued, which is what a controller stopped
    /// between recording the deploy and sending it leaves behind (or a Dokploy restart, which
    /// drops its queue). Default 60s, well under `start_timeout`.
    pub resend_after: SignedDuration,
    /// How long verification keeps retrying (the app may still be starting) before it fails.
    pub verify_timeout: SignedDuration,
    /// How failed attempts for the same desired state are retried.
    pub retry: DeployRetryPolicy,
    /// How long to wait before looking again at a running deploy or a pending verification.
    pub poll_delay: Duration,
}

impl Default for DeploySettings {
    fn default() -> Self {
        DeploySettings {
            start_timeout: SignedDuration::from_secs(600),
            resend_after: SignedDuration::from_secs(60),
            verify_timeout: SignedDuration::from_secs(120),
            retry: DeployRetryPolicy::default(),
            poll_delay: Duration::from_secs(2),
        }
    }
}

/// The record's phase; a record without status is Pending.
pub fn phase(record: &DeploymentRecord) -> DeploymentPhase {
    record
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .unwrap_or(DeploymentPhase::Pending)
}

/// Succeeded and Failed are final.
pub fn is_terminal(phase: DeploymentPhase) -> bool {
    matches!(phase, DeploymentPhase::Succeeded | DeploymentPhase::Failed)
}

/// The attempt number of a record the controller wrote; `None` for anyone else's.
pub fn attempt(record: &DeploymentRecord) -> Option<u32> {
    record
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(ATTEMPT_LABEL))
        .and_then(|v| v.parse().ok())
}

/// Whether the record is evidence of a deploy someone else made: origin External, or not
/// written by this controller (no attempt label). Evidence is verified, never deployed.
pub fn is_evidence(record: &DeploymentRecord) -> bool {
    record.spec.origin == DeploymentOrigin::External || attempt(record).is_none()
}

/// When the record reached its final phase (for retries and ordering).
pub fn finished_at(record: &DeploymentRecord) -> Option<Timestamp> {
    let status = record.status.as_ref()?;
    status
        .verification
        .as_ref()
        .and_then(|v| v.finished_at.as_ref())
        .or_else(|| status.deploy.as_ref().and_then(|d| d.finished_at.as_ref()))
        .map(|t| t.0)
        .or_else(|| conditions::find(&status.conditions, types::READY).map(|c| c.last_transition_time.0))
}

/// The record's status with conditions and verdict recomputed from its phase and evidence.
pub fn summarize(
    record: &DeploymentRecord,
    mut status: DeploymentRecordStatus,
    now: Timestamp,
) -> DeploymentRecordStatus {
    let phase = status.phase.unwrap_or(DeploymentPhase::Pending);
    let evidence = is_evidence(record);
    let deployed = if evidence {
        Aspect::required(
            types::DEPLOYED,
            Verdict::Matched,
            "deployed by an external workflow (evidence); only verified here",
        )
    } else {
        match status.deploy.as_ref().and_then(|d| d.status.as_deref()) {
            Some("done") => Aspect::required(types::DEPLOYED, Verdict::Matched, deploy_message(&status)),
            Some("error") | Some("cancelled") => {
                Aspect::required(types::DEPLOYED, Verdict::Mismatch, deploy_message(&status))
            }
            _ if phase == DeploymentPhase::Failed => Aspect::required(
                types::DEPLOYED,
                Verdict::Mismatch,
                failure_message(&status).unwrap_or_else(|| "the deploy failed".into()),
            ),
            _ => Aspect::required(types::DEPLOYED, Verdict::Unchecked, deploy_message(&status)),
        }
    };
    let mut aspects = vec![deployed];
    if !status.health.is_empty() {
        let verdict = Verdict::worst(status.health.iter().map(|h| h.verdict.unwrap_or_default()));
        let message = status
            .health
            .iter()
            .map(|h| {
                format!(
                    "{}: {}",
                    h.target,
                    h.message
                        .clone()
                        .unwrap_or_else(|| h.verdict.unwrap_or_default().to_string())
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        aspects.push(Aspect::advisory(types::HEALTHY, verdict, message));
    }
    if let Some(identity) = &status.identity {
        aspects.push(Aspect::advisory(
            types::RUNTIME_IDENTITY_VERIFIED,
            identity.verdict.unwrap_or_default(),
            identity
                .reason
                .map(|r| format!("identity {r}"))
                .unwrap_or_default(),
        ));
    }
    let progress = match phase {
        DeploymentPhase::Pending | DeploymentPhase::Deploying | DeploymentPhase::Verifying => {
            Progress::Reconciling {
                reason: format!("{phase:?}"),
                message: format!("the attempt is {phase:?}"),
            }
        }
        DeploymentPhase::Succeeded | DeploymentPhase::Failed => Progress::Settled,
    };
    let computed = conditions::compute(
        &status.conditions,
        &aspects,
        &progress,
        record.metadata.generation,
        now,
    );
    status.conditions = computed.conditions;
    status.observed_generation = record.metadata.generation;
    status.verdict = Some(match phase {
        DeploymentPhase::Succeeded => Verdict::Matched,
        DeploymentPhase::Failed => match computed.verdict {
            Verdict::Matched | Verdict::Unchecked => Verdict::Mismatch,
            other => other,
        },
        _ => Verdict::Unchecked,
    });
    status
}

fn deploy_message(status: &DeploymentRecordStatus) -> String {
    match &status.deploy {
        Some(d) => format!(
            "Dokploy deployment {} titled {} is {}",
            d.provider_deployment_id.as_deref().unwrap_or("(not started yet)"),
            d.title.as_deref().unwrap_or("?"),
            d.status.as_deref().unwrap_or("unknown")
        ),
        None => "not deployed yet".into(),
    }
}

fn failure_message(status: &DeploymentRecordStatus) -> Option<String> {
    status
        .verification
        .as_ref()
        .and_then(|v| v.message.clone())
        .or_else(|| status.post_deploy.as_ref().and_then(|p| p.message.clone()))
}

fn current(record: &DeploymentRecord) -> DeploymentRecordStatus {
    record.status.clone().unwrap_or_default()
}

/// The status written before `deploy` is called: phase Deploying, titled with the record id.
/// Written first, so a restart finds the deploy by its title and never sends it twice.
pub fn start_deploy(record: &DeploymentRecord, title: &str, now: Timestamp) -> DeploymentRecordStatus {
    let mut status = current(record);
    status.phase = Some(DeploymentPhase::Deploying);
    status.deploy = Some(DeployEvidence {
        provider_deployment_id: None,
        title: Some(title.to_string()),
        status: Some("queued".into()),
        started_at: Some(Time(now)),
        finished_at: None,
        resent_at: None,
    });
    summarize(record, status, now)
}

/// The attempt failed at a step before or during the deploy call (the provider refused it).
pub fn fail(record: &DeploymentRecord, step: &str, message: &str, now: Timestamp) -> DeploymentRecordStatus {
    let mut status = current(record);
    status.phase = Some(DeploymentPhase::Failed);
    status.post_deploy = Some(StepEvidence {
        verdict: Some(Verdict::Mismatch),
        message: Some(format!("{step} failed: {message}")),
        started_at: None,
        finished_at: Some(Time(now)),
    });
    summarize(record, status, now)
}

/// What Dokploy shows of deploys for a target, read when a record's deployment has not appeared
/// and a re-send is considered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeployActivity {
    /// Jobs for the target in Dokploy's deploy queue, waiting or running (a queued deploy has
    /// no deployment yet: it may be the record's own, waiting its turn).
    pub queued: usize,
    /// Whether Dokploy says a deploy of the target is running (`applicationStatus` /
    /// `composeStatus` `running`).
    pub running: bool,
}

impl DeployActivity {
    /// Whether Dokploy is busy with a deploy of the target: then the record's deploy may be
    /// waiting behind it, and is not sent again.
    pub fn busy(&self) -> bool {
        self.queued > 0 || self.running
    }
}

/// What following a deploy found.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowOutcome {
    /// The new status, when anything changed.
    pub status: Option<DeploymentRecordStatus>,
    /// Whether the deploy is still under way (look again after the poll delay).
    pub wait: bool,
    /// Send the deploy again (same title), after writing `status`, which records it.
    pub resend: bool,
}

/// A deploy recorded as sent, as far as its one re-send is concerned: a lane's record in
/// Deploying and a preview's generation in Deploying follow the same rule.
///
/// The phase is persisted before the deploy is sent, so a controller stopped in between (or a
/// Dokploy restart, which drops its queue) leaves a deploy that will never appear. Such a deploy
/// is sent again, once, when it has stayed invisible for `resend_after` and Dokploy shows
/// nothing under way for the target; the re-send is recorded before it is sent, so a restart
/// never sends it a third time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentDeploy {
    /// When the deploy was recorded as sent.
    pub sent_at: Timestamp,
    /// When it was sent again, if it was.
    pub resent_at: Option<Timestamp>,
}

impl SentDeploy {
    /// Whether a deploy that has not appeared is due for its one re-send: not re-sent yet,
    /// invisible for `resend_after`, and not yet past `give_up_after` (when the attempt fails).
    /// Only then is Dokploy's deploy activity worth reading.
    pub fn resend_due(
        &self,
        resend_after: SignedDuration,
        give_up_after: SignedDuration,
        now: Timestamp,
    ) -> bool {
        let waited = now.duration_since(self.sent_at);
        self.resent_at.is_none() && waited >= resend_after && waited <= give_up_after
    }

    /// Whether to send it again now: due, and `activity` (read because it was due) shows
    /// Dokploy idle for the target. Without that proof nothing is re-sent.
    pub fn resend(
        &self,
        resend_after: SignedDuration,
        give_up_after: SignedDuration,
        activity: Option<&DeployActivity>,
        now: Timestamp,
    ) -> bool {
        self.resend_due(resend_after, give_up_after, now) && activity.is_some_and(|a| !a.busy())
    }
}

/// The record's deploy as [`SentDeploy`], while it is Deploying.
fn sent(record: &DeploymentRecord) -> Option<SentDeploy> {
    let deploy = record.status.as_ref().and_then(|s| s.deploy.as_ref())?;
    let sent_at = deploy.started_at.as_ref().map(|t| t.0)?;
    (phase(record) == DeploymentPhase::Deploying).then_some(SentDeploy {
        sent_at,
        resent_at: deploy.resent_at.as_ref().map(|t| t.0),
    })
}

/// Whether a record whose deployment has not appeared is due for its one re-send: Deploying,
/// not re-sent yet, invisible for `resend_after` and not yet past `start_timeout`
/// ([`SentDeploy::resend_due`]). Only then is Dokploy's deploy activity worth reading.
pub fn resend_due(record: &DeploymentRecord, settings: &DeploySettings, now: Timestamp) -> bool {
    sent(record).is_some_and(|s| s.resend_due(settings.resend_after, settings.start_timeout, now))
}

/// Fold the provider's deployment (found by the record's title) into the record.
///
/// When none carries the title: after `resend_after`, and only when `activity` (read by the
/// caller when [`resend_due`]) shows Dokploy idle for the target, the deploy is sent again,
/// once, recorded in `deploy.resentAt` before it is sent; after `start_timeout` the attempt
/// fails. A deployment that exists is always followed, never sent again.
pub fn follow(
    record: &DeploymentRecord,
    found: Option<&Deployment>,
    activity: Option<&DeployActivity>,
    settings: &DeploySettings,
    now: Timestamp,
) -> FollowOutcome {
    let old = current(record);
    let mut status = old.clone();
    let mut deploy = status.deploy.clone().unwrap_or_default();
    let Some(found) = found else {
        let started = deploy.started_at.as_ref().map(|t| t.0).unwrap_or(now);
        if now.duration_since(started) > settings.start_timeout {
            let resent = deploy
                .resent_at
                .as_ref()
                .map(|t| {
                    format!(
                        ", though it was sent again at {}",
                        t.0.strftime("%Y-%m-%dT%H:%M:%SZ")
                    )
                })
                .unwrap_or_default();
            status.phase = Some(DeploymentPhase::Failed);
            deploy.status = Some("missing".into());
            deploy.finished_at = Some(Time(now));
            status.deploy = Some(deploy);
            status.post_deploy = Some(StepEvidence {
                verdict: Some(Verdict::Missing),
                message: Some(format!(
                    "no Dokploy deployment titled {} appeared within {}s{resent}; the attempt failed \
                     (a further attempt gets a new record)",
                    deploy_title(record),
                    settings.start_timeout.as_secs()
                )),
                started_at: None,
                finished_at: Some(Time(now)),
            });
            return FollowOutcome {
                status: Some(summarize(record, status, now)),
                wait: false,
                resend: false,
            };
        }
        if sent(record)
            .is_some_and(|s| s.resend(settings.resend_after, settings.start_timeout, activity, now))
        {
            deploy.resent_at = Some(Time(now));
            status.deploy = Some(deploy);
            return FollowOutcome {
                status: Some(summarize(record, status, now)),
                wait: true,
                resend: true,
            };
        }
        return FollowOutcome {
            status: None,
            wait: true,
            resend: false,
        };
    };
    deploy.provider_deployment_id = Some(found.id.clone());
    deploy.title = found.title.clone().or(deploy.title);
    deploy.status = Some(deployment_status_text(&found.status));
    // `startedAt` stays the controller's own time of sending the deploy, not the start Dokploy
    // reports: the lane compares it with its own reads' times (is a read from after the
    // deploy?), and a Dokploy clock behind the controller's would make a read taken before the
    // deploy look newer than it.
    let wait = match &found.status {
        DeploymentStatus::Done => {
            deploy.finished_at = Some(Time(parse_or(found.finished_at.as_deref(), now)));
            status.phase = Some(DeploymentPhase::Verifying);
            status.verification = Some(StepEvidence {
                verdict: Some(Verdict::Unchecked),
                message: Some("verifying health and runtime identity".into()),
                started_at: Some(Time(now)),
                finished_at: None,
            });
            false
        }
        DeploymentStatus::Error | DeploymentStatus::Cancelled => {
            deploy.finished_at = Some(Time(parse_or(found.finished_at.as_deref(), now)));
            status.phase = Some(DeploymentPhase::Failed);
            status.post_deploy = Some(StepEvidence {
                verdict: Some(Verdict::Mismatch),
                message: Some(format!(
                    "Dokploy deployment {} ended {}",
                    found.id,
                    deployment_status_text(&found.status)
                )),
                started_at: None,
                finished_at: Some(Time(now)),
            });
            false
        }
        DeploymentStatus::Running | DeploymentStatus::Other(_) => true,
    };
    status.deploy = Some(deploy);
    let changed = status != old;
    FollowOutcome {
        status: changed.then(|| summarize(record, status, now)),
        wait,
        resend: false,
    }
}

fn parse_or(text: Option<&str>, now: Timestamp) -> Timestamp {
    text.and_then(|t| t.parse::<Timestamp>().ok()).unwrap_or(now)
}

fn deploy_title(record: &DeploymentRecord) -> String {
    record
        .status
        .as_ref()
        .and_then(|s| s.deploy.as_ref())
        .and_then(|d| d.title.clone())
        .unwrap_or_else(|| record.metadata.name.clone().unwrap_or_default())
}

fn deployment_status_text(status: &DeploymentStatus) -> String {
    match status {
        DeploymentStatus::Running => "running".into(),
        DeploymentStatus::Done => "done".into(),
        DeploymentStatus::Error => "error".into(),
        DeploymentStatus::Cancelled => "cancelled".into(),
        DeploymentStatus::Other(other) => other.clone(),
    }
}

/// What verifying found.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyOutcome {
    pub status: DeploymentRecordStatus,
    /// Still Verifying: look again after the poll delay.
    pub wait: bool,
}

/// Check one probe and the health results against the record's expected identity. Passing
/// needs every required health check Matched and the identity not failing under the policy
/// (`identity_required`: Missing and Unreachable fail too), and, for a driver with checks
/// (`checks` is `Some`: Odoo, VeriReel), every required one of them passed; the record keeps
/// each check's result, the identity's among them. A failure is retried until the
/// verification window closes, then the attempt is Failed.
pub fn verify(
    record: &DeploymentRecord,
    probe: &ProbeResult,
    health: &[HealthResult],
    checks: Option<&[VerificationCheck]>,
    identity_required: bool,
    settings: &DeploySettings,
    now: Timestamp,
) -> VerifyOutcome {
    let mut status = current(record);
    let expected = RuntimeIdentityPayload::from(&record.spec.expected_identity);
    let observed = combine(&probe.observations);
    let c = classify(&expected, &observed, identity_required);
    let identity_ok = !c.is_failure() && c.reason != ClassificationReason::Unchecked;
    let health_ok = health
        .iter()
        .filter(|h| h.required)
        .all(|h| h.evidence.verdict == Some(Verdict::Matched));
    status.identity = Some(IdentityEvidence {
        verdict: Some(c.verdict),
        reason: Some(c.reason),
        observed: observed.payload.clone(),
        mismatches: c.mismatches.clone(),
        probed_at: Some(Time(now)),
    });
    status.health = health.iter().map(|h| h.evidence.clone()).collect();
    if let Some(checks) = checks {
        status.checks = checks
            .iter()
            .cloned()
            .chain([verification::identity_check(&c, None, now)])
            .collect();
    }
    let checks_ok = verification::all_required_pass(&status.checks);
    let mut verification = status.verification.clone().unwrap_or_default();
    let started = verification.started_at.as_ref().map(|t| t.0).unwrap_or(now);
    verification.started_at = Some(Time(started));
    let failures: Vec<String> =
        std::iter::once((!identity_ok).then(|| format!("identity {}: {}", c.reason, c.message)))
            .chain(
                health
                    .iter()
                    .filter(|h| h.required && h.evidence.verdict != Some(Verdict::Matched))
                    .map(|h| {
                        Some(format!(
                            "health {}: {}",
                            h.evidence.target,
                            h.evidence.message.clone().unwrap_or_default()
                        ))
                    }),
            )
            .chain(
                status
                    .checks
                    .iter()
                    .filter(|check| {
                        check.required
                            && check.result != CheckResult::Passed
                            && check.name != VerificationCheckName::RuntimeIdentity
                    })
                    .map(|check| {
                        Some(format!(
                            "{} {:?}: {}",
                            verification::check_name(check.name),
                            check.result,
                            check.message.clone().unwrap_or_default()
                        ))
                    }),
            )
            .flatten()
            .collect();
    let checks_failed = status
        .checks
        .iter()
        .any(|check| check.required && check.result == CheckResult::Failed);
    let wait = if identity_ok && health_ok && checks_ok {
        status.phase = Some(DeploymentPhase::Succeeded);
        verification.verdict = Some(Verdict::Matched);
        verification.message = Some(if status.checks.is_empty() {
            "health and runtime identity verified".into()
        } else {
            let names: Vec<&str> = status
                .checks
                .iter()
                .filter(|check| check.result == CheckResult::Passed)
                .map(|check| verification::check_name(check.name))
                .collect();
            format!("verified: {}", names.join(", "))
        });
        verification.finished_at = Some(Time(now));
        false
    } else if now.duration_since(started) >= settings.verify_timeout {
        status.phase = Some(DeploymentPhase::Failed);
        verification.verdict = Some(if !identity_ok {
            c.verdict
        } else if checks_failed {
            Verdict::Mismatch
        } else {
            Verdict::Unverifiable
        });
        verification.message = Some(format!(
            "verification failed after {}s: {}",
            settings.verify_timeout.as_secs(),
            failures.join("; ")
        ));
        verification.finished_at = Some(Time(now));
        false
    } else {
        status.phase = Some(DeploymentPhase::Verifying);
        verification.verdict = Some(Verdict::Unchecked);
        verification.message = Some(format!("not verified yet: {}", failures.join("; ")));
        true
    };
    status.verification = Some(verification);
    VerifyOutcome {
        status: summarize(record, status, now),
        wait,
    }
}

#[cfg(test)]
mod tests;
