//! `launchplane webhooks`: the receiver of GitHub pull-request deliveries and Dokploy deploy
//! notifications, its own server apart from the controller.
//!
//! ```text
//!  GitHub ──POST /github──► rate limit ─► size ─► signature ─► replay ─► payload
//!                              ─► Products naming the repository ─► core::pull_request::decide
//!                              ─► create / update / delete the receiver's Previews (API server)
//!  resync (optional) ──GitHub REST: open pull requests──► the same decision, never a delete
//!  Dokploy ──POST /dokploy/{ns}/{config}──► token ─► annotate the ProviderConfig
//!                              ─► the controller polls that config at once
//! ```
//!
//! Why its own server: it faces the internet (GitHub, Dokploy), so it holds no Dokploy API key
//! and needs only narrow rights (read Products and ProviderConfigs, write Previews, annotate
//! ProviderConfigs, read its Secrets); it runs without leader election on any number of
//! replicas; and the controller's restarts or leader changes lose no delivery, because what a
//! delivery asks for is written to the API server (a Preview, an annotation) and the controller
//! that leads picks it up from its watches.

pub mod limit;
pub mod metrics;
pub mod payload;
pub mod receiver;
pub mod replay;
pub mod resync;
pub mod signature;
pub mod store;
