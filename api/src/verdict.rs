//! The verdict vocabulary: the outcome of every comparison of desired with observed state.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The outcome of comparing desired with observed state.
///
/// Ordered by severity (`Ord`): definite evidence that something is wrong outranks absence,
/// which outranks not knowing, which outranks "not looked yet", which outranks Matched.
/// `worst()` over a set of aspect verdicts gives `status.verdict`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Verdict {
    /// Observed equals desired on every compared field.
    Matched,
    /// Not compared yet (before the first observation or probe).
    #[default]
    Unchecked,
    /// Could not be compared: provider unreachable, unauthorized or throttled, malformed
    /// payload, timeout, or an observation too old to trust.
    Unverifiable,
    /// The observed thing is absent (no such target; endpoint answered without an identity).
    Missing,
    /// Observed differs from desired (wrong image, stale identity, renamed target, domain
    /// drift, an id claimed twice).
    Mismatch,
}

impl Verdict {
    /// Every verdict, best first.
    pub const ALL: [Verdict; 5] = [
        Verdict::Matched,
        Verdict::Unchecked,
        Verdict::Unverifiable,
        Verdict::Missing,
        Verdict::Mismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Matched => "Matched",
            Verdict::Unchecked => "Unchecked",
            Verdict::Unverifiable => "Unverifiable",
            Verdict::Missing => "Missing",
            Verdict::Mismatch => "Mismatch",
        }
    }

    pub fn is_matched(self) -> bool {
        self == Verdict::Matched
    }

    /// The worst of a set of verdicts; `Unchecked` for an empty set.
    pub fn worst<I: IntoIterator<Item = Verdict>>(verdicts: I) -> Verdict {
        verdicts.into_iter().max().unwrap_or(Verdict::Unchecked)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field whose observed value differs from the desired one.
///
/// Values of secret-bearing fields (env values, registry credentials) are never carried:
/// build those with [`FieldMismatch::withheld`], which records only that they differ.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldMismatch {
    /// Path of the compared field, e.g. `image`, `displayName`, `env.LAUNCHPLANE_ARTIFACT_ID`.
    pub field: String,
    /// The desired value; absent when the field should not exist or the value is withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The observed value; absent when the field was not observed or the value is withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// True when the values are secret and therefore not shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

impl FieldMismatch {
    /// A mismatch of a non-secret field, carrying both values.
    pub fn values(
        field: impl Into<String>,
        expected: Option<impl Into<String>>,
        observed: Option<impl Into<String>>,
    ) -> Self {
        FieldMismatch {
            field: field.into(),
            expected: expected.map(Into::into),
            observed: observed.map(Into::into),
            withheld: false,
        }
    }

    /// A mismatch of a secret-bearing field: records that it differs, never the values.
    pub fn withheld(field: impl Into<String>) -> Self {
        FieldMismatch {
            field: field.into(),
            expected: None,
            observed: None,
            withheld: true,
        }
    }
}

impl fmt::Display for FieldMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.withheld {
            return write!(f, "{} differs (value withheld)", self.field);
        }
        let show = |v: &Option<String>| v.as_deref().map_or("<absent>".to_string(), |s| format!("{s:?}"));
        write!(
            f,
            "{}: expected {}, observed {}",
            self.field,
            show(&self.expected),
            show(&self.observed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_orders_definite_failures_above_unknowns() {
        assert_eq!(
            Verdict::worst([Verdict::Matched, Verdict::Unverifiable]),
            Verdict::Unverifiable
        );
        assert_eq!(
            Verdict::worst([Verdict::Missing, Verdict::Unverifiable]),
            Verdict::Missing
        );
        assert_eq!(
            Verdict::worst([Verdict::Missing, Verdict::Mismatch]),
            Verdict::Mismatch
        );
        assert_eq!(
            Verdict::worst([Verdict::Matched, Verdict::Unchecked]),
            Verdict::Unchecked
        );
        assert_eq!(Verdict::worst([]), Verdict::Unchecked);
        assert_eq!(
            Verdict::worst([Verdict::Matched, Verdict::Matched]),
            Verdict::Matched
        );
    }

    #[test]
    fn verdict_serializes_as_its_name() {
        for v in Verdict::ALL {
            assert_eq!(
                serde_json::to_value(v).unwrap_or_default(),
                serde_json::json!(v.as_str())
            );
        }
    }

    #[test]
    fn withheld_mismatch_carries_no_values() {
        let m = FieldMismatch::withheld("env.DATABASE_URL");
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert_eq!(json, r#"{"field":"env.DATABASE_URL","withheld":true}"#);
        assert_eq!(m.to_string(), "env.DATABASE_URL differs (value withheld)");
    }

    #[test]
    fn value_mismatch_displays_both_sides() {
        let m = FieldMismatch::values("displayName", Some("web"), Some("web-old"));
        assert_eq!(
            m.to_string(),
            r#"displayName: expected "web", observed "web-old""#
        );
        let m = FieldMismatch::values("domains", Some("a.test"), None::<String>);
        assert_eq!(m.to_string(), r#"domains: expected "a.test", observed <absent>"#);
    }
}
