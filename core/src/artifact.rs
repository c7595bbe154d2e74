//! Artifact: check that the manifest pins an image by digest and an exact source commit, and
//! list who references it (so it is protected from garbage collection).

use super::Outcome;
use jiff::Timestamp;
use launchplane_api::conditions::{self, Aspect, Progress, reasons, types};
use launchplane_api::resources::{Artifact, ArtifactSpec, ArtifactStatus, ArtifactUser, Lane, Product};
use launchplane_api::verdict::Verdict;

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether the manifest can be deployed: an image repository, a `sha256:` digest of 64
/// lowercase hex digits, and a source commit that is a full 40-hex SHA (never a branch or tag).
pub fn check(spec: &ArtifactSpec) -> Result<(), String> {
    if spec.image.repository.is_empty() {
        return Err("spec.image.repository is empty".into());
    }
    match spec.image.digest.strip_prefix("sha256:") {
        Some(hex) if is_hex(hex, 64) => {}
        _ => {
            return Err(format!(
                "spec.image.digest {:?} is not sha256: followed by 64 lowercase hex digits",
                spec.image.digest
            ));
        }
    }
    if !is_hex(&spec.source.commit, 40) {
        return Err(format!(
            "spec.source.commit {:?} is not an exact 40-character lowercase hex git SHA",
            spec.source.commit
        ));
    }
    Ok(())
}

/// The reason both Lanes and Previews give for refusing an Artifact of another product's image.
pub const REPOSITORY_MISMATCH: &str = "ArtifactRepositoryMismatch";

/// Whether `artifact` is an image of `product`: its `spec.image.repository` is exactly the
/// Product's `spec.imageRepository`. An artifact of any other repository is never deployed
/// for the product, whoever built it (compared as written: no registry defaults are
/// assumed, so `nginx` and `docker.io/library/nginx` differ).
pub fn check_repository(artifact: &Artifact, product: &Product) -> Result<(), String> {
    let theirs = &artifact.spec.image.repository;
    let ours = &product.spec.image_repository;
    if theirs == ours {
        return Ok(());
    }
    Err(format!(
        "Artifact {} is an image of {theirs:?}, but Product {} deploys images of {ours:?} \
         (spec.imageRepository); nothing of another repository is deployed. Reference an Artifact \
         built from {ours:?}, or correct the Product's spec.imageRepository if it is the one that \
         is wrong",
        artifact.metadata.name.as_deref().unwrap_or_default(),
        product.metadata.name.as_deref().unwrap_or_default(),
    ))
}

/// The reason a Preview gives for an Artifact built from another commit than its head.
pub const COMMIT_MISMATCH: &str = "ArtifactCommitMismatch";

/// Whether `artifact` was built from `head`, the pull request's head commit a Preview says it
/// shows: its feedback (the GitHub deployment, the comment) names that commit, so serving the
/// build of any other commit under it would report the wrong code as deployed.
pub fn check_commit(artifact: &Artifact, head: &str) -> Result<(), String> {
    let built = &artifact.spec.source.commit;
    if built == head {
        return Ok(());
    }
    let short = |s: &str| s.get(..12).unwrap_or(s).to_string();
    Err(format!(
        "spec.artifactRef names Artifact {}, built from commit {}, but spec.pullRequest.headSha is {}:          a preview serves only the build of its head commit. Point spec.artifactRef at the Artifact          built from {} (CI creates it after pushing the image), or correct spec.pullRequest.headSha",
        artifact.metadata.name.as_deref().unwrap_or_default(),
        short(built),
        short(head),
        short(head),
    ))
}

