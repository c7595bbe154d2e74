//! The notification destinations against their fakes and a real SMTP server: one issue, email
//! or message per notice; repeats comment on the issue once; resolution closes it; a second
//! factory (a restart) finds the issue by its marker instead of filing another; rate limits
//! ask for the wait the server named; 5xx retry; timeouts after the write are found again
//! (GitHub), may have delivered (email: `Unknown`, the Message-ID dedupes) or cannot be known
//! (Discord: `Unknown`); STARTTLS and AUTH are really negotiated; and no token, webhook URL or
//! password appears in any error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use launchplane::notify::destination::{
    Destination, DestinationConfig, DestinationFactory, DiscordConfig, EmailConfig, GitHubIssueConfig,
    IncidentKey, Notice, NoticeKind, SendError, SmtpSecurity,
};
use launchplane::notify::destinations::RealDestinations;
use launchplane::notify::destinations::discord::DiscordDestination;
use launchplane::notify::destinations::email::EmailDestination;
use launchplane::notify::destinations::github::GitHubIssueDestination;
use launchplane_api::Verdict;
use launchplane_api::resources::{IncidentSeverity, IncidentState, IncidentTransitionType};
use launchplane_e2e::discord::{DiscordFake, DiscordFault};
use launchplane_e2e::github::{GitHubFake, GitHubFault};
use launchplane_e2e::smtp::{SmtpServer, SmtpTls};
use launchplane_providers::SecretString;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const GH_TOKEN: &str = "ghp_SENTINELtoken0123456789";
const DISCORD_TOKEN: &str = "SENTINELwebhookTOKEN-abc_123";
const SMTP_PASSWORD: &str = "SENTINEL-smtp-pass-9876";

fn notice(kind: NoticeKind, occurrence: i32, thread: Vec<String>) -> Notice {
    let (state, tag) = match kind {
        NoticeKind::Transition(IncidentTransitionType::Resolved) => {
            (IncidentState::Resolved, "t-resolved".to_string())
        }
        NoticeKind::Transition(t) => (IncidentState::Open, format!("t-{t:?}")),
        NoticeKind::Repeat(n) => (IncidentState::Open, format!("r-{n}")),
    };
    Notice {
        incident: IncidentKey {
            namespace: "shop".into(),
            name: "shop-production-public".into(),
            product: "shop".into(),
            kind: "Lane".into(),
            lane: "production".into(),
            check: "public".into(),
        },
        kind,
        transition: 1,
        occurrence,
        state,
        severity: IncidentSeverity::Critical,
        verdict: Verdict::Mismatch,
        message: "the app serves ghcr.io/acme/shop@sha256:0bad, not sha256:9good".into(),
        time: Timestamp::from_second(1_800_000_000).unwrap(),
        id: format!("uid-1234/{occurrence}/{tag}"),
        thread,
    }
}

fn opened(occurrence: i32) -> Notice {
    let kind = if occurrence == 1 {
        IncidentTransitionType::Opened
    } else {
        IncidentTransitionType::Reopened
    };
    notice(NoticeKind::Transition(kind), occurrence, vec![])
}

/// No credential in what the engine will store or log.
fn assert_secret_free(errors: &[SendError], secrets: &[&str]) {
    for e in errors {
        let shown = format!("{e} {e:?}");
        for s in secrets {
            assert!(!shown.contains(s), "a secret leaked into {shown}");
        }
    }
}

fn github_config(fake: &GitHubFake, token: &str) -> GitHubIssueConfig {
    GitHubIssueConfig {
        api_url: fake.base_url(),
        owner: "acme".into(),
        repo: "ops".into(),
        labels: vec!["incident".into(), "launchplane".into()],
        token: SecretString::new(token),
    }
}

fn build_github(fake: &GitHubFake) -> Box<dyn Destination> {
    RealDestinations
        .build(&DestinationConfig::GitHubIssue(github_config(fake, GH_TOKEN)))
        .unwrap()
}

