//! What is due for one (Incident, destination), and how each attempt is recorded on the
//! Incident. The records are the whole state: `Intended` is stored before a send and replaced
//! by the outcome after it, so what a restart finds tells it what happened.

use super::route::Cadence;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{IncidentDelivery, IncidentState, IncidentStatus, IncidentTransitionType};

/// Attempts per notice before it is given up (`Failed`).
pub const MAX_ATTEMPTS: i32 = 5;
/// Records kept per destination on an Incident (the oldest go first, except the first
/// delivered notice of the current occurrence: what later ones thread on).
pub const PER_DESTINATION: usize = 10;
/// The first retry's wait; each next one doubles, up to [`RETRY_MAX`].
const RETRY_FIRST: SignedDuration = SignedDuration::from_secs(30);
const RETRY_MAX: SignedDuration = SignedDuration::from_secs(30 * 60);

/// The outcomes a delivery record carries.
pub mod outcome {
    /// Written before the send; replaced by what happened.
    pub const INTENDED: &str = "Intended";
    pub const DELIVERED: &str = "Delivered";
    /// Not delivered; another attempt follows at `retryTime`.
    pub const RETRYING: &str = "Retrying";
    /// Not delivered; given up (a permanent refusal, or [`super::MAX_ATTEMPTS`] attempts).
    pub const FAILED: &str = "Failed";
    /// The send was interrupted (or timed out after it was sent) and the destination cannot
    /// tell whether it delivered: never sent again.
    pub const UNKNOWN: &str = "Unknown";
}

/// One notice of an Incident: a transition (`repeat: None`) or the `n`th reminder that it is
/// still open. `transition` is what the delivery record names: the transition's sequence, or
/// for a reminder the latest sequence when it was due (so the sequences a destination was
/// sent never go down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoticeRef {
    pub transition: i64,
    pub repeat: Option<i32>,
}

/// What a destination should do about an Incident now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send attempt `attempt` of `notice` (its `Intended` record first).
    Send { notice: NoticeRef, attempt: i32 },
    /// Attempt `attempt` of `notice` was interrupted between its intent and its outcome; what
    /// to do depends on whether the destination deduplicates ([`settle`]).
    Interrupted { notice: NoticeRef, attempt: i32 },
}

/// What [`due`] decided for one destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    pub action: Option<Action>,
    /// When something becomes due by time alone (a retry, a reminder): look again then.
    pub next: Option<Timestamp>,
}

/// The step an [`Action`] comes to, knowing the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Record the intent, send, record the outcome.
    Send { notice: NoticeRef, attempt: i32 },
    /// Record `Unknown` for an interrupted send: never sent again.
    RecordUnknown { notice: NoticeRef, attempt: i32 },
}

/// An interrupted send is sent again (the same notice id, the same attempt) where the
/// destination deduplicates; elsewhere it may have arrived, so it is recorded `Unknown` and
/// never sent again.
pub fn settle(action: Action, deduplicates: bool) -> Step {
    match action {
        Action::Send { notice, attempt } => Step::Send { notice, attempt },
        Action::Interrupted { notice, attempt } if deduplicates => Step::Send { notice, attempt },
        Action::Interrupted { notice, attempt } => Step::RecordUnknown { notice, attempt },
    }
}

fn records<'a>(
    status: &'a IncidentStatus,
    destination: &'a str,
) -> impl Iterator<Item = &'a IncidentDelivery> {
    status
        .deliveries
        .iter()
        .filter(move |d| d.destination == destination)
}

fn notice_of(record: &IncidentDelivery) -> NoticeRef {
    NoticeRef {
        transition: record.transition,
        repeat: record.repeat,
    }
}

/// The sequence of the transition that opened the current (or last) occurrence, if the
/// history still holds it; else the first of the occurrence it holds.
pub fn opening_sequence(status: &IncidentStatus) -> Option<i64> {
    let of_occurrence = || {
        status
            .transitions
            .iter()
            .filter(|t| t.occurrence == status.occurrence)
    };
    of_occurrence()
        .filter(|t| {
            matches!(
                t.type_,
                IncidentTransitionType::Opened | IncidentTransitionType::Reopened
            )
        })
        .map(|t| t.sequence)
        .next_back()
        .or_else(|| of_occurrence().map(|t| t.sequence).next())
}

fn notifiable(type_: IncidentTransitionType, cadence: &Cadence) -> bool {
    type_ != IncidentTransitionType::Resolved || cadence.notify_resolved
}

