//! What differs on the lane's target from what its reference record deployed, and whether
//! that difference is the lane's own spec change (to deploy) or drift out of band.

use super::pin::ImagePin;
use crate::deployment_record as record;
use crate::target::{DesiredEnv, TargetFacts};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use launchplane_api::conditions::{self, types};
use launchplane_api::identity::{RuntimeIdentityPayload, identity_env};
use launchplane_api::resources::{DeploymentRecord, Lane};
use launchplane_api::verdict::FieldMismatch;
use launchplane_providers::SecretString;
use std::collections::BTreeSet;

/// The full env a record writes: its identity keys and the lane's env, and its image when the
/// target pins the image through the env (`pin`).
pub fn record_env(identity: &RuntimeIdentityPayload, lane_env: &DesiredEnv, pin: &ImagePin) -> DesiredEnv {
    let mut env: DesiredEnv = lane_env.clone();
    for (k, v) in identity_env(identity) {
        env.insert(k, SecretString::new(v));
    }
    pin.pinned(env, identity.image_reference.as_deref())
}

/// Fields in which the observed target differs from what `reference` deployed: the image
/// (values shown: not secret; on a compose, the value of the pin's env key) and each owned env
/// key (names only). For evidence records only the image is compared (someone else wrote the
/// env).
pub fn drift(
    reference: &DeploymentRecord,
    facts: &TargetFacts,
    lane_env: &DesiredEnv,
    pin: &ImagePin,
) -> Vec<FieldMismatch> {
    let mut out = Vec::new();
    let observed = pin.observed(facts);
    if let Some(image) = reference.spec.expected_identity.image_reference.as_deref()
        && observed.as_deref() != Some(image)
    {
        out.push(FieldMismatch::values("image", Some(image), observed));
    }
    if record::is_evidence(reference) {
        return out;
    }
    let identity = RuntimeIdentityPayload::from(&reference.spec.expected_identity);
    let mut wanted = record_env(&identity, lane_env, pin);
    // The pinned image is compared above, as `image`.
    if let Some(key) = pin.env_key() {
        wanted.remove(key);
    }
    match launchplane_providers::env_merge::merge(facts.env.expose(), &wanted, &BTreeSet::new()) {
        Ok(m) => {
            let mut keys: Vec<String> = m.added.into_iter().chain(m.updated).collect();
            keys.sort();
            out.extend(
                keys.into_iter()
                    .map(|k| FieldMismatch::withheld(format!("env.{k}"))),
            );
        }
        Err(e) => out.push(FieldMismatch::values(
            "env",
            Some("mergeable"),
            Some(e.to_string()),
        )),
    }
    out
}

/// Whether the lane's spec changed since `reference` (the record the target is compared with)
/// was planned, so that a difference in env or image is desired state to deploy rather than
/// out-of-band drift.
///
/// The lane's desired state is known to be on the target as of the newest of: the
/// `laneGeneration` the record was planned from, and the generation at which `ConfigSynced`
/// was last True (a spec edit that changed nothing on the target, such as a new health
/// check, moves it too). A lane whose `metadata.generation` is newer than that has a spec
/// change to deploy. Neither secret values nor hashes of them are kept: a rotated Secret or
/// ConfigMap value (no generation bump) shows up as drift, applied only under `driftPolicy:
/// Correct` or once the lane itself is touched. Without generations (records from elsewhere,
/// older records) nothing counts as a spec change.
pub fn spec_changed(lane: &Lane, reference: &DeploymentRecord, old_conditions: &[Condition]) -> bool {
    let Some(generation) = lane.metadata.generation else {
        return false;
    };
    let synced = conditions::find(old_conditions, types::CONFIG_SYNCED)
        .filter(|c| c.status == "True")
        .and_then(|c| c.observed_generation);
    match reference.spec.lane_generation.max(synced) {
        Some(known) => generation > known,
        None => false,
    }
}

pub(super) fn describe(mismatches: &[FieldMismatch]) -> String {
    mismatches
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