#[tokio::test]
async fn github_files_one_issue_comments_each_notice_once_and_closes_on_resolve() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    let github = build_github(&fake);
    assert!(github.deduplicates());

    let sent = github.send(&opened(1)).await.unwrap();
    let issues = fake.issues();
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    assert_eq!(sent.remote_id, Some(issue.number.to_string()));
    assert_eq!(issue.labels, ["incident", "launchplane"]);
    for word in ["critical", "shop/production", "public"] {
        assert!(issue.title.contains(word), "{word} in {}", issue.title);
    }
    let body = issue.body.clone().unwrap();
    assert!(body.contains("<!-- launchplane:incident shop/shop-production-public occurrence 1 -->"));
    assert!(body.contains("sha256:0bad"), "the evidence is in the issue");

    // The same notice again (a retry whose answer was lost): no second issue.
    let again = github.send(&opened(1)).await.unwrap();
    assert_eq!(again.remote_id, sent.remote_id);
    assert_eq!(fake.issues().len(), 1);

    let thread = vec![sent.remote_id.clone().unwrap()];
    let repeat = notice(NoticeKind::Repeat(1), 1, thread.clone());
    github.send(&repeat).await.unwrap();
    github.send(&repeat).await.unwrap();
    let changed = notice(
        NoticeKind::Transition(IncidentTransitionType::VerdictChanged),
        1,
        thread.clone(),
    );
    github.send(&changed).await.unwrap();
    let comments = fake.comments();
    assert_eq!(
        comments.len(),
        2,
        "one comment per notice, a retried one not twice"
    );
    assert!(comments.iter().all(|c| c.issue == issue.number));
    assert!(
        comments[0]
            .body
            .contains(&format!("<!-- launchplane:notice {} -->", repeat.id))
    );

    let resolved = notice(
        NoticeKind::Transition(IncidentTransitionType::Resolved),
        1,
        thread.clone(),
    );
    let done = github.send(&resolved).await.unwrap();
    assert_eq!(done.remote_id, sent.remote_id);
    let closed = &fake.issues()[0];
    assert_eq!(closed.state, "closed");
    assert_eq!(closed.state_reason.as_deref(), Some("completed"));
    assert_eq!(fake.comments().len(), 3);

    // It fails again: a new occurrence, a new issue; the closed one is left alone.
    let reopened = github.send(&opened(2)).await.unwrap();
    let issues = fake.issues();
    assert_eq!(issues.len(), 2);
    assert_eq!(reopened.remote_id, Some(issues[1].number.to_string()));
    assert_eq!(issues[0].state, "closed");
    assert!(fake.calls().iter().all(|c| c.authorized));
}

#[tokio::test]
async fn github_a_restart_finds_the_issue_by_its_marker_and_never_touches_a_lookalike() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    // A person's issue with the same words but no marker, and one quoting the marker in a
    // sentence: neither is the incident's.
    let lookalike = fake.add_issue(
        "acme/ops",
        "octocat",
        "[critical] Incident: shop/production check public (Mismatch)",
        "same title, written by a person",
        &["incident", "launchplane"],
    );
    let quoting = fake.add_issue(
        "acme/ops",
        "octocat",
        "about markers",
        "Launchplane writes `<!-- launchplane:incident shop/shop-production-public occurrence 1 -->` in its issues",
        &["incident", "launchplane"],
    );
    let first = build_github(&fake).send(&opened(1)).await.unwrap();
    let number: i64 = first.remote_id.clone().unwrap().parse().unwrap();
    assert!(number != lookalike && number != quoting);

    // A second factory instance (the controller restarted) with no thread (the intent was
    // written, the answer never recorded).
    let restarted = build_github(&fake);
    let again = restarted.send(&opened(1)).await.unwrap();
    assert_eq!(again.remote_id, first.remote_id);
    let repeat = notice(NoticeKind::Repeat(1), 1, vec![]);
    restarted.send(&repeat).await.unwrap();
    assert_eq!(fake.issues().len(), 3, "no duplicate issue");
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].issue, number);

    // A thread naming the person's issue (say, a corrupted record) is not trusted: the
    // comment goes to the issue carrying the marker.
    let misled = notice(NoticeKind::Repeat(2), 1, vec![lookalike.to_string()]);
    let sent = restarted.send(&misled).await.unwrap();
    assert_eq!(sent.remote_id, first.remote_id);
    assert!(fake.comments().iter().all(|c| c.issue == number));
    let resolved = notice(
        NoticeKind::Transition(IncidentTransitionType::Resolved),
        1,
        vec![lookalike.to_string()],
    );
    restarted.send(&resolved).await.unwrap();
    let issues = fake.issues();
    let state_of = |n: i64| issues.iter().find(|i| i.number == n).unwrap().state.clone();
    assert_eq!(state_of(number), "closed");
    assert_eq!(state_of(lookalike), "open", "a person's issue is never closed");
    assert_eq!(state_of(quoting), "open");
}

