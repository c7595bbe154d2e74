//! Adopting an existing Dokploy estate: what the ProviderTargets of one ProviderConfig claim
//! of everything Dokploy lists ([`audit`]), and which ProviderTargets an import would create
//! for what nobody claims ([`import::plan`]).
//!
//! The audit runs on the data a poll returns ([`Snapshot`], [`SharedFacts`]), read twice:
//! the org-wide listing, every target's detail (its description carries ownership markers),
//! then the listing again. The two listings must show the same targets, and every target
//! needs its detail, or there is no answer at all ([`Unreadable`]): an audit of a partial
//! listing would call claimed targets gone and miss foreign markers, and an import from one
//! would create ProviderTargets from half the truth. Two listings also confirm an absence the
//! way the controller does (a target is Missing only when a later listing lacks it too).
//!
//! Each ProviderTarget is verified exactly as the controller verifies it
//! ([`crate::provider_target::reconcile`], once per listing, so both its verdict and its
//! message are the controller's). Then each listed application and compose service gets one
//! [`ServiceState`], the most severe that applies, and each ProviderTarget bound to nothing
//! listed gets a [`TargetState`].
//!
//! Rules, beyond the ProviderTarget rules themselves:
//! - A service whose description carries another Launchplane instance's ownership marker (or a
//!   marker line that does not parse) is that instance's: flagged, never imported.
//! - Services of one category with the same name in the same project and environment cannot be
//!   told apart from what Dokploy lists: an unclaimed one is a duplicate, never imported (a
//!   person picks one and writes its ProviderTarget with `spec.targetId`). Equal names in
//!   different environments are told apart by the project and environment an imported
//!   ProviderTarget expects, and it is bound by id.
//! - A ProviderTarget adopting by name (no id yet) that matches several services is
//!   Ambiguous; the services it may mean are contested, and no import takes them from it.

pub mod import;

use crate::observation::{PollSettings, SharedFacts, Snapshot, poll_settings};
use crate::provider_target::{ClaimIndex, key, reconcile};
use jiff::Timestamp;
use launchplane_api::ownership::{MARKER_KEY, Owner};
use launchplane_api::resources::{ProviderConfig, ProviderTarget, ProviderTargetStatus};
use launchplane_api::verdict::{FieldMismatch, Verdict};
use launchplane_api::verify::target::{ObservedTarget, reasons};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

/// What was read of Dokploy for an audit.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    /// The org-wide listing made before the detail reads.
    pub first: Snapshot,
    /// The org-wide listing made after them: what the audit reports.
    pub second: Snapshot,
    /// Every listed application's and compose service's detail, read between the two.
    pub facts: SharedFacts,
    /// Listed services that cannot be ProviderTargets (databases), from the second listing.
    pub others: Vec<OtherService>,
}

/// A listed service of a kind Launchplane does not target (a database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherService {
    pub id: String,
    /// Dokploy's type (`postgres`, `redis`, …).
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// Why there is no audit: what was read is not the whole estate.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Unreadable {
    #[error("Dokploy could not be listed: {0}")]
    NotListed(String),
    #[error(
        "Dokploy's two listings disagree ({}); services were created or deleted while they were read, or a \
         listing was partial: run it again",
        .0
    )]
    ListingsDisagree(String),
    #[error(
        "the detail (application.one / compose.one) of {} could not be read, so whose marker it carries is \
         unknown: run it again",
        .0.join(", ")
    )]
    DetailMissing(Vec<String>),
}

/// The state of one listed service, most severe first: a service gets the first that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    /// It carries another Launchplane instance's ownership marker (or one that does not parse).
    ForeignMarker,
    /// Two or more ProviderTargets claim it.
    ClaimedTwice,
    /// Its one ProviderTarget expects other fields.
    Mismatch,
    /// Its one ProviderTarget could not be compared with it.
    Unverifiable,
    /// Unclaimed, and a ProviderTarget adopting by name may mean it (several have that name).
    AmbiguousClaim,
    /// Unclaimed, and another service of its category has its name in its project and
    /// environment.
    DuplicateName,
    /// Its one ProviderTarget matches it.
    Matched,
    /// No ProviderTarget claims it.
    Unclaimed,
}

