//! Incidents, hooked after the reconciles whose verdicts open them: a Lane, a Preview, and a
//! ProviderTarget or RuntimeIdentity no lane covers. Each of those reconciles, once it has
//! written its status, says what of the resource incidents watch ([`Tracking`]); [`track`]
//! reads the resource's Incidents fresh from the store (by their subject label: a cache could
//! lag behind our own last write and move an incident twice), runs the pure rule
//! ([`launchplane_core::incident::track`]) for each, and creates, updates or forgets the
//! Incident objects. Both shells run this, so they write the same Incidents for the same facts.
//!
//! ```text
//!  Lane / Preview / ProviderTarget / RuntimeIdentity reconcile ─► status written
//!        │ Tracking { subject, owner, watched (aspects, health checks), policy }
//!        ▼
//!  store.incidents(subject label) ─► core::incident::track per watched thing (and Gone for an
//!  Incident whose thing is no longer watched) ─► create / write status / delete
//!        │
//!        ▼
//!  each Incident written ─► deliveries::deliver (its NotificationPolicies' notices)
//!        │
//!        ▼
//!  the earliest due time (an incident opens or resolves by time alone, a notification's
//!  retry or reminder) ─► the requeue
//! ```

use super::deliveries;
use super::store::StatusStore;
use super::{Error, Kind, Result, World};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kube::Resource;
use launchplane_api::Verdict;
use launchplane_api::resources::Incident;
use launchplane_core::incident::{self as rule, Policy, Seen, Subject, Watched};
use std::collections::BTreeMap;
use std::time::Duration;

/// The label every Incident carries: its subject (`lane.shop-prod`), for listing them.
pub const SUBJECT_LABEL: &str = "launchplane.dev/incident-of";

/// What of one resource incidents watch, as its reconcile saw it just now.
#[derive(Clone, Debug)]
pub struct Tracking {
    pub subject: Subject,
    /// The resource, as the Incidents' owner (garbage collection in the cluster).
    pub owner: Option<OwnerReference>,
    pub watched: Vec<Watched>,
    pub policy: Policy,
}

/// A plain ownerReference to `object` (not the controller reference, never blocking deletion).
pub fn owner_of<K: Resource<DynamicType = ()>>(object: &K) -> Option<OwnerReference> {
    let meta = object.meta();
    Some(OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: meta.name.clone()?,
        uid: meta.uid.clone()?,
        controller: None,
        block_owner_deletion: Some(false),
    })
}

/// A new Incident for `watched` (spec, labels, owner; its status is written after).
fn new_incident(tracking: &Tracking, watched: &Watched, now: Timestamp) -> Incident {
    let subject = &tracking.subject;
    let mut incident = Incident::new(&subject.incident_name(watched), subject.spec(watched));
    incident.metadata.namespace = Some(subject.namespace.clone());
    incident.metadata.labels = Some(BTreeMap::from([(SUBJECT_LABEL.to_string(), subject.label())]));
    incident.metadata.owner_references = tracking.owner.clone().map(|o| vec![o]);
    // The API server sets its own; standalone mode keeps this one.
    incident.metadata.creation_timestamp = Some(Time(now));
    incident
}