/// What is due for `destination` about this Incident now.
///
/// - The last attempt first: an `Intended` record without an outcome is an interrupted send;
///   a `Retrying` one is attempted again at its `retryTime` (the backoff, or what the
///   destination asked for).
/// - Then the next transition not yet sent to it, oldest first (`Resolved` only when the
///   route notifies resolutions). A destination with no record yet hears only the latest
///   transition, and nothing when that is a resolution: a new policy does not replay history.
/// - Then, while the Incident is Open and the route repeats, a reminder `interval ×
///   backoff^n` (at most `max`) after the destination's last attempt.
pub fn due(status: &IncidentStatus, destination: &str, cadence: &Cadence, now: Timestamp) -> Due {
    let last = records(status, destination).last();
    if let Some(last) = last {
        let notice = notice_of(last);
        match last.outcome.as_str() {
            outcome::INTENDED => {
                return Due {
                    action: Some(Action::Interrupted {
                        notice,
                        attempt: last.attempt,
                    }),
                    next: None,
                };
            }
            outcome::RETRYING => {
                let at = last.retry_time.as_ref().map_or(now, |t| t.0);
                if at <= now {
                    return Due {
                        action: Some(Action::Send {
                            notice,
                            attempt: last.attempt + 1,
                        }),
                        next: None,
                    };
                }
                return Due {
                    action: None,
                    next: Some(at),
                };
            }
            _ => {}
        }
    }
    let sent = records(status, destination).map(|d| d.transition).max();
    let next_transition = match sent {
        Some(sent) => status
            .transitions
            .iter()
            .find(|t| t.sequence > sent && notifiable(t.type_, cadence)),
        None => status
            .transitions
            .last()
            .filter(|t| t.type_ != IncidentTransitionType::Resolved),
    };
    if let Some(t) = next_transition {
        return Due {
            action: Some(Action::Send {
                notice: NoticeRef {
                    transition: t.sequence,
                    repeat: None,
                },
                attempt: 1,
            }),
            next: None,
        };
    }
    // Reminders: only while open, after the destination heard of this occurrence.
    let (Some(IncidentState::Open), Some(last), Some(opening)) =
        (status.state, last, opening_sequence(status))
    else {
        return Due {
            action: None,
            next: None,
        };
    };
    if last.transition < opening {
        return Due {
            action: None,
            next: None,
        };
    }
    let reminded = records(status, destination)
        .filter(|d| d.transition >= opening)
        .filter_map(|d| d.repeat)
        .max()
        .unwrap_or(0);
    let Some(wait) = cadence.interval_before(reminded + 1) else {
        return Due {
            action: None,
            next: None,
        };
    };
    let Ok(at) = last.time.0.checked_add(wait) else {
        return Due {
            action: None,
            next: None,
        };
    };
    if at > now {
        return Due {
            action: None,
            next: Some(at),
        };
    }
    let latest = status.transitions.last().map_or(opening, |t| t.sequence);
    Due {
        action: Some(Action::Send {
            notice: NoticeRef {
                transition: latest.max(last.transition),
                repeat: Some(reminded + 1),
            },
            attempt: 1,
        }),
        next: None,
    }
}

/// The wait before attempt `attempt + 1` after attempt `attempt` failed: 30s, doubling, at
/// most 30m.
pub fn retry_backoff(attempt: i32) -> SignedDuration {
    let mut wait = RETRY_FIRST;
    for _ in 1..attempt.max(1) {
        wait = wait.checked_mul(2).unwrap_or(RETRY_MAX).min(RETRY_MAX);
    }
    wait.min(RETRY_MAX)
}

/// The status with attempt `attempt` of `notice` recorded as `Intended` (stored before the
/// send). A re-send of an interrupted attempt replaces its own record.
pub fn intend(
    status: &IncidentStatus,
    destination: &str,
    notice: NoticeRef,
    attempt: i32,
    now: Timestamp,
) -> IncidentStatus {
    let entry = IncidentDelivery {
        destination: destination.to_string(),
        transition: notice.transition,
        repeat: notice.repeat,
        attempt,
        outcome: outcome::INTENDED.to_string(),
        time: Time(now),
        remote_id: None,
        retry_time: None,
        message: None,
    };
    put(status, entry)
}

/// What a send came to, as the delivery engine tells it (the destination's answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sending {
    Delivered {
        remote_id: Option<String>,
    },
    /// Worth another attempt; `retry_after`: how long the destination asked to wait.
    Retryable {
        message: String,
        retry_after: Option<SignedDuration>,
    },
    Permanent {
        message: String,
    },
    /// It may have been delivered (a timeout after the request was sent).
    Unknown {
        message: String,
    },
}

/// What [`record`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    pub status: IncidentStatus,
    /// The outcome recorded (`Delivered`, `Retrying`, `Failed`, `Unknown`).
    pub outcome: &'static str,
}

