//! Issue 16 end to end, on a real API server: a lane whose app starts serving the wrong
//! artifact opens an Incident once the failure outlasts `openAfter`, keeps one Incident across
//! a controller restart, and resolves it once the app is fixed and stays Matched for
//! `resolveAfter`. A NotificationPolicy routes it to a GitHub issue (the GitHub fake), an email
//! (a real SMTP server on loopback, STARTTLS and AUTH required) and a Discord webhook (the
//! Discord fake): one issue, one email and one message when it opens, reminders on the
//! route's interval, never a duplicate across the restart, and the issue closed on resolution. The controllers run in-process (`launchplane::k8s::run`) against the Dokploy
//! simulator in a temporary namespace; every wait has a timeout and says what it saw.
//!
//! Needs `KUBECONFIG`; without it the test says `SKIPPED: ...` and passes (see e2e_support).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use jiff::SignedDuration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use launchplane_api::resources::NotificationPolicy;
use launchplane_api::resources::{
    Artifact, Incident, IncidentPolicy, IncidentSeverity, IncidentState, Lane, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, ManagementPolicy, PreviewPolicy, Product, ProviderTarget,
};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::discord::DiscordFake;
use launchplane_e2e::github::GitHubFake;
use launchplane_e2e::sim::{AppBehaviour, DokploySim, SeedApplication, SimConfig};
use launchplane_e2e::smtp::{SmtpServer, SmtpTls};
use launchplane_testkit::build::{artifact, in_namespace};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

mod e2e_support;

use e2e_support::{
    Controllers, app_target, create_sim_provider_config, run_in_namespace, shop_product, wait_until,
};

/// How long one step may take: a deploy, the lane's settled re-check (60 s), `openAfter`.
const STEP: Duration = Duration::from_secs(150);
const LANE: &str = "shop-testing";
const WELL_KNOWN_PATH: &str = "/.well-known/launchplane-runtime.json";
const OPEN_AFTER: &str = "6s";
/// The check the wrong artifact fails.
const CHECK: &str = "RuntimeIdentityVerified";
const RESOLVE_AFTER: &str = "6s";
/// The route's reminder cadence: every 8 s, doubling, at most 16 s.
const REPEAT_INTERVAL: &str = "8s";
const GITHUB_TOKEN: &str = "ghp-e2e-incidents-token";
const DISCORD_TOKEN: &str = "discord-e2e-incidents-token";
const SMTP_PASSWORD: &str = "smtp-e2e-incidents-password";
const REPO: &str = "acme/shop-incidents";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_serving_the_wrong_artifact_opens_then_resolves_one_incident() {
    run_in_namespace("e2e_incidents", "launchplane-e2e-incidents", scenario).await;
}

async fn scenario(client: Client, ns: String) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: LANE.into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let smtp =
        tokio::task::spawn_blocking(|| SmtpServer::start(SmtpTls::StartTls, "launchplane", SMTP_PASSWORD))
            .await
            .unwrap()
            .expect("the SMTP server starts (scripts/smtp-server.sh)")
            .expect("python3 runs the SMTP server: the e2e tier needs it");
    let scene = Scene {
        lanes: Api::namespaced(client.clone(), &ns),
        incidents: Api::namespaced(client.clone(), &ns),
        client: client.clone(),
        ns: ns.clone(),
        app,
        sim,
        github: GitHubFake::start(GITHUB_TOKEN).await.unwrap(),
        discord: DiscordFake::start("1234567890", DISCORD_TOKEN).await.unwrap(),
        smtp,
    };
    let controllers = Controllers::start(&client, &ns, "e2e-incidents");
    let steps = std::panic::AssertUnwindSafe(steps(&scene, controllers))
        .catch_unwind()
        .await;
    scene.sim.shutdown().await;
    if let Err(panic) = steps {
        std::panic::resume_unwind(panic);
    }
}

struct Scene {
    client: Client,
    ns: String,
    lanes: Api<Lane>,
    incidents: Api<Incident>,
    app: String,
    sim: DokploySim,
    github: GitHubFake,
    discord: DiscordFake,
    smtp: SmtpServer,
}