/// Move every Incident of the tracked resource on. Returns how long until one of them opens or
/// resolves by time alone (`None`: none will).
///
/// A resource with nothing failing and no Incident in the (listed) cache costs no read: that
/// is every healthy resource, every reconcile.
pub async fn track<S: StatusStore>(
    world: &World,
    store: &S,
    tracking: &Tracking,
) -> Result<Option<Duration>> {
    let now = world.now();
    let subject = &tracking.subject;
    let quiet = tracking
        .watched
        .iter()
        .all(|w| matches!(w.verdict, Verdict::Matched | Verdict::Unchecked));
    let cache = &world.caches.incidents;
    if quiet && cache.is_synced() {
        let label = subject.label();
        let none = cache
            .state_filter(|i| {
                i.namespace_or_default() == subject.namespace
                    && i.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(SUBJECT_LABEL))
                        .is_some_and(|s| *s == label)
            })
            .is_empty();
        if none {
            return Ok(None);
        }
    }
    let what = |verb: &str, name: &str| format!("{verb} Incident {}/{name}", subject.namespace);
    let mut stored = store
        .incidents(&subject.namespace, &subject.label())
        .await
        .map_err(|e| Error::write(what("listing the", &subject.label()), e))?;
    let mut due: Option<Timestamp> = None;

    let mut work: Vec<(Option<Incident>, Option<&Watched>)> = Vec::new();
    for watched in &tracking.watched {
        let name = subject.incident_name(watched);
        let at = stored
            .iter()
            .position(|i| i.metadata.name.as_deref() == Some(name.as_str()));
        let existing = at.map(|at| stored.swap_remove(at));
        work.push((existing, Some(watched)));
    }
    // What is no longer watched (a health check removed from the lane's spec).
    work.extend(stored.into_iter().map(|i| (Some(i), None)));

    for (existing, watched) in work {
        // An Incident whose spec is not the one this subject and check give (its product
        // changed) is replaced: the spec is immutable, and its history was about the other.
        let existing = match (existing, watched) {
            (Some(i), Some(w)) if i.spec != subject.spec(w) => {
                let name = i.metadata.name.clone().unwrap_or_default();
                store
                    .delete_incident(&i)
                    .await
                    .map_err(|e| Error::write(what("replacing", &name), e))?;
                None
            }
            (existing, _) => existing,
        };
        let seen = match watched {
            Some(w) => Seen::Now {
                verdict: w.verdict,
                message: &w.message,
            },
            None => Seen::Gone,
        };
        let generation = existing.as_ref().and_then(|i| i.metadata.generation);
        let tracked = rule::track(
            existing.as_ref().and_then(|i| i.status.as_ref()),
            seen,
            &tracking.policy,
            generation.or(Some(1)),
            now,
        );
        due = sooner_of(due, tracked.due);
        match (existing, tracked.status, watched) {
            (None, None, _) => {}
            (None, Some(status), Some(w)) => {
                let fresh = new_incident(tracking, w, now);
                let name = fresh.metadata.name.clone().unwrap_or_default();
                let created = store
                    .create_incident(&fresh)
                    .await
                    .map_err(|e| Error::write(what("creating", &name), e))?;
                tracing::info!(incident = %name, state = ?status.state, "incident recorded");
                write(store, &created, &status, &what("writing the status of", &name)).await?;
                let mut written = created;
                written.status = Some(status);
                due = sooner_of(due, deliveries::deliver(world, store, &written).await);
            }
            // Nothing watches it and there is nothing stored: nothing to write.
            (None, Some(_), None) => {}
            (Some(incident), None, _) => {
                let name = incident.metadata.name.clone().unwrap_or_default();
                store
                    .delete_incident(&incident)
                    .await
                    .map_err(|e| Error::write(what("forgetting", &name), e))?;
                tracing::info!(incident = %name, "pending incident cleared before it opened");
            }
            (Some(incident), Some(status), _) => {
                let name = incident.metadata.name.clone().unwrap_or_default();
                let was = incident.status.as_ref().and_then(|s| s.state);
                if was != status.state {
                    tracing::info!(incident = %name, from = ?was, to = ?status.state, "incident moved");
                }
                write(store, &incident, &status, &what("writing the status of", &name)).await?;
                let mut written = incident;
                written.status = Some(status);
                due = sooner_of(due, deliveries::deliver(world, store, &written).await);
            }
        }
    }
    Ok(due.map(|at| {
        let wait = now.duration_until(at);
        if wait.is_negative() {
            return Duration::ZERO;
        }
        let secs = wait.as_secs() + i64::from(wait.subsec_nanos() > 0);
        Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    }))
}

fn sooner_of(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn write<S: StatusStore>(
    store: &S,
    incident: &Incident,
    status: &launchplane_api::resources::IncidentStatus,
    what: &str,
) -> Result<()> {
    store
        .write_status(incident, status)
        .await
        .map_err(|e| Error::write(what.to_string(), e))?;
    Ok(())
}

/// The sooner of a reconcile's own requeue and an incident's due time (at least a second).
pub fn sooner(requeue: Duration, due: Option<Duration>) -> Duration {
    due.map_or(requeue, |d| requeue.min(d.max(Duration::from_secs(1))))
}
