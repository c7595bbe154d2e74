//! Pull-request feedback against the GitHub fake: one comment per preview, created once and
//! edited in place across generations and restarts, found again by its marker; a comment
//! without the marker is never edited; one deployment per generation whose statuses go
//! in_progress → success only once the identity is verified, inactive on teardown; GitHub
//! failures and rate limits become the record's message and a retry time, never the token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane::github::client::GitHubClient;
use launchplane::github::feedback::deliver;
use launchplane_api::conditions::{status as cond_status, types};
use launchplane_api::resources::{
    GenerationPhase, PreviewFeedback, PreviewGeneration, PreviewStatus, PullRequest,
};
use launchplane_core::pull_request_feedback::{FeedbackFacts, is_ours, marker};
use launchplane_e2e::github::{GitHubFake, GitHubFault};
use launchplane_providers::SecretString;

const TOKEN: &str = "ghp_feedbacktokenvalue123";

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn pull(sha: char) -> PullRequest {
    PullRequest {
        repository: "github.com/acme/shop".into(),
        number: 42,
        url: None,
        head_sha: sha.to_string().repeat(40),
    }
}

fn status(generation: &str, sha: char, phase: GenerationPhase, verified: bool) -> PreviewStatus {
    PreviewStatus {
        url: Some("https://pr-42.preview.example.com".into()),
        generations: vec![PreviewGeneration {
            id: generation.into(),
            head_sha: Some(sha.to_string().repeat(40)),
            artifact: Some(format!("shop-{}", sha.to_string().repeat(7))),
            phase,
            ..PreviewGeneration::default()
        }],
        serving_generation: (phase == GenerationPhase::Ready).then(|| generation.to_string()),
        conditions: vec![Condition {
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
        }],
        ..PreviewStatus::default()
    }
}

async fn send(
    client: &GitHubClient,
    s: &PreviewStatus,
    pr: &PullRequest,
    going: bool,
    record: &PreviewFeedback,
    now: i64,
) -> PreviewFeedback {
    let facts = FeedbackFacts {
        namespace: "shop",
        name: "shop-pr-42",
        pull_request: pr,
        status: s,
        going,
    };
    deliver(client, &facts, record, t(now)).await
}

pub(crate) fn settings_for(fake: &GitHubFake) -> launchplane::engine::feedback::FeedbackSettings {
    launchplane::engine::feedback::FeedbackSettings {
        api_url: fake.base_url(),
        token_namespace: None,
        token_name: "launchplane-github".into(),
        token_key: "token".into(),
    }
}

async fn setup() -> (GitHubFake, GitHubClient) {
    launchplane_providers::install_crypto_provider();
    let fake = GitHubFake::start(TOKEN).await.unwrap();
    let client = GitHubClient::new(&fake.base_url(), SecretString::from(TOKEN.to_string())).unwrap();
    (fake, client)
}

fn ours(fake: &GitHubFake) -> Vec<launchplane_e2e::github::FakeComment> {
    fake.comments()
        .into_iter()
        .filter(|c| is_ours(&c.body, "shop", "shop-pr-42"))
        .collect()
}

#[tokio::test]
async fn one_comment_is_edited_across_generations_and_restarts() {
    let (fake, client) = setup().await;
    let person = fake.add_comment("acme/shop", 42, "octocat", "Looks good");
    let pr = pull('a');
    let deploying = status("g1", 'a', GenerationPhase::Deploying, false);
    let r1 = send(&client, &deploying, &pr, false, &PreviewFeedback::default(), 0).await;
    assert!(r1.delivered, "{:?}", r1.message);
    assert_eq!(ours(&fake).len(), 1);
    let id = ours(&fake)[0].id;
    assert_eq!(r1.comment_id, Some(id));
    assert!(ours(&fake)[0].body.contains("deploying"));

    // Same facts: nothing written.
    let calls = fake.calls().len();
    let again = send(&client, &deploying, &pr, false, &r1, 1).await;
    assert_eq!(
        fake.calls().len(),
        calls,
        "an unchanged preview makes no GitHub call"
    );
    assert_eq!(again, r1);

    // Ready and verified: the same comment edited.
    let ready = status("g1", 'a', GenerationPhase::Ready, true);
    let r2 = send(&client, &ready, &pr, false, &r1, 2).await;
    assert_eq!(r2.comment_id, Some(id));
    assert_eq!(ours(&fake).len(), 1);
    assert!(ours(&fake)[0].body.contains("ready"));

    // A restart that lost the record (status rewritten): found again by its marker.
    let pr_b = pull('b');
    let next = status("g2", 'b', GenerationPhase::Deploying, false);
    let r3 = send(&client, &next, &pr_b, false, &PreviewFeedback::default(), 3).await;
    assert!(r3.delivered);
    assert_eq!(r3.comment_id, Some(id), "found by marker, not duplicated");
    assert_eq!(ours(&fake).len(), 1);
    assert!(ours(&fake)[0].body.contains(&"b".repeat(40)));
    // The person's comment is untouched.
    let theirs = fake.comments().into_iter().find(|c| c.id == person).unwrap();
    assert_eq!(theirs.body, "Looks good");

    // A comment deleted by a person is made again, once.
    fake.delete_comment(id);
    let failed = status("g2", 'b', GenerationPhase::Failed, false);
    let r4 = send(&client, &failed, &pr_b, false, &r3, 4).await;
    assert!(r4.delivered);
    assert_eq!(ours(&fake).len(), 1);
    assert_ne!(r4.comment_id, Some(id));
}

