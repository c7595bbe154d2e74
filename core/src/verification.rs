//! A lane's verification beyond its own health checks, per driver: where the app is reached
//! ([`base_url`]), which requests its driver's checks make ([`requests`]), how each answer is
//! classified ([`odoo`]), and the runtime identity folded in as one more check
//! ([`identity_check`]). Pure: the prober (`launchplane::observe::prober`) makes the requests.
//!
//! | driver | checks |
//! |---|---|
//! | `generic-web` | none (the lane's `spec.healthChecks` and the identity, as before) |
//! | `verireel` | `health` (the Product's health path on the base URL), `runtimeIdentity` |
//! | `odoo` | `health` (`/web/health`), `canonicalUrl`, `logo`, `runtimeIdentity` |
//!
//! Every check is required: the inventory advances only when each passed. What could not be
//! compared (no base URL, a route that could not be reached) is `Unverifiable`, never Passed.

pub mod base_url;
pub mod odoo;

use crate::redact::without_credentials;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::identity::{Classification, ClassificationReason};
use launchplane_api::resources::{
    CheckResult, Driver, LaneVerification, Product, RuntimeIdentity, VerificationCheck, VerificationCheckName,
};
use launchplane_api::verdict::Verdict;

pub use base_url::{BaseUrl, RouteSight};

/// One GET a driver check makes. Redirects are never followed: the canonical-URL check judges
/// them, and a health or logo route that redirects is not answering itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRequest {
    pub name: VerificationCheckName,
    /// The URL to GET, as configured (it may carry credentials: only its redacted form is
    /// ever shown).
    pub url: String,
}

/// What one GET answered: enough to classify it, nothing of the body but its length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// The `Location` header, as sent.
    pub location: Option<String>,
    /// The `Content-Type` header, as sent.
    pub content_type: Option<String>,
    /// How many body bytes arrived (the prober stops reading at a cap).
    pub body_len: usize,
}

/// What the prober got for one request: the answer, or a short secret-free reason it has none.
pub type Answer = Result<HttpAnswer, String>;

/// The path Odoo answers its health on (Odoo 17+, `auth="none"`, no database needed).
pub const ODOO_HEALTH_PATH: &str = "/web/health";
/// Odoo's company logo route.
pub const ODOO_LOGO_PATH: &str = "/web/binary/company_logo";
/// The Product's default health path, which an `odoo` Product means as Odoo's own.
const DEFAULT_HEALTH_PATH: &str = "/healthz";

/// The health path the lane's app answers on: the Product's `healthPath`, except that an
/// `odoo` Product left at the default (`/healthz`, which Odoo does not serve) means Odoo's
/// `/web/health`. The identity probe reads the same path.
pub fn health_path(product: Option<&Product>) -> String {
    match product {
        Some(p) if p.spec.driver == Driver::Odoo && p.spec.health_path == DEFAULT_HEALTH_PATH => {
            ODOO_HEALTH_PATH.to_string()
        }
        Some(p) => p.spec.health_path.clone(),
        None => DEFAULT_HEALTH_PATH.to_string(),
    }
}

/// The checks the driver makes besides the identity, in the order they are reported, with the
/// URL each GETs (`None`: no base URL).
pub fn requests(product: Option<&Product>, base: &BaseUrl) -> Vec<(VerificationCheckName, Option<String>)> {
    let driver = product.map(|p| p.spec.driver).unwrap_or_default();
    let names: &[VerificationCheckName] = match driver {
        Driver::GenericWeb => &[],
        Driver::Verireel => &[VerificationCheckName::Health],
        Driver::Odoo => &[
            VerificationCheckName::Health,
            VerificationCheckName::CanonicalUrl,
            VerificationCheckName::Logo,
        ],
    };
    let path = |name: VerificationCheckName| match name {
        VerificationCheckName::Health => health_path(product),
        VerificationCheckName::Logo => ODOO_LOGO_PATH.to_string(),
        VerificationCheckName::CanonicalUrl | VerificationCheckName::RuntimeIdentity => "/".to_string(),
    };
    names
        .iter()
        .map(|&name| (name, base.url.as_deref().map(|b| join(b, &path(name)))))
        .collect()
}

/// Whether the driver verifies through [`requests`] and [`identity_check`] (every driver but
/// `generic-web`).
pub fn has_checks(product: Option<&Product>) -> bool {
    product.is_some_and(|p| p.spec.driver != Driver::GenericWeb)
}

