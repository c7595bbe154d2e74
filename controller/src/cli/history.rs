//! `launchplane history --lane L`: what ran in a lane, from when to when, by which
//! DeploymentRecord and which Promotion; with `--at TIME`, what ran at that instant. Read-only,
//! from the lane's records: in the cluster of `KUBECONFIG`, or in a standalone state folder
//! (`--state DIR`). The periods themselves are `launchplane_core::history`'s.
//!
//! Exit codes: 0 with an answer; 1 when the lane has no verified record, or nothing ran (or
//! nothing can be told) at `--at`; 2 when the input is bad or the records cannot be read (an
//! unknown lane, a time in the future, no cluster, no state folder), with what to do about it.

use crate::standalone::records::{FileRecordStore, accepted_manifest_records};
use crate::standalone::state::StateDir;
use jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ListParams};
use launchplane_api::resources::{DeploymentRecord, Lane};
use launchplane_core::history::{At, Attempt, LaneHistory, Period, Pruned, Whole, history, names_lane};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use crate::cli::answer::{Answer, EXIT_BAD_INPUT, EXIT_OK};
/// Exit code: no verified record, or nothing ran (or nothing can be told) at `--at`.
pub const EXIT_NOTHING: i32 = 1;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The Lane whose history to print.
    #[arg(long)]
    pub lane: String,
    /// The Lane's namespace. Default: the kubeconfig context's namespace; `default` in a state
    /// folder.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Only what ran at this instant: RFC 3339 (`2026-11-17T14:00:00Z`,
    /// `2026-11-17T15:00:00+01:00`) or a time in a named zone (`2026-11-17T15:00[Europe/Berlin]`).
    #[arg(long, value_name = "TIME", value_parser = parse_at)]
    pub at: Option<Timestamp>,
    /// How to print the history.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Read a standalone state folder (the `--state` of `launchplane reconcile`) instead of the
    /// cluster.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Read `--at`: an instant with its offset or zone, since a wall-clock time alone names a
/// different instant in every zone.
pub fn parse_at(text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(z) = text.parse::<jiff::Zoned>() {
        return Ok(z.timestamp());
    }
    Err(format!(
        "not an instant; give a time with its offset, e.g. 2026-11-17T14:00:00Z or \
         2026-11-17T15:00:00+01:00, or with a zone, e.g. 2026-11-17T15:00[Europe/Berlin] (got {text:?})"
    ))
}

pub fn run(args: HistoryArgs) -> anyhow::Result<i32> {
    let answer = match &args.state {
        Some(state) => in_state_folder(&args, state, Timestamp::now()),
        None => {
            launchplane_providers::install_crypto_provider();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                match Client::try_default().await {
                    Ok(client) => in_cluster(client, &args, Timestamp::now()).await,
                    Err(e) => Answer::bad_input(format!(
                        "no Kubernetes configuration ({e}): set KUBECONFIG, or pass --state DIR to read a \
                         standalone state folder"
                    )),
                }
            })
        }
    };
    print!("{}", answer.stdout);
    eprint!("{}", answer.stderr);
    Ok(answer.code)
}

/// The answer from the cluster `client` talks to: the Lane is read first (an unknown lane is
/// bad input), then every DeploymentRecord of its namespace, of which the lane's are those
/// with its label (written by the controller) or naming it in `spec.laneRef` (evidence).
pub async fn in_cluster(client: Client, args: &HistoryArgs, now: Timestamp) -> Answer {
    if let Some(bad) = future(args, now) {
        return bad;
    }
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let lanes: Api<Lane> = Api::namespaced(client.clone(), &namespace);
    match lanes.get_opt(&args.lane).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Answer::bad_input(format!(
                "--lane: there is no Lane {} in namespace {namespace}; `kubectl get lanes -n {namespace}` \
                 lists them, and -n picks another namespace",
                args.lane
            ));
        }
        Err(e) => return unreadable(&format!("Lane {namespace}/{}", args.lane), &e),
    }
    // One list of the namespace's records rather than one by label plus one for evidence:
    // evidence has no label to select it by, so the whole list is read either way.
    let api: Api<DeploymentRecord> = Api::namespaced(client, &namespace);
    let records = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => return unreadable(&format!("the DeploymentRecords of namespace {namespace}"), &e),
    };
    let mine: Vec<DeploymentRecord> = records
        .into_iter()
        .filter(|r| names_lane(r, &args.lane))
        .collect();
    answer(args, &namespace, &mine)
}

fn unreadable(what: &str, error: &kube::Error) -> Answer {
    Answer::bad_input(format!(
        "cannot read {what}: {error}; check KUBECONFIG and that you may get lanes and list \
         deploymentrecords there"
    ))
}

