//! The incident rule as tables: a script of what the resource shows, second by second, and
//! where the incident stands after each step.

use super::*;
use crate::health::HealthResult;
use launchplane_api::conditions::Aspect;
use launchplane_api::resources::{
    HealthCheck, HealthCheckType, HealthEvidence, IncidentSubjectKind, ProductSpec,
};

const M: i64 = 60;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn policy() -> Policy {
    Policy {
        open_after: SignedDuration::from_secs(10 * M),
        resolve_after: SignedDuration::from_secs(5 * M),
        history_limit: 20,
    }
}

const OK: Option<Verdict> = Some(Verdict::Matched);
const BAD: Option<Verdict> = Some(Verdict::Mismatch);
const UNSURE: Option<Verdict> = Some(Verdict::Unverifiable);
const UNCHECKED: Option<Verdict> = Some(Verdict::Unchecked);
/// The check was removed.
const GONE: Option<Verdict> = None;

/// Where an incident stands: its state (`None`: no incident) and occurrence.
type Where = (Option<IncidentState>, i32);

const NONE: Where = (None, 0);

fn pending(occurrence: i32) -> Where {
    (Some(IncidentState::Pending), occurrence)
}

fn open(occurrence: i32) -> Where {
    (Some(IncidentState::Open), occurrence)
}

fn resolved(occurrence: i32) -> Where {
    (Some(IncidentState::Resolved), occurrence)
}

/// Run `script` (at second, what is seen) and return the last status, checking the state
/// after each step.
fn run(policy: &Policy, script: &[(i64, Option<Verdict>, Where)]) -> Option<IncidentStatus> {
    let mut status: Option<IncidentStatus> = None;
    for (i, (at, verdict, want)) in script.iter().enumerate() {
        let message = format!("seen at {at}");
        let seen = match verdict {
            Some(v) => Seen::Now {
                verdict: *v,
                message: &message,
            },
            None => Seen::Gone,
        };
        let tracked = track(status.as_ref(), seen, policy, Some(1), t(*at));
        status = tracked.status;
        let got = (
            status.as_ref().and_then(|s| s.state),
            status.as_ref().map_or(0, |s| s.occurrence),
        );
        assert_eq!(got, *want, "step {i} (t={at}, {verdict:?}): {status:#?}");
    }
    status
}

#[test]
fn opens_after_exactly_open_after_and_not_before() {
    let status = run(
        &policy(),
        &[
            (0, BAD, pending(0)),
            (5 * M, BAD, pending(0)),
            (10 * M - 1, BAD, pending(0)),
            (10 * M, BAD, open(1)),
            (11 * M, BAD, open(1)),
        ],
    )
    .unwrap();
    assert_eq!(status.first_seen_time, Some(Time(t(0))));
    assert_eq!(status.opened_time, Some(Time(t(10 * M))));
    assert_eq!(status.last_seen_time, Some(Time(t(11 * M))));
    assert_eq!(status.severity, Some(IncidentSeverity::Critical));
    assert_eq!(status.message.as_deref(), Some("seen at 660"));
    let opened = &status.transitions;
    assert_eq!(opened.len(), 1);
    assert_eq!(
        (
            opened[0].sequence,
            opened[0].type_,
            opened[0].occurrence,
            opened[0].verdict
        ),
        (1, IncidentTransitionType::Opened, 1, Verdict::Mismatch)
    );
    assert_eq!(opened[0].time, Time(t(10 * M)));
}

