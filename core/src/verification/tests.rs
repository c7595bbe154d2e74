use super::base_url::{resolve, route_url};
use super::*;
use launchplane_api::identity::classify as classify_identity;
use launchplane_api::identity::{Observed, RuntimeIdentityPayload, Surface, SurfaceObservation, combine};
use launchplane_api::resources::{LaneSpec, ProductSpec, ProviderTargetSpec};
use launchplane_api::verify::target::ObservedRoute;

fn t() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn product(driver: Driver) -> Product {
    Product::new(
        "erp",
        ProductSpec {
            driver,
            ..Default::default()
        },
    )
}

fn lane(base_url: Option<&str>) -> Lane {
    let mut spec = LaneSpec::default();
    spec.runtime_identity.base_url = base_url.map(str::to_string);
    Lane::new("erp-prod", spec)
}

fn target(domains: &[&str]) -> ProviderTarget {
    ProviderTarget::new(
        "erp-prod",
        ProviderTargetSpec {
            domains: domains.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        },
    )
}

fn route(host: &str, https: bool, path: Option<&str>) -> ObservedRoute {
    ObservedRoute {
        host: host.into(),
        https,
        path: path.map(str::to_string),
    }
}

use launchplane_api::resources::{BaseUrlSource, Lane, ProviderTarget};

#[test]
fn the_base_url_comes_from_the_lane_then_the_product_then_the_target() {
    let mut p = product(Driver::Odoo);
    p.spec.base_url = Some("https://erp.example.com/".into());
    let from_lane = resolve(&lane(Some("https://lane.example.com")), Some(&p), None, None);
    assert_eq!(from_lane.url.as_deref(), Some("https://lane.example.com"));
    assert_eq!(from_lane.source, Some(BaseUrlSource::Lane));

    let from_product = resolve(&lane(None), Some(&p), Some(&target(&["t.example.com"])), None);
    assert_eq!(from_product.url.as_deref(), Some("https://erp.example.com"));
    assert_eq!(from_product.source, Some(BaseUrlSource::Product));

    let from_target = resolve(
        &lane(None),
        Some(&product(Driver::Odoo)),
        Some(&target(&["t.example.com"])),
        None,
    );
    assert_eq!(from_target.url.as_deref(), Some("https://t.example.com"));
    assert_eq!(from_target.source, Some(BaseUrlSource::ProviderTarget));

    let none = resolve(
        &lane(None),
        Some(&product(Driver::Odoo)),
        Some(&target(&[])),
        None,
    );
    assert_eq!((none.url, none.source), (None, None));
    let why = none.problem.unwrap();
    assert!(
        why.contains("spec.runtimeIdentity.baseUrl") && why.contains("spec.baseUrl"),
        "{why}"
    );
}

#[test]
fn a_verireel_lane_takes_the_one_dokploy_domain_with_its_scheme_and_path() {
    let routes = [route("vr.example.com", false, Some("/app/"))];
    let base = resolve(
        &lane(None),
        Some(&product(Driver::Verireel)),
        Some(&target(&[])),
        Some(Ok(&routes)),
    );
    assert_eq!(base.url.as_deref(), Some("http://vr.example.com/app"));
    assert_eq!(base.source, Some(BaseUrlSource::DokployDomain));
    assert_eq!(route_url(&route("a.test", true, Some("/"))), "https://a.test");
    assert_eq!(route_url(&route("a.test", true, None)), "https://a.test");
}

