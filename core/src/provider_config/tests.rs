#![allow(clippy::unwrap_used)]

use super::*;
use launchplane_api::resources::{ProviderConfigSpec, SecretKeyRef};

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn config() -> ProviderConfig {
    let mut c = ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: "https://dokploy.example.com".into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-api".into(),
                key: "apiKey".into(),
            },
            ..Default::default()
        },
    );
    c.metadata.generation = Some(2);
    c
}

fn snapshot(failure: Option<(ProviderFailure, &str)>) -> Snapshot {
    Snapshot {
        targets: Some(Default::default()),
        observed_at: Some(t(0)),
        last_failure: failure.map(|(f, d)| (f, d.to_string())),
        last_poll_at: Some(t(5)),
        version: Some("v0.30.2".into()),
        last_cycle: Default::default(),
    }
}

fn condition<'a>(
    s: &'a ProviderConfigStatus,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    conditions::find(&s.conditions, type_).unwrap()
}

#[test]
fn a_healthy_provider_is_reachable_authenticated_and_versioned() {
    let s = reconcile(&config(), Ok(&snapshot(None)), &KeySource::Secret, 3, t(6)).status;
    assert_eq!(s.verdict, Some(Verdict::Matched));
    assert_eq!(s.reachable, Some(true));
    assert_eq!(s.authenticated, Some(true));
    assert_eq!(s.dokploy_version.as_deref(), Some("v0.30.2"));
    assert_eq!(s.target_count, Some(3));
    assert_eq!(s.last_poll_time, Some(Time(t(5))));
    assert_eq!(condition(&s, types::READY).status, "True");
}

#[test]
fn a_refused_key_names_the_secret_but_never_its_value() {
    let s = reconcile(
        &config(),
        Ok(&snapshot(Some((
            ProviderFailure::Unauthorized,
            "settings.getDokployVersion: unauthorized",
        )))),
        &KeySource::Secret,
        0,
        t(6),
    )
    .status;
    assert_eq!(s.verdict, Some(Verdict::Mismatch));
    assert_eq!(s.authenticated, Some(false));
    let auth = condition(&s, types::PROVIDER_AUTHENTICATED);
    assert_eq!(auth.status, "False");
    assert!(auth.message.contains("dokploy-api"), "{}", auth.message);
}

#[test]
fn throttling_and_outages_are_unverifiable() {
    for (failure, reachable) in [
        (ProviderFailure::Throttled, Some(true)),
        (ProviderFailure::Unreachable, Some(false)),
        (ProviderFailure::Other, Some(true)),
    ] {
        let s = reconcile(
            &config(),
            Ok(&snapshot(Some((failure, "x")))),
            &KeySource::Secret,
            0,
            t(6),
        )
        .status;
        assert_eq!(s.verdict, Some(Verdict::Unverifiable), "{failure:?}");
        assert_eq!(s.reachable, reachable, "{failure:?}");
        assert_eq!(condition(&s, types::PROVIDER_REACHABLE).status, "Unknown");
    }
}

#[test]
fn a_missing_secret_stalls_with_a_message_naming_it() {
    let problem = CredentialProblem {
        reason: "SecretNotFound",
        message: "Secret shop/dokploy-api not found; create it with key apiKey".into(),
    };
    let s = reconcile(&config(), Err(&problem), &KeySource::Secret, 0, t(6)).status;
    let stalled = condition(&s, types::STALLED);
    assert_eq!(stalled.status, "True");
    assert_eq!(stalled.reason, "SecretNotFound");
    assert_eq!(condition(&s, types::READY).status, "Unknown");
}

