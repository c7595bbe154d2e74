//! What the prober is asked and what it saw: plain data, so the reconcile core judges
//! probes without an HTTP client. The prober itself (`launchplane::observe::prober`) is I/O.

use launchplane_api::identity::SurfaceObservation;
use std::time::Duration;

/// Which surfaces to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Surfaces {
    pub health_json: bool,
    pub header: bool,
    pub well_known: bool,
}

impl Default for Surfaces {
    fn default() -> Self {
        Surfaces {
            health_json: true,
            header: true,
            well_known: true,
        }
    }
}

/// Where to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTarget {
    /// e.g. `https://shop.example.com` (no trailing slash needed).
    pub base_url: String,
    /// e.g. `/healthz`.
    pub health_path: String,
    pub surfaces: Surfaces,
}

/// What one probe saw.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResult {
    /// The health endpoint's HTTP status, when it answered.
    pub health_status: Option<u16>,
    pub observations: Vec<SurfaceObservation>,
    pub elapsed: Duration,
}

impl ProbeResult {
    /// True when the health endpoint answered 2xx.
    pub fn healthy(&self) -> bool {
        self.health_status.is_some_and(|s| (200..300).contains(&s))
    }
}
