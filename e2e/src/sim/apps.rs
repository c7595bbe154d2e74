//! The "containers": one loopback HTTP app per deployed application (keyed by its id) and per
//! web service of a deployed compose (keyed `composeId/service`), built from the env the
//! service had when it was deployed, plus the ingress that routes by Host header.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::response::Response;
use http::HeaderValue;
use serde_json::{Map, Value, json};

use super::AppBehaviour;
use super::dotenv;
use super::errors::{close_connection, json_response, raw_response};
use super::state::{Kind, RunningApp, Shared, SharedRef, State};

/// The key of the loopback app standing in for one service of a compose.
pub(crate) fn app_key(compose_id: &str, service: &str) -> String {
    format!("{compose_id}/{service}")
}

pub(crate) const IDENTITY_ENV: &str = "LAUNCHPLANE_RUNTIME_IDENTITY_JSON";
pub(crate) const RECORD_ENV: &str = "LAUNCHPLANE_DEPLOYMENT_RECORD_ID";
pub(crate) const DEPLOYMENT_HEADER: &str = "x-launchplane-deployment";
pub(crate) const WELL_KNOWN_PATH: &str = "/.well-known/launchplane-runtime.json";
/// Odoo's company logo route: the apps answer it as an Odoo web service does (an image), so an
/// Odoo lane's logo check has something to find; other drivers never ask.
pub(crate) const ODOO_LOGO_PATH: &str = "/web/binary/company_logo";
/// A 1x1 transparent PNG.
const LOGO_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Accepts connections, but drops them at once while the app's behaviour is `Down` (the
/// client sees the connection closed), so `Down` works without re-binding the port.
struct GatedListener {
    inner: tokio::net::TcpListener,
    shared: SharedRef,
    service_id: String,
}

impl axum::serve::Listener for GatedListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let down = is_down(&self.shared.lock(), &self.service_id);
                    if down {
                        drop(stream);
                        continue;
                    }
                    return (stream, addr);
                }
                Err(err) => {
                    tracing::debug!(%err, "sim app accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn is_down(st: &State, service_id: &str) -> bool {
    matches!(behaviour_of(st, service_id), Some(AppBehaviour::Down))
        || !st.running_apps.contains_key(service_id)
}

/// The behaviour set for an app: under its own key, else (a compose service's app,
/// `composeId/service`) under its compose's id.
fn behaviour_of<'a>(st: &'a State, key: &str) -> Option<&'a AppBehaviour> {
    st.behaviours.get(key).or_else(|| {
        key.split_once('/')
            .and_then(|(compose_id, _)| st.behaviours.get(compose_id))
    })
}

/// Starts the app for `service_id` with `env`, or reconfigures the running one. Must be
/// called with the state lock held (it binds synchronously and spawns the server).
pub(crate) fn start_or_reconfigure(shared: &SharedRef, st: &mut State, service_id: &str, env: String) {
    if let Some(app) = st.running_apps.get_mut(service_id) {
        app.env = env;
        return;
    }
    let _guard = shared.handle.enter();
    // A service started again keeps its address, as a container restarted behind its domain
    // does; a fresh port only when that one was taken meanwhile.
    let bind = |port: u16| {
        std::net::TcpListener::bind(("127.0.0.1", port))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
    };
    let before = st.app_ports.get(service_id).copied();
    let listener = match before.map_or_else(|| bind(0), |p| bind(p).or_else(|_| bind(0))) {
        Ok(l) => l,
        Err(err) => {
            tracing::warn!(%err, service_id, "sim could not bind an app port");
            return;
        }
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(_) => return,
    };
    st.app_ports.insert(service_id.to_string(), port);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    st.running_apps.insert(
        service_id.to_string(),
        RunningApp {
            port,
            env,
            stop: Some(stop_tx),
        },
    );
    let gated = GatedListener {
        inner: listener,
        shared: shared.clone(),
        service_id: service_id.to_string(),
    };
    let router = Router::new()
        .fallback(app_handler)
        .with_state((shared.clone(), service_id.to_string()));
    let mut shutdown = shared.shutdown.subscribe();
    shared.handle.spawn(async move {
        let stop = async move {
            tokio::select! {
                _ = stop_rx => {}
                _ = shutdown.wait_for(|v| *v) => {}
            }
        };
        if let Err(err) = axum::serve(gated, router).with_graceful_shutdown(stop).await {
            tracing::debug!(%err, "sim app server ended");
        }
    });
}