#[test]
fn resolves_after_exactly_resolve_after() {
    let status = run(
        &policy(),
        &[
            (0, BAD, pending(0)),
            (10 * M, BAD, open(1)),
            (12 * M, OK, open(1)),
            (17 * M - 1, OK, open(1)),
            (17 * M, OK, resolved(1)),
            (30 * M, OK, resolved(1)),
        ],
    )
    .unwrap();
    assert_eq!(status.resolved_time, Some(Time(t(17 * M))));
    assert_eq!(status.matched_since, None);
    assert_eq!(status.verdict, OK);
    // The occurrence's record stays: first seen, opened, worst verdict.
    assert_eq!(status.first_seen_time, Some(Time(t(0))));
    assert_eq!(status.worst_verdict, BAD);
    let types: Vec<_> = status.transitions.iter().map(|t| t.type_).collect();
    assert_eq!(
        types,
        [IncidentTransitionType::Opened, IncidentTransitionType::Resolved]
    );
    assert_eq!(
        status.transitions[1].message,
        format!("Matched since {} (for 300s)", t(12 * M))
    );
}

#[test]
fn a_failure_while_resolving_restarts_the_resolve_after_clock() {
    run(
        &policy(),
        &[
            (0, BAD, pending(0)),
            (10 * M, BAD, open(1)),
            (11 * M, OK, open(1)),
            (15 * M, BAD, open(1)),
            (16 * M, OK, open(1)),
            // 5 minutes after the first Matched, but only 4 after the last.
            (20 * M, OK, open(1)),
            (21 * M, OK, resolved(1)),
        ],
    );
}

#[test]
fn flapping_shorter_than_open_after_never_opens() {
    let status = run(
        &policy(),
        &[
            (0, BAD, pending(0)),
            (9 * M, OK, NONE),
            (10 * M, BAD, pending(0)),
            (19 * M, UNSURE, pending(0)),
            (19 * M + 59, OK, NONE),
            (20 * M, BAD, pending(0)),
            (29 * M + 59, OK, NONE),
        ],
    );
    assert_eq!(status, None);
}

#[test]
fn flapping_between_bad_verdicts_keeps_the_clock() {
    let status = run(
        &policy(),
        &[
            (0, UNSURE, pending(0)),
            (3 * M, BAD, pending(0)),
            (6 * M, UNSURE, pending(0)),
            (10 * M, UNSURE, open(1)),
        ],
    )
    .unwrap();
    // The worst verdict seen before it opened counts.
    assert_eq!(status.worst_verdict, BAD);
    assert_eq!(status.severity, Some(IncidentSeverity::Critical));
    assert_eq!(status.verdict, UNSURE);
}

#[test]
fn failing_again_reopens_as_a_new_occurrence_keeping_the_history() {
    let status = run(
        &policy(),
        &[
            (0, BAD, pending(0)),
            (10 * M, BAD, open(1)),
            (11 * M, OK, open(1)),
            (16 * M, OK, resolved(1)),
            // Fails again: pending, the last occurrence stays resolved underneath.
            (20 * M, UNSURE, pending(1)),
            // Cleared before openAfter: back to resolved, no new occurrence.
            (25 * M, OK, resolved(1)),
            (40 * M, BAD, pending(1)),
            (50 * M, BAD, open(2)),
        ],
    )
    .unwrap();
    assert_eq!(status.first_seen_time, Some(Time(t(40 * M))));
    assert_eq!(status.opened_time, Some(Time(t(50 * M))));
    assert_eq!(status.resolved_time, None);
    let history: Vec<_> = status
        .transitions
        .iter()
        .map(|t| (t.sequence, t.type_, t.occurrence))
        .collect();
    assert_eq!(
        history,
        [
            (1, IncidentTransitionType::Opened, 1),
            (2, IncidentTransitionType::Resolved, 1),
            (3, IncidentTransitionType::Reopened, 2),
        ]
    );
}

#[test]
fn unchecked_neither_opens_nor_resolves() {
    run(
        &policy(),
        &[
            (0, UNCHECKED, NONE),
            (20 * M, UNCHECKED, NONE),
            (21 * M, BAD, pending(0)),
            (25 * M, UNCHECKED, pending(0)),
            (31 * M, BAD, open(1)),
            (32 * M, OK, open(1)),
            (40 * M, UNCHECKED, open(1)),
            (41 * M, OK, resolved(1)),
        ],
    );
}

