//! Previews, the I/O shell around [`launchplane_core::preview`]: create the Dokploy
//! application and domain of a pull request's preview, deploy each generation and verify it at
//! the preview URL, tear it all down on deletion, and sweep orphaned preview targets.
//!
//! The same functions run in the cluster (k8s::preview, k8s::product) and in standalone mode.
//!
//! Restart safety: the generation id is deterministic and is the deploy's title, so a restarted
//! reconcile finds a deploy it already sent instead of sending another; the phase is persisted
//! through the [`StatusSink`] before the deploy call; an application created before a crash
//! (but not yet recorded) is adopted by its exact preview name in the preview environment, and
//! only when it carries this Preview's ownership marker.
//!
//! Ownership ([`launchplane_api::ownership`]): every preview application is created with the
//! marker `launchplane.dev/owner=<instance>/<namespace>/Preview/<name>/<uid>` in its Dokploy
//! description. An application of the preview's name without that exact marker (made by hand,
//! by another Launchplane, or by an earlier Preview of the same name) is never adopted,
//! mutated or deleted: the Preview stalls with a Conflict that says what to do. Teardown
//! deletes only the recorded id, after reading its marker fresh; the sweep deletes only
//! applications marked by this instance for a Preview that no longer exists.
//!
//! Fresh evidence ([`verify`]): a settled Ready preview is verified again on every reconcile
//! (its application read by id, its URL probed); only that makes it Matched. A 404 alone never
//! makes it forget its application; a 404 the org listing confirms does, and the generation is
//! requested again for a new application (recovery).
//!
//! Setup problems (the environment, the template, a name conflict, Dokploy refusing the
//! application or its domain) stall the Preview and leave the generation requested: the next
//! resync tries again, so fixing the setup is enough. Only the deploy and its verification
//! fail a generation.
//!
//! What the preview app gets (documented in docs/resources.md): the Artifact's image by digest;
//! env keys `LAUNCHPLANE_RUNTIME_IDENTITY_JSON`, `LAUNCHPLANE_DEPLOYMENT_RECORD_ID` (the
//! generation id), `LAUNCHPLANE_ARTIFACT_ID`, `LAUNCHPLANE_SOURCE_GIT_REF`,
//! `LAUNCHPLANE_PREVIEW_URL` and `PUBLIC_URL`; one domain, `<slug>.<baseDomain>`, on the
//! product's runtime port. The template target's own env is not copied (it usually holds a
//! stable lane's credentials).

use crate::observe::prober::Prober;

use futures::future::BoxFuture;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{Clock, Progress, Transition};
use launchplane_api::identity::{classify, combine};
use launchplane_api::ownership::{Owner, Ownership, ownership};
use launchplane_api::resources::{
    Artifact, GenerationPhase, Preview, PreviewStatus, Product, ProviderTarget, SweepBaseline,
};
use launchplane_core::preview::{
    self as pure, Finding, Fresh, InventoryTarget, Listing, PreviewNames, SweepInput, SweepPlan, TargetCheck,
    expected_identity, identity_finding, names, plan_sweep, preview_conditions, preview_env,
    request_generation, serving, set_phase, start_deploy,
};
use launchplane_core::probe::{ProbeTarget, Surfaces};
use launchplane_core::provider_target::claimed_id;
use launchplane_providers::{
    DeploymentStatus, OrgSnapshot, Provider, ProviderError, SecretString, ServiceSummary, TargetCategory,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use thiserror::Error;

mod environment;
mod verify;

use environment::{EnvFailure, preview_environment};
use verify::{forget_gone, read_target, verify};

/// Timings and reachability of previews.
#[derive(Clone, Debug)]
pub struct PreviewSettings {
    /// Pause between looks at a running deploy or a probe that does not match yet.
    pub poll_delay: Duration,
    /// How long after a generation is requested its deploy may take to finish.
    pub deploy_timeout: Duration,
    /// How long after the deploy finished the URL may take to serve the new generation.
    pub verify_timeout: Duration,
    /// Wall-clock budget of one reconcile; the rest continues on the next one.
    pub deadline: Duration,
    /// Probe preview hosts through this base URL (e.g. the ingress controller's in-cluster
    /// address, or the simulator's ingress), sending the preview host as `Host`, instead of
    /// resolving the public preview URL. `None`: probe the public URL.
    pub probe_via: Option<String>,
    /// Re-check a settled preview this often.
    pub resync: Duration,
    /// This controller instance, as its ownership markers name it (`--instance-id` in the
    /// cluster, the state folder's id in standalone mode).
    pub instance: String,
}

/// The instance id of a controller started without `--instance-id`.
pub const DEFAULT_INSTANCE: &str = "launchplane";

/// The owner a Preview's Dokploy application is marked with.
pub fn preview_owner(preview: &Preview, instance: &str) -> Owner {
    Owner::new(
        instance,
        preview.metadata.namespace.as_deref().unwrap_or("default"),
        "Preview",
        preview.metadata.name.as_deref().unwrap_or_default(),
        preview.metadata.uid.as_deref(),
    )
}

impl Default for PreviewSettings {
    fn default() -> Self {
        PreviewSettings {
            poll_delay: Duration::from_secs(2),
            deploy_timeout: Duration::from_secs(900),
            verify_timeout: Duration::from_secs(120),
            deadline: Duration::from_secs(60),
            probe_via: None,
            resync: Duration::from_secs(300),
            instance: DEFAULT_INSTANCE.into(),
        }
    }
}

/// Where a reconcile persists the Preview's status between steps (the status subresource in
/// the cluster, the state folder in standalone mode). Errors are secret-free strings.
pub trait StatusSink: Send + Sync {
    fn save<'a>(&'a self, status: &'a PreviewStatus) -> BoxFuture<'a, Result<(), String>>;
}

/// A sink that keeps nothing (tests, and callers that write once at the end).
pub struct NoSink;

impl StatusSink for NoSink {
    fn save<'a>(&'a self, _status: &'a PreviewStatus) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// The objects one Preview is reconciled from.
pub struct PreviewWorld<'a> {
    pub preview: &'a Preview,
    pub product: Option<&'a Product>,
    /// The Product's `preview.templateTargetRef`.
    pub template: Option<&'a ProviderTarget>,
    pub artifact: Option<&'a Artifact>,
}

/// What one reconcile did.
#[derive(Clone, Debug)]
pub struct PreviewReport {
    pub status: PreviewStatus,
    pub transitions: Vec<Transition>,
    /// The ttl has passed: the caller deletes the Preview (its finalizer tears it down).
    pub expired: bool,
    /// When to look again.
    pub requeue: Duration,
    /// A transient failure (the status says so too).
    pub error: Option<String>,
}

/// Why a teardown did not complete (secret-free). The finalizer stays.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TeardownError {
    #[error("deleting the preview's Dokploy domain {domain}: {error}")]
    Domain { domain: String, error: String },
    #[error("deleting the preview's Dokploy application {target}: {error}")]
    Application { target: String, error: String },
    #[error("cannot confirm the teardown: the Dokploy inventory could not be read ({0})")]
    Inventory(String),
    #[error("the Dokploy application {0} is still listed after its deletion")]
    StillListed(String),
    #[error("the domain {0} is still listed in Dokploy after its deletion")]
    DomainStillListed(String),
    #[error("{url} still answers with previewId {preview_id}")]
    StillServing { url: String, preview_id: String },
    #[error("no provider client for this preview's ProviderConfig")]
    NoProvider,
    #[error(
        "cannot read the Dokploy application {target} to check its ownership marker ({error}); nothing was deleted"
    )]
    OwnershipUnknown { target: String, error: String },
}

