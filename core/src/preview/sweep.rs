//! The orphan sweep's decision: which targets of the preview environment no Preview claims,
//! whether this listing may be trusted to delete any (the baseline), and, for each candidate,
//! whether its ownership marker, read fresh by id, makes it this instance's orphan.
//!
//! Rules (see the module above): nothing is deleted unless the inventory call succeeded, a
//! whole listing of the same environment was seen before (the baseline) and this one is not
//! markedly smaller, the policy says `Delete`, and the target follows the preview naming
//! exactly; at most the budget per sweep; and only what carries this instance's marker for a
//! Preview of the product's namespace that no longer exists ([`sweep_verdict`]).

use super::number_of;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{CleanupPolicy, OrphanTarget, PreviewPolicy, SweepBaseline};
use std::collections::BTreeSet;
/// One target of the preview environment, as the inventory call listed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryTarget {
    pub id: String,
    pub name: String,
}

/// One successful listing of the preview environment.
#[derive(Clone, Copy, Debug)]
pub struct Listing<'a> {
    /// The Dokploy environment listed.
    pub environment: &'a str,
    pub targets: &'a [InventoryTarget],
}

/// What the sweep knows.
#[derive(Clone, Debug)]
pub struct SweepInput<'a> {
    pub product: &'a str,
    pub policy: &'a PreviewPolicy,
    /// The preview environment's targets, or why they could not be listed.
    pub inventory: Result<Listing<'a>, String>,
    /// The last whole listing (persisted); `None` before the first one.
    pub baseline: Option<&'a SweepBaseline>,
    /// Pull-request numbers of the Previews that exist (deleting ones included: their own
    /// finalizer tears them down).
    pub live: &'a BTreeSet<i64>,
}

/// What the sweep decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepPlan {
    /// Every orphan, for Product status, with why it is (or is not) being deleted.
    pub orphans: Vec<OrphanTarget>,
    /// Target ids to delete now (within the budget).
    pub delete: Vec<String>,
    /// Why nothing may be deleted this sweep, when that is the case.
    pub refused: Option<String>,
    /// This listing, when it looks whole (or is the first of its environment): what the
    /// baseline becomes, less what the sweep deletes ([`next_baseline`]). `None`: the listing
    /// failed or shrank, and the baseline stays where it was.
    pub whole: Option<SweepBaseline>,
}

/// A listing with fewer than this fraction of the baseline's targets is "markedly fewer": it
/// is more likely broken (a partial answer, a wrong environment) than the previews really gone.
const SHRINK_FLOOR: f64 = 0.5;