#[test]
fn a_removed_check_resolves_an_open_incident_and_forgets_a_pending_one() {
    let status = run(
        &policy(),
        &[
            (0, BAD, pending(0)),
            (10 * M, BAD, open(1)),
            (11 * M, GONE, resolved(1)),
        ],
    )
    .unwrap();
    let last = status.transitions.last().unwrap();
    assert_eq!(last.type_, IncidentTransitionType::Resolved);
    assert!(last.message.contains("the check was removed"), "{}", last.message);
    run(
        &policy(),
        &[(0, BAD, pending(0)), (M, GONE, NONE), (2 * M, GONE, NONE)],
    );
}

#[test]
fn verdict_changes_while_open_are_transitions_and_raise_the_severity() {
    let status = run(
        &policy(),
        &[
            (0, UNSURE, pending(0)),
            (10 * M, UNSURE, open(1)),
            (11 * M, UNSURE, open(1)),
            (12 * M, BAD, open(1)),
            (13 * M, UNSURE, open(1)),
        ],
    )
    .unwrap();
    let history: Vec<_> = status.transitions.iter().map(|t| (t.type_, t.verdict)).collect();
    assert_eq!(
        history,
        [
            (IncidentTransitionType::Opened, Verdict::Unverifiable),
            (IncidentTransitionType::VerdictChanged, Verdict::Mismatch),
            (IncidentTransitionType::VerdictChanged, Verdict::Unverifiable),
        ]
    );
    // Severity follows the worst verdict of the occurrence: it never drops while open.
    assert_eq!(status.severity, Some(IncidentSeverity::Critical));
}

#[test]
fn the_history_is_bounded_and_its_numbering_goes_on() {
    let policy = Policy {
        history_limit: 3,
        ..policy()
    };
    let mut script = vec![(0, BAD, pending(0))];
    // Five occurrences, each opened then resolved: ten transitions.
    for n in 0..5 {
        let base = n * 30 * M;
        script.push((base + 10 * M, BAD, open(i32::try_from(n).unwrap() + 1)));
        script.push((base + 11 * M, OK, open(i32::try_from(n).unwrap() + 1)));
        script.push((base + 16 * M, OK, resolved(i32::try_from(n).unwrap() + 1)));
        script.push((base + 30 * M, BAD, pending(i32::try_from(n).unwrap() + 1)));
    }
    let status = run(&policy, &script).unwrap();
    let sequences: Vec<i64> = status.transitions.iter().map(|t| t.sequence).collect();
    assert_eq!(sequences, [8, 9, 10]);
}

#[test]
fn due_says_when_time_alone_moves_the_incident() {
    let p = policy();
    let seen = |v| Seen::Now {
        verdict: v,
        message: "m",
    };
    let first = track(None, seen(Verdict::Mismatch), &p, None, t(0));
    assert_eq!(first.due, Some(t(10 * M)));
    let opened = track(
        first.status.as_ref(),
        seen(Verdict::Mismatch),
        &p,
        None,
        t(10 * M),
    );
    assert_eq!(opened.due, None);
    let matched = track(
        opened.status.as_ref(),
        seen(Verdict::Matched),
        &p,
        None,
        t(11 * M),
    );
    assert_eq!(matched.due, Some(t(16 * M)));
    // Unchecked in between keeps the due time.
    let unchecked = track(
        matched.status.as_ref(),
        seen(Verdict::Unchecked),
        &p,
        None,
        t(12 * M),
    );
    assert_eq!(unchecked.due, Some(t(16 * M)));
    assert_eq!(unchecked.status, matched.status);
    let resolved = track(
        matched.status.as_ref(),
        seen(Verdict::Matched),
        &p,
        None,
        t(16 * M),
    );
    assert_eq!(resolved.due, None);
    // Nothing on record and nothing failing: nothing to do, ever.
    assert_eq!(
        track(None, seen(Verdict::Matched), &p, None, t(0)),
        Tracked {
            status: None,
            due: None
        }
    );
}

