//! ProviderTarget verification: binding by id, adoption by display name, and drift.
//!
//! Rules (DESIGN.md "Reconcile rules"):
//! - targets are bound by id, never by name; a target without an id is adopted by display
//!   name only when exactly one provider target matches (none: Missing, several: Mismatch
//!   with reason Ambiguous); once adopted the id is kept in status and used from then on,
//!   so a later rename shows as a Mismatch rather than as a new adoption;
//! - an id that is gone is Missing; but a target an earlier listing showed and the current one
//!   lacks is only Unverifiable (`AbsenceUnconfirmed`) until a second, later listing also lacks
//!   it: a listing can be partial (D12 in issue 12: a listing that dropped half the apps made
//!   them Missing). The time of the first listing that lacked it is kept in status
//!   ([`ListingHistory`]), so the confirmation survives restarts and a snapshot evaluated twice
//!   never confirms itself;
//! - wrong category or type, a renamed display name, other project/environment, domain drift
//!   and two ProviderTargets claiming one id (Conflict, on both) are Mismatch;
//! - an unreachable, unauthorized or throttled provider, and an observation older than the
//!   staleness window, are Unverifiable: a verdict never outlives its evidence.

use crate::verdict::{FieldMismatch, Verdict};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;

/// Reasons a ProviderTarget verdict carries (the `reason` of its TargetVerified condition).
pub mod reasons {
    pub const MATCHED: &str = "Matched";
    pub const NOT_OBSERVED_YET: &str = "NotObservedYet";
    pub const PROVIDER_UNREACHABLE: &str = "ProviderUnreachable";
    pub const PROVIDER_UNAUTHORIZED: &str = "ProviderUnauthorized";
    pub const PROVIDER_THROTTLED: &str = "ProviderThrottled";
    pub const PROVIDER_ERROR: &str = "ProviderError";
    pub const OBSERVATION_STALE: &str = "ObservationStale";
    pub const TARGET_NOT_FOUND: &str = "TargetNotFound";
    pub const NO_TARGET_NAMED: &str = "NoTargetNamed";
    pub const AMBIGUOUS: &str = "Ambiguous";
    pub const CONFLICT: &str = "Conflict";
    pub const DRIFTED: &str = "Drifted";
    pub const DETAIL_UNAVAILABLE: &str = "DetailUnavailable";
    pub const ABSENCE_UNCONFIRMED: &str = "AbsenceUnconfirmed";
    pub const DEADLINE_PASSED: &str = "DeadlinePassed";
}

/// What the ProviderTarget declares, reduced to what verification compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredTarget {
    /// `application` or `compose`.
    pub category: String,
    /// The provider's id; `None` means "adopt by display name".
    pub target_id: Option<String>,
    pub display_name: String,
    /// Expected provider target type (e.g. `docker`); `None` = not compared.
    pub target_type: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    /// Expected domain hosts; empty = not compared.
    pub domains: BTreeSet<String>,
}

/// One target as the provider reports it (summary from the org-wide calls, plus detail
/// fields when a detail read is available).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedTarget {
    pub id: String,
    pub category: String,
    pub name: String,
    pub status: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub domains: BTreeSet<String>,
    /// The enabled domains as Dokploy routes them (host, https, path), in the listing's order:
    /// what a `verireel` lane takes its base URL from when nothing sets one.
    pub routes: Vec<ObservedRoute>,
    pub last_deploy_at: Option<String>,
    /// From the detail read; `None` until one is available.
    pub target_type: Option<String>,
    pub image: Option<String>,
    /// Names of the env keys set on the target (never values).
    pub env_keys: Option<BTreeSet<String>>,
    /// The target's newest deployment in `deployment.allCentralized` (same poll), if any.
    pub last_deployment: Option<LastDeployment>,
}

/// One domain routed to a target, as `overview.domains` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedRoute {
    pub host: String,
    pub https: bool,
    /// The route's path prefix (`/` or absent: the whole host).
    pub path: Option<String>,
}

