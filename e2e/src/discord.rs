//! A Discord webhook fake on loopback: executing a webhook (`POST
//! /api/webhooks/{webhook_id}/{webhook_token}`, the URL a channel's webhook is given) as Discord
//! serves it: 200 with the created message under `?wait=true`, else 204; 401/404 for a wrong
//! token or id; 400 for an empty or oversized message. Scripted faults: a status, a 429 rate
//! limit with `retry_after` in the body and the `X-RateLimit-*`/`Retry-After` headers, and a slow
//! answer (the message is posted, its answer held back). `e2e/tests/discord_contract.rs` checks
//! it against `shared/discord/webhooks-openapi-subset.json`. Written from that document; it
//! depends on no Launchplane crate.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// A scripted answer, taken by the next call.
#[derive(Clone, Debug, PartialEq)]
pub enum DiscordFault {
    /// Answer with this status (e.g. 502) and Discord's error object; nothing is posted.
    Status(u16),
    /// 429: `retry_after` seconds in the body; `header` also sends `Retry-After` (whole
    /// seconds, rounded up) and `X-RateLimit-Reset-After`.
    RateLimited {
        retry_after: f64,
        global: bool,
        header: bool,
    },
    /// 429 with only the headers (`Retry-After`, `X-RateLimit-Reset-After`), no JSON body.
    RateLimitedHeaderOnly { retry_after: f64 },
    /// Post the message, then hold the answer back this long.
    SlowAnswer(Duration),
}

/// A message the fake posted.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscordMessage {
    pub id: String,
    pub username: Option<String>,
    pub content: Option<String>,
    pub embeds: Vec<Value>,
    /// The request body as sent.
    pub body: Value,
}

/// One call the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscordCall {
    pub path: String,
    pub query: String,
    pub status: u16,
}

#[derive(Default)]
struct FakeState {
    messages: Vec<DiscordMessage>,
    faults: VecDeque<DiscordFault>,
    calls: Vec<DiscordCall>,
    next_id: u64,
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<FakeState>>,
    id: String,
    token: String,
}

/// The fake. Dropping it stops the server.
pub struct DiscordFake {
    state: Arc<Mutex<FakeState>>,
    addr: SocketAddr,
    id: String,
    token: String,
    task: JoinHandle<()>,
}

impl Drop for DiscordFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DiscordFake {
    /// Start on a loopback port with one webhook, `id` (a snowflake) and `token`.
    pub async fn start(id: &str, token: &str) -> std::io::Result<DiscordFake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(FakeState {
            next_id: 1_300_000_000_000_000_000,
            ..FakeState::default()
        }));
        let shared = Shared {
            state: state.clone(),
            id: id.into(),
            token: token.into(),
        };
        let app = Router::new()
            .route("/api/webhooks/{webhook_id}/{webhook_token}", post(execute))
            .route("/api/v10/webhooks/{webhook_id}/{webhook_token}", post(execute))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(DiscordFake {
            state,
            addr,
            id: id.into(),
            token: token.into(),
            task,
        })
    }

    /// The webhook's URL, as Discord shows it to the channel's owner.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/api/webhooks/{}/{}", self.addr, self.id, self.token)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn fault(&self, fault: DiscordFault) {
        self.lock().faults.push_back(fault);
    }

    /// The messages posted, in order.
    pub fn messages(&self) -> Vec<DiscordMessage> {
        self.lock().messages.clone()
    }

    pub fn calls(&self) -> Vec<DiscordCall> {
        self.lock().calls.clone()
    }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn rate_limit_headers(retry_after: f64) -> HeaderMap {
    let mut h = HeaderMap::new();
    let pairs = [
        ("x-ratelimit-limit", "5".to_string()),
        ("x-ratelimit-remaining", "0".to_string()),
        ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
        ("x-ratelimit-reset", format!("{:.3}", now_epoch() + retry_after)),
        ("x-ratelimit-bucket", "fake-bucket".to_string()),
        ("retry-after", format!("{}", retry_after.ceil() as u64)),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    h
}

/// Why Discord would refuse this body (the limits of `IncomingWebhookRequestPartial` and
/// `RichEmbed`), if it would.
fn invalid(body: &Value) -> Option<&'static str> {
    let content = body.get("content").and_then(Value::as_str).unwrap_or_default();
    let embeds = body.get("embeds").and_then(Value::as_array);
    if content.is_empty() && embeds.is_none_or(|e| e.is_empty()) {
        return Some("Cannot send an empty message");
    }
    if content.chars().count() > 2000 || embeds.is_some_and(|e| e.len() > 10) {
        return Some("Invalid Form Body");
    }
    let too_long = |v: &Value, key: &str, max: usize| {
        v.get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| s.chars().count() > max)
    };
    for e in embeds.into_iter().flatten() {
        if too_long(e, "title", 256) || too_long(e, "description", 4096) {
            return Some("Invalid Form Body");
        }
        let fields = e.get("fields").and_then(Value::as_array);
        if fields.is_some_and(|f| f.len() > 25) {
            return Some("Invalid Form Body");
        }
        for f in fields.into_iter().flatten() {
            let named = f
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            let valued = f
                .get("value")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !named || !valued || too_long(f, "name", 256) || too_long(f, "value", 1024) {
                return Some("Invalid Form Body");
            }
        }
    }
    if body
        .get("username")
        .and_then(Value::as_str)
        .is_some_and(|u| u.chars().count() > 80)
    {
        return Some("Invalid Form Body");
    }
    None
}

