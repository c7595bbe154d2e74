//! Classifying an observation against the expected identity.

use super::payload::RuntimeIdentityPayload;
use super::surfaces::{Observed, Surface, snippet};
use crate::verdict::{FieldMismatch, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a classification came out as it did; finer than [`Verdict`] (Unverifiable splits into
/// Malformed and Unreachable, which the policy treats differently).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ClassificationReason {
    /// Every compared field equals the expectation.
    Matched,
    /// A compared field differs, is not served, or two surfaces disagree.
    Mismatch,
    /// A surface served something under the contract's names that breaks it.
    Malformed,
    /// The app answered without an identity.
    Missing,
    /// A surface could not be read (transport error, timeout, non-2xx).
    Unreachable,
    /// Not probed yet.
    #[default]
    Unchecked,
}

impl ClassificationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ClassificationReason::Matched => "Matched",
            ClassificationReason::Mismatch => "Mismatch",
            ClassificationReason::Malformed => "Malformed",
            ClassificationReason::Missing => "Missing",
            ClassificationReason::Unreachable => "Unreachable",
            ClassificationReason::Unchecked => "Unchecked",
        }
    }

    /// The verdict this reason maps to.
    pub fn verdict(self) -> Verdict {
        match self {
            ClassificationReason::Matched => Verdict::Matched,
            ClassificationReason::Mismatch => Verdict::Mismatch,
            ClassificationReason::Malformed | ClassificationReason::Unreachable => Verdict::Unverifiable,
            ClassificationReason::Missing => Verdict::Missing,
            ClassificationReason::Unchecked => Verdict::Unchecked,
        }
    }
}

impl fmt::Display for ClassificationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of checking a served identity against the expected one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    pub verdict: Verdict,
    pub reason: ClassificationReason,
    /// A failure whatever the policy: Mismatch (the route may serve another artifact) and
    /// Malformed (the app breaks the contract).
    pub hard_failure: bool,
    /// The policy this was classified under (`runtimeIdentity.required`).
    pub required: bool,
    /// Every differing field, with both values (identity fields are not secret). Field paths
    /// are payload keys (`artifactId`); a value that disagrees with another surface's is
    /// reported as `key@surface` (`deploymentRecordId@header`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
    /// What was found, for a person. Quoted values are cut short.
    pub message: String,
}

impl Classification {
    /// Whether this fails verification under its policy: hard failures always; Missing and
    /// Unreachable only when the identity is required. Unchecked is never a failure (a probe
    /// is pending, not failed).
    pub fn is_failure(&self) -> bool {
        self.hard_failure
            || (self.required
                && matches!(
                    self.reason,
                    ClassificationReason::Missing | ClassificationReason::Unreachable
                ))
    }

    fn new(reason: ClassificationReason, required: bool, message: String) -> Self {
        Classification {
            verdict: reason.verdict(),
            reason,
            hard_failure: matches!(
                reason,
                ClassificationReason::Mismatch | ClassificationReason::Malformed
            ),
            required,
            mismatches: Vec::new(),
            message,
        }
    }
}