/// The newest deployment of a target as the org-wide poll listed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastDeployment {
    pub id: String,
    /// The deployment row's `status` (`running`, `done`, `error`, `cancelled`).
    pub status: String,
    /// When it finished (`finishedAt`), else when it was created (`createdAt`).
    pub at: Option<String>,
}

/// Why the provider could not be observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderFailure {
    Unreachable,
    Unauthorized,
    Throttled,
    /// Server errors and malformed answers: something is wrong, but not our key.
    Other,
    /// The caller's deadline (standalone mode's round deadline, `--timeout`) passed before
    /// Dokploy answered, or before the call could be sent: nothing is known either way.
    DeadlinePassed,
}

/// The state of the shared observation of one ProviderConfig, as the poller holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservationWindow<'a> {
    /// Every target of the organization from the last successful poll, if any.
    pub targets: Option<&'a [ObservedTarget]>,
    /// When the last successful poll completed.
    pub observed_at: Option<Timestamp>,
    /// The failure of the most recent poll, if it failed.
    pub last_failure: Option<(ProviderFailure, String)>,
    pub poll_interval: SignedDuration,
    /// How many poll intervals an observation stays trustworthy.
    pub stale_after_polls: u32,
}

/// What earlier listings established about one ProviderTarget's bound target, as its status
/// keeps it (so it survives restarts in both shells).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingHistory<'a> {
    /// The id of the target as an earlier listing showed it (`status.observed.targetId`).
    pub seen_id: Option<&'a str>,
    /// When the first listing that lacked the bound target was made (`status.firstAbsentTime`).
    pub first_absent_at: Option<Timestamp>,
}

/// Another ProviderTarget of the same ProviderConfig, for conflict detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// `namespace/name` of the other ProviderTarget.
    pub owner: String,
    /// The id it claims (spec targetId, or its bound id from status).
    pub target_id: String,
}

/// The outcome of verifying one ProviderTarget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetVerification {
    pub verdict: Verdict,
    pub reason: &'static str,
    pub message: String,
    /// The id the target is bound to (from spec, status, or this adoption).
    pub bound_target_id: Option<String>,
    pub observed: Option<ObservedTarget>,
    pub mismatches: Vec<FieldMismatch>,
    /// When the first listing that lacked the bound target was made, for status: kept while
    /// it stays absent or cannot be looked for, cleared once a listing shows it.
    pub first_absent_at: Option<Timestamp>,
}

impl TargetVerification {
    fn verdict(verdict: Verdict, reason: &'static str, message: String, bound: Option<String>) -> Self {
        TargetVerification {
            verdict,
            reason,
            message,
            bound_target_id: bound,
            observed: None,
            mismatches: Vec::new(),
            first_absent_at: None,
        }
    }

    fn absent_since(mut self, at: Option<Timestamp>) -> Self {
        self.first_absent_at = at;
        self
    }
}

/// [`verify_target_with_history`] for a target no earlier listing showed: an absent id is
/// Missing at once.
pub fn verify_target(
    desired: &DesiredTarget,
    bound_id: Option<&str>,
    claims: &[Claim],
    window: &ObservationWindow<'_>,
    now: Timestamp,
) -> TargetVerification {
    verify_target_with_history(desired, bound_id, &ListingHistory::default(), claims, window, now)
}

