//! The notification rules as tables: incidents moved by the incident rule itself, and what is
//! due for a destination after each step.

use super::*;
use crate::incident::{self, Policy, Seen};
use jiff::{SignedDuration, Timestamp};
use launchplane_api::resources::{
    EmailDestination, Incident, IncidentSeverity, IncidentSpec, IncidentState, IncidentStatus,
    NotificationDestination, NotificationPolicy, NotificationPolicySpec, NotificationRoute, RouteMatch,
};
use launchplane_api::verdict::Verdict;
use std::collections::BTreeMap;

const M: i64 = 60;
const H: i64 = 3600;
const DEST: &str = "oncall/email";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn incident_policy() -> Policy {
    Policy {
        open_after: SignedDuration::from_secs(10 * M),
        resolve_after: SignedDuration::from_secs(5 * M),
        history_limit: 20,
    }
}

fn seen(status: Option<&IncidentStatus>, verdict: Verdict, at: i64) -> IncidentStatus {
    incident::track(
        status,
        Seen::Now {
            verdict,
            message: "runs shop-a, not shop-b",
        },
        &incident_policy(),
        Some(1),
        t(at),
    )
    .status
    .unwrap()
}

/// An incident that failed at 0 and opened at 10m (transition 1).
fn opened() -> IncidentStatus {
    let s = seen(None, Verdict::Mismatch, 0);
    seen(Some(&s), Verdict::Mismatch, 10 * M)
}

/// `opened()`, Matched from 20m and resolved at 25m (transition 2).
fn resolved() -> IncidentStatus {
    let s = seen(Some(&opened()), Verdict::Matched, 20 * M);
    seen(Some(&s), Verdict::Matched, 25 * M)
}

fn quiet() -> Cadence {
    Cadence {
        interval: None,
        ..Cadence::default()
    }
}

fn repeating(interval: i64, backoff: i32, max: i64) -> Cadence {
    Cadence {
        interval: Some(SignedDuration::from_secs(interval)),
        backoff,
        max: SignedDuration::from_secs(max),
        notify_resolved: true,
    }
}

fn send(transition: i64, repeat: Option<i32>, attempt: i32) -> Option<Action> {
    Some(Action::Send {
        notice: NoticeRef { transition, repeat },
        attempt,
    })
}

/// Perform what is due at `at` with the destination answering `answer`; the new status.
fn deliver(
    status: &IncidentStatus,
    cadence: &Cadence,
    at: i64,
    answer: Sending,
    dedup: bool,
) -> IncidentStatus {
    let d = due(status, DEST, cadence, t(at));
    match d.action.map(|a| settle(a, dedup)) {
        Some(Step::Send { notice, attempt }) => {
            let intended = intend(status, DEST, notice, attempt, t(at));
            record(&intended, DEST, notice, attempt, answer, dedup, t(at)).status
        }
        Some(Step::RecordUnknown { notice, attempt }) => record_unknown(status, DEST, notice, attempt, t(at)),
        None => panic!("nothing due at {at}: {d:?}"),
    }
}

fn delivered() -> Sending {
    Sending::Delivered {
        remote_id: Some("42".into()),
    }
}

fn outcomes(status: &IncidentStatus) -> Vec<(i64, Option<i32>, i32, String)> {
    status
        .deliveries
        .iter()
        .map(|d| (d.transition, d.repeat, d.attempt, d.outcome.clone()))
        .collect()
}

#[test]
fn nothing_is_due_for_a_pending_incident() {
    let pending = seen(None, Verdict::Mismatch, 0);
    assert_eq!(pending.state, Some(IncidentState::Pending));
    let d = due(&pending, DEST, &repeating(H, 2, 24 * H), t(5 * M));
    assert_eq!(
        d,
        Due {
            action: None,
            next: None
        }
    );
}

#[test]
fn an_opened_incident_is_sent_once() {
    let s = opened();
    assert_eq!(due(&s, DEST, &quiet(), t(10 * M)).action, send(1, None, 1));
    let s = deliver(&s, &quiet(), 10 * M, delivered(), true);
    assert_eq!(outcomes(&s), vec![(1, None, 1, "Delivered".into())]);
    assert_eq!(s.deliveries[0].remote_id.as_deref(), Some("42"));
    // The same facts later: nothing more to send, nothing to wait for.
    let again = seen(Some(&s), Verdict::Mismatch, 15 * M);
    assert_eq!(
        due(&again, DEST, &quiet(), t(15 * M)),
        Due {
            action: None,
            next: None
        }
    );
}

