//! The `provider` health check: Dokploy's own view of the target, from the shared poll.

use super::*;
use jiff::SignedDuration;
use launchplane_api::verify::target::LastDeployment;
use launchplane_providers::TargetCategory;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn check() -> HealthCheck {
    HealthCheck {
        check_type: HealthCheckType::Provider,
        url: None,
        path: None,
        expect_status: 200,
        timeout_seconds: 5,
        required: true,
    }
}

fn app(status: Option<&str>, deployment: Option<&str>) -> ObservedTarget {
    ObservedTarget {
        routes: Vec::new(),
        id: "app-1".into(),
        category: "application".into(),
        name: "web".into(),
        status: status.map(str::to_string),
        last_deployment: deployment.map(|s| LastDeployment {
            id: "dep-9".into(),
            status: s.into(),
            at: Some("2026-01-01T00:00:00.000Z".into()),
        }),
        ..ObservedTarget::default()
    }
}

fn window(targets: &[ObservedTarget]) -> ObservationWindow<'_> {
    ObservationWindow {
        targets: Some(targets),
        observed_at: Some(t(0)),
        last_failure: None,
        poll_interval: SignedDuration::from_secs(60),
        stale_after_polls: 3,
    }
}

fn target() -> TargetRef {
    TargetRef {
        category: TargetCategory::Application,
        id: "app-1".into(),
    }
}

fn judge(targets: &[ObservedTarget], now: Timestamp) -> (Verdict, String) {
    let w = window(targets);
    let result = provider_result(
        &check(),
        provider_sight(Some(&w), Some(&target()), LastChange::Never, now),
        now,
    );
    assert_eq!(result.evidence.target, "provider");
    assert!(result.required);
    (result.evidence.verdict.unwrap(), result.evidence.message.unwrap())
}

#[test]
fn statuses_map_to_verdicts_citing_the_evidence() {
    let cases: [(Option<&str>, Option<&str>, Verdict, &str); 10] = [
        (
            Some("done"),
            Some("done"),
            Verdict::Matched,
            "application app-1 done; its last deployment dep-9 (2026-01-01T00:00:00.000Z) is done",
        ),
        (Some("done"), None, Verdict::Matched, "no deployment is listed"),
        (
            Some("error"),
            Some("error"),
            Verdict::Mismatch,
            "error (its last deploy failed)",
        ),
        (
            Some("done"),
            Some("error"),
            Verdict::Mismatch,
            "dep-9 (2026-01-01T00:00:00.000Z) is error",
        ),
        (Some("done"), Some("cancelled"), Verdict::Mismatch, "is cancelled"),
        (Some("idle"), Some("done"), Verdict::Mismatch, "idle (stopped"),
        (
            Some("running"),
            Some("running"),
            Verdict::Unverifiable,
            "running (a deploy is under way)",
        ),
        (Some("done"), Some("running"), Verdict::Unverifiable, "is running"),
        (
            Some("paused"),
            Some("done"),
            Verdict::Unverifiable,
            "\"paused\", a status Launchplane does not know",
        ),
        (None, Some("done"), Verdict::Unverifiable, "without a status"),
    ];
    for (status, deployment, verdict, needle) in cases {
        let (got, message) = judge(&[app(status, deployment)], t(30));
        assert_eq!(got, verdict, "{status:?}/{deployment:?}: {message}");
        assert!(message.contains(needle), "{status:?}/{deployment:?}: {message}");
        assert!(message.starts_with("Dokploy reports "), "{message}");
    }
}

#[test]
fn a_compose_service_is_named_so() {
    let mut compose = app(Some("done"), Some("done"));
    compose.category = "compose".into();
    let w = window(std::slice::from_ref(&compose));
    let target = TargetRef {
        category: TargetCategory::Compose,
        id: "app-1".into(),
    };
    let r = provider_result(
        &check(),
        provider_sight(Some(&w), Some(&target), LastChange::Never, t(1)),
        t(1),
    );
    assert_eq!(r.evidence.verdict, Some(Verdict::Matched));
    assert!(r.evidence.message.unwrap().contains("compose service app-1 done"));
}

#[test]
fn without_fresh_evidence_the_check_is_unverifiable() {
    let listed = [app(Some("done"), Some("done"))];
    // Stale: more than 3 poll intervals old.
    let (verdict, message) = judge(&listed, t(181));
    assert_eq!(verdict, Verdict::Unverifiable);
    assert!(
        message.contains("181s ago, more than 3 poll intervals"),
        "{message}"
    );
    // Exactly at the window's edge it still counts.
    assert_eq!(judge(&listed, t(180)).0, Verdict::Matched);

    // Not listed by the poll.
    let (verdict, message) = judge(&[], t(1));
    assert_eq!(verdict, Verdict::Unverifiable);
    assert!(message.contains("does not list application app-1"), "{message}");

    // The last poll failed.
    let mut failed = window(&listed);
    failed.last_failure = Some((ProviderFailure::Unreachable, "connection refused".into()));
    let sight = provider_sight(Some(&failed), Some(&target()), LastChange::Never, t(1));
    assert_eq!(
        sight.unwrap_err(),
        "the last poll failed: provider unreachable: connection refused"
    );

    // No poll yet, no binding.
    assert!(provider_sight(None, Some(&target()), LastChange::Never, t(1)).is_err());
    let w = window(&listed);
    let r = provider_result(
        &check(),
        provider_sight(Some(&w), None, LastChange::Never, t(1)),
        t(1),
    );
    assert_eq!(r.evidence.verdict, Some(Verdict::Unverifiable));
    assert!(r.evidence.message.unwrap().contains("not bound"));
}

#[test]
fn a_poll_from_before_the_lanes_last_deploy_is_not_evidence_of_it() {
    let listed = [app(Some("done"), Some("done"))];
    let w = window(&listed);
    let sight = |changed| provider_sight(Some(&w), Some(&target()), changed, t(30)).map(|t| t.id.clone());
    // The poll of t(0) saw the target after a deploy that started at t(-1)...
    assert_eq!(sight(LastChange::At(t(-1))), Ok("app-1".to_string()));
    // ...but not one started in the same second, or later.
    for at in [t(0), t(10)] {
        let why = sight(LastChange::At(at)).unwrap_err();
        assert!(why.contains("is not after the lane's last deploy"), "{why}");
    }
    assert!(
        sight(LastChange::InFlight)
            .unwrap_err()
            .contains("changing the target")
    );
}

/// A health check's URL may carry credentials; its evidence (the lane's `Healthy` message, the
/// record's verification, Events, incidents) never does.
#[test]
fn an_http_checks_evidence_keeps_no_credentials_of_its_url() {
    let check = HealthCheck {
        check_type: HealthCheckType::PublicHttp,
        url: Some("https://ops:pa55-w0rd@shop.example.com/healthz?token=t0k3n".into()),
        path: None,
        expect_status: 200,
        timeout_seconds: 5,
        required: true,
    };
    let url = check.url.as_deref();
    for answer in [
        None,
        Some(Ok(503)),
        Some(Err(
            "error sending request for url (https://ops:pa55-w0rd@shop.example.com/healthz?token=t0k3n)"
                .into(),
        )),
    ] {
        let r = health_result(&check, url, answer.clone(), t(0));
        let kept = format!("{:?}", r.evidence);
        assert!(
            !kept.contains("pa55-w0rd") && !kept.contains("t0k3n"),
            "{answer:?}: {kept}"
        );
        assert_eq!(
            r.evidence.target,
            "https://<redacted>@shop.example.com/healthz?token=<redacted>"
        );
    }
}