/// Verify one ProviderTarget against the shared observation.
///
/// `bound_id` is the id recorded in status by an earlier adoption; `history` is what earlier
/// listings showed of the target (from its status); `claims` are the ids the other
/// ProviderTargets of the same ProviderConfig claim.
pub fn verify_target_with_history(
    desired: &DesiredTarget,
    bound_id: Option<&str>,
    history: &ListingHistory<'_>,
    claims: &[Claim],
    window: &ObservationWindow<'_>,
    now: Timestamp,
) -> TargetVerification {
    let known_id = desired.target_id.clone().or_else(|| bound_id.map(str::to_string));
    // Nothing below that cannot look for the target changes what is known of its absence.
    let carried = history.first_absent_at;

    if let Some((failure, detail)) = &window.last_failure {
        let (reason, what) = match failure {
            ProviderFailure::Unreachable => (reasons::PROVIDER_UNREACHABLE, "provider unreachable"),
            ProviderFailure::Unauthorized => (reasons::PROVIDER_UNAUTHORIZED, "provider refused the API key"),
            ProviderFailure::Throttled => (reasons::PROVIDER_THROTTLED, "provider throttled the API key"),
            ProviderFailure::Other => (reasons::PROVIDER_ERROR, "provider error"),
            ProviderFailure::DeadlinePassed => (reasons::DEADLINE_PASSED, "the round's deadline passed"),
        };
        return TargetVerification::verdict(
            Verdict::Unverifiable,
            reason,
            format!("{what}: {detail}"),
            known_id,
        )
        .absent_since(carried);
    }
    let (Some(targets), Some(observed_at)) = (window.targets, window.observed_at) else {
        return TargetVerification::verdict(
            Verdict::Unchecked,
            reasons::NOT_OBSERVED_YET,
            "waiting for the first observation of the provider".into(),
            known_id,
        )
        .absent_since(carried);
    };
    let window_len =
        window.poll_interval * i32::try_from(window.stale_after_polls.max(1)).unwrap_or(i32::MAX);
    let age = now.duration_since(observed_at);
    if age > window_len {
        return TargetVerification::verdict(
            Verdict::Unverifiable,
            reasons::OBSERVATION_STALE,
            format!(
                "last successful observation was {}s ago, more than {} poll intervals",
                age.as_secs(),
                window.stale_after_polls
            ),
            known_id,
        )
        .absent_since(carried);
    }

    let bound = match &known_id {
        Some(id) => match targets.iter().find(|t| &t.id == id) {
            Some(t) => t,
            None => return absent(desired, id, history, observed_at),
        },
        None => {
            let candidates: Vec<&ObservedTarget> = targets
                .iter()
                .filter(|t| t.name == desired.display_name && t.category == desired.category)
                .collect();
            match candidates.as_slice() {
                [] => {
                    return TargetVerification::verdict(
                        Verdict::Missing,
                        reasons::NO_TARGET_NAMED,
                        format!(
                            "no {} named {:?} exists in the provider; set spec.targetId or create it",
                            desired.category, desired.display_name
                        ),
                        None,
                    );
                }
                [one] => *one,
                several => {
                    let ids: Vec<&str> = several.iter().map(|t| t.id.as_str()).collect();
                    return TargetVerification::verdict(
                        Verdict::Mismatch,
                        reasons::AMBIGUOUS,
                        format!(
                            "{} {}s are named {:?} (ids {}); set spec.targetId to the intended one",
                            several.len(),
                            desired.category,
                            desired.display_name,
                            ids.join(", ")
                        ),
                        None,
                    );
                }
            }
        }
    };
    let bound_id = Some(bound.id.clone());

    let rivals: Vec<&str> = claims
        .iter()
        .filter(|c| c.target_id == bound.id)
        .map(|c| c.owner.as_str())
        .collect();
    if !rivals.is_empty() {
        let mut v = TargetVerification::verdict(
            Verdict::Mismatch,
            reasons::CONFLICT,
            format!(
                "target id {} is also claimed by ProviderTarget {}; exactly one may claim it",
                bound.id,
                rivals.join(", ")
            ),
            bound_id,
        );
        v.observed = Some(bound.clone());
        return v;
    }

    let mismatches = compare(desired, bound);
    // A field the spec asks to compare but whose evidence (the detail read) is missing: what
    // was compared matched, but that is not a Matched verdict.
    let uncompared = desired.target_type.is_some() && bound.target_type.is_none();
    let mut v = if mismatches.is_empty() && uncompared {
        TargetVerification::verdict(
            Verdict::Unverifiable,
            reasons::DETAIL_UNAVAILABLE,
            format!(
                "providerTargetType could not be compared: Dokploy's detail of {} {} could not be read \
                 (application.one / compose.one); every other field matches, and it is read again at the next poll",
                desired.category, bound.id
            ),
            bound_id,
        )
    } else if mismatches.is_empty() {
        TargetVerification::verdict(
            Verdict::Matched,
            reasons::MATCHED,
            format!("{} {} matches", desired.category, bound.id),
            bound_id,
        )
    } else {
        let fields: Vec<&str> = mismatches.iter().map(|m| m.field.as_str()).collect();
        TargetVerification::verdict(
            Verdict::Mismatch,
            reasons::DRIFTED,
            format!(
                "{} {} differs in {}",
                desired.category,
                bound.id,
                fields.join(", ")
            ),
            bound_id,
        )
    };
    v.mismatches = mismatches;
    v.observed = Some(bound.clone());
    v
}