#[test]
fn a_resolution_is_sent_unless_the_route_is_quiet() {
    let s = deliver(&opened(), &quiet(), 10 * M, delivered(), true);
    let s = seen(Some(&s), Verdict::Matched, 20 * M);
    let s = seen(Some(&s), Verdict::Matched, 25 * M);
    assert_eq!(s.state, Some(IncidentState::Resolved));
    assert_eq!(due(&s, DEST, &quiet(), t(25 * M)).action, send(2, None, 1));
    let silent = Cadence {
        notify_resolved: false,
        ..quiet()
    };
    assert_eq!(
        due(&s, DEST, &silent, t(25 * M)),
        Due {
            action: None,
            next: None
        }
    );
    // Reopened: the new occurrence is sent even on a quiet route.
    let s = seen(Some(&s), Verdict::Mismatch, 30 * M);
    let s = seen(Some(&s), Verdict::Mismatch, 40 * M);
    assert_eq!(s.occurrence, 2);
    assert_eq!(due(&s, DEST, &silent, t(40 * M)).action, send(3, None, 1));
}

#[test]
fn a_new_destination_hears_the_latest_transition_only_and_never_a_bare_resolution() {
    // Open, VerdictChanged: a destination added now hears only the latest.
    let s = seen(Some(&opened()), Verdict::Unverifiable, 12 * M);
    assert_eq!(s.transitions.len(), 2);
    assert_eq!(due(&s, DEST, &quiet(), t(12 * M)).action, send(2, None, 1));
    // Already resolved: nothing to tell.
    assert_eq!(due(&resolved(), DEST, &quiet(), t(26 * M)).action, None);
}

#[test]
fn transitions_not_yet_sent_go_oldest_first() {
    let s = deliver(&opened(), &quiet(), 10 * M, delivered(), true);
    let s = seen(Some(&s), Verdict::Unverifiable, 12 * M);
    let s = seen(Some(&s), Verdict::Matched, 20 * M);
    let s = seen(Some(&s), Verdict::Matched, 25 * M);
    assert_eq!(due(&s, DEST, &quiet(), t(25 * M)).action, send(2, None, 1));
    let s = deliver(&s, &quiet(), 25 * M, delivered(), true);
    assert_eq!(due(&s, DEST, &quiet(), t(25 * M)).action, send(3, None, 1));
}

#[test]
fn an_interrupted_send_is_resent_where_the_destination_deduplicates_and_unknown_elsewhere() {
    let s = opened();
    let notice = NoticeRef {
        transition: 1,
        repeat: None,
    };
    // The intent was stored, then the process died before the outcome.
    let crashed = intend(&s, DEST, notice, 1, t(10 * M));
    let d = due(&crashed, DEST, &quiet(), t(11 * M));
    assert_eq!(d.action, Some(Action::Interrupted { notice, attempt: 1 }));
    // GitHub, email: the same notice (same id) again, the same attempt.
    assert_eq!(settle(d.action.unwrap(), true), Step::Send { notice, attempt: 1 });
    let resent = deliver(&crashed, &quiet(), 11 * M, delivered(), true);
    assert_eq!(outcomes(&resent), vec![(1, None, 1, "Delivered".into())]);
    // Discord: recorded Unknown, never sent again.
    assert_eq!(
        settle(d.action.unwrap(), false),
        Step::RecordUnknown { notice, attempt: 1 }
    );
    let unknown = deliver(&crashed, &quiet(), 11 * M, delivered(), false);
    assert_eq!(outcomes(&unknown), vec![(1, None, 1, "Unknown".into())]);
    assert!(
        unknown.deliveries[0]
            .message
            .as_deref()
            .unwrap()
            .contains("cannot tell")
    );
    assert_eq!(
        due(&unknown, DEST, &quiet(), t(12 * M)),
        Due {
            action: None,
            next: None
        }
    );
}