/// Keeps connections alive, as a web app behind Dokploy's Traefik does; a request that reaches
/// an app gone down on a kept-alive connection gets a 502 and the connection closed, so the
/// client's next request meets the gated listener and sees `Down` as a refused connection.
async fn app_handler(AxState((shared, service_id)): AxState<(SharedRef, String)>, req: Request) -> Response {
    render(&shared, &service_id, req.uri().path()).unwrap_or_else(|| close_connection(bad_gateway()))
}

/// What Traefik answers when the app behind a domain is not there.
fn bad_gateway() -> Response {
    raw_response(502, Some("text/plain; charset=utf-8"), "Bad Gateway")
}

/// What the app for `service_id` answers on `path`, or `None` when it is not running or down.
pub(crate) fn render(shared: &Shared, service_id: &str, path: &str) -> Option<Response> {
    let st = shared.lock();
    if is_down(&st, service_id) {
        return None;
    }
    let app = st.running_apps.get(service_id)?;
    let env = dotenv::parse(&app.env);
    let behaviour = behaviour_of(&st, service_id)
        .cloned()
        .unwrap_or(AppBehaviour::Normal);
    drop(st);

    let injected: Option<Value> = env
        .get(IDENTITY_ENV)
        .map(|raw| serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::from(raw.as_str())));
    let mut record_id = env.get(RECORD_ENV).cloned();
    // identity: Some(Ok(value)) to serve a value, Some(Err(text)) to serve malformed text
    let identity: Option<Result<Value, String>> = match behaviour {
        AppBehaviour::Normal | AppBehaviour::Down => injected.map(Ok),
        AppBehaviour::StaleIdentity(payload) => {
            if let Some(id) = payload.get("deploymentRecordId").and_then(Value::as_str) {
                record_id = Some(id.to_string());
            }
            Some(Ok(payload))
        }
        AppBehaviour::MalformedIdentity => Some(Err("{\"product\": \"unterminated".to_string())),
        AppBehaviour::NoIdentity => {
            record_id = None;
            None
        }
    };

    let mut response = if path == ODOO_LOGO_PATH {
        raw_response(200, Some("image/png"), LOGO_PNG)
    } else if path == WELL_KNOWN_PATH {
        match &identity {
            Some(Ok(value)) => json_response(200, value),
            Some(Err(text)) => raw_response(200, Some("application/json"), text.clone()),
            None => raw_response(
                404,
                Some("application/json"),
                r#"{"error":"no runtime identity"}"#,
            ),
        }
    } else {
        let mut body = Map::new();
        body.insert("status".into(), json!("ok"));
        match identity {
            Some(Ok(value)) => {
                body.insert("runtime_identity".into(), value);
            }
            Some(Err(text)) => {
                body.insert("runtime_identity".into(), Value::String(text));
            }
            None => {}
        }
        json_response(200, &Value::Object(body))
    };
    if let Some(id) = record_id
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert(DEPLOYMENT_HEADER, value);
    }
    Some(response)
}

/// The ingress: routes by Host header (port stripped) to the app owning that domain.
pub(crate) async fn ingress_handler(AxState(shared): AxState<SharedRef>, req: Request) -> Response {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(strip_port)
        .unwrap_or_default();
    let target = shared.lock().service_for_host(&host);
    // Traefik keeps client connections alive whatever the backend answers.
    let key = match target {
        None => return raw_response(404, Some("text/plain; charset=utf-8"), "404 page not found\n"),
        Some((Kind::Application, id, _)) => id,
        // A compose domain routes to one service of the compose; without one it has no backend.
        Some((Kind::Compose, id, Some(service))) => app_key(&id, &service),
        Some((Kind::Compose, _, None)) => return bad_gateway(),
    };
    render(&shared, &key, req.uri().path()).unwrap_or_else(bad_gateway)
}

fn strip_port(host: &str) -> String {
    let host = host.trim();
    let without = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    without.to_ascii_lowercase()
}

pub(crate) fn ingress_router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(ingress_handler).with_state(shared)
}