#[tokio::test]
async fn a_comment_without_the_marker_is_never_edited() {
    let (fake, client) = setup().await;
    // A person's comment, recorded in status as if ours (a tampered or stale status), and one
    // quoting the marker.
    let foreign = fake.add_comment("acme/shop", 42, "octocat", "please deploy");
    let quoted = format!("> {}\n> old text", marker("shop", "shop-pr-42"));
    let quoting = fake.add_comment("acme/shop", 42, "octocat", &quoted);
    let other_preview = fake.add_comment("acme/shop", 42, "launchplane-bot", &marker("shop", "shop-pr-4"));
    let record = PreviewFeedback {
        comment_id: Some(foreign),
        ..PreviewFeedback::default()
    };
    let s = status("g1", 'a', GenerationPhase::Deploying, false);
    let r = send(&client, &s, &pull('a'), false, &record, 0).await;
    assert!(r.delivered);
    let comments = fake.comments();
    let body = |id| comments.iter().find(|c| c.id == id).unwrap().body.clone();
    assert_eq!(body(foreign), "please deploy");
    assert_eq!(body(quoting), quoted);
    assert_eq!(body(other_preview), marker("shop", "shop-pr-4"));
    assert!(![foreign, quoting, other_preview].contains(&r.comment_id.unwrap()));
    assert_eq!(ours(&fake).len(), 1);
    assert!(
        fake.calls()
            .iter()
            .filter(|c| c.method == "PATCH")
            .all(|c| c.path.ends_with(&format!("/{}", r.comment_id.unwrap()))),
        "no PATCH on a foreign comment: {:?}",
        fake.calls()
    );
}

#[tokio::test]
async fn deployment_statuses_go_to_success_only_once_the_identity_is_verified() {
    let (fake, client) = setup().await;
    let pr = pull('a');
    let mut record = PreviewFeedback::default();
    for (i, (phase, verified)) in [
        (GenerationPhase::Requested, false),
        (GenerationPhase::Deploying, false),
        (GenerationPhase::Ready, false),
        (GenerationPhase::Ready, true),
    ]
    .into_iter()
    .enumerate()
    {
        record = send(
            &client,
            &status("g1", 'a', phase, verified),
            &pr,
            false,
            &record,
            i as i64,
        )
        .await;
        assert!(record.delivered, "{:?}", record.message);
        if !verified {
            assert_eq!(
                fake.deployments()[0].statuses,
                ["in_progress"],
                "{phase:?} without a verified identity is not success"
            );
        }
    }
    let deployments = fake.deployments();
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.environment, "shop-pr-42");
    assert_eq!(d.git_ref, "a".repeat(40));
    assert_eq!(d.auto_merge, Some(false));
    assert_eq!(d.required_contexts, Some(vec![]));
    assert_eq!(d.statuses, ["in_progress", "success"]);
    assert_eq!(record.deployment_id, Some(d.id));
    assert_eq!(record.deployment_generation.as_deref(), Some("g1"));

    // Teardown: inactive, once.
    let ready = status("g1", 'a', GenerationPhase::Ready, true);
    record = send(&client, &ready, &pr, true, &record, 10).await;
    record = send(&client, &ready, &pr, true, &record, 11).await;
    assert_eq!(
        fake.deployments()[0].statuses,
        ["in_progress", "success", "inactive"]
    );
    assert!(ours(&fake)[0].body.contains("torn down"));
    assert!(record.delivered);
}

