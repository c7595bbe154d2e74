//! Notifications through the engine (issue 16, items 3-6): a lane whose app starts serving the
//! wrong artifact opens an Incident, and the NotificationPolicy's destinations hear of it once
//! per transition, across restarts (each standalone run is a new engine over one state
//! folder), with reminders on the route's interval, backoff and cap, quiet resolutions,
//! retries with backoff, an interrupted send resent where the destination deduplicates and
//! recorded Unknown where it cannot; a failing destination raises the policy's condition and
//! never the lane's; no credential appears in any state, row or log.
//!
//! The destinations are recording fakes behind the real seam (`DestinationFactory`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use launchplane::notify::destination::{
    BuildError, Destination, DestinationConfig, DestinationFactory, Notice, NoticeKind, SendError, Sent,
};
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::report::Row;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{
    DiscordDestination, DriftPolicy, GitHubIssueDestination, Incident, IncidentPolicy,
    IncidentTransitionType, Lane, ManagementPolicy, NotificationDestination, NotificationPolicy,
    NotificationPolicySpec, NotificationRoute, PreviewPolicy, Product, SecretKeyRef,
};
use launchplane_e2e::sim::{AppBehaviour, DokploySim};
use launchplane_testkit::build::{NS, artifact, lane, provider_config, shop_product, target};
use launchplane_testkit::fleet::sim_with_testing_app;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INCIDENT: &str = "lane.shop-testing.runtime-identity-verified";
/// Sentinel credentials: none may appear in anything written.
const TOKEN: &str = "ghp_s3ntinel-notify-token";
const WEBHOOK: &str = "https://discord.example/api/webhooks/1/s3ntinel-webhook-token";

#[derive(Default)]
struct Shifted(AtomicI64);

impl Clock for Shifted {
    fn now(&self) -> Timestamp {
        Timestamp::now() + SignedDuration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_secs(m * 60)
}

/// What a fake destination answers to its next call.
#[derive(Clone, Debug)]
enum Answer {
    Retryable(Option<Duration>),
    Permanent,
    /// Never answers: the process dies between the intent and the outcome.
    Hang,
}

/// Every call each fake destination received, and what it will answer next (Delivered when
/// nothing is scripted).
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(&'static str, Notice)>>,
    script: Mutex<HashMap<&'static str, VecDeque<Answer>>>,
    /// Whether the destinations were given the sentinel credentials (resolved from Secrets).
    credentials_seen: Mutex<Vec<&'static str>>,
}

impl Recorder {
    fn script(&self, kind: &'static str, answers: &[Answer]) {
        self.script
            .lock()
            .unwrap()
            .entry(kind)
            .or_default()
            .extend(answers.iter().cloned());
    }

    fn calls(&self, kind: &str) -> Vec<Notice> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n.clone())
            .collect()
    }

    fn kinds(&self, kind: &str) -> Vec<NoticeKind> {
        self.calls(kind).into_iter().map(|n| n.kind).collect()
    }
}

struct Fake {
    kind: &'static str,
    dedup: bool,
    recorder: Arc<Recorder>,
}

impl Destination for Fake {
    fn type_name(&self) -> &'static str {
        self.kind
    }

    fn deduplicates(&self) -> bool {
        self.dedup
    }

    fn send<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            self.recorder
                .calls
                .lock()
                .unwrap()
                .push((self.kind, notice.clone()));
            let next = self
                .recorder
                .script
                .lock()
                .unwrap()
                .get_mut(self.kind)
                .and_then(VecDeque::pop_front);
            match next {
                None => Ok(Sent {
                    remote_id: Some(format!("{}-{}", self.kind, notice.transition)),
                }),
                Some(Answer::Retryable(retry_after)) => Err(SendError::Retryable {
                    message: "503 Service Unavailable".into(),
                    retry_after,
                }),
                Some(Answer::Permanent) => Err(SendError::Permanent {
                    message: "401 Bad credentials".into(),
                }),
                Some(Answer::Hang) => futures::future::pending().await,
            }
        })
    }
}

struct Factory(Arc<Recorder>);