#[tokio::test]
async fn github_a_reminder_with_no_issue_files_one_and_a_retry_does_not_repeat_it() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    let github = build_github(&fake);
    let repeat = notice(NoticeKind::Repeat(3), 1, vec![]);
    let sent = github.send(&repeat).await.unwrap();
    github.send(&repeat).await.unwrap();
    let issues = fake.issues();
    assert_eq!(issues.len(), 1, "the incident's home is filed");
    assert_eq!(sent.remote_id, Some(issues[0].number.to_string()));
    assert!(
        fake.comments().is_empty(),
        "the issue already says it: {:?}",
        fake.comments()
    );
}

#[tokio::test]
async fn github_a_resolution_with_no_issue_files_nothing() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    let resolved = notice(
        NoticeKind::Transition(IncidentTransitionType::Resolved),
        1,
        vec![],
    );
    let sent = build_github(&fake).send(&resolved).await.unwrap();
    assert_eq!(sent.remote_id, None);
    assert!(fake.issues().is_empty());
    assert!(fake.comments().is_empty());
}

#[tokio::test]
async fn github_rate_limits_and_server_errors_are_retryable_with_the_named_wait() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    let github = build_github(&fake);
    let mut errors = Vec::new();

    let reset = Timestamp::now().as_second() + 120;
    fake.fault(GitHubFault::PrimaryRateLimit { reset });
    let e = github.send(&opened(1)).await.unwrap_err();
    match &e {
        SendError::Retryable {
            retry_after: Some(d), ..
        } => assert!(
            (115..=121).contains(&d.as_secs()),
            "waits until x-ratelimit-reset: {d:?}"
        ),
        other => panic!("{other:?}"),
    }
    errors.push(e);

    fake.fault(GitHubFault::SecondaryRateLimit { retry_after: 7 });
    let e = github.send(&opened(1)).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Retryable { retry_after: Some(d), .. } if *d == Duration::from_secs(7)),
        "{e:?}"
    );
    errors.push(e);

    // The listing passes, the create fails with a 502: nothing filed, worth retrying.
    fake.fault(GitHubFault::Pass);
    fake.fault(GitHubFault::Status(502));
    let e = github.send(&opened(1)).await.unwrap_err();
    assert!(
        matches!(
            &e,
            SendError::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
    errors.push(e);
    assert!(fake.issues().is_empty());

    github.send(&opened(1)).await.unwrap();
    assert_eq!(fake.issues().len(), 1);

    // A repository that does not exist (404) and a refused token need a person.
    fake.fault(GitHubFault::Status(404));
    let e = github.send(&opened(2)).await.unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    errors.push(e);
    let wrong = RealDestinations
        .build(&DestinationConfig::GitHubIssue(github_config(
            &fake,
            "ghp_SENTINELwrong",
        )))
        .unwrap();
    let e = wrong.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    errors.push(e);
    assert_secret_free(&errors, &[GH_TOKEN, "ghp_SENTINELwrong", "SENTINEL"]);
}

#[tokio::test]
async fn github_a_timeout_after_the_issue_was_filed_is_retried_without_a_duplicate() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    let github =
        GitHubIssueDestination::with_timeout(&github_config(&fake, GH_TOKEN), Duration::from_millis(300))
            .unwrap();
    // The listing answers; the create is served but its answer comes too late.
    fake.fault(GitHubFault::Pass);
    fake.fault(GitHubFault::SlowAnswer(Duration::from_secs(2)));
    let e = github.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Retryable { .. }), "{e:?}");
    assert_secret_free(&[e], &[GH_TOKEN]);
    assert_eq!(
        fake.issues().len(),
        1,
        "the issue was filed before the answer was lost"
    );
    let sent = github.send(&opened(1)).await.unwrap();
    assert_eq!(fake.issues().len(), 1, "the retry found it by its marker");
    assert_eq!(sent.remote_id, Some(fake.issues()[0].number.to_string()));

    // The same for a comment.
    let repeat = notice(NoticeKind::Repeat(1), 1, vec![]);
    fake.fault(GitHubFault::Pass); // the listing
    fake.fault(GitHubFault::Pass); // the comments
    fake.fault(GitHubFault::SlowAnswer(Duration::from_secs(2))); // the comment
    assert!(github.send(&repeat).await.is_err());
    github.send(&repeat).await.unwrap();
    assert_eq!(fake.comments().len(), 1);
}