async fn steps(s: &Scene, controllers: Controllers) {
    s.create_shop().await;
    s.wait_lane(Verdict::Matched, "verifies shop-a").await;
    // A failure shorter than openAfter (the deploy itself) leaves nothing behind.
    let until = Instant::now() + Duration::from_secs(30);
    while !s.all_incidents().await.is_empty() {
        assert!(
            Instant::now() < until,
            "a healthy lane keeps no Incident: {:#?}",
            s.all_incidents().await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The app starts serving another artifact's identity.
    let mut stale = s.served().await;
    stale["artifactId"] = "shop-b".into();
    s.sim
        .set_app_behaviour(&s.app, AppBehaviour::StaleIdentity(stale));
    s.wait_lane(Verdict::Mismatch, "sees the wrong artifact").await;
    let open = s
        .wait_incident("to open", |st| st.state == Some(IncidentState::Open))
        .await;
    let name = open.metadata.name.clone().unwrap();
    let status = open.status.clone().unwrap();
    assert_eq!(open.spec.product, "shop");
    assert_eq!(open.spec.lane, LANE);
    assert_eq!(open.spec.check, "RuntimeIdentityVerified");
    assert_eq!(status.severity, Some(IncidentSeverity::Critical));
    assert_eq!(status.occurrence, 1);
    let failing = status.first_seen_time.clone().unwrap().0;
    let opened = status.opened_time.clone().unwrap().0;
    assert!(
        opened.duration_since(failing) >= SignedDuration::from_secs(6),
        "opened {opened} only after openAfter ({OPEN_AFTER}) from {failing}"
    );
    assert!(
        status.message.as_deref().unwrap_or_default().contains("shop-b"),
        "the evidence names what the app serves: {status:?}"
    );

    // Opened: one issue, one email, one Discord message.
    s.wait_for("one issue, one email, one message", |gh, mails, chat| {
        gh >= 1 && mails >= 1 && chat >= 1
    })
    .await;
    let issues = s.github.issues();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let issue = &issues[0];
    assert_eq!((issue.repository.as_str(), issue.state.as_str()), (REPO, "open"));
    assert!(issue.labels.contains(&"incident".to_string()), "{issue:?}");
    assert!(
        issue
            .body
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("launchplane:incident {}/{name}", s.ns)),
        "the marker a restart finds it by: {issue:?}"
    );
    let first = s.smtp.messages();
    let opened_mail = &first[0];
    assert!(opened_mail.tls && opened_mail.auth_login.as_deref() == Some("launchplane"));
    let opened_id = opened_mail.header("Message-ID").expect("a Message-ID");
    assert!(s.discord.messages()[0].embeds.len() == 1);

    // Reminders follow the route's interval: a comment on the issue, a second email threaded on
    // the first, a second message.
    s.wait_for("a reminder on each destination", |_, mails, chat| {
        mails >= 2 && chat >= 2
    })
    .await;
    let reminder = &s.smtp.messages()[1];
    assert_eq!(
        reminder.header("In-Reply-To").as_deref(),
        Some(opened_id.as_str())
    );
    s.wait_comments(1).await;

    // A restart while it is open: still one Incident, the same occurrence, one issue.
    controllers.stop().await;
    let controllers = Controllers::start(&s.client, &s.ns, "e2e-incidents");
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A restarted controller has not polled Dokploy yet: its targets are Unchecked until it
    // has (ProviderConfigNotPolled), so no other Incident is even Pending.
    let all = s.incidents_of(CHECK).await;
    assert_eq!(all.len(), 1, "deduplicated across the restart: {all:?}");
    assert_eq!(all[0].status.as_ref().unwrap().occurrence, 1);
    let others: Vec<String> = s
        .all_incidents()
        .await
        .iter()
        .filter(|i| i.spec.check != CHECK)
        .map(|i| format!("{} {:?}", i.spec.check, i.status.as_ref().and_then(|st| st.state)))
        .collect();
    assert!(
        others.is_empty(),
        "no other Incident after the restart: {others:?}"
    );
    assert_eq!(s.github.issues().len(), 1, "never a second issue");
    s.assert_no_duplicate_notice();
    let policy = s.api::<NotificationPolicy>().get("oncall").await.unwrap();
    let ready = policy
        .status
        .as_ref()
        .and_then(|st| st.conditions.iter().find(|c| c.type_ == "Ready").cloned());
    assert!(ready.as_ref().is_some_and(|c| c.status == "True"), "{ready:?}");

    // Fixed: Matched again, then resolved after resolveAfter.
    s.sim.set_app_behaviour(&s.app, AppBehaviour::Normal);
    s.wait_lane(Verdict::Matched, "verifies shop-a again").await;
    let resolved = s
        .wait_incident("to resolve", |st| st.state == Some(IncidentState::Resolved))
        .await;
    let status = resolved.status.unwrap();
    let matched = status.matched_since.clone().map(|t| t.0);
    let at = status.resolved_time.clone().unwrap().0;
    if let Some(matched) = matched {
        assert!(
            at.duration_since(matched) >= SignedDuration::from_secs(6),
            "{status:?}"
        );
    }
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Resolved" && c.status == "True"),
        "kubectl wait --for=condition=Resolved works: {:?}",
        status.conditions
    );
    assert_eq!(resolved.metadata.name.as_deref(), Some(name.as_str()));

    // The resolution closes the issue and goes out once to each destination.
    let closed = s.wait_issue_closed().await;
    assert_eq!(closed.state_reason.as_deref(), Some("completed"));
    let mails = s.smtp.wait_for(3, STEP).await;
    assert!(
        mails
            .iter()
            .any(|m| m.header("Subject").unwrap_or_default().contains("Resolved")),
        "{:#?}",
        mails.iter().map(|m| m.header("Subject")).collect::<Vec<_>>()
    );
    s.assert_no_duplicate_notice();
    assert_eq!(s.github.issues().len(), 1);

    // No credential in what the controller wrote to the API server.
    let written = serde_json::to_string(&(
        s.all_incidents().await,
        s.api::<NotificationPolicy>().get("oncall").await.unwrap(),
    ))
    .unwrap();
    for secret in [GITHUB_TOKEN, DISCORD_TOKEN, SMTP_PASSWORD] {
        assert!(!written.contains(secret), "a credential reached a status");
    }
    controllers.stop().await;
}