/// What a teardown removed, or left alone and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownReport {
    pub application: Option<String>,
    pub domains: Vec<String>,
    /// The recorded application was not deleted because it is not ours (the sentence says
    /// whose it is); a person decides what happens to it.
    pub left_alone: Option<String>,
}

impl TeardownReport {
    /// One sentence for status and the table.
    pub fn summary(&self) -> String {
        match (&self.application, &self.left_alone) {
            (Some(id), _) => format!("application {id} and its domains were removed"),
            (None, Some(why)) => format!("nothing was deleted: {why}"),
            (None, None) => "no application was recorded for it, so nothing was deleted".into(),
        }
    }
}

/// Step failures inside a reconcile.
enum Failure {
    /// The provider refused (bad input, gone): the generation fails.
    Refused(String),
    /// Try again later.
    Transient(String),
}

fn classify_error(e: ProviderError) -> Failure {
    match e {
        ProviderError::BadRequest { .. }
        | ProviderError::NotFound { .. }
        | ProviderError::Conflict { .. }
        | ProviderError::InvalidInput { .. } => Failure::Refused(e.to_string()),
        _ => Failure::Transient(e.to_string()),
    }
}

/// The names of `preview`, or why not.
pub fn preview_names(preview: &Preview, product: &Product) -> Result<PreviewNames, String> {
    let product_name = product.metadata.name.as_deref().unwrap_or_default();
    names(
        product_name,
        &product.spec.preview,
        preview.spec.pull_request.number,
    )
    .map_err(|e| e.to_string())
}

/// When `preview` expires: the recorded time, else creation (or now, in standalone mode,
/// where manifests carry no creation time) plus `ttl`.
pub fn expiry(preview: &Preview, now: Timestamp) -> Option<Timestamp> {
    let created = preview
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| {
            preview
                .status
                .as_ref()
                .and_then(|s| s.generations.first())
                .and_then(|g| g.requested_time.as_ref())
                .map(|t| t.0)
        })
        .unwrap_or(now);
    match preview.status.as_ref().and_then(|s| s.expires_at.as_ref()) {
        Some(at) if preview.spec.ttl.is_some() => Some(at.0),
        _ => pure::expires_at(created, preview.spec.ttl.as_deref()),
    }
}

fn probe_target(
    product: &Product,
    names: &PreviewNames,
    settings: &PreviewSettings,
) -> (ProbeTarget, Option<String>) {
    let (base_url, host) = match &settings.probe_via {
        Some(via) => (via.trim_end_matches('/').to_string(), Some(names.host.clone())),
        None => (names.url.clone(), None),
    };
    (
        ProbeTarget {
            base_url,
            health_path: product.spec.health_path.clone(),
            surfaces: Surfaces::default(),
        },
        host,
    )
}

