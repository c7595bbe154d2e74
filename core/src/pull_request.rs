//! From a pull-request event to a change of Preview objects: pure, for the webhook receiver
//! and its resync alike (`launchplane webhooks`).
//!
//! ```text
//!  event + the Product's preview policy + the namespace's Previews ─► Create | Update | Delete | Ignore
//!
//!  opened / reopened / synchronize / labeled / resync
//!      open, labelled with policy.label ─► Create (none yet) or Update (head or URL moved)
//!  closed, or unlabeled with policy.label ─► Delete (only the Preview the receiver made)
//!  anything else ─► Ignore, with the reason
//! ```
//!
//! The receiver owns only the Previews it made (label [`MANAGED_BY_LABEL`] = [`MANAGED_BY`]): a
//! Preview a person made for the same pull request, or one that merely has the name, is never
//! changed or deleted. A Preview is deleted only on an explicit `closed` or `unlabeled` event
//! for its pull request; the resync (a listing of open pull requests) creates and updates, and
//! never deletes, whatever the listing says. An event older than the one a Preview was last
//! written from (`pull_request.updated_at`, kept in [`UPDATED_AT_ANNOTATION`]) changes nothing:
//! GitHub does not promise delivery order, and a redelivered old event must not undo a newer
//! one.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use launchplane_api::resources::{LocalObjectRef, Preview, PreviewSpec, Product, PullRequest};
use std::collections::BTreeMap;

/// The label on every Preview the receiver created; the only ones it changes or deletes.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] on the receiver's Previews.
pub const MANAGED_BY: &str = "launchplane-webhooks";
/// The Product a receiver-made Preview belongs to (for selection by people).
pub const PRODUCT_LABEL: &str = "launchplane.dev/product";
/// The pull-request number of a receiver-made Preview (for selection by people).
pub const PULL_REQUEST_LABEL: &str = "launchplane.dev/pull-request";
/// `pull_request.updated_at` of the event the Preview was last written from.
pub const UPDATED_AT_ANNOTATION: &str = "launchplane.dev/pull-request-updated-at";
/// How many characters of the head SHA the Artifact name carries.
pub const ARTIFACT_SHA_LEN: usize = 7;

/// What happened to the pull request (the webhook's `action`), or a resync's listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Opened,
    Reopened,
    Synchronize,
    Labeled,
    Unlabeled,
    Closed,
    /// The pull request was seen open in a resync's listing: create or update, never delete.
    Resync,
    /// Any other action (`edited`, `assigned`, …): ignored.
    Other(String),
}

impl Action {
    /// The webhook's `action` field.
    pub fn parse(action: &str) -> Action {
        match action {
            "opened" => Action::Opened,
            "reopened" => Action::Reopened,
            "synchronize" => Action::Synchronize,
            "labeled" => Action::Labeled,
            "unlabeled" => Action::Unlabeled,
            "closed" => Action::Closed,
            other => Action::Other(other.to_string()),
        }
    }

    /// The name in logs and metrics.
    pub fn as_str(&self) -> &str {
        match self {
            Action::Opened => "opened",
            Action::Reopened => "reopened",
            Action::Synchronize => "synchronize",
            Action::Labeled => "labeled",
            Action::Unlabeled => "unlabeled",
            Action::Closed => "closed",
            Action::Resync => "resync",
            Action::Other(a) => a,
        }
    }
}

/// The facts of one pull request an event (or a listing) carries, as far as previews use them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestFacts {
    pub action: Action,
    /// The host of the repository's web URL, e.g. `github.com`.
    pub host: String,
    /// `owner/name`, e.g. `acme/shop`.
    pub full_name: String,
    pub number: i64,
    /// The head commit (validated here before it is written to a Preview).
    pub head_sha: String,
    /// The pull request's web URL.
    pub url: Option<String>,
    /// Whether the pull request is open.
    pub open: bool,
    /// Its labels now.
    pub labels: Vec<String>,
    /// The label added or removed (`labeled`, `unlabeled`).
    pub label: Option<String>,
    /// `pull_request.updated_at`.
    pub updated_at: Option<Timestamp>,
}

/// What to do with the Previews.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Create this Preview.
    Create(Box<Preview>),
    /// Replace the spec, labels and annotations of the receiver's Preview of this name.
    Update(Box<Preview>),
    /// Delete the receiver's Preview of this name.
    Delete { name: String },
    /// Nothing to do, and why.
    Ignore(Ignored),
}

