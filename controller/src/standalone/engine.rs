//! One standalone reconcile round: poll each ProviderConfig once, verify its ProviderTargets
//! against the snapshot, probe every RuntimeIdentity, and keep the statuses in the state
//! folder, through the same pure reconcile functions the cluster controllers call.
//!
//! A round has a deadline (`--timeout`, [`DEFAULT_ROUND_TIMEOUT`]): every Dokploy client the
//! engine builds shares it, so past it no Dokploy call is sent and a call still waiting is
//! abandoned, and the lanes' and previews' own waits end by it. What was not compared by then
//! is Unverifiable (reason `DeadlinePassed`, "the round's deadline passed"), and a `--once` run
//! against a Dokploy that never answers ends within the deadline instead of one request
//! timeout per read per lane and preview.

use super::inputs::Inputs;
use super::report::Row;
use super::state::StateDir;
use crate::observe::poller::Poller;
use crate::observe::prober::Prober;
use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use launchplane_api::resources::{
    ProviderConfig, ProviderTarget, ProviderTargetStatus, RuntimeIdentityStatus,
};
use launchplane_api::verdict::Verdict;
use launchplane_api::verify::target::ProviderFailure;
use launchplane_core::observation::{PollSettings, Snapshot, TrackedTarget, poll_settings};
use launchplane_core::provider_config::CredentialProblem;
use launchplane_core::{provider_config, provider_target, runtime_identity};
use launchplane_providers::{Deadline, DokployClient, DokployConfig, Provider, RateLimit};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

mod lanes;
mod previews;
pub use previews::standalone_preview_settings;

/// Where API keys come from besides Secret manifests: the environment, read by the caller
/// so this module stays free of process-global state.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The environment variable that supplies the API key of a ProviderConfig, e.g.
/// `LAUNCHPLANE_API_KEY_DOKPLOY_MAIN` for `dokploy-main`. It wins over a Secret manifest, so a
/// repository can keep a placeholder Secret and CI can inject the real key.
pub fn api_key_variable(config_name: &str) -> String {
    let suffix: String = config_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("LAUNCHPLANE_API_KEY_{suffix}")
}

/// How long one round may take by default (`--timeout`): Helm's default wait, and room for
/// the lanes' in-process deploy waits (each at most [`DriveLimits`]'s 120 s).
///
/// [`DriveLimits`]: crate::deploy::driver::DriveLimits
pub const DEFAULT_ROUND_TIMEOUT: Duration = Duration::from_secs(300);

/// Whole-request timeout of one Dokploy call attempt in standalone mode (reads make up to
/// three attempts). Dokploy answers in well under a second; the cluster keeps the client's
/// 30 s, where a slow answer only delays a background poll.
pub const STANDALONE_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// No lane or preview step starts in the round's last seconds. A deploy step records its
/// phase (Deploying) and then sends the deploy; were the deadline to pass in between, the
/// deploy would not be sent and the next run would wait for one that never comes.
const STEP_MARGIN: Duration = Duration::from_secs(2);

struct ProviderSlot {
    /// The URL and key the client was built with; a change rebuilds it.
    fingerprint: (String, String, i32, i32),
    poller: Poller,
    /// The same client, for the lanes' deploy steps.
    provider: Arc<dyn Provider>,
}

/// State kept between rounds (one round with `--once`).
pub struct Engine {
    providers: HashMap<String, ProviderSlot>,
    prober: Prober,
    state: StateDir,
    env: Box<EnvLookup>,
    deploy: launchplane_core::deployment_record::DeploySettings,
    limits: crate::deploy::driver::DriveLimits,
    /// `Some` when previews are reconciled (`--previews`).
    previews: Option<crate::preview::PreviewSettings>,
    /// This state folder's controller instance ([`StateDir::instance_id`]): the one copy the
    /// ownership markers of lanes and previews are written and judged with.
    instance: String,
    /// The budget of one round, and the deadline every Dokploy client of the engine shares.
    round_timeout: Duration,
    deadline: Deadline,
}