#[test]
fn a_failed_attempt_is_retried_with_backoff_or_when_the_destination_asks() {
    let failing = || Sending::Retryable {
        message: "503 from the relay".into(),
        retry_after: None,
    };
    let s = deliver(&opened(), &quiet(), 10 * M, failing(), true);
    assert_eq!(outcomes(&s), vec![(1, None, 1, "Retrying".into())]);
    assert_eq!(s.deliveries[0].retry_time.as_ref().unwrap().0, t(10 * M + 30));
    // Not before its time; the due time is the retry's.
    assert_eq!(
        due(&s, DEST, &quiet(), t(10 * M + 10)),
        Due {
            action: None,
            next: Some(t(10 * M + 30))
        }
    );
    assert_eq!(due(&s, DEST, &quiet(), t(10 * M + 30)).action, send(1, None, 2));
    // The second failure waits twice as long; a rate limit asking for more is honoured.
    let s2 = deliver(&s, &quiet(), 10 * M + 30, failing(), true);
    assert_eq!(
        s2.deliveries.last().unwrap().retry_time.as_ref().unwrap().0,
        t(10 * M + 90)
    );
    let limited = Sending::Retryable {
        message: "rate limited".into(),
        retry_after: Some(SignedDuration::from_secs(600)),
    };
    let s3 = deliver(&s, &quiet(), 10 * M + 30, limited, true);
    assert_eq!(
        s3.deliveries.last().unwrap().retry_time.as_ref().unwrap().0,
        t(10 * M + 30 + 600)
    );
    assert_eq!(retry_backoff(1), SignedDuration::from_secs(30));
    assert_eq!(retry_backoff(4), SignedDuration::from_secs(240));
    assert_eq!(retry_backoff(20), SignedDuration::from_secs(1800));
}

#[test]
fn after_the_last_attempt_it_is_given_up_and_recorded_failed() {
    let mut s = opened();
    let mut at = 10 * M;
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(due(&s, DEST, &quiet(), t(at)).action, send(1, None, attempt));
        s = deliver(
            &s,
            &quiet(),
            at,
            Sending::Retryable {
                message: "connection refused".into(),
                retry_after: None,
            },
            true,
        );
        at += 3600;
    }
    let last = s.deliveries.last().unwrap();
    assert_eq!(last.outcome, "Failed");
    assert!(
        last.message
            .as_deref()
            .unwrap()
            .starts_with("gave up after 5 attempts")
    );
    assert_eq!(
        due(&s, DEST, &quiet(), t(at)),
        Due {
            action: None,
            next: None
        }
    );
}

#[test]
fn a_permanent_refusal_fails_at_once_and_an_unknown_answer_depends_on_deduplication() {
    let refused = deliver(
        &opened(),
        &quiet(),
        10 * M,
        Sending::Permanent {
            message: "401 Bad credentials".into(),
        },
        true,
    );
    assert_eq!(outcomes(&refused), vec![(1, None, 1, "Failed".into())]);
    let timeout = || Sending::Unknown {
        message: "timed out after the request was sent".into(),
    };
    let dedup = deliver(&opened(), &quiet(), 10 * M, timeout(), true);
    assert_eq!(outcomes(&dedup), vec![(1, None, 1, "Retrying".into())]);
    let once = deliver(&opened(), &quiet(), 10 * M, timeout(), false);
    assert_eq!(outcomes(&once), vec![(1, None, 1, "Unknown".into())]);
    assert_eq!(due(&once, DEST, &quiet(), t(H)).action, None);
}

#[test]
fn reminders_follow_the_interval_with_backoff_up_to_the_cap() {
    // Every 1h, doubling, at most 3h: after 1h, 2h, 3h, 3h.
    let cadence = repeating(H, 2, 3 * H);
    let open_at = 10 * M;
    let mut s = deliver(&opened(), &cadence, open_at, delivered(), true);
    let mut last = open_at;
    for (n, gap) in [(1, H), (2, 2 * H), (3, 3 * H), (4, 3 * H)] {
        let d = due(&s, DEST, &cadence, t(last + gap - 1));
        assert_eq!(
            d,
            Due {
                action: None,
                next: Some(t(last + gap))
            },
            "reminder {n}"
        );
        assert_eq!(due(&s, DEST, &cadence, t(last + gap)).action, send(1, Some(n), 1));
        s = deliver(&s, &cadence, last + gap, delivered(), true);
        last += gap;
    }
    assert_eq!(
        outcomes(&s).iter().map(|o| o.1).collect::<Vec<_>>(),
        vec![None, Some(1), Some(2), Some(3), Some(4)]
    );
    // Resolved: no more reminders, the resolution itself is sent.
    let s = seen(Some(&s), Verdict::Matched, last + 10);
    let s = seen(Some(&s), Verdict::Matched, last + 10 + 5 * M);
    assert_eq!(due(&s, DEST, &cadence, t(last + 10 * H)).action, send(2, None, 1));
    let s = deliver(&s, &cadence, last + 10 * H, delivered(), true);
    assert_eq!(
        due(&s, DEST, &cadence, t(last + 100 * H)),
        Due {
            action: None,
            next: None
        }
    );
}