fn in_environment<'a>(
    snapshot: &'a OrgSnapshot,
    environment: &'a str,
) -> impl Iterator<Item = &'a ServiceSummary> {
    snapshot.services.iter().filter(move |s| {
        s.category.target() == Some(TargetCategory::Application)
            && s.environment_id.as_deref() == Some(environment)
    })
}

fn stalled(
    preview: &Preview,
    old: &PreviewStatus,
    reason: &str,
    message: String,
    now: Timestamp,
) -> PreviewReport {
    let newest = old.generations.last();
    let computed = preview_conditions(
        &old.conditions,
        newest,
        &Fresh::default(),
        &Progress::Stalled {
            reason: reason.into(),
            message: message.clone(),
        },
        preview.metadata.generation,
        now,
    );
    let mut status = old.clone();
    status.observed_generation = preview.metadata.generation;
    status.conditions = computed.conditions;
    status.verdict = Some(launchplane_api::Verdict::worst([
        computed.verdict,
        launchplane_api::Verdict::Unverifiable,
    ]));
    PreviewReport {
        status,
        transitions: computed.transitions,
        expired: false,
        requeue: Duration::from_secs(300),
        error: None,
    }
}

/// Reconcile one Preview: name it, request the generation for its head commit and artifact,
/// create its application and domain if needed, deploy, follow, verify. Bounded by
/// `settings.deadline`; what is left continues on the next call.
pub async fn reconcile(
    world: &PreviewWorld<'_>,
    provider: Option<&dyn Provider>,
    prober: &Prober,
    settings: &PreviewSettings,
    sink: &dyn StatusSink,
    clock: &dyn Clock,
) -> PreviewReport {
    let started = Instant::now();
    let preview = world.preview;
    let now = clock.now();
    let old = preview.status.clone().unwrap_or_default();
    let expires_at = expiry(preview, now);

    let Some(product) = world.product else {
        return stalled(
            preview,
            &old,
            "ProductNotFound",
            format!(
                "spec.productRef names Product {}, which does not exist",
                preview.spec.product_ref.name
            ),
            now,
        );
    };
    let names = match preview_names(preview, product) {
        Ok(n) => n,
        Err(e) => return stalled(preview, &old, "PreviewsNotEnabled", e, now),
    };
    let mut status = PreviewStatus {
        observed_generation: preview.metadata.generation,
        url: Some(names.url.clone()),
        slug: Some(names.slug.clone()),
        expires_at: expires_at.map(Time),
        ..old.clone()
    };
    if pure::is_expired(expires_at, now) {
        let computed = preview_conditions(
            &old.conditions,
            old.generations.last(),
            &Fresh::default(),
            &Progress::Reconciling {
                reason: "Expired".into(),
                message: format!(
                    "spec.ttl {} has passed; the Preview is being deleted",
                    preview.spec.ttl.as_deref().unwrap_or_default()
                ),
            },
            preview.metadata.generation,
            now,
        );
        status.conditions = computed.conditions;
        status.verdict = Some(computed.verdict);
        return PreviewReport {
            status,
            transitions: computed.transitions,
            expired: true,
            requeue: Duration::from_secs(5),
            error: None,
        };
    }
    let Some(template) = world.template else {
        return stalled(
            preview,
            &status,
            "TemplateTargetNotFound",
            "the Product's preview.templateTargetRef names a ProviderTarget that does not exist".into(),
            now,
        );
    };
    let Some(template_id) = claimed_id(template) else {
        return stalled(
            preview,
            &status,
            "TemplateTargetNotBound",
            format!(
                "the template ProviderTarget {} is not bound to a Dokploy target yet",
                template.metadata.name.as_deref().unwrap_or_default()
            ),
            now,
        );
    };
    let Some(artifact) = world.artifact else {
        return stalled(
            preview,
            &status,
            "ArtifactNotFound",
            format!(
                "spec.artifactRef names Artifact {}, which does not exist; nothing is deployed",
                preview.spec.artifact_ref.name
            ),
            now,
        );
    };
    if let Err(e) = launchplane_core::artifact::check(&artifact.spec) {
        return stalled(preview, &status, "ArtifactNotPinned", e, now);
    }
    if let Err(e) = launchplane_core::artifact::check_repository(artifact, product) {
        return stalled(
            preview,
            &status,
            launchplane_core::artifact::REPOSITORY_MISMATCH,
            e,
            now,
        );
    }
    let Some(provider) = provider else {
        let mut report = stalled(
            preview,
            &status,
            "ProviderUnavailable",
            "no Dokploy client for the template target's ProviderConfig (see its status)".into(),
            now,
        );
        report.requeue = Duration::from_secs(30);
        return report;
    };

    let limit = usize::try_from(product.spec.preview.history_limit).unwrap_or(10);
    let (generations, _) = request_generation(
        &status.generations,
        &names.preview_id,
        &preview.spec.pull_request.head_sha,
        &preview.spec.artifact_ref.name,
        now,
        limit,
    );
    status.generations = generations;
    let generation_id = pure::generation_id(
        &names.preview_id,
        &preview.spec.pull_request.head_sha,
        &preview.spec.artifact_ref.name,
    );

    let owner = preview_owner(preview, &settings.instance);
    let job = Job {
        owner: &owner,
        generation_id: &generation_id,
        names: &names,
        product,
        template_id: &template_id,
        artifact,
        provider,
        prober,
        settings,
        clock,
    };
    let mut fresh = Fresh::default();
    let phase = status
        .generations
        .iter()
        .find(|g| g.id == generation_id)
        .map(|g| g.phase);
    let outcome = match phase {
        // Settled and Ready: verified again, with fresh evidence, every time.
        Some(GenerationPhase::Ready) => Ok(verify(&job, &mut status, &mut fresh).await),
        // A failed generation is not retried: a new commit or artifact starts another.
        Some(GenerationPhase::Failed) => Ok(Driven::Settled),
        _ => drive(&job, &mut status, &mut fresh, sink, started).await,
    };
    let (progress, error, requeue) = match outcome {
        Ok(Driven::Settled) => (Progress::Settled, None, settings.resync),
        Ok(Driven::InProgress(message)) => (
            Progress::Reconciling {
                reason: "Deploying".into(),
                message,
            },
            None,
            settings.poll_delay,
        ),
        Ok(Driven::Recovering(message)) => (
            Progress::Reconciling {
                reason: "Recovering".into(),
                message,
            },
            None,
            settings.poll_delay,
        ),
        Ok(Driven::Unverifiable(message)) => (
            Progress::Reconciling {
                reason: "Unverifiable".into(),
                message: message.clone(),
            },
            Some(message),
            UNVERIFIABLE_RETRY,
        ),
        Ok(Driven::Stalled { reason, message }) => (
            Progress::Stalled {
                reason: reason.into(),
                message,
            },
            None,
            settings.resync,
        ),
        Err(e) => (
            Progress::Reconciling {
                reason: "ProviderError".into(),
                message: e.clone(),
            },
            Some(e),
            UNVERIFIABLE_RETRY,
        ),
    };
    status.serving_generation =
        serving(&status.generations, status.target_id.as_deref()).map(|g| g.id.clone());
    let newest = status.generations.iter().find(|g| g.id == generation_id);
    let computed = preview_conditions(
        &old.conditions,
        newest,
        &fresh,
        &progress,
        preview.metadata.generation,
        clock.now(),
    );
    status.conditions = computed.conditions;
    status.verdict = Some(match progress {
        // As for every stall: what could not be done is not verified.
        Progress::Stalled { .. } => {
            launchplane_api::Verdict::worst([computed.verdict, launchplane_api::Verdict::Unverifiable])
        }
        _ => computed.verdict,
    });
    PreviewReport {
        status,
        transitions: computed.transitions,
        expired: false,
        requeue,
        error,
    }
}