/// The answer from a standalone state folder: the records standalone mode wrote there, and
/// those given as manifests as it last accepted them.
pub fn in_state_folder(args: &HistoryArgs, dir: &Path, now: Timestamp) -> Answer {
    if let Some(bad) = future(args, now) {
        return bad;
    }
    if !dir.is_dir() {
        return Answer::bad_input(format!(
            "--state: {} is not a folder; pass the state folder `launchplane reconcile --state` keeps \
             (its default is .launchplane-state), or leave --state out to read the cluster",
            dir.display()
        ));
    }
    let namespace = args.namespace.clone().unwrap_or_else(|| "default".into());
    let state = StateDir::new(dir);
    let lanes = state.stored("Lane");
    if !lanes
        .iter()
        .any(|(ns, name)| *ns == namespace && *name == args.lane)
    {
        return Answer::bad_input(unknown_lane_in_state(&args.lane, &namespace, dir, &lanes));
    }
    let read = accepted_manifest_records(&state).and_then(|manifests| {
        FileRecordStore::new(state.clone(), manifests).list_sync(&namespace, &args.lane)
    });
    match read {
        Ok(records) => answer(args, &namespace, &records),
        Err(e) => Answer::bad_input(format!(
            "cannot read the records of Lane {namespace}/{} in {}: {e}",
            args.lane,
            dir.display()
        )),
    }
}

fn unknown_lane_in_state(lane: &str, namespace: &str, dir: &Path, lanes: &[(String, String)]) -> String {
    let mut message = format!(
        "--lane: the state folder {} holds no Lane {namespace}/{lane}",
        dir.display()
    );
    let elsewhere: Vec<&str> = lanes
        .iter()
        .filter(|(_, name)| name == lane)
        .map(|(ns, _)| ns.as_str())
        .collect();
    let here: Vec<&str> = lanes
        .iter()
        .filter(|(ns, _)| ns == namespace)
        .map(|(_, name)| name.as_str())
        .collect();
    if !elsewhere.is_empty() {
        let _ = write!(
            message,
            "; it is in namespace {}: pass -n {}",
            elsewhere.join(", "),
            elsewhere[0]
        );
    } else if !here.is_empty() {
        let _ = write!(
            message,
            "; its lanes in namespace {namespace} are {}: pass one to --lane",
            here.join(", ")
        );
    } else if lanes.is_empty() {
        message.push_str("; no lane was reconciled with it yet (`launchplane reconcile --state` writes it)");
    } else {
        let mut namespaces: Vec<&str> = lanes.iter().map(|(ns, _)| ns.as_str()).collect();
        namespaces.dedup();
        let _ = write!(
            message,
            "; it holds lanes in namespace {}: pass -n",
            namespaces.join(", ")
        );
    }
    message
}

/// Instants after now have no answer yet: the open period says what runs as far as the records
/// say now, not later.
fn future(args: &HistoryArgs, now: Timestamp) -> Option<Answer> {
    let at = args.at?;
    (at > now).then(|| {
        Answer::bad_input(format!(
            "--at: {at} is in the future (it is {now} now); history answers for instants up to now",
            now = now.round(jiff::Unit::Second).unwrap_or(now)
        ))
    })
}

/// The answer for the lane's `records`.
pub fn answer(args: &HistoryArgs, namespace: &str, records: &[DeploymentRecord]) -> Answer {
    let h = history(records);
    let lane = format!("{namespace}/{}", args.lane);
    match args.at {
        Some(at) => answer_at(args.output, namespace, &args.lane, &h, at),
        None => {
            let mut out = Answer::default();
            match args.output {
                Output::Table => {
                    out.stdout = periods_table(&h.periods);
                    if !h.attempts.is_empty() {
                        out.stdout.push('\n');
                        out.stdout.push_str(&attempts_table(&h.attempts));
                    }
                }
                Output::Json => {
                    out.stdout = json_line(&HistoryJson {
                        namespace,
                        lane: &args.lane,
                        history: &h,
                    });
                }
            }
            if let Some(pruned) = &h.pruned {
                out.stderr.push_str(&pruned_note(&lane, pruned));
            }
            if h.periods.is_empty() {
                let _ = writeln!(
                    out.stderr,
                    "no record of lane {lane} was ever verified: nothing ran in it, as far as its records say"
                );
                out.code = EXIT_NOTHING;
            }
            out
        }
    }
}

fn answer_at(output: Output, namespace: &str, lane: &str, h: &LaneHistory, at: Timestamp) -> Answer {
    let qualified = format!("{namespace}/{lane}");
    let (period, reason, message) = match h.at(at) {
        At::Ran(p) => (Some(p), "Ran", None),
        At::NothingRan { first: Some(first) } => (
            None,
            "NothingRan",
            Some(format!(
                "nothing ran in lane {qualified} at {at}: its first verified record is from {first}"
            )),
        ),
        At::NothingRan { first: None } => (
            None,
            "NothingRan",
            Some(format!(
                "nothing ran in lane {qualified} at {at}: no record of it was ever verified"
            )),
        ),
        At::Unknown { whole_since } => (
            None,
            "Unknown",
            Some(format!(
                "cannot tell what ran in lane {qualified} at {at}: the records that would say are gone \
                 ({}); {}",
                gone(h.pruned.as_ref()),
                match whole_since {
                    Some(since) => format!("its history is whole from {since}"),
                    None => "no record that is kept says from when its history is whole".into(),
                }
            )),
        ),
    };
    let mut out = Answer {
        code: if period.is_some() { EXIT_OK } else { EXIT_NOTHING },
        ..Answer::default()
    };
    match output {
        Output::Table => {
            if let Some(p) = period {
                out.stdout = periods_table(std::slice::from_ref(p));
            }
        }
        Output::Json => {
            out.stdout = json_line(&AtJson {
                namespace,
                lane,
                at,
                answer: reason,
                period,
                message: message.as_deref(),
            });
        }
    }
    if let Some(message) = message {
        out.stderr = format!("{message}\n");
    }
    out
}

