//! Reading an identity off the three surfaces an app may serve it on, and combining what the
//! surfaces said into one [`Observed`].
//!
//! Every parser is total: any input yields a [`SurfaceObservation`], never a panic or an error
//! to propagate. Reasons never echo a body; a quoted value is cut to [`SNIPPET_CHARS`].

use super::payload::{IdentityField, RuntimeIdentityPayload, json_type};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Keys of the health JSON (and accepted wrappers of the well-known document) under which an
/// identity may be served, in the order they are read.
pub const IDENTITY_KEYS: [&str; 4] = [
    "runtime_identity",
    "launchplane_runtime_identity",
    "launchplaneRuntimeIdentity",
    "LAUNCHPLANE_RUNTIME_IDENTITY_JSON",
];

/// The response header carrying the deployment record id. Lowercase, as HTTP/2 sends it and as
/// `http::HeaderName::from_static` requires; header names are case-insensitive.
pub const DEPLOYMENT_HEADER: &str = "x-launchplane-deployment";

/// Path of the identity document, relative to the app's base URL.
pub const WELL_KNOWN_PATH: &str = "/.well-known/launchplane-runtime.json";

/// Largest body the parsers read. The prober should read at most one byte more and pass what
/// it got: a body over the limit is reported as Malformed rather than parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Longest deployment record id accepted from the header (a DNS-1123 subdomain's limit).
pub const MAX_HEADER_VALUE_LEN: usize = 253;

/// Longest quoted snippet of app-supplied text in a reason.
pub const SNIPPET_CHARS: usize = 80;

/// Where an identity was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Surface {
    /// The JSON body of the health endpoint, under one of [`IDENTITY_KEYS`].
    HealthBody,
    /// The `X-Launchplane-Deployment` response header.
    DeploymentHeader,
    /// The document at [`WELL_KNOWN_PATH`].
    WellKnown,
}

impl Surface {
    pub const ALL: [Surface; 3] = [Surface::HealthBody, Surface::DeploymentHeader, Surface::WellKnown];

    /// A short label for messages and mismatch paths (`artifactId@header`).
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::HealthBody => "health",
            Surface::DeploymentHeader => "header",
            Surface::WellKnown => "well-known",
        }
    }

    /// Whether this surface can carry `field` at all. The header carries the deployment record
    /// id only, so its silence about other fields says nothing about them.
    pub fn carries(self, field: IdentityField) -> bool {
        match self {
            Surface::DeploymentHeader => field == IdentityField::DeploymentRecordId,
            Surface::HealthBody | Surface::WellKnown => true,
        }
    }
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one surface said.
// Found is a few hundred bytes larger than the other variants; there are at most three of these
// per probe, short-lived, so boxing the payload would cost readability for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SurfaceObservation {
    /// The surface served an identity with at least one of the contract's fields.
    Found {
        surface: Surface,
        payload: RuntimeIdentityPayload,
    },
    /// The surface answered, validly, without an identity.
    Absent { surface: Surface, reason: String },
    /// The surface served something under the contract's names that breaks the contract.
    Malformed { surface: Surface, reason: String },
    /// The surface could not be read: transport error, timeout, non-2xx status. Built by the
    /// prober; no parser returns it.
    Unreachable { surface: Surface, reason: String },
}

impl SurfaceObservation {
    /// For the prober: `surface` could not be read. The reason is capped like every other.
    pub fn unreachable(surface: Surface, reason: impl AsRef<str>) -> Self {
        SurfaceObservation::Unreachable {
            surface,
            reason: cap(reason.as_ref()),
        }
    }

    pub fn surface(&self) -> Surface {
        match self {
            SurfaceObservation::Found { surface, .. }
            | SurfaceObservation::Absent { surface, .. }
            | SurfaceObservation::Malformed { surface, .. }
            | SurfaceObservation::Unreachable { surface, .. } => *surface,
        }
    }

    pub fn payload(&self) -> Option<&RuntimeIdentityPayload> {
        match self {
            SurfaceObservation::Found { payload, .. } => Some(payload),
            _ => None,
        }
    }

    fn absent(surface: Surface, reason: impl Into<String>) -> Self {
        SurfaceObservation::Absent {
            surface,
            reason: reason.into(),
        }
    }

    fn malformed(surface: Surface, reason: impl Into<String>) -> Self {
        SurfaceObservation::Malformed {
            surface,
            reason: reason.into(),
        }
    }
}

