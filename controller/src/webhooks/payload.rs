//! The fields of a GitHub `pull_request` delivery the receiver uses, typed, as
//! `shared/github/webhooks-schema.json` (`pull_request$opened`, `$labeled`, …) names them;
//! everything else in the payload is ignored. A payload without them is refused with the
//! path of the first field that is missing or of the wrong type.

use jiff::Timestamp;
use launchplane_core::pull_request::{Action, PullRequestFacts};
use serde::Deserialize;

/// A `pull_request` event.
#[derive(Clone, Debug, Deserialize)]
pub struct PullRequestEvent {
    pub action: String,
    pub number: i64,
    pub pull_request: PullRequest,
    /// The label added or removed (`labeled`, `unlabeled`).
    #[serde(default)]
    pub label: Option<Label>,
    pub repository: Repository,
}

/// `pull_request` (the `pull-request` definition).
#[derive(Clone, Debug, Deserialize)]
pub struct PullRequest {
    pub number: i64,
    /// `open` or `closed`.
    pub state: String,
    pub html_url: String,
    /// `date-time`.
    pub updated_at: String,
    pub head: Head,
    pub labels: Vec<Label>,
}

/// `pull_request.head`.
#[derive(Clone, Debug, Deserialize)]
pub struct Head {
    pub sha: String,
}

/// A `label`.
#[derive(Clone, Debug, Deserialize)]
pub struct Label {
    pub name: String,
}

/// `repository`.
#[derive(Clone, Debug, Deserialize)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
    pub html_url: String,
}

/// A payload that is not a usable `pull_request` event.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Parse a `pull_request` delivery body.
pub fn parse(body: &[u8]) -> Result<PullRequestEvent, PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let event: PullRequestEvent = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if !inner.is_data() {
            PayloadError(format!(
                "the body is not JSON, so not a pull_request event: {inner}"
            ))
        } else if path == "." || path.is_empty() {
            PayloadError(format!("the body is not a pull_request event: {inner}"))
        } else {
            PayloadError(format!("field {path}: {inner}"))
        }
    })?;
    if event.number != event.pull_request.number || event.number < 1 {
        return Err(PayloadError(format!(
            "field number ({}) and pull_request.number ({}) must be the same positive number",
            event.number, event.pull_request.number
        )));
    }
    if !matches!(event.pull_request.state.as_str(), "open" | "closed") {
        return Err(PayloadError(format!(
            "field pull_request.state must be open or closed, not {:?}",
            event.pull_request.state
        )));
    }
    if event.pull_request.updated_at.parse::<Timestamp>().is_err() {
        return Err(PayloadError(format!(
            "field pull_request.updated_at must be an RFC 3339 date-time, not {:?}",
            event.pull_request.updated_at
        )));
    }
    if host_of(&event.repository.html_url).is_none() {
        return Err(PayloadError(format!(
            "field repository.html_url must be an https URL, not {:?}",
            event.repository.html_url
        )));
    }
    Ok(event)
}

/// The host of a web URL (`https://github.com/acme/shop` → `github.com`).
pub fn host_of(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "https" | "http")
        .then(|| parsed.host_str().map(str::to_ascii_lowercase))
        .flatten()
}

impl PullRequestEvent {
    /// The facts the decision takes.
    pub fn facts(&self) -> PullRequestFacts {
        PullRequestFacts {
            action: Action::parse(&self.action),
            host: host_of(&self.repository.html_url).unwrap_or_default(),
            full_name: self.repository.full_name.clone(),
            number: self.number,
            head_sha: self.pull_request.head.sha.clone(),
            url: Some(self.pull_request.html_url.clone()),
            open: self.pull_request.state == "open",
            labels: self.pull_request.labels.iter().map(|l| l.name.clone()).collect(),
            label: self.label.as_ref().map(|l| l.name.clone()),
            updated_at: self.pull_request.updated_at.parse().ok(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> serde_json::Value {
        json!({
            "action": "labeled", "number": 42,
            "pull_request": {"number": 42, "state": "open", "html_url": "https://github.com/acme/shop/pull/42",
                "updated_at": "2026-01-15T08:00:00Z", "head": {"sha": "b7e4d20f1a2b3c4d5e6f708192a3b4c5d6e7f809"},
                "labels": [{"name": "preview"}]},
            "label": {"name": "preview"},
            "repository": {"full_name": "acme/shop", "html_url": "https://github.com/acme/shop"}
        })
    }

    #[test]
    fn the_used_fields_become_facts() {
        let event = parse(body().to_string().as_bytes()).unwrap();
        let f = event.facts();
        assert_eq!(f.action, Action::Labeled);
        assert_eq!(
            (f.host.as_str(), f.full_name.as_str(), f.number),
            ("github.com", "acme/shop", 42)
        );
        assert_eq!(f.labels, vec!["preview".to_string()]);
        assert_eq!(f.label.as_deref(), Some("preview"));
        assert!(f.open);
        assert_eq!(f.updated_at, Some("2026-01-15T08:00:00Z".parse().unwrap()));
    }

    #[test]
    fn a_malformed_payload_names_the_field() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!([]), "pull_request event"),
            (json!({"action": "opened"}), "number"),
            (
                {
                    let mut b = body();
                    b["pull_request"]["head"] = json!({});
                    b
                },
                "pull_request.head",
            ),
            (
                {
                    let mut b = body();
                    b["pull_request"]["head"]["sha"] = json!(7);
                    b
                },
                "pull_request.head.sha",
            ),
            (
                {
                    let mut b = body();
                    b["pull_request"]["labels"] = json!("preview");
                    b
                },
                "pull_request.labels",
            ),
            (
                {
                    let mut b = body();
                    b["number"] = json!(43);
                    b
                },
                "pull_request.number",
            ),
            (
                {
                    let mut b = body();
                    b["pull_request"]["state"] = json!("merged");
                    b
                },
                "pull_request.state",
            ),
            (
                {
                    let mut b = body();
                    b["pull_request"]["updated_at"] = json!("yesterday");
                    b
                },
                "pull_request.updated_at",
            ),
            (
                {
                    let mut b = body();
                    b["repository"]["html_url"] = json!("acme/shop");
                    b
                },
                "repository.html_url",
            ),
        ];
        for (value, field) in cases {
            let e = parse(value.to_string().as_bytes()).unwrap_err();
            assert!(e.0.contains(field), "{field}: {e}");
        }
        assert!(
            parse(b"{not json")
                .unwrap_err()
                .0
                .contains("not a pull_request event")
        );
    }
}
