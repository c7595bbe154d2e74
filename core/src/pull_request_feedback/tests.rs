use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::resources::PreviewGeneration;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn pull() -> PullRequest {
    PullRequest {
        repository: "github.com/acme/shop".into(),
        number: 42,
        url: None,
        head_sha: "b".repeat(40),
    }
}

fn identity(verified: bool) -> Condition {
    Condition {
        type_: types::RUNTIME_IDENTITY_VERIFIED.into(),
        status: if verified {
            cond_status::TRUE
        } else {
            cond_status::FALSE
        }
        .into(),
        reason: "R".into(),
        message: String::new(),
        observed_generation: None,
        last_transition_time: Time(t(0)),
    }
}

fn status(generation: &str, phase: GenerationPhase, verified: bool) -> PreviewStatus {
    PreviewStatus {
        url: Some("https://pr-42.preview.example.com".into()),
        generations: vec![PreviewGeneration {
            id: generation.into(),
            head_sha: Some("b".repeat(40)),
            artifact: Some("shop-bbbbbbb".into()),
            phase,
            ..PreviewGeneration::default()
        }],
        serving_generation: (phase == GenerationPhase::Ready).then(|| generation.to_string()),
        conditions: vec![identity(verified)],
        ..PreviewStatus::default()
    }
}

fn facts<'a>(status: &'a PreviewStatus, pr: &'a PullRequest, going: bool) -> FeedbackFacts<'a> {
    FeedbackFacts {
        namespace: "shop",
        name: "shop-pr-42",
        pull_request: pr,
        status,
        going,
    }
}

fn recorded(id: Option<i64>, generation: Option<&str>, state: Option<DeploymentState>) -> PreviewFeedback {
    PreviewFeedback {
        comment_id: Some(7),
        deployment_id: id,
        deployment_generation: generation.map(Into::into),
        deployment_state: state.map(|s| s.as_str().to_string()),
        ..PreviewFeedback::default()
    }
}

#[test]
fn deployment_states_follow_the_generation_and_the_identity() {
    use DeploymentState::*;
    use GenerationPhase::*;
    let pr = pull();
    // (phase, identity verified, recorded (id, generation, state), going) → expected write
    let cases: Vec<(
        GenerationPhase,
        bool,
        PreviewFeedback,
        bool,
        Option<DeploymentWrite>,
    )> = vec![
        // A new generation: create (find first) its deployment, in progress.
        (
            Deploying,
            false,
            recorded(None, None, None),
            false,
            Some(create("g1", InProgress)),
        ),
        (
            Requested,
            false,
            recorded(None, None, None),
            false,
            Some(create("g1", InProgress)),
        ),
        // Verified once, then a probe that could not verify: success stands.
        (
            Ready,
            false,
            recorded(Some(5), Some("g1"), Some(Success)),
            false,
            None,
        ),
        // Recorded, same state: nothing.
        (
            Deploying,
            false,
            recorded(Some(5), Some("g1"), Some(InProgress)),
            false,
            None,
        ),
        // Ready but the identity not verified: still in progress, never success.
        (
            Ready,
            false,
            recorded(Some(5), Some("g1"), Some(InProgress)),
            false,
            None,
        ),
        // Ready and verified: success.
        (
            Ready,
            true,
            recorded(Some(5), Some("g1"), Some(InProgress)),
            false,
            Some(status_write(5, Success)),
        ),
        (
            Ready,
            true,
            recorded(Some(5), Some("g1"), Some(Success)),
            false,
            None,
        ),
        (
            Failed,
            false,
            recorded(Some(5), Some("g1"), Some(InProgress)),
            false,
            Some(status_write(5, Failure)),
        ),
        // The recorded deployment is an older generation's: a new one.
        (
            Deploying,
            true,
            recorded(Some(5), Some("g0"), Some(Success)),
            false,
            Some(create("g1", InProgress)),
        ),
        // Teardown: inactive, once; nothing without a deployment.
        (
            Ready,
            true,
            recorded(Some(5), Some("g1"), Some(Success)),
            true,
            Some(DeploymentWrite::Status {
                id: 5,
                state: Inactive,
                url: None,
            }),
        ),
        (
            Ready,
            true,
            recorded(Some(5), Some("g1"), Some(Inactive)),
            true,
            None,
        ),
        (Ready, true, recorded(None, None, None), true, None),
    ];
    for (i, (phase, verified, rec, going, want)) in cases.into_iter().enumerate() {
        let s = status("g1", phase, verified);
        let got = due(&facts(&s, &pr, going), &rec, t(10));
        assert_eq!(
            got.deployment, want,
            "case {i}: {phase:?} verified={verified} going={going}"
        );
    }
}

fn create(generation: &str, state: DeploymentState) -> DeploymentWrite {
    DeploymentWrite::Create {
        environment: "shop-pr-42".into(),
        sha: "b".repeat(40),
        generation: generation.into(),
        description: deployment_description(generation),
        state,
        url: Some("https://pr-42.preview.example.com".into()),
    }
}

