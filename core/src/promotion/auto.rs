//! Automatic promotion (`spec.promotion.auto` on the destination lane): when the source lane
//! verifies an artifact the destination neither runs nor has a Promotion for, and no rollback
//! holds the destination, the controller creates the Promotion itself. It then passes the same
//! gates as any other (and Hold denies it should a rollback land meanwhile).
//!
//! Its name is derived from the lane and the artifact ([`name`]), so a controller restarted
//! halfway creates the same object again, which the API server (or the state folder) refuses
//! as existing: never two Promotions for one artifact.

use super::feed::{Feed, into_lane};
use super::verified::verified;
use super::{AUTO_LABEL, name_of};
use launchplane_api::resources::{Lane, LocalObjectRef, Promotion, PromotionSpec};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The longest name an automatic Promotion gets: a DNS-1123 label, as `promotionRef` takes.
pub const MAX_NAME_LEN: usize = 63;

/// `<lane>-auto-<artifact>`, cut and suffixed with a hash of the whole when longer than
/// [`MAX_NAME_LEN`] (so two long names never meet).
pub fn name(lane: &str, artifact: &str) -> String {
    bounded(format!("{lane}-auto-{artifact}"))
}

/// `full` when it fits in [`MAX_NAME_LEN`]; else its start, cut, and a hash of the whole: a
/// name derived from its parts that stays a DNS-1123 label. The Promotions and Approvals the
/// `kubectl launchplane` plugin creates are named this way too.
pub fn bounded(full: String) -> String {
    if full.len() <= MAX_NAME_LEN {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hash = hex::encode(&digest[..6]);
    let keep = MAX_NAME_LEN - hash.len() - 1;
    let prefix = full[..keep].trim_end_matches('-');
    format!("{prefix}-{hash}")
}

/// The Promotion the destination `lane` wants created now, if any: `source` is its
/// `promotion.sourceLane`, `promotions` the namespace's, `feed` the lane's own.
pub fn wanted(
    lane: &Lane,
    source: Option<&Lane>,
    promotions: &[&Promotion],
    feed: &Feed,
) -> Option<Promotion> {
    let rules = lane.spec.promotion.as_ref().filter(|r| r.auto)?;
    if feed.hold.is_some() {
        return None;
    }
    let lane_name = lane.metadata.name.clone()?;
    let verified = verified(source?).ok()?;
    let artifact = verified.artifact;
    let runs = lane
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .is_some_and(|i| i.artifact == artifact);
    let named = name(&lane_name, &artifact);
    let promoted = into_lane(lane, promotions).iter().any(|p| {
        name_of(p) == named
            || p.spec.artifact_ref.as_ref().is_some_and(|r| r.name == artifact)
            || p.status.as_ref().and_then(|s| s.artifact.as_deref()) == Some(artifact.as_str())
    });
    if runs || promoted {
        return None;
    }
    let mut p = Promotion::new(
        &named,
        PromotionSpec {
            product_ref: lane.spec.product_ref.clone(),
            from_lane: Some(rules.source_lane.clone()),
            to_lane: lane_name,
            artifact_ref: Some(LocalObjectRef::new(&artifact)),
            reason: Some(format!(
                "automatic: Lane {} verified {artifact} (spec.promotion.auto)",
                rules.source_lane
            )),
        },
    );
    p.metadata.namespace = lane.metadata.namespace.clone();
    p.metadata.labels = Some(BTreeMap::from([(AUTO_LABEL.to_string(), "true".to_string())]));
    Some(p)
}
