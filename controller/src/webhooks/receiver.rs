//! The receiver's routes:
//!
//! - `POST /github`: a GitHub delivery. In this order, each step refusing before the next
//!   costs anything: the source's rate limit (429), the body's size (413), the signature over
//!   the raw body (401; constant time), the delivery id against replays (409), the event
//!   (`ping` answered, others than `pull_request` ignored with 202), the payload's fields (400,
//!   naming the field), the Products that name the repository (none: 202 and a log line), and
//!   per Product the change `launchplane_core::pull_request::decide` makes (200).
//! - `POST /dokploy/{namespace}/{name}`: Dokploy reporting a deploy for ProviderConfig
//!   `namespace/name`, authenticated by the `x-launchplane-token` header against the config's
//!   `spec.deployNotifications.tokenSecretRef` (constant time): the config is asked to poll now.
//! - `GET /healthz`, `GET /metrics`.
//!
//! No response, log line or error carries a secret: the webhook secret and tokens are compared
//! and dropped.

use super::limit::RateLimiter;
use super::metrics::WebhookMetrics;
use super::payload;
use super::replay::{DeliveryLog, MAX_ID_LEN};
use super::signature;
use super::store::PreviewStore;
use crate::engine::secrets::{ReadPurpose, Secrets};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use launchplane_api::resources::{NOTIFICATION_TOKEN_HEADER, Preview};
use launchplane_core::pull_request::{Change, PullRequestFacts, decide, names_repository};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// The default largest body taken (GitHub caps payloads at 25 MB; a `pull_request` delivery
/// is tens of kilobytes).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Where a secret is: a key of a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKey {
    pub namespace: String,
    pub name: String,
    pub key: String,
}

impl std::fmt::Display for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key {} of Secret {}/{}", self.key, self.namespace, self.name)
    }
}

/// Everything the routes share.
pub struct Receiver {
    pub store: Arc<dyn PreviewStore>,
    pub secrets: Arc<dyn Secrets>,
    /// GitHub's webhook secret.
    pub webhook_secret: SecretKey,
    pub deliveries: DeliveryLog,
    pub limiter: RateLimiter,
    pub metrics: Arc<WebhookMetrics>,
    pub max_body: usize,
}

/// One Preview change a delivery made (or would have made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub namespace: String,
    pub product: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// `created`, `updated`, `deleted`, `ignored` or `failed`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer to a delivery.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub outcome: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Applied>,
}

fn answer(code: StatusCode, outcome: &str, message: impl Into<String>) -> (StatusCode, Answer) {
    (
        code,
        Answer {
            outcome: outcome.into(),
            message: message.into(),
            changes: Vec::new(),
        },
    )
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

/// The routes.
pub fn router(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route("/github", post(github))
        .route("/dokploy/{namespace}/{name}", post(dokploy))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .with_state(receiver)
}

async fn metrics(State(r): State<Arc<Receiver>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        r.metrics.encode(),
    )
}