impl ServiceState {
    pub const ALL: [ServiceState; 8] = [
        ServiceState::Matched,
        ServiceState::Mismatch,
        ServiceState::ClaimedTwice,
        ServiceState::Unverifiable,
        ServiceState::Unclaimed,
        ServiceState::DuplicateName,
        ServiceState::AmbiguousClaim,
        ServiceState::ForeignMarker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::ForeignMarker => "foreign-marker",
            ServiceState::ClaimedTwice => "claimed-twice",
            ServiceState::Mismatch => "mismatch",
            ServiceState::Unverifiable => "unverifiable",
            ServiceState::AmbiguousClaim => "ambiguous-claim",
            ServiceState::DuplicateName => "duplicate-name",
            ServiceState::Matched => "matched",
            ServiceState::Unclaimed => "unclaimed",
        }
    }

    /// Whether it stands in the way of adopting the estate: everything but a match and a
    /// plain unclaimed service.
    pub fn blocks(self) -> bool {
        !matches!(self, ServiceState::Matched | ServiceState::Unclaimed)
    }
}

/// The state of a ProviderTarget bound to nothing listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetState {
    /// Its target is not in Dokploy (an id two listings lack, or a name nothing has).
    Gone,
    /// It adopts by name, and several services have that name.
    Ambiguous,
}

impl TargetState {
    pub const ALL: [TargetState; 2] = [TargetState::Gone, TargetState::Ambiguous];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Gone => "gone",
            TargetState::Ambiguous => "ambiguous",
        }
    }
}

/// Whose ownership marker a service carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    /// The owner the marker names (`instance/namespace/kind/name/uid`); `None`: the marker
    /// line does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The marker names this Launchplane instance.
    pub ours: bool,
    /// The kind of the owning object (`Lane`, `Preview`), when the marker parses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One listed application or compose service.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRow {
    /// `application` or `compose`.
    pub category: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub domains: Vec<String>,
    pub state: ServiceState,
    /// `namespace/name` of every ProviderTarget claiming it.
    pub claimed_by: Vec<String>,
    /// What its one ProviderTarget expects otherwise (state `mismatch`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<FieldMismatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<Marker>,
    /// What the state means here, and what a person would do about it.
    pub detail: String,
}

impl ServiceRow {
    /// `project/environment`, with `-` for what Dokploy does not say.
    pub fn place(&self) -> String {
        format!(
            "{}/{}",
            self.project.as_deref().unwrap_or("-"),
            self.environment.as_deref().unwrap_or("-")
        )
    }
}

/// One ProviderTarget bound to nothing listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRow {
    /// `namespace/name`.
    pub target: String,
    pub category: String,
    /// The id it claims, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    pub display_name: String,
    pub state: TargetState,
    /// The controller's verdict message.
    pub detail: String,
}

/// Every listed application and compose service with the ProviderTargets claiming it, and
/// the ProviderTargets that claim nothing listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    /// Sorted by project, environment, category, name, id.
    pub services: Vec<ServiceRow>,
    /// Sorted by `namespace/name`.
    pub targets: Vec<TargetRow>,
    /// Services that cannot be ProviderTargets.
    pub others: Vec<OtherService>,
}

impl Audit {
    /// Whether anything stands in the way of adopting the estate.
    pub fn blocking(&self) -> bool {
        !self.targets.is_empty() || self.services.iter().any(|s| s.state.blocks())
    }

    /// How many services and ProviderTargets are in each state (every state, zeros included).
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = ServiceState::ALL
            .iter()
            .map(|state| {
                (
                    state.as_str(),
                    self.services.iter().filter(|s| s.state == *state).count(),
                )
            })
            .collect();
        counts.extend(TargetState::ALL.iter().map(|state| {
            (
                state.as_str(),
                self.targets.iter().filter(|t| t.state == *state).count(),
            )
        }));
        counts
    }
}