#[tokio::test]
async fn github_bad_settings_are_refused_naming_the_field() {
    let fake = GitHubFake::start(GH_TOKEN).await.unwrap();
    let mut config = github_config(&fake, GH_TOKEN);
    config.repo = "acme/ops".into();
    let e = RealDestinations
        .build(&DestinationConfig::GitHubIssue(config))
        .err()
        .unwrap();
    assert!(e.0.contains("github.repo"), "{e}");
    let mut config = github_config(&fake, GH_TOKEN);
    config.api_url = "not a url".into();
    let e = RealDestinations
        .build(&DestinationConfig::GitHubIssue(config))
        .err()
        .unwrap();
    assert!(e.0.contains("github.apiUrl"), "{e}");
    assert!(!format!("{e:?}").contains(GH_TOKEN));
}

// Discord.

fn discord_config(url: String) -> DiscordConfig {
    DiscordConfig {
        webhook_url: SecretString::new(url),
        username: Some("Launchplane".into()),
    }
}

#[tokio::test]
async fn discord_posts_one_embed_per_notice_and_answers_the_message_id() {
    let fake = DiscordFake::start("1200000000000000001", DISCORD_TOKEN)
        .await
        .unwrap();
    let discord = RealDestinations
        .build(&DestinationConfig::Discord(discord_config(fake.webhook_url())))
        .unwrap();
    assert!(!discord.deduplicates());
    let sent = discord.send(&opened(1)).await.unwrap();
    let resolved = notice(
        NoticeKind::Transition(IncidentTransitionType::Resolved),
        1,
        vec![],
    );
    discord.send(&resolved).await.unwrap();
    let messages = fake.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(sent.remote_id.as_deref(), Some(messages[0].id.as_str()));
    assert!(fake.calls().iter().all(|c| c.query == "wait=true"));
    let embed = &messages[0].embeds[0];
    let title = embed["title"].as_str().unwrap();
    assert!(
        title.contains("shop/production") && title.contains("public"),
        "{title}"
    );
    assert!(embed["description"].as_str().unwrap().contains("sha256:0bad"));
    assert_eq!(embed["color"], 0xD1_24_2F, "critical and open is red");
    assert_eq!(messages[1].embeds[0]["color"], 0x2E_A0_43, "resolved is green");
    assert_eq!(
        messages[0].body["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    assert_eq!(messages[0].username.as_deref(), Some("Launchplane"));
}

#[tokio::test]
async fn discord_rate_limits_retry_after_the_named_wait_and_5xx_retry() {
    let fake = DiscordFake::start("1200000000000000001", DISCORD_TOKEN)
        .await
        .unwrap();
    let discord = DiscordDestination::new(&discord_config(fake.webhook_url())).unwrap();
    let mut errors = Vec::new();
    fake.fault(DiscordFault::RateLimited {
        retry_after: 1.5,
        global: false,
        header: true,
    });
    let e = discord.send(&opened(1)).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Retryable { retry_after: Some(d), .. } if *d == Duration::from_millis(1500)),
        "the body's retry_after: {e:?}"
    );
    errors.push(e);
    fake.fault(DiscordFault::RateLimitedHeaderOnly { retry_after: 3.0 });
    let e = discord.send(&opened(1)).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Retryable { retry_after: Some(d), .. } if *d == Duration::from_secs(3)),
        "the header when the body says nothing: {e:?}"
    );
    errors.push(e);
    fake.fault(DiscordFault::Status(503));
    let e = discord.send(&opened(1)).await.unwrap_err();
    assert!(
        matches!(
            &e,
            SendError::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
    errors.push(e);
    assert!(fake.messages().is_empty());
    discord.send(&opened(1)).await.unwrap();
    assert_eq!(fake.messages().len(), 1);
    assert_secret_free(&errors, &[DISCORD_TOKEN, &fake.webhook_url()]);
}

#[tokio::test]
async fn discord_a_timeout_after_posting_is_unknown_and_errors_never_show_the_webhook() {
    let fake = DiscordFake::start("1200000000000000001", DISCORD_TOKEN)
        .await
        .unwrap();
    let discord =
        DiscordDestination::with_timeout(&discord_config(fake.webhook_url()), Duration::from_millis(300))
            .unwrap();
    let mut errors = Vec::new();
    fake.fault(DiscordFault::SlowAnswer(Duration::from_secs(2)));
    let e = discord.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Unknown { .. }), "{e:?}");
    errors.push(e);
    assert_eq!(fake.messages().len(), 1, "posted, though the answer never came");

    // A deleted webhook (wrong token) needs a person.
    let wrong_url = fake.webhook_url().replace(DISCORD_TOKEN, "SENTINELdeleted");
    let wrong = DiscordDestination::new(&discord_config(wrong_url.clone())).unwrap();
    let e = wrong.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    errors.push(e);

    // Nothing listening: retryable, and reqwest's message carries no URL.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gone = format!("http://127.0.0.1:{closed}/api/webhooks/1/SENTINELgone");
    let e = DiscordDestination::new(&discord_config(gone.clone()))
        .unwrap()
        .send(&opened(1))
        .await
        .unwrap_err();
    assert!(matches!(&e, SendError::Retryable { .. }), "{e:?}");
    errors.push(e);
    assert_secret_free(
        &errors,
        &[DISCORD_TOKEN, "SENTINEL", &fake.webhook_url(), &wrong_url, &gone],
    );
}

