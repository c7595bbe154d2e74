//! Where a lane is reached: the base URL of its app, where its identity is probed, and the URL
//! each of its health checks GETs. The shells ask these before they observe; the plan asks
//! [`endpoint`] for the RuntimeIdentity child it expects.

use crate::probe::{ProbeTarget, Surfaces};
use launchplane_api::resources::{
    HealthCheck, HealthCheckType, IdentitySurface, Lane, Product, ProviderTarget,
};

/// The base URL of the lane's app: `spec.runtimeIdentity.baseUrl`, else `https://` and the
/// target's first expected domain.
pub fn base_url(lane: &Lane, target: Option<&ProviderTarget>) -> Option<String> {
    lane.spec
        .runtime_identity
        .base_url
        .clone()
        .or_else(|| {
            target
                .and_then(|t| t.spec.domains.first())
                .map(|d| format!("https://{d}"))
        })
        .map(|u| u.trim_end_matches('/').to_string())
}

/// Where the lane's identity is probed.
pub fn endpoint(
    lane: &Lane,
    product: Option<&Product>,
    target: Option<&ProviderTarget>,
) -> Option<ProbeTarget> {
    let has = |s: IdentitySurface| lane.spec.runtime_identity.surfaces.contains(&s);
    Some(ProbeTarget {
        base_url: base_url(lane, target)?,
        health_path: product
            .map(|p| p.spec.health_path.clone())
            .unwrap_or_else(|| "/healthz".into()),
        surfaces: Surfaces {
            health_json: has(IdentitySurface::HealthJson),
            header: has(IdentitySurface::Header),
            well_known: has(IdentitySurface::WellKnown),
        },
    })
}

/// The URL each health check GETs (`None` for provider checks, or a path with no base URL).
pub fn health_urls(lane: &Lane, target: Option<&ProviderTarget>) -> Vec<(HealthCheck, Option<String>)> {
    let base = base_url(lane, target);
    lane.spec
        .health_checks
        .iter()
        .map(|check| {
            let url = match check.check_type {
                HealthCheckType::Provider => None,
                _ => check
                    .url
                    .clone()
                    .or_else(|| Some(format!("{}{}", base.as_deref()?, check.path.as_deref()?))),
            };
            (check.clone(), url)
        })
        .collect()
}
