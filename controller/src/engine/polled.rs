//! What the shared poller read of one ProviderConfig's targets, handed to a lane's drive and to
//! its driver checks (which take a base URL from the target's Dokploy domains).

use jiff::SignedDuration;
use launchplane_core::observation::{PollSettings, SharedFacts, Snapshot};
use std::sync::Arc;

/// The facts the shared poller read of every tracked target of one ProviderConfig, and how
/// old a read may be to stand in for the driver's own (the config's detail interval).
#[derive(Clone, Debug)]
pub struct PolledFacts {
    pub facts: Arc<SharedFacts>,
    pub max_age: SignedDuration,
    /// The org-wide listing of the same poller and its settings: what `provider` health
    /// checks judge (no call of their own). `None`: they are Unverifiable.
    pub listing: Option<(Arc<Snapshot>, PollSettings)>,
}