/// The status with the `Intended` record of attempt `attempt` replaced by its outcome.
/// A retryable failure is `Retrying` until the last attempt, then `Failed`; an unknown outcome
/// is retried where the destination deduplicates (sending it again is harmless), else
/// `Unknown` and never sent again.
pub fn record(
    status: &IncidentStatus,
    destination: &str,
    notice: NoticeRef,
    attempt: i32,
    sending: Sending,
    deduplicates: bool,
    now: Timestamp,
) -> Settled {
    let retry = |message: String, asked: Option<SignedDuration>| {
        if attempt >= MAX_ATTEMPTS {
            return (
                outcome::FAILED,
                Some(format!("gave up after {attempt} attempts: {message}")),
                None,
            );
        }
        let wait = retry_backoff(attempt).max(asked.unwrap_or(SignedDuration::ZERO));
        (
            outcome::RETRYING,
            Some(message),
            now.checked_add(wait).ok().map(Time),
        )
    };
    let mut remote_id = None;
    let (outcome, message, retry_time) = match sending {
        Sending::Delivered { remote_id: id } => {
            remote_id = id;
            (outcome::DELIVERED, None, None)
        }
        Sending::Retryable { message, retry_after } => retry(message, retry_after),
        Sending::Unknown { message } if deduplicates => retry(message, None),
        Sending::Unknown { message } => (
            outcome::UNKNOWN,
            Some(format!(
                "{message}; the destination cannot tell whether it arrived, so it is not sent again"
            )),
            None,
        ),
        Sending::Permanent { message } => (outcome::FAILED, Some(message), None),
    };
    let entry = IncidentDelivery {
        destination: destination.to_string(),
        transition: notice.transition,
        repeat: notice.repeat,
        attempt,
        outcome: outcome.to_string(),
        time: Time(now),
        remote_id,
        retry_time,
        message: message.map(|m| crate::incident::evidence(&m)),
    };
    Settled {
        status: put(status, entry),
        outcome,
    }
}

/// The status with an interrupted attempt recorded `Unknown` (a destination that cannot
/// deduplicate: it may have arrived, so it is never sent again).
pub fn record_unknown(
    status: &IncidentStatus,
    destination: &str,
    notice: NoticeRef,
    attempt: i32,
    now: Timestamp,
) -> IncidentStatus {
    let entry = IncidentDelivery {
        destination: destination.to_string(),
        transition: notice.transition,
        repeat: notice.repeat,
        attempt,
        outcome: outcome::UNKNOWN.to_string(),
        time: Time(now),
        remote_id: None,
        retry_time: None,
        message: Some(
            "the send was interrupted after its intent was recorded; the destination cannot tell whether it arrived, so it is not sent again"
                .to_string(),
        ),
    };
    put(status, entry)
}

/// What the destination answered for earlier notices of the current occurrence, oldest first
/// (an issue number, the first email's Message-ID): for threading.
pub fn thread(status: &IncidentStatus, destination: &str) -> Vec<String> {
    let Some(opening) = opening_sequence(status) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = Vec::new();
    for d in records(status, destination).filter(|d| d.transition >= opening) {
        if let Some(id) = &d.remote_id
            && !ids.contains(id)
        {
            ids.push(id.clone());
        }
    }
    ids
}

/// Replace the `Intended` record of the same attempt, or append; then keep the last
/// [`PER_DESTINATION`] records of the destination (and the first delivered one of the
/// occurrence).
fn put(status: &IncidentStatus, entry: IncidentDelivery) -> IncidentStatus {
    let mut status = status.clone();
    let same = status.deliveries.iter().rposition(|d| {
        d.destination == entry.destination
            && d.transition == entry.transition
            && d.repeat == entry.repeat
            && d.attempt == entry.attempt
            && d.outcome == outcome::INTENDED
    });
    match same {
        Some(at) => status.deliveries[at] = entry.clone(),
        None => status.deliveries.push(entry.clone()),
    }
    let opening = opening_sequence(&status);
    let anchor = status.deliveries.iter().position(|d| {
        d.destination == entry.destination
            && d.outcome == outcome::DELIVERED
            && d.remote_id.is_some()
            && opening.is_some_and(|o| d.transition >= o)
    });
    let mut excess = records(&status, &entry.destination)
        .count()
        .saturating_sub(PER_DESTINATION);
    let mut index = 0;
    status.deliveries.retain(|d| {
        let at = index;
        index += 1;
        if excess > 0 && d.destination == entry.destination && Some(at) != anchor {
            excess -= 1;
            return false;
        }
        true
    });
    status
}