/// How soon a preview that could not be verified (or whose provider failed) is looked at again.
const UNVERIFIABLE_RETRY: Duration = Duration::from_secs(30);

/// Where a reconcile left the preview's generation.
enum Driven {
    /// Ready (and verified now) or Failed: nothing more to do until the resync.
    Settled,
    /// Deploying or waiting for the URL: look again soon.
    InProgress(String),
    /// The application was confirmed deleted outside Launchplane: the generation is requested
    /// again, and the next reconcile creates a new application and deploys it.
    Recovering(String),
    /// Could not be verified (Dokploy or the URL did not answer usefully): retried soon; the
    /// recorded application is kept.
    Unverifiable(String),
    /// A setup problem outside the spec (environment, name conflict, Dokploy refusing the
    /// application or domain): the generation stays requested and is retried on the resync.
    Stalled { reason: &'static str, message: String },
}

/// What one reconcile of one generation works with.
struct Job<'a> {
    owner: &'a Owner,
    generation_id: &'a str,
    names: &'a PreviewNames,
    product: &'a Product,
    template_id: &'a str,
    artifact: &'a Artifact,
    provider: &'a dyn Provider,
    prober: &'a Prober,
    settings: &'a PreviewSettings,
    clock: &'a dyn Clock,
}

impl Job<'_> {
    fn identity(&self) -> launchplane_api::identity::RuntimeIdentityPayload {
        expected_identity(
            self.product.metadata.name.as_deref().unwrap_or_default(),
            self.names,
            self.generation_id,
            &artifact_name(self.artifact),
            &self.artifact.spec.source.commit,
            &self.artifact.spec.image_reference(),
        )
    }

    /// Probe the preview URL for this generation's identity, now.
    async fn probe(&self) -> Finding {
        let (target, host) = probe_target(self.product, self.names, self.settings);
        let probe = self.prober.probe_as(&target, host.as_deref()).await;
        let observed = combine(&probe.observations);
        let class = classify(&self.identity(), &observed, true);
        identity_finding(&class, probe.health_status, &self.names.url)
    }
}