/// `base` (no trailing slash) and `path` (with a leading one).
fn join(base: &str, path: &str) -> String {
    let path = path.strip_prefix('/').unwrap_or(path);
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// Classify what the request for check `name` at `url` answered (`None`: not run, because
/// there is no base URL; `base` says why).
pub fn classify(
    name: VerificationCheckName,
    url: Option<&str>,
    answer: Option<&Answer>,
    base: &BaseUrl,
    now: Timestamp,
) -> VerificationCheck {
    let (result, message) = match (url, answer) {
        (None, _) | (_, None) => (
            CheckResult::Unverifiable,
            base.problem
                .clone()
                .unwrap_or_else(|| "the lane has no base URL to check".into()),
        ),
        (Some(_), Some(Err(reason))) => (
            CheckResult::Unverifiable,
            format!("could not be reached: {}", without_credentials(reason)),
        ),
        (Some(url), Some(Ok(answer))) => match name {
            VerificationCheckName::Health => odoo::health(answer),
            VerificationCheckName::CanonicalUrl => odoo::canonical(url, answer),
            VerificationCheckName::Logo => odoo::logo(answer),
            VerificationCheckName::RuntimeIdentity => (
                CheckResult::Unverifiable,
                "the runtime identity is judged by its contract, not by one request".into(),
            ),
        },
    };
    VerificationCheck {
        name,
        result,
        required: true,
        url: url.map(without_credentials),
        message: Some(without_credentials(&message)),
        checked_at: Some(Time(now)),
    }
}

/// The runtime identity as a check, from the classification the contract already made
/// (`launchplane_api::identity::classify`): Matched passes; Mismatch, Malformed and Missing
/// fail; Unreachable and not probed yet are Unverifiable. It is required when the contract
/// says it fails verification (Mismatch and Malformed always, the rest when the identity is
/// required); an advisory Missing or Unreachable is reported and does not hold the inventory.
pub fn identity_check(c: &Classification, url: Option<&str>, now: Timestamp) -> VerificationCheck {
    let result = match c.reason {
        ClassificationReason::Matched => CheckResult::Passed,
        ClassificationReason::Mismatch | ClassificationReason::Malformed | ClassificationReason::Missing => {
            CheckResult::Failed
        }
        ClassificationReason::Unreachable | ClassificationReason::Unchecked => CheckResult::Unverifiable,
    };
    VerificationCheck {
        name: VerificationCheckName::RuntimeIdentity,
        result,
        required: c.required || c.hard_failure,
        url: url.map(without_credentials),
        message: Some(without_credentials(&format!("{}: {}", c.reason, c.message))),
        checked_at: Some(Time(now)),
    }
}

/// A lane's runtime identity as a check, from its RuntimeIdentity child as last probed
/// (`None`: nothing deployed yet, so no identity to expect, or not probed yet).
pub fn identity_from_child(child: Option<&RuntimeIdentity>) -> Option<VerificationCheck> {
    let child = child?;
    let status = child.status.as_ref()?;
    let reason = status.reason?;
    let c = Classification {
        verdict: status.verdict.unwrap_or_default(),
        reason,
        hard_failure: matches!(
            reason,
            ClassificationReason::Mismatch | ClassificationReason::Malformed
        ),
        required: child.spec.required,
        mismatches: Vec::new(),
        message: status.message.clone().unwrap_or_default(),
    };
    let at = status.last_probe_time.as_ref().map(|t| t.0)?;
    Some(identity_check(&c, Some(&child.spec.endpoint.base_url), at))
}

/// Whether every required check passed (true for none).
pub fn all_required_pass(checks: &[VerificationCheck]) -> bool {
    checks
        .iter()
        .filter(|c| c.required)
        .all(|c| c.result == CheckResult::Passed)
}

/// A check as a verdict, for the lane's aspects.
pub fn verdict(check: &VerificationCheck) -> Verdict {
    match check.result {
        CheckResult::Passed => Verdict::Matched,
        CheckResult::Failed => Verdict::Mismatch,
        CheckResult::Unverifiable => Verdict::Unverifiable,
    }
}

/// The name as status spells it.
pub fn check_name(name: VerificationCheckName) -> &'static str {
    match name {
        VerificationCheckName::Health => "health",
        VerificationCheckName::CanonicalUrl => "canonicalUrl",
        VerificationCheckName::Logo => "logo",
        VerificationCheckName::RuntimeIdentity => "runtimeIdentity",
    }
}

/// The lane's `status.verification`: where it is reached and the checks as observed now. A
/// check that says what it said before (`old`) keeps its `checkedAt`: on the lane it is when
/// the check came to say it, so a lane whose checks keep passing writes no new status at every
/// probe (the record of an attempt keeps the time each was run).
pub fn lane_status(
    base: &BaseUrl,
    checks: Vec<VerificationCheck>,
    old: Option<&LaneVerification>,
) -> LaneVerification {
    let checks = checks
        .into_iter()
        .map(|mut check| {
            let same = old.into_iter().flat_map(|o| &o.checks).find(|o| {
                (o.name, o.result, o.required, &o.url, &o.message)
                    == (
                        check.name,
                        check.result,
                        check.required,
                        &check.url,
                        &check.message,
                    )
            });
            if let Some(same) = same {
                check.checked_at = same.checked_at.clone();
            }
            check
        })
        .collect();
    LaneVerification {
        base_url: base.shown(),
        base_url_source: base.source,
        message: base.problem.clone(),
        checks,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
