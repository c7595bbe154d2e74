//! Client unit tests against a tiny in-process HTTP responder (no simulator needed): status
//! classification, the 401 → Throttled rule, retries for reads only, redaction.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

type Handler = dyn Fn(&str, &str, &str) -> (u16, String) + Send + Sync;

/// A one-request-per-connection HTTP/1.1 responder on 127.0.0.1.
struct Responder {
    base: String,
    seen: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Responder {
    async fn start(handler: impl Fn(&str, &str, &str) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let handler = handler.clone();
                let seen = seen2.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    let mut first = head.lines().next().unwrap_or("").split(' ');
                    let method = first.next().unwrap_or("").to_owned();
                    let path = first.next().unwrap_or("").to_owned();
                    seen.lock()
                        .unwrap()
                        .push((method.clone(), path.clone(), head.clone()));
                    let (status, resp) = handler(&method, &path, &body);
                    let out = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{resp}",
                        resp.len()
                    );
                    let _ = sock.write_all(out.as_bytes()).await;
                });
            }
        });
        Self { base, seen }
    }

    fn count(&self, path_prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p, _)| p.starts_with(path_prefix))
            .count()
    }
}

fn unique_key(tag: &str) -> String {
    format!("test-key-{tag}-{}", rand::random::<u64>())
}

fn client_for(base: &str, key: &str) -> DokployClient {
    let mut cfg = DokployConfig::new(base, key);
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    cfg.rate_limit = RateLimit {
        per_second: 1000.0,
        burst: 1000,
    };
    cfg.request_timeout = Duration::from_secs(5);
    DokployClient::new(cfg).unwrap()
}

const GATEWAY_401: &[u8] = br#"{"message":"Unauthorized"}"#;

#[test]
fn status_classification() {
    let c = client_for("http://127.0.0.1:9", &unique_key("classify"));
    let r = || "r".to_owned();
    assert!(matches!(
        c.classify("x", 401, GATEWAY_401, r()),
        ProviderError::Unauthorized { .. }
    ));
    assert!(matches!(
        c.classify("x", 429, b"", r()),
        ProviderError::Throttled { .. }
    ));
    assert!(matches!(
        c.classify("x", 404, b"", r()),
        ProviderError::NotFound { .. }
    ));
    assert!(matches!(
        c.classify("x", 409, b"", r()),
        ProviderError::Conflict { .. }
    ));
    assert!(matches!(
        c.classify("x", 400, b"", r()),
        ProviderError::BadRequest { status: 400, .. }
    ));
    assert!(matches!(
        c.classify("x", 415, b"", r()),
        ProviderError::BadRequest { status: 415, .. }
    ));
    assert!(matches!(
        c.classify("x", 500, b"", r()),
        ProviderError::Server { status: 500, .. }
    ));
    assert!(matches!(
        c.classify("x", 503, b"", r()),
        ProviderError::Server { status: 503, .. }
    ));
    assert!(matches!(
        c.classify("x", 302, b"", r()),
        ProviderError::Malformed { .. }
    ));
}

#[test]
fn gateway_401_is_throttled_only_after_successes_with_this_key() {
    let key = unique_key("throttle");
    let c = client_for("http://127.0.0.1:9", &key);
    assert!(matches!(
        c.classify("overview.services", 401, GATEWAY_401, "r".into()),
        ProviderError::Unauthorized { .. }
    ));
    c.shared.successes.fetch_add(1, Ordering::Relaxed);
    let e = c.classify("overview.services", 401, GATEWAY_401, "r".into());
    assert!(matches!(e, ProviderError::Throttled { .. }), "{e}");
    // A second client with the same key shares the count.
    let c2 = client_for("http://127.0.0.1:9", &key);
    assert!(matches!(
        c2.classify("x", 401, GATEWAY_401, "r".into()),
        ProviderError::Throttled { .. }
    ));
    // A procedure's own UNAUTHORIZED (tRPC envelope) is a permission problem, never a throttle.
    let envelope = br#"{"message":"You are not authorized to access this application","code":"UNAUTHORIZED","data":{"code":"UNAUTHORIZED","httpStatus":401}}"#;
    let e = c.classify("application.one", 401, envelope, "r".into());
    assert!(matches!(e, ProviderError::Unauthorized { .. }), "{e}");
    // Threshold is configurable.
    let mut cfg = DokployConfig::new("http://127.0.0.1:9", key.as_str());
    cfg.throttle_after_successes = 5;
    let c3 = DokployClient::new(cfg).unwrap();
    assert!(matches!(
        c3.classify("x", 401, GATEWAY_401, "r".into()),
        ProviderError::Unauthorized { .. }
    ));
}