/// Issue 12: a refused key names where it came from — the Secret, or the standalone variable.
#[test]
fn a_refused_key_names_where_it_came_from() {
    let refused = snapshot(Some((ProviderFailure::Unauthorized, "401")));
    let from_secret = reconcile(&config(), Ok(&refused), &KeySource::Secret, 0, t(6)).status;
    let variable = KeySource::Variable("LAUNCHPLANE_API_KEY_DOKPLOY_MAIN".into());
    let from_env = reconcile(&config(), Ok(&refused), &variable, 0, t(6)).status;
    let message = |s: &launchplane_api::resources::ProviderConfigStatus| {
        s.conditions
            .iter()
            .map(|c| c.message.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(
        message(&from_secret).contains("from Secret"),
        "{}",
        message(&from_secret)
    );
    let env = message(&from_env);
    assert!(
        env.contains("the environment variable LAUNCHPLANE_API_KEY_DOKPLOY_MAIN"),
        "{env}"
    );
    assert!(!env.contains("Secret"), "{env}");
}

fn listing(count: usize, at: i64) -> Snapshot {
    let targets = (0..count)
        .map(|i| launchplane_api::verify::target::ObservedTarget {
            id: format!("app-{i}"),
            category: "application".into(),
            ..Default::default()
        })
        .collect();
    Snapshot {
        targets: Some(std::sync::Arc::new(targets)),
        observed_at: Some(t(at)),
        last_poll_at: Some(t(at)),
        ..snapshot(None)
    }
}

/// D12 (issue 12): a listing that suddenly holds half the services is called out in the
/// status, while the verdict (reachability, key) stays Matched.
#[test]
fn a_markedly_smaller_listing_is_called_out_but_the_verdict_stands() {
    let mut c = config();
    c.status = Some(reconcile(&c, Ok(&listing(10, 0)), &KeySource::Secret, 1, t(1)).status);
    let first = c.status.clone().unwrap();
    assert_eq!(
        first
            .last_listing
            .as_ref()
            .map(|l| (l.services, l.previous_services)),
        Some((10, None))
    );
    assert!(!condition(&first, types::READY).message.contains("fewer"));

    let s = reconcile(&c, Ok(&listing(5, 60)), &KeySource::Secret, 1, t(61)).status;
    assert_eq!(s.verdict, Some(Verdict::Matched), "advisory, not a verdict");
    let ready = condition(&s, types::READY);
    assert_eq!(ready.status, "True");
    assert!(
        ready
            .message
            .contains("holds 5 applications and compose services, 5 fewer than the listing before (10)"),
        "{}",
        ready.message
    );
    assert!(
        condition(&s, types::PROVIDER_REACHABLE)
            .message
            .contains("5 fewer")
    );

    // The same listing written again (the cluster reconciles a config more than once per
    // poll) keeps the note: the baseline is the listing before, not the last status write.
    c.status = Some(s);
    let again = reconcile(&c, Ok(&listing(5, 60)), &KeySource::Secret, 1, t(90)).status;
    assert!(condition(&again, types::READY).message.contains("5 fewer"));

    // The next listing at the same size is not a drop.
    c.status = Some(again);
    let steady = reconcile(&c, Ok(&listing(5, 120)), &KeySource::Secret, 1, t(121)).status;
    assert!(!condition(&steady, types::READY).message.contains("fewer"));
    assert_eq!(
        steady.last_listing.map(|l| (l.services, l.previous_services)),
        Some((5, Some(5)))
    );
}

#[test]
fn small_drops_and_failed_polls_are_not_called_out() {
    let note = |previous: i32, now: i32| {
        shrink_note(&ListingSummary {
            time: Time(t(0)),
            services: now,
            previous_services: Some(previous),
        })
    };
    assert!(note(10, 8).is_none(), "two of ten");
    assert!(note(10, 7).is_some(), "three of ten");
    assert!(note(1, 0).is_none(), "one deletion");
    assert!(note(2, 0).is_some());
    assert!(note(4, 6).is_none(), "growth");

    let mut c = config();
    c.status = Some(reconcile(&c, Ok(&listing(10, 0)), &KeySource::Secret, 1, t(1)).status);
    let mut failed = listing(10, 0);
    failed.last_failure = Some((ProviderFailure::Unreachable, "timed out".into()));
    let s = reconcile(&c, Ok(&failed), &KeySource::Secret, 1, t(61)).status;
    assert_eq!(
        s.last_listing.map(|l| l.services),
        Some(10),
        "a failed poll made no listing"
    );
}

#[test]
fn a_requested_poll_is_due_once_and_never_sooner_than_the_gap() {
    use super::{REQUESTED_POLL_GAP, requested_poll_due};
    let t = |s: i64| jiff::Timestamp::from_second(1_800_000_000 + s).unwrap();
    assert_eq!(requested_poll_due(None, Some(t(0))), None, "nothing asked");
    assert_eq!(requested_poll_due(Some(t(5)), None), Some(t(5)), "never polled");
    assert_eq!(
        requested_poll_due(Some(t(-1)), Some(t(0))),
        None,
        "the last poll answers it"
    );
    assert_eq!(requested_poll_due(Some(t(0)), Some(t(0))), None);
    assert_eq!(
        requested_poll_due(Some(t(60)), Some(t(0))),
        Some(t(60)),
        "due at once"
    );
    assert_eq!(
        requested_poll_due(Some(t(2)), Some(t(0))),
        Some(t(0) + REQUESTED_POLL_GAP),
        "a burst right after a poll waits for the gap"
    );
}
