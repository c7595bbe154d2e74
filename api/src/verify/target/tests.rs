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