impl DestinationFactory for Factory {
    fn build(&self, config: &DestinationConfig) -> Result<Box<dyn Destination>, BuildError> {
        let (kind, dedup) = match config {
            DestinationConfig::GitHubIssue(c) => {
                if c.token.expose() == TOKEN {
                    self.0.credentials_seen.lock().unwrap().push("github");
                }
                ("github", true)
            }
            DestinationConfig::Discord(c) => {
                if c.webhook_url.expose() == WEBHOOK {
                    self.0.credentials_seen.lock().unwrap().push("discord");
                }
                ("discord", false)
            }
            DestinationConfig::Email(_) => ("email", true),
        };
        Ok(Box::new(Fake {
            kind,
            dedup,
            recorder: self.0.clone(),
        }))
    }
}

/// Logs of the test's thread, kept to grep for credentials.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn product() -> Product {
    let mut p = shop_product(PreviewPolicy::default());
    p.spec.incidents = IncidentPolicy {
        open_after: "10m".into(),
        resolve_after: "5m".into(),
        history_limit: 20,
    };
    p
}

fn the_lane(url: &str) -> Lane {
    let mut l = lane("shop-testing", "shop-testing", "shop-a", url);
    l.spec.drift_policy = DriftPolicy::Report;
    l.metadata.generation = Some(1);
    l
}

fn wrong_artifact() -> AppBehaviour {
    AppBehaviour::StaleIdentity(json!({
        "product": "shop",
        "context": "testing",
        "artifactId": "shop-b",
        "deploymentRecordId": "someone-elses-deploy",
    }))
}

/// `issues` (GitHub) reminds every 1h, doubling, at most 3h, and tells resolutions; `chat`
/// (Discord) tells each opening and change, and resolves quietly. `order` lists the routes'
/// destinations in the order they are tried.
fn policy(order: &[&str]) -> NotificationPolicy {
    let secret = |name: &str, key: &str| SecretKeyRef {
        name: name.into(),
        key: key.into(),
    };
    let routes = order
        .iter()
        .map(|d| match *d {
            "issues" => NotificationRoute {
                destinations: vec!["issues".into()],
                repeat_interval: Some("1h".into()),
                repeat_backoff: 2,
                repeat_max: "3h".into(),
                ..NotificationRoute::default()
            },
            _ => NotificationRoute {
                destinations: vec!["chat".into()],
                notify_resolved: false,
                ..NotificationRoute::default()
            },
        })
        .collect();
    let mut p = NotificationPolicy::new(
        "oncall",
        NotificationPolicySpec {
            destinations: vec![
                NotificationDestination {
                    name: "issues".into(),
                    github_issue: Some(GitHubIssueDestination {
                        owner: "acme".into(),
                        repo: "shop-incidents".into(),
                        labels: vec!["incident".into()],
                        token_secret_ref: secret("github", "token"),
                        ..GitHubIssueDestination::default()
                    }),
                    ..NotificationDestination::default()
                },
                NotificationDestination {
                    name: "chat".into(),
                    discord: Some(DiscordDestination {
                        webhook_url_secret_ref: secret("discord", "url"),
                        username: None,
                    }),
                    ..NotificationDestination::default()
                },
            ],
            routes,
        },
    );
    p.metadata.namespace = Some(NS.into());
    p
}

/// A folder, a state folder and a clock: each `run` is a new engine, as a CI job runs
/// `launchplane reconcile --once --notify`.
struct Folder {
    sim: DokploySim,
    app: String,
    inputs: Inputs,
    state: StateDir,
    _dir: tempfile::TempDir,
    clock: Arc<Shifted>,
    recorder: Arc<Recorder>,
}

