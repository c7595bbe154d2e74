//! The one row type every section reports with, printed as a table line and written to JSON.

use serde::Serialize;

/// The sections of the bench, in the order they run (`--only` names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// 1. pure core throughput
    Core,
    /// 2. Dokploy calls per poll cycle
    Calls,
    /// 3. drift detection latency
    Drift,
    /// 4. steady-state memory and CPU with N ProviderTargets
    Steady,
    /// 5. probes per second
    Probes,
    /// 7. settled lanes
    Lanes,
    /// 6. apply → verdict on a real API server
    Apply,
}

/// `met`, `missed`, `info` (no target, or a figure beside one), `not-measured` or `skipped`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Met,
    Missed,
    Info,
    NotMeasured,
    Skipped,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Missed => "missed",
            Status::Info => "info",
            Status::NotMeasured => "not-measured",
            Status::Skipped => "skipped",
        }
    }
}

/// One measurement. Built with [`Row::measured`] or [`Row::absent`], then refined.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    section: Section,
    metric: String,
    /// The number of targets (or apps, lanes) the row was measured at, when that matters.
    n: Option<u64>,
    value: Option<f64>,
    unit: String,
    target: String,
    status: Status,
    note: String,
}

impl Row {
    /// A figure with no target (status `info`) until [`Row::met`] gives it one.
    pub fn measured(metric: impl Into<String>, value: f64, unit: &str) -> Row {
        Row {
            // Set by the report from the section that is running.
            section: Section::Core,
            metric: metric.into(),
            n: None,
            value: Some(value),
            unit: unit.into(),
            target: String::new(),
            status: Status::Info,
            note: String::new(),
        }
    }

    /// No figure: the section was skipped, could not measure, or failed.
    pub fn absent(metric: impl Into<String>, status: Status) -> Row {
        Row {
            value: None,
            unit: String::new(),
            status,
            ..Row::measured(metric, 0.0, "")
        }
    }

    /// The size the row was measured at.
    pub fn at(mut self, n: usize) -> Row {
        self.n = Some(n as u64);
        self
    }

    /// The design target, and whether the figure meets it.
    pub fn met(mut self, target: &str, met: bool) -> Row {
        self.target = target.into();
        self.status = if met { Status::Met } else { Status::Missed };
        self
    }

    /// A reference figure printed beside the value; the status stays `info`.
    pub fn beside(mut self, target: &str) -> Row {
        self.target = target.into();
        self
    }

    /// `(no target)`: a throughput or latency reported for the record.
    pub fn no_target(self) -> Row {
        self.beside("(no target)")
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }

    fn line(&self) -> String {
        let n = self.n.map(|n| format!("N={n}")).unwrap_or_default();
        let value = self
            .value
            .map(|v| format!("{} {}", fmt_value(v), self.unit))
            .unwrap_or_else(|| "-".into());
        format!(
            "{:<58} {:>8} {:>22}  {:<28} {:<12} {}",
            self.metric,
            n,
            value,
            self.target,
            self.status.label(),
            self.note
        )
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The rows so far; each is printed as it is added.
pub struct Report {
    rows: Vec<Row>,
    section: Section,
}

impl Report {
    /// The table's header.
    pub fn new() -> Report {
        println!(
            "  {:<58} {:>8} {:>22}  {:<28} {:<12} note",
            "metric", "size", "value", "target", "status"
        );
        Report {
            rows: Vec::new(),
            section: Section::Core,
        }
    }

    /// Start a section: its heading, and the section the next rows belong to.
    pub fn section(&mut self, section: Section, heading: &str) {
        println!("\n== {heading}");
        self.section = section;
    }

    pub fn add(&mut self, mut row: Row) {
        row.section = self.section;
        println!("  {}", row.line());
        self.rows.push(row);
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The closing line: how many rows, and how many missed, were not measured or skipped.
    pub fn summary(&self) -> String {
        let count = |s: Status| self.rows.iter().filter(|r| r.status == s).count();
        format!(
            "{} rows, {} missed target(s), {} not measured, {} skipped",
            self.rows.len(),
            count(Status::Missed),
            count(Status::NotMeasured),
            count(Status::Skipped)
        )
    }
}
