//! Fixtures every Launchplane test tier shares: builders for each kind ([`build`]), a fake
//! Kubernetes API server ([`api_server`]), and Dokploy simulator fleets ([`fleet`]).
//!
//! One place for them, so a fixture is written once: the unit tests of the core, the
//! controller's integration tests, the e2e tests and the benchmarks build their objects and
//! worlds here.

pub mod api_server;
pub mod build;
pub mod fleet;

pub use api_server::FakeApiServer;
