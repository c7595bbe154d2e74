//! The Discord webhook destination: one message with one embed per notice
//! (`POST /webhooks/{webhook_id}/{webhook_token}?wait=true`, so the created message comes back
//! and its id is the remote id).
//!
//! The webhook URL holds the token, so no error or log ever carries it: reqwest errors are
//! stripped of their URL and messages name the webhook only as "the Discord webhook". Discord
//! cannot deduplicate a message, so a send that timed out after the request left is `Unknown`.

use super::text;
use crate::notify::destination::{
    BuildError, Destination, DiscordConfig, Notice, NoticeKind, SendError, Sent,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use launchplane_api::resources::{IncidentSeverity, IncidentState, IncidentTransitionType};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use std::time::Duration;

/// How long to wait after a 429 that names no time.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);
/// The longest wait a 429 is believed for (a garbled answer must not park the destination).
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);

pub struct DiscordDestination {
    http: reqwest::Client,
    /// Secret: the token is its last path segment.
    url: Url,
    username: Option<String>,
}

impl DiscordDestination {
    pub fn new(config: &DiscordConfig) -> Result<Self, BuildError> {
        Self::with_timeout(config, Duration::from_secs(30))
    }

    pub fn with_timeout(config: &DiscordConfig, timeout: Duration) -> Result<Self, BuildError> {
        // reqwest and lettre are built without a default TLS provider: ring, as everywhere.
        launchplane_providers::install_crypto_provider();
        // The parse error is dropped on purpose: url's messages can quote the input.
        let mut url = Url::parse(config.webhook_url.expose().trim()).map_err(|_| {
            BuildError(
                "discord.webhookUrl is not a URL: give the channel webhook's URL (https://discord.com/api/webhooks/<id>/<token>)".into(),
            )
        })?;
        let segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
        let shaped = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && segments.len() >= 3
            && segments[segments.len() - 3] == "webhooks"
            && segments[segments.len() - 2..].iter().all(|s| !s.is_empty());
        if !shaped {
            return Err(BuildError(
                "discord.webhookUrl does not look like a channel webhook URL: expected https://discord.com/api/webhooks/<id>/<token>".into(),
            ));
        }
        // `wait=true` makes Discord answer with the created message (200) instead of 204.
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "wait")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("wait", "true");
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError(format!("cannot build the Discord client: {}", e.without_url())))?;
        Ok(DiscordDestination {
            http,
            url,
            username: config.username.clone(),
        })
    }

    async fn deliver(&self, notice: &Notice) -> Result<Sent, SendError> {
        let response = self
            .http
            .post(self.url.clone())
            .json(&payload(notice, self.username.as_deref()))
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_header = header_seconds(response.headers(), "retry-after")
            .or_else(|| header_seconds(response.headers(), "x-ratelimit-reset-after"));
        let body = response.bytes().await.map_err(|e| {
            // The request was answered; only the body was lost.
            SendError::Unknown {
                message: format!(
                    "the Discord webhook answered {status} but its body could not be read: {}",
                    e.without_url()
                ),
            }
        })?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        classify(status, json.as_ref(), retry_header)
    }
}

impl Destination for DiscordDestination {
    fn type_name(&self) -> &'static str {
        "discord"
    }

    fn deduplicates(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<Sent, SendError>> {
        self.deliver(notice).boxed()
    }
}

/// reqwest's error without the URL (it holds the token). Only a connection that was never made
/// is surely undelivered; after that (a timeout, a reset) the message may have been posted.
fn transport_error(e: reqwest::Error) -> SendError {
    let connect = e.is_connect();
    let timeout = e.is_timeout();
    let e = e.without_url();
    if connect {
        SendError::Retryable {
            message: format!("the Discord webhook could not be reached: {e}"),
            retry_after: None,
        }
    } else {
        SendError::Unknown {
            message: format!(
                "the Discord webhook {}; the message may have been posted: {e}",
                if timeout {
                    "did not answer in time"
                } else {
                    "broke off the exchange"
                }
            ),
        }
    }
}

fn header_seconds(headers: &reqwest::header::HeaderMap, name: &str) -> Option<f64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
}

fn wait(seconds: f64) -> Duration {
    if seconds.is_finite() && seconds > 0.0 {
        Duration::from_secs_f64(seconds.min(MAX_RATE_LIMIT_WAIT.as_secs_f64()))
    } else {
        Duration::ZERO
    }
}