#[test]
fn a_verireel_lane_with_several_domains_takes_the_selected_one_and_never_guesses() {
    let routes = [
        route("internal.example.com", false, None),
        route("vr.example.com", true, None),
    ];
    let selected = resolve(
        &lane(None),
        Some(&product(Driver::Verireel)),
        Some(&target(&["vr.example.com"])),
        Some(Ok(&routes)),
    );
    assert_eq!(selected.url.as_deref(), Some("https://vr.example.com"));
    assert_eq!(selected.source, Some(BaseUrlSource::DokployDomain));

    let ambiguous = resolve(
        &lane(None),
        Some(&product(Driver::Verireel)),
        Some(&target(&[])),
        Some(Ok(&routes)),
    );
    assert_eq!((ambiguous.url.as_deref(), ambiguous.source), (None, None));
    let why = ambiguous.problem.clone().unwrap();
    for needle in [
        "internal.example.com",
        "vr.example.com",
        "spec.domains",
        "spec.runtimeIdentity.baseUrl",
        "spec.baseUrl",
    ] {
        assert!(why.contains(needle), "{needle} missing from: {why}");
    }
    // Unverifiable, never Passed, for every check that needs it.
    let check = classify(VerificationCheckName::Health, None, None, &ambiguous, t());
    assert_eq!(check.result, CheckResult::Unverifiable);
    assert_eq!(check.message.as_deref(), Some(why.as_str()));
}

#[test]
fn a_verireel_lane_without_a_fresh_view_of_its_domains_has_no_base_url() {
    for (routes, needle) in [
        (None, "were not observed"),
        (
            Some(Err("the last poll failed".to_string())),
            "the last poll failed",
        ),
        (Some(Ok(&[][..])), "no enabled domain"),
    ] {
        let routes = routes
            .as_ref()
            .map(|r| r.as_ref().map(|x| *x).map_err(Clone::clone));
        let base = resolve(
            &lane(None),
            Some(&product(Driver::Verireel)),
            Some(&target(&[])),
            routes,
        );
        assert_eq!(base.url, None);
        assert!(base.problem.as_deref().unwrap().contains(needle), "{base:?}");
    }
}