/// `text` quoted and cut to [`SNIPPET_CHARS`] characters (on a char boundary), so a reason can
/// show what an app sent without echoing a large or hostile value.
pub fn snippet(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SNIPPET_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// A reason from outside (the prober's error text) cut to a bounded length, unquoted.
fn cap(text: &str) -> String {
    const MAX: usize = 4 * SNIPPET_CHARS;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Parse the health endpoint's body (the prober calls this only for a 2xx answer).
///
/// - Not JSON at all (health endpoints often answer `OK`), or JSON that is not an object:
///   Absent — the endpoint is healthy, it just serves no identity.
/// - An object: the identity is read from every one of [`IDENTITY_KEYS`] present (nested
///   objects are not searched). Each value may be an object, or a string holding a JSON
///   object; null or a blank string counts as no identity (an app echoing an env var that was
///   never injected); any other value — a number, an array, a string that is not JSON or holds
///   JSON that is not an object, a known field that is not a string — is Malformed, as is
///   two keys giving different values for one field. Only keys with no identity fields:
///   Absent.
pub fn parse_health_body(body: &[u8]) -> SurfaceObservation {
    const S: Surface = Surface::HealthBody;
    if body.len() > MAX_BODY_BYTES {
        return too_large(S, body.len());
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return SurfaceObservation::absent(S, "health body is not JSON"),
    };
    let Value::Object(object) = value else {
        return SurfaceObservation::absent(
            S,
            format!("health body is {}, not a JSON object", json_type(&value)),
        );
    };
    match read_wrapped(&object, false) {
        Read::Found(payload) => SurfaceObservation::Found { surface: S, payload },
        Read::Nothing(why) => SurfaceObservation::absent(S, format!("health body {why}")),
        Read::Broken(why) => SurfaceObservation::malformed(S, format!("health body: {why}")),
    }
}

/// Parse the `X-Launchplane-Deployment` header value (`None` when the response has none).
///
/// Surrounding whitespace is trimmed. Missing or blank: Absent. A value with inner whitespace,
/// a comma (several header lines folded into one), control characters or more than
/// [`MAX_HEADER_VALUE_LEN`] bytes is not a record id: Malformed.
pub fn parse_deployment_header(value: Option<&str>) -> SurfaceObservation {
    const S: Surface = Surface::DeploymentHeader;
    let Some(raw) = value else {
        return SurfaceObservation::absent(S, "response has no X-Launchplane-Deployment header");
    };
    let id = raw.trim();
    if id.is_empty() {
        return SurfaceObservation::absent(S, "X-Launchplane-Deployment header is empty");
    }
    if id.len() > MAX_HEADER_VALUE_LEN {
        return SurfaceObservation::malformed(
            S,
            format!(
                "X-Launchplane-Deployment header is {} bytes, more than the {MAX_HEADER_VALUE_LEN} of a record id",
                id.len()
            ),
        );
    }
    if id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return SurfaceObservation::malformed(
            S,
            format!(
                "X-Launchplane-Deployment header {} is not one record id (whitespace, comma or control character)",
                snippet(id)
            ),
        );
    }
    SurfaceObservation::Found {
        surface: S,
        payload: RuntimeIdentityPayload::default().with(IdentityField::DeploymentRecordId, id),
    }
}

/// Parse the document at [`WELL_KNOWN_PATH`] (the prober calls this only for a 2xx answer).
///
/// The payload is the top-level object; a payload wrapped under one of [`IDENTITY_KEYS`] is
/// accepted too (both are read, and must agree).
/// - Empty, or plainly not JSON (a single-page app's HTML fallback answers every path with
///   200): Absent. Something that starts like JSON (`{` or `[`) but does not parse: Malformed.
/// - JSON that is not an object: Malformed, since this document exists only for the identity.
/// - An object with none of the contract's fields, top level or wrapped: Absent.
pub fn parse_well_known(body: &[u8]) -> SurfaceObservation {
    const S: Surface = Surface::WellKnown;
    if body.len() > MAX_BODY_BYTES {
        return too_large(S, body.len());
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return SurfaceObservation::absent(S, "well-known document is empty");
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if matches!(first, b'{' | b'[') => {
            return SurfaceObservation::malformed(S, format!("well-known document is not valid JSON: {e}"));
        }
        Err(_) => return SurfaceObservation::absent(S, "well-known document is not JSON"),
    };
    let Value::Object(object) = value else {
        return SurfaceObservation::malformed(
            S,
            format!("well-known document is {}, not a JSON object", json_type(&value)),
        );
    };
    match read_wrapped(&object, true) {
        Read::Found(payload) => SurfaceObservation::Found { surface: S, payload },
        Read::Nothing(why) => SurfaceObservation::absent(S, format!("well-known document {why}")),
        Read::Broken(why) => SurfaceObservation::malformed(S, format!("well-known document: {why}")),
    }
}

fn too_large(surface: Surface, len: usize) -> SurfaceObservation {
    SurfaceObservation::malformed(
        surface,
        format!("{surface} body is larger than {MAX_BODY_BYTES} bytes ({len} read)"),
    )
}

#[allow(clippy::large_enum_variant)] // one per parse, never stored
enum Read {
    Found(RuntimeIdentityPayload),
    /// Completes "<surface> ..." in an Absent reason.
    Nothing(String),
    Broken(String),
}

/// Read the identity from an object's [`IDENTITY_KEYS`] (and, for the well-known document, from
/// the object itself).
///
/// A key's value may be:
/// - an object: the payload;
/// - a string holding JSON: parsed, and it must be an object (apps often echo
///   `LAUNCHPLANE_RUNTIME_IDENTITY_JSON` verbatim);
/// - null or a blank string: the key is treated as absent — an app echoing an env var that was
///   never injected serves exactly that, and it means "no identity", not "broken identity";
/// - anything else (number, array, a string that is not JSON or is JSON but not an object):
///   Malformed.
///
/// A payload whose known fields are all absent counts as no identity. When several sources are
/// present they are merged; if two give different values for one field the object contradicts
/// itself, which is Malformed.
fn read_wrapped(object: &Map<String, Value>, top_level_is_payload: bool) -> Read {
    let mut sources: Vec<(String, RuntimeIdentityPayload)> = Vec::new();
    let mut empty_keys: Vec<&str> = Vec::new();
    if top_level_is_payload {
        match RuntimeIdentityPayload::from_json_object(object) {
            Ok(p) if !p.is_empty() => sources.push(("top level".to_string(), p)),
            Ok(_) => {}
            Err(e) => return Read::Broken(e.to_string()),
        }
    }
    for key in IDENTITY_KEYS {
        let Some(value) = object.get(key) else { continue };
        let parsed_string;
        let inner = match value {
            Value::Null => {
                empty_keys.push(key);
                continue;
            }
            Value::String(s) if s.trim().is_empty() => {
                empty_keys.push(key);
                continue;
            }
            Value::String(s) => {
                parsed_string = match serde_json::from_str::<Value>(s) {
                    Ok(v) => v,
                    Err(e) => return Read::Broken(format!("`{key}` is a string but not JSON: {e}")),
                };
                match &parsed_string {
                    Value::Object(o) => o,
                    other => {
                        return Read::Broken(format!(
                            "`{key}` is a string holding {}, not a JSON object",
                            json_type(other)
                        ));
                    }
                }
            }
            Value::Object(o) => o,
            other => return Read::Broken(format!("`{key}` is {}, not an object", json_type(other))),
        };
        match RuntimeIdentityPayload::from_json_object(inner) {
            Ok(p) if p.is_empty() => empty_keys.push(key),
            Ok(p) => sources.push((format!("`{key}`"), p)),
            Err(e) => return Read::Broken(format!("`{key}`: {e}")),
        }
    }

    let mut sources = sources.into_iter();
    let Some((first_name, mut merged)) = sources.next() else {
        return Read::Nothing(if empty_keys.is_empty() {
            if top_level_is_payload {
                "carries none of the contract's fields".to_string()
            } else {
                format!("has none of the keys {}", IDENTITY_KEYS.join(", "))
            }
        } else {
            format!(
                "has {} but with no identity fields in it (null, blank or empty)",
                empty_keys
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    };
    let mut seen_in: Vec<(IdentityField, String)> =
        merged.fields().map(|(f, _)| (f, first_name.clone())).collect();
    for (name, payload) in sources {
        for (field, value) in payload.fields() {
            match merged.get(field) {
                Some(existing) if !field.values_equal(existing, value) => {
                    let other = seen_in
                        .iter()
                        .find(|(f, _)| *f == field)
                        .map_or(first_name.as_str(), |(_, n)| n.as_str());
                    return Read::Broken(format!(
                        "{other} and {name} give different values for `{field}` ({} vs {})",
                        snippet(existing),
                        snippet(value)
                    ));
                }
                Some(_) => {}
                None => {
                    merged.set(field, Some(value.to_string()));
                    seen_in.push((field, name.clone()));
                }
            }
        }
    }
    Read::Found(merged)
}

/// Two surfaces served different values for one field. The route answers with more than one
/// identity (e.g. replicas of two deploys behind one domain, or a proxy adding a stale
/// header): that is a Mismatch whatever the expectation says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurfaceConflict {
    pub field: IdentityField,
    /// The surface whose value went into the merged payload, and that value.
    pub first_surface: Surface,
    pub first_value: String,
    /// The later surface that disagrees, and its value.
    pub surface: Surface,
    pub value: String,
}

/// Everything one probe learned, across surfaces: the input of
/// [`classify`](super::classify::classify).
///
/// `Observed::default()` is "not probed yet" (no surface reported).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The identity merged from every surface that found one, `None` if none did. Per field,
    /// the first surface (in the order given to [`combine`]) that has a value wins; a later
    /// different value is recorded in `conflicts`.
    pub payload: Option<RuntimeIdentityPayload>,
    /// Surfaces that served an identity, in order.
    pub found_on: Vec<Surface>,
    pub conflicts: Vec<SurfaceConflict>,
    pub absent: Vec<(Surface, String)>,
    pub malformed: Vec<(Surface, String)>,
    pub unreachable: Vec<(Surface, String)>,
}

impl Observed {
    /// Nothing probed yet.
    pub fn unchecked() -> Self {
        Observed::default()
    }

    /// True when no surface has reported.
    pub fn is_unchecked(&self) -> bool {
        self.payload.is_none()
            && self.found_on.is_empty()
            && self.absent.is_empty()
            && self.malformed.is_empty()
            && self.unreachable.is_empty()
    }

    /// Whether any surface that served an identity could carry `field`.
    pub fn could_carry(&self, field: IdentityField) -> bool {
        self.found_on.iter().any(|s| s.carries(field))
    }
}

/// Combine the surfaces of one probe into one observation.
///
/// Found payloads are merged field by field in the order given (the prober should pass the
/// richest first: health body, well-known document, header). A field two surfaces disagree on
/// is recorded as a [`SurfaceConflict`]. A Found observation with no non-empty field (built by
/// hand; the parsers never return one) counts as Absent. An empty slice gives
/// [`Observed::unchecked`].
pub fn combine(observations: &[SurfaceObservation]) -> Observed {
    let mut out = Observed::default();
    for observation in observations {
        match observation {
            SurfaceObservation::Found { surface, payload } => {
                if payload.is_empty() {
                    out.absent.push((
                        *surface,
                        "served an identity with none of the contract's fields".into(),
                    ));
                    continue;
                }
                out.found_on.push(*surface);
                let merged = out.payload.get_or_insert_with(RuntimeIdentityPayload::default);
                for (field, value) in payload.fields() {
                    match merged.get(field) {
                        None => merged.set(field, Some(value.to_string())),
                        Some(existing) if field.values_equal(existing, value) => {}
                        Some(existing) => {
                            let existing = existing.to_string();
                            // The surface that supplied the merged value: the first earlier
                            // surface that carries this field with a value. Recomputed from
                            // the input rather than tracked, to keep the merge loop simple.
                            let first_surface = observations
                                .iter()
                                .filter_map(|o| match o {
                                    SurfaceObservation::Found { surface, payload } => {
                                        payload.get(field).map(|_| *surface)
                                    }
                                    _ => None,
                                })
                                .next()
                                .unwrap_or(*surface);
                            out.conflicts.push(SurfaceConflict {
                                field,
                                first_surface,
                                first_value: existing,
                                surface: *surface,
                                value: value.to_string(),
                            });
                        }
                    }
                }
            }
            SurfaceObservation::Absent { surface, reason } => out.absent.push((*surface, reason.clone())),
            SurfaceObservation::Malformed { surface, reason } => {
                out.malformed.push((*surface, reason.clone()))
            }
            SurfaceObservation::Unreachable { surface, reason } => {
                out.unreachable.push((*surface, reason.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
