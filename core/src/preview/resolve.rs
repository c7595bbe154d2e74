//! Stage 1 of the preview pipeline: the Preview's references, before anything is read from
//! Dokploy. A missing Product, template or Artifact, previews turned off, an Artifact not
//! pinned to a digest, an expired ttl, or no Dokploy client: the pipeline stops here (stalled
//! or expired) and reads nothing. Otherwise the [`Job`]: everything the generation is called
//! and deploys, and the status with the generation requested.

use super::decision::Pace;
use super::{PreviewNames, expected_identity, generation_id, names, request_generation};
use crate::artifact;
use crate::probe::{ProbeTarget, Surfaces};
use crate::provider_target::claimed_id;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::identity::RuntimeIdentityPayload;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{Artifact, Preview, PreviewStatus, Product, ProviderTarget};

use super::settings::{PROVIDER_RETRY, PreviewSettings};

/// What one Preview is planned from besides its status: the objects it references (read by the
/// caller from the cluster or the folder) and whether there is a Dokploy client to reach its
/// template target's ProviderConfig.
#[derive(Clone, Copy)]
pub struct PreviewInputs<'a> {
    pub preview: &'a Preview,
    pub product: Option<&'a Product>,
    /// The Product's `preview.templateTargetRef`.
    pub template: Option<&'a ProviderTarget>,
    pub artifact: Option<&'a Artifact>,
    /// Whether a Dokploy client exists for the template target's ProviderConfig.
    pub provider: bool,
}

/// The generation a Preview's spec asks for, and everything it is called and deploys.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    pub names: PreviewNames,
    pub product: &'a Product,
    /// The Dokploy application the template ProviderTarget is bound to.
    pub template_id: String,
    pub artifact: &'a Artifact,
    /// Who the preview's application is marked as.
    pub owner: Owner,
    /// The generation id: the deploy's title and the identity's `previewGenerationId`.
    pub generation_id: String,
    /// The image, by digest.
    pub image: String,
}

impl Job<'_> {
    pub fn product_name(&self) -> &str {
        self.product.metadata.name.as_deref().unwrap_or_default()
    }

    /// The identity this generation's app must serve.
    pub fn identity(&self) -> RuntimeIdentityPayload {
        expected_identity(
            self.product_name(),
            &self.names,
            &self.generation_id,
            self.artifact.metadata.name.as_deref().unwrap_or_default(),
            &self.artifact.spec.source.commit,
            &self.image,
        )
    }
}

/// Where stage 1 left the Preview.
pub(super) enum Resolved<'a> {
    /// Go on: read what the generation's phase needs, then plan.
    Job(Box<Job<'a>>, PreviewStatus),
    /// Stop here: nothing is read from Dokploy.
    Early(PreviewStatus, Pace),
}

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

/// When `preview` (with `status`) expires: the recorded time, else creation (or the first
/// generation's request, in standalone mode, where manifests carry no creation time; else
/// now) plus `ttl`.
pub fn expiry(preview: &Preview, status: &PreviewStatus, now: Timestamp) -> Option<Timestamp> {
    let created = preview
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| {
            status
                .generations
                .first()
                .and_then(|g| g.requested_time.as_ref())
                .map(|t| t.0)
        })
        .unwrap_or(now);
    match status.expires_at.as_ref() {
        Some(at) if preview.spec.ttl.is_some() => Some(at.0),
        _ => super::expires_at(created, preview.spec.ttl.as_deref()),
    }
}

