//! The ownership marker: how Launchplane tells what it created in Dokploy from what it did not.
//!
//! Every application Launchplane creates carries, on a line of its Dokploy `description`,
//! `launchplane.dev/owner=<instance>/<namespace>/<kind>/<name>/<uid>`. Launchplane adopts,
//! mutates, sweeps or deletes an application only when that line names this controller
//! instance and the owning object exactly (uid included), read fresh by id. A name is never
//! proof of ownership: an unmarked or foreign-marked application is a Conflict a person
//! resolves.

use std::fmt;

/// The key of the marker line in a Dokploy description.
pub const MARKER_KEY: &str = "launchplane.dev/owner=";

/// Stands for "no uid" (standalone objects have none; the instance id is per state folder).
pub const NO_UID: &str = "-";

/// Whether `id` can name a controller instance in a marker: a DNS-1123 label (1-63 lowercase
/// letters, digits and `-`, starting and ending with a letter or digit), so it never holds `/`.
pub fn valid_instance_id(id: &str) -> bool {
    crate::validation::is_dns1123_label(id)
}

/// Who owns a Dokploy object: this controller instance and one Kubernetes-style object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    /// The controller instance (`--instance-id`, or the standalone state folder's id).
    pub instance: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// `metadata.uid`, or [`NO_UID`].
    pub uid: String,
}

impl Owner {
    pub fn new(instance: &str, namespace: &str, kind: &str, name: &str, uid: Option<&str>) -> Self {
        Owner {
            instance: instance.to_string(),
            namespace: namespace.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            uid: uid.filter(|u| !u.is_empty()).unwrap_or(NO_UID).to_string(),
        }
    }

    /// The marker line, `launchplane.dev/owner=instance/namespace/kind/name/uid`.
    pub fn marker(&self) -> String {
        format!("{MARKER_KEY}{self}")
    }

    /// A description: `text`, then the marker on a line of its own.
    pub fn describe(&self, text: &str) -> String {
        format!("{text}\n{}", self.marker())
    }

    /// The owner a description's marker line names, if it has one that parses.
    pub fn in_description(description: Option<&str>) -> Option<Owner> {
        let line = description?
            .lines()
            .find_map(|l| l.trim().strip_prefix(MARKER_KEY))?;
        let mut parts = line.split('/');
        let owner = Owner {
            instance: parts.next()?.to_string(),
            namespace: parts.next()?.to_string(),
            kind: parts.next()?.to_string(),
            name: parts.next()?.to_string(),
            uid: parts.next()?.to_string(),
        };
        let complete = parts.next().is_none()
            && [
                &owner.instance,
                &owner.namespace,
                &owner.kind,
                &owner.name,
                &owner.uid,
            ]
            .iter()
            .all(|p| !p.is_empty());
        complete.then_some(owner)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.instance, self.namespace, self.kind, self.name, self.uid
        )
    }
}

/// What a Dokploy object's marker says about it, seen from `me`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Marked as `me`'s, exactly.
    Ours,
    /// No marker: made by a person or another tool. Never adopted, mutated or deleted.
    Unmarked,
    /// Marked by another instance or object (or an earlier object of the same name).
    Foreign(Owner),
}

/// Whose the object with `description` is, from `me`'s point of view.
pub fn ownership(description: Option<&str>, me: &Owner) -> Ownership {
    match Owner::in_description(description) {
        None => Ownership::Unmarked,
        Some(owner) if &owner == me => Ownership::Ours,
        Some(owner) => Ownership::Foreign(owner),
    }
}

impl Ownership {
    /// A sentence for a Conflict message: what the object carries instead of our marker.
    pub fn describe(&self) -> String {
        match self {
            Ownership::Ours => "it carries this object's ownership marker".into(),
            Ownership::Unmarked => "it carries no Launchplane ownership marker".into(),
            Ownership::Foreign(owner) => format!("its ownership marker names {owner}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Owner {
        Owner::new("cluster-a", "shop", "Preview", "shop-pr-42", Some("uid-1"))
    }

    #[test]
    fn a_marked_description_round_trips_and_is_ours() {
        let description = me().describe("Launchplane preview shop-pr-42");
        assert_eq!(Owner::in_description(Some(&description)), Some(me()));
        assert_eq!(ownership(Some(&description), &me()), Ownership::Ours);
    }

    #[test]
    fn unmarked_and_malformed_descriptions_are_not_ours() {
        for description in [
            None,
            Some(""),
            Some("made by hand"),
            Some("launchplane.dev/owner="),
            Some("launchplane.dev/owner=a/b/c/d"),
            Some("launchplane.dev/owner=a/b/c/d/e/f"),
            Some("launchplane.dev/owner=a//c/d/e"),
        ] {
            assert_eq!(
                ownership(description, &me()),
                Ownership::Unmarked,
                "{description:?}"
            );
        }
    }

    #[test]
    fn any_difference_in_the_owner_makes_it_foreign() {
        let others = [
            Owner::new("cluster-b", "shop", "Preview", "shop-pr-42", Some("uid-1")),
            Owner::new("cluster-a", "other", "Preview", "shop-pr-42", Some("uid-1")),
            Owner::new("cluster-a", "shop", "Lane", "shop-pr-42", Some("uid-1")),
            Owner::new("cluster-a", "shop", "Preview", "shop-pr-43", Some("uid-1")),
            // A Preview deleted and created again under the same name.
            Owner::new("cluster-a", "shop", "Preview", "shop-pr-42", Some("uid-2")),
            Owner::new("cluster-a", "shop", "Preview", "shop-pr-42", None),
        ];
        for other in others {
            let description = other.describe("x");
            assert_eq!(
                ownership(Some(&description), &me()),
                Ownership::Foreign(other.clone()),
                "{other}"
            );
        }
    }

    #[test]
    fn a_missing_uid_is_written_as_a_dash() {
        assert_eq!(Owner::new("i", "n", "Preview", "p", None).uid, NO_UID);
        assert_eq!(Owner::new("i", "n", "Preview", "p", Some("")).uid, NO_UID);
    }
}
