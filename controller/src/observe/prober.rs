//! The health and identity prober: one shared HTTP client (timeouts, TLS set up once) and a
//! concurrency bound, so thousands of RuntimeIdentities cost a bounded number of sockets.
//!
//! One probe makes at most two requests, on one connection that it closes at the end: the
//! health path (which yields both the health-JSON surface and the `X-Launchplane-Deployment`
//! header) and the well-known document. Bodies are
//! read up to a cap, so a misbehaving endpoint cannot make the controller buffer megabytes.

use launchplane_api::identity::{
    DEPLOYMENT_HEADER, MAX_BODY_BYTES, Surface, SurfaceObservation, WELL_KNOWN_PATH, parse_deployment_header,
    parse_health_body, parse_well_known,
};
use launchplane_core::probe::{ProbeResult, ProbeTarget};
use launchplane_core::verification::{Answer, HttpAnswer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// One byte over the parsers' limit, so an oversized body is reported as Malformed, not cut
/// into something that might parse.
const MAX_BODY: usize = MAX_BODY_BYTES + 1;

/// Prober settings.
#[derive(Clone, Copy, Debug)]
pub struct ProberConfig {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_concurrent: usize,
}

impl Default for ProberConfig {
    fn default() -> Self {
        ProberConfig {
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_concurrent: 64,
        }
    }
}

/// How long an idle connection to a probed app stays pooled, for the connections a probe
/// could not close itself (HTTP/2, an app that ignores `Connection: close`): shorter than a
/// probe interval, so that a controller probing 10,000 apps does not hold 10,000 idle sockets
/// (file descriptors, buffers, and as many on the apps' side) between probes. Found when the
/// simulator's apps started keeping connections alive: the 10,000-lane benchmark ran out of
/// file descriptors with a 90 s idle timeout.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of a driver check's body is read: its length only has to be known to be non-zero
/// (a logo), so a large image is not buffered whole.
const MAX_CHECK_BODY: usize = 64 * 1024;

/// The shared prober.
#[derive(Clone)]
pub struct Prober {
    client: reqwest::Client,
    /// The same settings, following no redirect: a driver check judges the redirect itself
    /// (the canonical URL must not send a visitor to another host).
    direct: reqwest::Client,
    permits: Arc<Semaphore>,
}

impl Prober {
    pub fn new(config: ProberConfig) -> Result<Self, reqwest::Error> {
        launchplane_providers::install_crypto_provider();
        let builder = || {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.connect_timeout)
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .user_agent(concat!("launchplane/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Prober {
            client: builder()
                .redirect(reqwest::redirect::Policy::limited(3))
                .build()?,
            direct: builder().redirect(reqwest::redirect::Policy::none()).build()?,
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
        })
    }

    /// One GET of a driver check ([`launchplane_core::verification`]): no redirect followed,
    /// the status, `Location` and `Content-Type` headers, and how many body bytes arrived (up
    /// to a cap). `Err` is a short, secret-free reason.
    pub async fn fetch(&self, url: &str) -> Answer {
        let _permit = self.permits.acquire().await.ok();
        let response = self
            .direct
            .get(url)
            .header(reqwest::header::CONNECTION, "close")
            .send()
            .await
            .map_err(describe)?;
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header(reqwest::header::LOCATION);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let status = response.status().as_u16();
        let mut response = response;
        let mut body_len = 0;
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            body_len += chunk.len();
            if body_len >= MAX_CHECK_BODY {
                break;
            }
        }
        Ok(HttpAnswer {
            status,
            location,
            content_type,
            body_len,
        })
    }

    /// Probe every requested surface of `target`.
    pub async fn probe(&self, target: &ProbeTarget) -> ProbeResult {
        self.probe_as(target, None).await
    }

    /// Probe `target`, sending `host` as the `Host` header when given: for reaching a
    /// host-routed ingress at `target.base_url` (a preview's host before its DNS exists, or
    /// the Dokploy simulator's ingress).
    pub async fn probe_as(&self, target: &ProbeTarget, host: Option<&str>) -> ProbeResult {
        let started = Instant::now();
        // The semaphore is never closed, so acquiring cannot fail; stay defensive anyway.
        let _permit = self.permits.acquire().await.ok();
        let base = target.base_url.trim_end_matches('/');
        let mut observations = Vec::new();
        let mut health_status = None;

        if target.surfaces.health_json || target.surfaces.header {
            let path = if target.health_path.starts_with('/') {
                target.health_path.clone()
            } else {
                format!("/{}", target.health_path)
            };
            let last = !target.surfaces.well_known;
            match self.get(&format!("{base}{path}"), host, last).await {
                Ok((status, header, body)) => {
                    health_status = Some(status);
                    let ok = (200..300).contains(&status);
                    if target.surfaces.health_json {
                        let obs = if ok {
                            parse_health_body(&body)
                        } else {
                            SurfaceObservation::unreachable(
                                Surface::HealthBody,
                                format!("health endpoint answered HTTP {status}"),
                            )
                        };
                        observations.push(obs);
                    }
                    if target.surfaces.header {
                        observations.push(parse_deployment_header(header.as_deref()));
                    }
                }
                Err(reason) => {
                    if target.surfaces.health_json {
                        observations.push(SurfaceObservation::unreachable(Surface::HealthBody, &reason));
                    }
                    if target.surfaces.header {
                        observations.push(SurfaceObservation::unreachable(
                            Surface::DeploymentHeader,
                            &reason,
                        ));
                    }
                }
            }
        }
        if target.surfaces.well_known {
            let obs = match self.get(&format!("{base}{WELL_KNOWN_PATH}"), host, true).await {
                Ok((status, _, body)) if (200..300).contains(&status) => parse_well_known(&body),
                Ok((404, _, _)) => SurfaceObservation::Absent {
                    surface: Surface::WellKnown,
                    reason: "the well-known document answered 404".into(),
                },
                Ok((status, _, _)) => SurfaceObservation::unreachable(
                    Surface::WellKnown,
                    format!("well-known document answered HTTP {status}"),
                ),
                Err(reason) => SurfaceObservation::unreachable(Surface::WellKnown, reason),
            };
            observations.push(obs);
        }
        ProbeResult {
            health_status,
            observations,
            elapsed: started.elapsed(),
        }
    }

    /// GET `url`. The last request of a probe asks the app to close the connection: the
    /// probe's requests share one connection, and none stays open between probes, because
    /// a controller probing thousands of apps would otherwise hold one idle socket (and its
    /// buffers, ~20 KB) per app. (Over HTTP/2 the header is dropped and the pool's idle
    /// timeout does the same.)
    async fn get(
        &self,
        url: &str,
        host: Option<&str>,
        last: bool,
    ) -> Result<(u16, Option<String>, Vec<u8>), String> {
        let mut request = self.client.get(url);
        if let Some(host) = host {
            request = request.header(reqwest::header::HOST, host);
        }
        if last {
            request = request.header(reqwest::header::CONNECTION, "close");
        }
        let mut response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get(DEPLOYMENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
        Ok((status, header, body))
    }
}

/// A short, secret-free description of a transport error (no URL query, no body).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_body() || e.is_decode() {
        "response body could not be read".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use launchplane_core::probe::Surfaces;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    #[derive(Default)]
    struct Connections {
        accepted: AtomicUsize,
        closed: AtomicUsize,
        asked_to_close: AtomicUsize,
    }

    /// A keep-alive app that answers every request with a small identity document and counts
    /// the connections it accepted, the requests that asked it to close, and the connections
    /// that ended. With `honour_close` it closes after a request that asked it to.
    async fn counting_app(honour_close: bool) -> (ProbeTarget, Arc<Connections>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Connections::default());
        let shared = counts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let counts = shared.clone();
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    let body = r#"{"status":"ok","runtime_identity":{"product":"shop"}}"#;
                    'requests: loop {
                        let mut close = false;
                        loop {
                            let mut line = String::new();
                            match stream.read_line(&mut line).await {
                                Ok(0) | Err(_) => break 'requests,
                                Ok(_) if line == "\r\n" => break,
                                Ok(_) => close |= line.to_ascii_lowercase().starts_with("connection: close"),
                            }
                        }
                        if close {
                            counts.asked_to_close.fetch_add(1, Ordering::SeqCst);
                        }
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.get_mut().write_all(answer.as_bytes()).await.is_err()
                            || (close && honour_close)
                        {
                            break;
                        }
                    }
                    counts.closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        let target = ProbeTarget {
            base_url: format!("http://{addr}"),
            health_path: "/healthz".into(),
            surfaces: Surfaces::default(),
        };
        assert!(
            target.surfaces.health_json && target.surfaces.well_known,
            "two requests per probe"
        );
        (target, counts)
    }

    /// Waits for `done`, for less than the pool's idle timeout so that the pool cannot be
    /// what satisfied it.
    async fn eventually(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + POOL_IDLE_TIMEOUT / 2;
        while !done() {
            assert!(Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_probe_uses_one_connection_and_leaves_none_open() {
        let (target, counts) = counting_app(true).await;
        let prober = Prober::new(ProberConfig::default()).unwrap();
        for probe in 1..=2 {
            assert_eq!(prober.probe(&target).await.health_status, Some(200));
            assert_eq!(
                counts.accepted.load(Ordering::SeqCst),
                probe,
                "one connection per probe"
            );
            assert_eq!(
                counts.asked_to_close.load(Ordering::SeqCst),
                probe,
                "only the last request asks"
            );
            eventually("the probe's connection ends with the probe", || {
                counts.closed.load(Ordering::SeqCst) == probe
            })
            .await;
        }
    }

    #[tokio::test]
    async fn the_prober_closes_the_connection_itself_when_the_app_keeps_it_open() {
        let (target, counts) = counting_app(false).await;
        let prober = Prober::new(ProberConfig::default()).unwrap();
        prober.probe(&target).await;
        assert_eq!(counts.accepted.load(Ordering::SeqCst), 1);
        eventually(
            "the prober, not the pool's idle timeout, ends the connection",
            || counts.closed.load(Ordering::SeqCst) == 1,
        )
        .await;
    }
}
