//! Promotion: move an artifact from one lane into another (or roll a lane back to an artifact
//! it ran), through gates, by the destination lane's normal deploy pipeline.
//!
//! ```text
//!  Promotion ─► queue (one per destination, earliest created first; others Pending "behind X")
//!            ─► already verified there? ─► Succeeded, nothing deployed
//!            ─► gates (all asked, each Allow / Deny / Defer with its evidence)
//!                 any Deny  ─► Blocked (Stalled)        asked again when what it needs changes
//!                 any Defer ─► Pending (Reconciling)    asked again at the earliest retryAt
//!                 all Allow ─► Deploying: artifact fixed, startTime, BackupGate recorded
//!            ─► the destination's Feed names it ─► the lane writes a DeploymentRecord naming
//!               it (intent first) and deploys it once ─► Succeeded when that record Succeeded
//!               with the runtime identity echoing the artifact (release tuple recorded);
//!               Failed when it Failed (the Feed reverts; the inventory never moved)
//! ```
//!
//! - [`feed`]: what a lane should run, from its Promotions (or its spec), and its hold;
//! - [`gates`]: each gate, a pure function of its evidence;
//! - [`plan`]: the Promotion's status from its lanes, records and evidence;
//! - [`auto`]: the Promotion a lane with `promotion.auto` wants created;
//! - [`verified`]: what a lane runs and verifies now.

pub mod auto;
pub mod feed;
pub mod gates;
mod plan;
pub mod verified;

pub use feed::{Feed, feed};
pub use plan::{PromotionInputs, PromotionPlan, plan, resolved_artifact};
pub use verified::{Verified, verified};

use launchplane_api::resources::{Promotion, PromotionPhase};

/// The label on a Promotion the controller created itself (`promotion.auto`), with value
/// `true`. An automatic Promotion never lifts a rollback's hold, and never passes one.
pub const AUTO_LABEL: &str = "launchplane.dev/auto-promotion";

/// The Promotion's phase (Pending before its first status).
pub fn phase(p: &Promotion) -> PromotionPhase {
    p.status.as_ref().and_then(|s| s.phase).unwrap_or_default()
}

/// A rollback: an artifact named without a source lane.
pub fn is_rollback(p: &Promotion) -> bool {
    p.spec.from_lane.is_none()
}

/// Created by the controller (`promotion.auto`), not by a person.
pub fn is_auto(p: &Promotion) -> bool {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(AUTO_LABEL))
        .is_some_and(|v| v == "true")
}

/// The Promotion's name (empty when it has none).
pub fn name_of(p: &Promotion) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests;