async fn execute(
    State(shared): State<Shared>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    body: Option<axum::Json<Value>>,
) -> Response {
    let (response, hold) = answer(&shared, &id, &token, &query, body.map(|b| b.0));
    {
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.calls.push(DiscordCall {
            // The token is not recorded: a test can print calls freely.
            path: format!("/api/webhooks/{id}/<token>"),
            query: query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
            status: response.status().as_u16(),
        });
    }
    if let Some(d) = hold {
        tokio::time::sleep(d).await;
    }
    response
}

fn answer(
    shared: &Shared,
    id: &str,
    token: &str,
    query: &BTreeMap<String, String>,
    body: Option<Value>,
) -> (Response, Option<Duration>) {
    if id != shared.id {
        return (error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook"), None);
    }
    if token != shared.token {
        return (
            error(StatusCode::UNAUTHORIZED, 50027, "Invalid Webhook Token"),
            None,
        );
    }
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let mut hold = None;
    match state.faults.pop_front() {
        Some(DiscordFault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (error(status, 0, "Internal Server Error"), None);
        }
        Some(DiscordFault::RateLimited {
            retry_after,
            global,
            header,
        }) => {
            let headers = if header {
                rate_limit_headers(retry_after)
            } else {
                HeaderMap::new()
            };
            let body = json!({"message": "You are being rate limited.", "code": 0,
                "retry_after": retry_after, "global": global});
            return (
                (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response(),
                None,
            );
        }
        Some(DiscordFault::RateLimitedHeaderOnly { retry_after }) => {
            return (
                (StatusCode::TOO_MANY_REQUESTS, rate_limit_headers(retry_after)).into_response(),
                None,
            );
        }
        Some(DiscordFault::SlowAnswer(d)) => hold = Some(d),
        None => {}
    }
    let Some(body) = body else {
        return (
            error(
                StatusCode::BAD_REQUEST,
                50109,
                "The request body contains invalid JSON.",
            ),
            None,
        );
    };
    if let Some(why) = invalid(&body) {
        let code = if why.starts_with("Cannot") { 50006 } else { 50035 };
        return (error(StatusCode::BAD_REQUEST, code, why), None);
    }
    state.next_id += 1;
    let message = DiscordMessage {
        id: state.next_id.to_string(),
        username: body.get("username").and_then(Value::as_str).map(str::to_string),
        content: body.get("content").and_then(Value::as_str).map(str::to_string),
        embeds: body
            .get("embeds")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        body,
    };
    state.messages.push(message.clone());
    let wait = query
        .get("wait")
        .is_some_and(|w| w == "true" || w == "True" || w == "1");
    if !wait {
        return (StatusCode::NO_CONTENT.into_response(), hold);
    }
    (
        axum::Json(message_response(&shared.id, &message)).into_response(),
        hold,
    )
}

/// A `MessageResponse` with every property the description requires.
pub fn message_response(webhook_id: &str, m: &DiscordMessage) -> Value {
    let embeds: Vec<Value> = m
        .embeds
        .iter()
        .map(|e| {
            let mut out = json!({"type": "rich"});
            for key in ["title", "description", "color", "timestamp", "url"] {
                if let Some(v) = e.get(key).filter(|v| !v.is_null()) {
                    out[key] = v.clone();
                }
            }
            if let Some(fields) = e.get("fields").and_then(Value::as_array) {
                out["fields"] = Value::Array(
                    fields
                        .iter()
                        .map(|f| {
                            json!({"name": f.get("name").cloned().unwrap_or_default(),
                                "value": f.get("value").cloned().unwrap_or_default(),
                                "inline": f.get("inline").and_then(Value::as_bool).unwrap_or(false)})
                        })
                        .collect(),
                );
            }
            if let Some(text) = e.pointer("/footer/text").and_then(Value::as_str) {
                out["footer"] = json!({"text": text});
            }
            out
        })
        .collect();
    json!({
        "type": 0, "id": m.id, "channel_id": "1100000000000000001",
        "content": m.content.clone().unwrap_or_default(),
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": embeds,
        "timestamp": "2026-01-15T08:00:00.000000+00:00", "edited_timestamp": null,
        "flags": 0, "components": [], "pinned": false, "mention_everyone": false, "tts": false,
        "webhook_id": webhook_id,
        "author": {"id": webhook_id, "username": m.username.clone().unwrap_or_else(|| "Launchplane".into()),
            "avatar": null, "discriminator": "0000", "public_flags": 0, "flags": 0, "bot": true,
            "global_name": null, "primary_guild": null}
    })
}
