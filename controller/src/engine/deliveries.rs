//! The notification delivery engine: after an Incident's status is written, send what its
//! NotificationPolicies' routes make due, recording every attempt on the Incident.
//!
//! ```text
//!  incidents::track wrote an Incident ─► deliver(incident)
//!        │ core::notification::targets (the routes of the namespace's policies)
//!        ▼ per destination: core::notification::due ─► at most one action
//!  resolve the destination (Secret values) ─► DestinationFactory::build ─► settle (dedup?)
//!        │
//!        ▼ Intended record written to the store ─► Destination::send ─► outcome written
//!  the earliest retry or reminder ─► joins the reconcile's requeue
//! ```
//!
//! Nothing here fails the reconcile that called it: an unconfigured destination waits (its
//! policy's status says why), a failed send is recorded and retried, a store write that does
//! not happen is logged and tried again later. No send happens unless its intent is stored.

use super::store::StatusStore;
use super::{Kind, World};
use crate::engine::secrets::ReadPurpose;
use crate::notify::destination::{
    DestinationConfig, DestinationFactory, DiscordConfig, EmailConfig, GitHubIssueConfig, IncidentKey,
    Notice, NoticeKind, SendError, SmtpSecurity,
};
use jiff::{SignedDuration, Timestamp};
use launchplane_api::resources::SmtpSecurity as SpecSecurity;
use launchplane_api::resources::{
    Incident, IncidentState, IncidentStatus, IncidentTransitionType, NotificationDestination,
    NotificationPolicy, SecretKeyRef,
};
use launchplane_core::notification::{self as rule, NoticeRef, Sending, Step, Target};
use launchplane_providers::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// How long an unconfigured destination, or a delivery whose record could not be written,
/// waits before it is tried again.
const CONFIG_RETRY: SignedDuration = SignedDuration::from_secs(60);
/// The longest a send may take before its outcome is taken as unknown (less in standalone
/// mode's last seconds: a send never outlives the round).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Actions per destination in one pass (a transition and the next one queued behind it).
const STEPS_PER_DESTINATION: usize = 4;

/// The factory the shells use when notifications are on: the real destinations (GitHub
/// issue, SMTP email, Discord webhook).
pub fn default_factory() -> Arc<dyn DestinationFactory> {
    Arc::new(crate::notify::destinations::RealDestinations)
}

