//! RuntimeIdentity: classify what the app's surfaces said against the expected identity.

use super::Outcome;
use crate::probe::{ProbeResult, ProbeTarget, Surfaces};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, Aspect, Progress, reasons as condition_reasons, types};
use launchplane_api::identity::{ClassificationReason, Observed, RuntimeIdentityPayload, classify, combine};
use launchplane_api::resources::{
    IdentitySurface, RuntimeIdentity, RuntimeIdentitySpec, RuntimeIdentityStatus,
};

/// Where and what to probe, from the spec.
pub fn probe_target(spec: &RuntimeIdentitySpec) -> ProbeTarget {
    let has = |s: IdentitySurface| spec.surfaces.contains(&s);
    ProbeTarget {
        base_url: spec.endpoint.base_url.clone(),
        health_path: spec.endpoint.health_path.clone(),
        surfaces: Surfaces {
            health_json: has(IdentitySurface::HealthJson),
            header: has(IdentitySurface::Header),
            well_known: has(IdentitySurface::WellKnown),
        },
    }
}

/// Compute a RuntimeIdentity's status from a probe (`None`: not probed yet).
pub fn reconcile(
    identity: &RuntimeIdentity,
    probe: Option<&ProbeResult>,
    now: Timestamp,
) -> Outcome<RuntimeIdentityStatus> {
    let old = identity.status.clone().unwrap_or_default();
    let spec = &identity.spec;
    let expected = RuntimeIdentityPayload::from(&spec.expected);
    let observed = match probe {
        Some(p) => combine(&p.observations),
        None => Observed::unchecked(),
    };
    let c = classify(&expected, &observed, spec.required);

    let progress = if c.reason == ClassificationReason::Unchecked {
        Progress::Reconciling {
            reason: condition_reasons::PROGRESSING.into(),
            message: "waiting for the first probe".into(),
        }
    } else {
        Progress::Settled
    };
    // A hard failure (Mismatch, Malformed) fails Ready even when the identity is advisory:
    // the route may be serving another artifact.
    let aspect = if spec.required || c.hard_failure {
        Aspect::required(types::RUNTIME_IDENTITY_VERIFIED, c.verdict, c.message.clone())
    } else {
        Aspect::advisory(types::RUNTIME_IDENTITY_VERIFIED, c.verdict, c.message.clone())
    };
    let computed = conditions::compute(
        &old.conditions,
        &[aspect],
        &progress,
        identity.metadata.generation,
        now,
    );
    Outcome {
        status: RuntimeIdentityStatus {
            observed_generation: identity.metadata.generation,
            verdict: Some(computed.verdict),
            reason: Some(c.reason),
            message: Some(c.message),
            conditions: computed.conditions,
            observed: observed.payload,
            mismatches: c.mismatches,
            last_probe_time: if probe.is_some() {
                Some(Time(now))
            } else {
                old.last_probe_time
            },
        },
        transitions: computed.transitions,
    }
}

#[cfg(test)]
mod tests;