#[test]
fn a_reminder_after_a_verdict_change_keeps_the_sequences_going_up() {
    let cadence = repeating(H, 1, H);
    let s = deliver(&opened(), &cadence, 10 * M, delivered(), true);
    let s = seen(Some(&s), Verdict::Unverifiable, 20 * M);
    let s = deliver(&s, &cadence, 20 * M, delivered(), true);
    // The next reminder is an hour after the last message (the change), and names sequence 2.
    assert_eq!(due(&s, DEST, &cadence, t(20 * M + H)).action, send(2, Some(1), 1));
    assert_eq!(opening_sequence(&s), Some(1));
}

#[test]
fn records_are_bounded_per_destination_keeping_what_later_ones_thread_on() {
    let cadence = repeating(60, 1, 60);
    let mut s = deliver(&opened(), &cadence, 10 * M, delivered(), true);
    let other = intend(
        &s,
        "oncall/discord",
        NoticeRef {
            transition: 1,
            repeat: None,
        },
        1,
        t(10 * M),
    );
    s = other;
    let mut at = 10 * M;
    for n in 0..(PER_DESTINATION as i64 + 5) {
        at += 60;
        s = deliver(
            &s,
            &cadence,
            at,
            Sending::Delivered {
                remote_id: Some(format!("m{n}")),
            },
            true,
        );
    }
    let mine: Vec<_> = s.deliveries.iter().filter(|d| d.destination == DEST).collect();
    assert_eq!(mine.len(), PER_DESTINATION);
    assert_eq!(
        mine[0].remote_id.as_deref(),
        Some("42"),
        "the first delivered notice stays"
    );
    assert_eq!(mine.last().unwrap().repeat, Some(15));
    assert_eq!(s.deliveries.iter().filter(|d| d.destination != DEST).count(), 1);
    assert_eq!(thread(&s, DEST)[0], "42");
}

fn incident(product: &str, lane: &str, check: &str, severity: IncidentSeverity) -> Incident {
    let mut i = Incident::new(
        "lane.shop-prod.deployed",
        IncidentSpec {
            product: product.into(),
            lane: lane.into(),
            check: check.into(),
            ..IncidentSpec::default()
        },
    );
    i.metadata.namespace = Some("shop".into());
    i.status = Some(IncidentStatus {
        severity: Some(severity),
        ..IncidentStatus::default()
    });
    i
}

fn destination(name: &str) -> NotificationDestination {
    NotificationDestination {
        name: name.into(),
        email: Some(EmailDestination::default()),
        ..NotificationDestination::default()
    }
}

fn notification_policy(name: &str, namespace: &str, routes: Vec<NotificationRoute>) -> NotificationPolicy {
    let mut p = NotificationPolicy::new(
        name,
        NotificationPolicySpec {
            destinations: vec![destination("mail"), destination("chat")],
            routes,
        },
    );
    p.metadata.namespace = Some(namespace.into());
    p.metadata.generation = Some(3);
    p
}

fn route(rule: RouteMatch, destinations: &[&str]) -> NotificationRoute {
    NotificationRoute {
        match_: rule,
        destinations: destinations.iter().map(|d| d.to_string()).collect(),
        ..NotificationRoute::default()
    }
}

#[test]
fn routes_match_by_product_lane_check_and_severity() {
    let i = incident("shop", "shop-prod", "Deployed", IncidentSeverity::Critical);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases: Vec<(RouteMatch, bool)> = vec![
        (RouteMatch::default(), true),
        (
            RouteMatch {
                products: s(&["shop"]),
                ..Default::default()
            },
            true,
        ),
        (
            RouteMatch {
                products: s(&["blog"]),
                ..Default::default()
            },
            false,
        ),
        (
            RouteMatch {
                lanes: s(&["shop-testing", "shop-prod"]),
                ..Default::default()
            },
            true,
        ),
        (
            RouteMatch {
                lanes: s(&["shop-testing"]),
                ..Default::default()
            },
            false,
        ),
        (
            RouteMatch {
                checks: s(&["Deployed"]),
                ..Default::default()
            },
            true,
        ),
        (
            RouteMatch {
                checks: s(&["health provider"]),
                ..Default::default()
            },
            false,
        ),
        (
            RouteMatch {
                severities: vec![IncidentSeverity::Critical],
                ..Default::default()
            },
            true,
        ),
        (
            RouteMatch {
                severities: vec![IncidentSeverity::Warning],
                ..Default::default()
            },
            false,
        ),
        (
            RouteMatch {
                products: s(&["shop"]),
                checks: s(&["Deployed"]),
                severities: vec![IncidentSeverity::Warning],
                ..Default::default()
            },
            false,
        ),
    ];
    for (rule, want) in cases {
        assert_eq!(matches(&rule, &i), want, "{rule:?}");
    }
    // No severity known yet: a route that asks for one does not match.
    let mut unknown = i.clone();
    unknown.status = None;
    assert!(!matches(
        &RouteMatch {
            severities: vec![IncidentSeverity::Critical],
            ..Default::default()
        },
        &unknown
    ));
}