#[tokio::test]
async fn a_new_generation_gets_a_new_deployment_and_a_restart_finds_the_one_made() {
    let (fake, client) = setup().await;
    let r1 = send(
        &client,
        &status("g1", 'a', GenerationPhase::Failed, false),
        &pull('a'),
        false,
        &PreviewFeedback::default(),
        0,
    )
    .await;
    assert_eq!(fake.deployments()[0].statuses, ["failure"]);
    let r2 = send(
        &client,
        &status("g2", 'b', GenerationPhase::Deploying, false),
        &pull('b'),
        false,
        &r1,
        1,
    )
    .await;
    assert_eq!(fake.deployments().len(), 2);
    assert_ne!(r2.deployment_id, r1.deployment_id);
    // Restart before the id reached status: the deployment is found by environment, SHA and
    // generation, not made again.
    let lost = PreviewFeedback {
        comment_id: r2.comment_id,
        ..PreviewFeedback::default()
    };
    let r3 = send(
        &client,
        &status("g2", 'b', GenerationPhase::Ready, true),
        &pull('b'),
        false,
        &lost,
        2,
    )
    .await;
    assert_eq!(fake.deployments().len(), 2, "no duplicate deployment");
    assert_eq!(r3.deployment_id, r2.deployment_id);
    assert_eq!(fake.deployments()[1].statuses, ["in_progress", "success"]);
}

#[tokio::test]
async fn github_faults_are_recorded_and_retried_after_a_wait_without_the_token() {
    let (fake, client) = setup().await;
    let s = status("g1", 'a', GenerationPhase::Deploying, false);
    let pr = pull('a');
    fake.fault(GitHubFault::Status(502));
    let r1 = send(&client, &s, &pr, false, &PreviewFeedback::default(), 0).await;
    assert!(!r1.delivered);
    assert_eq!(r1.failures, 1);
    assert_eq!(r1.retry_after.as_ref().map(|t| t.0), Some(t(30)));
    assert!(r1.message.as_deref().unwrap().contains("502"));
    // Before the retry time: no call at all.
    let calls = fake.calls().len();
    let waiting = send(&client, &s, &pr, false, &r1, 29).await;
    assert_eq!(waiting, r1);
    assert_eq!(fake.calls().len(), calls);
    // The comment is made, then the deployment hits the primary rate limit: the comment is
    // kept, the wait is GitHub's reset.
    fake.fault(GitHubFault::Pass); // list comments
    fake.fault(GitHubFault::Pass); // create comment
    fake.fault(GitHubFault::PrimaryRateLimit { reset: 1_800_000_900 });
    let r2 = send(&client, &s, &pr, false, &r1, 30).await;
    assert!(!r2.delivered);
    assert!(r2.comment_id.is_some());
    assert_eq!(r2.failures, 2);
    assert_eq!(r2.retry_after.as_ref().map(|t| t.0), Some(t(900)));
    assert!(r2.message.as_deref().unwrap().contains("rate limit"));
    let r3 = send(&client, &s, &pr, false, &r2, 900).await;
    assert!(r3.delivered, "{:?}", r3.message);
    assert_eq!(
        (r3.failures, r3.retry_after.clone(), r3.message.clone()),
        (0, None, None)
    );
    assert_eq!(ours(&fake).len(), 1);
    assert_eq!(fake.deployments().len(), 1);
    for r in [&r1, &r2, &r3] {
        let text = serde_json::to_string(r).unwrap();
        assert!(!text.contains(TOKEN), "the token is in the record: {text}");
    }
    // A token GitHub refuses: said so, and not echoed.
    let bad = GitHubClient::new(&fake.base_url(), SecretString::from("ghp_wrongtoken".to_string())).unwrap();
    let r4 = send(
        &bad,
        &status("g9", 'c', GenerationPhase::Deploying, false),
        &pull('c'),
        false,
        &r3,
        901,
    )
    .await;
    assert!(!r4.delivered);
    let message = r4.message.unwrap();
    assert!(
        message.contains("refused the token") && !message.contains("ghp_wrongtoken"),
        "{message}"
    );
}

mod standalone {
    //! Through the Preview reconcile of standalone mode (the Dokploy simulator and the GitHub
    //! fake): a GitHub rate limit leaves the Preview's own verdict alone and is retried; the
    //! comment is not duplicated by a restart; teardown marks the deployment inactive.
    use super::{TOKEN, ours};
    use crate::support::{NS, sim_with_preview_template};
    use launchplane::engine::feedback::FeedbackSettings;
    use launchplane::standalone::state::StateDir;
    use launchplane_api::resources::PreviewStatus;
    use launchplane_api::verdict::Verdict;
    use launchplane_e2e::github::{GitHubFake, GitHubFault};