impl Folder {
    async fn new(order: &[&str]) -> Folder {
        let (sim, app) = sim_with_testing_app().await;
        let url = sim.app_url(&app).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let inputs = Inputs {
            configs: vec![provider_config(&sim.base_url())],
            targets: vec![target(
                "shop-testing",
                &app,
                "shop-testing",
                ManagementPolicy::Manage,
            )],
            products: vec![product()],
            artifacts: vec![artifact("shop-a", 'a')],
            lanes: vec![the_lane(&url)],
            notification_policies: vec![policy(order)],
            secrets: [
                (
                    format!("{NS}/dokploy-key"),
                    BTreeMap::from([("api-key".to_string(), sim.api_key().into_bytes())]),
                ),
                (
                    format!("{NS}/github"),
                    BTreeMap::from([("token".to_string(), TOKEN.as_bytes().to_vec())]),
                ),
                (
                    format!("{NS}/discord"),
                    BTreeMap::from([("url".to_string(), WEBHOOK.as_bytes().to_vec())]),
                ),
            ]
            .into(),
            ..Default::default()
        };
        Folder {
            sim,
            app,
            inputs,
            state: StateDir::new(dir.path()),
            _dir: dir,
            clock: Arc::new(Shifted::default()),
            recorder: Arc::new(Recorder::default()),
        }
    }

    fn engine(&self, at: SignedDuration) -> Engine {
        self.clock.0.store(at.as_secs(), Ordering::SeqCst);
        Engine::new(
            Prober::new(ProberConfig::default()).unwrap(),
            self.state.clone(),
            Box::new(|_: &str| None),
        )
        .with_deploy(support::deploy_settings())
        .with_clock(self.clock.clone())
        .with_notify(Arc::new(Factory(self.recorder.clone())))
    }

    async fn run(&self, at: SignedDuration) -> Vec<Row> {
        self.engine(at).round(&self.inputs).await
    }

    /// A run that dies while a destination hangs (after its intent was stored).
    async fn crash(&self, at: SignedDuration) {
        let mut engine = self.engine(at);
        let round = tokio::time::timeout(Duration::from_secs(5), engine.round(&self.inputs)).await;
        assert!(round.is_err(), "the run was meant to hang in a send");
    }

    fn incident(&self) -> Incident {
        let kept: Vec<Incident> = launchplane::standalone::store::stored_incidents(&self.state);
        assert_eq!(kept.len(), 1, "{kept:#?}");
        kept.into_iter().next().unwrap()
    }

    /// (destination, transition, repeat, attempt, outcome) of every delivery record.
    fn deliveries(&self) -> Vec<(String, i64, Option<i32>, i32, String)> {
        self.incident()
            .status
            .unwrap()
            .deliveries
            .into_iter()
            .map(|d| (d.destination, d.transition, d.repeat, d.attempt, d.outcome))
            .collect()
    }

    fn policy_status(&self) -> serde_json::Value {
        self.state.load("NotificationPolicy", NS, "oncall").unwrap()
    }

    /// Deployed and verified, then serving the wrong artifact from 1m: open at 11m+.
    async fn open(&self, opened: SignedDuration) {
        self.run(SignedDuration::ZERO).await;
        self.sim.set_app_behaviour(&self.app, wrong_artifact());
        self.run(minutes(1)).await;
        assert!(
            self.recorder.calls.lock().unwrap().is_empty(),
            "nothing is sent while Pending"
        );
        assert!(opened >= minutes(11));
    }

    /// Every file of the state folder, as text.
    fn state_text(&self) -> String {
        let mut out = String::new();
        let mut dirs = vec![self._dir.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    out.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
                }
            }
        }
        out
    }
}

