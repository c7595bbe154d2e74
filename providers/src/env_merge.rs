//! Editing a Dokploy `env` string (dotenv) without disturbing what Launchplane doesn't own.
//!
//! Dokploy stores `env` verbatim and parses it at deploy time with the `dotenv` npm package
//! (v16). This module follows that grammar closely enough to find each assignment, and edits
//! nothing else: comments, blank lines, ordering, `export ` prefixes, quoting and line endings of
//! every line it does not own are kept byte for byte.
//!
//! Grammar (dotenv v16): `[export ]KEY=VALUE` or `KEY: VALUE`, keys `[A-Za-z0-9_.-]+`; a value is
//! `'…'`, `"…"` or `` `…` `` (may span lines; in double quotes `\n` and `\r` are expanded) or
//! unquoted up to `#` or the end of the line, trimmed. Anything else is an opaque line.
//!
//! Decisions:
//! - **Duplicate keys.** dotenv lets the last occurrence win, other tools the first. Setting a
//!   key rewrites *every* occurrence, so the effective value is the desired one whatever the
//!   reader, and no line disappears. Removing a key removes every occurrence.
//! - **Unchanged values are not rewritten.** An occurrence whose parsed value already equals the
//!   desired value is left exactly as written (its quoting included), so a no-op merge returns the
//!   input unchanged and the provider skips the write.
//! - **Quoting when writing.** Plain when safe; otherwise single quotes (literal), then double
//!   quotes (newlines as `\n`), then backticks; a value no form can carry (e.g. it contains all
//!   three quote characters and needs quoting, or a carriage return with quotes) is refused with
//!   [`EnvMergeError::Unrepresentable`] rather than written wrongly.
//! - **New keys** are appended at the end, in key order, with the text's own line ending (CRLF if
//!   the text has one). A text that did not end with a newline still doesn't.
//! - **Comments** such as `# KEY=old` are never treated as assignments; a trailing comment on an
//!   owned line (`KEY=v # note`) is kept.
//! - A lone `\r` (not before `\n`) is content, not a line break (dotenv would treat it as one; the
//!   dashboard never produces it).

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::secret::SecretString;

/// The result of a merge. Key names only are listed; the new text is a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The new env string (equal to the input when nothing changed).
    pub env: SecretString,
    /// Keys that were absent and were appended.
    pub added: Vec<String>,
    /// Keys present with another value, rewritten in place.
    pub updated: Vec<String>,
    /// Keys that were present and removed.
    pub removed: Vec<String>,
}

impl MergeOutcome {
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty())
    }
}

/// Why a merge was refused. Only key names are quoted, never values.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum EnvMergeError {
    #[error("invalid env key {0:?}: keys must match [A-Za-z0-9_.-]+")]
    InvalidKey(String),
    #[error("env key {0:?} is both set and removed")]
    SetAndRemoved(String),
    #[error("the value of env key {0:?} cannot be written in dotenv syntax without changing it")]
    Unrepresentable(String),
}

/// One logical entry of the text: an assignment (possibly spanning lines) or an opaque line.
#[derive(Debug, Clone)]
struct Segment {
    /// Byte range of the whole entry, including its line terminator.
    start: usize,
    end: usize,
    assign: Option<Assign>,
}

#[derive(Debug, Clone)]
struct Assign {
    key: String,
    /// Byte range of the raw value as written (quotes included, trailing blanks and comment
    /// excluded).
    value_start: usize,
    value_end: usize,
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-'
}

/// Whether `key` is a valid dotenv key.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(is_key_char)
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Split `text` into segments. Total: every byte belongs to exactly one segment, in order.
fn segments(text: &str) -> Vec<Segment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let line_end = find_from(bytes, pos, b'\n').unwrap_or(bytes.len());
        let full_end = (line_end + 1).min(bytes.len());
        match parse_assignment(text, pos, line_end) {
            Some((assign, end)) => {
                out.push(Segment {
                    start: pos,
                    end,
                    assign: Some(assign),
                });
                pos = end;
            }
            None => {
                out.push(Segment {
                    start: pos,
                    end: full_end,
                    assign: None,
                });
                pos = full_end;
            }
        }
    }
    out
}

fn find_from(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes[from..].iter().position(|&b| b == needle).map(|i| from + i)
}

/// End of the line containing `idx` (just past its `\n`, or the end of the text).
fn end_of_line_after(bytes: &[u8], idx: usize) -> usize {
    find_from(bytes, idx, b'\n').map_or(bytes.len(), |i| i + 1)
}