#[test]
fn resolved_and_ready_say_where_it_stands_for_kubectl_wait() {
    let p = policy();
    let seen = |v| Seen::Now {
        verdict: v,
        message: "Deployed is Mismatch: serves shop-b",
    };
    let condition = |s: &Option<IncidentStatus>, type_: &str| {
        let c = s
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap()
            .clone();
        (c.status, c.reason, c.last_transition_time)
    };
    let pending = track(None, seen(Verdict::Mismatch), &p, Some(1), t(0)).status;
    assert_eq!(
        condition(&pending, RESOLVED),
        ("Unknown".into(), "Pending".into(), Time(t(0)))
    );
    let still = track(pending.as_ref(), seen(Verdict::Mismatch), &p, Some(1), t(M)).status;
    assert_eq!(
        condition(&still, RESOLVED).2,
        Time(t(0)),
        "kept while the status holds"
    );
    let opened = track(still.as_ref(), seen(Verdict::Mismatch), &p, Some(1), t(10 * M)).status;
    assert_eq!(
        condition(&opened, RESOLVED),
        ("False".into(), "Open".into(), Time(t(10 * M)))
    );
    assert_eq!(condition(&opened, "Ready").0, "False");
    let message = &opened.as_ref().unwrap().conditions[0].message;
    assert!(
        message.ends_with("(occurrence 1): Deployed is Mismatch: serves shop-b"),
        "{message}"
    );
    let matched = track(opened.as_ref(), seen(Verdict::Matched), &p, Some(1), t(11 * M)).status;
    let done = track(matched.as_ref(), seen(Verdict::Matched), &p, Some(1), t(16 * M)).status;
    assert_eq!(
        condition(&done, RESOLVED),
        ("True".into(), "Resolved".into(), Time(t(16 * M)))
    );
    assert_eq!(condition(&done, "Ready").0, "True");
    assert_eq!(done.unwrap().observed_generation, Some(1));
}

#[test]
fn evidence_never_keeps_credentials_of_a_url() {
    let cases = [
        (
            "GET https://ops:hunter22@shop.example.com/healthz failed",
            "GET https://<redacted>@shop.example.com/healthz failed",
        ),
        (
            "health https://shop.example.com/healthz?token=s3cr3t-t0ken&x=1: timed out",
            "health https://shop.example.com/healthz?token=<redacted>&x=1: timed out",
        ),
        (
            "(https://a:b@h/p?api_key=k3y#frag)",
            "(https://<redacted>@h/p?api_key=<redacted>#frag)",
        ),
        (
            "Deployed is Mismatch: runs shop-a, wants shop-b",
            "Deployed is Mismatch: runs shop-a, wants shop-b",
        ),
    ];
    for (raw, safe) in cases {
        assert_eq!(evidence(raw), safe);
    }
    let long = "x".repeat(5000);
    assert!(evidence(&long).chars().count() <= 1024);
}

