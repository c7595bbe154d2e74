//! Fresh evidence about a preview, decided purely: what reading its application by id (and,
//! after a 404, the org listing) says ([`check_target`]), what a probe of its URL says
//! ([`identity_finding`]), and the findings [`super::preview_conditions`] turns into the
//! `TargetVerified` and `RuntimeIdentityVerified` conditions.

use launchplane_api::identity::{Classification, ClassificationReason};
use launchplane_api::ownership::Ownership;
use launchplane_api::verdict::Verdict;

/// One verdict and what it rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    pub message: String,
}

impl Finding {
    pub fn new(verdict: Verdict, message: impl Into<String>) -> Self {
        Finding {
            verdict,
            message: message.into(),
        }
    }
}

/// What one reconcile saw fresh. `None`: not looked at in this reconcile, which is never
/// Matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fresh {
    /// The recorded application, read by id (`TargetVerified`).
    pub target: Option<Finding>,
    /// The identity at the preview URL (`RuntimeIdentityVerified` of a Ready generation).
    pub identity: Option<Finding>,
}

/// Reading the recorded application by id (`application.one`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppRead {
    /// Read, and its marker is this Preview's.
    Ours,
    /// Read, but it is not ours: the sentence says whose it is.
    NotOurs(String),
    /// 404.
    NotFound,
    /// Any other failure (5xx, timeout, malformed answer, unauthorized).
    Failed(String),
}

/// What the org listing (`overview.services`) says about an id, asked after a 404.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listed {
    Present,
    Absent,
    Failed(String),
}

/// What is known about the recorded application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetCheck {
    /// Read by id now, marked as this Preview's.
    Ours,
    /// Read by id now, not ours: a Conflict (never mutated or deleted).
    NotOurs(String),
    /// Deleted: `application.one` answered 404 *and* the org listing no longer lists it.
    Gone,
    /// Could not tell; the id is kept and the check retried.
    Unknown(String),
}

/// Decide what the reads of application `id` say. One 404 is not enough to forget an id:
/// a proxy, a restore in progress or a Dokploy bug can answer 404 for a live application,
/// and forgetting it would create a second one. Only a 404 the org listing agrees with is.
pub fn check_target(id: &str, read: AppRead, listed: Option<Listed>) -> TargetCheck {
    match (read, listed) {
        (AppRead::Ours, _) => TargetCheck::Ours,
        (AppRead::NotOurs(whose), _) => TargetCheck::NotOurs(whose),
        (AppRead::Failed(e), _) => TargetCheck::Unknown(format!(
            "application {id} could not be read ({e}); it is kept and checked again"
        )),
        (AppRead::NotFound, Some(Listed::Absent)) => TargetCheck::Gone,
        (AppRead::NotFound, Some(Listed::Present)) => TargetCheck::Unknown(format!(
            "application.one answered 404 for application {id}, but the org listing still lists \
             it; it is kept and checked again"
        )),
        (AppRead::NotFound, Some(Listed::Failed(e))) => TargetCheck::Unknown(format!(
            "application.one answered 404 for application {id}, and the org listing that would \
             confirm it is gone could not be read ({e}); it is kept and checked again"
        )),
        (AppRead::NotFound, None) => TargetCheck::Unknown(format!(
            "application.one answered 404 for application {id}, not yet confirmed by the org \
             listing; it is kept and checked again"
        )),
    }
}

impl TargetCheck {
    /// The `TargetVerified` finding for application `id`.
    pub fn finding(&self, id: &str) -> Finding {
        match self {
            TargetCheck::Ours => Finding::new(
                Verdict::Matched,
                format!("application {id} read by id; its ownership marker is this Preview's"),
            ),
            TargetCheck::NotOurs(why) => Finding::new(Verdict::Mismatch, why.clone()),
            TargetCheck::Gone => Finding::new(
                Verdict::Missing,
                format!(
                    "application {id} was deleted outside Launchplane (application.one answered 404 \
                     and the org listing no longer lists it); a new one is created and the \
                     generation deployed again"
                ),
            ),
            TargetCheck::Unknown(why) => Finding::new(Verdict::Unverifiable, why.clone()),
        }
    }
}

/// The `RuntimeIdentityVerified` finding of a probe of `url`: Matched only when the identity
/// matched and the health endpoint answered 2xx, now.
pub fn identity_finding(class: &Classification, health: Option<u16>, url: &str) -> Finding {
    let health_text = health.map_or_else(|| "no answer".to_string(), |c| format!("HTTP {c}"));
    let healthy = health.is_some_and(|c| (200..300).contains(&c));
    match (class.reason, healthy) {
        (ClassificationReason::Matched, true) => Finding::new(
            Verdict::Matched,
            format!("health {health_text}; identity Matched at {url}"),
        ),
        (ClassificationReason::Matched, false) if health.is_some() => Finding::new(
            Verdict::Mismatch,
            format!("identity Matched at {url} but its health endpoint answered {health_text}"),
        ),
        (ClassificationReason::Matched, false) => Finding::new(
            Verdict::Unverifiable,
            format!("identity Matched at {url} but its health endpoint did not answer"),
        ),
        _ => Finding::new(
            // A classification that did not match is never read as Matched.
            if class.verdict.is_matched() {
                Verdict::Unverifiable
            } else {
                class.verdict
            },
            format!(
                "identity {} at {url} (health {health_text}): {}",
                class.verdict, class.message
            ),
        ),
    }
}

/// The Conflict a person resolves: an application of the preview's name (or recorded for it)
/// that is not this Preview's.
pub fn conflict_message(id: &str, name: &str, whose: &Ownership) -> String {
    format!(
        "Conflict: Dokploy application {id} is named {name} but {}; Launchplane never adopts, \
         changes or deletes an application it did not create. Rename or delete that application \
         in Dokploy (or change the Product's preview.slugTemplate); the Preview retries on its \
         next resync",
        whose.describe()
    )
}
