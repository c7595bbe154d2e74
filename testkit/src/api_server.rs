//! A fake Kubernetes API server for tests: a [`kube::Client`] whose requests a task answers the
//! way a real API server would for the calls Launchplane makes, keeping objects by path.
//!
//! - `GET` an object or a collection, in a namespace or across all of them (a
//!   `labelSelector=key=value` is honoured);
//! - `POST` a new object (409 when it exists; a uid is assigned) or an Event (201); a
//!   `SelfSubjectReview` names the user [`FakeApiServer::set_user`] set;
//! - `PATCH …/status` writes the status onto the stored object (404 when there is none);
//! - `PATCH` an object (server-side apply) stores the body, keeping a stored status; a JSON
//!   merge patch (`application/merge-patch+json`) is merged into the stored object;
//! - `DELETE` removes it.
//!
//! Every call is recorded ([`FakeApiServer::calls`]); a path can be made to fail
//! ([`FakeApiServer::fail`]); and a hook sees every object a write leaves behind
//! ([`FakeApiServer::on_write`]), so a test can feed it back into a watch or a cache as the real
//! API server's watch would.

use http::{Method, Request, Response};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::client::{Body, Client};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One recorded API call.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub body: Value,
}

type WriteHook = Box<dyn Fn(&str, &Value) + Send + Sync>;

#[derive(Default)]
struct Inner {
    objects: Mutex<BTreeMap<String, Value>>,
    calls: Mutex<Vec<Call>>,
    failures: Mutex<Vec<(String, u16)>>,
    hooks: Mutex<Vec<WriteHook>>,
    uids: Mutex<u64>,
    user: Mutex<Option<String>>,
}

/// The fake API server. Clones share one.
#[derive(Clone, Default)]
pub struct FakeApiServer {
    inner: Arc<Inner>,
}

/// The API path of the namespaced object `namespace/name` of kind `K`.
pub fn path_of<K: Resource<DynamicType = ()>>(namespace: &str, name: &str) -> String {
    format!("{}/{name}", collection_of::<K>(namespace))
}

/// The API path of kind `K`'s collection in `namespace`.
pub fn collection_of<K: Resource<DynamicType = ()>>(namespace: &str) -> String {
    let group = K::group(&());
    let version = K::version(&());
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    format!("{prefix}/namespaces/{namespace}/{}", K::plural(&()))
}

/// Whether `path` names a collection (`…/namespaces/{ns}/{plural}` or `…/{plural}`) rather
/// than one object.
fn is_collection(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    // "", "api", version | "", "apis", group, version
    let base = if path.starts_with("/api/") { 3 } else { 4 };
    let rest = parts.get(base..).unwrap_or_default();
    rest.len() == 1 || (rest.len() == 3 && rest[0] == "namespaces")
}

/// For a collection across all namespaces (`/apis/{group}/{version}/{plural}`): its base and
/// plural.
fn all_namespaces(path: &str) -> Option<(&str, &str)> {
    let (base, plural) = path.rsplit_once('/')?;
    let depth = if path.starts_with("/api/") { 3 } else { 4 };
    (path.split('/').count() == depth + 1 && !base.contains("/namespaces")).then_some((base, plural))
}

/// Whether `key` is an object `{base}/namespaces/{ns}/{plural}/{name}`.
fn in_some_namespace(key: &str, base: &str, plural: &str) -> bool {
    let Some(rest) = key
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix("/namespaces/"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    parts.len() == 3 && parts[1] == plural
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
           "message": format!("{reason} (fake API server)"), "code": code})
}

impl FakeApiServer {
    pub fn new() -> Self {
        FakeApiServer::default()
    }