// Email, against a real SMTP server.

async fn smtp(tls: SmtpTls) -> Option<SmtpServer> {
    tokio::task::spawn_blocking(move || SmtpServer::start(tls, "launchplane", SMTP_PASSWORD))
        .await
        .unwrap()
        .unwrap()
}

fn email_config(server: &SmtpServer, security: SmtpSecurity, password: &str) -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port: server.port,
        security,
        extra_ca_pem: Some(server.ca_pem()),
        from: "Launchplane <launchplane@example.com>".into(),
        to: vec!["oncall@example.com".into(), "ops@example.com".into()],
        username: Some(server.user.clone()),
        password: Some(SecretString::new(password)),
    }
}

#[tokio::test]
async fn email_goes_over_starttls_with_auth_one_message_per_notice_threaded() {
    let Some(server) = smtp(SmtpTls::StartTls).await else {
        return;
    };
    let email = RealDestinations
        .build(&DestinationConfig::Email(email_config(
            &server,
            SmtpSecurity::StartTls,
            SMTP_PASSWORD,
        )))
        .unwrap();
    assert!(email.deduplicates());
    let first = email.send(&opened(1)).await.unwrap();
    let first_id = first.remote_id.clone().unwrap();
    assert_eq!(first_id, "<uid-1234=2F1=2Ft-Opened@launchplane>");
    let repeat = notice(NoticeKind::Repeat(1), 1, vec![first_id.clone()]);
    let second = email.send(&repeat).await.unwrap();
    let mails = server.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2, "one message per notice");
    for m in &mails {
        assert!(m.tls, "sent under TLS");
        assert_eq!(m.auth_login.as_deref(), Some("launchplane"), "authenticated");
        assert_eq!(m.mail_from, "launchplane@example.com");
        assert_eq!(m.rcpt_tos, ["oncall@example.com", "ops@example.com"]);
        assert!(!m.raw.contains(SMTP_PASSWORD));
    }
    assert_eq!(mails[0].header("Message-ID"), Some(first_id.clone()));
    assert_eq!(mails[0].header("In-Reply-To"), None);
    assert_eq!(mails[1].header("Message-ID"), second.remote_id);
    assert_eq!(mails[1].header("In-Reply-To"), Some(first_id.clone()));
    assert_eq!(mails[1].header("References"), Some(first_id));
    let subject = mails[0].header("Subject").unwrap();
    for word in ["Opened", "shop/production", "public", "critical"] {
        assert!(subject.contains(word), "{word} in {subject}");
    }
    assert!(mails[1].header("Subject").unwrap().contains("reminder 1"));
    assert!(mails[0].raw.contains("sha256:0bad"));
}

