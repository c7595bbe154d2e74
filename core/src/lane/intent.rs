//! The intent record of a new deploy attempt (written, phase Pending, before the provider is
//! touched), and the description its deploy is sent with.

use super::name_of;
use crate::deployment_record::{self as record, LANE_LABEL};
use jiff::Timestamp;
use launchplane_api::identity::{deployment_record_id, release_tuple_id};
use launchplane_api::resources::{
    Artifact, DeploymentOrigin, DeploymentPhase, DeploymentRecord, DeploymentRecordSpec,
    DeploymentRecordStatus, EnvironmentKind, IdentityFields, Lane, LocalObjectRef,
};
use std::collections::BTreeMap;

/// The description a record's deploy is sent with.
pub(super) fn deploy_description(lane_name: &str, r: &DeploymentRecord) -> String {
    format!(
        "launchplane lane {lane_name}: artifact {}",
        r.spec.artifact_ref.name
    )
}

/// The intent record of attempt `attempt` to deploy `artifact` to `lane`.
pub fn new_record(
    lane: &Lane,
    lane_key: &str,
    product: &str,
    artifact: &Artifact,
    attempt: u32,
    why: &str,
    now: Timestamp,
) -> DeploymentRecord {
    let lane_name = name_of(&lane.metadata);
    let artifact_name = name_of(&artifact.metadata);
    let id = deployment_record_id(lane_key, &artifact_name, attempt);
    let expected = IdentityFields {
        product: Some(product.to_string()),
        context: Some(lane.spec.stage.clone()),
        instance: None,
        environment_kind: Some(EnvironmentKind::Stable),
        deployment_record_id: Some(id.clone()),
        artifact_id: Some(artifact_name.clone()),
        source_git_ref: Some(artifact.spec.source.commit.clone()),
        image_reference: Some(artifact.spec.image_reference()),
        release_tuple_id: Some(release_tuple_id(product, &lane.spec.stage, &artifact_name)),
        preview_id: None,
        preview_generation_id: None,
    };
    let mut requested_by = format!("lane/{lane_name}: {why}");
    if requested_by.len() > 253 {
        let mut cut = 250;
        while !requested_by.is_char_boundary(cut) {
            cut -= 1;
        }
        requested_by.truncate(cut);
        requested_by.push_str("...");
    }
    let mut rec = DeploymentRecord::new(
        &id,
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new(&lane_name)),
            preview_ref: None,
            artifact_ref: LocalObjectRef::new(&artifact_name),
            promotion_ref: None,
            target_ref: lane.spec.target_ref.clone(),
            expected_identity: expected,
            origin: DeploymentOrigin::Controller,
            requested_by: Some(requested_by),
            lane_generation: lane.metadata.generation,
        },
    );
    rec.metadata.namespace = lane.metadata.namespace.clone();
    rec.metadata.labels = Some(BTreeMap::from([
        (LANE_LABEL.to_string(), lane_name),
        (record::ATTEMPT_LABEL.to_string(), attempt.to_string()),
    ]));
    let status = DeploymentRecordStatus {
        phase: Some(DeploymentPhase::Pending),
        ..Default::default()
    };
    rec.status = Some(record::summarize(&rec, status, now));
    rec
}
