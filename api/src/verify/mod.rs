//! Pure verification: desired state + an observation → verdict, reason and field mismatches.
//!
//! Observations here are provider-neutral: the controller converts what the provider
//! client returned into these types, so this crate knows neither Dokploy nor HTTP.

pub mod target;