/// A relay whose certificate no trusted CA signed is refused for good, naming the fix:
/// retrying never makes it trusted.
#[tokio::test]
async fn email_a_relay_with_an_untrusted_certificate_needs_a_person() {
    let Some(server) = smtp(SmtpTls::StartTls).await else {
        return;
    };
    let config = EmailConfig {
        extra_ca_pem: None,
        ..email_config(&server, SmtpSecurity::StartTls, SMTP_PASSWORD)
    };
    let e = EmailDestination::new(&config)
        .unwrap()
        .send(&opened(1))
        .await
        .unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    assert!(
        e.to_string().contains("certificate") && e.to_string().contains("caSecretRef"),
        "{e}"
    );
    assert!(server.wait_for(1, Duration::from_millis(500)).await.is_empty());
    assert_secret_free(&[e], &[SMTP_PASSWORD]);
}

#[tokio::test]
async fn email_over_tls_from_the_first_byte() {
    let Some(server) = smtp(SmtpTls::Implicit).await else {
        return;
    };
    let email = EmailDestination::new(&email_config(&server, SmtpSecurity::Tls, SMTP_PASSWORD)).unwrap();
    email.send(&opened(1)).await.unwrap();
    let mails = server.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls);
}

/// The server really demands STARTTLS and AUTH (so the successful sends above negotiated
/// both), and a client that cannot verify it or log in gets nothing through.
#[tokio::test]
async fn email_the_server_refuses_without_starttls_or_auth_and_a_wrong_password_is_permanent() {
    let Some(server) = smtp(SmtpTls::StartTls).await else {
        return;
    };
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    assert!(reply(&mut lines).await.starts_with("220"));
    write.write_all(b"EHLO client\r\n").await.unwrap();
    let ehlo = reply(&mut lines).await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "no AUTH offered before TLS: {ehlo}");
    write.write_all(b"MAIL FROM:<a@example.com>\r\n").await.unwrap();
    assert!(
        reply(&mut lines).await.starts_with("530"),
        "plain-text mail refused"
    );
    drop(write);

    let mut errors = Vec::new();
    let wrong =
        EmailDestination::new(&email_config(&server, SmtpSecurity::StartTls, "SENTINEL-wrong")).unwrap();
    let e = wrong.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    errors.push(e);

    let mut untrusted = email_config(&server, SmtpSecurity::StartTls, SMTP_PASSWORD);
    untrusted.extra_ca_pem = None;
    let e = EmailDestination::new(&untrusted)
        .unwrap()
        .send(&opened(1))
        .await
        .unwrap_err();
    assert!(!matches!(e, SendError::Unknown { .. }), "{e:?}");
    errors.push(e);
    assert!(server.messages().is_empty());
    assert_secret_free(&errors, &[SMTP_PASSWORD, "SENTINEL-wrong"]);
}

/// One SMTP reply, all its lines.
async fn reply(lines: &mut tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>) -> String {
    let mut all = String::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        all.push_str(&l);
        all.push('\n');
        if l.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    }
    all
}

