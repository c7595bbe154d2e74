//! What standalone mode prints: one row per resource (built from the status each reconcile
//! wrote), as a table or as JSON.

use crate::engine::kinds::product::ProductRun;
use crate::engine::preview::{SweepReport, TeardownReport, orphans_after};
use crate::engine::{Error, Kind};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use launchplane_api::Verdict;
use launchplane_api::conditions::{find, types};
use launchplane_api::identity::ClassificationReason;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DataBootstrap, Incident, Lane, NotificationPolicy, Preview,
    PreviewStatus, Product, Promotion, PromotionPhase, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub verdict: Verdict,
    pub reason: String,
    pub message: String,
    /// Whether this verdict decides the exit code (advisory verdicts are shown, not enforced).
    pub required: bool,
}

impl Row {
    /// A required verdict that is not Matched.
    pub fn is_failure(&self) -> bool {
        self.required && !self.verdict.is_matched()
    }
}

/// A fixed-width table; messages are kept whole on the last column.
pub fn table(rows: &[Row]) -> String {
    let headers = ["KIND", "NAMESPACE", "NAME", "VERDICT", "REASON"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                if r.required {
                    r.verdict.to_string()
                } else {
                    format!("{} (advisory)", r.verdict)
                },
                r.reason.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cols: &[&str], msg: &str| {
        for (c, w) in cols.iter().zip(widths.iter()) {
            out.push_str(&format!("{c:<w$}  "));
        }
        out.push_str(msg);
        out.push('\n');
    };
    line(&mut out, &headers, "MESSAGE");
    for (row, r) in cells.iter().zip(rows) {
        let cols: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &cols, &r.message);
    }
    out
}

/// The reason and message of the Stalled condition when it is True, else of Ready: what a
/// person reads first.
pub fn summary(conditions: &[Condition], verdict: Option<Verdict>) -> (String, String) {
    let stalled = find(conditions, types::STALLED).filter(|c| c.status == "True");
    let ready = find(conditions, types::READY);
    match (stalled, ready) {
        (Some(c), _) | (None, Some(c)) => (c.reason.clone(), c.message.clone()),
        _ => (verdict.unwrap_or_default().to_string(), String::new()),
    }
}

fn row_of<K: Kind>(
    object: &K,
    verdict: Option<Verdict>,
    reason: String,
    message: String,
    required: bool,
) -> Row {
    Row {
        kind: K::KIND.into(),
        namespace: object.namespace_or_default().into(),
        name: object.name_or_empty().into(),
        verdict: verdict.unwrap_or_default(),
        reason,
        message,
        required,
    }
}

/// What a failed reconcile adds to its row: the status says where the object stands, this
/// says what is retried.
fn with_error(message: String, error: Option<Error>) -> String {
    match error {
        None => message,
        Some(error) => {
            let what = match error {
                Error::LaneStep { message, .. } | Error::Teardown { message, .. } => message,
                other => other.to_string(),
            };
            if message.is_empty() {
                format!("(last step: {what}; retried next round)")
            } else {
                format!("{message} (last step: {what}; retried next round)")
            }
        }
    }
}

/// The row of a kind whose Ready (or Stalled) condition says it all.
fn by_conditions<K: Kind>(object: &K, conditions: &[Condition], error: Option<Error>) -> Row {
    let verdict = object.status().and_then(K::verdict);
    let (reason, message) = summary(conditions, verdict);
    row_of(object, verdict, reason, with_error(message, error), true)
}

pub fn provider_config(config: &ProviderConfig, error: Option<Error>) -> Row {
    let conditions = config
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    by_conditions(config, conditions, error)
}

pub fn provider_target(target: &ProviderTarget, error: Option<Error>) -> Row {
    let status = target.status.clone().unwrap_or_default();
    let message = status.message.clone().unwrap_or_default();
    row_of(
        target,
        status.verdict,
        status.reason.clone().unwrap_or_default(),
        with_error(message, error),
        true,
    )
}

