//! Observation: the shared provider poller and the health/identity prober.

pub mod poller;
pub mod prober;
