//! Odoo's verification checks against small loopback Odoo-like apps (issue 15 item 3): each
//! failure (health, canonical URL, logo) is found by the real prober and recorded as its own
//! result, the others still passing; redirects are judged, never followed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use launchplane::engine::verification::run_checks;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::resources::{
    BaseUrlSource, CheckResult, Driver, Product, ProductSpec, VerificationCheck, VerificationCheckName,
};
use launchplane_core::verification::{BaseUrl, requests};

/// What the app gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    HealthDown,
    /// `/` redirects to another host.
    ForeignRedirect,
    /// `/` redirects to `/web/login` on the same origin (fine).
    LoginRedirect,
    LogoNotAnImage,
    LogoEmpty,
    LogoMissing,
}

async fn app(fault: Fault) -> String {
    let health = move || async move {
        if fault == Fault::HealthDown {
            return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
        }
        (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"pass"}"#,
        )
            .into_response()
    };
    let root = move |headers: HeaderMap| async move {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string();
        match fault {
            Fault::ForeignRedirect => redirect("https://erp.other-company.test/web/login"),
            Fault::LoginRedirect => redirect("/web/login"),
            _ => (StatusCode::OK, format!("<html>{host}</html>")).into_response(),
        }
    };
    let logo = move || async move {
        match fault {
            Fault::LogoNotAnImage => (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html>login</html>",
            )
                .into_response(),
            Fault::LogoEmpty => ([(header::CONTENT_TYPE, "image/png")], "").into_response(),
            Fault::LogoMissing => StatusCode::NOT_FOUND.into_response(),
            _ => (
                [(header::CONTENT_TYPE, "image/png")],
                vec![0x89u8, b'P', b'N', b'G'],
            )
                .into_response(),
        }
    };
    let router = Router::new()
        .route("/web/health", get(health))
        .route("/", get(root))
        .route("/web/login", get(|| async { "login" }))
        .route("/web/binary/company_logo", get(logo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    format!("http://{addr}")
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn odoo() -> Product {
    Product::new(
        "erp",
        ProductSpec {
            driver: Driver::Odoo,
            ..Default::default()
        },
    )
}

async fn check(fault: Fault, base_url: &str) -> Vec<VerificationCheck> {
    let base = BaseUrl {
        url: Some(base_url.to_string()),
        source: Some(BaseUrlSource::Lane),
        problem: None,
        transient: false,
    };
    let prober = Prober::new(ProberConfig::default()).unwrap();
    let product = odoo();
    let checks = run_checks(
        &prober,
        &requests(Some(&product), &base),
        &base,
        jiff::Timestamp::now(),
    )
    .await;
    assert_eq!(
        checks.iter().map(|c| c.name).collect::<Vec<_>>(),
        vec![
            VerificationCheckName::Health,
            VerificationCheckName::CanonicalUrl,
            VerificationCheckName::Logo
        ],
        "{fault:?}: every check is its own result"
    );
    checks
}

#[tokio::test]
async fn each_odoo_check_fails_on_its_own_fault_and_only_there() {
    use CheckResult::{Failed, Passed};
    // (fault, health, canonicalUrl, logo, what the failing check says)
    let table = [
        (Fault::None, Passed, Passed, Passed, ""),
        (Fault::HealthDown, Failed, Passed, Passed, "HTTP 503"),
        (
            Fault::ForeignRedirect,
            Passed,
            Failed,
            Passed,
            "redirects to another host, erp.other-company.test",
        ),
        (Fault::LoginRedirect, Passed, Passed, Passed, ""),
        (
            Fault::LogoNotAnImage,
            Passed,
            Passed,
            Failed,
            "content type text/html, not an image",
        ),
        (Fault::LogoEmpty, Passed, Passed, Failed, "empty body"),
        (Fault::LogoMissing, Passed, Passed, Failed, "HTTP 404"),
    ];
    for (fault, health, canonical, logo, says) in table {
        let base = app(fault).await;
        let checks = check(fault, &base).await;
        let results: Vec<CheckResult> = checks.iter().map(|c| c.result).collect();
        assert_eq!(results, vec![health, canonical, logo], "{fault:?}: {checks:#?}");
        if let Some(failed) = checks.iter().find(|c| c.result == Failed) {
            let message = failed.message.clone().unwrap_or_default();
            assert!(message.contains(says), "{fault:?}: {message}");
        }
        assert!(checks.iter().all(|c| c.required && c.checked_at.is_some()));
    }
}

#[tokio::test]
async fn the_canonical_check_names_both_hosts_and_follows_no_redirect() {
    let base = app(Fault::ForeignRedirect).await;
    let checks = check(Fault::ForeignRedirect, &base).await;
    let canonical = &checks[1];
    let message = canonical.message.clone().unwrap();
    assert!(
        message.contains("127.0.0.1") && message.contains("erp.other-company.test"),
        "{message}"
    );
}

#[tokio::test]
async fn an_app_that_cannot_be_reached_is_unverifiable_never_passed() {
    // A port nothing listens on: bound, then dropped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let checks = check(Fault::None, &format!("http://{addr}")).await;
    for c in &checks {
        assert_eq!(c.result, CheckResult::Unverifiable, "{c:?}");
        assert!(
            c.message.as_deref().unwrap().contains("could not be reached"),
            "{c:?}"
        );
    }
}

#[tokio::test]
async fn credentials_in_the_base_url_never_reach_a_check() {
    let base = app(Fault::LogoMissing).await;
    let with_credentials = base.replace("http://", "http://odoo-admin:s3cret-pass@");
    let checks = check(Fault::LogoMissing, &with_credentials).await;
    let shown = serde_json::to_string(&checks).unwrap();
    assert!(!shown.contains("s3cret-pass"), "{shown}");
    assert!(shown.contains("<redacted>@127.0.0.1"), "{shown}");
    assert_eq!(checks[2].result, CheckResult::Failed);
}