impl Scene {
    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    async fn create_shop(&self) {
        let pp = PostParams::default();
        create_sim_provider_config(&self.client, &self.ns, &self.sim).await;
        let mut target = app_target(LANE, "dokploy-main", Some(self.app.clone()), LANE);
        target.spec.management_policy = ManagementPolicy::Manage;
        self.api::<ProviderTarget>().create(&pp, &target).await.unwrap();
        let mut product = shop_product(PreviewPolicy::default());
        product.spec.incidents = IncidentPolicy {
            open_after: OPEN_AFTER.into(),
            resolve_after: RESOLVE_AFTER.into(),
            ..IncidentPolicy::default()
        };
        self.api::<Product>().create(&pp, &product).await.unwrap();
        for (name, c) in [("shop-a", 'a'), ("shop-b", 'b')] {
            self.api::<Artifact>()
                .create(&pp, &in_namespace(artifact(name, c), &self.ns))
                .await
                .unwrap();
        }
        let lane = Lane::new(
            LANE,
            LaneSpec {
                product_ref: LocalObjectRef::new("shop"),
                stage: "testing".into(),
                target_ref: LocalObjectRef::new(LANE),
                artifact_ref: Some(LocalObjectRef::new("shop-a")),
                runtime_identity: LaneRuntimeIdentity {
                    required: true,
                    base_url: Some(self.sim.app_url(&self.app).expect("the seeded app serves")),
                    ..LaneRuntimeIdentity::default()
                },
                ..LaneSpec::default()
            },
        );
        self.lanes.create(&pp, &lane).await.unwrap();
        self.create_policy().await;
    }