fn d(
    destination: &str,
    transition: i64,
    repeat: Option<i32>,
    attempt: i32,
    outcome: &str,
) -> (String, i64, Option<i32>, i32, String) {
    (
        format!("oncall/{destination}"),
        transition,
        repeat,
        attempt,
        outcome.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_transition_is_sent_once_across_runs_with_reminders_and_a_quiet_resolution() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let folder = Folder::new(&["issues", "chat"]).await;
    let open_at = minutes(11) + SignedDuration::from_secs(2);
    folder.open(open_at).await;

    // Opened: one issue, one chat message.
    let rows = folder.run(open_at).await;
    let opened = NoticeKind::Transition(IncidentTransitionType::Opened);
    assert_eq!(folder.recorder.kinds("github"), [opened]);
    assert_eq!(folder.recorder.kinds("discord"), [opened]);
    assert_eq!(
        folder.deliveries(),
        [
            d("issues", 1, None, 1, "Delivered"),
            d("chat", 1, None, 1, "Delivered")
        ]
    );
    let notice = &folder.recorder.calls("github")[0];
    assert_eq!(notice.incident.name, INCIDENT);
    assert_eq!(
        (notice.incident.product.as_str(), notice.incident.check.as_str()),
        ("shop", "RuntimeIdentityVerified")
    );
    assert!(notice.message.contains("shop-b"), "{notice:?}");
    let seen: std::collections::BTreeSet<&str> = folder
        .recorder
        .credentials_seen
        .lock()
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(
        seen,
        ["discord", "github"].into(),
        "the destinations get their credentials from the Secrets"
    );
    let policy_row = rows.iter().find(|r| r.kind == "NotificationPolicy").unwrap();
    assert!(!policy_row.required, "a policy's row never decides the exit code");
    assert_eq!(folder.policy_status()["verdict"], "Matched");

    // The next runs (restarts): nothing new to say until the first reminder is due.
    folder.run(open_at + minutes(1)).await;
    folder.run(open_at + minutes(59)).await;
    assert_eq!(folder.recorder.calls("github").len(), 1);
    assert_eq!(folder.recorder.calls("discord").len(), 1);

    // Reminders to the issue only: after 1h, then 2h, then 3h (the cap), then 3h.
    let mut last = open_at;
    for (n, gap) in [(1, 1), (2, 2), (3, 3), (4, 3)] {
        folder.run(last + minutes(gap * 60 - 1)).await;
        assert_eq!(
            folder.recorder.calls("github").len(),
            n,
            "reminder {n} not before its time"
        );
        last += minutes(gap * 60);
        folder.run(last).await;
        assert_eq!(
            folder.recorder.kinds("github").last(),
            Some(&NoticeKind::Repeat(u32::try_from(n).unwrap())),
            "reminder {n}"
        );
        assert_eq!(folder.recorder.calls("github").len(), n + 1);
    }
    assert_eq!(folder.recorder.calls("discord").len(), 1, "chat has no reminders");
    // A reminder is its own notice: a distinct id, the thread of what came before.
    let calls = folder.recorder.calls("github");
    assert_ne!(calls[0].id, calls[1].id);
    assert_eq!(calls[1].thread, ["github-1"]);

    // Fixed: resolved after resolveAfter; the issue hears it, the chat stays quiet.
    folder.sim.set_app_behaviour(&folder.app, AppBehaviour::Normal);
    folder.run(last + minutes(1)).await;
    folder.run(last + minutes(7)).await;
    let incident = folder.incident();
    assert_eq!(
        incident.status.as_ref().unwrap().state,
        Some(launchplane_api::resources::IncidentState::Resolved)
    );
    assert_eq!(
        folder.recorder.kinds("github").last(),
        Some(&NoticeKind::Transition(IncidentTransitionType::Resolved))
    );
    assert_eq!(folder.recorder.calls("discord").len(), 1, "a quiet resolution");
    folder.run(last + minutes(200)).await;
    assert_eq!(
        folder.recorder.calls("github").len(),
        6,
        "nothing after the resolution"
    );

    // No credential in the state folder, the rows or the logs.
    let rows = folder.run(last + minutes(201)).await;
    let printed = format!("{rows:?}");
    let state = folder.state_text();
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(logged.contains("notification attempt"), "the logs were captured");
    for secret in [TOKEN, WEBHOOK, "s3ntinel"] {
        assert!(!state.contains(secret), "{secret} in the state folder");
        assert!(!printed.contains(secret), "{secret} in a row");
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
    folder.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_send_is_resent_to_github_and_recorded_unknown_for_discord() {
    // The chat first, then the issue: each hangs on its first send.
    let folder = Folder::new(&["chat", "issues"]).await;
    let open_at = minutes(11) + SignedDuration::from_secs(2);
    folder.open(open_at).await;
    folder.recorder.script("discord", &[Answer::Hang]);
    folder.recorder.script("github", &[Answer::Hang]);

    // The run dies in the chat's send, after its intent was stored.
    folder.crash(open_at).await;
    assert_eq!(folder.deliveries(), [d("chat", 1, None, 1, "Intended")]);
    assert_eq!(folder.recorder.calls("discord").len(), 1);

    // The next run: the chat may have got it and cannot deduplicate: Unknown, not resent. The
    // run then dies in the issue's send.
    folder.crash(open_at + minutes(1)).await;
    assert_eq!(
        folder.deliveries(),
        [
            d("chat", 1, None, 1, "Unknown"),
            d("issues", 1, None, 1, "Intended")
        ]
    );
    assert_eq!(folder.recorder.calls("discord").len(), 1, "never sent twice");

    // The next run: GitHub finds what it wrote by the notice id, so the same notice goes again.
    folder.run(open_at + minutes(2)).await;
    assert_eq!(
        folder.deliveries(),
        [
            d("chat", 1, None, 1, "Unknown"),
            d("issues", 1, None, 1, "Delivered")
        ]
    );
    let calls = folder.recorder.calls("github");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, calls[1].id, "the same notice id again");
    let unknown = folder.incident().status.unwrap().deliveries[0].clone();
    assert!(
        unknown
            .message
            .unwrap()
            .contains("cannot tell whether it arrived")
    );

    // And no more afterwards.
    folder.run(open_at + minutes(3)).await;
    assert_eq!(folder.recorder.calls("github").len(), 2);
    assert_eq!(folder.recorder.calls("discord").len(), 1);
    folder.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_destination_is_retried_with_backoff_and_raises_the_policy_condition_not_the_lanes() {
    let folder = Folder::new(&["issues", "chat"]).await;
    let open_at = minutes(11) + SignedDuration::from_secs(2);
    folder.open(open_at).await;
    // Discord refuses for good; GitHub fails twice (the second time asking for 2 minutes).
    folder.recorder.script("discord", &[Answer::Permanent]);
    folder.recorder.script(
        "github",
        &[
            Answer::Retryable(None),
            Answer::Retryable(Some(Duration::from_secs(120))),
        ],
    );

    let rows = folder.run(open_at).await;
    assert_eq!(
        folder.deliveries(),
        [
            d("issues", 1, None, 1, "Retrying"),
            d("chat", 1, None, 1, "Failed")
        ]
    );
    // The lane reconciled as ever (its own verdict, no error); the policy says what fails.
    let lane_row = rows.iter().find(|r| r.kind == "Lane").unwrap();
    assert_eq!(
        lane_row.verdict,
        launchplane_api::Verdict::Mismatch,
        "{lane_row:?}"
    );
    assert!(
        !lane_row.message.contains("503") && !lane_row.message.contains("401"),
        "{lane_row:?}"
    );
    let status = folder.policy_status();
    let delivering = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Delivering")
        .unwrap()
        .clone();
    assert_eq!(delivering["status"], "False");
    let message = delivering["message"].as_str().unwrap();
    assert!(
        message.contains("issues: Retrying on Incident lane.shop-testing.runtime-identity-verified: 503"),
        "{message}"
    );
    assert!(message.contains("chat: Failed on Incident"), "{message}");
    assert_eq!(status["failing"], "issues,chat");
    let policy_row = rows.iter().find(|r| r.kind == "NotificationPolicy").unwrap();
    assert!(!policy_row.required && !policy_row.is_failure());

    // Not before the backoff (30s), then again; the destination's retry-after (120s) is
    // honoured over the next backoff (60s).
    folder.run(open_at + SignedDuration::from_secs(20)).await;
    assert_eq!(folder.recorder.calls("github").len(), 1);
    folder.run(open_at + SignedDuration::from_secs(31)).await;
    assert_eq!(folder.recorder.calls("github").len(), 2);
    folder.run(open_at + SignedDuration::from_secs(31 + 100)).await;
    assert_eq!(folder.recorder.calls("github").len(), 2, "retry-after honoured");
    folder.run(open_at + SignedDuration::from_secs(31 + 121)).await;
    assert_eq!(folder.recorder.calls("github").len(), 3);
    // One record per attempt.
    assert_eq!(
        folder.deliveries(),
        [
            d("issues", 1, None, 1, "Retrying"),
            d("chat", 1, None, 1, "Failed"),
            d("issues", 1, None, 2, "Retrying"),
            d("issues", 1, None, 3, "Delivered")
        ]
    );
    // The Failed chat is never retried; the issue delivers again: only the chat fails.
    assert_eq!(folder.recorder.calls("discord").len(), 1);
    folder.run(open_at + minutes(5)).await;
    let status = folder.policy_status();
    assert_eq!(status["failing"], "chat");
    folder.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notify_nothing_is_sent_and_a_missing_secret_names_the_field() {
    let mut folder = Folder::new(&["issues", "chat"]).await;
    folder.inputs.secrets.remove(&format!("{NS}/discord"));
    folder.run(SignedDuration::ZERO).await;
    // Without --notify: the policy is reported (its Secrets checked), nothing is sent.
    let rows = {
        folder.clock.0.store(minutes(1).as_secs(), Ordering::SeqCst);
        let mut engine = Engine::new(
            Prober::new(ProberConfig::default()).unwrap(),
            folder.state.clone(),
            Box::new(|_: &str| None),
        )
        .with_deploy(support::deploy_settings())
        .with_clock(folder.clock.clone());
        engine.round(&folder.inputs).await
    };
    assert!(folder.recorder.calls.lock().unwrap().is_empty());
    let policy_row = rows.iter().find(|r| r.kind == "NotificationPolicy").unwrap();
    assert_eq!(
        policy_row.verdict,
        launchplane_api::Verdict::Missing,
        "{policy_row:?}"
    );
    let status = folder.policy_status();
    let ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["status"], "False");
    assert_eq!(
        ready["message"],
        "chat: NotificationPolicy shop/oncall: spec.destinations[chat].discord.webhookUrlSecretRef: Secret shop/discord not found; create it or fix the reference"
    );

    // With --notify, the unconfigured chat waits (no record, no attempt); the issue is sent.
    folder.sim.set_app_behaviour(&folder.app, wrong_artifact());
    folder.run(minutes(2)).await;
    folder.run(minutes(13)).await;
    assert_eq!(folder.recorder.calls("github").len(), 1);
    assert!(folder.recorder.calls("discord").is_empty());
    assert_eq!(folder.deliveries(), [d("issues", 1, None, 1, "Delivered")]);
    folder.sim.shutdown().await;
}

/// The cluster shell over the fake API server: the same story gives the same deliveries as
/// standalone runs, a restart (fresh caches and context) sends nothing twice, and the
/// NotificationPolicy's status is applied on its `/status`.
mod cluster {
    use super::*;
    use launchplane::engine::Caches;
    use launchplane::k8s::context::Context;
    use launchplane::k8s::controller;
    use launchplane_testkit::FakeApiServer;

    struct Cluster {
        server: FakeApiServer,
        clock: Arc<Shifted>,
        recorder: Arc<Recorder>,
    }

    impl Cluster {
        fn context(&self, sim: &DokploySim, app: &str) -> (Arc<Context>, Caches) {
            crate::incidents::cluster_context(
                &self.server,
                self.clock.clone(),
                sim,
                app,
                product(),
                Some(Arc::new(Factory(self.recorder.clone()))),
            )
        }

        fn deliveries(&self) -> Vec<(String, i64, Option<i32>, i32, String)> {
            let all = self.server.objects::<Incident>(NS);
            assert_eq!(all.len(), 1, "{all:#?}");
            all[0]
                .status
                .clone()
                .unwrap()
                .deliveries
                .into_iter()
                .map(|d| (d.destination, d.transition, d.repeat, d.attempt, d.outcome))
                .collect()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cluster_sends_what_standalone_sends_once_across_a_restart() {
        let (sim, app) = sim_with_testing_app().await;
        let url = sim.app_url(&app).unwrap();
        let cluster = Cluster {
            server: FakeApiServer::new(),
            clock: Arc::new(Shifted::default()),
            recorder: Arc::new(Recorder::default()),
        };
        cluster
            .server
            .put_secret(NS, "github", &[("token", TOKEN.as_bytes())]);
        cluster
            .server
            .put_secret(NS, "discord", &[("url", WEBHOOK.as_bytes())]);
        cluster.server.put(&the_lane(&url));
        let mut p = policy(&["issues", "chat"]);
        p.metadata.generation = Some(1);
        cluster.server.put(&p);
        cluster.recorder.script("github", &[Answer::Retryable(None)]);
        let (ctx, caches) = cluster.context(&sim, &app);
        crate::incidents::settle(&ctx, &caches).await;
        assert!(cluster.server.objects::<Incident>(NS).is_empty());

        sim.set_app_behaviour(&app, wrong_artifact());
        cluster.clock.0.store(minutes(1).as_secs(), Ordering::SeqCst);
        crate::incidents::reconcile(&ctx, &caches).await;
        let open_at = minutes(11) + SignedDuration::from_secs(2);
        cluster.clock.0.store(open_at.as_secs(), Ordering::SeqCst);
        let action = crate::incidents::reconcile(&ctx, &caches).await;
        assert_eq!(
            cluster.deliveries(),
            [
                d("issues", 1, None, 1, "Retrying"),
                d("chat", 1, None, 1, "Delivered")
            ]
        );
        // The retry is due in 30s: the lane is looked at again by then.
        assert!(
            (29..=31).any(|s| action == kube::runtime::controller::Action::requeue(Duration::from_secs(s))),
            "{action:?}"
        );
        // The policy's status, applied on /status, names the failing destination.
        let policy = caches.get::<NotificationPolicy>(NS, "oncall").unwrap();
        controller::reconcile(policy, ctx.clone()).await.unwrap();
        let stored: NotificationPolicy = cluster.server.object(NS, "oncall").unwrap();
        let status = stored.status.unwrap();
        assert_eq!(status.failing.as_deref(), Some("issues"));
        let delivering = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Delivering")
            .unwrap();
        assert_eq!(delivering.status, "False");
        assert!(
            delivering.message.starts_with("issues: Retrying on Incident"),
            "{}",
            delivering.message
        );

        // A restart: fresh caches and context. Nothing is sent twice; the retry goes when due.
        drop(ctx);
        let (ctx, caches) = cluster.context(&sim, &app);
        cluster.clock.0.store(
            (open_at + SignedDuration::from_secs(10)).as_secs(),
            Ordering::SeqCst,
        );
        crate::incidents::reconcile(&ctx, &caches).await;
        assert_eq!(cluster.recorder.calls("github").len(), 1);
        assert_eq!(cluster.recorder.calls("discord").len(), 1);
        cluster.clock.0.store(
            (open_at + SignedDuration::from_secs(31)).as_secs(),
            Ordering::SeqCst,
        );
        crate::incidents::reconcile(&ctx, &caches).await;
        let in_cluster = cluster.deliveries();
        assert_eq!(
            in_cluster,
            [
                d("issues", 1, None, 1, "Retrying"),
                d("chat", 1, None, 1, "Delivered"),
                d("issues", 1, None, 2, "Delivered")
            ]
        );
        // No credential in anything written to the API server (statuses, Events).
        let written: String = cluster
            .server
            .calls()
            .into_iter()
            .map(|c| c.body.to_string())
            .collect();
        for secret in [TOKEN, WEBHOOK] {
            assert!(!written.contains(secret), "{secret} written to the API server");
        }

        // Standalone runs over the same facts record the same deliveries.
        let folder = Folder::new(&["issues", "chat"]).await;
        folder.recorder.script("github", &[Answer::Retryable(None)]);
        folder.open(open_at).await;
        folder.run(open_at).await;
        folder.run(open_at + SignedDuration::from_secs(10)).await;
        folder.run(open_at + SignedDuration::from_secs(31)).await;
        assert_eq!(folder.deliveries(), in_cluster);
        folder.sim.shutdown().await;
        sim.shutdown().await;
    }
}