fn status_write(id: i64, state: DeploymentState) -> DeploymentWrite {
    DeploymentWrite::Status {
        id,
        state,
        url: Some("https://pr-42.preview.example.com".into()),
    }
}

#[test]
fn the_comment_is_written_only_when_its_body_changes() {
    let pr = pull();
    let s = status("g1", GenerationPhase::Deploying, false);
    let first = due(&facts(&s, &pr, false), &PreviewFeedback::default(), t(0));
    let Some(CommentWrite::Upsert { known, body, digest }) = first.comment else {
        panic!("a first comment is due")
    };
    assert_eq!(known, None);
    assert!(body.starts_with("<!-- launchplane:preview shop/shop-pr-42 -->\n"));
    assert!(body.contains("deploying") && body.contains("shop-bbbbbbb") && body.contains(&"b".repeat(40)));
    // Delivered: the same facts write nothing.
    let after = PreviewFeedback {
        comment_id: Some(9),
        comment_digest: Some(digest.clone()),
        ..PreviewFeedback::default()
    };
    assert_eq!(due(&facts(&s, &pr, false), &after, t(1)).comment, None);
    // The identity verifies: the comment is edited in place (the recorded id).
    let ready = status("g1", GenerationPhase::Ready, true);
    let Some(CommentWrite::Upsert { known, body, .. }) =
        due(&facts(&ready, &pr, false), &after, t(2)).comment
    else {
        panic!("an edit is due")
    };
    assert_eq!(known, Some(9));
    assert!(body.contains("ready") && body.contains("verified, generation `g1`"));
    // Teardown edits an existing comment, and makes none.
    assert!(due(&facts(&ready, &pr, true), &after, t(3)).comment.is_some());
    assert_eq!(
        due(&facts(&ready, &pr, true), &PreviewFeedback::default(), t(3)).comment,
        None
    );
}

#[test]
fn nothing_is_sent_before_the_retry_time() {
    let pr = pull();
    let s = status("g1", GenerationPhase::Deploying, false);
    let waiting = PreviewFeedback {
        retry_after: Some(Time(t(60))),
        failures: 1,
        ..PreviewFeedback::default()
    };
    let d = due(&facts(&s, &pr, false), &waiting, t(59));
    assert!(d.is_empty());
    assert_eq!(d.waiting_until, Some(t(60)));
    assert!(!due(&facts(&s, &pr, false), &waiting, t(60)).is_empty());
}

#[test]
fn only_comments_with_this_previews_marker_are_ours() {
    let ours = format!("{}\nhello", marker("shop", "shop-pr-42"));
    let other_preview = format!("{}\nhello", marker("shop", "shop-pr-4"));
    let quoted = format!("> {}", marker("shop", "shop-pr-42"));
    let comments = [
        (3, "LGTM"),
        (4, other_preview.as_str()),
        (5, quoted.as_str()),
        (8, ours.as_str()),
        (6, ours.as_str()),
    ];
    assert_eq!(find_ours(comments, "shop", "shop-pr-42"), Some(6));
    assert_eq!(
        find_ours([(3, "LGTM"), (5, quoted.as_str())], "shop", "shop-pr-42"),
        None
    );
    assert!(!is_ours(
        "launchplane:preview shop/shop-pr-42",
        "shop",
        "shop-pr-42"
    ));
}

#[test]
fn a_deployment_is_found_by_its_generation() {
    let g1 = deployment_description("g1");
    let g2 = deployment_description("g2");
    let list = [
        (11, Some(g2.as_str())),
        (12, None),
        (10, Some(g1.as_str())),
        (13, Some(g1.as_str())),
    ];
    assert_eq!(find_deployment(list, "g1"), Some(10));
    assert_eq!(find_deployment(list, "g3"), None);
}

#[test]
fn backoff_doubles_and_is_capped() {
    assert_eq!(backoff(1), SignedDuration::from_secs(30));
    assert_eq!(backoff(2), SignedDuration::from_secs(60));
    assert_eq!(backoff(4), SignedDuration::from_secs(240));
    assert_eq!(backoff(30), MAX_BACKOFF);
    assert_eq!(backoff(0), SignedDuration::from_secs(30));
}

#[test]
fn repositories_are_read_as_owner_and_name() {
    let ok = |s: &str| owner_and_repo(s).map(|(o, r)| format!("{o}|{r}"));
    assert_eq!(ok("acme/shop").as_deref(), Some("acme|shop"));
    assert_eq!(ok("github.com/acme/shop").as_deref(), Some("acme|shop"));
    assert_eq!(
        ok("https://github.com/acme/shop.git").as_deref(),
        Some("acme|shop")
    );
    assert_eq!(ok("shop"), None);
    assert_eq!(ok("a/b/c/d"), None);
    assert_eq!(ok("acme/sh?op"), None);
}
