//! The resync: on an interval, list the open pull requests of every repository a Product with
//! previews names (GitHub REST, `GET /repos/{owner}/{repo}/pulls`), and put each labelled one
//! through the same decision as a delivery, as action `resync`: it creates what a missed
//! delivery should have created and moves a head a missed `synchronize` should have moved.
//!
//! It never deletes: not on an error, a rate limit, an empty or a sharply shrunk listing, nor
//! on a whole one (the Argo CD pull-request generator deleted live previews on each of those:
//! argo-cd#3473, #11464, #18480). Deletion is webhook-only (`closed`, `unlabeled`). A listing
//! with a failing page counts as failed as a whole; a rate limit stops the pass and no call is
//! made before the time GitHub named.

use super::metrics::WebhookMetrics;
use super::receiver::{Applied, SecretKey, apply};
use super::store::PreviewStore;
use crate::engine::secrets::{ReadPurpose, Secrets};
use crate::github::client::{DEFAULT_API_URL, GitHubClient, GitHubError, PullRequestSimple};
use crate::k8s::context::Shutdown;
use jiff::Timestamp;
use launchplane_core::pull_request::{Action, PullRequestFacts};
use launchplane_providers::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The resync's flags.
#[derive(Clone, Debug, clap::Args)]
pub struct ResyncArgs {
    /// Seconds between resyncs of the open pull requests (GitHub REST); absent: no resync.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub resync_interval: Option<u64>,
    /// GitHub's REST API (GitHub Enterprise: `https://<host>/api/v3`).
    #[arg(long, default_value = DEFAULT_API_URL)]
    pub github_api_url: String,
    /// The Secret holding the GitHub token the resync lists with (read access to pull requests).
    #[arg(long, default_value = "launchplane-webhooks")]
    pub github_token_secret: String,
    /// The key of the token in `--github-token-secret`.
    #[arg(long, default_value = "github-token")]
    pub github_token_key: String,
}

/// A listing this much smaller than the last whole one is called out (a quarter of it, and at
/// least this many fewer).
const SHRUNK_BY_AT_LEAST: usize = 2;

