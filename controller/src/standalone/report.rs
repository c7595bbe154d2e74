//! What standalone mode prints: one row per resource, as a table or as JSON.

use launchplane_api::Verdict;
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
