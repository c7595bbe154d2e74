//! What an Incident watches ([`Watched`]), of which resource ([`Subject`]), under which name,
//! and its evidence made safe to keep ([`evidence`]).

use crate::health::HealthResult;
use crate::redact::without_credentials;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use launchplane_api::conditions::{Aspect, find, status as condition_status, types};
use launchplane_api::resources::{
    CHECK_MAX_LEN, HealthCheck, HealthCheckType, IncidentSpec, IncidentSubjectKind, TEXT_MAX_LEN,
};
use launchplane_api::verdict::Verdict;
use launchplane_providers::redact::truncate;
use sha2::{Digest, Sha256};

/// Longest Incident name (and label value): a DNS-1123 label's length, so a name is also a
/// valid label value and reads whole in `kubectl get`.
pub const NAME_MAX_LEN: usize = 63;

/// The resource an Incident is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
    pub kind: IncidentSubjectKind,
    pub name: String,
    /// The Product it belongs to (empty when none does).
    pub product: String,
}

/// One thing of a resource an Incident watches, as seen now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    /// What it is, for people: an aspect (`Deployed`) or a check (`health provider`).
    pub check: String,
    /// The same, as the last part of the Incident's name.
    pub slug: String,
    /// The verdict that counts for incidents: an advisory failure counts as Matched (it does
    /// not fail the resource).
    pub verdict: Verdict,
    /// The evidence (the condition's or the check's message), not yet made safe.
    pub message: String,
}

impl Subject {
    /// The Incident's spec for `watched`.
    pub fn spec(&self, watched: &Watched) -> IncidentSpec {
        IncidentSpec {
            product: self.product.clone(),
            kind: self.kind,
            lane: self.name.clone(),
            check: watched.check.clone(),
        }
    }

    /// The Incident's name for `watched`.
    pub fn incident_name(&self, watched: &Watched) -> String {
        incident_name(self.kind, &self.name, &watched.slug)
    }

    /// The value of the label every Incident of this resource carries (they are listed by it).
    pub fn label(&self) -> String {
        subject_label(self.kind, &self.name)
    }
}

fn prefix(kind: IncidentSubjectKind) -> &'static str {
    match kind {
        IncidentSubjectKind::Lane => "lane",
        IncidentSubjectKind::Preview => "preview",
        IncidentSubjectKind::ProviderTarget => "target",
        IncidentSubjectKind::RuntimeIdentity => "identity",
    }
}

/// `<kind>.<name>.<slug>` (e.g. `lane.shop-prod.deployed`), or, past [`NAME_MAX_LEN`], cut and
/// ended by a hash of the whole, so two resources or checks never share a name. Slugs hold no
/// dot, so the name reads back unambiguously.
pub fn incident_name(kind: IncidentSubjectKind, name: &str, slug: &str) -> String {
    cut_hash(&format!("{}.{name}.{slug}", prefix(kind)))
}

/// `<kind>.<name>`, cut and hashed like [`incident_name`].
pub fn subject_label(kind: IncidentSubjectKind, name: &str) -> String {
    cut_hash(&format!("{}.{name}", prefix(kind)))
}

fn short_hash(text: &str, chars: usize) -> String {
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    digest[..chars].to_string()
}

fn cut_hash(full: &str) -> String {
    if full.len() <= NAME_MAX_LEN {
        return full.to_string();
    }
    let hash = short_hash(full, 10);
    // Names are ASCII (DNS-1123), so any byte index is a char boundary.
    let cut = full
        .get(..NAME_MAX_LEN - hash.len() - 1)
        .unwrap_or(full)
        .trim_end_matches(['-', '.']);
    format!("{cut}-{hash}")
}

