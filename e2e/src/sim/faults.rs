//! Fault injection on the Dokploy API routes.

use std::time::Duration;

use super::Fault;

pub(crate) struct FaultEntry {
    /// A procedure name such as `application.one` (compared case-insensitively), or `*`.
    pub route: String,
    pub fault: Fault,
    /// Calls this fault has let through (for `UnauthorizedAfter`).
    pub hits: u64,
}

impl FaultEntry {
    pub fn matches(&self, route: &str) -> bool {
        self.route == "*" || self.route.eq_ignore_ascii_case(route)
    }
}

/// What the request pipeline must do, after any injected latency.
pub(crate) enum FaultAction {
    Proceed,
    Hold,
    Status(u16),
    Unauthorized,
    Malformed,
}

/// Looks up the faults for one call among `faults`, advancing their counters. Returns the
/// total injected latency and the action to take. The order is: latency, then timeout,
/// status, exhausted key, malformed body.
pub(crate) fn evaluate(faults: &mut [FaultEntry], route: &str) -> (Duration, FaultAction) {
    let mut latency = Duration::ZERO;
    let mut hold = false;
    let mut status = None;
    let mut unauthorized = false;
    let mut malformed = false;
    for entry in faults.iter_mut().filter(|f| f.matches(route)) {
        match entry.fault {
            Fault::Latency(d) => latency += d,
            Fault::Timeout => hold = true,
            Fault::Status(code) => {
                status.get_or_insert(code);
            }
            Fault::UnauthorizedAfter(n) => {
                if entry.hits >= n {
                    unauthorized = true;
                } else {
                    entry.hits += 1;
                }
            }
            Fault::MalformedBody => malformed = true,
            Fault::DeployError => {}
        }
    }
    let action = if hold {
        FaultAction::Hold
    } else if let Some(code) = status {
        FaultAction::Status(code)
    } else if unauthorized {
        FaultAction::Unauthorized
    } else if malformed {
        FaultAction::Malformed
    } else {
        FaultAction::Proceed
    };
    (latency, action)
}