/// Drive a Requested or Deploying generation forward; `Err`: a transient failure.
async fn drive(
    job: &Job<'_>,
    status: &mut PreviewStatus,
    fresh: &mut Fresh,
    sink: &dyn StatusSink,
    started: Instant,
) -> Result<Driven, String> {
    let Job {
        owner,
        generation_id,
        names,
        product,
        template_id,
        artifact,
        provider,
        settings,
        clock,
        ..
    } = *job;
    let Some(phase) = status
        .generations
        .iter()
        .find(|g| g.id == generation_id)
        .map(|g| g.phase)
    else {
        return Err("the generation was not recorded".into());
    };
    let fail = |status: &mut PreviewStatus, evidence: String| {
        status.generations = set_phase(
            &status.generations,
            generation_id,
            GenerationPhase::Failed,
            Some(evidence),
            clock.now(),
        );
    };
    let stall = |reason: &'static str, message: String| Driven::Stalled { reason, message };

    // 1. The application: recorded, adopted by its exact name when it carries our marker, or
    //    created with it. Whatever stops it here is a setup problem: the generation stays
    //    requested and the next resync tries again.
    let target_id = match status.target_id.clone() {
        Some(id) => id,
        None => {
            let snapshot = provider.observe_org().await.map_err(|e| e.to_string())?;
            let environment = match preview_environment(provider, &snapshot, product, template_id).await {
                Ok(env) => env,
                Err(EnvFailure::Setup(reason, message)) => return Ok(stall(reason, message)),
                Err(EnvFailure::Transient(e)) => return Err(e),
            };
            let existing: Vec<&ServiceSummary> = in_environment(&snapshot, &environment)
                .filter(|s| s.name.as_deref() == Some(names.target_name.as_str()))
                .collect();
            let description = owner.describe(&format!(
                "Launchplane preview {} of {}; deleted with its Preview",
                names.preview_id,
                product.metadata.name.as_deref().unwrap_or_default()
            ));
            let id = match existing.as_slice() {
                [one] => {
                    let detail = provider
                        .target_detail(TargetCategory::Application, &one.id)
                        .await
                        .map_err(|e| format!("reading the application named {}: {e}", names.target_name))?;
                    let whose = ownership(detail.description.as_deref(), owner);
                    if whose != Ownership::Ours {
                        let message = conflict_message(&one.id, &names.target_name, &whose);
                        fresh.target =
                            Some(Finding::new(launchplane_api::Verdict::Mismatch, message.clone()));
                        return Ok(stall("Conflict", message));
                    }
                    one.id.clone()
                }
                [] => match provider
                    .create_application(
                        &environment,
                        &names.target_name,
                        Some(&names.target_name),
                        Some(&description),
                    )
                    .await
                {
                    Ok(id) => id,
                    Err(e) => match classify_error(e) {
                        Failure::Refused(e) => {
                            return Ok(stall(
                                "ApplicationNotCreated",
                                format!(
                                    "Dokploy refused to create application {} in environment \
                                     {environment} ({e}); fix the environment in Dokploy or the \
                                     Product's preview.environment; retried on the next resync",
                                    names.target_name
                                ),
                            ));
                        }
                        Failure::Transient(e) => return Err(format!("creating the application: {e}")),
                    },
                },
                several => {
                    return Ok(stall(
                        "Ambiguous",
                        format!(
                            "{} Dokploy applications are named {} in the preview environment; \
                             remove the extra ones (nothing is guessed); retried on the next resync",
                            several.len(),
                            names.target_name
                        ),
                    ));
                }
            };
            status.target_id = Some(id.clone());
            sink.save(status).await?;
            id
        }
    };

    // 2. The recorded application, read by id and still ours; then its domain. A 404 alone
    //    never makes the preview forget it: only one the org listing confirms.
    let (check, detail) = read_target(provider, &target_id, owner, &names.target_name).await;
    fresh.target = Some(check.finding(&target_id));
    let detail = match (check, detail) {
        (TargetCheck::Ours, Some(detail)) => detail,
        (TargetCheck::NotOurs(why), _) => return Ok(stall("Conflict", why)),
        (TargetCheck::Gone, _) => {
            let message = forget_gone(job, status, Some(&target_id));
            sink.save(status).await?;
            return Ok(Driven::Recovering(message));
        }
        (TargetCheck::Unknown(why), _) => return Err(why),
        (TargetCheck::Ours, None) => {
            return Err(format!("application {target_id} was read without its detail"));
        }
    };
    if !detail.hosts().contains(&names.host.as_str()) {
        let port = u16::try_from(product.spec.runtime_port).unwrap_or(8080);
        let https = names.url.starts_with("https://");
        if let Err(e) = provider
            .create_domain(&target_id, &names.host, port, https, None)
            .await
        {
            match classify_error(e) {
                Failure::Refused(e) => {
                    return Ok(stall(
                        "DomainNotCreated",
                        format!(
                            "Dokploy refused the domain {} on application {target_id} ({e}); \
                             retried on the next resync",
                            names.host
                        ),
                    ));
                }
                Failure::Transient(e) => return Err(format!("adding the domain: {e}")),
            }
        }
    }

    // 3. Image, env, deploy: once per generation, guarded by the title.
    let product_name = product.metadata.name.as_deref().unwrap_or_default();
    let image = artifact.spec.image_reference();
    let identity = job.identity();
    if phase == GenerationPhase::Requested {
        let existing = provider
            .find_deployment(TargetCategory::Application, &target_id, generation_id)
            .await
            .map_err(|e| format!("looking up the deploy: {e}"))?;
        if existing.is_none() {
            if let Err(e) = provider.set_image(&target_id, &image, None).await {
                return match classify_error(e) {
                    Failure::Refused(e) => {
                        fail(status, format!("deploy: setting the image: {e}"));
                        Ok(Driven::Settled)
                    }
                    Failure::Transient(e) => Err(format!("setting the image: {e}")),
                };
            }
            let env: BTreeMap<String, SecretString> = preview_env(&identity, names)
                .into_iter()
                .map(|(k, v)| (k, SecretString::new(v)))
                .collect();
            if let Err(e) = provider
                .merge_env(TargetCategory::Application, &target_id, env, BTreeSet::new())
                .await
            {
                return match classify_error(e) {
                    Failure::Refused(e) => {
                        fail(status, format!("deploy: writing the env: {e}"));
                        Ok(Driven::Settled)
                    }
                    Failure::Transient(e) => Err(format!("writing the env: {e}")),
                };
            }
        }
        status.generations = start_deploy(&status.generations, generation_id, &target_id, clock.now());
        sink.save(status).await?;
        if existing.is_none() {
            let description = format!(
                "Launchplane preview {} of {} ({})",
                names.preview_id, product_name, image
            );
            if let Err(e) = provider
                .deploy(
                    TargetCategory::Application,
                    &target_id,
                    generation_id,
                    &description,
                )
                .await
            {
                match classify_error(e) {
                    Failure::Refused(e) => {
                        fail(status, format!("deploy: {e}"));
                        return Ok(Driven::Settled);
                    }
                    // Maybe sent: following it by title decides.
                    Failure::Transient(e) => {
                        tracing::warn!(error = %e, "preview deploy call failed; following it")
                    }
                }
            }
        }
    }

    // 4. Follow the deploy, timed from when it was sent.
    let sent = status
        .generations
        .iter()
        .find(|g| g.id == generation_id)
        .and_then(|g| g.deploy_time.as_ref().or(g.requested_time.as_ref()))
        .map_or_else(|| clock.now(), |t| t.0);
    let deploy_deadline = sent
        .checked_add(jiff::SignedDuration::try_from(settings.deploy_timeout).unwrap_or_default())
        .unwrap_or(sent);
    let finished_at = loop {
        let found = provider
            .find_deployment(TargetCategory::Application, &target_id, generation_id)
            .await
            .map_err(|e| format!("following the deploy: {e}"))?;
        match found.as_ref().map(|d| &d.status) {
            Some(DeploymentStatus::Done) => break clock.now(),
            Some(s @ (DeploymentStatus::Error | DeploymentStatus::Cancelled)) => {
                let word = if *s == DeploymentStatus::Error {
                    "error"
                } else {
                    "cancelled"
                };
                fail(
                    status,
                    format!("deploy: Dokploy deployment {generation_id} ended {word}"),
                );
                return Ok(Driven::Settled);
            }
            _ => {}
        }
        if clock.now() >= deploy_deadline {
            fail(
                status,
                format!(
                    "deploy: Dokploy deployment {generation_id} did not finish within {}s",
                    settings.deploy_timeout.as_secs()
                ),
            );
            return Ok(Driven::Settled);
        }
        if started.elapsed() + settings.poll_delay >= settings.deadline {
            return Ok(Driven::InProgress(format!(
                "deployment {generation_id} is running"
            )));
        }
        tokio::time::sleep(settings.poll_delay).await;
    };

    // 5. Verify the identity at the preview URL.
    let verify_deadline = finished_at
        .checked_add(jiff::SignedDuration::try_from(settings.verify_timeout).unwrap_or_default())
        .unwrap_or(finished_at);
    loop {
        let finding = job.probe().await;
        if finding.verdict.is_matched() {
            status.generations = set_phase(
                &status.generations,
                generation_id,
                GenerationPhase::Ready,
                Some(format!("deploy done; {}", finding.message)),
                clock.now(),
            );
            fresh.identity = Some(finding);
            return Ok(Driven::Settled);
        }
        if clock.now() >= verify_deadline {
            fail(status, finding.message);
            return Ok(Driven::Settled);
        }
        if started.elapsed() + settings.poll_delay >= settings.deadline {
            return Ok(Driven::InProgress(format!(
                "waiting for {} to serve generation {generation_id}",
                names.url
            )));
        }
        tokio::time::sleep(settings.poll_delay).await;
    }
}

