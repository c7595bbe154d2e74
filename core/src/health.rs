//! Health checks: the outcome of one check, judged from what its GET answered.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{HealthCheck, HealthCheckType, HealthEvidence};
use launchplane_api::verdict::Verdict;

/// One health check's outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthResult {
    pub evidence: HealthEvidence,
    pub required: bool,
}

/// Judge one health check from what its GET answered (`Err`: transport failure, secret-free).
pub fn health_result(
    check: &HealthCheck,
    url: Option<&str>,
    answer: Option<Result<u16, String>>,
    now: Timestamp,
) -> HealthResult {
    let (target, verdict, status_code, message) = match (check.check_type, url, answer) {
        (HealthCheckType::Provider, _, _) => (
            "provider".to_string(),
            Verdict::Unverifiable,
            None,
            "provider health checks are not supported yet (fails closed)".to_string(),
        ),
        (_, None, _) => (
            "(no url)".to_string(),
            Verdict::Unverifiable,
            None,
            "the check has a path but the lane has no base URL: set spec.runtimeIdentity.baseUrl or \
             the ProviderTarget's domains"
                .to_string(),
        ),
        (_, Some(url), None) => (url.to_string(), Verdict::Unchecked, None, "not run yet".into()),
        (_, Some(url), Some(Err(reason))) => (url.to_string(), Verdict::Unverifiable, None, reason),
        (_, Some(url), Some(Ok(code))) => {
            let ok = i32::from(code) == check.expect_status;
            (
                url.to_string(),
                if ok { Verdict::Matched } else { Verdict::Mismatch },
                Some(i32::from(code)),
                format!("answered HTTP {code}, expected {}", check.expect_status),
            )
        }
    };
    HealthResult {
        evidence: HealthEvidence {
            target,
            verdict: Some(verdict),
            status_code,
            message: Some(message),
            checked_at: Some(Time(now)),
        },
        required: check.required,
    }
}