    /// A client whose every request this server answers (on a task of the current runtime).
    pub fn client(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let me = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let method = request.method().clone();
                let path = request.uri().path().to_string();
                let query = request.uri().query().unwrap_or_default().to_string();
                let merge = request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(b"application/merge-patch+json"));
                let bytes = request.into_body().collect_bytes().await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let (code, answer) = me.answer(&method, &path, &query, body, merge);
                let response = Response::builder()
                    .status(code)
                    .body(Body::from(serde_json::to_vec(&answer).unwrap_or_default()));
                if let Ok(response) = response {
                    send.send_response(response);
                }
            }
        });
        Client::new(service, "default")
    }

    /// Store `object` at its path (as if created before the test).
    pub fn put<K: Resource<DynamicType = ()> + Serialize>(&self, object: &K) {
        let meta = object.meta();
        let path = path_of::<K>(
            meta.namespace.as_deref().unwrap_or("default"),
            meta.name.as_deref().unwrap_or_default(),
        );
        if let Ok(value) = serde_json::to_value(object) {
            self.lock_objects().insert(path, value);
        }
    }

    /// Store a Secret with `data`.
    pub fn put_secret(&self, namespace: &str, name: &str, data: &[(&str, &[u8])]) {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.metadata.namespace = Some(namespace.into());
        secret.data = Some(
            data.iter()
                .map(|(k, v)| ((*k).to_string(), ByteString(v.to_vec())))
                .collect(),
        );
        self.put(&secret);
    }

    /// Answer every request whose path ends with `suffix` with `code`.
    pub fn fail(&self, suffix: &str, code: u16) {
        self.lock(&self.inner.failures).push((suffix.to_string(), code));
    }

    /// Call `hook` with the path and the stored object after every write (create, status,
    /// apply), as a watch would deliver it.
    pub fn on_write(&self, hook: impl Fn(&str, &Value) + Send + Sync + 'static) {
        self.lock(&self.inner.hooks).push(Box::new(hook));
    }

    /// The user a `SelfSubjectReview` names (as the API server answers `kubectl auth whoami`).
    pub fn set_user(&self, name: &str) {
        *self.lock(&self.inner.user) = Some(name.to_string());
    }

    /// The stored object at `path`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.lock_objects().get(path).cloned()
    }

    /// The stored object `namespace/name` of kind `K`, typed.
    pub fn object<K: Resource<DynamicType = ()> + DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<K> {
        self.get(&path_of::<K>(namespace, name))
            .and_then(|v| serde_json::from_value(v).ok())
    }

    /// Every stored object of kind `K` in `namespace`, typed.
    pub fn objects<K: Resource<DynamicType = ()> + DeserializeOwned>(&self, namespace: &str) -> Vec<K> {
        let prefix = format!("{}/", collection_of::<K>(namespace));
        self.lock_objects()
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, v)| serde_json::from_value(v.clone()).ok())
            .collect()
    }

    /// Every call, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock(&self.inner.calls).clone()
    }

    /// How many `method` calls went to a path ending with `suffix`.
    pub fn count(&self, method: &Method, suffix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.method == *method && c.path.ends_with(suffix))
            .count()
    }

    /// The status last written for `namespace/name` of kind `K`.
    pub fn last_status<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) -> Option<Value> {
        let path = format!("{}/status", path_of::<K>(namespace, name));
        self.calls()
            .into_iter()
            .rev()
            .find(|c| c.method == Method::PATCH && c.path == path)
            .map(|c| c.body["status"].clone())
    }

    fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> std::sync::MutexGuard<'a, T> {
        mutex.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Value>> {
        self.lock(&self.inner.objects)
    }

    fn wrote(&self, path: &str, object: &Value) {
        for hook in self.lock(&self.inner.hooks).iter() {
            hook(path, object);
        }
    }

    fn answer(&self, method: &Method, path: &str, query: &str, body: Value, merge: bool) -> (u16, Value) {
        self.lock(&self.inner.calls).push(Call {
            method: method.clone(),
            path: path.to_string(),
            query: query.to_string(),
            body: body.clone(),
        });
        let failing = self
            .lock(&self.inner.failures)
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix.as_str()))
            .map(|(_, code)| *code);
        if let Some(code) = failing {
            return (code, status(code, "InternalError"));
        }
        if *method == Method::POST && path.ends_with("/events") {
            return (201, body);
        }
        if *method == Method::POST && path == "/apis/authentication.k8s.io/v1/selfsubjectreviews" {
            let mut review = body;
            review["status"] = json!({"userInfo": {"username": *self.lock(&self.inner.user)}});
            return (201, review);
        }
        let (code, answer, written) = self.serve(method, path, query, body, merge);
        if let Some(written) = written {
            let object_path = path.trim_end_matches("/status");
            self.wrote(object_path, &written);
        }
        (code, answer)
    }

    /// The answer, and the object a write left behind.
    fn serve(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        body: Value,
        merge: bool,
    ) -> (u16, Value, Option<Value>) {
        let mut objects = self.lock_objects();
        match *method {
            Method::GET if is_collection(path) => {
                let prefix = format!("{path}/");
                let everywhere = all_namespaces(path);
                let selector = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("labelSelector="))
                    .map(|s| s.replace("%2F", "/").replace("%3D", "="));
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|(k, _)| match &everywhere {
                        Some((base, plural)) => in_some_namespace(k, base, plural),
                        None => k.starts_with(&prefix) && !k[prefix.len()..].contains('/'),
                    })
                    .map(|(_, v)| v.clone())
                    .filter(|v| match selector.as_deref().and_then(|s| s.split_once('=')) {
                        Some((key, value)) => v["metadata"]["labels"][key] == value,
                        None => true,
                    })
                    .collect();
                (
                    200,
                    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                           "items": items}),
                    None,
                )
            }
            Method::GET => match objects.get(path) {
                Some(object) => (200, object.clone(), None),
                None => (404, status(404, "NotFound"), None),
            },
            Method::POST => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default().to_string();
                let key = format!("{path}/{name}");
                if objects.contains_key(&key) {
                    return (409, status(409, "AlreadyExists"), None);
                }
                let mut stored = body;
                let uid = {
                    let mut uids = self.lock(&self.inner.uids);
                    *uids += 1;
                    *uids
                };
                stored["metadata"]["uid"] = format!("uid-{uid}").into();
                stored["metadata"]["resourceVersion"] = "1".into();
                objects.insert(key, stored.clone());
                (201, stored.clone(), Some(stored))
            }
            Method::PATCH if path.ends_with("/status") => {
                let key = path.trim_end_matches("/status");
                let Some(object) = objects.get_mut(key) else {
                    return (404, status(404, "NotFound"), None);
                };
                object["status"] = body["status"].clone();
                let object = object.clone();
                (200, object.clone(), Some(object))
            }
            Method::PATCH if merge => {
                let Some(object) = objects.get_mut(path) else {
                    return (404, status(404, "NotFound"), None);
                };
                merge_into(object, &body);
                let object = object.clone();
                (200, object.clone(), Some(object))
            }
            Method::PATCH => {
                // Server-side apply of an object: its spec, labels and owners; a stored status
                // stays.
                let mut stored = body;
                if let Some(old) = objects.get(path) {
                    if stored.get("status").is_none() && old.get("status").is_some() {
                        stored["status"] = old["status"].clone();
                    }
                    if stored["metadata"]["uid"].is_null() {
                        stored["metadata"]["uid"] = old["metadata"]["uid"].clone();
                    }
                }
                objects.insert(path.to_string(), stored.clone());
                (200, stored.clone(), Some(stored))
            }
            Method::DELETE => match objects.remove(path) {
                Some(object) => (200, object, None),
                None => (404, status(404, "NotFound"), None),
            },
            _ => (405, status(405, "MethodNotAllowed"), None),
        }
    }
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes, anything else replaces.
fn merge_into(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_into(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
