//! The controller's integration tests, as one test binary.
//!
//! One binary instead of one per file: each binary links the whole controller and its
//! dependencies (~100 MB apiece), so sixteen of them cost minutes of linking and gigabytes of
//! disk on a 2-core CI machine. Two suites stay separate binaries on purpose:
//! `tests/fault_secrets.rs` installs a process-wide trace-level log capture, and
//! `tests/e2e_cluster.rs` is run on its own (uncaptured) by `make unit` and `make e2e`.

#[path = "../fault_support/mod.rs"]
mod fault_support;
mod support;

mod artifacts_protected;
mod controller_loop;
mod controller_verifier;
mod demo;
mod drift_check_cli;
mod fault_manifests;
mod fault_provider;
mod history_cli;
mod incidents;
mod lane_claims;
mod lane_controller_loop;
mod lane_controller_verifier;
mod lane_deploy;
mod lane_retry;
mod lane_retry_verifier;
mod lane_shared_observation;
mod leader_election;
mod listing_absence;
mod notifications;
mod notify_destinations;
mod odoo_backup_capture;
mod odoo_bootstrap;
mod odoo_compose;
mod odoo_post_deploy;
mod odoo_verification;
mod ownership_property;
mod plugin_binary;
mod plugin_views;
mod plugin_writes;
mod pr_feedback;
mod preview_controller_verifier;
mod preview_deploys;
mod preview_lifecycle;
mod preview_resync;
mod preview_standalone;
mod promotion_path;
mod rbac;
mod shell_parity;
mod standalone_cli;
mod standalone_load;
mod targets_adoption;
mod webhooks;