impl Engine {
    pub fn new(prober: Prober, state: StateDir, env: Box<EnvLookup>) -> Self {
        let instance = match state.instance_id() {
            Ok(id) => id,
            Err(error) => {
                // Marks made under this id are never taken for another run's, so the worst
                // case is an app left in place or a lane refusing its own target, never an
                // app changed or deleted by mistake.
                tracing::warn!(%error, "cannot keep an instance id in the state folder; using \"standalone\"");
                "standalone".into()
            }
        };
        Engine {
            providers: HashMap::new(),
            prober,
            state,
            env,
            deploy: lanes::standalone_deploy_settings(),
            limits: crate::deploy::driver::DriveLimits::default(),
            previews: None,
            instance,
            round_timeout: DEFAULT_ROUND_TIMEOUT,
            deadline: Deadline::new(),
        }
    }

    /// This state folder's controller instance, as ownership markers name it.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Bound each round by `timeout` instead of [`DEFAULT_ROUND_TIMEOUT`].
    pub fn with_round_timeout(mut self, timeout: Duration) -> Self {
        self.round_timeout = timeout;
        self
    }

    /// What is left of this round's budget for starting a lane's or preview's step: the
    /// round's remaining time less [`STEP_MARGIN`], zero once that passed.
    fn round_left(&self) -> Duration {
        self.deadline
            .remaining()
            .unwrap_or(self.round_timeout)
            .saturating_sub(STEP_MARGIN)
    }

    /// Reconcile Previews (and sweep each Product's preview environment) with these timings.
    /// Their Dokploy applications are marked with this state folder's instance id
    /// ([`Engine::instance`]), whatever `settings.instance` says.
    pub fn with_previews(mut self, mut settings: crate::preview::PreviewSettings) -> Self {
        settings.instance = self.instance.clone();
        self.previews = Some(settings);
        self
    }

    /// Reconcile everything once and return one row per resource.
    pub async fn round(&mut self, inputs: &Inputs, now: Timestamp) -> Vec<Row> {
        self.deadline.start(self.round_timeout);
        let mut rows = Vec::new();
        let mut targets: Vec<ProviderTarget> = inputs
            .targets
            .iter()
            .cloned()
            .map(|mut t| {
                t.status = self.load(&t.metadata.namespace, &t.metadata.name, "ProviderTarget");
                t
            })
            .collect();

        let mut snapshots: HashMap<String, (Snapshot, PollSettings)> = HashMap::new();
        for config in &inputs.configs {
            let key = key_of(&config.metadata.namespace, &config.metadata.name);
            let mine: Vec<&ProviderTarget> = targets.iter().filter(|t| same_config(t, config)).collect();
            let tracked: BTreeSet<TrackedTarget> = mine
                .iter()
                .filter_map(|t| provider_target::tracked_target(t))
                .collect();
            let mut config = config.clone();
            config.status = self.load(
                &config.metadata.namespace,
                &config.metadata.name,
                "ProviderConfig",
            );
            let source = self.key_source(&config);
            let outcome = match self.poll(&key, &config, inputs, &tracked, now).await {
                Ok((snapshot, settings)) => {
                    let outcome =
                        provider_config::reconcile(&config, Ok(&snapshot), &source, mine.len(), now);
                    snapshots.insert(key.clone(), (snapshot, settings));
                    outcome
                }
                Err(problem) => provider_config::reconcile(&config, Err(&problem), &source, mine.len(), now),
            };
            let status = outcome.status;
            let (reason, message) = summary(&status.conditions, status.verdict);
            rows.push(self.row(
                "ProviderConfig",
                &config.metadata,
                status.verdict,
                reason,
                message,
                true,
            ));
            self.save("ProviderConfig", &config.metadata, &status);
        }

        let all = targets.clone();
        for target in &mut targets {
            let config_key = key_of(
                &target.metadata.namespace,
                &Some(target.spec.provider_config_ref.name.clone()),
            );
            let status = match snapshots.get(&config_key) {
                Some((snapshot, settings)) => {
                    let claims = provider_target::claims_against(target, &all);
                    provider_target::reconcile(target, &snapshot.window(settings), &claims, now).status
                }
                None => unresolved_target(target, inputs, &config_key, now),
            };
            rows.push(self.row(
                "ProviderTarget",
                &target.metadata,
                status.verdict,
                status.reason.clone().unwrap_or_default(),
                status.message.clone().unwrap_or_default(),
                true,
            ));
            self.save("ProviderTarget", &target.metadata, &status);
            target.status = Some(status);
        }

        let probes = join_all(inputs.identities.iter().map(|identity| {
            let target = runtime_identity::probe_target(&identity.spec);
            let prober = &self.prober;
            async move { prober.probe(&target).await }
        }))
        .await;
        for (identity, probe) in inputs.identities.iter().zip(probes) {
            let mut identity = identity.clone();
            identity.status = self.load::<RuntimeIdentityStatus>(
                &identity.metadata.namespace,
                &identity.metadata.name,
                "RuntimeIdentity",
            );
            let status = runtime_identity::reconcile(&identity, Some(&probe), now).status;
            // Mismatch and Malformed fail even an advisory identity: the route may serve
            // another artifact. Missing and Unreachable fail only a required one.
            let required = identity.spec.required
                || matches!(status.verdict, Some(Verdict::Mismatch))
                || status.reason == Some(launchplane_api::identity::ClassificationReason::Malformed);
            rows.push(self.row(
                "RuntimeIdentity",
                &identity.metadata,
                status.verdict,
                status.reason.map(|r| r.to_string()).unwrap_or_default(),
                status.message.clone().unwrap_or_default(),
                required,
            ));
            self.save("RuntimeIdentity", &identity.metadata, &status);
        }
        rows.extend(self.lanes(inputs, &targets, now).await);
        self.previews(inputs, &targets, &mut rows).await;
        rows
    }