    /// The Secrets and the `oncall` NotificationPolicy: every incident of shop to the GitHub
    /// fake, the SMTP server and the Discord fake.
    async fn create_policy(&self) {
        let pp = PostParams::default();
        for (name, data) in [
            ("github-token", vec![("token", GITHUB_TOKEN.to_string())]),
            (
                "smtp",
                vec![
                    ("username", "launchplane".to_string()),
                    ("password", SMTP_PASSWORD.to_string()),
                    ("ca.pem", self.smtp.ca_pem()),
                ],
            ),
            ("discord", vec![("url", self.discord.webhook_url())]),
        ] {
            let mut secret = Secret::default();
            secret.metadata.name = Some(name.into());
            secret.string_data = Some(
                data.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<BTreeMap<_, _>>(),
            );
            self.api::<Secret>().create(&pp, &secret).await.unwrap();
        }
        let policy: NotificationPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "launchplane.dev/v1alpha1",
            "kind": "NotificationPolicy",
            "metadata": {"name": "oncall"},
            "spec": {
                "destinations": [
                    {"name": "issues", "githubIssue": {
                        "apiUrl": self.github.base_url(), "owner": "acme", "repo": "shop-incidents",
                        "labels": ["incident"], "tokenSecretRef": {"name": "github-token", "key": "token"}}},
                    {"name": "mail", "email": {
                        "host": "127.0.0.1", "port": self.smtp.port, "security": "StartTLS",
                        "from": "launchplane@example.com", "to": ["oncall@example.com"],
                        "usernameSecretRef": {"name": "smtp", "key": "username"},
                        "passwordSecretRef": {"name": "smtp", "key": "password"},
                        "caSecretRef": {"name": "smtp", "key": "ca.pem"}}},
                    {"name": "chat", "discord": {"webhookUrlSecretRef": {"name": "discord", "key": "url"}}}
                ],
                "routes": [{
                    "match": {"products": ["shop"]},
                    "destinations": ["issues", "mail", "chat"],
                    "repeatInterval": REPEAT_INTERVAL, "repeatBackoff": 2, "repeatMax": "16s"
                }]
            }
        }))
        .unwrap();
        self.api::<NotificationPolicy>()
            .create(&pp, &policy)
            .await
            .unwrap();
    }

    /// Polls the three destinations until `done(issues, emails, messages)`.
    async fn wait_for(&self, what: &str, done: impl Fn(usize, usize, usize) -> bool) {
        let until = Instant::now() + STEP;
        loop {
            let counts = (
                self.github.issues().len(),
                self.smtp.messages().len(),
                self.discord.messages().len(),
            );
            if done(counts.0, counts.1, counts.2) {
                return;
            }
            assert!(
                Instant::now() < until,
                "{what}: not within {STEP:?}; issues, emails, messages = {counts:?}; incidents {:#?}",
                self.all_incidents().await
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits until the incident's issue carries `n` comments.
    async fn wait_comments(&self, n: usize) {
        let until = Instant::now() + STEP;
        while self.github.comments().len() < n {
            assert!(
                Instant::now() < until,
                "{n} comments: {:#?}",
                self.github.comments()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn wait_issue_closed(&self) -> launchplane_e2e::github::FakeIssue {
        let until = Instant::now() + STEP;
        loop {
            let issues = self.github.issues();
            if let Some(closed) = issues.iter().find(|i| i.state == "closed") {
                return closed.clone();
            }
            assert!(Instant::now() < until, "the issue closed: {issues:#?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// No notice reached a destination twice: every email's Message-ID and every comment's
    /// notice marker is unique.
    fn assert_no_duplicate_notice(&self) {
        let ids: Vec<String> = self
            .smtp
            .messages()
            .iter()
            .filter_map(|m| m.header("Message-ID"))
            .collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "an email sent twice: {ids:?}");
        let bodies: Vec<String> = self.github.comments().into_iter().map(|c| c.body).collect();
        let unique: std::collections::BTreeSet<_> = bodies.iter().collect();
        assert_eq!(unique.len(), bodies.len(), "a comment posted twice: {bodies:#?}");
    }

    /// The identity the app serves now.
    async fn served(&self) -> serde_json::Value {
        let url = self.sim.app_url(&self.app).expect("the app runs");
        reqwest::get(format!("{url}{WELL_KNOWN_PATH}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_lane(&self, verdict: Verdict, what: &str) -> Lane {
        wait_until(
            &self.lanes,
            LANE,
            &format!("Lane {LANE} {what}"),
            STEP,
            move |l: &Lane| l.status.as_ref().and_then(|s| s.verdict) == Some(verdict),
        )
        .await
    }

    async fn all_incidents(&self) -> Vec<Incident> {
        self.incidents.list(&ListParams::default()).await.unwrap().items
    }

    /// The Incidents of one check of the lane.
    async fn incidents_of(&self, check: &str) -> Vec<Incident> {
        let mut all = self.all_incidents().await;
        all.retain(|i| i.spec.check == check);
        all
    }

    /// Waits until the lane's one Incident's status satisfies `done`.
    async fn wait_incident(
        &self,
        what: &str,
        done: impl Fn(&launchplane_api::resources::IncidentStatus) -> bool,
    ) -> Incident {
        let until = Instant::now() + STEP;
        loop {
            let all = self.incidents_of(CHECK).await;
            assert!(all.len() <= 1, "one Incident per lane and check: {all:#?}");
            if let Some(found) = all.into_iter().next()
                && found.status.as_ref().is_some_and(&done)
            {
                return found;
            }
            assert!(
                Instant::now() < until,
                "the Incident {what}: not within {STEP:?}; {:#?}",
                self.all_incidents().await
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
