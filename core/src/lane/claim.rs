//! Whether a lane may mutate its `Manage` target at all: whose ownership marker the Dokploy
//! application carries, what it builds from, and which other Lanes name the same target.
//!
//! - **Marker** ([`launchplane_api::ownership`]): a target marked as this lane's (instance,
//!   namespace, `Lane`, name, uid) is the lane's; an unmarked one becomes the lane's when the
//!   attempt's first mutation is about to happen ([`TargetClaim::mark`]: the existing
//!   description is kept and the marker line appended); anything else (another instance,
//!   another Lane, a Preview, an earlier Lane of the same name, a marker line that does not
//!   parse) is a Conflict: the lane stalls and changes nothing.
//! - **Source**: a Dokploy application that builds from source (git, github, ...) is turned
//!   into a docker-sourced one by the first image the lane sets; the lane does that only
//!   with `spec.allowSourceConversion`. An unknown source type changes nothing.
//! - **One Lane per target** (within a namespace, where Lanes can see each other): two or
//!   more Lanes naming one `Manage` ProviderTarget are all in Conflict and none mutates it.
//!   Lanes of other namespaces or controllers meet through the marker.
//!
//! `Observe` targets are never mutated, so none of this applies to them.

use super::blocker::{Blocker, blocker};
use crate::target::TargetFacts;
use launchplane_api::ownership::{MARKER_KEY, Owner, Ownership, ownership};
use launchplane_api::resources::{Lane, ManagementPolicy, ProviderTarget, TargetCategory};
use launchplane_api::verdict::{FieldMismatch, Verdict};

/// The kind a Lane's ownership marker names.
pub const LANE_KIND: &str = "Lane";

/// The Dokploy `sourceType` of an application that runs an image.
pub const DOCKER_SOURCE: &str = "docker";

/// The owner a lane's Manage target is marked with: this controller instance and the lane
/// (its uid in the cluster; standalone lanes have none, written `-`).
pub fn lane_owner(lane: &Lane, instance: &str) -> Owner {
    Owner::new(
        instance,
        lane.metadata.namespace.as_deref().unwrap_or("default"),
        LANE_KIND,
        lane.metadata.name.as_deref().unwrap_or_default(),
        lane.metadata.uid.as_deref(),
    )
}

