//! `DokployClient`: the [`crate::Provider`] for Dokploy, on reqwest.
//!
//! Transport rules (from `shared/dokploy/API-NOTES.md` §1–3, §14):
//! - URL `{base}/api/{router}.{procedure}`; queries are GET with query parameters, mutations POST
//!   with a JSON body (see [`crate::ops`]). Header `x-api-key`, marked sensitive so no HTTP-level
//!   debug log prints it.
//! - Success is any 2xx; a mutation's body may be empty (`application.deploy`).
//! - Redirects are **not followed**: reqwest strips `Authorization` on cross-host redirects but not
//!   a custom `x-api-key`, so following one could hand the key to another host.
//! - Every attempt first takes a token from the per-key bucket ([`crate::ratelimit`]).
//! - GET routes are retried per [`RetryPolicy`]; POST routes are sent exactly once.
//! - With a [`Deadline`] set, no call (retries included) is sent past it, and a call still
//!   waiting when it arrives is abandoned ([`ProviderError::DeadlinePassed`]).
//! - Error classification is in [`DokployClient::classify`]; see [`crate::errors`] for the table.
//!
//! Crypto: reqwest is built with `rustls-no-provider`, and it builds its rustls configuration when
//! the `Client` is built — for `http://` base URLs too — panicking if no process-wide provider is
//! installed. [`DokployClient::new`] therefore calls [`install_crypto_provider`] itself; `main`
//! and tests may call it earlier, it is idempotent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::deadline::Deadline;
use crate::env_merge::{self, EnvMergeError};
use crate::errors::{ProviderError, Result};
use crate::model::{
    Deployment, EnvChange, EnvironmentSummary, OrgSnapshot, QueuedDeploy, RegistryCredentials,
    TargetCategory, TargetDetail,
};
use crate::observer::{CallObserver, NoopObserver};
use crate::ops::{Method, Op, Request};
use crate::ratelimit::{KeyShared, RateLimit, shared_for_key};
use crate::redact;
use crate::retry::RetryPolicy;
use crate::secret::{ApiKey, SecretValue};
use crate::wire;

/// Install ring as the process-wide rustls crypto provider. Idempotent: "already installed"
/// (by us or by kube, which uses the same provider) is not an error.
pub fn install_crypto_provider() {
    // `install_default` fails only when a provider is already installed, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Everything a [`DokployClient`] needs. Build with [`DokployConfig::new`] and adjust fields.
#[derive(Clone)]
pub struct DokployConfig {
    /// Dokploy base URL, e.g. `https://dokploy.example.com` (the API is under `/api/`).
    pub base_url: String,
    pub api_key: ApiKey,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (connect, send, headers and body).
    pub request_timeout: Duration,
    /// Retries for GET routes.
    pub retry: RetryPolicy,
    /// Shared by every client of the same key in this process.
    pub rate_limit: RateLimit,
    /// A gateway 401 after at least this many successful calls with this key (in this process) is
    /// reported as `Throttled`, not `Unauthorized`. 0 makes every gateway 401 `Throttled`.
    pub throttle_after_successes: u64,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    pub observer: Arc<dyn CallObserver>,
    /// Past this no call is sent and calls in flight are abandoned (standalone mode's round
    /// deadline). `None`: only the per-request timeout and the retries bound a call.
    pub deadline: Option<Deadline>,
}

impl DokployConfig {
    /// Defaults: connect 5 s, request 30 s, 3 attempts for reads, 5 calls/s burst 10,
    /// throttle after 1 success, 32 MiB responses, no-op observer, no deadline.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<ApiKey>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::default(),
            throttle_after_successes: 1,
            max_response_bytes: 32 * 1024 * 1024,
            observer: Arc::new(NoopObserver),
            deadline: None,
        }
    }
}

impl fmt::Debug for DokployConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DokployConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("throttle_after_successes", &self.throttle_after_successes)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// The Dokploy HTTP client. Cheap to clone (shares the connection pool and the key's bucket).
#[derive(Clone)]
pub struct DokployClient {
    http: reqwest::Client,
    api_base: Url,
    api_key: ApiKey,
    key_header: HeaderValue,
    retry: RetryPolicy,
    shared: Arc<KeyShared>,
    throttle_after: u64,
    request_timeout: Duration,
    max_response_bytes: usize,
    observer: Arc<dyn CallObserver>,
    deadline: Option<Deadline>,
}

