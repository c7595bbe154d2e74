#![recursion_limit = "512"]
//! Launchplane end-to-end support.
//!
//! [`sim`] is an in-process simulator of the Dokploy HTTP API (v0.30.2), used to test the
//! Dokploy provider without a Dokploy server. It is an independent model written from the
//! Dokploy references in `shared/dokploy/`; it does not depend on the provider crate.

//! [`github`] is a GitHub fake (the pulls listing, webhook delivery bodies) written from
//! `shared/github/`; [`discord`] a Discord webhook fake written from `shared/discord/`; [`smtp`]
//! starts a real SMTP server (aiosmtpd, STARTTLS and AUTH required) on loopback.

pub mod discord;
pub mod fixtures;
pub mod github;
pub mod sim;
pub mod smtp;

pub use sim::{
    AppBehaviour, DokploySim, Fault, OutOfBandEdit, RunOutcome, ScheduleRunScript, SeedApplication,
    SeedCompose, SeedDocument, SimConfig,
};