#[derive(Serialize)]
struct HistoryJson<'a> {
    namespace: &'a str,
    lane: &'a str,
    #[serde(flatten)]
    history: &'a LaneHistory,
}

#[derive(Serialize)]
struct AtJson<'a> {
    namespace: &'a str,
    lane: &'a str,
    at: Timestamp,
    /// `Ran`, `NothingRan` or `Unknown`.
    answer: &'a str,
    period: Option<&'a Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

fn json_line(value: &impl Serialize) -> String {
    // The types hold strings, times and enums only: serializing them cannot fail.
    serde_json::to_string_pretty(value).map_or_else(|e| format!("{{\"error\": \"{e}\"}}\n"), |s| s + "\n")
}

fn pruned_note(lane: &str, pruned: &Pruned) -> String {
    let whole = match pruned.whole {
        Whole::Always => "they cannot have run, so the periods are whole".to_string(),
        Whole::Since(since) => format!("the periods are whole from {since}, earlier ones are unknown"),
        Whole::Never => "no record that is kept says from when the periods are whole".to_string(),
    };
    format!("note: lane {lane}: {}; {whole}\n", gone(Some(pruned)))
}

/// "the records of attempts 1-4, 7 are gone (…)".
fn gone(pruned: Option<&Pruned>) -> String {
    let attempts = pruned.map(|p| ranges(&p.attempts)).unwrap_or_default();
    format!(
        "the records of attempts {attempts} are gone (pruned by the lane's spec.historyLimit, or deleted)"
    )
}

fn ranges(numbers: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

const NONE: &str = "<none>";

fn time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| NONE.to_string(), |t| t.to_string())
}

fn periods_table(periods: &[Period]) -> String {
    let rows: Vec<Vec<String>> = periods
        .iter()
        .map(|p| {
            vec![
                p.from.to_string(),
                p.to.map_or_else(|| "<running>".to_string(), |t| t.to_string()),
                p.artifact.clone(),
                p.record.clone(),
                p.promotion.clone().unwrap_or_else(|| NONE.into()),
                format!("{:?}", p.origin),
            ]
        })
        .collect();
    table(
        &["FROM", "TO", "ARTIFACT", "RECORD", "PROMOTION", "ORIGIN"],
        &rows,
    )
}

fn attempts_table(attempts: &[Attempt]) -> String {
    let rows: Vec<Vec<String>> = attempts
        .iter()
        .map(|a| {
            vec![
                time(a.started),
                time(a.ended),
                a.artifact.clone(),
                a.record.clone(),
                a.promotion.clone().unwrap_or_else(|| NONE.into()),
                format!("{:?}", a.origin),
                format!("{:?}", a.phase),
                a.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &[
            "STARTED",
            "ENDED",
            "ARTIFACT",
            "RECORD",
            "PROMOTION",
            "ORIGIN",
            "PHASE",
            "MESSAGE",
        ],
        &rows,
    )
}

/// Columns padded to their widest cell, three spaces apart, as kubectl prints them; the last
/// column is not padded.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}   ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn at_takes_an_offset_or_a_zone_and_refuses_a_bare_wall_clock_time() {
        let utc: Timestamp = "2026-11-17T14:00:00Z".parse().unwrap();
        assert_eq!(parse_at("2026-11-17T14:00:00Z"), Ok(utc));
        assert_eq!(parse_at("2026-11-17T15:00:00+01:00"), Ok(utc));
        assert_eq!(parse_at("2026-11-17T15:00[Europe/Berlin]"), Ok(utc));
        for bad in ["2026-11-17T14:00:00", "2026-11-17", "last tuesday", ""] {
            let e = parse_at(bad).unwrap_err();
            assert!(e.contains("2026-11-17T14:00:00Z"), "{bad}: {e}");
        }
    }

    #[test]
    fn attempt_numbers_read_as_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(ranges(&[4]), "4");
    }

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let t = table(
            &["FROM", "TO"],
            &[
                vec!["a-long-cell".into(), "x".into()],
                vec!["b".into(), "".into()],
            ],
        );
        assert_eq!(t, "FROM          TO\na-long-cell   x\nb\n");
    }
}