/// Whether `bytes[from..to]` is blanks, optionally followed by a comment (`#…`), optionally
/// ending in `\r`.
fn is_blank_or_comment(bytes: &[u8], from: usize, to: usize) -> bool {
    let mut i = from;
    while i < to && is_blank(bytes[i]) {
        i += 1;
    }
    i == to || bytes[i] == b'#' || (bytes[i] == b'\r' && i + 1 == to)
}

/// Parse an assignment starting at the line `[start, line_end)`. Returns it and the end of the
/// segment (which is past `line_end` for a multi-line quoted value).
fn parse_assignment(text: &str, start: usize, line_end: usize) -> Option<(Assign, usize)> {
    let b = text.as_bytes();
    let mut i = start;
    while i < line_end && is_blank(b[i]) {
        i += 1;
    }
    if b[i..line_end].starts_with(b"export") {
        let mut j = i + "export".len();
        if j < line_end && is_blank(b[j]) {
            while j < line_end && is_blank(b[j]) {
                j += 1;
            }
            i = j;
        }
    }
    let key_start = i;
    while i < line_end && is_key_char(b[i]) {
        i += 1;
    }
    if i == key_start {
        return None;
    }
    let key = text[key_start..i].to_owned();
    // Separator: `\s*=` or `:` followed by one blank.
    let sep_end = if i < line_end && b[i] == b':' && i + 1 < line_end && is_blank(b[i + 1]) {
        i + 2
    } else {
        let mut j = i;
        while j < line_end && is_blank(b[j]) {
            j += 1;
        }
        if j < line_end && b[j] == b'=' {
            j + 1
        } else {
            return None;
        }
    };
    let mut v0 = sep_end;
    while v0 < line_end && is_blank(b[v0]) {
        v0 += 1;
    }
    // Quoted value, possibly spanning lines.
    if v0 < line_end && matches!(b[v0], b'\'' | b'"' | b'`') {
        let q = b[v0];
        let mut k = v0 + 1;
        let mut close = None;
        while k < b.len() {
            if b[k] == b'\\' && k + 1 < b.len() && b[k + 1] == q {
                k += 2;
                continue;
            }
            if b[k] == q {
                close = Some(k);
                break;
            }
            k += 1;
        }
        if let Some(c) = close {
            let close_line_end = find_from(b, c, b'\n').unwrap_or(b.len());
            if is_blank_or_comment(b, c + 1, close_line_end) {
                let end = end_of_line_after(b, c);
                return Some((
                    Assign {
                        key,
                        value_start: v0,
                        value_end: c + 1,
                    },
                    end,
                ));
            }
        }
        // No closing quote (or junk after it): dotenv falls back to an unquoted value.
    }
    let mut v_end = v0;
    while v_end < line_end && b[v_end] != b'#' && b[v_end] != b'\r' {
        v_end += 1;
    }
    while v_end > v0 && is_blank(b[v_end - 1]) {
        v_end -= 1;
    }
    let end = (line_end + 1).min(b.len());
    Some((
        Assign {
            key,
            value_start: v0,
            value_end: v_end,
        },
        end,
    ))
}

/// The value dotenv would read from a raw value as written.
pub fn decode_value(raw: &str) -> String {
    let t = raw.trim();
    let bytes = t.as_bytes();
    if bytes.len() >= 2 {
        let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
        if first == last && matches!(first, b'\'' | b'"' | b'`') {
            let inner = &t[1..t.len() - 1];
            return if first == b'"' {
                inner.replace("\\n", "\n").replace("\\r", "\r")
            } else {
                inner.to_owned()
            };
        }
    }
    t.to_owned()
}

/// Write `value` so that dotenv reads back exactly `value`, or `None` if no form can.
pub fn encode_value(value: &str) -> Option<String> {
    // Whitespace anywhere is quoted although dotenv would keep inner blanks: other readers of the
    // same text (docker compose's `.env`, shells) are less forgiving.
    let needs_quotes =
        value.starts_with(['\'', '"', '`']) || value.contains(char::is_whitespace) || value.contains('#');
    if !needs_quotes {
        return Some(value.to_owned());
    }
    let ends_with_backslash = value.ends_with('\\');
    let has_cr = value.contains('\r');
    // Literal quotes: no escapes at all. A trailing backslash would escape the closing quote,
    // and dotenv turns every `\r` of the file into `\n` before parsing.
    let literal =
        |q: char| (!value.contains(q) && !ends_with_backslash && !has_cr).then(|| format!("{q}{value}{q}"));
    // Double quotes carry `\n`/`\r` as escapes, so the value must not contain a backslash at all
    // (`\n` written by the user would be expanded) nor a double quote.
    let double = || {
        (!value.contains(['"', '\\']))
            .then(|| format!("\"{}\"", value.replace('\n', "\\n").replace('\r', "\\r")))
    };
    if value.contains(['\n', '\r']) {
        double().or_else(|| literal('\'')).or_else(|| literal('`'))
    } else {
        literal('\'').or_else(double).or_else(|| literal('`'))
    }
}

