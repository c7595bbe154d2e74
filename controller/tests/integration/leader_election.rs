//! Leader election (`k8s::leader`) against an in-memory Lease API server shared by several
//! `kube::Client`s, one per replica.
//!
//! The server implements what kube-lease-manager relies on, as the real API server does:
//! GET; POST with `AlreadyExists`; PUT and merge/strategic patches with `resourceVersion`
//! preconditions (409 `Conflict`); server-side apply with field ownership, so an apply that
//! would take a field another manager owns, with a different value, is a 409 `Conflict`
//! (this is how two candidates for a free Lease cannot both win). It can cut one replica off
//! (every request fails, as when the API server is unreachable from that pod).
//!
//! Each replica's work "mutates" through the server, which checks atomically, at every write,
//! that the writer holds the Lease and that the Lease has not expired. A sampler also checks
//! continuously that at most one replica is working and that it is the holder. Together:
//! two replicas never both lead, and nobody writes on an expired Lease.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use http::{Method, Request, Response, StatusCode};
use jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use launchplane::k8s::context::Shutdown;
use launchplane::k8s::leader::{Elector, LeaderConfig, LeaderError, LossReason};
use launchplane::k8s::permissions;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const NS: &str = "launchplane-system";
const LEASE: &str = "launchplane-controller";

/// Short timings so a test runs in seconds: renewals every 2 s, the holder stops after 3 s
/// without a confirmed renewal (and is gone by 3.5 s), followers wait 4 s.
fn config(identity: &str) -> LeaderConfig {
    LeaderConfig {
        lease_duration: Duration::from_secs(4),
        renew_before: Duration::from_secs(2),
        renew_deadline: Duration::from_secs(3),
        retry_period: Duration::from_millis(200),
        stop_timeout: Duration::from_millis(500),
        ..LeaderConfig::new(NS, identity)
    }
}

// === the in-memory Lease API server ===

#[derive(Default)]
struct Stored {
    object: Value,
    /// spec field -> field managers that own it (server-side apply bookkeeping).
    owners: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Default)]
struct State {
    leases: HashMap<String, Stored>,
    resource_version: u64,
    /// Replicas whose requests fail as if the API server were unreachable.
    partitioned: BTreeSet<String>,
    /// (replica, verb) of every request served.
    verbs: BTreeSet<(String, &'static str)>,
    /// Every mutation a replica's work made: (writer, when).
    writes: Vec<(String, Instant)>,
    violations: Vec<String>,
}

#[derive(Clone, Default)]
struct LeaseServer(Arc<Mutex<State>>);

fn status(code: StatusCode, reason: &str, message: String) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn ok(code: StatusCode, object: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(object).unwrap()))
        .unwrap()
}

fn query(uri: &http::Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.replace("%2F", "/"))
    })
}

impl LeaseServer {
    /// A client for one replica; every request it sends is served by this server.
    fn client(&self, replica: &str) -> Client {
        let server = self.clone();
        let replica = replica.to_string();
        let service = tower::service_fn(move |request: Request<Body>| {
            let server = server.clone();
            let replica = replica.clone();
            async move { server.serve(&replica, request).await }
        });
        Client::new(service, "default")
    }

    fn partition(&self, replica: &str) {
        self.0.lock().unwrap().partitioned.insert(replica.into());
    }

    fn holder(&self) -> Option<String> {
        let state = self.0.lock().unwrap();
        let lease = state.leases.get(LEASE)?;
        lease.object["spec"]["holderIdentity"]
            .as_str()
            .map(str::to_string)
    }

    /// One write by `writer`'s work, checked atomically against the Lease: the writer must be
    /// the holder, and the Lease must not have expired (renewTime + leaseDurationSeconds).
    fn mutate(&self, writer: &str) {
        let mut state = self.0.lock().unwrap();
        let now = Timestamp::now();
        let spec = state
            .leases
            .get(LEASE)
            .map(|l| l.object["spec"].clone())
            .unwrap_or_default();
        let holder = spec["holderIdentity"].as_str().map(str::to_string);
        if holder.as_deref() != Some(writer) {
            let v = format!("{writer} wrote while the Lease was held by {holder:?}");
            state.violations.push(v);
        }
        let renewed: Option<Timestamp> = spec["renewTime"].as_str().and_then(|t| t.parse().ok());
        let duration = spec["leaseDurationSeconds"].as_i64().unwrap_or(0);
        match renewed {
            Some(renewed) if now <= renewed + jiff::SignedDuration::from_secs(duration) => {}
            _ => {
                let v = format!("{writer} wrote on an expired Lease (renewTime {renewed:?}, now {now})");
                state.violations.push(v);
            }
        }
        state.writes.push((writer.into(), Instant::now()));
    }