/// Compute an Artifact's status from its manifest and the lanes of its namespace.
pub fn reconcile(artifact: &Artifact, lanes: &[Lane], now: Timestamp) -> Outcome<ArtifactStatus> {
    let old = artifact.status.clone().unwrap_or_default();
    let name = artifact.metadata.name.clone().unwrap_or_default();
    let mut users: Vec<ArtifactUser> = lanes
        .iter()
        .filter(|l| l.metadata.namespace == artifact.metadata.namespace)
        .filter_map(|l| {
            let status = l.status.as_ref();
            let wanted = l.spec.artifact_ref.as_ref().is_some_and(|r| r.name == name)
                || status
                    .and_then(|s| s.desired.as_ref())
                    .is_some_and(|d| d.artifact == name);
            let current = status
                .and_then(|s| s.inventory.as_ref())
                .is_some_and(|i| i.artifact == name);
            // A rollback may return to it: it stays.
            let candidate = status.is_some_and(|s| s.rollback_candidates.contains(&name));
            (wanted || current || candidate).then(|| ArtifactUser {
                kind: "Lane".into(),
                name: l.metadata.name.clone().unwrap_or_default(),
                current,
            })
        })
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let (aspect, progress) = match check(&artifact.spec) {
        Ok(()) => (
            Aspect::required(
                types::READY,
                Verdict::Matched,
                format!("pins {}", artifact.spec.image_reference()),
            ),
            Progress::Settled,
        ),
        Err(problem) => (
            Aspect::required(types::READY, Verdict::Mismatch, problem.clone()),
            Progress::Stalled {
                reason: reasons::INVALID_SPEC.into(),
                message: problem,
            },
        ),
    };
    // The artifact's only aspect is its own validity, so it is reported through Ready itself.
    let computed = conditions::compute(&old.conditions, &[], &progress, artifact.metadata.generation, now);
    let mut conditions = computed.conditions;
    let transitions = computed.transitions;
    if let Some(ready) = conditions.iter_mut().find(|c| c.type_ == types::READY) {
        let was = conditions::find(&old.conditions, types::READY);
        let status = conditions::status_for(aspect.verdict).to_string();
        if was.is_some_and(|w| w.status == status) {
            if let Some(w) = was {
                ready.last_transition_time = w.last_transition_time.clone();
            }
        } else {
            ready.last_transition_time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now);
        }
        ready.status = status;
        ready.reason = aspect.verdict.to_string();
        ready.message = aspect.message.clone();
    }
    let protected = !users.is_empty();
    Outcome {
        status: ArtifactStatus {
            observed_generation: artifact.metadata.generation,
            verdict: Some(aspect.verdict),
            conditions,
            referenced_by: users,
            protected: Some(protected),
        },
        transitions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_api::resources::{
        ArtifactImage, LaneInventory, LaneSpec, LaneStatus, LocalObjectRef, SourceRef,
    };

    fn t() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn artifact(digest: &str, commit: &str) -> Artifact {
        let mut a = Artifact::new(
            "shop-1",
            ArtifactSpec {
                image: ArtifactImage {
                    repository: "ghcr.io/acme/shop".into(),
                    digest: digest.into(),
                },
                source: SourceRef {
                    repository: "github.com/acme/shop".into(),
                    commit: commit.into(),
                },
                ..Default::default()
            },
        );
        a.metadata.namespace = Some("shop".into());
        a
    }

    fn good() -> Artifact {
        artifact(&format!("sha256:{}", "a".repeat(64)), &"b".repeat(40))
    }

    fn lane(name: &str, wants: Option<&str>, runs: Option<&str>) -> Lane {
        let mut l = Lane::new(
            name,
            LaneSpec {
                artifact_ref: wants.map(LocalObjectRef::new),
                ..Default::default()
            },
        );
        l.metadata.namespace = Some("shop".into());
        l.status = runs.map(|a| LaneStatus {
            inventory: Some(LaneInventory {
                artifact: a.into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        l
    }

    #[test]
    fn a_pinned_manifest_is_matched() {
        assert_eq!(check(&good().spec), Ok(()));
        let out = reconcile(&good(), &[], t());
        assert_eq!(out.status.verdict, Some(Verdict::Matched));
        assert_eq!(out.status.protected, Some(false));
    }

    #[test]
    fn tags_branches_and_short_shas_fail_closed() {
        let table = [
            ("latest", "b".repeat(40), "spec.image.digest"),
            ("sha256:ABC", "b".repeat(40), "spec.image.digest"),
            (
                &*format!("sha256:{}", "a".repeat(64)),
                "main".to_string(),
                "spec.source.commit",
            ),
            (
                &*format!("sha256:{}", "a".repeat(64)),
                "b".repeat(7),
                "spec.source.commit",
            ),
            (
                &*format!("sha256:{}", "a".repeat(64)),
                "B".repeat(40),
                "spec.source.commit",
            ),
        ];
        for (digest, commit, field) in table {
            let a = artifact(digest, &commit);
            let err = check(&a.spec).unwrap_err();
            assert!(err.contains(field), "{digest} {commit}: {err}");
            let out = reconcile(&a, &[], t());
            assert_eq!(out.status.verdict, Some(Verdict::Mismatch));
            let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
            assert_eq!(stalled.status, "True");
        }
    }

    #[test]
    fn only_an_image_of_the_products_repository_may_be_deployed() {
        let mut product = launchplane_api::resources::Product::new(
            "shop",
            launchplane_api::resources::ProductSpec {
                image_repository: "ghcr.io/acme/shop".into(),
                ..Default::default()
            },
        );
        assert_eq!(check_repository(&good(), &product), Ok(()));
        for other in [
            "ghcr.io/evil/shop",
            "ghcr.io/acme/shop-admin",
            "",
            "GHCR.IO/acme/shop",
        ] {
            product.spec.image_repository = other.into();
            let err = check_repository(&good(), &product).unwrap_err();
            assert!(
                err.contains("\"ghcr.io/acme/shop\"") && err.contains(&format!("{other:?}")),
                "{other}: {err}"
            );
            assert!(err.contains("spec.imageRepository"), "{err}");
        }
    }

    #[test]
    fn lanes_that_want_or_run_it_protect_it() {
        let lanes = [
            lane("testing", Some("shop-1"), Some("shop-1")),
            lane("prod", Some("shop-2"), Some("shop-1")),
            lane("other", Some("shop-2"), None),
            lane("next", Some("shop-1"), None),
        ];
        let out = reconcile(&good(), &lanes, t());
        let users: Vec<(String, bool)> = out
            .status
            .referenced_by
            .iter()
            .map(|u| (u.name.clone(), u.current))
            .collect();
        assert_eq!(
            users,
            vec![
                ("next".into(), false),
                ("prod".into(), true),
                ("testing".into(), true)
            ]
        );
        assert_eq!(out.status.protected, Some(true));
    }
}