pub fn runtime_identity(identity: &RuntimeIdentity, error: Option<Error>) -> Row {
    let status = identity.status.clone().unwrap_or_default();
    // Mismatch and Malformed fail even an advisory identity: the route may serve another
    // artifact. Missing and Unreachable fail only a required one.
    let required = identity.spec.required
        || status.verdict == Some(Verdict::Mismatch)
        || status.reason == Some(ClassificationReason::Malformed);
    row_of(
        identity,
        status.verdict,
        status.reason.map(|r| r.to_string()).unwrap_or_default(),
        with_error(status.message.clone().unwrap_or_default(), error),
        required,
    )
}

pub fn lane(lane: &Lane, error: Option<Error>) -> Row {
    let conditions = lane
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    by_conditions(lane, conditions, error)
}

/// A Promotion's row: waiting (Pending, Deploying) is shown, not enforced; Blocked and Failed
/// fail the run (a person has to act), Succeeded passes it.
pub fn promotion(promotion: &Promotion, error: Option<Error>) -> Row {
    let status = promotion.status.as_ref();
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let phase = status.and_then(|s| s.phase).unwrap_or_default();
    let mut row = by_conditions(promotion, conditions, error);
    row.required = !matches!(phase, PromotionPhase::Pending | PromotionPhase::Deploying);
    row
}

/// A BackupGate's row: evidence, shown (a failed backup is the workflow's news, and blocks the
/// Promotions that need it there).
pub fn backup_gate(gate: &BackupGate, error: Option<Error>) -> Row {
    let conditions = gate
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let mut row = by_conditions(gate, conditions, error);
    row.required = false;
    row
}

/// A NotificationPolicy's row: shown, not enforced (a failing destination is the policy's
/// news, never a failed drift check).
pub fn notification_policy(policy: &NotificationPolicy, error: Option<Error>) -> Row {
    let conditions = policy
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let mut row = by_conditions(policy, conditions, error);
    row.required = false;
    row
}

/// An Approval's row: shown, not enforced (a Promotion it names not existing is its news).
pub fn approval(approval: &Approval, error: Option<Error>) -> Row {
    let conditions = approval
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let mut row = by_conditions(approval, conditions, error);
    row.required = false;
    row
}

/// A DataBootstrap's row: its Ready condition (Blocked and Failed are a person's news).
pub fn data_bootstrap(bootstrap: &DataBootstrap, error: Option<Error>) -> Row {
    let conditions = bootstrap
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    by_conditions(bootstrap, conditions, error)
}

pub fn artifact(artifact: &Artifact, error: Option<Error>) -> Row {
    let conditions = artifact
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    by_conditions(artifact, conditions, error)
}

pub fn product(product: &Product, run: Result<ProductRun, Error>) -> Row {
    let conditions = product
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    match run {
        Ok(run) => {
            let mut row = by_conditions(product, conditions, None);
            if let Some(sweep) = &run.sweep {
                row.message = format!("{}; {}", row.message, sweep_message(sweep, run.previews));
            }
            row
        }
        Err(error) => by_conditions(product, conditions, Some(error)),
    }
}

/// One line for a person about the sweep.
pub fn sweep_message(report: &SweepReport, previews: usize) -> String {
    let mut parts = vec![format!("{previews} previews")];
    let left = orphans_after(report).len();
    if left > 0 {
        parts.push(format!("{left} orphaned preview targets"));
    }
    if !report.deleted.is_empty() {
        parts.push(format!("{} orphans deleted", report.deleted.len()));
    }
    for (id, e) in &report.failed {
        parts.push(format!("deleting orphan {id} failed: {e}"));
    }
    if let Some(why) = &report.plan.refused
        && left > 0
    {
        parts.push(why.clone());
    }
    parts.join("; ")
}

fn preview_reason(status: &PreviewStatus) -> String {
    summary(&status.conditions, status.verdict).0
}

/// The Ready message, after the generation the preview URL serves.
fn preview_message(status: &PreviewStatus) -> String {
    let (_, message) = summary(&status.conditions, status.verdict);
    let serving = status
        .serving_generation
        .as_deref()
        .map(|g| format!("serving {g} at {}", status.url.as_deref().unwrap_or_default()));
    match serving {
        Some(s) if !message.is_empty() => format!("{s}; {message}"),
        Some(s) => s,
        None => message,
    }
}