    async fn serve(&self, replica: &str, request: Request<Body>) -> Result<Response<Body>, std::io::Error> {
        if self.0.lock().unwrap().partitioned.contains(replica) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "partitioned from the API server",
            ));
        }
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        let path = parts.uri.path().to_string();
        let prefix = format!("/apis/coordination.k8s.io/v1/namespaces/{NS}/leases");
        let Some(rest) = path.strip_prefix(&prefix) else {
            return Ok(status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("no route {path}"),
            ));
        };
        let name = rest.trim_start_matches('/').to_string();
        let manager = query(&parts.uri, "fieldManager").unwrap_or_else(|| format!("client-{replica}"));
        let force = query(&parts.uri, "force").as_deref() == Some("true");
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();

        let verb = match parts.method {
            Method::GET => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "other",
        };
        let mut state = self.0.lock().unwrap();
        state.verbs.insert((replica.into(), verb));
        let response = match (parts.method, name.is_empty()) {
            (Method::GET, false) => match state.leases.get(&name) {
                Some(lease) => ok(StatusCode::OK, &lease.object),
                None => not_found(&name),
            },
            (Method::POST, true) => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default().to_string();
                if state.leases.contains_key(&name) {
                    status(
                        StatusCode::CONFLICT,
                        "AlreadyExists",
                        format!("leases.coordination.k8s.io \"{name}\" already exists"),
                    )
                } else {
                    let mut stored = Stored {
                        object: json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                            "metadata": {"name": name, "namespace": NS}, "spec": {}}),
                        ..Stored::default()
                    };
                    update_spec(&mut stored, &body["spec"], &manager);
                    let object = state.store(&name, stored);
                    ok(StatusCode::CREATED, &object)
                }
            }
            (Method::PUT, false) => match state.leases.remove(&name) {
                None => not_found(&name),
                Some(mut stored) => match precondition(&stored, &body) {
                    Err(refusal) => {
                        state.leases.insert(name, stored);
                        refusal.response()
                    }
                    Ok(()) => {
                        // PUT replaces the spec: fields it leaves out are removed.
                        let mut spec = body["spec"].as_object().cloned().unwrap_or_default();
                        for key in stored.object["spec"]
                            .as_object()
                            .cloned()
                            .unwrap_or_default()
                            .keys()
                        {
                            spec.entry(key.clone()).or_insert(Value::Null);
                        }
                        update_spec(&mut stored, &Value::Object(spec), &manager);
                        let object = state.store(&name, stored);
                        ok(StatusCode::OK, &object)
                    }
                },
            },
            (Method::PATCH, false) if content_type == "application/apply-patch+yaml" => {
                let mut stored = state.leases.remove(&name).unwrap_or_else(|| Stored {
                    object: json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": name, "namespace": NS}, "spec": {}}),
                    ..Stored::default()
                });
                match precondition(&stored, &body)
                    .and_then(|()| apply(&mut stored, &body["spec"], &manager, force))
                {
                    Err(refusal) => {
                        if stored.object["metadata"]["resourceVersion"].is_string() {
                            state.leases.insert(name, stored);
                        }
                        refusal.response()
                    }
                    Ok(()) => {
                        let object = state.store(&name, stored);
                        ok(StatusCode::OK, &object)
                    }
                }
            }
            (Method::PATCH, false)
                if content_type == "application/strategic-merge-patch+json"
                    || content_type == "application/merge-patch+json" =>
            {
                match state.leases.remove(&name) {
                    None => not_found(&name),
                    Some(mut stored) => match precondition(&stored, &body) {
                        Err(refusal) => {
                            state.leases.insert(name, stored);
                            refusal.response()
                        }
                        Ok(()) => {
                            update_spec(&mut stored, &body["spec"], &manager);
                            let object = state.store(&name, stored);
                            ok(StatusCode::OK, &object)
                        }
                    },
                }
            }
            (method, _) => status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("{method} {path} ({content_type}) is not served"),
            ),
        };
        Ok(response)
    }
}

impl State {
    /// Store a written Lease under a new resourceVersion and return it.
    fn store(&mut self, name: &str, mut stored: Stored) -> Value {
        self.resource_version += 1;
        stored.object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        let object = stored.object.clone();
        self.leases.insert(name.into(), stored);
        object
    }