    /// The shortest interval anything asks to be checked at, for the watch loop.
    pub fn interval(inputs: &Inputs) -> std::time::Duration {
        let seconds = inputs
            .configs
            .iter()
            .map(|c| c.spec.poll_interval_seconds)
            .chain(inputs.identities.iter().map(|i| i.spec.interval_seconds))
            .min()
            .unwrap_or(60)
            .max(5);
        std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(60))
    }

    async fn poll(
        &mut self,
        key: &str,
        config: &ProviderConfig,
        inputs: &Inputs,
        tracked: &BTreeSet<TrackedTarget>,
        now: Timestamp,
    ) -> Result<(Snapshot, PollSettings), CredentialProblem> {
        let api_key = self.api_key(config, inputs)?;
        let spec = &config.spec;
        let settings = poll_settings(spec);
        let fingerprint = (
            spec.url.clone(),
            api_key.clone(),
            spec.rate_limit.requests_per_second,
            spec.rate_limit.burst,
        );
        let rebuild = self
            .providers
            .get(key)
            .is_none_or(|slot| slot.fingerprint != fingerprint);
        if rebuild {
            let mut client_config = DokployConfig::new(spec.url.clone(), api_key);
            client_config.request_timeout = STANDALONE_REQUEST_TIMEOUT;
            client_config.deadline = Some(self.deadline.clone());
            client_config.rate_limit = RateLimit {
                per_second: f64::from(spec.rate_limit.requests_per_second),
                burst: u32::try_from(spec.rate_limit.burst).unwrap_or(1),
            };
            let client = DokployClient::new(client_config).map_err(|e| CredentialProblem {
                reason: "InvalidProviderConfig",
                message: format!("cannot build a Dokploy client for spec.url: {e}"),
            })?;
            let provider: Arc<dyn Provider> = Arc::new(client);
            self.providers.insert(
                key.to_string(),
                ProviderSlot {
                    fingerprint,
                    poller: Poller::new(provider.clone(), settings),
                    provider,
                },
            );
        }
        let slot = self.providers.get_mut(key).ok_or_else(|| CredentialProblem {
            reason: "InvalidProviderConfig",
            message: "the provider client could not be kept".into(),
        })?;
        slot.poller.set_settings(settings);
        let snapshot = slot.poller.poll(tracked, now).await.clone();
        Ok((snapshot, settings))
    }

    /// Where [`Self::api_key`] takes `config`'s key from: the variable wins when it is set.
    fn key_source(&self, config: &ProviderConfig) -> provider_config::KeySource {
        let variable = api_key_variable(config.metadata.name.as_deref().unwrap_or_default());
        if (self.env)(&variable).is_some_and(|k| !k.is_empty()) {
            provider_config::KeySource::Variable(variable)
        } else {
            provider_config::KeySource::Secret
        }
    }

    fn api_key(&self, config: &ProviderConfig, inputs: &Inputs) -> Result<String, CredentialProblem> {
        let name = config.metadata.name.as_deref().unwrap_or_default();
        let variable = api_key_variable(name);
        if let Some(key) = (self.env)(&variable).filter(|k| !k.is_empty()) {
            return Ok(key);
        }
        let reference = &config.spec.api_key_secret_ref;
        let secret_key = key_of(&config.metadata.namespace, &Some(reference.name.clone()));
        inputs
            .secrets
            .get(&secret_key)
            .and_then(|data| data.get(&reference.key))
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| CredentialProblem {
                reason: "SecretNotFound",
                message: format!(
                    "no API key: neither a Secret manifest {secret_key} with key {} in the folder nor \
                     the environment variable {variable}; add one of them",
                    reference.key
                ),
            })
    }

    fn load<S: serde::de::DeserializeOwned>(
        &self,
        namespace: &Option<String>,
        name: &Option<String>,
        kind: &str,
    ) -> Option<S> {
        self.state.load(
            kind,
            namespace.as_deref().unwrap_or("default"),
            name.as_deref().unwrap_or_default(),
        )
    }

    fn save<S: serde::Serialize>(&self, kind: &str, meta: &kube::api::ObjectMeta, status: &S) {
        let namespace = meta.namespace.as_deref().unwrap_or("default");
        let name = meta.name.as_deref().unwrap_or_default();
        if let Err(e) = self.state.save(kind, namespace, name, status) {
            // Losing the state costs only history (lastTransitionTime, adoptions); the verdict
            // printed this round is still right.
            tracing::warn!(kind, namespace, name, error = %e, "cannot write the state file");
        }
    }

    fn row(
        &self,
        kind: &str,
        meta: &kube::api::ObjectMeta,
        verdict: Option<Verdict>,
        reason: String,
        message: String,
        required: bool,
    ) -> Row {
        Row {
            kind: kind.into(),
            namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
            name: meta.name.clone().unwrap_or_default(),
            verdict: verdict.unwrap_or_default(),
            reason,
            message,
            required,
        }
    }
}