#[test]
fn names_are_deterministic_dns_labels_cut_and_hashed_past_63() {
    use IncidentSubjectKind::*;
    assert_eq!(
        incident_name(Lane, "shop-prod", "deployed"),
        "lane.shop-prod.deployed"
    );
    assert_eq!(
        incident_name(ProviderTarget, "shop-gone", "target-verified"),
        "target.shop-gone.target-verified"
    );
    let long = "a-very-long-lane-name-that-goes-on-and-on-for-quite-a-while";
    let a = incident_name(Lane, long, "runtime-identity-verified");
    let b = incident_name(Lane, long, "config-synced");
    assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
    assert_ne!(a, b);
    assert_eq!(a, incident_name(Lane, long, "runtime-identity-verified"));
    let valid = |n: &str| {
        n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && n.starts_with(|c: char| c.is_ascii_alphanumeric())
            && n.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    assert!(valid(&a) && valid(&b), "{a} {b}");
    assert_eq!(subject_label(Preview, "shop-pr-42"), "preview.shop-pr-42");
    assert!(subject_label(Lane, &"l".repeat(100)).len() <= 63);
    // A Lane and a Preview of one name never share an Incident.
    assert_ne!(
        incident_name(Lane, "x", "deployed"),
        incident_name(Preview, "x", "deployed")
    );
}

fn check(kind: HealthCheckType, path: Option<&str>, required: bool) -> HealthCheck {
    HealthCheck {
        check_type: kind,
        url: None,
        path: path.map(str::to_string),
        expect_status: 200,
        timeout_seconds: 5,
        required,
    }
}

fn result(verdict: Verdict, message: &str) -> HealthResult {
    HealthResult {
        evidence: HealthEvidence {
            target: "t".into(),
            verdict: Some(verdict),
            status_code: None,
            message: Some(message.into()),
            checked_at: None,
        },
        required: true,
    }
}

#[test]
fn each_required_health_check_is_watched_on_its_own() {
    let checks = [
        check(HealthCheckType::PublicHttp, Some("/healthz"), true),
        check(HealthCheckType::PrivateHttp, Some("/healthz"), true),
        check(HealthCheckType::Provider, None, true),
        // Advisory: never an incident.
        check(HealthCheckType::PublicHttp, Some("/slow"), false),
        // The same check twice: one incident, the worse verdict.
        check(HealthCheckType::PublicHttp, Some("/healthz"), true),
    ];
    let results = [
        result(Verdict::Matched, "answered HTTP 200, expected 200"),
        result(Verdict::Mismatch, "answered HTTP 503, expected 200"),
        result(Verdict::Unverifiable, "a deploy is under way"),
        result(Verdict::Mismatch, "slow"),
        result(Verdict::Mismatch, "answered HTTP 500, expected 200"),
    ];
    let watched = from_health(&checks, &results);
    let got: Vec<(&str, Verdict, &str)> = watched
        .iter()
        .map(|w| (w.check.as_str(), w.verdict, w.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "health publicHttp /healthz",
                Verdict::Mismatch,
                "answered HTTP 500, expected 200"
            ),
            (
                "health privateHttp /healthz",
                Verdict::Mismatch,
                "answered HTTP 503, expected 200"
            ),
            ("health provider", Verdict::Unverifiable, "a deploy is under way"),
        ]
    );
    // Public and private checks of one path never share an incident.
    assert_ne!(watched[0].slug, watched[1].slug);
    assert_eq!(watched[2].slug, "health-provider");
    assert!(watched[0].slug.starts_with("health-public-http-"));
    // A URL's credentials never reach the check's name.
    let mut with_secret = check(HealthCheckType::PublicHttp, None, true);
    with_secret.url = Some("https://u:pa55word@shop.example.com/healthz".into());
    let w = from_health(&[with_secret], &[result(Verdict::Matched, "")]);
    assert_eq!(
        w[0].check,
        "health publicHttp https://<redacted>@shop.example.com/healthz"
    );
}

#[test]
fn advisory_aspects_count_as_matched_and_excepted_ones_are_left_out() {
    let aspects = [
        Aspect::required(types::DEPLOYED, Verdict::Mismatch, "serves shop-a"),
        Aspect::advisory(types::RUNTIME_IDENTITY_VERIFIED, Verdict::Missing, "no identity"),
        Aspect::required(types::HEALTHY, Verdict::Mismatch, "503"),
    ];
    let watched = from_aspects(&aspects, &[types::HEALTHY]);
    let got: Vec<(&str, &str, Verdict)> = watched
        .iter()
        .map(|w| (w.check.as_str(), w.slug.as_str(), w.verdict))
        .collect();
    assert_eq!(
        got,
        [
            ("Deployed", "deployed", Verdict::Mismatch),
            (
                "RuntimeIdentityVerified",
                "runtime-identity-verified",
                Verdict::Matched
            ),
        ]
    );
}