#[test]
fn constructor_validation() {
    let ok =
        |u: &str| DokployClient::new(DokployConfig::new(u, "k-constructor")).map(|c| c.api_base().to_owned());
    assert_eq!(ok("http://127.0.0.1:3000").unwrap(), "http://127.0.0.1:3000/api/");
    assert_eq!(
        ok("https://h.example/dokploy").unwrap(),
        "https://h.example/dokploy/api/"
    );
    assert_eq!(
        ok("https://h.example/dokploy/").unwrap(),
        "https://h.example/dokploy/api/"
    );
    for bad in ["", "ftp://x", "not a url", "http://user:pw@h/"] {
        let e = ok(bad).unwrap_err();
        assert!(matches!(e, ProviderError::InvalidInput { .. }), "{bad}: {e}");
        assert!(!e.to_string().contains("pw"), "{e}");
    }
    let e = DokployClient::new(DokployConfig::new("http://h", "bad\nkey-with-newline")).unwrap_err();
    assert!(!e.to_string().contains("key-with-newline"));
    let e = DokployClient::new(DokployConfig::new("http://h", "")).unwrap_err();
    assert!(matches!(e, ProviderError::InvalidInput { .. }));
    let cfg = DokployConfig::new("http://h", "secret-config-key");
    assert!(!format!("{cfg:?}").contains("secret-config-key"));
}