/// Why an event changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// A short reason for metrics and logs, e.g. `NotLabelled`.
    pub reason: &'static str,
    pub message: String,
}

impl Change {
    /// `created`, `updated`, `deleted` or `ignored`, for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Change::Create(_) => "created",
            Change::Update(_) => "updated",
            Change::Delete { .. } => "deleted",
            Change::Ignore(_) => "ignored",
        }
    }
}

fn ignore(reason: &'static str, message: String) -> Change {
    Change::Ignore(Ignored { reason, message })
}

/// Whether a Product's `spec.repository` (`owner/name` or `host/owner/name`) names the
/// repository `host`/`full_name`. Compared without case, as GitHub does.
pub fn names_repository(product_repository: &str, host: &str, full_name: &str) -> bool {
    let wanted = product_repository
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .trim_end_matches(".git");
    let parts: Vec<&str> = wanted.split('/').collect();
    match parts.as_slice() {
        [owner, name] => format!("{owner}/{name}").eq_ignore_ascii_case(full_name),
        [h, owner, name] => {
            h.eq_ignore_ascii_case(host) && format!("{owner}/{name}").eq_ignore_ascii_case(full_name)
        }
        _ => false,
    }
}

/// The name of the receiver's Preview of pull request `number`: `<product>-<slug>`, as the
/// preview's Dokploy application is named.
pub fn preview_name(product: &Product, number: i64) -> String {
    let name = product.metadata.name.as_deref().unwrap_or_default();
    format!("{name}-{}", product.spec.preview.slug(number))
}

/// The name of the Artifact a Preview of head commit `sha` waits for: `<product>-<first 7 of
/// the SHA>`. CI creates an Artifact of this name after pushing the image (docs/github.md).
pub fn artifact_name(product: &Product, sha: &str) -> String {
    let name = product.metadata.name.as_deref().unwrap_or_default();
    format!("{name}-{}", sha.get(..ARTIFACT_SHA_LEN).unwrap_or(sha))
}

/// Whether `preview` was made by the receiver.
pub fn is_managed(preview: &Preview) -> bool {
    preview
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY)
}