    fn set_holder(&mut self, holder: &str) {
        let lease = self.leases.get_mut(LEASE).unwrap();
        lease.object["spec"]["holderIdentity"] = json!(holder);
        lease.object["spec"]["renewTime"] = json!(Timestamp::now().to_string());
        lease
            .owners
            .insert("holderIdentity".into(), BTreeSet::from(["intruder".into()]));
    }
}

/// A write the server refuses: HTTP status, reason, message.
struct Refusal(StatusCode, &'static str, String);

impl Refusal {
    fn response(self) -> Response<Body> {
        status(self.0, self.1, self.2)
    }
}

fn not_found(name: &str) -> Response<Body> {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("leases.coordination.k8s.io \"{name}\" not found"),
    )
}

/// A write that names a resourceVersion only succeeds on that version (optimistic locking).
fn precondition(stored: &Stored, body: &Value) -> Result<(), Refusal> {
    match (
        body["metadata"]["resourceVersion"].as_str(),
        stored.object["metadata"]["resourceVersion"].as_str(),
    ) {
        (Some(wanted), Some(current)) if wanted != current => Err(Refusal(
            StatusCode::CONFLICT,
            "Conflict",
            "Operation cannot be fulfilled on leases.coordination.k8s.io: the object has been modified; \
             please apply your changes to the latest version and try again"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// An update (PUT, merge or strategic patch): null removes a field; a changed field now
/// belongs to `manager` alone, as the API server's managedFields record it.
fn update_spec(stored: &mut Stored, patch: &Value, manager: &str) {
    let Some(patch) = patch.as_object() else { return };
    let spec = spec_mut(stored);
    let mut changed = Vec::new();
    for (key, value) in patch {
        if value.is_null() {
            if spec.remove(key).is_some() {
                changed.push((key.clone(), false));
            }
        } else if spec.get(key) != Some(value) {
            spec.insert(key.clone(), value.clone());
            changed.push((key.clone(), true));
        }
    }
    for (key, present) in changed {
        if present {
            stored.owners.insert(key, BTreeSet::from([manager.to_string()]));
        } else {
            stored.owners.remove(&key);
        }
    }
}

/// Server-side apply: taking a field another manager owns, with a different value, is a
/// conflict unless forced; otherwise the applier owns (or co-owns) every field it applied.
fn apply(stored: &mut Stored, applied: &Value, manager: &str, force: bool) -> Result<(), Refusal> {
    let applied = applied.as_object().cloned().unwrap_or_default();
    let spec = spec_mut(stored).clone();
    let conflicts: Vec<String> = applied
        .iter()
        .filter(|(key, value)| spec.get(*key) != Some(value))
        .flat_map(|(key, _)| {
            stored
                .owners
                .get(key)
                .into_iter()
                .flatten()
                .filter(|owner| *owner != manager)
                .map(move |owner| format!("conflict with \"{owner}\": .spec.{key}"))
        })
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(Refusal(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Apply failed with {} conflict(s): {}",
                conflicts.len(),
                conflicts.join(", ")
            ),
        ));
    }
    for (key, value) in applied {
        let owners = stored.owners.entry(key.clone()).or_default();
        if spec.get(&key) != Some(&value) {
            owners.clear();
        }
        owners.insert(manager.to_string());
        spec_mut(stored).insert(key, value);
    }
    Ok(())
}

fn spec_mut(stored: &mut Stored) -> &mut Map<String, Value> {
    if !stored.object["spec"].is_object() {
        stored.object["spec"] = json!({});
    }
    stored.object["spec"].as_object_mut().unwrap()
}

// === replicas ===

/// One controller replica: an elector whose work writes through the server every 10 ms
/// until stopped, and marks itself in `working` while it runs.
struct Replica {
    stop: Option<oneshot::Sender<()>>,
    led: tokio::task::JoinHandle<Result<Option<()>, LeaderError>>,
}

type Working = Arc<Mutex<BTreeSet<String>>>;

async fn replica(server: &LeaseServer, identity: &str, working: &Working) -> Replica {
    let elector = Elector::new(server.client(identity), config(identity))
        .await
        .unwrap();
    start(server, identity, working, elector)
}

fn start(server: &LeaseServer, identity: &str, working: &Working, elector: Elector) -> Replica {
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown: Shutdown = async move {
        let _ = stopped.await;
    }
    .boxed()
    .shared();
    let (server, identity, working) = (server.clone(), identity.to_string(), working.clone());
    let led = tokio::spawn(elector.lead(shutdown, move |stop: Shutdown| async move {
        let _guard = WorkingGuard::enter(&working, &identity);
        let mut stop = stop;
        loop {
            server.mutate(&identity);
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
    }));
    Replica {
        stop: Some(stop),
        led,
    }
}

/// Marks a replica as working for as long as its work runs, even when the work is dropped.
struct WorkingGuard(Working, String);

impl WorkingGuard {
    fn enter(working: &Working, identity: &str) -> Self {
        working.lock().unwrap().insert(identity.into());
        WorkingGuard(working.clone(), identity.into())
    }
}

impl Drop for WorkingGuard {
    fn drop(&mut self) {
        self.0.lock().unwrap().remove(&self.1);
    }
}

impl Replica {
    async fn shut_down(mut self) -> Result<Option<()>, LeaderError> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.led)
            .await
            .expect("lead() returns after shutdown")
            .unwrap()
    }

    async fn ended(self) -> Result<Option<()>, LeaderError> {
        tokio::time::timeout(Duration::from_secs(15), self.led)
            .await
            .expect("lead() returns")
            .unwrap()
    }
}

/// Checks, every 5 ms until dropped, that at most one replica works and that it is the
/// Lease holder at that instant.
fn sampler(server: &LeaseServer, working: &Working) -> tokio::task::JoinHandle<()> {
    let (server, working) = (server.clone(), working.clone());
    tokio::spawn(async move {
        loop {
            let before = server.holder();
            let now: Vec<String> = working.lock().unwrap().iter().cloned().collect();
            let after = server.holder();
            record(&server, &before, &now, &after);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

/// One sample: at most one replica works, and it holds the Lease.
fn record(server: &LeaseServer, before: &Option<String>, now: &[String], after: &Option<String>) {
    let mut state = server.0.lock().unwrap();
    if now.len() > 1 {
        state
            .violations
            .push(format!("several replicas work at once: {now:?}"));
    }
    // The holder is read twice around the working set, so a handover between the reads is
    // not mistaken for a violation.
    if let [one] = now
        && before == after
        && before.as_deref() != Some(one.as_str())
    {
        state
            .violations
            .push(format!("{one} works while the Lease is held by {before:?}"));
    }
}

async fn eventually(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn working_set(working: &Working) -> Vec<String> {
    working.lock().unwrap().iter().cloned().collect()
}

fn assert_no_violations(server: &LeaseServer) {
    let state = server.0.lock().unwrap();
    assert!(state.violations.is_empty(), "violations: {:#?}", state.violations);
}

/// The writers in the order they wrote, runs collapsed: `[a, b]` means every write of `a`
/// came before every write of `b`.
fn writer_runs(server: &LeaseServer) -> Vec<String> {
    let state = server.0.lock().unwrap();
    let mut runs: Vec<String> = Vec::new();
    for (writer, _) in &state.writes {
        if runs.last() != Some(writer) {
            runs.push(writer.clone());
        }
    }
    runs
}

fn writes_of(server: &LeaseServer, writer: &str) -> Vec<Instant> {
    let state = server.0.lock().unwrap();
    state
        .writes
        .iter()
        .filter(|(w, _)| w == writer)
        .map(|(_, t)| *t)
        .collect()
}

// === the tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_race_one_leads_and_a_follower_takes_over_on_release() {
    let server = LeaseServer::default();
    let working = Working::default();
    let sampler = sampler(&server, &working);

    // All three create-or-get the Lease at once (two of the creates answer AlreadyExists),
    // then race for it.
    let (a, b, c) = tokio::join!(
        replica(&server, "pod-a", &working),
        replica(&server, "pod-b", &working),
        replica(&server, "pod-c", &working),
    );
    let mut replicas = BTreeMap::from([("pod-a", a), ("pod-b", b), ("pod-c", c)]);
    eventually(10, "a leader", || !working_set(&working).is_empty()).await;
    let first = working_set(&working)[0].clone();
    assert_eq!(server.holder().as_deref(), Some(first.as_str()));

    // Over several renewal periods the leader keeps the Lease and nobody else works.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(working_set(&working), vec![first.clone()]);
    assert_eq!(writer_runs(&server), vec![first.clone()]);

    // A follower shut down while following never led and leaves the Lease alone.
    let idle = *replicas.keys().find(|k| **k != first).unwrap();
    let result = replicas.remove(idle).unwrap().shut_down().await;
    assert!(matches!(result, Ok(None)), "{result:?}");
    assert_eq!(server.holder().as_deref(), Some(first.as_str()));

    // The leader shuts down: its work stops and it releases the Lease (no holder at once).
    // The remaining follower takes over no later than the Lease would have expired
    // (kube-lease-manager's follower sleeps until the expiry it last read, then finds the
    // Lease free and takes it without the expired-lease dance).
    let released_at = Instant::now();
    let result = replicas.remove(first.as_str()).unwrap().shut_down().await;
    assert!(matches!(result, Ok(Some(()))), "{result:?}");
    assert_eq!(server.holder(), None, "the leader released the Lease on shutdown");
    let (next, last) = replicas.pop_first().unwrap();
    eventually(10, "the follower leads", || {
        working_set(&working) == vec![next.to_string()]
    })
    .await;
    let took_over = writes_of(&server, next)[0];
    let lease_duration = config(next).lease_duration;
    assert!(
        took_over.duration_since(released_at) <= lease_duration + Duration::from_millis(500),
        "takeover after a release took {:?}, longer than the lease duration",
        took_over.duration_since(released_at)
    );
    assert_eq!(writer_runs(&server), vec![first.clone(), next.to_string()]);

    let result = last.shut_down().await;
    assert!(matches!(result, Ok(Some(()))), "{result:?}");
    assert_eq!(server.holder(), None, "released on shutdown");
    sampler.abort();
    assert_no_violations(&server);

    // The verbs used are exactly the ones permissions.rs declares and the chart grants.
    let declared: BTreeSet<&str> = permissions::LEADER_ELECTION
        .iter()
        .flat_map(|p| p.verbs.iter().copied())
        .collect();
    let used: BTreeSet<&str> = server.0.lock().unwrap().verbs.iter().map(|(_, v)| *v).collect();
    assert_eq!(used, declared);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_cut_off_from_the_api_server_stops_before_the_follower_takes_over() {
    let server = LeaseServer::default();
    let working = Working::default();
    let sampler = sampler(&server, &working);

    let a = replica(&server, "pod-a", &working).await;
    eventually(10, "pod-a leads", || {
        working_set(&working) == vec!["pod-a".to_string()]
    })
    .await;
    let b = replica(&server, "pod-b", &working).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // pod-a can no longer renew. Its election loop keeps believing it leads; the watchdog
    // must stop its work on the renew deadline, before the Lease expires for pod-b.
    let cut = Instant::now();
    server.partition("pod-a");
    let result = a.ended().await;
    let stopped = Instant::now();
    match &result {
        Err(LeaderError::Lost {
            reason: LossReason::RenewDeadline { .. },
            ..
        }) => {}
        other => panic!("expected Lost(RenewDeadline), got {other:?}"),
    }
    assert!(
        stopped.duration_since(cut) < Duration::from_secs(4),
        "stopped {:?} after the cut: later than the lease duration",
        stopped.duration_since(cut)
    );
    let last_a = *writes_of(&server, "pod-a").last().unwrap();

    eventually(15, "pod-b takes over", || {
        working_set(&working) == vec!["pod-b".to_string()]
    })
    .await;
    let first_b = writes_of(&server, "pod-b")[0];
    assert!(first_b > last_a, "pod-b wrote before pod-a's last write");
    assert_eq!(
        writer_runs(&server),
        vec!["pod-a".to_string(), "pod-b".to_string()]
    );

    let result = b.shut_down().await;
    assert!(matches!(result, Ok(Some(()))), "{result:?}");
    sampler.abort();
    assert_no_violations(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_whose_lease_was_taken_stops() {
    let server = LeaseServer::default();
    let working = Working::default();
    let a = replica(&server, "pod-a", &working).await;
    eventually(10, "pod-a leads", || {
        working_set(&working) == vec!["pod-a".to_string()]
    })
    .await;

    // Someone else now holds the Lease (another replica whose clock ran ahead, or a person
    // with kubectl): pod-a must notice on its next check and stop.
    server.0.lock().unwrap().set_holder("intruder");
    let result = a.ended().await;
    match &result {
        Err(LeaderError::Lost { reason, .. }) => assert!(
            matches!(reason, LossReason::HeldBy(Some(h)) if h == "intruder")
                || *reason == LossReason::NotHolder,
            "{reason:?}"
        ),
        other => panic!("expected Lost, got {other:?}"),
    }
    assert!(working_set(&working).is_empty());
    assert_eq!(
        server.holder().as_deref(),
        Some("intruder"),
        "a lost leader does not release"
    );
}

#[tokio::test]
async fn unsafe_timing_is_refused_before_any_api_call() {
    let server = LeaseServer::default();
    let mut bad = config("pod-a");
    bad.stop_timeout = Duration::from_secs(2);
    let result = Elector::new(server.client("pod-a"), bad).await;
    assert!(matches!(result, Err(LeaderError::Config(_))));
    assert!(server.0.lock().unwrap().verbs.is_empty());
}