    fn settings(fake: &GitHubFake) -> FeedbackSettings {
        FeedbackSettings {
            api_url: fake.base_url(),
            token_namespace: None,
            token_name: "launchplane-github".into(),
            token_key: "token".into(),
        }
    }

    #[tokio::test]
    async fn a_preview_reconcile_posts_feedback_without_waiting_on_github() {
        launchplane_providers::install_crypto_provider();
        let (sim, _env, template_id) = sim_with_preview_template().await;
        let fake = GitHubFake::start(TOKEN).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let mut folder = crate::preview_standalone::inputs(&sim, &template_id);
        folder.secrets.insert(
            format!("{NS}/launchplane-github"),
            [("token".to_string(), TOKEN.as_bytes().to_vec())]
                .into_iter()
                .collect(),
        );
        let mut engine = crate::preview_standalone::engine(&sim, &state).with_feedback(settings(&fake));

        // GitHub rate-limits the first call: the Preview is Ready all the same.
        fake.fault(GitHubFault::SecondaryRateLimit { retry_after: 1 });
        let rows = engine.round(&folder).await;
        let row = rows.iter().find(|r| r.kind == "Preview").unwrap();
        assert_eq!(row.verdict, Verdict::Matched, "{row:?}");
        let status: PreviewStatus = state.load("Preview", NS, "shop-pr-42").unwrap();
        let fb = status.feedback.clone().unwrap();
        assert!(!fb.delivered);
        assert!(fb.message.as_deref().unwrap().contains("rate limit"), "{fb:?}");
        assert!(fb.retry_after.is_some());
        assert!(fake.comments().is_empty());
        let text = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect::<String>();
        assert!(!text.contains(TOKEN), "the token is in the state folder");

        // Before the reset nothing is sent; after it, delivered.
        let calls = fake.calls().len();
        engine.round(&folder).await;
        assert_eq!(fake.calls().len(), calls, "no call before the rate limit's reset");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        engine.round(&folder).await;
        let status: PreviewStatus = state.load("Preview", NS, "shop-pr-42").unwrap();
        let fb = status.feedback.clone().unwrap();
        assert!(fb.delivered, "{fb:?}");
        assert_eq!(ours(&fake).len(), 1);
        assert!(ours(&fake)[0].body.contains("ready"), "{}", ours(&fake)[0].body);
        assert_eq!(fake.deployments().len(), 1);
        assert_eq!(fake.deployments()[0].statuses, ["success"]);

        // A restart (a new Engine over the same folder): nothing new on GitHub.
        let mut engine = crate::preview_standalone::engine(&sim, &state).with_feedback(settings(&fake));
        engine.round(&folder).await;
        assert_eq!(ours(&fake).len(), 1);
        assert_eq!(fake.deployments().len(), 1);

        // The manifest leaves: torn down, the deployment inactive, the comment says so.
        folder.previews.clear();
        engine.round(&folder).await;
        assert_eq!(fake.deployments()[0].statuses, ["success", "inactive"]);
        assert!(ours(&fake)[0].body.contains("torn down"));
        assert!(fake.calls().iter().all(|c| c.authorized));
        sim.shutdown().await;
    }
}