#[tokio::test]
async fn reads_are_retried_and_mutations_are_not() {
    let srv =
        Responder::start(|_, _, _| (500, r#"{"message":"boom","code":"INTERNAL_SERVER_ERROR"}"#.into()))
            .await;
    let c = client_for(&srv.base, &unique_key("retry"));
    let e = c
        .deploy(TargetCategory::Application, "app-1", "t", "d")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Server {
                route: "application.deploy",
                status: 500,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(srv.count("/api/application.deploy"), 1);
    let e = c
        .target_detail(TargetCategory::Application, "app-1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Server {
                route: "application.one",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(srv.count("/api/application.one"), 3);
    assert_eq!(
        e.to_string(),
        "application.one: server error 500: boom (INTERNAL_SERVER_ERROR)"
    );
}

#[tokio::test]
async fn requests_have_the_documented_shape() {
    let srv = Responder::start(|m, p, _| match (m, p) {
        ("POST", "/api/application.deploy") => (200, String::new()),
        ("GET", p) if p.starts_with("/api/deployment.all?") => (
            200,
            r#"[{"deploymentId":"old","title":"t1","status":"done","createdAt":"2026-01-01T00:00:00Z"},
                {"deploymentId":"new","title":"t1","status":"running","createdAt":"2026-01-02T00:00:00Z"},
                {"deploymentId":"x","title":"t2","status":"error","createdAt":"2026-01-03T00:00:00Z"}]"#
                .into(),
        ),
        ("GET", "/api/settings.getDokployVersion") => (200, r#""v0.30.2""#.into()),
        _ => (404, r#"{"message":"Not found","code":"NOT_FOUND"}"#.into()),
    })
    .await;
    let key = unique_key("shape");
    let c = client_for(&srv.base, &key);
    c.deploy(TargetCategory::Application, "app 1&x", "t1", "d")
        .await
        .unwrap();
    let d = c
        .find_deployment(TargetCategory::Application, "app 1&x", "t1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.id, "new");
    assert_eq!(d.status, crate::model::DeploymentStatus::Running);
    assert!(
        c.find_deployment(TargetCategory::Application, "app 1&x", "nope")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(c.version().await.unwrap(), "v0.30.2");
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "POST");
    assert!(
        seen[0]
            .2
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert!(seen[0].2.contains(&format!("x-api-key: {key}")));
    assert_eq!(seen[1].1, "/api/deployment.all?applicationId=app+1%26x");
    // 404 on delete is "already gone".
    c.delete_domain("gone").await.unwrap();
    c.delete_application("gone").await.unwrap();
}

#[tokio::test]
async fn the_api_key_and_request_secrets_never_reach_an_error() {
    let key = unique_key("echo");
    let key2 = key.clone();
    // A hostile server that echoes everything back, in an error.
    let srv = Responder::start(move |m, _, body| {
        if m == "GET" {
            return (200, r#"{"applicationId":"app","env":"KEEP=1\n"}"#.into());
        }
        (
            400,
            format!("{{\"message\":\"you sent {body} with key {key2}\",\"code\":\"BAD_REQUEST\"}}"),
        )
    })
    .await;
    let c = client_for(&srv.base, &key);
    let creds = RegistryCredentials {
        username: "robot".into(),
        password: crate::SecretString::new("registry-pass-9876"),
        registry_url: None,
    };
    let e = c.set_image("app", "img:1", Some(creds)).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("registry-pass-9876") && !text.contains(&key),
        "{text}"
    );
    let mut set = BTreeMap::new();
    set.insert(
        "DB_PASSWORD".to_owned(),
        crate::SecretString::new("env-secret-4242"),
    );
    let e = c
        .merge_env(TargetCategory::Application, "app", set, BTreeSet::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::BadRequest {
                route: "application.update",
                ..
            }
        ),
        "{e}"
    );
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("env-secret-4242") && !text.contains(&key),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_bodies_do_not_echo_values() {
    let srv = Responder::start(|_, p, _| match p {
        p if p.starts_with("/api/overview.services") => (200, r#"{"not":"a list"}"#.into()),
        p if p.starts_with("/api/overview.domains") => (200, "[]".into()),
        p if p.starts_with("/api/deployment.allCentralized") => (200, "[]".into()),
        _ => (200, r#"{"applicationId":"a","env":12345678}"#.into()),
    })
    .await;
    let c = client_for(&srv.base, &unique_key("malformed"));
    let e = c.observe_org().await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Malformed {
                route: "overview.services",
                ..
            }
        ),
        "{e}"
    );
    let e = c
        .target_detail(TargetCategory::Application, "a")
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e}");
    assert!(!e.to_string().contains("12345678"), "{e}");
}

#[tokio::test]
async fn unreachable_when_nothing_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client_for(&format!("http://{addr}"), &unique_key("unreachable"));
    let e = c.version().await.unwrap_err();
    assert!(matches!(e, ProviderError::Unreachable { .. }), "{e}");
    assert!(!e.to_string().contains("http://"), "{e}");
}

/// D13 (issue 12): a Dokploy that never answers holds a call for the request timeout times the
/// read attempts; a deadline cuts the call at the deadline and sends nothing after it.
#[tokio::test]
async fn a_deadline_abandons_a_hanging_call_and_sends_nothing_after_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    let mut cfg = DokployConfig::new(&base, unique_key("deadline"));
    cfg.request_timeout = Duration::from_secs(30);
    let deadline = Deadline::new();
    cfg.deadline = Some(deadline.clone());
    let c = DokployClient::new(cfg).unwrap();

    deadline.start(Duration::from_millis(300));
    let started = Instant::now();
    let e = c.version().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "abandoned at the deadline, not after {:?}",
        started.elapsed()
    );
    assert!(matches!(e, ProviderError::DeadlinePassed { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "settings.getDokployVersion: no answer before the deadline"
    );
    assert!(e.is_unverifiable() && !e.is_retryable());

    let sent = accepted.load(Ordering::SeqCst);
    let e = c.observe_org().await.unwrap_err();
    assert!(e.to_string().contains("not sent"), "{e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        sent,
        "nothing is sent past the deadline"
    );

    deadline.set(None);
    let e = tokio::time::timeout(Duration::from_millis(200), c.version()).await;
    assert!(e.is_err(), "without a deadline the request timeout applies again");
}

#[tokio::test]
async fn the_deploy_queue_is_read_with_each_jobs_service_and_title() {
    // The row shape of `deployment.queueList` (API-NOTES §8): the service and the title are in
    // `data`; `state` is `waiting` or `active`.
    let srv = Responder::start(|m, p, _| match (m, p) {
        ("GET", "/api/deployment.queueList") => (
            200,
            r#"[{"id":"7","name":"deployments","data":{"applicationId":"app-1","titleLog":"dr-1",
                  "descriptionLog":"","type":"deploy","applicationType":"application","server":false},
                  "timestamp":1790000000000,"state":"waiting","servicePath":{"href":"/x","label":"x"}},
                {"id":"6","data":{"composeId":"cmp-1","titleLog":"Manual deployment",
                  "type":"deploy","applicationType":"compose"},"state":"active"}]"#
                .into(),
        ),
        _ => (404, r#"{"message":"Not found","code":"NOT_FOUND"}"#.into()),
    })
    .await;
    let c = client_for(&srv.base, &unique_key("queue"));
    let jobs = c.deploy_queue().await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].job_id, "7");
    assert_eq!(jobs[0].service_id.as_deref(), Some("app-1"));
    assert_eq!(jobs[0].category, Some(TargetCategory::Application));
    assert_eq!(jobs[0].title.as_deref(), Some("dr-1"));
    assert_eq!(jobs[0].state.as_deref(), Some("waiting"));
    assert_eq!(jobs[1].service_id.as_deref(), Some("cmp-1"));
    assert_eq!(jobs[1].category, Some(TargetCategory::Compose));
    assert_eq!(jobs[1].state.as_deref(), Some("active"));
}

#[tokio::test]
async fn a_queue_row_without_its_id_fails_the_whole_answer() {
    // A queue that cannot be read whole must not pass for an empty one.
    let srv = Responder::start(|_, _, _| {
        (
            200,
            r#"[{"data":{"applicationId":"app-1"},"state":"waiting"}]"#.into(),
        )
    })
    .await;
    let c = client_for(&srv.base, &unique_key("queue-bad"));
    let e = c.deploy_queue().await.unwrap_err();
    assert!(e.to_string().contains("deployment.queueList"), "{e}");
}
