//! How the plugin prints: the output format, the exit codes, colour (only on a terminal, never
//! with `NO_COLOR`), tables as kubectl lays them out, and ages as kubectl writes them.

use crate::cli::answer::Answer;
use jiff::Timestamp;
use launchplane_api::Verdict;
use serde::Serialize;
use std::ffi::OsStr;
use std::fmt::Write as _;

pub use crate::cli::answer::{EXIT_BAD_INPUT, EXIT_OK};
/// Exit code: what was named does not exist, or the cluster refused or failed the request.
pub const EXIT_NOT_FOUND: i32 = 1;

/// `-o`: how to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// An answer that only says what went wrong.
pub fn failure(code: i32, message: impl std::fmt::Display) -> Answer {
    Answer {
        stderr: format!("error: {message}\n"),
        code,
        ..Answer::default()
    }
}

/// Bad input: exit 2.
pub fn bad_input(message: impl std::fmt::Display) -> Answer {
    failure(EXIT_BAD_INPUT, message)
}

/// Not found, or refused by the cluster: exit 1.
pub fn not_found(message: impl std::fmt::Display) -> Answer {
    failure(EXIT_NOT_FOUND, message)
}

/// What the cluster answered instead of `what`, and what to check.
pub fn unreadable(what: &str, verb: &str, error: &kube::Error) -> Answer {
    not_found(format!(
        "cannot {verb} {what}: {error}; check the kubeconfig context and that you may {verb} them \
         (`kubectl auth can-i {verb} ...`)"
    ))
}

/// The API server's refusal to create `what`: invalid (422: a field the CRD's schema or CEL
/// rules refuse, which its message names) is bad input; anything else was refused.
pub fn refused(what: &str, status: &kube::core::Status) -> Answer {
    let message = format!(
        "the API server refused {what}: {} ({})",
        status.message, status.reason
    );
    if status.code == 422 {
        bad_input(message)
    } else {
        not_found(message)
    }
}

/// Colour when stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
pub fn use_colour(stdout_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stdout_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// JSON or YAML of `value`, ending with a newline.
pub fn serialized(format: Format, value: &impl Serialize) -> String {
    let text = match format {
        Format::Yaml => serde_saphyr::to_string(value).map_err(|e| e.to_string()),
        Format::Json | Format::Table => serde_json::to_string_pretty(value).map_err(|e| e.to_string()),
    };
    // The views hold strings, numbers, times and enums only: serializing them cannot fail.
    let mut text = text.unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A table cell: its text, and how to colour it on a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

/// The colour of a cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Plain,
    Good,
    Doubt,
    Bad,
}

impl Tone {
    /// Matched is good; not knowing is doubt; absence and difference are bad.
    pub fn of(verdict: Verdict) -> Tone {
        match verdict {
            Verdict::Matched => Tone::Good,
            Verdict::Unchecked | Verdict::Unverifiable => Tone::Doubt,
            Verdict::Missing | Verdict::Mismatch => Tone::Bad,
        }
    }

    fn ansi(self) -> Option<&'static str> {
        match self {
            Tone::Plain => None,
            Tone::Good => Some("\x1b[32m"),
            Tone::Doubt => Some("\x1b[33m"),
            Tone::Bad => Some("\x1b[31m"),
        }
    }
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            tone: Tone::Plain,
        }
    }

    pub fn verdict(verdict: Verdict) -> Cell {
        Cell {
            text: verdict.to_string(),
            tone: Tone::of(verdict),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::plain(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::plain(text)
    }
}

/// What an absent value prints as, as kubectl prints it.
pub const NONE: &str = "<none>";

/// Columns padded to their widest cell, three spaces apart, as kubectl prints them; the last
/// column is not padded. Widths count what is seen, so colour never shifts a column.
pub fn table(headers: &[&str], rows: &[Vec<Cell>], colour: bool) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.text.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<Cell> = headers.iter().map(|h| Cell::plain(*h)).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        let last = row.len().saturating_sub(1);
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let pad = if i == last {
                0
            } else {
                w.saturating_sub(cell.text.chars().count()) + 3
            };
            match cell.tone.ansi().filter(|_| colour) {
                Some(code) => {
                    let _ = write!(line, "{code}{}\x1b[0m", cell.text);
                }
                None => line.push_str(&cell.text),
            }
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// How long ago `then` was, as kubectl's AGE column writes it: `45s`, `12m`, `3h`, `5d`; a
/// time ahead of `now` (clocks apart) is `0s`.
pub fn age(then: Timestamp, now: Timestamp) -> String {
    let secs = (now.as_second() - then.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 120 * 60 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// `text` cut to `max` characters for a table cell by taking out its middle, `…` in its
/// place: two image references that differ in their digest still look different (the JSON
/// keeps every value whole).
pub fn clipped(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let tail = max.saturating_sub(1) / 2;
    let head = max.saturating_sub(1) - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(use_colour(true, None));
        assert!(
            use_colour(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn colour_does_not_shift_the_columns() {
        let rows = vec![
            vec![
                Cell::plain("a-long-lane"),
                Cell::verdict(Verdict::Matched),
                Cell::plain("x"),
            ],
            vec![
                Cell::plain("b"),
                Cell::verdict(Verdict::Mismatch),
                Cell::plain(""),
            ],
        ];
        let plain = table(&["LANE", "VERDICT", "LAST"], &rows, false);
        assert_eq!(
            plain,
            "LANE          VERDICT    LAST\na-long-lane   Matched    x\nb             Mismatch\n"
        );
        let coloured = table(&["LANE", "VERDICT", "LAST"], &rows, true);
        assert!(coloured.contains("\x1b[32mMatched\x1b[0m    x"), "{coloured:?}");
        assert!(coloured.contains("\x1b[31mMismatch\x1b[0m\n"), "{coloured:?}");
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn ages_read_as_kubectl_writes_them() {
        let now: Timestamp = "2027-01-15T12:00:00Z".parse().unwrap();
        let ago = |s: i64| age(Timestamp::from_second(now.as_second() - s).unwrap(), now);
        assert_eq!(ago(0), "0s");
        assert_eq!(ago(119), "119s");
        assert_eq!(ago(120), "2m");
        assert_eq!(ago(7199), "119m");
        assert_eq!(ago(7200), "2h");
        assert_eq!(ago(48 * 3600), "2d");
        assert_eq!(ago(-30), "0s", "a clock ahead of ours is not a negative age");
    }

    #[test]
    fn long_cells_are_clipped_and_short_ones_kept() {
        assert_eq!(clipped("abcdefgh", 5), "ab…gh");
        assert_eq!(clipped("abcdefgh", 4), "ab…h");
        assert_eq!(clipped("abcd", 4), "abcd");
        let a = format!("ghcr.io/acme/shop@sha256:{}1", "0".repeat(63));
        let b = format!("ghcr.io/acme/shop@sha256:{}2", "0".repeat(63));
        assert_ne!(
            clipped(&a, 48),
            clipped(&b, 48),
            "digests that differ still look different"
        );
    }

    #[test]
    fn yaml_and_json_end_with_a_newline() {
        let v = serde_json::json!({"a": 1});
        assert_eq!(serialized(Format::Json, &v), "{\n  \"a\": 1\n}\n");
        assert_eq!(serialized(Format::Yaml, &v), "a: 1\n");
    }
}