/// What the resync remembers between passes.
#[derive(Debug, Default)]
pub struct ResyncState {
    /// No call before this time (a rate limit).
    pub paused_until: Option<Timestamp>,
    /// Per repository (`host/owner/name`), how many labelled open pull requests the last
    /// listing held.
    pub last_counts: BTreeMap<String, usize>,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ResyncReport {
    pub listed: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub rate_limited: Option<Timestamp>,
    pub shrunk: Vec<String>,
    pub changes: Vec<Applied>,
}

/// The repositories (`host`, `owner/name`) of Products with previews enabled.
fn repositories(products: &[launchplane_api::resources::Product]) -> BTreeSet<(String, String)> {
    products
        .iter()
        .filter(|p| p.spec.preview.enabled)
        .filter_map(|p| {
            let repo = p
                .spec
                .repository
                .trim()
                .trim_start_matches("https://")
                .trim_end_matches(".git");
            let parts: Vec<&str> = repo.split('/').collect();
            match parts.as_slice() {
                [owner, name] => Some(("github.com".to_string(), format!("{owner}/{name}"))),
                [host, owner, name] => Some((host.to_ascii_lowercase(), format!("{owner}/{name}"))),
                _ => None,
            }
        })
        .collect()
}

fn facts(host: &str, full_name: &str, pr: &PullRequestSimple) -> PullRequestFacts {
    PullRequestFacts {
        action: Action::Resync,
        host: host.to_string(),
        full_name: full_name.to_string(),
        number: pr.number,
        head_sha: pr.head.sha.clone(),
        url: Some(pr.html_url.clone()),
        open: pr.state == "open",
        labels: pr.labels.iter().map(|l| l.name.clone()).collect(),
        label: None,
        updated_at: pr.updated_at.parse().ok(),
    }
}

/// One pass over every repository. Creates and updates only.
pub async fn resync_once(
    store: &dyn PreviewStore,
    github: &GitHubClient,
    state: &mut ResyncState,
    now: Timestamp,
) -> ResyncReport {
    let mut report = ResyncReport::default();
    if let Some(until) = state.paused_until {
        if now < until {
            report.rate_limited = Some(until);
            return report;
        }
        state.paused_until = None;
    }
    let products = match store.products().await {
        Ok(p) => p,
        Err(e) => {
            report.failed.push(("Products".into(), e.message));
            return report;
        }
    };
    // Only labelled pull requests matter; any Product's label counts, the decision then
    // applies each Product's own.
    let labels: BTreeSet<String> = products
        .iter()
        .filter(|p| p.spec.preview.enabled)
        .map(|p| p.spec.preview.label.clone())
        .collect();
    for (host, full_name) in repositories(&products) {
        let key = format!("{host}/{full_name}");
        let Some((owner, name)) = full_name.split_once('/') else {
            continue;
        };
        let pulls = match github.open_pulls(owner, name).await {
            Ok(p) => p,
            Err(e) => {
                if let Some(until) = e.rate_limited_until() {
                    state.paused_until = Some(until);
                    report.rate_limited = Some(until);
                    report.failed.push((key, e.to_string()));
                    // No further call before GitHub's time: the rest waits for a later pass.
                    return report;
                }
                report.failed.push((key, e.to_string()));
                continue;
            }
        };
        let labelled: Vec<&PullRequestSimple> = pulls
            .iter()
            .filter(|p| p.labels.iter().any(|l| labels.contains(&l.name)))
            .collect();
        let before = state.last_counts.get(&key).copied().unwrap_or(0);
        if labelled.len() + SHRUNK_BY_AT_LEAST <= before && labelled.len() * 4 <= before * 3 {
            tracing::warn!(repository = %key, before, now = labelled.len(),
                "the listing of labelled open pull requests shrank sharply; the resync deletes nothing (deletion is webhook-only)");
            report.shrunk.push(key.clone());
        }
        state.last_counts.insert(key.clone(), labelled.len());
        report.listed.push(key.clone());
        for pr in labelled {
            match apply(store, &facts(&host, &full_name, pr)).await {
                Ok(changes) => report.changes.extend(changes),
                Err(e) => report.failed.push((format!("{key}#{}", pr.number), e)),
            }
        }
    }
    report
}

async fn token(secrets: &dyn Secrets, at: &SecretKey) -> Result<SecretString, String> {
    match secrets
        .secret(&at.namespace, &at.name, ReadPurpose::Webhook)
        .await
    {
        Ok(Some(data)) => match data.get(&at.key).map(|v| String::from_utf8(v.clone())) {
            Some(Ok(t)) if !t.trim().is_empty() => Ok(SecretString::new(t.trim().to_string())),
            Some(_) => Err(format!("{at} is empty or not UTF-8")),
            None => Err(format!("{at} does not exist (the Secret has no such key)")),
        },
        Ok(None) => Err(format!("{at}: the Secret does not exist")),
        Err(e) => Err(e.to_string()),
    }
}

/// Resync every `--resync-interval` until `shutdown`; nothing when the interval is absent.
pub async fn run(
    args: &ResyncArgs,
    secret_namespace: &str,
    store: Arc<dyn PreviewStore>,
    secrets: Arc<dyn Secrets>,
    metrics: Arc<WebhookMetrics>,
    shutdown: Shutdown,
) {
    let Some(every) = args.resync_interval.map(Duration::from_secs) else {
        return;
    };
    let at = SecretKey {
        namespace: secret_namespace.to_string(),
        name: args.github_token_secret.clone(),
        key: args.github_token_key.clone(),
    };
    let passes = async {
        let mut state = ResyncState::default();
        loop {
            match token(secrets.as_ref(), &at).await.and_then(|t| {
                GitHubClient::new(&args.github_api_url, t).map_err(|e: GitHubError| e.to_string())
            }) {
                Err(problem) => {
                    metrics.resync("failed");
                    tracing::warn!(%problem, "resync skipped: no GitHub client");
                }
                Ok(github) => {
                    let report = resync_once(store.as_ref(), &github, &mut state, Timestamp::now()).await;
                    let made = report
                        .changes
                        .iter()
                        .filter(|c| c.outcome == "created" || c.outcome == "updated")
                        .count();
                    metrics.resync_created.inc_by(made as u64);
                    let outcome = if report.rate_limited.is_some() {
                        "rate_limited"
                    } else if report.failed.is_empty() {
                        "ok"
                    } else {
                        "failed"
                    };
                    metrics.resync(outcome);
                    for (what, problem) in &report.failed {
                        tracing::warn!(%what, %problem, "resync: listing failed; nothing is deleted");
                    }
                    for c in report.changes.iter().filter(|c| c.outcome != "ignored") {
                        tracing::info!(namespace = %c.namespace, product = %c.product,
                            preview = c.preview.as_deref().unwrap_or("-"), outcome = %c.outcome,
                            message = c.message.as_deref().unwrap_or("-"), "resync caught a missed delivery");
                    }
                }
            }
            tokio::time::sleep(crate::error_policy::jittered(every)).await;
        }
    };
    futures::pin_mut!(passes);
    futures::future::select(passes, shutdown).await;
}