/// Classify what a probe observed against the expected identity.
///
/// In order:
/// 1. Nothing observed yet: Unchecked.
/// 2. Mismatch (hard) when, for any non-empty expected field that a surface which served an
///    identity can carry, the merged value differs or is absent — an app that serves an
///    identity but leaves out an expected field is not shown to be the expected deploy, so
///    "not served" counts as different (observed `None`). Two surfaces serving different
///    values for one field is a Mismatch too, expected or not.
/// 3. Malformed (hard, Unverifiable) when any surface broke the contract, even if another
///    matched: the broken one might have said something else.
/// 4. Matched when an identity was served and every expected field it could carry equals.
///    Fields no serving surface can carry (everything but the record id, when only the header
///    answered) are not compared; if that leaves nothing compared, it is Missing instead: the
///    route served no identity that speaks to the expectation. A surface that was unreachable
///    or silent next to a matching one does not spoil the match.
/// 5. Unreachable (Unverifiable) when a surface could not be read and none served an identity.
/// 6. Missing otherwise: every surface answered without an identity.
///
/// Missing and Unreachable are failures only when `required` (see
/// [`Classification::is_failure`]).
pub fn classify(expected: &RuntimeIdentityPayload, observed: &Observed, required: bool) -> Classification {
    use ClassificationReason as R;

    if observed.is_unchecked() {
        return Classification::new(R::Unchecked, required, "runtime identity not probed yet".into());
    }
    let policy = if required {
        "runtime identity is required"
    } else {
        "advisory: runtime identity is not required"
    };
    let served = observed.payload.as_ref().filter(|p| !p.is_empty());

    let mut mismatches = Vec::new();
    let mut compared = Vec::new();
    let mut uncarried = Vec::new();
    if let Some(payload) = served {
        for (field, want) in expected.fields() {
            if !observed.could_carry(field) {
                uncarried.push(field);
                continue;
            }
            compared.push(field);
            match payload.get(field) {
                Some(got) if field.values_equal(want, got) => {}
                got => mismatches.push(FieldMismatch::values(field.json_key(), Some(want), got)),
            }
        }
    }
    for conflict in &observed.conflicts {
        // Measure the disagreeing value against the expectation when there is one; otherwise
        // against the value it disagrees with. A disagreeing value that equals the
        // expectation adds nothing: the merged value already shows as a mismatch above.
        let reference = expected.get(conflict.field).unwrap_or(&conflict.first_value);
        if !conflict.field.values_equal(reference, &conflict.value) {
            mismatches.push(FieldMismatch::values(
                format!("{}@{}", conflict.field, conflict.surface),
                Some(reference),
                Some(conflict.value.as_str()),
            ));
        }
    }
    if !mismatches.is_empty() {
        let details: Vec<String> = mismatches.iter().map(describe).collect();
        let mut c = Classification::new(
            R::Mismatch,
            required,
            format!(
                "served identity differs from the expected one ({}); the route may serve another artifact",
                details.join("; ")
            ),
        );
        c.mismatches = mismatches;
        return c;
    }

    if !observed.malformed.is_empty() {
        return Classification::new(
            R::Malformed,
            required,
            format!("runtime identity is malformed: {}", list(&observed.malformed)),
        );
    }

    if let Some(payload) = served {
        if compared.is_empty() && !uncarried.is_empty() {
            return Classification::new(
                R::Missing,
                required,
                format!(
                    "only the {} served an identity, and it cannot carry the expected {}; no surface served a full identity ({policy})",
                    surfaces(&observed.found_on),
                    uncarried
                        .iter()
                        .map(|f| f.json_key())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let mut message = if compared.is_empty() {
            format!(
                "served identity ({} fields via {}); the expectation compares no fields",
                payload.fields().count(),
                surfaces(&observed.found_on)
            )
        } else {
            format!(
                "served identity matches on {} via {}",
                compared
                    .iter()
                    .map(|f| f.json_key())
                    .collect::<Vec<_>>()
                    .join(", "),
                surfaces(&observed.found_on)
            )
        };
        if !uncarried.is_empty() {
            message.push_str(&format!(
                "; not observable on the serving surfaces: {}",
                uncarried
                    .iter()
                    .map(|f| f.json_key())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !observed.unreachable.is_empty() {
            message.push_str(&format!("; unreachable: {}", list(&observed.unreachable)));
        }
        return Classification::new(R::Matched, required, message);
    }

    if !observed.unreachable.is_empty() {
        let mut message = format!(
            "runtime identity could not be probed: {}",
            list(&observed.unreachable)
        );
        if !observed.absent.is_empty() {
            message.push_str(&format!("; no identity on: {}", list(&observed.absent)));
        }
        return Classification::new(R::Unreachable, required, format!("{message} ({policy})"));
    }

    Classification::new(
        R::Missing,
        required,
        format!(
            "no runtime identity served: {} ({policy})",
            list(&observed.absent)
        ),
    )
}

/// A mismatch for a message: values quoted and cut short (the full values stay in
/// `mismatches`).
fn describe(m: &FieldMismatch) -> String {
    let show = |v: &Option<String>| v.as_deref().map_or_else(|| "<not served>".to_string(), snippet);
    format!(
        "{}: expected {}, observed {}",
        m.field,
        show(&m.expected),
        show(&m.observed)
    )
}

fn list(items: &[(Surface, String)]) -> String {
    items
        .iter()
        .map(|(s, why)| format!("{s}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn surfaces(items: &[Surface]) -> String {
    items.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
