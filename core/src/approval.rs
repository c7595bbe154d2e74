//! Approval: a person's approval of one Promotion. Launchplane does not judge who approved
//! (the API server does, through the chart's admission policy); the status says whether the
//! Promotion it names exists.

use super::Outcome;
use super::ready::{self, Ready};
use jiff::Timestamp;
use launchplane_api::conditions::Progress;
use launchplane_api::resources::{Approval, ApprovalStatus, Promotion};
use launchplane_api::verdict::Verdict;

/// The Approval's status: Matched when the Promotion it names exists (`promotion`), Missing
/// otherwise.
pub fn reconcile(
    approval: &Approval,
    promotion: Option<&Promotion>,
    now: Timestamp,
) -> Outcome<ApprovalStatus> {
    let old = approval.status.clone().unwrap_or_default();
    let name = &approval.spec.promotion_ref.name;
    let (verdict, message) = match promotion {
        Some(_) => (
            Verdict::Matched,
            format!("{} approves Promotion {name}", approval.spec.approver),
        ),
        None => (
            Verdict::Missing,
            format!("spec.promotionRef: Promotion {name} not found in this namespace"),
        ),
    };
    let (conditions, transitions) = ready::conditions(
        &old.conditions,
        Ready {
            ready: promotion.is_some(),
            unknown: false,
            reason: verdict.to_string(),
            message,
        },
        &Progress::Settled,
        approval.metadata.generation,
        now,
    );
    Outcome {
        status: ApprovalStatus {
            observed_generation: approval.metadata.generation,
            verdict: Some(verdict),
            conditions,
        },
        transitions,
    }
}
