//! The runtime-identity contract: how a running app proves which deploy it is.
//!
//! Launchplane injects an identity into every target it deploys and later reads it back from
//! the running app. The identity answers "is the thing serving this route really the artifact
//! this lane (or preview) says it runs?" — a green health check alone cannot tell a stale
//! container from the new one.
//!
//! # Payload
//!
//! [`RuntimeIdentityPayload`], a JSON object of non-secret strings: `product`, `context`,
//! `instance`, `environmentKind` (`stable` | `preview`), `deploymentRecordId`, `artifactId`,
//! `sourceGitRef`, `imageReference`, `releaseTupleId`, `previewId`, `previewGenerationId`,
//! `deployedAt`. Unknown keys are ignored; a known key must hold a string (null and `""` mean
//! "not served"). Because it is not secret, values may appear in status and messages.
//!
//! # Injection
//!
//! [`identity_env`] gives the four [`OWNED_ENV_KEYS`]: the whole payload as compact JSON in
//! `LAUNCHPLANE_RUNTIME_IDENTITY_JSON`, and `LAUNCHPLANE_DEPLOYMENT_RECORD_ID`,
//! `LAUNCHPLANE_ARTIFACT_ID`, `LAUNCHPLANE_SOURCE_GIT_REF` for apps that only echo one value.
//! The tenant's other env keys are preserved by whoever writes these.
//!
//! # Observation
//!
//! An app serves the identity on any of three [`Surface`]s; pure parsers turn each answer into a
//! [`SurfaceObservation`] (Found, Absent, Malformed; the prober adds Unreachable):
//! - the health JSON body, under one of [`IDENTITY_KEYS`], as an object or a string holding
//!   JSON ([`parse_health_body`]);
//! - the `X-Launchplane-Deployment` header, the deployment record id alone
//!   ([`parse_deployment_header`]);
//! - the document at [`WELL_KNOWN_PATH`], the payload itself or wrapped under one of the keys
//!   ([`parse_well_known`]).
//!
//! [`combine`] merges one probe's surfaces into an [`Observed`]; surfaces that disagree on a
//! field are recorded as conflicts.
//!
//! # Classification
//!
//! [`classify`] compares the expectation with the observation. Only fields the expectation
//! sets are compared.
//!
//! | reason | verdict | failure? |
//! |---|---|---|
//! | Matched | Matched | no |
//! | Mismatch (a field differs, is not served, or surfaces disagree) | Mismatch | always (the route may serve another artifact) |
//! | Malformed | Unverifiable | always |
//! | Missing (answered, no identity) | Missing | only if `runtimeIdentity.required` |
//! | Unreachable | Unverifiable | only if `runtimeIdentity.required` |
//! | Unchecked (not probed yet) | Unchecked | no |
//!
//! # Ids
//!
//! [`deployment_record_id`] and [`release_tuple_id`] derive short, deterministic,
//! DNS-1123-label ids, so that a restarted controller recomputes the same record name for the
//! same attempt instead of deploying twice.

mod classify;
mod payload;
mod surfaces;

pub use classify::{Classification, ClassificationReason, classify};
pub use payload::{
    ARTIFACT_ID_ENV, DEPLOYMENT_RECORD_ID_ENV, ENVIRONMENT_KIND_PREVIEW, ENVIRONMENT_KIND_STABLE,
    IdentityField, MAX_FIELD_LEN, OWNED_ENV_KEYS, PayloadError, RUNTIME_IDENTITY_JSON_ENV,
    RuntimeIdentityPayload, SOURCE_GIT_REF_ENV, identity_env,
};
pub use surfaces::{
    DEPLOYMENT_HEADER, IDENTITY_KEYS, MAX_BODY_BYTES, MAX_HEADER_VALUE_LEN, Observed, SNIPPET_CHARS, Surface,
    SurfaceConflict, SurfaceObservation, WELL_KNOWN_PATH, combine, parse_deployment_header,
    parse_health_body, parse_well_known, snippet,
};

use sha2::{Digest, Sha256};

/// Hex digits of the digest kept in derived ids: 48 bits, so an accidental collision between
/// two attempts needs on the order of 16 million records in one namespace.
const ID_HEX_DIGITS: usize = 12;

/// sha256 over `domain` and `parts`, each length-prefixed so that no two different part lists
/// hash the same input (`("a-b", "c")` vs `("a", "b-c")`), then cut to [`ID_HEX_DIGITS`].
fn short_digest(domain: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in std::iter::once(domain).chain(parts.iter().copied()) {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..ID_HEX_DIGITS / 2])
}

/// The id of one deploy attempt: `dr-` and 12 lowercase hex digits of a sha256 over the lane
/// (its uid, or its name where no uid exists, as in standalone mode), the artifact id and the
/// attempt number.
///
/// Deterministic, so the controller can name the DeploymentRecord before mutating the
/// provider and find it again after a restart (write intent, mutate, record outcome: never
/// twice). 15 characters of `[a-z0-9-]`, starting with a letter: a valid DNS-1123 label, hence
/// usable as a resource name, a label value and an env value. Bump `attempt` to redeploy the
/// same artifact into the same lane.
pub fn deployment_record_id(lane_uid_or_name: &str, artifact_id: &str, attempt: u32) -> String {
    let attempt = attempt.to_string();
    format!(
        "dr-{}",
        short_digest(
            "launchplane.dev/deployment-record/v1",
            &[lane_uid_or_name, artifact_id, &attempt]
        )
    )
}

/// The id of a release tuple — one artifact released into one context of one product: `rt-`
/// and 12 hex digits of a sha256 over the three.
///
/// Unlike [`deployment_record_id`] it does not change across attempts, so every redeploy of an
/// artifact to a lane shares it, and a promotion to another lane gets a new one.
pub fn release_tuple_id(product: &str, context: &str, artifact_id: &str) -> String {
    format!(
        "rt-{}",
        short_digest(
            "launchplane.dev/release-tuple/v1",
            &[product, context, artifact_id]
        )
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
