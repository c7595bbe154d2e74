//! What a lane runs and verifies now: its inventory's artifact, echoed by its app.
//!
//! A promotion reads the source lane (is the artifact there, and for how long?) and the
//! destination (does it run the artifact already?) through [`verified`]. Both need fresh
//! evidence, not what was last deployed: the lane's `RuntimeIdentityVerified` condition must be
//! Matched and the identity the app served must name the inventory's artifact.

use jiff::Timestamp;
use launchplane_api::conditions::{find, status, types};
use launchplane_api::resources::Lane;

/// A lane verified on an artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The Artifact the lane runs and its app echoes.
    pub artifact: String,
    /// Since when, as far as the status tells: the later of the inventory's verification and
    /// the identity's last turn to Matched (a lapse restarts the count).
    pub since: Option<Timestamp>,
    /// The DeploymentRecord the inventory stands on.
    pub record: Option<String>,
}

/// The lane's name (empty when it has none).
fn name(lane: &Lane) -> &str {
    lane.metadata.name.as_deref().unwrap_or_default()
}

/// What `lane` runs and verifies now, or a sentence saying why it verifies nothing.
pub fn verified(lane: &Lane) -> Result<Verified, String> {
    let name = name(lane);
    let Some(s) = lane.status.as_ref() else {
        return Err(format!("Lane {name} has no status yet"));
    };
    let Some(inventory) = s.inventory.as_ref() else {
        return Err(format!("Lane {name} runs no verified artifact yet"));
    };
    let artifact = &inventory.artifact;
    let identity = find(&s.conditions, types::RUNTIME_IDENTITY_VERIFIED);
    let Some(identity) = identity.filter(|c| c.status == status::TRUE) else {
        let (verdict, detail) =
            identity.map_or(("Unchecked", ""), |c| (c.reason.as_str(), c.message.as_str()));
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        return Err(format!(
            "Lane {name} runs {artifact}, but its runtime identity is {verdict}{detail}"
        ));
    };
    let echoed = s
        .observed_identity
        .as_ref()
        .and_then(|o| o.artifact_id.as_deref());
    if echoed != Some(artifact.as_str()) {
        return Err(format!(
            "Lane {name} runs {artifact}, but its app echoes artifact {}",
            echoed.unwrap_or("(none)")
        ));
    }
    let since = [
        inventory.since.as_ref().map(|t| t.0),
        Some(identity.last_transition_time.0),
    ]
    .into_iter()
    .flatten()
    .max();
    Ok(Verified {
        artifact: artifact.clone(),
        since,
        record: inventory.deployment_record.clone(),
    })
}