/// A Preview reconciled this round; `retried` is a transient failure its status also names.
pub fn preview(preview: &Preview, error: Option<Error>, retried: Option<String>) -> Row {
    let status = preview.status.clone().unwrap_or_default();
    let mut message = with_error(preview_message(&status), error);
    if let Some(e) = retried {
        message = format!("{message} (last step: {e}; retried next round)");
    }
    row_of(preview, status.verdict, preview_reason(&status), message, true)
}

/// A Preview whose ttl passed, torn down (or not) this round.
pub fn expired_preview(preview: &Preview, torn: Result<TeardownReport, Error>) -> Row {
    let status = preview.status.clone().unwrap_or_default();
    let (verdict, message) = match torn {
        Ok(done) => (
            Verdict::Missing,
            format!(
                "spec.ttl has passed: {}; remove its manifest from the folder",
                done.summary()
            ),
        ),
        Err(e) => (
            Verdict::Unverifiable,
            format!(
                "spec.ttl has passed; teardown failed, retried next round: {}",
                teardown_failure(e)
            ),
        ),
    };
    row_of(preview, Some(verdict), preview_reason(&status), message, true)
}

/// A Preview whose manifest left the folder, torn down (or not) this round.
pub fn removed_preview(preview: &Preview, torn: Result<TeardownReport, Error>) -> Row {
    let (verdict, reason, message) = match torn {
        Ok(done) => (
            Verdict::Matched,
            "TornDown".to_string(),
            format!("the manifest is gone: {}", done.summary()),
        ),
        Err(e) => (
            Verdict::Unverifiable,
            "TeardownFailed".to_string(),
            format!(
                "the manifest is gone but the teardown failed (retried next round): {}",
                teardown_failure(e)
            ),
        ),
    };
    row_of(preview, Some(verdict), reason, message, true)
}

/// An Incident's row: shown, never enforced (the lane's own row fails the run). Its reason is
/// its state; its message what failed and the `Resolved` condition's sentence.
pub fn incident(incident: &Incident) -> Row {
    let status = incident.status.clone().unwrap_or_default();
    let state = status.state.unwrap_or_default();
    let said = find(&status.conditions, launchplane_core::incident::RESOLVED)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    let spec = &incident.spec;
    let whose = if spec.product.is_empty() {
        format!("{} {}", spec.kind.as_str(), spec.lane)
    } else {
        format!("{}/{}", spec.product, spec.lane)
    };
    row_of(
        incident,
        status.verdict,
        state.as_str().to_string(),
        format!("{whose} {}: {said}", spec.check),
        false,
    )
}

fn teardown_failure(error: Error) -> String {
    match error {
        Error::Teardown { message, .. } => message,
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(kind: &str, verdict: Verdict, required: bool) -> Row {
        Row {
            kind: kind.into(),
            namespace: "shop".into(),
            name: "web".into(),
            verdict,
            reason: "Drifted".into(),
            message: "displayName differs".into(),
            required,
        }
    }

    #[test]
    fn table_aligns_columns_and_marks_advisory_verdicts() {
        let out = table(&[
            row("ProviderTarget", Verdict::Mismatch, true),
            row("RuntimeIdentity", Verdict::Missing, false),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("KIND             NAMESPACE  NAME  VERDICT"),
            "{}",
            lines[0]
        );
        assert!(lines[2].contains("Missing (advisory)"), "{}", lines[2]);
        let col = lines[0].find("VERDICT").unwrap();
        assert_eq!(&lines[1][col..col + 8], "Mismatch");
    }

    #[test]
    fn only_required_non_matched_rows_fail() {
        assert!(row("A", Verdict::Mismatch, true).is_failure());
        assert!(row("A", Verdict::Unverifiable, true).is_failure());
        assert!(!row("A", Verdict::Missing, false).is_failure());
        assert!(!row("A", Verdict::Matched, true).is_failure());
    }

    #[test]
    fn json_rows_use_camel_case() {
        let json = serde_json::to_value(row("A", Verdict::Matched, true)).unwrap();
        assert_eq!(json["verdict"], "Matched");
        assert_eq!(json["required"], true);
    }
}
