//! Where a lane is reached: where its identity is probed, and the URL each of its health checks
//! GETs, from its base URL ([`crate::verification::base_url::resolve`]). The shells ask these
//! before they observe; the plan asks [`endpoint`] for the RuntimeIdentity child it expects.

use crate::probe::{ProbeTarget, Surfaces};
use crate::verification::health_path;
use launchplane_api::resources::{HealthCheck, HealthCheckType, IdentitySurface, Lane, Product};

/// Where the lane's identity is probed: `base` (the lane's base URL) and the health path of
/// its Product ([`health_path`]).
pub fn endpoint(lane: &Lane, product: Option<&Product>, base: Option<&str>) -> Option<ProbeTarget> {
    let has = |s: IdentitySurface| lane.spec.runtime_identity.surfaces.contains(&s);
    Some(ProbeTarget {
        base_url: base?.to_string(),
        health_path: health_path(product),
        surfaces: Surfaces {
            health_json: has(IdentitySurface::HealthJson),
            header: has(IdentitySurface::Header),
            well_known: has(IdentitySurface::WellKnown),
        },
    })
}

/// The URL each health check GETs (`None` for provider checks, or a path with no base URL).
pub fn health_urls(lane: &Lane, base: Option<&str>) -> Vec<(HealthCheck, Option<String>)> {
    lane.spec
        .health_checks
        .iter()
        .map(|check| {
            let url = match check.check_type {
                HealthCheckType::Provider => None,
                _ => check
                    .url
                    .clone()
                    .or_else(|| Some(format!("{}{}", base?, check.path.as_deref()?))),
            };
            (check.clone(), url)
        })
        .collect()
}