/// The keys assigned in `text`, in order of first appearance (for status: names, never values).
pub fn keys(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    segments(text)
        .into_iter()
        .filter_map(|s| s.assign.map(|a| a.key))
        .filter(|k| seen.insert(k.clone()))
        .collect()
}

/// The decoded value `key` is assigned in `text` (its last assignment, which is the one that
/// takes effect), or `None` when it is not assigned. For values that are not secret, such as
/// an image reference pinned through the env.
pub fn value_of(text: &str, key: &str) -> Option<String> {
    segments(text)
        .into_iter()
        .filter_map(|s| s.assign)
        .rfind(|a| a.key == key)
        .map(|a| decode_value(&text[a.value_start..a.value_end]))
}

/// Every parsed value in `text` (used to scrub error messages; never logged).
#[cfg(feature = "client")]
pub(crate) fn values(text: &str) -> Vec<String> {
    segments(text)
        .into_iter()
        .filter_map(|s| s.assign.map(|a| decode_value(&text[a.value_start..a.value_end])))
        .collect()
}

/// Set the keys in `set`, remove the keys in `remove`, keep everything else byte for byte.
pub fn merge(
    current: &str,
    set: &BTreeMap<String, SecretString>,
    remove: &BTreeSet<String>,
) -> Result<MergeOutcome, EnvMergeError> {
    for key in set.keys().chain(remove.iter()) {
        if !is_valid_key(key) {
            return Err(EnvMergeError::InvalidKey(crate::redact::truncate(key, 64)));
        }
    }
    if let Some(key) = set.keys().find(|k| remove.contains(*k)) {
        return Err(EnvMergeError::SetAndRemoved(key.clone()));
    }
    let mut encoded = BTreeMap::new();
    for (key, value) in set {
        let enc = encode_value(value.expose()).ok_or_else(|| EnvMergeError::Unrepresentable(key.clone()))?;
        encoded.insert(key.as_str(), enc);
    }

    let segs = segments(current);
    let eol = if current.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(current.len() + 64);
    let mut present = BTreeSet::new();
    let mut updated = BTreeSet::new();
    let mut removed = BTreeSet::new();
    let mut dropped_last = false;

    for (idx, seg) in segs.iter().enumerate() {
        let whole = &current[seg.start..seg.end];
        let Some(a) = &seg.assign else {
            out.push_str(whole);
            continue;
        };
        if remove.contains(&a.key) {
            removed.insert(a.key.clone());
            dropped_last = idx + 1 == segs.len();
            continue;
        }
        if let (Some(desired), Some(enc)) = (set.get(&a.key), encoded.get(a.key.as_str())) {
            present.insert(a.key.clone());
            let raw = &current[a.value_start..a.value_end];
            if decode_value(raw) != desired.expose() {
                updated.insert(a.key.clone());
                out.push_str(&current[seg.start..a.value_start]);
                out.push_str(enc);
                let rest = &current[a.value_end..seg.end];
                if raw.is_empty() && rest.starts_with('#') {
                    out.push(' ');
                }
                out.push_str(rest);
                continue;
            }
        }
        out.push_str(whole);
    }

    // Removing the final entry of a text without a trailing newline would leave one; drop it so
    // the text keeps its style.
    let ended_with_newline = current.ends_with('\n');
    if dropped_last && !ended_with_newline {
        if out.ends_with("\r\n") {
            out.truncate(out.len() - 2);
        } else if out.ends_with('\n') {
            out.truncate(out.len() - 1);
        }
    }

    let mut added = Vec::new();
    for (key, enc) in &encoded {
        if present.contains(*key) {
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(key);
        out.push('=');
        out.push_str(enc);
        if ended_with_newline {
            out.push_str(eol);
        }
        added.push((*key).to_owned());
    }

    Ok(MergeOutcome {
        env: SecretString::new(out),
        added,
        updated: updated.into_iter().collect(),
        removed: removed.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests;