/// The Conflict a person resolves: an application of the preview's name that is not ours.
fn conflict_message(id: &str, name: &str, whose: &Ownership) -> String {
    format!(
        "Conflict: Dokploy application {id} is named {name} but {}; Launchplane never adopts, \
         changes or deletes an application it did not create. Rename or delete that application \
         in Dokploy (or change the Product's preview.slugTemplate); the Preview retries on its \
         next resync",
        whose.describe()
    )
}

fn artifact_name(artifact: &Artifact) -> String {
    artifact.metadata.name.clone().unwrap_or_default()
}

/// What teardown needs to know about a preview, from its spec where that still validates and
/// from what its status recorded otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeardownTarget {
    /// The recorded application id, if one was created: the only thing teardown deletes.
    pub target_id: Option<String>,
    /// Who the application must be marked as, to be deleted.
    pub owner: Owner,
    pub host: Option<String>,
    pub url: Option<String>,
    pub preview_id: Option<String>,
    pub health_path: String,
}

impl TeardownTarget {
    /// From the Preview's status (target id, slug, URL) and, when available, its Product;
    /// `instance` is this controller's instance id.
    pub fn of(preview: &Preview, product: Option<&Product>, instance: &str) -> Self {
        let status = preview.status.clone().unwrap_or_default();
        let derived = product.and_then(|p| preview_names(preview, p).ok());
        let product_name = product
            .and_then(|p| p.metadata.name.clone())
            .unwrap_or_else(|| preview.spec.product_ref.name.clone());
        let slug = status
            .slug
            .clone()
            .or_else(|| derived.as_ref().map(|n| n.slug.clone()));
        let url = status
            .url
            .clone()
            .or_else(|| derived.as_ref().map(|n| n.url.clone()));
        let host = url.as_deref().and_then(|u| {
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            rest.split(['/', ':']).next().map(str::to_string)
        });
        TeardownTarget {
            target_id: status.target_id.clone(),
            owner: preview_owner(preview, instance),
            preview_id: slug.as_ref().map(|s| format!("{product_name}-{s}")),
            host,
            url,
            health_path: product.map_or_else(|| "/healthz".into(), |p| p.spec.health_path.clone()),
        }
    }
}