fn key_of(namespace: &Option<String>, name: &Option<String>) -> String {
    format!(
        "{}/{}",
        namespace.as_deref().unwrap_or("default"),
        name.as_deref().unwrap_or_default()
    )
}

fn same_config(target: &ProviderTarget, config: &ProviderConfig) -> bool {
    target.metadata.namespace == config.metadata.namespace
        && Some(&target.spec.provider_config_ref.name) == config.metadata.name.as_ref()
}

/// The reason and message of the Ready condition, for the report.
fn summary(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    verdict: Option<Verdict>,
) -> (String, String) {
    let stalled = launchplane_api::conditions::find(conditions, launchplane_api::conditions::types::STALLED)
        .filter(|c| c.status == "True");
    let ready = launchplane_api::conditions::find(conditions, launchplane_api::conditions::types::READY);
    match (stalled, ready) {
        (Some(c), _) | (None, Some(c)) => (c.reason.clone(), c.message.clone()),
        _ => (verdict.unwrap_or_default().to_string(), String::new()),
    }
}

/// A ProviderTarget whose ProviderConfig gave no snapshot: absent from the folder, or
/// without credentials (its own row says why).
fn unresolved_target(
    target: &ProviderTarget,
    inputs: &Inputs,
    config_key: &str,
    now: Timestamp,
) -> ProviderTargetStatus {
    let exists = inputs
        .configs
        .iter()
        .any(|c| key_of(&c.metadata.namespace, &c.metadata.name) == config_key);
    let (reason, message) = if exists {
        (
            "ProviderNotPolled",
            format!("ProviderConfig {config_key} could not be polled; see its status"),
        )
    } else {
        (
            "ProviderConfigNotFound",
            format!(
                "spec.providerConfigRef names ProviderConfig {config_key}, which is not in the folder; \
                 add it or fix the name"
            ),
        )
    };
    let failed = launchplane_api::verify::target::ObservationWindow {
        targets: None,
        observed_at: None,
        last_failure: Some((ProviderFailure::Other, message.clone())),
        poll_interval: SignedDuration::from_secs(60),
        stale_after_polls: 1,
    };
    let mut status = provider_target::reconcile(target, &failed, &[], now).status;
    status.reason = Some(reason.into());
    status.message = Some(message);
    status
}
