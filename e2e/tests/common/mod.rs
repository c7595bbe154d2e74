//! A minimal HTTP/1.1 client over tokio's TcpStream, so the tests see exactly what the
//! simulator writes (status, headers, raw body bytes) with no client library in between.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use launchplane_e2e::{DokploySim, SimConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Sends one request (`Connection: close`) and reads the whole answer.
pub async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Resp> {
    let addr = addr_of(base);
    let mut stream = TcpStream::connect(&addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if let Some(b) = body {
        stream.write_all(b).await?;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..p]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[p + 2..p + 2 + size]);
            rest = &rest[p + 2 + size + 2..];
        }
        body = out;
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

pub async fn start() -> DokploySim {
    start_with(Duration::from_millis(150)).await
}

pub async fn start_with(deploy_duration: Duration) -> DokploySim {
    DokploySim::start(SimConfig {
        deploy_duration,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// GET /api/{proc_and_query} with the valid key.
pub async fn get(sim: &DokploySim, proc_and_query: &str) -> Resp {
    let key = sim.api_key();
    send(
        &sim.base_url(),
        "GET",
        &format!("/api/{proc_and_query}"),
        &[("x-api-key", &key)],
        None,
    )
    .await
    .expect("request")
}

/// POST /api/{proc} with a JSON body and the valid key.
pub async fn post(sim: &DokploySim, procedure: &str, body: &Value) -> Resp {
    let key = sim.api_key();
    let bytes = body.to_string();
    send(
        &sim.base_url(),
        "POST",
        &format!("/api/{procedure}"),
        &[("x-api-key", &key), ("Content-Type", "application/json")],
        Some(bytes.as_bytes()),
    )
    .await
    .expect("request")
}

/// GET on a deployed app or the ingress (optionally with a Host header).
pub async fn get_app(base: &str, path: &str, host: Option<&str>) -> std::io::Result<Resp> {
    match host {
        Some(h) => send(base, "GET", path, &[("Host", h)], None).await,
        None => send(base, "GET", path, &[], None).await,
    }
}

/// Creates a project and a docker application in its production environment.
pub async fn project_and_app(sim: &DokploySim, image: &str) -> (String, String) {
    let created = post(sim, "project.create", &serde_json::json!({"name": "shop"}))
        .await
        .json();
    let env_id = created["environment"]["environmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let app = post(
        sim,
        "application.create",
        &serde_json::json!({"name": "web", "environmentId": env_id, "sourceType": "docker"}),
    )
    .await
    .json();
    let app_id = app["applicationId"].as_str().unwrap().to_string();
    let r = post(
        sim,
        "application.saveDockerProvider",
        &serde_json::json!({"applicationId": app_id, "dockerImage": image, "username": null, "password": null, "registryUrl": null}),
    )
    .await;
    assert_eq!(r.status, 200);
    (env_id, app_id)
}

/// Polls deployment.all until the newest record is no longer running.
pub async fn wait_deploy_finished(sim: &DokploySim, service_id: &str) -> Value {
    for _ in 0..200 {
        let list = sim.deployments(service_id);
        if let Some(first) = list.first()
            && first["status"] != "running"
        {
            return first.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("deploy of {service_id} did not finish");
}