/// Discord's answer as the engine reads it: 200 with the message (its id is the remote id),
/// 204 (sent, no id), 429 with `retry_after` in the body (the header as a fallback), 5xx
/// retryable, any other 4xx needs a person (a deleted webhook is 404, a bad embed 400).
pub fn classify(
    status: StatusCode,
    body: Option<&Value>,
    retry_header: Option<f64>,
) -> Result<Sent, SendError> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        let seconds = body
            .and_then(|b| b.get("retry_after"))
            .and_then(Value::as_f64)
            .or(retry_header);
        let global = body
            .and_then(|b| b.get("global"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        return Err(SendError::Retryable {
            message: format!(
                "the Discord webhook is rate limited{}",
                if global { " (global limit)" } else { "" }
            ),
            retry_after: Some(seconds.map(wait).unwrap_or(DEFAULT_RATE_LIMIT_WAIT)),
        });
    }
    if status.is_success() {
        let id = body
            .and_then(|b| b.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        return Ok(Sent { remote_id: id });
    }
    // Discord's error object: `code` and `message`; neither holds the token.
    let detail = body
        .and_then(|b| b.get("message"))
        .and_then(Value::as_str)
        .map(|m| format!(": {}", text::clip(m, 200)))
        .unwrap_or_default();
    if status.is_server_error() {
        return Err(SendError::Retryable {
            message: format!("the Discord webhook answered {status}{detail}"),
            retry_after: None,
        });
    }
    let hint = match status.as_u16() {
        401 | 403 | 404 => {
            "; the webhook was deleted or its token is wrong: create a new webhook and update the Secret"
        }
        _ => "",
    };
    Err(SendError::Permanent {
        message: format!("the Discord webhook refused the message ({status}){detail}{hint}"),
    })
}

/// Red for an open critical incident, amber for an open warning, green once resolved.
fn colour(notice: &Notice) -> u32 {
    match (notice.state, notice.severity) {
        (IncidentState::Resolved, _) => 0x2E_A0_43,
        (_, IncidentSeverity::Critical) => 0xD1_24_2F,
        (_, IncidentSeverity::Warning) => 0xD2_99_22,
    }
}

/// The request body: one embed, no mentions (an evidence text must never ping anyone).
pub fn payload(notice: &Notice, username: Option<&str>) -> Value {
    let i = &notice.incident;
    let title = match notice.kind {
        NoticeKind::Transition(IncidentTransitionType::Resolved) => {
            format!("Resolved: {}", text::subject(notice))
        }
        _ => format!("Incident {}: {}", text::what(notice), text::subject(notice)),
    };
    let field =
        |name: &str, value: String| json!({"name": name, "value": text::clip(&value, 1024), "inline": true});
    let description = if notice.message.trim().is_empty() {
        "(no message)".to_string()
    } else {
        text::clip(&notice.message, 4096)
    };
    let mut body = json!({
        "embeds": [{
            "title": text::clip(&title, 256),
            "description": description,
            "color": colour(notice),
            "timestamp": notice.time.to_string(),
            "fields": [
                field("Product", i.product.clone()),
                field(&i.kind, i.lane.clone()),
                field("Check", i.check.clone()),
                field("Severity", notice.severity.as_str().to_string()),
                field("Verdict", notice.verdict.as_str().to_string()),
                field("State", notice.state.as_str().to_string()),
            ],
            "footer": {"text": text::clip(&format!("{}/{} occurrence {}", i.namespace, i.name, notice.occurrence), 2048)},
        }],
        "allowed_mentions": {"parse": []},
    });
    if let Some(u) = username {
        body["username"] = json!(text::clip(u, 80));
    }
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_waits_what_the_body_says_else_the_header() {
        let body =
            json!({"message": "You are being rate limited.", "code": 0, "retry_after": 1.5, "global": false});
        let e = classify(StatusCode::TOO_MANY_REQUESTS, Some(&body), Some(9.0)).unwrap_err();
        assert_eq!(
            e,
            SendError::Retryable {
                message: "the Discord webhook is rate limited".into(),
                retry_after: Some(Duration::from_millis(1500)),
            }
        );
        let e = classify(StatusCode::TOO_MANY_REQUESTS, None, Some(3.0)).unwrap_err();
        assert!(
            matches!(e, SendError::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(3))
        );
        let e = classify(StatusCode::TOO_MANY_REQUESTS, None, None).unwrap_err();
        assert!(
            matches!(e, SendError::Retryable { retry_after: Some(d), .. } if d == DEFAULT_RATE_LIMIT_WAIT)
        );
    }

    #[test]
    fn answers_are_sorted_into_sent_retryable_and_permanent() {
        let sent = classify(StatusCode::OK, Some(&json!({"id": "1234"})), None).unwrap();
        assert_eq!(sent.remote_id.as_deref(), Some("1234"));
        assert_eq!(
            classify(StatusCode::NO_CONTENT, None, None).unwrap().remote_id,
            None
        );
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None, None),
            Err(SendError::Retryable {
                retry_after: None,
                ..
            })
        ));
        assert!(matches!(
            classify(
                StatusCode::NOT_FOUND,
                Some(&json!({"code": 10015, "message": "Unknown Webhook"})),
                None
            ),
            Err(SendError::Permanent { .. })
        ));
    }

    #[test]
    fn a_malformed_webhook_url_is_refused_without_quoting_it() {
        for url in [
            "not a url sekrit-token",
            "https://discord.com/api/sekrit-token",
            "ftp://discord.com/api/webhooks/1/sekrit-token",
        ] {
            let config = DiscordConfig {
                webhook_url: launchplane_providers::SecretString::new(url),
                username: None,
            };
            let e = DiscordDestination::new(&config).err().unwrap();
            assert!(e.0.contains("discord.webhookUrl"), "{e}");
            assert!(!format!("{e} {e:?}").contains("sekrit"), "{e:?}");
        }
    }
}