#[tokio::test]
async fn email_4xx_retries_5xx_needs_a_person_and_a_timeout_after_data_is_unknown() {
    let Some(server) = smtp(SmtpTls::StartTls).await else {
        return;
    };
    let config = email_config(&server, SmtpSecurity::StartTls, SMTP_PASSWORD);
    // Connect within 1 s, finish within 1 s more.
    let email = EmailDestination::with_timeout(&config, Duration::from_secs(1)).unwrap();
    let mut errors = Vec::new();

    server.fault_next_data("451 4.3.0 Try again later").unwrap();
    let e = email.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Retryable { .. }), "{e:?}");
    errors.push(e);
    server.fault_next_data("554 5.7.1 Message rejected").unwrap();
    let e = email.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    errors.push(e);
    assert!(server.messages().is_empty());

    server.fault_next_data("delay 5").unwrap();
    let e = email.send(&opened(1)).await.unwrap_err();
    assert!(matches!(&e, SendError::Unknown { .. }), "{e:?}");
    errors.push(e);
    assert_eq!(
        server.messages().len(),
        1,
        "the server took the message before the timeout"
    );
    assert_secret_free(&errors, &[SMTP_PASSWORD]);
}

#[tokio::test]
async fn email_bad_settings_are_refused_naming_the_field() {
    let base = EmailConfig {
        host: "smtp.example.com".into(),
        port: 587,
        security: SmtpSecurity::StartTls,
        extra_ca_pem: None,
        from: "launchplane@example.com".into(),
        to: vec!["oncall@example.com".into()],
        username: Some("lp".into()),
        password: Some(SecretString::new(SMTP_PASSWORD)),
    };
    type Edit = Box<dyn Fn(&mut EmailConfig)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("email.from", Box::new(|c| c.from = "not an address".into())),
        ("email.to[1]", Box::new(|c| c.to.push("nope".into()))),
        ("email.to", Box::new(|c| c.to.clear())),
        (
            "email.extraCaPem",
            Box::new(|c| {
                c.extra_ca_pem =
                    Some("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into())
            }),
        ),
        ("email.username", Box::new(|c| c.password = None)),
        ("email.host", Box::new(|c| c.host = String::new())),
    ];
    for (field, edit) in cases {
        let mut c = base.clone();
        edit(&mut c);
        let e = EmailDestination::new(&c).err().unwrap();
        assert!(e.0.contains(field), "{field}: {e}");
        assert!(!format!("{e:?}").contains(SMTP_PASSWORD));
    }
    EmailDestination::new(&base).unwrap();
}

/// A relay that offers no STARTTLS is refused before anything is sent: no AUTH, no MAIL, no
/// message in plain text.
#[tokio::test]
async fn email_a_relay_without_starttls_is_refused_before_anything_is_sent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let heard = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut heard = Vec::new();
        write.write_all(b"220 plain.example ESMTP\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            heard.push(line);
            let answer: &[u8] = match verb.as_str() {
                "EHLO" => b"250-plain.example\r\n250 AUTH PLAIN LOGIN\r\n",
                "QUIT" => b"221 bye\r\n",
                _ => b"250 ok\r\n",
            };
            if write.write_all(answer).await.is_err() || verb == "QUIT" {
                break;
            }
        }
        heard
    });
    let config = EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::StartTls,
        extra_ca_pem: None,
        from: "launchplane@example.com".into(),
        to: vec!["oncall@example.com".into()],
        username: Some("lp".into()),
        password: Some(SecretString::new(SMTP_PASSWORD)),
    };
    let e = EmailDestination::with_timeout(&config, Duration::from_secs(2))
        .unwrap()
        .send(&opened(1))
        .await
        .unwrap_err();
    assert!(matches!(&e, SendError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().contains("TLS"), "{e}");
    let heard = tokio::time::timeout(Duration::from_secs(5), heard)
        .await
        .unwrap()
        .unwrap();
    assert!(heard.first().is_some_and(|l| l.starts_with("EHLO")), "{heard:?}");
    assert!(
        heard
            .iter()
            .all(|l| !l.starts_with("AUTH") && !l.starts_with("MAIL") && !l.starts_with("DATA")),
        "nothing sent in plain text: {heard:?}"
    );
    assert_secret_free(&[e], &[SMTP_PASSWORD]);
}