/// Tear a preview down: delete its domain and application, then confirm both are absent from
/// the Dokploy inventory and that its URL no longer answers with its previewId. Any failure
/// keeps the finalizer (the caller writes why).
pub async fn teardown(
    target: &TeardownTarget,
    provider: Option<&dyn Provider>,
    prober: &Prober,
    settings: &PreviewSettings,
) -> Result<TeardownReport, TeardownError> {
    let provider = provider.ok_or(TeardownError::NoProvider)?;
    let mut report = TeardownReport::default();
    let snapshot = provider
        .observe_org()
        .await
        .map_err(|e| TeardownError::Inventory(e.to_string()))?;
    // The recorded id only, and only when its marker, read now, is ours. Never by name: an
    // application of the same name may be anyone's.
    let mut ids: Vec<String> = Vec::new();
    if let Some(id) = &target.target_id {
        match provider.target_detail(TargetCategory::Application, id).await {
            Ok(detail) => match ownership(detail.description.as_deref(), &target.owner) {
                Ownership::Ours => ids.push(id.clone()),
                whose => {
                    report.left_alone = Some(format!(
                        "Dokploy application {id} was recorded for this preview but {}, so it was left in place",
                        whose.describe()
                    ));
                }
            },
            // Already gone: nothing to delete, and the confirmation below still runs.
            Err(ProviderError::NotFound { .. }) => {}
            Err(e) => {
                return Err(TeardownError::OwnershipUnknown {
                    target: id.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    for id in &ids {
        for domain in snapshot
            .domains
            .iter()
            .filter(|d| d.service_owner_id.as_deref() == Some(id.as_str()))
        {
            provider
                .delete_domain(&domain.domain_id)
                .await
                .map_err(|e| TeardownError::Domain {
                    domain: domain.host.clone(),
                    error: e.to_string(),
                })?;
            report.domains.push(domain.host.clone());
        }
        provider
            .delete_application(id)
            .await
            .map_err(|e| TeardownError::Application {
                target: id.clone(),
                error: e.to_string(),
            })?;
        report.application = Some(id.clone());
    }
    if ids.is_empty() {
        // Nothing of ours was deleted (none recorded, already gone, or not ours): whatever
        // still holds the host is someone else's, so there is nothing to confirm. An app
        // created but never recorded carries our marker and is left to the orphan sweep.
        return Ok(report);
    }
    // Confirm.
    let after = provider
        .observe_org()
        .await
        .map_err(|e| TeardownError::Inventory(e.to_string()))?;
    if let Some(id) = ids.iter().find(|id| after.services.iter().any(|s| &s.id == *id)) {
        return Err(TeardownError::StillListed(id.clone()));
    }
    if let Some(host) = &target.host
        && after.domains.iter().any(|d| &d.host == host)
    {
        return Err(TeardownError::DomainStillListed(host.clone()));
    }
    if let (Some(url), Some(host), Some(preview_id)) = (&target.url, &target.host, &target.preview_id) {
        let (base_url, host_header) = match &settings.probe_via {
            Some(via) => (via.trim_end_matches('/').to_string(), Some(host.as_str())),
            None => (url.clone(), None),
        };
        let probe = prober
            .probe_as(
                &ProbeTarget {
                    base_url,
                    health_path: target.health_path.clone(),
                    surfaces: Surfaces::default(),
                },
                host_header,
            )
            .await;
        let observed = combine(&probe.observations);
        if observed.payload.as_ref().and_then(|p| p.preview_id.as_deref()) == Some(preview_id.as_str()) {
            return Err(TeardownError::StillServing {
                url: url.clone(),
                preview_id: preview_id.clone(),
            });
        }
    }
    Ok(report)
}

/// What a sweep saw and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepReport {
    pub plan: SweepPlan,
    /// Target ids deleted this sweep.
    pub deleted: Vec<String>,
    /// Deletions that failed, with why (secret-free).
    pub failed: Vec<(String, String)>,
    /// Candidates left in place because they are not this instance's orphans, with why.
    pub left_alone: Vec<(String, String)>,
}

/// Sweep the preview environment of `product`: list its targets (one `observe_org`), let
/// [`plan_sweep`] pick the candidates, and delete a candidate only when its marker, read now by
/// id, names this `instance`, the product's namespace and a Preview that is not in
/// `live_owners` (the owners of every existing Preview of that namespace). `live`: the
/// pull-request numbers of the product's Previews; `baseline`: the persisted last whole
/// listing (the caller persists [`pure::next_baseline`] of the report).
#[allow(clippy::too_many_arguments)]
pub async fn sweep(
    product: &Product,
    template: Option<&ProviderTarget>,
    live: &BTreeSet<i64>,
    live_owners: &BTreeSet<Owner>,
    instance: &str,
    baseline: Option<&SweepBaseline>,
    provider: Option<&dyn Provider>,
) -> SweepReport {
    let product_name = product.metadata.name.as_deref().unwrap_or_default();
    let listed: Result<(String, Vec<InventoryTarget>), String> = async {
        let provider = provider.ok_or("no Dokploy client for the template target's ProviderConfig")?;
        let template_id = template
            .and_then(claimed_id)
            .ok_or("the preview template target is missing or not bound")?;
        let snapshot = provider.observe_org().await.map_err(|e| e.to_string())?;
        let environment = preview_environment(provider, &snapshot, product, &template_id)
            .await
            .map_err(EnvFailure::message)?;
        let targets = in_environment(&snapshot, &environment)
            .map(|s| InventoryTarget {
                id: s.id.clone(),
                name: s.name.clone().unwrap_or_default(),
            })
            .collect();
        Ok((environment, targets))
    }
    .await;
    let plan = plan_sweep(&SweepInput {
        product: product_name,
        policy: &product.spec.preview,
        inventory: listed
            .as_ref()
            .map(|(environment, targets)| Listing { environment, targets })
            .map_err(Clone::clone),
        baseline,
        live,
    });
    let mut report = SweepReport {
        plan,
        ..SweepReport::default()
    };
    let namespace = product.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(provider) = provider {
        for id in report.plan.delete.clone() {
            let detail = match provider.target_detail(TargetCategory::Application, &id).await {
                Ok(detail) => detail,
                Err(e) => {
                    report
                        .left_alone
                        .push((id, format!("its ownership marker could not be read ({e})")));
                    continue;
                }
            };
            let marked = Owner::in_description(detail.description.as_deref());
            let why_not = match &marked {
                None => Some("it carries no Launchplane ownership marker".to_string()),
                Some(owner) if owner.instance != instance => {
                    Some(format!("it belongs to Launchplane instance {}", owner.instance))
                }
                Some(owner) if owner.namespace != namespace || owner.kind != "Preview" => Some(format!(
                    "its marker names {owner}, not a Preview of namespace {namespace}"
                )),
                Some(owner) if live_owners.contains(owner) => {
                    Some(format!("its Preview {} still exists", owner.name))
                }
                Some(_) => None,
            };
            if let Some(why) = why_not {
                report.left_alone.push((id, why));
                continue;
            }
            match provider.delete_application(&id).await {
                Ok(()) => report.deleted.push(id),
                Err(e) => report.failed.push((id, e.to_string())),
            }
        }
    }
    report
}

/// The orphans still there after the sweep's deletions (what Product status lists).
pub fn orphans_after(report: &SweepReport) -> Vec<launchplane_api::resources::OrphanTarget> {
    report
        .plan
        .orphans
        .iter()
        .filter(|o| !report.deleted.contains(&o.target_id))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::TeardownReport;

    /// Every teardown path words its outcome through [`TeardownReport::summary`]; a preview
    /// that never recorded an application must never read as if one was removed.
    #[test]
    fn the_teardown_summary_says_what_was_removed_and_never_names_a_missing_application() {
        assert_eq!(
            TeardownReport::default().summary(),
            "no application was recorded for it, so nothing was deleted"
        );
        let removed = TeardownReport {
            application: Some("app-1".into()),
            domains: vec!["pr-1.preview.example.com".into()],
            left_alone: None,
        };
        assert_eq!(
            removed.summary(),
            "application app-1 and its domains were removed"
        );
        let kept = TeardownReport {
            left_alone: Some("its ownership marker names another-cluster/shop/Preview/x/u".into()),
            ..TeardownReport::default()
        };
        assert_eq!(
            kept.summary(),
            "nothing was deleted: its ownership marker names another-cluster/shop/Preview/x/u"
        );
    }
}