fn source_of(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The body, within `max` bytes, or the refusal.
async fn body_within(request: Request, max: usize) -> Result<Bytes, (StatusCode, Answer)> {
    let too_large = || {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {max} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    axum::body::to_bytes(request.into_body(), max)
        .await
        .map_err(|_| too_large())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A secret's value, or why it cannot be had (never the value).
async fn read_secret(secrets: &dyn Secrets, at: &SecretKey) -> Result<Vec<u8>, String> {
    match secrets
        .secret(&at.namespace, &at.name, ReadPurpose::Webhook)
        .await
    {
        Ok(Some(data)) => match data.get(&at.key) {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            Some(_) => Err(format!("{at} is empty")),
            None => Err(format!("{at} does not exist (the Secret has no such key)")),
        },
        Ok(None) => Err(format!("{at}: the Secret does not exist")),
        Err(e) => Err(e.to_string()),
    }
}

async fn github(State(r): State<Arc<Receiver>>, request: Request) -> Response {
    let source = source_of(&request);
    let event = header_str(request.headers(), "x-github-event")
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect::<String>();
    let (code, answer) = r.github(source, request).await;
    let label = if event.is_empty() {
        "unknown"
    } else {
        event.as_str()
    };
    if answer.changes.is_empty() {
        r.metrics.delivery(label, &answer.outcome);
    } else {
        for change in &answer.changes {
            r.metrics.delivery(label, &change.outcome);
        }
    }
    (code, answer).into_response()
}

impl Receiver {
    /// Handle one GitHub delivery.
    pub async fn github(&self, source: IpAddr, request: Request) -> (StatusCode, Answer) {
        if let Err(wait) = self.limiter.take(source, Instant::now()) {
            return answer(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many deliveries from {source}; retry in {}s",
                    wait.as_secs().max(1)
                ),
            );
        }
        let headers = request.headers().clone();
        let body = match body_within(request, self.max_body).await {
            Ok(b) => b,
            Err(refused) => return refused,
        };
        let secret = match read_secret(self.secrets.as_ref(), &self.webhook_secret).await {
            Ok(s) => s,
            Err(why) => {
                tracing::error!(problem = %why, "cannot check deliveries: the webhook secret is unavailable");
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error",
                    "the receiver cannot read its webhook secret; see its log",
                );
            }
        };
        let signed = signature::verify(&secret, header_str(&headers, "x-hub-signature-256"), &body);
        drop(secret);
        if let Err(e) = signed {
            self.metrics.signatures_refused.inc();
            tracing::warn!(%source, problem = %e, "delivery refused: signature");
            return answer(StatusCode::UNAUTHORIZED, "refused_signature", e.to_string());
        }
        let delivery = match header_str(&headers, "x-github-delivery") {
            Some(id) if !id.is_empty() && id.len() <= MAX_ID_LEN => id.to_string(),
            _ => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("the X-GitHub-Delivery header is missing or longer than {MAX_ID_LEN} characters"),
                );
            }
        };
        if !self.deliveries.take(&delivery) {
            self.metrics.replays.inc();
            tracing::warn!(%source, %delivery, "delivery refused: replay of a delivery already taken");
            return answer(
                StatusCode::CONFLICT,
                "replay",
                format!("delivery {delivery} was already taken"),
            );
        }
        let event = header_str(&headers, "x-github-event").unwrap_or_default();
        let (code, answer) = match event {
            "ping" => answer(StatusCode::OK, "pong", "pong"),
            "pull_request" => self.pull_request(&delivery, &body).await,
            "" => answer(
                StatusCode::BAD_REQUEST,
                "invalid",
                "the X-GitHub-Event header is missing",
            ),
            other => answer(
                StatusCode::ACCEPTED,
                "ignored",
                format!(
                    "event {:?} does not change previews; only pull_request does",
                    other.chars().take(64).collect::<String>()
                ),
            ),
        };
        if code.is_server_error() {
            // Not taken after all: GitHub's redelivery of it is.
            self.deliveries.forget(&delivery);
        }
        (code, answer)
    }

    async fn pull_request(&self, delivery: &str, body: &[u8]) -> (StatusCode, Answer) {
        let event = match payload::parse(body) {
            Ok(e) => e,
            Err(e) => {
                tracing::info!(%delivery, problem = %e, "delivery refused: payload");
                return answer(StatusCode::BAD_REQUEST, "invalid", e.0);
            }
        };
        let facts = event.facts();
        match self.apply(&facts).await {
            Ok(changes) if changes.is_empty() => {
                tracing::info!(%delivery, repository = %facts.full_name, number = facts.number,
                    "no Product names this repository; delivery ignored");
                answer(
                    StatusCode::ACCEPTED,
                    "unknown_repository",
                    format!("no Product names repository {}/{}", facts.host, facts.full_name),
                )
            }
            Ok(changes) => {
                for c in &changes {
                    tracing::info!(%delivery, action = facts.action.as_str(), number = facts.number,
                        namespace = %c.namespace, product = %c.product, preview = c.preview.as_deref().unwrap_or("-"),
                        outcome = %c.outcome, reason = c.reason.as_deref().unwrap_or("-"),
                        message = c.message.as_deref().unwrap_or("-"), "pull_request delivery");
                }
                let failed = changes.iter().any(|c| c.outcome == "failed");
                let code = if failed {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                };
                let outcome = if failed { "error" } else { "applied" };
                (
                    code,
                    Answer {
                        outcome: outcome.into(),
                        message: format!("{} Product(s) name {}", changes.len(), facts.full_name),
                        changes,
                    },
                )
            }
            Err(e) => {
                tracing::warn!(%delivery, problem = %e, "cannot list the Products");
                answer(StatusCode::SERVICE_UNAVAILABLE, "error", e)
            }
        }
    }

    /// Decide and write, per Product naming the repository: the webhook's and the resync's
    /// shared path. An empty list: no Product names it.
    pub async fn apply(&self, facts: &PullRequestFacts) -> Result<Vec<Applied>, String> {
        apply(self.store.as_ref(), facts).await
    }
}