#[test]
fn a_base_url_with_credentials_is_shown_redacted() {
    let base = resolve(
        &lane(Some("https://user:s3cret@erp.example.com")),
        None,
        None,
        None,
    );
    assert_eq!(
        base.shown().as_deref(),
        Some("https://<redacted>@erp.example.com")
    );
    let requests = requests(Some(&product(Driver::Odoo)), &base);
    let url = requests[0].1.as_deref();
    let answer: Answer = Err("connection failed".into());
    let check = classify(VerificationCheckName::Health, url, Some(&answer), &base, t());
    let shown = format!("{check:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    let status = lane_status(&base, vec![check], None);
    assert!(!format!("{status:?}").contains("s3cret"));
}

#[test]
fn each_driver_makes_its_own_checks() {
    let base = BaseUrl {
        url: Some("https://erp.example.com".into()),
        source: Some(BaseUrlSource::Lane),
        problem: None,
        transient: false,
    };
    let odoo = requests(Some(&product(Driver::Odoo)), &base);
    assert_eq!(
        odoo,
        vec![
            (
                VerificationCheckName::Health,
                Some("https://erp.example.com/web/health".into())
            ),
            (
                VerificationCheckName::CanonicalUrl,
                Some("https://erp.example.com/".into())
            ),
            (
                VerificationCheckName::Logo,
                Some("https://erp.example.com/web/binary/company_logo".into())
            ),
        ]
    );
    let mut own_path = product(Driver::Odoo);
    own_path.spec.health_path = "/lp/health".into();
    assert_eq!(
        requests(Some(&own_path), &base)[0].1.as_deref(),
        Some("https://erp.example.com/lp/health")
    );
    let verireel = requests(Some(&product(Driver::Verireel)), &base);
    assert_eq!(
        verireel,
        vec![(
            VerificationCheckName::Health,
            Some("https://erp.example.com/healthz".into())
        )]
    );
    assert!(requests(Some(&product(Driver::GenericWeb)), &base).is_empty());
    assert!(!has_checks(Some(&product(Driver::GenericWeb))) && has_checks(Some(&product(Driver::Odoo))));
}

fn answer(status: u16, location: Option<&str>, content_type: Option<&str>, body_len: usize) -> Answer {
    Ok(HttpAnswer {
        status,
        location: location.map(str::to_string),
        content_type: content_type.map(str::to_string),
        body_len,
    })
}

fn run(name: VerificationCheckName, url: &str, a: Answer) -> VerificationCheck {
    let base = BaseUrl {
        url: Some("https://erp.example.com".into()),
        source: Some(BaseUrlSource::Lane),
        problem: None,
        transient: false,
    };
    classify(name, Some(url), Some(&a), &base, t())
}

#[test]
fn health_passes_on_2xx_only() {
    use VerificationCheckName::Health;
    let url = "https://erp.example.com/web/health";
    assert_eq!(
        run(Health, url, answer(200, None, None, 2)).result,
        CheckResult::Passed
    );
    let down = run(Health, url, answer(503, None, None, 0));
    assert_eq!(down.result, CheckResult::Failed);
    assert!(down.message.unwrap().contains("503"));
    let redirected = run(Health, url, answer(303, Some("/web/login"), None, 0));
    assert_eq!(redirected.result, CheckResult::Failed);
    assert!(redirected.message.unwrap().contains("/web/login"));
    let unreachable = run(Health, url, Err("timed out".into()));
    assert_eq!(unreachable.result, CheckResult::Unverifiable);
    assert!(unreachable.required);
}

#[test]
fn the_canonical_url_may_redirect_within_its_origin_only() {
    use VerificationCheckName::CanonicalUrl;
    let url = "https://erp.example.com/";
    let cases = [
        (
            answer(200, None, None, 10),
            CheckResult::Passed,
            "from erp.example.com",
        ),
        (
            answer(303, Some("/web/login"), None, 0),
            CheckResult::Passed,
            "/web/login",
        ),
        (
            answer(301, Some("https://erp.example.com/odoo"), None, 0),
            CheckResult::Passed,
            "/odoo",
        ),
        (
            answer(301, Some("https://erp-old.example.net/web"), None, 0),
            CheckResult::Failed,
            "erp.example.com redirects to another host, erp-old.example.net",
        ),
        (
            answer(302, Some("http://erp.example.com/"), None, 0),
            CheckResult::Failed,
            "https://erp.example.com redirects to http://erp.example.com",
        ),
        (
            answer(302, None, None, 0),
            CheckResult::Failed,
            "without a Location",
        ),
        (answer(502, None, None, 0), CheckResult::Failed, "HTTP 502"),
        (
            Err("connection failed".into()),
            CheckResult::Unverifiable,
            "connection failed",
        ),
    ];
    for (i, (a, want, needle)) in cases.into_iter().enumerate() {
        let check = run(CanonicalUrl, url, a);
        let message = check.message.unwrap_or_default();
        assert_eq!(check.result, want, "case {i}: {message}");
        assert!(message.contains(needle), "case {i}: {message}");
    }
}

#[test]
fn the_logo_must_be_a_non_empty_image() {
    use VerificationCheckName::Logo;
    let url = "https://erp.example.com/web/binary/company_logo";
    let cases = [
        (
            answer(200, None, Some("image/png"), 512),
            CheckResult::Passed,
            "image/png",
        ),
        (
            answer(200, None, Some("Image/SVG+XML; charset=utf-8"), 40),
            CheckResult::Passed,
            "image/svg+xml",
        ),
        (
            answer(404, None, Some("text/html"), 20),
            CheckResult::Failed,
            "HTTP 404",
        ),
        (
            answer(303, Some("/web/login"), None, 0),
            CheckResult::Failed,
            "/web/login",
        ),
        (
            answer(200, None, Some("text/html; charset=utf-8"), 900),
            CheckResult::Failed,
            "content type text/html, not an image",
        ),
        (
            answer(200, None, None, 10),
            CheckResult::Failed,
            "no content type",
        ),
        (
            answer(200, None, Some("image/png"), 0),
            CheckResult::Failed,
            "empty body",
        ),
        (Err("timed out".into()), CheckResult::Unverifiable, "timed out"),
    ];
    for (i, (a, want, needle)) in cases.into_iter().enumerate() {
        let check = run(Logo, url, a);
        let message = check.message.unwrap_or_default();
        assert_eq!(check.result, want, "case {i}: {message}");
        assert!(message.contains(needle), "case {i}: {message}");
    }
}

#[test]
fn the_identity_check_follows_the_contract() {
    let expected = RuntimeIdentityPayload {
        artifact_id: Some("erp-1".into()),
        ..Default::default()
    };
    let found = |artifact: &str| {
        combine(&[SurfaceObservation::Found {
            surface: Surface::HealthBody,
            payload: RuntimeIdentityPayload {
                artifact_id: Some(artifact.into()),
                ..Default::default()
            },
        }])
    };
    let absent = combine(&[SurfaceObservation::Absent {
        surface: Surface::HealthBody,
        reason: "no identity".into(),
    }]);
    let unreachable = combine(&[SurfaceObservation::unreachable(Surface::HealthBody, "timed out")]);
    // (observed, identity required, result, check required)
    let table = [
        (found("erp-1"), false, CheckResult::Passed, false),
        (found("erp-0"), false, CheckResult::Failed, true),
        (absent.clone(), false, CheckResult::Failed, false),
        (absent, true, CheckResult::Failed, true),
        (unreachable.clone(), false, CheckResult::Unverifiable, false),
        (unreachable, true, CheckResult::Unverifiable, true),
        (Observed::unchecked(), true, CheckResult::Unverifiable, true),
    ];
    for (i, (observed, required, result, check_required)) in table.into_iter().enumerate() {
        let c = classify_identity(&expected, &observed, required);
        let check = identity_check(&c, None, t());
        assert_eq!(
            (check.result, check.required),
            (result, check_required),
            "row {i}: {check:?}"
        );
        // A required check that did not pass holds the inventory back; the contract agrees.
        assert_eq!(
            all_required_pass(&[check]),
            !c.is_failure() && c.reason != ClassificationReason::Unchecked,
            "row {i}"
        );
    }
}

#[test]
fn all_required_must_pass() {
    let pass = run(
        VerificationCheckName::Health,
        "https://erp.example.com/web/health",
        answer(200, None, None, 1),
    );
    let fail = run(
        VerificationCheckName::Health,
        "https://erp.example.com/web/health",
        answer(500, None, None, 1),
    );
    assert!(all_required_pass(std::slice::from_ref(&pass)));
    assert!(!all_required_pass(&[pass.clone(), fail.clone()]));
    let mut advisory = fail;
    advisory.required = false;
    assert!(all_required_pass(&[pass, advisory]));
    assert!(all_required_pass(&[]));
}

#[test]
fn a_lane_check_that_says_the_same_keeps_its_time() {
    let base = BaseUrl {
        url: Some("https://erp.example.com".into()),
        source: Some(BaseUrlSource::Lane),
        problem: None,
        transient: false,
    };
    let url = "https://erp.example.com/web/health";
    let at = |secs: i64| Timestamp::from_second(1_800_000_000 + secs).unwrap();
    let run_at = |secs: i64, status: u16| {
        classify(
            VerificationCheckName::Health,
            Some(url),
            Some(&answer(status, None, None, 1)),
            &base,
            at(secs),
        )
    };
    let first = lane_status(&base, vec![run_at(0, 200)], None);
    let again = lane_status(&base, vec![run_at(60, 200)], Some(&first));
    assert_eq!(again, first, "nothing changed: nothing to write");
    let down = lane_status(&base, vec![run_at(120, 503)], Some(&again));
    assert_eq!(down.checks[0].checked_at, Some(Time(at(120))));
    assert_eq!(down.checks[0].result, CheckResult::Failed);
}