/// Where to probe the preview URL: through `probe_via` with the preview host as `Host`, or
/// the public URL itself.
pub fn probe_target(
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

/// What a Preview whose Artifact does not exist yet says: which Artifact, built from which
/// commit, and who makes it.
pub fn awaiting_artifact(preview: &Preview) -> String {
    let head = &preview.spec.pull_request.head_sha;
    format!(
        "waiting for Artifact {}, the build of head commit {}: CI creates it after pushing the \
         image (an Artifact with that name, source.commit {head}); nothing is deployed until it \
         exists",
        preview.spec.artifact_ref.name,
        head.get(..12).unwrap_or(head),
    )
}

fn blocked(reason: &str, message: String) -> Pace {
    Pace::Blocked {
        reason: reason.into(),
        message,
        retry: None,
    }
}

/// Stage 1: the references, in order; the generation requested when they all resolve.
pub(super) fn resolve<'a>(
    inputs: &PreviewInputs<'a>,
    status: &PreviewStatus,
    settings: &PreviewSettings,
    now: Timestamp,
) -> Resolved<'a> {
    let preview = inputs.preview;
    let old = status;
    let Some(product) = inputs.product else {
        let message = format!(
            "spec.productRef names Product {}, which does not exist",
            preview.spec.product_ref.name
        );
        return Resolved::Early(old.clone(), blocked("ProductNotFound", message));
    };
    let names = match preview_names(preview, product) {
        Ok(n) => n,
        Err(e) => return Resolved::Early(old.clone(), blocked("PreviewsNotEnabled", e)),
    };
    let expires_at = expiry(preview, old, now);
    let mut status = PreviewStatus {
        observed_generation: preview.metadata.generation,
        url: Some(names.url.clone()),
        slug: Some(names.slug.clone()),
        expires_at: expires_at.map(Time),
        ..old.clone()
    };
    if super::is_expired(expires_at, now) {
        let message = format!(
            "spec.ttl {} has passed; the Preview is being deleted",
            preview.spec.ttl.as_deref().unwrap_or_default()
        );
        return Resolved::Early(status, Pace::Expired(message));
    }
    let Some(template) = inputs.template else {
        let message =
            "the Product's preview.templateTargetRef names a ProviderTarget that does not exist".to_string();
        return Resolved::Early(status, blocked("TemplateTargetNotFound", message));
    };
    let Some(template_id) = claimed_id(template) else {
        let message = format!(
            "the template ProviderTarget {} is not bound to a Dokploy target yet",
            template.metadata.name.as_deref().unwrap_or_default()
        );
        return Resolved::Early(status, blocked("TemplateTargetNotBound", message));
    };
    let Some(artifact) = inputs.artifact else {
        return Resolved::Early(status, Pace::AwaitingArtifact(awaiting_artifact(preview)));
    };
    if let Err(e) = artifact::check(&artifact.spec) {
        return Resolved::Early(status, blocked("ArtifactNotPinned", e));
    }
    if let Err(e) = artifact::check_repository(artifact, product) {
        return Resolved::Early(status, blocked(artifact::REPOSITORY_MISMATCH, e));
    }
    if let Err(e) = artifact::check_commit(artifact, &preview.spec.pull_request.head_sha) {
        return Resolved::Early(status, blocked(artifact::COMMIT_MISMATCH, e));
    }
    if !inputs.provider {
        let pace = Pace::Blocked {
            reason: "ProviderUnavailable".into(),
            message: "no Dokploy client for the template target's ProviderConfig (see its status)".into(),
            retry: Some(PROVIDER_RETRY),
        };
        return Resolved::Early(status, pace);
    }

    let head = &preview.spec.pull_request.head_sha;
    let artifact_name = &preview.spec.artifact_ref.name;
    let limit = usize::try_from(product.spec.preview.history_limit).unwrap_or(10);
    let (generations, _) = request_generation(
        &status.generations,
        &names.preview_id,
        head,
        artifact_name,
        now,
        limit,
    );
    status.generations = generations;
    let job = Job {
        generation_id: generation_id(&names.preview_id, head, artifact_name),
        names,
        product,
        template_id,
        artifact,
        owner: preview_owner(preview, &settings.instance),
        image: artifact.spec.image_reference(),
    };
    Resolved::Job(Box::new(job), status)
}