/// The verdict on a known id the current listing (made at `listed_at`) lacks. A target no
/// earlier listing showed is Missing at once; one that was shown is Missing only when a listing
/// made after the first one that lacked it lacks it too. Re-evaluating the same listing (the
/// cluster verifies each target several times per poll) therefore never confirms an absence.
fn absent(
    desired: &DesiredTarget,
    id: &str,
    history: &ListingHistory<'_>,
    listed_at: Timestamp,
) -> TargetVerification {
    let first = history.first_absent_at.unwrap_or(listed_at);
    if history.seen_id == Some(id) && first >= listed_at {
        return TargetVerification::verdict(
            Verdict::Unverifiable,
            reasons::ABSENCE_UNCONFIRMED,
            format!(
                "{} {id} is absent from the listing of {}; confirming on the next poll (a listing can \
                 be partial: it is Missing only if a later listing lacks it too)",
                desired.category,
                seconds(first)
            ),
            Some(id.to_string()),
        )
        .absent_since(Some(first));
    }
    // The same words on every look at one listing: the status does not flip between them.
    let since = if first < listed_at {
        format!(" (absent from every listing since {})", seconds(first))
    } else {
        String::new()
    };
    TargetVerification::verdict(
        Verdict::Missing,
        reasons::TARGET_NOT_FOUND,
        format!(
            "no {} with id {id} exists in the provider{since}",
            desired.category
        ),
        Some(id.to_string()),
    )
    .absent_since(Some(first))
}

/// A timestamp to the second, for messages.
fn seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn compare(desired: &DesiredTarget, observed: &ObservedTarget) -> Vec<FieldMismatch> {
    let mut out = Vec::new();
    if desired.category != observed.category {
        out.push(FieldMismatch::values(
            "targetCategory",
            Some(&desired.category),
            Some(&observed.category),
        ));
    }
    if let (Some(want), Some(got)) = (&desired.target_type, &observed.target_type)
        && want != got
    {
        out.push(FieldMismatch::values("providerTargetType", Some(want), Some(got)));
    }
    if desired.display_name != observed.name {
        out.push(FieldMismatch::values(
            "displayName",
            Some(&desired.display_name),
            Some(&observed.name),
        ));
    }
    for (field, want, got) in [
        ("project", &desired.project, &observed.project),
        ("environment", &desired.environment, &observed.environment),
    ] {
        if let Some(want) = want.as_ref().filter(|w| !w.is_empty())
            && got.as_ref() != Some(want)
        {
            out.push(FieldMismatch::values(field, Some(want), got.as_ref()));
        }
    }
    if !desired.domains.is_empty() && desired.domains != observed.domains {
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        out.push(FieldMismatch::values(
            "domains",
            Some(join(&desired.domains)),
            Some(join(&observed.domains)),
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