#[test]
fn single_aspect_kinds_are_judged_by_ready() {
    let condition = |type_: &str, status: &str, reason: &str| Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: format!("{type_} message"),
        observed_generation: None,
        last_transition_time: Time(t(0)),
    };
    // An advisory Missing identity leaves Ready True: not a failure.
    let advisory = [
        condition(types::RUNTIME_IDENTITY_VERIFIED, "False", "Missing"),
        condition(types::READY, "True", "AllAspectsMatched"),
    ];
    let w = watched_by_ready(types::RUNTIME_IDENTITY_VERIFIED, &advisory).unwrap();
    assert_eq!(w.verdict, Verdict::Matched);
    let failing = [
        condition(types::TARGET_VERIFIED, "False", "Mismatch"),
        condition(types::READY, "False", "Mismatch"),
    ];
    let w = watched_by_ready(types::TARGET_VERIFIED, &failing).unwrap();
    assert_eq!(
        (w.verdict, w.message.as_str()),
        (Verdict::Mismatch, "TargetVerified message")
    );
    assert_eq!(watched_by_ready(types::TARGET_VERIFIED, &[]), None);
}

#[test]
fn the_policy_comes_from_the_product_with_defaults() {
    assert_eq!(
        policy_of(&IncidentPolicy::default()),
        Policy {
            open_after: SignedDuration::from_secs(600),
            resolve_after: SignedDuration::from_secs(300),
            history_limit: 20,
        }
    );
    let product = Product::new(
        "shop",
        ProductSpec {
            incidents: IncidentPolicy {
                open_after: "1h30m".into(),
                resolve_after: "not a duration".into(),
                history_limit: 5,
            },
            ..Default::default()
        },
    );
    let p = super::policy(Some(&product));
    assert_eq!(p.open_after, SignedDuration::from_secs(5400));
    assert_eq!(p.resolve_after, SignedDuration::from_secs(300));
    assert_eq!(p.history_limit, 5);
    assert_eq!(super::policy(None), Policy::default());
}

#[test]
fn a_lanes_deploy_in_flight_counts_as_unchecked() {
    let aspects = [
        Aspect::required(
            types::CONFIG_SYNCED,
            Verdict::Mismatch,
            "image differs from the record",
        ),
        Aspect::required(types::DEPLOYED, Verdict::Unchecked, "deploying shop-b"),
    ];
    let checks = [check(HealthCheckType::Provider, None, true)];
    let results = [result(Verdict::Unverifiable, "a deploy is under way")];
    let reconciling = |status: &str, reason: &str| {
        vec![Condition {
            type_: types::RECONCILING.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(t(0)),
        }]
    };
    for reason in ["Pending", "Deploying", "Verifying"] {
        let watched = lane_watched(&aspects, &checks, &results, &reconciling("True", reason), false);
        assert!(
            watched.iter().all(|w| w.verdict == Verdict::Unchecked),
            "{reason}: {watched:?}"
        );
    }
    // Waiting out a retry is not a deploy in flight: the failure counts.
    for (status, reason) in [("True", "DeployRetryScheduled"), ("False", "UpToDate")] {
        let watched = lane_watched(&aspects, &checks, &results, &reconciling(status, reason), false);
        let verdicts: Vec<Verdict> = watched.iter().map(|w| w.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Mismatch, Verdict::Unchecked, Verdict::Unverifiable],
            "{reason}"
        );
        // A capture holding the web stopped on purpose: nothing counts either.
        let watched = lane_watched(&aspects, &checks, &results, &reconciling(status, reason), true);
        assert!(
            watched.iter().all(|w| w.verdict == Verdict::Unchecked),
            "web stopped, {reason}: {watched:?}"
        );
    }
}