/// Decide and write the change `facts` makes to each Product naming its repository.
pub async fn apply(store: &dyn PreviewStore, facts: &PullRequestFacts) -> Result<Vec<Applied>, String> {
    let products = store.products().await.map_err(|e| e.message)?;
    let mut out = Vec::new();
    for product in products
        .iter()
        .filter(|p| names_repository(&p.spec.repository, &facts.host, &facts.full_name))
    {
        let namespace = product
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = product.metadata.name.clone().unwrap_or_default();
        let applied =
            |preview: Option<String>, outcome: &str, reason: Option<&str>, message: Option<String>| Applied {
                namespace: namespace.clone(),
                product: name.clone(),
                preview,
                outcome: outcome.into(),
                reason: reason.map(Into::into),
                message,
            };
        let previews = match store.previews(&namespace).await {
            Ok(p) => p,
            Err(e) => {
                out.push(applied(None, "failed", Some("ListFailed"), Some(e.message)));
                continue;
            }
        };
        let change = decide(facts, product, &previews);
        let written = match &change {
            Change::Create(p) => store.create(p).await.map(|()| p.metadata.name.clone()),
            Change::Update(p) => match judged(&previews, p.metadata.name.as_deref()) {
                Some(was) => store.replace(p, was).await.map(|()| p.metadata.name.clone()),
                None => Ok(p.metadata.name.clone()),
            },
            Change::Delete { name } => match judged(&previews, Some(name)) {
                Some(was) => store.delete(was).await.map(|()| Some(name.clone())),
                None => Ok(Some(name.clone())),
            },
            Change::Ignore(_) => Ok(None),
        };
        out.push(match (written, change) {
            (Ok(_), Change::Ignore(i)) => applied(None, "ignored", Some(i.reason), Some(i.message)),
            (Ok(preview), change) => applied(preview, change.outcome(), None, None),
            (Err(e), change) => {
                let reason = if e.conflict { "Conflict" } else { "WriteFailed" };
                let preview = match &change {
                    Change::Create(p) | Change::Update(p) => p.metadata.name.clone(),
                    Change::Delete { name } => Some(name.clone()),
                    Change::Ignore(_) => None,
                };
                applied(preview, "failed", Some(reason), Some(e.message))
            }
        });
    }
    Ok(out)
}

fn judged<'a>(previews: &'a [Preview], name: Option<&str>) -> Option<&'a Preview> {
    previews.iter().find(|p| p.metadata.name.as_deref() == name)
}

async fn dokploy(
    State(r): State<Arc<Receiver>>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Response {
    let source = source_of(&request);
    let (code, answer) = r.dokploy(source, &namespace, &name, request).await;
    r.metrics.delivery("dokploy", &answer.outcome);
    (code, answer).into_response()
}

impl Receiver {
    /// Handle Dokploy's notification for ProviderConfig `namespace/name`.
    pub async fn dokploy(
        &self,
        source: IpAddr,
        namespace: &str,
        name: &str,
        request: Request,
    ) -> (StatusCode, Answer) {
        if let Err(wait) = self.limiter.take(source, Instant::now()) {
            return answer(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many calls from {source}; retry in {}s",
                    wait.as_secs().max(1)
                ),
            );
        }
        let token = header_str(request.headers(), NOTIFICATION_TOKEN_HEADER).map(|t| t.as_bytes().to_vec());
        // The body is only a hint (which application, which status): bounded, then dropped.
        if let Err(refused) = body_within(request, self.max_body).await {
            return refused;
        }
        let unknown = || {
            answer(
                StatusCode::NOT_FOUND,
                "unknown_config",
                format!("ProviderConfig {namespace}/{name} does not exist or takes no deploy notifications"),
            )
        };
        let config = match self.store.provider_config(namespace, name).await {
            Ok(Some(c)) => c,
            Ok(None) => return unknown(),
            Err(e) => return answer(StatusCode::SERVICE_UNAVAILABLE, "error", e.message),
        };
        let Some(notifications) = config.spec.deploy_notifications.as_ref() else {
            return unknown();
        };
        let at = SecretKey {
            namespace: namespace.into(),
            name: notifications.token_secret_ref.name.clone(),
            key: notifications.token_secret_ref.key.clone(),
        };
        let expected = match read_secret(self.secrets.as_ref(), &at).await {
            Ok(s) => s,
            Err(why) => {
                tracing::error!(%namespace, config = %name, problem = %why, "cannot check a Dokploy notification: token unavailable");
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error",
                    "the receiver cannot read this config's notification token; see its log",
                );
            }
        };
        let matches = token.is_some_and(|t| bool::from(t.as_slice().ct_eq(expected.as_slice())));
        drop(expected);
        if !matches {
            self.metrics.signatures_refused.inc();
            tracing::warn!(%source, %namespace, config = %name, "Dokploy notification refused: wrong or missing token");
            return answer(
                StatusCode::UNAUTHORIZED,
                "refused_signature",
                format!("the {NOTIFICATION_TOKEN_HEADER} header is missing or wrong"),
            );
        }
        match self.store.request_poll(namespace, name, Timestamp::now()).await {
            Ok(()) => {
                tracing::info!(%namespace, config = %name, "Dokploy reported a deploy; poll requested");
                answer(
                    StatusCode::ACCEPTED,
                    "polled",
                    format!("ProviderConfig {namespace}/{name} polls now"),
                )
            }
            Err(e) => answer(StatusCode::SERVICE_UNAVAILABLE, "error", e.message),
        }
    }
}