/// `ConfigSynced` → `config-synced`.
fn kebab(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn aspect_watched(type_: &str, verdict: Verdict, message: &str) -> Watched {
    Watched {
        check: type_.to_string(),
        slug: kebab(type_),
        verdict,
        message: message.to_string(),
    }
}

/// The aspects of a resource, but the types in `except`: a required aspect as it is, an
/// advisory one as Matched (it does not fail the resource).
pub fn from_aspects(aspects: &[Aspect], except: &[&str]) -> Vec<Watched> {
    aspects
        .iter()
        .filter(|a| !except.contains(&a.type_))
        .map(|a| {
            let verdict = if a.required { a.verdict } else { Verdict::Matched };
            aspect_watched(a.type_, verdict, &a.message)
        })
        .collect()
}

/// The reasons of a lane's `Reconciling=True` while a deploy attempt is in flight.
const IN_FLIGHT: [&str; 3] = ["Pending", "Deploying", "Verifying"];

/// What of a Lane incidents watch: its aspects, `Healthy` split into its required checks (so a
/// public, a private and a provider failure never share an incident). While a deploy attempt
/// is in flight (`Reconciling` for `Pending`, `Deploying` or `Verifying`), or while a capture
/// holds the lane's web stopped on purpose (`web_stopped`), everything counts as Unchecked:
/// the target differs from the record being deployed, or the web is down, by design; a deploy
/// is judged when it ends (a failed one makes `Deployed` a Mismatch), a capture's web once it
/// is started again. A clock already running keeps running.
pub fn lane_watched(
    aspects: &[Aspect],
    checks: &[HealthCheck],
    results: &[HealthResult],
    conditions: &[Condition],
    web_stopped: bool,
) -> Vec<Watched> {
    let mut watched = from_aspects(aspects, &[types::HEALTHY]);
    watched.extend(from_health(checks, results));
    let in_flight = find(conditions, types::RECONCILING)
        .is_some_and(|c| c.status == condition_status::TRUE && IN_FLIGHT.contains(&c.reason.as_str()));
    if in_flight || web_stopped {
        for w in &mut watched {
            w.verdict = Verdict::Unchecked;
        }
    }
    watched
}

/// `check` for people: `health provider`, `health publicHttp /healthz`, `health privateHttp
/// <url>` (a URL's credentials and secret-looking query values withheld).
fn check_text(check: &HealthCheck) -> String {
    let kind = match check.check_type {
        HealthCheckType::PublicHttp => "publicHttp",
        HealthCheckType::PrivateHttp => "privateHttp",
        HealthCheckType::Provider => return "health provider".into(),
    };
    let at = check.url.as_deref().or(check.path.as_deref()).unwrap_or_default();
    truncate(&evidence(&format!("health {kind} {at}")), CHECK_MAX_LEN - 1)
}

/// The required health checks of a lane, one each (`results` in the order of `checks`). Two
/// checks of the same type and address are one: the worse of the two counts.
pub fn from_health(checks: &[HealthCheck], results: &[HealthResult]) -> Vec<Watched> {
    let mut out: Vec<Watched> = Vec::new();
    for (check, result) in checks.iter().zip(results) {
        if !check.required {
            continue;
        }
        let text = check_text(check);
        let slug = match check.check_type {
            HealthCheckType::Provider => "health-provider".to_string(),
            other => {
                let kind = if other == HealthCheckType::PublicHttp {
                    "health-public-http"
                } else {
                    "health-private-http"
                };
                // The address is in `check`; the hash keeps two addresses apart in the name.
                let at = check.url.as_deref().or(check.path.as_deref()).unwrap_or_default();
                format!("{kind}-{}", short_hash(at, 8))
            }
        };
        let verdict = result.evidence.verdict.unwrap_or_default();
        let message = result.evidence.message.clone().unwrap_or_default();
        match out.iter_mut().find(|w| w.slug == slug) {
            Some(same) if verdict > same.verdict => {
                same.verdict = verdict;
                same.message = message;
            }
            Some(_) => {}
            None => out.push(Watched {
                check: text,
                slug,
                verdict,
                message,
            }),
        }
    }
    out
}

/// The verdict an aspect condition carries as its reason.
fn verdict_of(condition: &Condition) -> Verdict {
    Verdict::ALL
        .into_iter()
        .find(|v| v.as_str() == condition.reason)
        .unwrap_or_default()
}

/// A kind with one aspect (ProviderTarget: `TargetVerified`; RuntimeIdentity:
/// `RuntimeIdentityVerified`): its required verdict is Matched while `Ready` is True (an
/// advisory failure leaves it True), else the aspect's verdict and message. `None` before the
/// aspect has a condition.
pub fn watched_by_ready(aspect_type: &str, conditions: &[Condition]) -> Option<Watched> {
    let aspect = find(conditions, aspect_type)?;
    let ready = find(conditions, types::READY).is_some_and(|c| c.status == condition_status::TRUE);
    let verdict = if ready {
        Verdict::Matched
    } else {
        verdict_of(aspect)
    };
    Some(aspect_watched(aspect_type, verdict, &aspect.message))
}

/// Aspects every one of which is required (a Preview's), by their conditions.
pub fn from_conditions(conditions: &[Condition], aspect_types: &[&str]) -> Vec<Watched> {
    aspect_types
        .iter()
        .filter_map(|t| find(conditions, t).map(|c| aspect_watched(t, verdict_of(c), &c.message)))
        .collect()
}

/// Evidence safe to keep on an Incident: a URL's user and password and the values of
/// secret-looking query parameters (`token=`, `key=`, ...) withheld
/// ([`crate::redact::without_credentials`]), cut to the status field's length. Conditions carry
/// no secrets by contract; this holds even if one slipped in.
pub fn evidence(message: &str) -> String {
    truncate(&without_credentials(message), TEXT_MAX_LEN - 1)
}
