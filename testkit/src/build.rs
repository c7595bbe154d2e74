//! Builders for every Launchplane kind, in one namespace ([`NS`] unless told otherwise): the
//! `shop` product, its artifacts, lanes, targets and previews as the tests and the benchmarks
//! use them.

use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, DriftPolicy, EnvValue, IdentityEndpoint, IdentityFields, Lane,
    LaneEnv, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, ManagementPolicy, Preview, PreviewPolicy,
    PreviewSpec, Product, ProductSpec, ProviderConfig, ProviderConfigSpec, ProviderTarget,
    ProviderTargetSpec, ProviderTargetStatus, PullRequest, RateLimit, RuntimeIdentity, RuntimeIdentitySpec,
    SecretKeyRef, SourceRef, TargetCategory,
};
use launchplane_api::verdict::Verdict;

/// The namespace fixtures live in.
pub const NS: &str = "shop";

/// The image repository of the `shop` product's artifacts.
pub const IMAGE_REPOSITORY: &str = "ghcr.io/acme/shop";

/// `object`, in [`NS`].
pub fn ns<K: kube::Resource>(object: K) -> K {
    in_namespace(object, NS)
}

/// `object`, in `namespace`.
pub fn in_namespace<K: kube::Resource>(mut object: K, namespace: &str) -> K {
    object.meta_mut().namespace = Some(namespace.into());
    object
}

/// The `shop` image whose digest and commit are `c` repeated.
pub fn artifact(name: &str, c: char) -> Artifact {
    ns(Artifact::new(
        name,
        ArtifactSpec {
            image: ArtifactImage {
                repository: IMAGE_REPOSITORY.into(),
                digest: format!("sha256:{}", c.to_string().repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: c.to_string().repeat(40),
            },
            ..Default::default()
        },
    ))
}

/// The `shop` Product (display name, repository, image repository) with `preview`.
pub fn shop_product(preview: PreviewPolicy) -> Product {
    ns(Product::new(
        "shop",
        ProductSpec {
            display_name: "Shop".into(),
            repository: "github.com/acme/shop".into(),
            image_repository: IMAGE_REPOSITORY.into(),
            preview,
            ..Default::default()
        },
    ))
}

/// Previews on, at `preview.shop.test`, from the `shop-preview-template` target.
pub fn preview_policy() -> PreviewPolicy {
    PreviewPolicy {
        enabled: true,
        base_domain: Some("preview.shop.test".into()),
        template_target_ref: Some(LocalObjectRef::new("shop-preview-template")),
        ..PreviewPolicy::default()
    }
}

/// The `dokploy` ProviderConfig for a Dokploy at `url`, its key in Secret `dokploy-key`
/// (key `api-key`), not throttled.
pub fn provider_config(url: &str) -> ProviderConfig {
    ns(ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: url.into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-key".into(),
                key: "api-key".into(),
            },
            rate_limit: RateLimit {
                requests_per_second: 1000,
                burst: 1000,
            },
            ..Default::default()
        },
    ))
}

/// An Application target of the `dokploy` config bound to `app`, named `name`, whose
/// displayName is `display`.
pub fn target(name: &str, app: &str, display: &str, policy: ManagementPolicy) -> ProviderTarget {
    ns(ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy"),
            target_category: TargetCategory::Application,
            target_id: Some(app.into()),
            display_name: display.into(),
            management_policy: policy,
            ..Default::default()
        },
    ))
}

/// A managed Application target bound to `app`, whose status already says Matched.
pub fn managed_target(name: &str, app: &str) -> ProviderTarget {
    let mut target = target(name, app, name, ManagementPolicy::Manage);
    target.status = Some(ProviderTargetStatus {
        verdict: Some(Verdict::Matched),
        message: Some("matches".into()),
        bound_target_id: Some(app.into()),
        ..Default::default()
    });
    target
}

/// The observed `shop-preview-template` target over the application `id`.
pub fn template_target(id: &str) -> ProviderTarget {
    target(
        "shop-preview-template",
        id,
        "shop-preview-template",
        ManagementPolicy::Observe,
    )
}

/// A lane of `shop` deploying `artifact` to the ProviderTarget `target`, probed at `url`, with
/// `APP_ENV=<stage>` and drift corrected.
pub fn lane(name: &str, target: &str, artifact: &str, url: &str) -> Lane {
    let stage = name.trim_start_matches("shop-").to_string();
    ns(Lane::new(
        name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: stage.clone(),
            target_ref: LocalObjectRef::new(target),
            artifact_ref: Some(LocalObjectRef::new(artifact)),
            env: LaneEnv {
                values: vec![EnvValue {
                    name: "APP_ENV".into(),
                    value: stage,
                }],
                ..Default::default()
            },
            drift_policy: DriftPolicy::Correct,
            runtime_identity: LaneRuntimeIdentity {
                base_url: Some(url.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    ))
}

/// The Preview of pull request `number` of `shop`, running `artifact`.
pub fn preview(name: &str, number: i64, artifact: &str) -> Preview {
    ns(Preview::new(
        name,
        PreviewSpec {
            product_ref: LocalObjectRef::new("shop"),
            pull_request: PullRequest {
                repository: "github.com/acme/shop".into(),
                number,
                url: None,
                head_sha: "a".repeat(40),
            },
            artifact_ref: LocalObjectRef::new(artifact),
            ttl: None,
        },
    ))
}

/// A RuntimeIdentity expecting `artifact` of `shop` in `context`, probed at `url`.
pub fn runtime_identity(name: &str, context: &str, artifact: &str, url: &str) -> RuntimeIdentity {
    ns(RuntimeIdentity::new(
        name,
        RuntimeIdentitySpec {
            expected: IdentityFields {
                product: Some("shop".into()),
                context: Some(context.into()),
                artifact_id: Some(artifact.into()),
                ..Default::default()
            },
            endpoint: IdentityEndpoint {
                base_url: url.into(),
                health_path: "/healthz".into(),
            },
            ..Default::default()
        },
    ))
}