/// One destination's configuration with its Secret values read. The error names the policy,
/// the destination and the field, never a value.
pub async fn resolve(
    world: &World,
    namespace: &str,
    policy: &str,
    destination: &NotificationDestination,
) -> Result<DestinationConfig, String> {
    let field = |f: &str| {
        format!(
            "NotificationPolicy {namespace}/{policy}: spec.destinations[{}].{f}",
            destination.name
        )
    };
    let read = |path: String, reference: SecretKeyRef| async move {
        let data = world
            .secrets
            .secret(namespace, &reference.name, ReadPurpose::Notification)
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .ok_or_else(|| {
                format!(
                    "{path}: Secret {namespace}/{} not found; create it or fix the reference",
                    reference.name
                )
            })?;
        let value = data.get(&reference.key).ok_or_else(|| {
            format!(
                "{path}: Secret {namespace}/{} has no key {}; add it or fix the key",
                reference.name, reference.key
            )
        })?;
        String::from_utf8(value.clone())
            .map(|v| SecretString::new(v.trim_end_matches(['\r', '\n'])))
            .map_err(|_| {
                format!(
                    "{path}: the value of key {} of Secret {namespace}/{} is not UTF-8 text",
                    reference.key, reference.name
                )
            })
    };
    match (
        &destination.github_issue,
        &destination.email,
        &destination.discord,
    ) {
        (Some(g), None, None) => Ok(DestinationConfig::GitHubIssue(GitHubIssueConfig {
            api_url: g.api_url.clone(),
            owner: g.owner.clone(),
            repo: g.repo.clone(),
            labels: g.labels.clone(),
            token: read(field("githubIssue.tokenSecretRef"), g.token_secret_ref.clone()).await?,
        })),
        (None, Some(e), None) => {
            let port = u16::try_from(e.port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{}: {} is not a port (1-65535)", field("email.port"), e.port))?;
            let username = match &e.username_secret_ref {
                Some(r) => Some(
                    read(field("email.usernameSecretRef"), r.clone())
                        .await?
                        .expose()
                        .to_string(),
                ),
                None => None,
            };
            let password = match &e.password_secret_ref {
                Some(r) => Some(read(field("email.passwordSecretRef"), r.clone()).await?),
                None => None,
            };
            let extra_ca_pem = match &e.ca_secret_ref {
                Some(r) => Some(
                    read(field("email.caSecretRef"), r.clone())
                        .await?
                        .expose()
                        .to_string(),
                ),
                None => None,
            };
            Ok(DestinationConfig::Email(EmailConfig {
                host: e.host.clone(),
                port,
                security: match e.security {
                    SpecSecurity::StartTls => SmtpSecurity::StartTls,
                    SpecSecurity::Tls => SmtpSecurity::Tls,
                },
                extra_ca_pem,
                from: e.from.clone(),
                to: e.to.clone(),
                username,
                password,
            }))
        }
        (None, None, Some(d)) => Ok(DestinationConfig::Discord(DiscordConfig {
            webhook_url: read(
                field("discord.webhookUrlSecretRef"),
                d.webhook_url_secret_ref.clone(),
            )
            .await?,
            username: d.username.clone(),
        })),
        _ => Err(format!(
            "{}: set exactly one of githubIssue, email or discord",
            field("").trim_end_matches('.')
        )),
    }
}

/// Resolve and build one destination; the error says why not (secret-free).
pub async fn build(
    world: &World,
    factory: &dyn DestinationFactory,
    namespace: &str,
    policy: &str,
    destination: &NotificationDestination,
) -> Result<Box<dyn crate::notify::destination::Destination>, String> {
    let config = resolve(world, namespace, policy, destination).await?;
    factory.build(&config).map_err(|e| {
        format!(
            "NotificationPolicy {namespace}/{policy}: spec.destinations[{}]: {e}",
            destination.name
        )
    })
}

/// Send what is due for `incident` (as just written) and record each attempt on it. Returns
/// when something becomes due by time alone (a retry, a reminder). Never fails: see the module.
pub async fn deliver<S: StatusStore>(world: &World, store: &S, incident: &Incident) -> Option<Timestamp> {
    let factory = world.notify.as_ref()?;
    incident.status.as_ref()?;
    let namespace = incident.namespace_or_default().to_string();
    let policies = world.caches.in_namespace::<NotificationPolicy>(&namespace);
    if policies.is_empty() {
        return None;
    }
    let refs: Vec<&NotificationPolicy> = policies.iter().map(|p| p.as_ref()).collect();
    let targets = rule::targets(&refs, incident);
    let mut incident = incident.clone();
    let mut next: Option<Timestamp> = None;
    let mut sooner = |at: Option<Timestamp>| {
        next = match (next, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    };
    for target in &targets {
        let Some(policy) = refs
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(&target.policy))
        else {
            continue;
        };
        let Some(spec) = policy
            .spec
            .destinations
            .iter()
            .find(|d| d.name == target.destination)
        else {
            continue;
        };
        let mut built: Option<Box<dyn crate::notify::destination::Destination>> = None;
        for _ in 0..STEPS_PER_DESTINATION {
            let now = world.now();
            let Some(status) = incident.status.clone() else {
                break;
            };
            let due = rule::due(&status, &target.id, &target.cadence, now);
            let Some(action) = due.action else {
                sooner(due.next);
                break;
            };
            if built.is_none() {
                match build(world, factory.as_ref(), &namespace, &target.policy, spec).await {
                    Ok(d) => built = Some(d),
                    Err(why) => {
                        // The policy's status says so; a warning per reconcile would be noise.
                        tracing::debug!(incident = incident.name_or_empty(), destination = %target.id, %why, "destination not configured; its notices wait");
                        sooner(now.checked_add(CONFIG_RETRY).ok());
                        break;
                    }
                }
            }
            let Some(destination) = built.as_deref() else {
                break;
            };
            let kind = destination.type_name();
            let written = match rule::settle(action, destination.deduplicates()) {
                Step::RecordUnknown { notice, attempt } => {
                    let updated = rule::record_unknown(&status, &target.id, notice, attempt, now);
                    tracing::warn!(incident = incident.name_or_empty(), destination = %target.id, transition = notice.transition, "an interrupted send to a destination that cannot deduplicate: recorded Unknown, not sent again");
                    world.metrics.notified(kind, rule::outcome::UNKNOWN);
                    save(store, &mut incident, updated).await
                }
                Step::Send { .. } if world.wait_budget(SEND_TIMEOUT).is_zero() => {
                    // The round is over: the next one sends it.
                    break;
                }
                Step::Send { notice, attempt } => {
                    let intended = rule::intend(&status, &target.id, notice, attempt, now);
                    if !save(store, &mut incident, intended).await {
                        // Never send what is not on record as intended.
                        false
                    } else {
                        let Some(after) = incident.status.clone() else {
                            break;
                        };
                        let notice_now = notice_of(&incident, &after, target, notice, now);
                        let sent = send(destination, &notice_now, world.wait_budget(SEND_TIMEOUT)).await;
                        let settled = rule::record(
                            &after,
                            &target.id,
                            notice,
                            attempt,
                            sent,
                            destination.deduplicates(),
                            world.now(),
                        );
                        tracing::info!(incident = incident.name_or_empty(), destination = %target.id, transition = notice.transition, repeat = ?notice.repeat, attempt, outcome = settled.outcome, "notification attempt");
                        world.metrics.notified(kind, settled.outcome);
                        save(store, &mut incident, settled.status).await
                    }
                }
            };
            if !written {
                sooner(now.checked_add(CONFIG_RETRY).ok());
                break;
            }
        }
    }
    next
}

/// Write `status` as the Incident's; keep it on `incident` when written. A failed write is
/// logged (the next reconcile finds what the store holds).
async fn save<S: StatusStore>(store: &S, incident: &mut Incident, status: IncidentStatus) -> bool {
    match store.write_status(&*incident, &status).await {
        Ok(_) => {
            *incident.status_mut() = Some(status);
            true
        }
        Err(error) => {
            tracing::warn!(incident = incident.name_or_empty(), %error, "cannot record a notification attempt on the Incident");
            false
        }
    }
}

/// Send one notice, bounded by `budget`.
async fn send(
    destination: &dyn crate::notify::destination::Destination,
    notice: &Notice,
    budget: Duration,
) -> Sending {
    match tokio::time::timeout(budget, destination.send(notice)).await {
        Err(_) => Sending::Unknown {
            message: format!("no answer within {}s", budget.as_secs()),
        },
        Ok(Ok(sent)) => Sending::Delivered {
            remote_id: sent.remote_id,
        },
        Ok(Err(SendError::Retryable { message, retry_after })) => Sending::Retryable {
            message,
            retry_after: retry_after.and_then(|d| SignedDuration::try_from(d).ok()),
        },
        Ok(Err(SendError::Permanent { message })) => Sending::Permanent { message },
        Ok(Err(SendError::Unknown { message })) => Sending::Unknown { message },
    }
}

/// The [`Notice`] of `notice` for `target`; a reminder happens `now`.
pub fn notice_of(
    incident: &Incident,
    status: &IncidentStatus,
    target: &Target,
    notice: NoticeRef,
    now: Timestamp,
) -> Notice {
    let spec = &incident.spec;
    let opening = rule::opening_sequence(status).unwrap_or(notice.transition);
    let (kind, sequence) = match notice.repeat {
        Some(n) => (NoticeKind::Repeat(u32::try_from(n).unwrap_or(1)), opening),
        None => {
            let type_ = status
                .transitions
                .iter()
                .find(|t| t.sequence == notice.transition)
                .map_or(IncidentTransitionType::Opened, |t| t.type_);
            (NoticeKind::Transition(type_), notice.transition)
        }
    };
    let transition = status.transitions.iter().find(|t| t.sequence == sequence);
    let occurrence = transition.map_or(status.occurrence, |t| t.occurrence);
    let uid = incident
        .metadata
        .uid
        .clone()
        .unwrap_or_else(|| format!("{}/{}", incident.namespace_or_default(), incident.name_or_empty()));
    let id = match notice.repeat {
        Some(n) => format!("{uid}/{occurrence}/{sequence}/repeat-{n}"),
        None => format!("{uid}/{occurrence}/{sequence}"),
    };
    let time = match notice.repeat {
        Some(_) => now,
        None => transition.map_or(now, |t| t.time.0),
    };
    Notice {
        incident: IncidentKey {
            namespace: incident.namespace_or_default().to_string(),
            name: incident.name_or_empty().to_string(),
            product: spec.product.clone(),
            kind: spec.kind.as_str().to_string(),
            lane: spec.lane.clone(),
            check: spec.check.clone(),
        },
        kind,
        transition: sequence,
        occurrence,
        state: status.state.unwrap_or(IncidentState::Pending),
        severity: status.severity.unwrap_or_default(),
        verdict: transition.map_or(status.verdict.unwrap_or_default(), |t| t.verdict),
        message: transition
            .map(|t| t.message.clone())
            .filter(|m| !m.is_empty())
            .or_else(|| status.message.clone())
            .unwrap_or_default(),
        time,
        id,
        thread: rule::thread(status, &target.id),
    }
}
