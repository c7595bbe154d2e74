//! Previews, the I/O shell around [`launchplane_core::preview`]: a pull request's preview
//! planned one step at a time like a lane ([`drive`]: read what the plan needs, plan, perform
//! the one step through the one [`Executor`](crate::engine::executor::Executor), again),
//! torn down on deletion ([`teardown`]), and the orphaned preview targets swept ([`sweep`]).
//!
//! ```text
//!  PreviewWorld ─► needs ─► observe (Executor reads, Prober) ─► plan ─► status + ≤ 1 step
//!                    ▲                                                      │
//!                    └──── StatusStore (saved first) ◄── Executor::perform ◄┘
//! ```
//!
//! The same functions run in the cluster (engine::kinds::preview, engine::kinds::product) and
//! in standalone mode; every decision is the core's, so both give the same verdict, reason and
//! message for the same facts.
//!
//! Ownership ([`launchplane_api::ownership`]): every preview application is created with the
//! marker `launchplane.dev/owner=<instance>/<namespace>/Preview/<name>/<uid>` in its Dokploy
//! description. An application of the preview's name without that exact marker (made by hand,
//! by another Launchplane, or by an earlier Preview of the same name) is never adopted,
//! mutated or deleted: the Preview stalls with a Conflict that says what to do. Teardown
//! deletes only the recorded id, after reading its marker fresh; the sweep deletes only
//! applications marked by this instance for a Preview that no longer exists.
//!
//! Setup problems (the environment, the template, a name conflict, Dokploy refusing the
//! application or its domain) stall the Preview and leave the generation requested: the next
//! resync tries again, so fixing the setup is enough. Only the deploy and its verification
//! fail a generation.
//!
//! What the preview app gets (documented in docs/resources.md): the Artifact's image by digest;
//! env keys `LAUNCHPLANE_RUNTIME_IDENTITY_JSON`, `LAUNCHPLANE_DEPLOYMENT_RECORD_ID` (the
//! generation id), `LAUNCHPLANE_ARTIFACT_ID`, `LAUNCHPLANE_SOURCE_GIT_REF`,
//! `LAUNCHPLANE_PREVIEW_URL` and `PUBLIC_URL`; one domain, `<slug>.<baseDomain>`, on the
//! product's runtime port. The template target's own env is not copied (it usually holds a
//! stable lane's credentials).

mod drive;
mod observe;
mod sweep;
mod teardown;

pub use drive::{PreviewReport, PreviewWorld, drive};
pub use launchplane_core::preview::{
    DEFAULT_INSTANCE, PreviewSettings, TeardownError, TeardownReport, TeardownTarget, expiry, preview_names,
    preview_owner,
};
pub use sweep::{SweepReport, orphans_after, sweep};
pub use teardown::teardown;

/// How many steps one cluster reconcile of a Preview may take: enough for one generation
/// (create, record, domain, image, env, deploy, one re-send) and no more, so a plan that keeps
/// choosing a step cannot spin; the waits are bounded by the deadline.
pub const CLUSTER_PREVIEW_STEPS: usize = 8;