/// The ProviderTargets of `config`: in its namespace, naming it.
pub fn targets_of<'a>(config: &ProviderConfig, targets: &'a [ProviderTarget]) -> Vec<&'a ProviderTarget> {
    let namespace = config.metadata.namespace.as_deref().unwrap_or("default");
    let name = config.metadata.name.as_deref().unwrap_or_default();
    targets
        .iter()
        .filter(|t| {
            t.metadata.namespace.as_deref().unwrap_or("default") == namespace
                && t.spec.provider_config_ref.name == name
                && t.metadata.deletion_timestamp.is_none()
        })
        .collect()
}

/// Audit what `reading` saw of the Dokploy behind `config` against its ProviderTargets (any
/// in `targets` that do not belong to it are left out). `instance` is this Launchplane
/// instance's id as ownership markers name it; `None`: none of its markers exist yet, so any
/// marker is another instance's.
pub fn audit(
    config: &ProviderConfig,
    targets: &[ProviderTarget],
    reading: &Reading,
    instance: Option<&str>,
) -> Result<Audit, Unreadable> {
    let (listed, first_at, second_at) = whole(reading)?;
    let settings = poll_settings(&config.spec);
    let mine = targets_of(config, targets);
    let verified: Vec<(&ProviderTarget, ProviderTargetStatus)> = {
        let index = ClaimIndex::build(mine.iter().copied());
        mine.iter()
            .map(|target| {
                let claims = index.claims_for(target);
                let status = verify_twice(target, &claims, reading, &settings, first_at, second_at);
                (*target, status)
            })
            .collect()
    };

    let listed_ids: BTreeSet<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    let mut claims: HashMap<&str, Vec<(&ProviderTarget, &ProviderTargetStatus)>> = HashMap::new();
    let mut contested: HashMap<&str, Vec<String>> = HashMap::new();
    let mut rows_of_targets = Vec::new();
    for (target, status) in &verified {
        match status.bound_target_id.as_deref() {
            Some(id) if listed_ids.contains(id) => claims.entry(id).or_default().push((*target, status)),
            _ => {
                let state = if status.reason.as_deref() == Some(reasons::AMBIGUOUS) {
                    for candidate in listed.iter().filter(|t| {
                        t.name == target.spec.display_name
                            && t.category == target.spec.target_category.as_str()
                    }) {
                        contested
                            .entry(candidate.id.as_str())
                            .or_default()
                            .push(key(target));
                    }
                    TargetState::Ambiguous
                } else {
                    TargetState::Gone
                };
                rows_of_targets.push(TargetRow {
                    target: key(target),
                    category: target.spec.target_category.as_str().to_string(),
                    target_id: status.bound_target_id.clone(),
                    display_name: target.spec.display_name.clone(),
                    state,
                    detail: status.message.clone().unwrap_or_default(),
                });
            }
        }
    }

    let duplicates = duplicates(listed);
    let mut services: Vec<ServiceRow> = listed
        .iter()
        .map(|service| {
            let marker = marker_of(reading.facts.get(category_of(service), &service.id), instance);
            let claimants = claims
                .get(service.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let twins = duplicates
                .get(&identity(service))
                .filter(|ids| ids.len() > 1)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let rivals = contested
                .get(service.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            row(service, claimants, marker, twins, rivals)
        })
        .collect();
    services.sort_by(|a, b| {
        (&a.project, &a.environment, &a.category, &a.name, &a.id).cmp(&(
            &b.project,
            &b.environment,
            &b.category,
            &b.name,
            &b.id,
        ))
    });
    rows_of_targets.sort_by(|a, b| a.target.cmp(&b.target));
    let mut others = reading.others.clone();
    others.sort_by(|a, b| {
        (&a.project, &a.environment, &a.name, &a.id).cmp(&(&b.project, &b.environment, &b.name, &b.id))
    });
    Ok(Audit {
        services,
        targets: rows_of_targets,
        others,
    })
}

fn listing(snapshot: &Snapshot) -> Result<(&[ObservedTarget], Timestamp), Unreadable> {
    if let Some((_, message)) = &snapshot.last_failure {
        return Err(Unreadable::NotListed(message.clone()));
    }
    match (&snapshot.targets, snapshot.observed_at) {
        (Some(targets), Some(at)) => Ok((targets.as_slice(), at)),
        _ => Err(Unreadable::NotListed("no listing was made".into())),
    }
}

/// The second listing, when the reading is whole: two listings of the same targets, and the
/// detail of each.
fn whole(reading: &Reading) -> Result<(&[ObservedTarget], Timestamp, Timestamp), Unreadable> {
    let (first, first_at) = listing(&reading.first)?;
    let (second, second_at) = listing(&reading.second)?;
    let ids = |targets: &[ObservedTarget]| -> BTreeSet<String> {
        targets
            .iter()
            .map(|t| format!("{} {}", t.category, t.id))
            .collect()
    };
    let (before, after) = (ids(first), ids(second));
    if before != after {
        let gone: Vec<&String> = before.difference(&after).collect();
        let new: Vec<&String> = after.difference(&before).collect();
        let mut parts = Vec::new();
        if !gone.is_empty() {
            parts.push(format!("only the first shows {}", join(&gone)));
        }
        if !new.is_empty() {
            parts.push(format!("only the second shows {}", join(&new)));
        }
        return Err(Unreadable::ListingsDisagree(parts.join("; ")));
    }
    let unread: Vec<String> = second
        .iter()
        .filter(|t| reading.facts.get(category_of(t), &t.id).is_none())
        .map(|t| format!("{} {}", t.category, t.id))
        .collect();
    if !unread.is_empty() {
        return Err(Unreadable::DetailMissing(unread));
    }
    // The second listing is the later one even when a coarse clock stamped both alike: the
    // absence rule needs the confirming listing to come after the first.
    let second_at = second_at.max(first_at + jiff::SignedDuration::from_nanos(1));
    Ok((second, first_at, second_at))
}

fn join(items: &[&String]) -> String {
    items.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The controller's verdict on `target` after the two listings: each verified in turn, the
/// first's status carried into the second as a poll carries it into the next.
fn verify_twice(
    target: &ProviderTarget,
    claims: &[launchplane_api::verify::target::Claim],
    reading: &Reading,
    settings: &PollSettings,
    first_at: Timestamp,
    second_at: Timestamp,
) -> ProviderTargetStatus {
    let first = reconcile(target, &reading.first.window(settings), claims, first_at);
    let mut after_first = target.clone();
    after_first.status = Some(first.status);
    let mut second_window = reading.second.window(settings);
    second_window.observed_at = Some(second_at);
    reconcile(&after_first, &second_window, claims, second_at).status
}

fn category_of(target: &ObservedTarget) -> launchplane_providers::TargetCategory {
    if target.category == "compose" {
        launchplane_providers::TargetCategory::Compose
    } else {
        launchplane_providers::TargetCategory::Application
    }
}

/// What tells services apart in Dokploy's listing: category, project, environment, name.
type Identity = (String, Option<String>, Option<String>, String);

fn identity(t: &ObservedTarget) -> Identity {
    (
        t.category.clone(),
        t.project.clone(),
        t.environment.clone(),
        t.name.clone(),
    )
}

/// The ids of the services sharing each identity.
fn duplicates(listed: &[ObservedTarget]) -> BTreeMap<Identity, Vec<String>> {
    let mut by_identity: BTreeMap<Identity, Vec<String>> = BTreeMap::new();
    for t in listed {
        by_identity.entry(identity(t)).or_default().push(t.id.clone());
    }
    for ids in by_identity.values_mut() {
        ids.sort();
    }
    by_identity
}

/// The marker in the description the detail read saw.
fn marker_of(read: Option<&crate::observation::ReadFacts>, instance: Option<&str>) -> Option<Marker> {
    let description = read?.facts.description.as_deref()?;
    match Owner::in_description(Some(description)) {
        Some(owner) => Some(Marker {
            ours: instance == Some(owner.instance.as_str()),
            kind: Some(owner.kind.clone()),
            owner: Some(owner.to_string()),
        }),
        None if description.lines().any(|l| l.trim().starts_with(MARKER_KEY)) => Some(Marker {
            owner: None,
            ours: false,
            kind: None,
        }),
        None => None,
    }
}

fn row(
    service: &ObservedTarget,
    claimants: &[(&ProviderTarget, &ProviderTargetStatus)],
    marker: Option<Marker>,
    twins: &[String],
    rivals: &[String],
) -> ServiceRow {
    let claimed_by: Vec<String> = {
        let mut keys: Vec<String> = claimants.iter().map(|(t, _)| key(t)).collect();
        keys.sort();
        keys
    };
    let mut mismatches = Vec::new();
    let (state, detail) = if let Some(m) = marker.as_ref().filter(|m| !m.ours) {
        (ServiceState::ForeignMarker, foreign(service, m))
    } else {
        match claimants {
            [] if !rivals.is_empty() => (
                ServiceState::AmbiguousClaim,
                format!(
                    "ProviderTarget {} adopts by name {:?}, which several {}s have, and may mean this one; \
                     set its spec.targetId to the intended one",
                    rivals.join(", "),
                    service.name,
                    service.category
                ),
            ),
            [] if !twins.is_empty() => (
                ServiceState::DuplicateName,
                format!(
                    "{} {}s in {} are named {:?} (ids {}), so they cannot be told apart; rename them in \
                     Dokploy, or write the ProviderTarget of the one you mean with spec.targetId",
                    twins.len(),
                    service.category,
                    place(service),
                    service.name,
                    twins.join(", ")
                ),
            ),
            [] => (ServiceState::Unclaimed, unclaimed(marker.as_ref())),
            [(_, status)] if status.reason.as_deref() == Some(reasons::CONFLICT) => (
                ServiceState::ClaimedTwice,
                status.message.clone().unwrap_or_default(),
            ),
            [(_, status)] => {
                let message = status.message.clone().unwrap_or_default();
                match status.verdict {
                    Some(Verdict::Matched) => (ServiceState::Matched, String::new()),
                    Some(Verdict::Mismatch) => {
                        mismatches = status.mismatches.clone();
                        (ServiceState::Mismatch, differences(&mismatches, &message))
                    }
                    _ => (ServiceState::Unverifiable, message),
                }
            }
            several => (
                ServiceState::ClaimedTwice,
                format!(
                    "claimed by {} ProviderTargets; exactly one may claim it: delete the others or point \
                     their spec.targetId elsewhere",
                    several.len()
                ),
            ),
        }
    };
    ServiceRow {
        category: service.category.clone(),
        id: service.id.clone(),
        name: service.name.clone(),
        project: service.project.clone(),
        environment: service.environment.clone(),
        domains: service.domains.iter().cloned().collect(),
        state,
        claimed_by,
        mismatches,
        marker,
        detail,
    }
}

fn place(service: &ObservedTarget) -> String {
    format!(
        "{}/{}",
        service.project.as_deref().unwrap_or("-"),
        service.environment.as_deref().unwrap_or("-")
    )
}

fn foreign(service: &ObservedTarget, marker: &Marker) -> String {
    match &marker.owner {
        Some(owner) => format!(
            "its description carries another Launchplane's ownership marker ({MARKER_KEY}{owner}): that \
             instance manages this {}; leave it to it, or remove the marker line in Dokploy if that instance \
             is gone",
            service.category
        ),
        None => format!(
            "its description has a {MARKER_KEY} line that does not parse, so whose it is cannot be told; \
             correct or remove that line in Dokploy"
        ),
    }
}

fn unclaimed(marker: Option<&Marker>) -> String {
    match marker {
        Some(Marker {
            owner: Some(owner),
            kind: Some(kind),
            ..
        }) if kind == "Preview" => {
            format!("a Preview's application (marker {owner}): its Preview manages it")
        }
        Some(Marker {
            owner: Some(owner), ..
        }) => {
            format!("no ProviderTarget claims it; it carries this instance's marker ({owner})")
        }
        _ => "no ProviderTarget claims it".into(),
    }
}

/// `field: expected X, observed Y` for each mismatch.
fn differences(mismatches: &[FieldMismatch], fallback: &str) -> String {
    if mismatches.is_empty() {
        return fallback.to_string();
    }
    mismatches
        .iter()
        .map(|m| {
            format!(
                "{}: expected {}, observed {}",
                m.field,
                m.expected.as_deref().unwrap_or("(none)"),
                m.observed.as_deref().unwrap_or("(none)")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