/// Whether a listing of `listed` targets is markedly fewer than `baseline`.
fn shrunk(listed: usize, baseline: &SweepBaseline) -> bool {
    let baseline = usize::try_from(baseline.targets).unwrap_or(0);
    (listed as f64) < (baseline as f64) * SHRINK_FLOOR
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Decide the orphan sweep.
pub fn plan_sweep(input: &SweepInput<'_>) -> SweepPlan {
    let listing = match &input.inventory {
        Ok(listing) => *listing,
        Err(why) => {
            return SweepPlan {
                refused: Some(format!(
                    "the preview inventory could not be listed ({why}); nothing is deleted"
                )),
                ..SweepPlan::default()
            };
        }
    };
    let targets = listing.targets;
    let orphaned: Vec<&InventoryTarget> = targets
        .iter()
        .filter(|t| number_of(input.product, input.policy, &t.name).is_some_and(|n| !input.live.contains(&n)))
        .collect();
    let this_listing = SweepBaseline {
        environment_id: listing.environment.to_string(),
        targets: count(targets.len()),
    };
    let (whole, refused) = match input.baseline {
        // No whole listing of this environment yet: one listing cannot tell a whole answer
        // from a partial one or the wrong environment, and a wrong delete cannot be undone.
        // It becomes the baseline; deleting waits for the next sweep.
        None => (
            Some(this_listing),
            Some(format!(
                "this is the first listing of preview environment {} that Launchplane has seen \
                 ({} targets); it becomes the baseline and nothing is deleted until a later sweep \
                 confirms it",
                listing.environment,
                targets.len()
            )),
        ),
        Some(b) if b.environment_id != listing.environment => (
            Some(this_listing),
            Some(format!(
                "the preview environment changed from {} to {}; this listing ({} targets) becomes \
                 the new baseline and nothing is deleted until a later sweep confirms it",
                b.environment_id,
                listing.environment,
                targets.len()
            )),
        ),
        Some(b) if shrunk(targets.len(), b) => (
            None,
            Some(format!(
                "the preview environment lists {} targets, markedly fewer than the {} of the last \
                 whole listing; nothing is deleted until a listing looks whole again (if the \
                 previews really went away, see docs/operations.md to reset the baseline)",
                targets.len(),
                b.targets
            )),
        ),
        Some(_) => (Some(this_listing), None),
    };
    // The policy's refusals first: they hold whatever the listing, and a reason that does not
    // flip between rounds keeps Product status from being rewritten for nothing.
    let refused = if input.policy.cleanup == CleanupPolicy::Report {
        Some("preview.cleanup is Report: orphans are listed, never deleted".into())
    } else if input.policy.delete_budget <= 0 {
        Some("preview.deleteBudget is 0: deletion is disabled".into())
    } else {
        refused
    };
    let budget = usize::try_from(input.policy.delete_budget).unwrap_or(0);
    let delete: Vec<String> = if refused.is_none() {
        orphaned.iter().take(budget).map(|t| t.id.clone()).collect()
    } else {
        Vec::new()
    };
    let orphans = orphaned
        .iter()
        .map(|t| OrphanTarget {
            target_id: t.id.clone(),
            display_name: Some(t.name.clone()),
            reason: Some(if delete.contains(&t.id) {
                "no Preview exists for this preview target; deleting it".into()
            } else if let Some(why) = &refused {
                format!("no Preview exists for this preview target; kept: {why}")
            } else {
                "no Preview exists for this preview target; kept: over this sweep's deleteBudget".into()
            }),
        })
        .collect();
    SweepPlan {
        orphans,
        delete,
        refused,
        whole,
    }
}

/// The baseline to persist after a sweep that planned `plan` and deleted `deleted` targets:
/// a whole listing less its own deletions (the next listing will not show them), else the
/// `previous` baseline unchanged. Never lowered by a failed or shrunken listing.
pub fn next_baseline(
    plan: &SweepPlan,
    previous: Option<&SweepBaseline>,
    deleted: usize,
) -> Option<SweepBaseline> {
    match &plan.whole {
        Some(whole) => Some(SweepBaseline {
            environment_id: whole.environment_id.clone(),
            targets: whole.targets.saturating_sub(count(deleted)).max(0),
        }),
        None => previous.cloned(),
    }
}

/// Whether the sweep may delete a candidate whose description, read fresh by id, is
/// `description`: only when its marker names this `instance`, a Preview of `namespace`, and an
/// owner not in `live_owners` (the owners of every existing Preview of that namespace, of any
/// product). `Some`: why it is left alone.
pub fn sweep_verdict(
    description: Option<&str>,
    instance: &str,
    namespace: &str,
    live_owners: &BTreeSet<Owner>,
) -> Option<String> {
    match Owner::in_description(description) {
        None => Some("it carries no Launchplane ownership marker".to_string()),
        Some(owner) if owner.instance != instance => {
            Some(format!("it belongs to Launchplane instance {}", owner.instance))
        }
        Some(owner) if owner.namespace != namespace || owner.kind != "Preview" => Some(format!(
            "its marker names {owner}, not a Preview of namespace {namespace}"
        )),
        Some(owner) if live_owners.contains(&owner) => {
            Some(format!("its Preview {} still exists", owner.name))
        }
        Some(_) => None,
    }
}
