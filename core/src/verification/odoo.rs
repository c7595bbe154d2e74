//! How an answer reads for each driver check (named after Odoo, whose checks these are; the
//! `health` rule serves `verireel` too). Each returns the result and a sentence.

use super::HttpAnswer;
use launchplane_api::resources::CheckResult;
use url::Url;

/// `health`: the route answers 2xx itself (a redirect, e.g. to `/web/login`, is not an
/// answer of the health route).
pub fn health(answer: &HttpAnswer) -> (CheckResult, String) {
    match answer.status {
        200..=299 => (CheckResult::Passed, format!("answered HTTP {}", answer.status)),
        300..=399 => (
            CheckResult::Failed,
            format!(
                "answered HTTP {} (a redirect to {}) instead of 2xx",
                answer.status,
                answer.location.as_deref().unwrap_or("nowhere")
            ),
        ),
        code => (CheckResult::Failed, format!("answered HTTP {code}, expected 2xx")),
    }
}

/// `canonicalUrl`: the public base URL answers from its own origin. A redirect within the
/// same origin (scheme, host and port; e.g. `/` to `/web/login`) is fine; one to another
/// host fails naming both hosts, one to another scheme or port of the same host names both
/// origins.
pub fn canonical(url: &str, answer: &HttpAnswer) -> (CheckResult, String) {
    let Ok(requested) = Url::parse(url) else {
        return (
            CheckResult::Unverifiable,
            "the base URL is not a valid URL".into(),
        );
    };
    let host = requested.host_str().unwrap_or_default().to_string();
    match answer.status {
        200..=299 => (
            CheckResult::Passed,
            format!("answered HTTP {} from {host}", answer.status),
        ),
        300..=399 => {
            let Some(location) = answer.location.as_deref() else {
                return (
                    CheckResult::Failed,
                    format!("answered HTTP {} without a Location header", answer.status),
                );
            };
            let Ok(target) = requested.join(location) else {
                return (
                    CheckResult::Failed,
                    format!("redirects to an invalid location ({location})"),
                );
            };
            let to_host = target.host_str().unwrap_or_default();
            if !to_host.eq_ignore_ascii_case(&host) {
                return (
                    CheckResult::Failed,
                    format!(
                        "{host} redirects to another host, {to_host}: the public URL is not the canonical \
                         one (set the app's own base URL, e.g. Odoo's web.base.url, to {host}, or point the \
                         lane at {to_host})"
                    ),
                );
            }
            if target.origin() != requested.origin() {
                return (
                    CheckResult::Failed,
                    format!(
                        "{} redirects to {}: same host, another origin",
                        requested.origin().ascii_serialization(),
                        target.origin().ascii_serialization()
                    ),
                );
            }
            (
                CheckResult::Passed,
                format!(
                    "answered HTTP {} from {host}, a redirect within it to {}",
                    answer.status,
                    target.path()
                ),
            )
        }
        code => (
            CheckResult::Failed,
            format!("answered HTTP {code} from {host}, expected 2xx or a redirect within it"),
        ),
    }
}

/// `logo`: 200, an `image/*` content type and a non-empty body.
pub fn logo(answer: &HttpAnswer) -> (CheckResult, String) {
    if answer.status != 200 {
        let redirect = answer
            .location
            .as_deref()
            .map(|l| format!(" (a redirect to {l})"))
            .unwrap_or_default();
        return (
            CheckResult::Failed,
            format!("answered HTTP {}{redirect}, expected 200", answer.status),
        );
    }
    let content_type = answer.content_type.as_deref().unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !essence.starts_with("image/") {
        let shown = if content_type.is_empty() {
            "no content type".to_string()
        } else {
            format!("content type {essence}")
        };
        return (CheckResult::Failed, format!("answered {shown}, not an image"));
    }
    if answer.body_len == 0 {
        return (
            CheckResult::Failed,
            format!("answered {essence} with an empty body"),
        );
    }
    (
        CheckResult::Passed,
        format!("answered {essence}, {} bytes", answer.body_len),
    )
}