fn is_full_sha(sha: &str) -> bool {
    sha.len() == 40
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn recorded_updated_at(preview: &Preview) -> Option<Timestamp> {
    preview
        .metadata
        .annotations
        .as_ref()?
        .get(UPDATED_AT_ANNOTATION)?
        .parse()
        .ok()
}

/// The Preview the receiver wants for `event` under `product`.
fn desired(product: &Product, event: &PullRequestFacts) -> Preview {
    let product_name = product.metadata.name.clone().unwrap_or_default();
    let mut labels = BTreeMap::new();
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
    labels.insert(PRODUCT_LABEL.to_string(), product_name.clone());
    labels.insert(PULL_REQUEST_LABEL.to_string(), event.number.to_string());
    let annotations = event
        .updated_at
        .map(|at| BTreeMap::from([(UPDATED_AT_ANNOTATION.to_string(), at.to_string())]));
    Preview {
        metadata: ObjectMeta {
            name: Some(preview_name(product, event.number)),
            namespace: product.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            ..ObjectMeta::default()
        },
        spec: PreviewSpec {
            product_ref: LocalObjectRef { name: product_name },
            pull_request: PullRequest {
                repository: product.spec.repository.clone(),
                number: event.number,
                url: event.url.clone(),
                head_sha: event.head_sha.clone(),
            },
            artifact_ref: LocalObjectRef {
                name: artifact_name(product, &event.head_sha),
            },
            ttl: None,
        },
        status: None,
    }
}

/// The one change `event` makes to the Previews of `product`, given every Preview of the
/// Product's namespace (`previews`). `product` must name the event's repository (see
/// [`names_repository`]); the caller decides that per Product.
pub fn decide(event: &PullRequestFacts, product: &Product, previews: &[Preview]) -> Change {
    let policy = &product.spec.preview;
    let product_name = product.metadata.name.as_deref().unwrap_or_default();
    let pr = format!("{}#{}", event.full_name, event.number);
    let name = preview_name(product, event.number);
    // Previews of this pull request under this Product, whoever made them.
    let of_pr: Vec<&Preview> = previews
        .iter()
        .filter(|p| p.spec.product_ref.name == product_name && p.spec.pull_request.number == event.number)
        .collect();
    let ours = of_pr.iter().copied().find(|p| is_managed(p));
    let theirs = of_pr.iter().copied().find(|p| !is_managed(p));
    let stale = ours
        .and_then(recorded_updated_at)
        .zip(event.updated_at)
        .is_some_and(|(recorded, at)| at < recorded);
    let stale_message = |what: &str| {
        format!(
            "{what} for {pr} is older than the one Preview {name} was last written from ({}); nothing changed",
            ours.and_then(recorded_updated_at)
                .map(|t| t.to_string())
                .unwrap_or_default()
        )
    };

    let removes = match (&event.action, &event.label) {
        (Action::Closed, _) => true,
        (Action::Unlabeled, Some(label)) => label == &policy.label,
        (Action::Unlabeled, None) => false,
        _ => false,
    };
    if removes {
        return match ours {
            Some(_) if stale => ignore(
                "Stale",
                stale_message(&format!("the {} event", event.action.as_str())),
            ),
            Some(p) => Change::Delete {
                name: p.metadata.name.clone().unwrap_or_default(),
            },
            None => match theirs {
                Some(p) => ignore(
                    "MadeByAPerson",
                    format!(
                        "Preview {} of {pr} was not made by the receiver (no {MANAGED_BY_LABEL}={MANAGED_BY} label); it is left for whoever made it to delete",
                        p.metadata.name.as_deref().unwrap_or_default()
                    ),
                ),
                None => ignore("NoPreview", format!("{pr} has no Preview to delete")),
            },
        };
    }

    // Disabling previews stops new ones; a closed pull request still takes its preview along.
    if !policy.enabled {
        return ignore(
            "PreviewsDisabled",
            format!(
                "Product {product_name} names {pr}'s repository but its previews are disabled (spec.preview.enabled)"
            ),
        );
    }
    match &event.action {
        Action::Opened | Action::Reopened | Action::Synchronize | Action::Labeled | Action::Resync => {}
        Action::Unlabeled => {
            return ignore(
                "OtherLabel",
                format!(
                    "{pr}: label {:?} removed; only removing {:?} deletes its preview",
                    event.label.as_deref().unwrap_or_default(),
                    policy.label
                ),
            );
        }
        // Decided above: a closed pull request's preview goes.
        Action::Closed => return ignore("NoPreview", format!("{pr} has no Preview to delete")),
        Action::Other(action) => {
            return ignore(
                "ActionNotHandled",
                format!("{pr}: action {action:?} does not change previews"),
            );
        }
    }
    if !event.open {
        return ignore(
            "NotOpen",
            format!("{pr} is not open; a closed pull request gets no preview"),
        );
    }
    if !event.labels.iter().any(|l| l == &policy.label) {
        return ignore(
            "NotLabelled",
            format!(
                "{pr} does not carry the label {:?} (Product {product_name}'s spec.preview.label)",
                policy.label
            ),
        );
    }
    if let Some(p) = theirs {
        return ignore(
            "MadeByAPerson",
            format!(
                "Preview {} of {pr} was made by a person (no {MANAGED_BY_LABEL}={MANAGED_BY} label); the receiver leaves it alone",
                p.metadata.name.as_deref().unwrap_or_default()
            ),
        );
    }
    if !is_full_sha(&event.head_sha) {
        return ignore(
            "InvalidHeadSha",
            format!(
                "{pr}: head sha {:?} is not a full 40-character lowercase hex SHA",
                event.head_sha
            ),
        );
    }
    let want = desired(product, event);
    match ours {
        Some(_) if stale => ignore(
            "Stale",
            stale_message(&format!("the {} event", event.action.as_str())),
        ),
        Some(p) if p.spec == want.spec => ignore(
            "UpToDate",
            format!(
                "Preview {} already previews {pr} at {}",
                p.metadata.name.as_deref().unwrap_or_default(),
                event.head_sha
            ),
        ),
        Some(p) => {
            let mut want = want;
            // The receiver's Preview keeps its name even if the slug template changed since.
            want.metadata.name = p.metadata.name.clone();
            Change::Update(Box::new(want))
        }
        None => match previews
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name.as_str()))
        {
            Some(other) if !is_managed(other) => ignore(
                "NameTaken",
                format!(
                    "a Preview named {name} exists and was not made by the receiver; {pr} gets no preview until it is renamed or deleted"
                ),
            ),
            Some(_) => ignore(
                "NameTaken",
                format!(
                    "the receiver's Preview {name} belongs to another pull request or product; {pr} gets no preview until it goes"
                ),
            ),
            None => Change::Create(Box::new(want)),
        },
    }
}

#[cfg(test)]
mod tests;