#[test]
fn targets_take_each_destination_once_with_the_first_routes_cadence() {
    let i = incident("shop", "shop-prod", "Deployed", IncidentSeverity::Critical);
    let mut first = route(RouteMatch::default(), &["mail"]);
    first.repeat_interval = Some("1h".into());
    first.notify_resolved = false;
    let second = route(RouteMatch::default(), &["mail", "chat", "nosuch"]);
    let never = route(
        RouteMatch {
            products: vec!["blog".into()],
            ..Default::default()
        },
        &["chat"],
    );
    let b = notification_policy("b-policy", "shop", vec![first, second]);
    let a = notification_policy("a-policy", "shop", vec![never]);
    let elsewhere = notification_policy("c-policy", "blog", vec![route(RouteMatch::default(), &["mail"])]);
    let got = targets(&[&b, &a, &elsewhere], &i);
    let ids: Vec<_> = got.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec!["b-policy/mail", "b-policy/chat"]);
    assert_eq!(got[0].cadence.interval, Some(SignedDuration::from_hours(1)));
    assert!(!got[0].cadence.notify_resolved);
    assert_eq!(got[1].cadence.interval, None);
    assert!(got[1].cadence.notify_resolved);
    assert_eq!(got[1].cadence.backoff, 2);
    assert_eq!(got[1].cadence.max, SignedDuration::from_hours(24));
}

#[test]
fn the_policy_status_names_each_failing_or_unconfigured_destination() {
    let p = notification_policy("oncall", "shop", vec![]);
    let mut i = incident("shop", "shop-prod", "Deployed", IncidentSeverity::Critical);
    let s = deliver(&opened(), &quiet(), 10 * M, delivered(), true);
    let failing = Sending::Retryable {
        message: "503 from discord".into(),
        retry_after: None,
    };
    let notice = NoticeRef {
        transition: 1,
        repeat: None,
    };
    let s = intend(&s, "oncall/chat", notice, 1, t(10 * M));
    let s = record(&s, "oncall/chat", notice, 1, failing, false, t(10 * M)).status;
    i.status = Some(s);
    let latest = latest_deliveries("oncall", &[&i]);
    assert_eq!(latest.len(), 2);

    let all_ok: BTreeMap<String, Configured> =
        [("mail".to_string(), Ok(())), ("chat".to_string(), Ok(()))].into();
    let out = status(&p, &all_ok, &latest, t(11 * M)).status;
    assert_eq!(out.verdict, Some(Verdict::Unverifiable));
    assert_eq!(out.summary.as_deref(), Some("1/2"));
    assert_eq!(out.failing.as_deref(), Some("chat"));
    let delivering = out.conditions.iter().find(|c| c.type_ == "Delivering").unwrap();
    assert_eq!(delivering.status, "False");
    assert!(
        delivering
            .message
            .starts_with("chat: Retrying on Incident lane.shop-prod.deployed: 503 from discord"),
        "{}",
        delivering.message
    );
    assert!(!delivering.message.contains("mail"));
    let ready = out.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "False");
    assert_eq!(out.observed_generation, Some(3));
    assert!(out.destinations[0].healthy && !out.destinations[1].healthy);
    assert_eq!(out.destinations[1].last_outcome.as_deref(), Some("Retrying"));

    let missing: BTreeMap<String, Configured> = [
        (
            "mail".to_string(),
            Err(
                "spec.destinations[mail].email.passwordSecretRef: Secret shop/smtp has no key password"
                    .to_string(),
            ),
        ),
        ("chat".to_string(), Ok(())),
    ]
    .into();
    let out = status(&p, &missing, &BTreeMap::new(), t(11 * M)).status;
    assert_eq!(out.verdict, Some(Verdict::Missing));
    let ready = out.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.reason, "DestinationUnconfigured");
    assert!(
        ready
            .message
            .contains("mail: spec.destinations[mail].email.passwordSecretRef")
    );

    let out = status(&p, &all_ok, &BTreeMap::new(), t(11 * M)).status;
    assert_eq!(out.verdict, Some(Verdict::Matched));
    assert_eq!(out.summary.as_deref(), Some("2/2"));
    assert!(
        out.conditions
            .iter()
            .all(|c| c.type_ != "Ready" || c.status == "True")
    );
}