impl fmt::Debug for DokployClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DokployClient")
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

fn invalid(route: &'static str, reason: impl Into<String>) -> ProviderError {
    ProviderError::InvalidInput {
        route,
        reason: reason.into(),
    }
}

fn require(route: &'static str, what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(invalid(route, format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

fn malformed(route: &'static str, reason: impl Into<String>) -> ProviderError {
    ProviderError::Malformed {
        route,
        reason: reason.into(),
    }
}

/// Parse a 2xx body. serde's messages can quote input values, so only the category and position
/// are reported.
fn parse<T: DeserializeOwned>(route: &'static str, body: &[u8]) -> Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed(route, "empty body"));
    }
    serde_json::from_slice(body).map_err(|e| {
        malformed(
            route,
            format!(
                "unexpected JSON ({:?}) at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

/// Parse a JSON array, converting each element; an element that lacks its id fails the whole
/// answer (a silently dropped service would look like a deleted target).
fn parse_list<W: DeserializeOwned, T>(
    route: &'static str,
    body: &[u8],
    convert: fn(W) -> Option<T>,
) -> Result<Vec<T>> {
    let items: Vec<W> = parse(route, body)?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, w)| convert(w).ok_or_else(|| malformed(route, format!("entry {i} lacks its id"))))
        .collect()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl DokployClient {
    /// Build a client. Fails with `InvalidInput` on a bad base URL, API key or limits.
    pub fn new(config: DokployConfig) -> Result<Self> {
        const ROUTE: &str = "client.new";
        install_crypto_provider();
        let mut base =
            Url::parse(config.base_url.trim()).map_err(|_| invalid(ROUTE, "base URL does not parse"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid(ROUTE, "base URL must be http:// or https://"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(ROUTE, "base URL must not carry credentials"));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let api_base = base
            .join("api/")
            .map_err(|_| invalid(ROUTE, "base URL cannot be joined with api/"))?;
        if config.api_key.is_empty() {
            return Err(invalid(ROUTE, "API key is empty"));
        }
        let mut key_header = HeaderValue::from_str(config.api_key.expose())
            .map_err(|_| invalid(ROUTE, "API key contains characters not allowed in a header"))?;
        key_header.set_sensitive(true);
        if !config.rate_limit.is_valid() {
            return Err(invalid(
                ROUTE,
                "rate limit must have a positive finite rate and a burst of at least 1",
            ));
        }
        if config.request_timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(invalid(ROUTE, "timeouts must be positive"));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("launchplane/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&api_base) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|_| invalid(ROUTE, "HTTP client could not be built"))?;
        Ok(Self {
            http,
            api_base,
            shared: shared_for_key(&config.api_key, config.rate_limit),
            api_key: config.api_key,
            key_header,
            retry: config.retry,
            throttle_after: config.throttle_after_successes,
            request_timeout: config.request_timeout,
            max_response_bytes: config.max_response_bytes,
            observer: config.observer,
            deadline: config.deadline,
        })
    }

    /// The API base (`…/api/`).
    pub fn api_base(&self) -> &str {
        self.api_base.as_str()
    }

    /// Send `op` (with retries if it is a read) and return the raw 2xx body.
    async fn call(&self, op: &Op) -> Result<Vec<u8>> {
        self.call_with(op, None).await
    }

    /// [`Self::call`], waiting up to `timeout` (instead of the configured request timeout) for
    /// the answer. The deadline, if any, still applies.
    async fn call_with(&self, op: &Op, timeout: Option<Duration>) -> Result<Vec<u8>> {
        let mut req = op.build();
        req.timeout = timeout;
        let secrets = op.secret_values();
        let span = tracing::debug_span!("dokploy", route = req.route, method = req.method.as_str());
        let deadline = self.deadline.as_ref().and_then(Deadline::get);
        let work = async {
            if deadline.is_some_and(|at| tokio::time::Instant::now() >= at) {
                tracing::info!("dokploy call not sent: the deadline has passed");
                return Err(ProviderError::DeadlinePassed {
                    route: req.route,
                    reason: "not sent: the deadline had passed".into(),
                });
            }
            let call = async {
                match req.method {
                    Method::Get => {
                        self.retry
                            .run(req.route, |attempt| self.attempt(&req, &secrets, attempt))
                            .await
                    }
                    Method::Post => self.attempt(&req, &secrets, 1).await,
                }
            };
            let Some(at) = deadline else {
                return call.await;
            };
            tokio::time::timeout_at(at, call).await.unwrap_or_else(|_| {
                tracing::info!("dokploy call abandoned: no answer before the deadline");
                Err(ProviderError::DeadlinePassed {
                    route: req.route,
                    reason: "no answer before the deadline".into(),
                })
            })
        };
        work.instrument(span).await
    }

    async fn attempt(&self, req: &Request, secrets: &[String], attempt: u32) -> Result<Vec<u8>> {
        self.shared.bucket.acquire().await;
        let started = Instant::now();
        let result = self.send(req, secrets).await;
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.observer.observe(req.route, outcome, elapsed);
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(_) => tracing::debug!(attempt, outcome, elapsed_ms, "dokploy call succeeded"),
            // The error's Display is already redacted.
            Err(e) => tracing::info!(attempt, outcome, elapsed_ms, error = %e, "dokploy call failed"),
        }
        result
    }

    async fn send(&self, req: &Request, secrets: &[String]) -> Result<Vec<u8>> {
        let route = req.route;
        let mut url = self
            .api_base
            .join(route)
            .map_err(|_| invalid(route, "route does not form a URL"))?;
        if !req.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &req.query {
                pairs.append_pair(k, v);
            }
        }
        let mut builder = match (req.method, &req.body) {
            (Method::Get, _) => self.http.get(url),
            (Method::Post, body) => {
                let bytes = serde_json::to_vec(body.as_ref().unwrap_or(&serde_json::Value::Null))
                    .map_err(|_| invalid(route, "request body does not serialise"))?;
                self.http
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes)
            }
        };
        let timeout = req.timeout.unwrap_or(self.request_timeout);
        if let Some(t) = req.timeout {
            builder = builder.timeout(t);
        }
        let mut resp = builder
            .header("x-api-key", self.key_header.clone())
            .send()
            .await
            .map_err(|e| self.transport_error(route, &e, timeout))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_response_bytes {
                        return Err(malformed(
                            route,
                            format!("response larger than {} bytes", self.max_response_bytes),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(route, &e, timeout)),
            }
        }
        if (200..300).contains(&status) {
            self.shared.successes.fetch_add(1, Ordering::Relaxed);
            return Ok(body);
        }
        let mut scrub: Vec<&str> = secrets.iter().map(String::as_str).collect();
        scrub.push(self.api_key.expose());
        let reason = redact::summarize_body(&body, &scrub);
        Err(self.classify(route, status, &body, reason))
    }

    fn transport_error(&self, route: &'static str, e: &reqwest::Error, timeout: Duration) -> ProviderError {
        let what = if e.is_timeout() {
            format!("timed out (request timeout {timeout:?})")
        } else if e.is_connect() {
            "connection failed".to_owned()
        } else if e.is_body() || e.is_decode() {
            "response body interrupted".to_owned()
        } else {
            "request failed".to_owned()
        };
        // The innermost cause ("Connection refused (os error 111)") helps operators. reqwest's own
        // Display names the URL, so it is used only through its sources, which carry no URL and
        // no header; they are scrubbed of the key anyway.
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(next) = cause.and_then(std::error::Error::source) {
            cause = Some(next);
        }
        let reason = match cause.map(|c| redact::scrub(&c.to_string(), &[self.api_key.expose()])) {
            Some(c) if !c.is_empty() => format!("{what}: {}", redact::truncate(&c, 120)),
            _ => what,
        };
        ProviderError::Unreachable { route, reason }
    }

    /// Map a non-2xx status to a typed error. `reason` is already redacted.
    fn classify(&self, route: &'static str, status: u16, body: &[u8], reason: String) -> ProviderError {
        match status {
            401 => {
                // The gateway answers a bad, disabled or rate-limited key with exactly
                // `{"message":"Unauthorized"}`; a procedure's own UNAUTHORIZED (no access to this
                // object) comes in the tRPC envelope with a `code`.
                let envelope = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .is_some_and(|v| v.get("code").is_some_and(serde_json::Value::is_string));
                let successes = self.shared.successes.load(Ordering::Relaxed);
                if envelope {
                    ProviderError::Unauthorized {
                        route,
                        reason: format!("permission denied: {reason}"),
                    }
                } else if successes >= self.throttle_after {
                    ProviderError::Throttled {
                        route,
                        reason: format!(
                            "401 after {successes} successful calls with this key; Dokploy answers a \
                             rate-limited key with 401 ({reason})"
                        ),
                    }
                } else {
                    ProviderError::Unauthorized {
                        route,
                        reason: format!("API key rejected ({reason})"),
                    }
                }
            }
            429 => ProviderError::Throttled { route, reason },
            404 => ProviderError::NotFound { route, reason },
            409 => ProviderError::Conflict { route, reason },
            400..=499 => ProviderError::BadRequest {
                route,
                status,
                reason,
            },
            500..=599 => ProviderError::Server {
                route,
                status,
                reason,
            },
            _ => malformed(
                route,
                format!(
                    "unexpected HTTP status {status} (redirects are not followed, so the key stays on this host)"
                ),
            ),
        }
    }

    /// `settings.getDokployVersion`, e.g. `"v0.30.2"`.
    pub async fn version(&self) -> Result<String> {
        let op = Op::DokployVersion;
        let body = self.call(&op).await?;
        parse::<String>(op.route(), &body)
    }

    /// The three org-wide reads, concurrently (each still takes its own rate-limit token).
    pub async fn observe_org(&self) -> Result<OrgSnapshot> {
        let (services, domains, deployments) = futures::try_join!(
            async {
                let body = self.call(&Op::OverviewServices).await?;
                parse_list("overview.services", &body, wire::WireService::into_model)
            },
            async {
                let body = self.call(&Op::OverviewDomains).await?;
                parse_list("overview.domains", &body, wire::WireOverviewDomain::into_model)
            },
            async {
                let body = self.call(&Op::DeploymentAllCentralized).await?;
                parse_list(
                    "deployment.allCentralized",
                    &body,
                    wire::WireDeployment::into_summary,
                )
            },
        )?;
        Ok(OrgSnapshot {
            services,
            domains,
            deployments,
        })
    }

    fn one_op(category: TargetCategory, id: &str) -> Op {
        match category {
            TargetCategory::Application => Op::ApplicationOne {
                application_id: id.to_owned(),
            },
            TargetCategory::Compose => Op::ComposeOne {
                compose_id: id.to_owned(),
            },
        }
    }

    /// `application.one` / `compose.one`.
    pub async fn target_detail(&self, category: TargetCategory, id: &str) -> Result<TargetDetail> {
        let op = Self::one_op(category, id);
        require(op.route(), "target id", id)?;
        let body = self.call(&op).await?;
        let wire: wire::WireTarget = parse(op.route(), &body)?;
        Ok(wire.into_model(category, id))
    }

    /// `environment.byProjectId`: every environment of the project, empty ones included
    /// (`overview.services` only shows environments that hold a service).
    pub async fn project_environments(&self, project_id: &str) -> Result<Vec<EnvironmentSummary>> {
        let op = Op::EnvironmentByProjectId {
            project_id: project_id.to_owned(),
        };
        require(op.route(), "project id", project_id)?;
        let body = self.call(&op).await?;
        parse_list(op.route(), &body, wire::WireProjectEnvironment::into_model)
    }

    /// Read the env, set/remove the given keys, write back only if something changed.
    ///
    /// Dokploy has no ETag or `updatedAt`, so this read-modify-write is last-writer-wins against
    /// a concurrent dashboard edit; the window is one round trip.
    pub async fn merge_env(
        &self,
        category: TargetCategory,
        id: &str,
        set: BTreeMap<String, SecretValue>,
        remove: BTreeSet<String>,
    ) -> Result<EnvChange> {
        let read = Self::one_op(category, id);
        let write_route = match category {
            TargetCategory::Application => "application.update",
            TargetCategory::Compose => "compose.update",
        };
        require(read.route(), "target id", id)?;
        let merge_err = |e: EnvMergeError| invalid(write_route, e.to_string());
        // Refuse bad keys and unrepresentable values before any call.
        env_merge::merge("", &set, &remove).map_err(merge_err)?;
        let body = self.call(&read).await?;
        let current: wire::WireEnvOnly = parse(read.route(), &body)?;
        let current = current.env.as_ref().map(|s| s.expose()).unwrap_or("");
        let outcome = env_merge::merge(current, &set, &remove).map_err(merge_err)?;
        let mut change = EnvChange {
            written: false,
            added: outcome.added.clone(),
            updated: outcome.updated.clone(),
            removed: outcome.removed.clone(),
        };
        if !outcome.changed() {
            return Ok(change);
        }
        let write = match category {
            TargetCategory::Application => Op::ApplicationUpdateEnv {
                application_id: id.to_owned(),
                env: outcome.env,
            },
            TargetCategory::Compose => Op::ComposeUpdateEnv {
                compose_id: id.to_owned(),
                env: outcome.env,
            },
        };
        self.call(&write).await?;
        change.written = true;
        Ok(change)
    }

    /// `application.update {applicationId, description}` / `compose.update {composeId,
    /// description}`: replace the target's description (only that column changes). Sent once,
    /// never retried.
    pub async fn set_description(&self, category: TargetCategory, id: &str, description: &str) -> Result<()> {
        let op = match category {
            TargetCategory::Application => Op::ApplicationUpdateDescription {
                application_id: id.to_owned(),
                description: description.to_owned(),
            },
            TargetCategory::Compose => Op::ComposeUpdateDescription {
                compose_id: id.to_owned(),
                description: description.to_owned(),
            },
        };
        require(op.route(), "target id", id)?;
        self.call(&op).await.map(drop)
    }

    /// `application.saveDockerProvider` with all five keys (null credentials for public images).
    /// Side effect in Dokploy: `sourceType` becomes `docker`, status `idle`; deploy to apply.
    pub async fn set_image(
        &self,
        application_id: &str,
        image: &str,
        registry: Option<RegistryCredentials>,
    ) -> Result<()> {
        const ROUTE: &str = "application.saveDockerProvider";
        require(ROUTE, "application id", application_id)?;
        require(ROUTE, "image", image)?;
        let op = Op::ApplicationSaveDockerProvider {
            application_id: application_id.to_owned(),
            docker_image: image.to_owned(),
            registry,
        };
        self.call(&op).await.map(drop)
    }

    /// `compose.update {composeId, composeFile, sourceType:"raw"}`.
    pub async fn update_compose_file(&self, compose_id: &str, compose_file: &str) -> Result<()> {
        require("compose.update", "compose id", compose_id)?;
        let op = Op::ComposeUpdateFile {
            compose_id: compose_id.to_owned(),
            compose_file: compose_file.into(),
        };
        self.call(&op).await.map(drop)
    }

    /// `application.deploy` / `compose.deploy`. Sent once, never retried: on `Unreachable` the
    /// deploy may or may not have been queued — look for `title` with [`Self::find_deployment`].
    pub async fn deploy(
        &self,
        category: TargetCategory,
        id: &str,
        title: &str,
        description: &str,
    ) -> Result<()> {
        let op = match category {
            TargetCategory::Application => Op::ApplicationDeploy {
                application_id: id.to_owned(),
                title: title.to_owned(),
                description: description.to_owned(),
            },
            TargetCategory::Compose => Op::ComposeDeploy {
                compose_id: id.to_owned(),
                title: title.to_owned(),
                description: description.to_owned(),
            },
        };
        require(op.route(), "target id", id)?;
        // Self-hosted answers 200 with an empty body (cloud: `true`, compose: an object): any 2xx
        // is success, the body is not read.
        self.call(&op).await.map(drop)
    }

    /// The newest deployment of the target whose title is exactly `title`.
    pub async fn find_deployment(
        &self,
        category: TargetCategory,
        id: &str,
        title: &str,
    ) -> Result<Option<Deployment>> {
        let op = match category {
            TargetCategory::Application => Op::DeploymentAll {
                application_id: id.to_owned(),
            },
            TargetCategory::Compose => Op::DeploymentAllByCompose {
                compose_id: id.to_owned(),
            },
        };
        require(op.route(), "target id", id)?;
        let body = self.call(&op).await?;
        let mut all = parse_list(op.route(), &body, wire::WireDeployment::into_model)?;
        // Dokploy sorts newest first; sort again (stable, by ISO timestamp) rather than rely on it.
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(all.into_iter().find(|d| d.title.as_deref() == Some(title)))
    }

    /// Every job in Dokploy's deploy queue, waiting or running (`deployment.queueList`). On a
    /// self-hosted server the list spans the whole instance; filter by service id.
    pub async fn deploy_queue(&self) -> Result<Vec<QueuedDeploy>> {
        let op = Op::DeploymentQueueList;
        let body = self.call(&op).await?;
        parse_list(op.route(), &body, wire::WireQueueJob::into_model)
    }

    /// `application.create` with `sourceType: "docker"`; returns the new `applicationId`.
    pub async fn create_application(
        &self,
        environment_id: &str,
        name: &str,
        app_name: Option<&str>,
        description: Option<&str>,
    ) -> Result<String> {
        let op = Op::ApplicationCreate {
            environment_id: environment_id.to_owned(),
            name: name.to_owned(),
            app_name: app_name.map(str::to_owned),
            description: description.map(str::to_owned),
        };
        require(op.route(), "environment id", environment_id)?;
        require(op.route(), "name", name)?;
        if let Some(a) = app_name
            && (a.is_empty()
                || a.len() > 63
                || !a
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c)))
        {
            return Err(invalid(
                op.route(),
                "appName must be 1-63 characters of [a-zA-Z0-9._-]",
            ));
        }
        let body = self.call(&op).await?;
        let created: wire::WireCreatedApplication = parse(op.route(), &body)?;
        created
            .application_id
            .ok_or_else(|| malformed(op.route(), "no applicationId in the answer"))
    }

    /// `application.delete`; an application that is already gone (404) is success.
    pub async fn delete_application(&self, application_id: &str) -> Result<()> {
        let op = Op::ApplicationDelete {
            application_id: application_id.to_owned(),
        };
        require(op.route(), "application id", application_id)?;
        match self.call(&op).await {
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `domain.create` for an application; returns the new `domainId`.
    pub async fn create_domain(
        &self,
        application_id: &str,
        host: &str,
        port: u16,
        https: bool,
        path: Option<&str>,
    ) -> Result<String> {
        let op = Op::DomainCreate {
            application_id: application_id.to_owned(),
            host: host.to_owned(),
            port,
            https,
            path: path.map(str::to_owned),
        };
        require(op.route(), "application id", application_id)?;
        require(op.route(), "host", host)?;
        if port == 0 {
            return Err(invalid(op.route(), "port must be 1-65535"));
        }
        if path.is_some_and(str::is_empty) {
            return Err(invalid(op.route(), "path must not be empty"));
        }
        let body = self.call(&op).await?;
        let created: wire::WireCreatedDomain = parse(op.route(), &body)?;
        created
            .domain_id
            .ok_or_else(|| malformed(op.route(), "no domainId in the answer"))
    }

    /// `domain.delete`; a domain that is already gone (404) is success.
    pub async fn delete_domain(&self, domain_id: &str) -> Result<()> {
        let op = Op::DomainDelete {
            domain_id: domain_id.to_owned(),
        };
        require(op.route(), "domain id", domain_id)?;
        match self.call(&op).await {
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

mod compose;
mod containers;
mod notifications;
mod schedules;

#[cfg(test)]
mod tests;