/// The other Lanes of `lane`'s namespace that name the same ProviderTarget, sorted by name.
/// Both shells compute a lane's rivals with this from every Lane they know.
pub fn rival_lanes<'a>(lane: &Lane, lanes: impl IntoIterator<Item = &'a Lane>) -> Vec<String> {
    let mut names: Vec<String> = lanes
        .into_iter()
        .filter(|other| {
            other.metadata.namespace == lane.metadata.namespace
                && other.metadata.name != lane.metadata.name
                && other.spec.target_ref.name == lane.spec.target_ref.name
        })
        .filter_map(|other| other.metadata.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What the claim checks found.
#[derive(Default)]
pub(super) struct TargetClaim {
    pub blockers: Vec<Blocker>,
    /// A verdict for `TargetVerified` worse than the ProviderTarget's own, with why.
    pub verdict: Option<(Verdict, String)>,
    pub mismatches: Vec<FieldMismatch>,
    /// The description that marks the (unmarked) target as the lane's, to be written before
    /// the attempt's first mutation.
    pub mark: Option<String>,
}

impl TargetClaim {
    fn conflict(&mut self, reason: &'static str, verdict: Verdict, message: String, stalls: bool) {
        self.verdict = Some(match self.verdict.take() {
            Some((v, m)) => (Verdict::worst([v, verdict]), format!("{m}; {message}")),
            None => (verdict, message.clone()),
        });
        self.blockers.push(blocker(reason, message, stalls));
    }
}

/// Judge `target` (the lane's ProviderTarget) for `lane`. `facts` is the target as read now
/// (`None`: not read; the caller then mutates nothing anyway), `rivals` the other Lanes of
/// the namespace naming it ([`rival_lanes`]).
pub(super) fn judge(
    lane: &Lane,
    target: &ProviderTarget,
    target_id: Option<&str>,
    facts: Option<&TargetFacts>,
    instance: &str,
    rivals: &[String],
) -> TargetClaim {
    let mut claim = TargetClaim::default();
    if target.spec.management_policy != ManagementPolicy::Manage {
        return claim;
    }
    let names = Names {
        target: target.metadata.name.as_deref().unwrap_or_default(),
        app: target_id.unwrap_or("(unbound)"),
        noun: target.spec.target_category.as_str(),
    };
    if !rivals.is_empty() {
        claim.shared(rivals, &names);
    }
    let Some(facts) = facts else {
        return claim;
    };
    claim.marker(facts.description.as_deref(), &lane_owner(lane, instance), &names);
    // A compose has no source to convert: its image is pinned through its env.
    if target.spec.target_category != TargetCategory::Application {
        return claim;
    }
    claim.source(
        facts.source_type.as_deref(),
        lane.spec.allow_source_conversion,
        &names,
    );
    claim
}

/// How the claim's messages name the target: the ProviderTarget and the Dokploy application
/// or compose.
struct Names<'a> {
    target: &'a str,
    app: &'a str,
    /// `application` or `compose`.
    noun: &'a str,
}

impl TargetClaim {
    /// Other Lanes of the namespace name the same `Manage` target.
    fn shared(&mut self, rivals: &[String], names: &Names<'_>) {
        let target_name = names.target;
        let s = if rivals.len() == 1 { "" } else { "s" };
        self.conflict(
            "TargetSharedByLanes",
            Verdict::Mismatch,
            format!(
                "Conflict: Lane{s} {} of this namespace also name{} ProviderTarget {target_name}; a \
                 Manage target belongs to one Lane, so none of them deploys to it or corrects it. Point \
                 all but one of these Lanes' spec.targetRef at other ProviderTargets (or delete the \
                 extra Lanes)",
                rivals.join(", "),
                if rivals.len() == 1 { "s" } else { "" },
            ),
            true,
        );
    }

    /// The ownership marker in the application's `description`: ours, someone else's (or one
    /// that does not parse: a Conflict), or none (marked before the first mutation).
    fn marker(&mut self, description: Option<&str>, me: &Owner, names: &Names<'_>) {
        let Names {
            target: target_name,
            app,
            noun,
        } = *names;
        match ownership(description, me) {
            Ownership::Ours => {}
            Ownership::Foreign(owner) => {
                self.mismatches.push(FieldMismatch::values(
                    "target.owner",
                    Some(me.to_string()),
                    Some(owner.to_string()),
                ));
                self.conflict(
                    "TargetOwnedElsewhere",
                    Verdict::Mismatch,
                    format!(
                        "Conflict: Dokploy {noun} {app} (ProviderTarget {target_name}) is managed by {}, \
                         as the ownership marker in its description says ({MARKER_KEY}{owner}); Launchplane \
                         never changes a target another owner manages. Point spec.targetRef at \
                         another ProviderTarget, or, if that owner is really gone, remove that marker line \
                         from the {noun}'s description in Dokploy",
                        whose(&owner, me)
                    ),
                    true,
                );
            }
            Ownership::Unmarked if has_marker_line(description) => {
                self.conflict(
                    "TargetOwnedElsewhere",
                    Verdict::Mismatch,
                    format!(
                        "Conflict: the description of Dokploy {noun} {app} (ProviderTarget \
                         {target_name}) has a {MARKER_KEY} line that does not parse, so whose it is cannot \
                         be told; Launchplane changes nothing on it. Correct or remove that line in Dokploy"
                    ),
                    true,
                );
            }
            Ownership::Unmarked => self.mark = Some(marked(description, me)),
        }
    }

    /// What the application builds from: a docker image, or a source the lane converts only
    /// when `allow_conversion`; an unknown source changes nothing.
    fn source(&mut self, source_type: Option<&str>, allow_conversion: bool, names: &Names<'_>) {
        let Names {
            target: target_name,
            app,
            ..
        } = *names;
        match source_type {
            Some(DOCKER_SOURCE) => {}
            // Allowed: the attempt's SetImage (saveDockerProvider) converts it.
            Some(_) if allow_conversion => {}
            Some(source) => {
                self.mismatches.push(FieldMismatch::values(
                    "target.sourceType",
                    Some(DOCKER_SOURCE),
                    Some(source),
                ));
                self.conflict(
                    "TargetSourceNotDocker",
                    Verdict::Mismatch,
                    format!(
                        "Dokploy application {app} (ProviderTarget {target_name}) builds from source type \
                         {source}, not a docker image; deploying an Artifact to it would turn it into a docker \
                         application and its build settings would no longer be used. Set \
                         spec.allowSourceConversion: true on this Lane to convert it, or point \
                         spec.targetRef at a docker-sourced application (or set the ProviderTarget's \
                         managementPolicy to Observe)"
                    ),
                    true,
                );
            }
            None => self.conflict(
                "TargetSourceUnknown",
                Verdict::Unverifiable,
                format!(
                    "Dokploy did not say which source application {app} (ProviderTarget {target_name}) \
                     builds from (no sourceType in its detail); nothing is changed on it until it does"
                ),
                false,
            ),
        }
    }
}

/// Who `owner` is, in words, as seen from `me`.
fn whose(owner: &Owner, me: &Owner) -> String {
    let object = format!("{} {}/{}", owner.kind, owner.namespace, owner.name);
    if owner.instance != me.instance {
        format!(
            "{object} of another Launchplane (instance {}; this one is {})",
            owner.instance, me.instance
        )
    } else if owner.kind == me.kind && owner.namespace == me.namespace && owner.name == me.name {
        format!(
            "an earlier Lane of the same name (uid {}; this Lane's uid is {})",
            owner.uid, me.uid
        )
    } else {
        object
    }
}

fn has_marker_line(description: Option<&str>) -> bool {
    description.is_some_and(|d| d.lines().any(|l| l.trim().starts_with(MARKER_KEY)))
}

/// `description` with `me`'s marker line appended; the existing text is kept byte for byte.
fn marked(description: Option<&str>, me: &Owner) -> String {
    match description {
        None | Some("") => me.marker(),
        Some(text) if text.ends_with('\n') => format!("{text}{}", me.marker()),
        Some(text) => me.describe(text),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use launchplane_api::ownership::Owner;

    #[test]
    fn the_marker_is_appended_and_the_text_kept() {
        let me = Owner::new("a", "shop", "Lane", "prod", Some("u1"));
        assert_eq!(marked(None, &me), me.marker());
        assert_eq!(marked(Some(""), &me), me.marker());
        assert_eq!(
            marked(Some("prod app\n  keep"), &me),
            format!("prod app\n  keep\n{}", me.marker())
        );
        assert_eq!(
            marked(Some("prod app\n"), &me),
            format!("prod app\n{}", me.marker())
        );
        for text in [None, Some(""), Some("x"), Some("x\n\n")] {
            assert_eq!(
                ownership(Some(&marked(text, &me)), &me),
                Ownership::Ours,
                "{text:?}"
            );
        }
    }
}