mod cluster {
    //! Through the cluster shell's Preview reconcile: the token Secret read from the API
    //! server, a GitHub 5xx leaving the Preview's verdict alone, the deployment reaching success
    //! once the identity is verified, and the teardown marking it inactive.
    use super::{TOKEN, ours, settings_for};
    use crate::support::{
        NS, StatusLog, artifact, listed_caches, preview_policy, shop_product, sim_with_preview_template,
        single_attempt_config, store, template_target,
    };
    use launchplane::engine::kinds::preview::{reconcile, tear_down};
    use launchplane::engine::preview::PreviewSettings;
    use launchplane::engine::providers::{Fingerprint, PollerSlot};
    use launchplane::k8s::context::{Context, Wakes};
    use launchplane::metrics::Metrics;
    use launchplane::observe::poller::Poller;
    use launchplane::observe::prober::{Prober, ProberConfig};
    use launchplane_api::conditions::{SystemClock, find, types};
    use launchplane_api::resources::{PreviewStatus, Product};
    use launchplane_core::observation::PollSettings;
    use launchplane_e2e::github::{GitHubFake, GitHubFault};
    use launchplane_providers::{ApiKey, DokployClient};
    use launchplane_testkit::api_server::FakeApiServer;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn the_cluster_reconcile_posts_feedback_and_a_github_5xx_leaves_the_verdict_alone() {
        launchplane_providers::install_crypto_provider();
        let (sim, _env, template_id) = sim_with_preview_template().await;
        let fake = GitHubFake::start(TOKEN).await.unwrap();
        let api = FakeApiServer::new();
        api.put_secret(NS, "launchplane-github", &[("token", TOKEN.as_bytes())]);
        let product: Product = shop_product(preview_policy());
        let template = template_target(&template_id);
        let client = Arc::new(DokployClient::new(single_attempt_config(&sim)).unwrap());
        let ctx = Context::new(
            api.client(),
            None,
            "feedback-test".into(),
            Arc::new(Metrics::new()),
            Prober::new(ProberConfig::default()).unwrap(),
            launchplane::engine::Caches {
                targets: store(vec![template.clone()]),
                products: store(vec![product.clone()]),
                artifacts: store(vec![artifact("shop-a", 'a')]),
                ..listed_caches()
            },
            Wakes::none(),
            Arc::new(SystemClock),
        )
        .with_previews(PreviewSettings {
            poll_delay: Duration::from_millis(40),
            deploy_timeout: Duration::from_secs(20),
            resend_after: Duration::from_secs(60),
            verify_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            probe_via: Some(sim.ingress_url()),
            resync: Duration::from_secs(300),
            instance: "feedback-test".into(),
        })
        .with_feedback(settings_for(&fake));
        ctx.world.providers.set_slot(
            &format!("{NS}/dokploy"),
            PollerSlot {
                fingerprint: Fingerprint {
                    url: sim.base_url(),
                    api_key: ApiKey::new(sim.api_key()),
                    rate_limit: (1000, 1000),
                },
                poller: Poller::new(client, PollSettings::default()),
                next_poll_at: None,
                last_poll_at: None,
            },
        );
        let statuses = StatusLog::default();
        let mut preview = crate::preview_lifecycle::preview(42, 'a', "shop-a");
        preview.metadata.uid = Some("uid-42".into());

        // GitHub answers 502 to the first call: the reconcile succeeds and the preview deploys.
        fake.fault(GitHubFault::Status(502));
        let mut status = PreviewStatus::default();
        for _ in 0..10 {
            let run = reconcile(Arc::new(preview.clone()), &ctx.world, &statuses)
                .await
                .expect("a GitHub failure never fails the reconcile");
            assert!(run.error.is_none(), "{:?}", run.error);
            status = serde_json::from_value(statuses.writes().last().unwrap().clone()).unwrap();
            preview.status = Some(status.clone());
            if find(&status.conditions, types::READY).is_some_and(|c| c.status == "True") {
                break;
            }
        }
        assert!(
            find(&status.conditions, types::READY).is_some_and(|c| c.status == "True"),
            "the preview is Ready whatever GitHub said: {status:?}"
        );
        let fb = status.feedback.clone().unwrap();
        assert!(!fb.delivered, "held by the backoff after the 502: {fb:?}");
        assert!(fb.message.as_deref().unwrap().contains("502"));
        assert!(!serde_json::to_string(&status).unwrap().contains(TOKEN));

        // After the backoff (moved to the past here): delivered, success, one comment.
        let mut fb_past = fb.clone();
        fb_past.retry_after = None;
        status.feedback = Some(fb_past);
        preview.status = Some(status.clone());
        reconcile(Arc::new(preview.clone()), &ctx.world, &statuses)
            .await
            .unwrap();
        let status: PreviewStatus =
            serde_json::from_value(statuses.writes().last().unwrap().clone()).unwrap();
        let fb = status.feedback.clone().unwrap();
        assert!(fb.delivered, "{fb:?}");
        assert_eq!(ours(&fake).len(), 1);
        assert_eq!(fake.deployments().len(), 1);
        assert_eq!(fake.deployments()[0].statuses, ["success"]);
        assert!(fake.calls().iter().all(|c| c.authorized));

        // A settled preview's next reconcile: no Secret read, no GitHub call.
        preview.status = Some(status.clone());
        let secret_reads = || api.count(&http::Method::GET, "/secrets/launchplane-github");
        let (reads, calls) = (secret_reads(), fake.calls().len());
        assert!(reads >= 1);
        reconcile(Arc::new(preview.clone()), &ctx.world, &statuses)
            .await
            .unwrap();
        assert_eq!((secret_reads(), fake.calls().len()), (reads, calls));

        // The teardown: inactive.
        preview.status = Some(status);
        tear_down(&preview, &ctx.world, &statuses, "the finalizer holds the Preview")
            .await
            .unwrap();
        assert_eq!(fake.deployments()[0].statuses, ["success", "inactive"]);
        assert!(ours(&fake)[0].body.contains("torn down"));
        sim.shutdown().await;
    }
}
