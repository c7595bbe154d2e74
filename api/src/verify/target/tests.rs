use super::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

fn svc(id: &str, name: &str) -> ObservedTarget {
    ObservedTarget {
        id: id.into(),
        category: "application".into(),
        name: name.into(),
        status: Some("done".into()),
        project: Some("shop".into()),
        environment: Some("production".into()),
        domains: ["shop.example.test".to_string()].into(),
        ..Default::default()
    }
}

fn desired(id: Option<&str>, name: &str) -> DesiredTarget {
    DesiredTarget {
        category: "application".into(),
        target_id: id.map(str::to_string),
        display_name: name.into(),
        target_type: None,
        project: Some("shop".into()),
        environment: Some("production".into()),
        domains: ["shop.example.test".to_string()].into(),
    }
}

fn window(targets: &[ObservedTarget]) -> ObservationWindow<'_> {
    ObservationWindow {
        targets: Some(targets),
        observed_at: Some(at(1000)),
        last_failure: None,
        poll_interval: SignedDuration::from_secs(30),
        stale_after_polls: 3,
    }
}

const NOW: i64 = 1010;

struct Case {
    name: &'static str,
    desired: DesiredTarget,
    bound: Option<&'static str>,
    claims: Vec<Claim>,
    targets: Vec<ObservedTarget>,
    expect: (Verdict, &'static str),
    expect_bound: Option<&'static str>,
    expect_fields: Vec<&'static str>,
}

#[test]
fn verdict_table() {
    let renamed = {
        let mut s = svc("a1", "shop-web-old");
        s.domains = ["shop.example.test".to_string()].into();
        s
    };
    let compose = {
        let mut s = svc("a1", "shop-web");
        s.category = "compose".into();
        s
    };
    let drifted_domains = {
        let mut s = svc("a1", "shop-web");
        s.domains = ["other.example.test".to_string()].into();
        s
    };
    let moved = {
        let mut s = svc("a1", "shop-web");
        s.environment = Some("staging".into());
        s
    };
    let typed = {
        let mut s = svc("a1", "shop-web");
        s.target_type = Some("github".into());
        s
    };
    let mut wants_docker = desired(Some("a1"), "shop-web");
    wants_docker.target_type = Some("docker".into());
    let mut no_domains = desired(Some("a1"), "shop-web");
    no_domains.domains.clear();

    let cases = vec![
        Case {
            name: "bound by id and equal",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("a1", "shop-web"), svc("b2", "other")],
            expect: (Verdict::Matched, reasons::MATCHED),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
        Case {
            name: "bound by id, names are not unique and do not matter",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("a1", "shop-web"), svc("b2", "shop-web")],
            expect: (Verdict::Matched, reasons::MATCHED),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
        Case {
            name: "id gone",
            desired: desired(Some("zz"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("a1", "shop-web")],
            expect: (Verdict::Missing, reasons::TARGET_NOT_FOUND),
            expect_bound: Some("zz"),
            expect_fields: vec![],
        },
        Case {
            name: "adopt by name when exactly one matches",
            desired: desired(None, "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("a1", "shop-web"), svc("b2", "other")],
            expect: (Verdict::Matched, reasons::MATCHED),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
        Case {
            name: "adoption ignores other categories with the same name",
            desired: desired(None, "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("a1", "shop-web"), {
                let mut c = svc("c3", "shop-web");
                c.category = "compose".into();
                c
            }],
            expect: (Verdict::Matched, reasons::MATCHED),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
        Case {
            name: "no target with that name",
            desired: desired(None, "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("b2", "other")],
            expect: (Verdict::Missing, reasons::NO_TARGET_NAMED),
            expect_bound: None,
            expect_fields: vec![],
        },
        Case {
            name: "several targets with that name",
            desired: desired(None, "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![svc("a1", "shop-web"), svc("b2", "shop-web")],
            expect: (Verdict::Mismatch, reasons::AMBIGUOUS),
            expect_bound: None,
            expect_fields: vec![],
        },
        Case {
            name: "adopted earlier, then renamed: Mismatch, not a new adoption",
            desired: desired(None, "shop-web"),
            bound: Some("a1"),
            claims: vec![],
            targets: vec![renamed.clone(), svc("b2", "shop-web")],
            expect: (Verdict::Mismatch, reasons::DRIFTED),
            expect_bound: Some("a1"),
            expect_fields: vec!["displayName"],
        },
        Case {
            name: "renamed display name",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![renamed],
            expect: (Verdict::Mismatch, reasons::DRIFTED),
            expect_bound: Some("a1"),
            expect_fields: vec!["displayName"],
        },
        Case {
            name: "wrong category",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![compose],
            expect: (Verdict::Mismatch, reasons::DRIFTED),
            expect_bound: Some("a1"),
            expect_fields: vec!["targetCategory"],
        },
        Case {
            name: "wrong type once detail is known",
            desired: wants_docker,
            bound: None,
            claims: vec![],
            targets: vec![typed],
            expect: (Verdict::Mismatch, reasons::DRIFTED),
            expect_bound: Some("a1"),
            expect_fields: vec!["providerTargetType"],
        },
        Case {
            name: "domain drift",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![drifted_domains.clone()],
            expect: (Verdict::Mismatch, reasons::DRIFTED),
            expect_bound: Some("a1"),
            expect_fields: vec!["domains"],
        },
        Case {
            name: "domains not declared are not compared",
            desired: no_domains,
            bound: None,
            claims: vec![],
            targets: vec![drifted_domains],
            expect: (Verdict::Matched, reasons::MATCHED),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
        Case {
            name: "moved to another environment",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![],
            targets: vec![moved],
            expect: (Verdict::Mismatch, reasons::DRIFTED),
            expect_bound: Some("a1"),
            expect_fields: vec!["environment"],
        },
        Case {
            name: "id claimed twice",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![Claim {
                owner: "shop/other-target".into(),
                target_id: "a1".into(),
            }],
            targets: vec![svc("a1", "shop-web")],
            expect: (Verdict::Mismatch, reasons::CONFLICT),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
        Case {
            name: "a claim on another id is no conflict",
            desired: desired(Some("a1"), "shop-web"),
            bound: None,
            claims: vec![Claim {
                owner: "shop/other-target".into(),
                target_id: "b2".into(),
            }],
            targets: vec![svc("a1", "shop-web"), svc("b2", "x")],
            expect: (Verdict::Matched, reasons::MATCHED),
            expect_bound: Some("a1"),
            expect_fields: vec![],
        },
    ];

    for case in cases {
        let v = verify_target(
            &case.desired,
            case.bound,
            &case.claims,
            &window(&case.targets),
            at(NOW),
        );
        assert_eq!((v.verdict, v.reason), case.expect, "{}: {}", case.name, v.message);
        assert_eq!(v.bound_target_id.as_deref(), case.expect_bound, "{}", case.name);
        let fields: Vec<&str> = v.mismatches.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(fields, case.expect_fields, "{}", case.name);
        assert!(
            !v.message.is_empty(),
            "{}: every verdict explains itself",
            case.name
        );
    }
}

#[test]
fn rename_mismatch_lists_both_names() {
    let targets = vec![svc("a1", "shop-web-old")];
    let v = verify_target(
        &desired(Some("a1"), "shop-web"),
        None,
        &[],
        &window(&targets),
        at(NOW),
    );
    assert_eq!(
        v.mismatches,
        vec![FieldMismatch::values(
            "displayName",
            Some("shop-web"),
            Some("shop-web-old")
        )]
    );
    assert_eq!(v.observed.map(|o| o.name).as_deref(), Some("shop-web-old"));
}

#[test]
fn provider_failures_are_unverifiable_never_matched_or_missing() {
    let targets = vec![svc("a1", "shop-web")];
    for (failure, reason) in [
        (ProviderFailure::Unreachable, reasons::PROVIDER_UNREACHABLE),
        (ProviderFailure::Unauthorized, reasons::PROVIDER_UNAUTHORIZED),
        (ProviderFailure::Throttled, reasons::PROVIDER_THROTTLED),
        (ProviderFailure::Other, reasons::PROVIDER_ERROR),
    ] {
        let mut w = window(&targets);
        w.last_failure = Some((failure, "connection refused".into()));
        let v = verify_target(&desired(Some("a1"), "shop-web"), None, &[], &w, at(NOW));
        assert_eq!((v.verdict, v.reason), (Verdict::Unverifiable, reason));
        assert_eq!(
            v.bound_target_id.as_deref(),
            Some("a1"),
            "the binding survives an outage"
        );
    }
}

#[test]
fn observation_goes_stale_after_n_poll_intervals() {
    let targets = vec![svc("a1", "shop-web")];
    let w = window(&targets); // observed at 1000, 3 x 30 s window
    let d = desired(Some("a1"), "shop-web");
    assert_eq!(
        verify_target(&d, None, &[], &w, at(1090)).verdict,
        Verdict::Matched
    );
    let stale = verify_target(&d, None, &[], &w, at(1091));
    assert_eq!(
        (stale.verdict, stale.reason),
        (Verdict::Unverifiable, reasons::OBSERVATION_STALE)
    );
}

#[test]
fn unchecked_before_the_first_observation() {
    let w = ObservationWindow {
        targets: None,
        observed_at: None,
        last_failure: None,
        poll_interval: SignedDuration::from_secs(30),
        stale_after_polls: 3,
    };
    let v = verify_target(&desired(Some("a1"), "shop-web"), None, &[], &w, at(NOW));
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Unchecked, reasons::NOT_OBSERVED_YET)
    );
}

/// D6 (issue 12): a type the spec asks for cannot be compared without the detail read, so the
/// verdict is Unverifiable, never Matched; with the detail, it is compared.
#[test]
fn a_type_that_could_not_be_read_is_unverifiable_not_matched() {
    let mut want = desired(Some("a1"), "shop-web");
    want.target_type = Some("docker".into());
    let no_detail = [svc("a1", "shop-web")];
    let v = verify_target(&want, None, &[], &window(&no_detail), at(NOW));
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Unverifiable, reasons::DETAIL_UNAVAILABLE)
    );
    assert!(v.message.contains("providerTargetType"), "{}", v.message);

    let mut git = svc("a1", "shop-web");
    git.target_type = Some("git".into());
    let v = verify_target(&want, None, &[], &window(std::slice::from_ref(&git)), at(NOW));
    assert_eq!((v.verdict, v.reason), (Verdict::Mismatch, reasons::DRIFTED));

    git.target_type = Some("docker".into());
    let v = verify_target(&want, None, &[], &window(std::slice::from_ref(&git)), at(NOW));
    assert_eq!(v.verdict, Verdict::Matched);

    // Not asked for: not compared, and Matched on the summary alone.
    want.target_type = None;
    let v = verify_target(&want, None, &[], &window(&no_detail), at(NOW));
    assert_eq!(v.verdict, Verdict::Matched);
}

fn listing_at(targets: &[ObservedTarget], secs: i64) -> ObservationWindow<'_> {
    ObservationWindow {
        observed_at: Some(at(secs)),
        ..window(targets)
    }
}

/// D12 (issue 12): a target an earlier listing showed and the current one lacks is
/// Unverifiable until a second, later listing lacks it too; only then Missing.
#[test]
fn an_absence_is_confirmed_only_by_a_later_listing() {
    let d = desired(Some("a1"), "shop-web");
    let seen = ListingHistory {
        seen_id: Some("a1"),
        first_absent_at: None,
    };
    let partial = [svc("b2", "other")];
    let first = verify_target_with_history(&d, None, &seen, &[], &listing_at(&partial, 1000), at(1005));
    assert_eq!(
        (first.verdict, first.reason),
        (Verdict::Unverifiable, reasons::ABSENCE_UNCONFIRMED)
    );
    assert_eq!(first.first_absent_at, Some(at(1000)));
    assert_eq!(first.bound_target_id.as_deref(), Some("a1"));
    assert!(
        first
            .message
            .contains("absent from the listing of 1970-01-01T00:16:40Z")
            && first.message.contains("confirming on the next poll"),
        "{}",
        first.message
    );

    let remembered = ListingHistory {
        seen_id: Some("a1"),
        first_absent_at: first.first_absent_at,
    };
    let second =
        verify_target_with_history(&d, None, &remembered, &[], &listing_at(&partial, 1030), at(1035));
    assert_eq!(
        (second.verdict, second.reason),
        (Verdict::Missing, reasons::TARGET_NOT_FOUND)
    );
    assert_eq!(
        second.first_absent_at,
        Some(at(1000)),
        "the first absence is kept"
    );
    assert!(
        second.message.contains("no application with id a1"),
        "{}",
        second.message
    );
}

/// The cluster verifies every target several times per poll: the listing that first lacked
/// the target must not confirm its own absence.
#[test]
fn the_same_listing_evaluated_again_does_not_confirm_an_absence() {
    let d = desired(Some("a1"), "shop-web");
    let partial = [svc("b2", "other")];
    let remembered = ListingHistory {
        seen_id: Some("a1"),
        first_absent_at: Some(at(1000)),
    };
    for now in [1001, 1010, 1080] {
        let v = verify_target_with_history(&d, None, &remembered, &[], &listing_at(&partial, 1000), at(now));
        assert_eq!(
            (v.verdict, v.reason),
            (Verdict::Unverifiable, reasons::ABSENCE_UNCONFIRMED),
            "at {now}"
        );
        assert_eq!(v.first_absent_at, Some(at(1000)));
    }
}

#[test]
fn a_target_shown_again_is_matched_and_its_absence_forgotten() {
    let d = desired(Some("a1"), "shop-web");
    let remembered = ListingHistory {
        seen_id: Some("a1"),
        first_absent_at: Some(at(1000)),
    };
    let whole = [svc("a1", "shop-web"), svc("b2", "other")];
    let v = verify_target_with_history(&d, None, &remembered, &[], &listing_at(&whole, 1030), at(1035));
    assert_eq!(v.verdict, Verdict::Matched);
    assert_eq!(v.first_absent_at, None);

    // Forgotten: the next gap starts a new confirmation instead of completing the old one.
    let seen = ListingHistory {
        seen_id: Some("a1"),
        first_absent_at: v.first_absent_at,
    };
    let partial = [svc("b2", "other")];
    let v = verify_target_with_history(&d, None, &seen, &[], &listing_at(&partial, 1060), at(1065));
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Unverifiable, reasons::ABSENCE_UNCONFIRMED)
    );
    assert_eq!(v.first_absent_at, Some(at(1060)));
}

/// No regression: an id no listing ever showed (a typo, or a target deleted before Launchplane
/// first looked) is Missing at once.
#[test]
fn a_target_never_seen_is_missing_at_once() {
    let partial = [svc("b2", "other")];
    let d = desired(Some("a1"), "shop-web");
    for seen_id in [None, Some("zz")] {
        let history = ListingHistory {
            seen_id,
            first_absent_at: None,
        };
        let v = verify_target_with_history(&d, None, &history, &[], &listing_at(&partial, 1000), at(1005));
        assert_eq!(
            (v.verdict, v.reason),
            (Verdict::Missing, reasons::TARGET_NOT_FOUND)
        );
    }
}

/// A poll that fails, or an observation gone stale, says nothing about the absence: it is
/// neither confirmed nor forgotten.
#[test]
fn a_failed_or_stale_observation_keeps_the_first_absence() {
    let d = desired(Some("a1"), "shop-web");
    let remembered = ListingHistory {
        seen_id: Some("a1"),
        first_absent_at: Some(at(1000)),
    };
    let partial = [svc("b2", "other")];
    let mut failed = listing_at(&partial, 1000);
    failed.last_failure = Some((ProviderFailure::Unreachable, "connection refused".into()));
    let v = verify_target_with_history(&d, None, &remembered, &[], &failed, at(1030));
    assert_eq!(v.verdict, Verdict::Unverifiable);
    assert_eq!(v.first_absent_at, Some(at(1000)));

    let stale = verify_target_with_history(&d, None, &remembered, &[], &listing_at(&partial, 1000), at(2000));
    assert_eq!(stale.reason, reasons::OBSERVATION_STALE);
    assert_eq!(stale.first_absent_at, Some(at(1000)));
}
