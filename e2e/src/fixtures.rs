//! Test data the simulator's own tests and the provider's tests against it share.

use crate::sim::{DokploySim, SeedCompose};

/// A raw compose of Odoo and its database.
pub const ODOO_COMPOSE_FILE: &str = "services:\n  odoo:\n    image: odoo:17\n  db:\n    image: postgres:16\n";

/// An `odoo` + `db` raw compose, deployed, in a new `erp` project, with `erp.test` routed to
/// `odoo` and `env` as its environment. Its id.
pub fn deployed_odoo_compose(sim: &DokploySim, description: Option<&str>, env: &str) -> String {
    let (_, env_id) = sim.seed_project("erp");
    sim.seed_compose(
        &env_id,
        SeedCompose {
            name: "odoo".into(),
            description: description.map(str::to_string),
            compose_file: ODOO_COMPOSE_FILE.into(),
            env: Some(env.to_string()),
            domains: vec!["erp.test".into()],
            service_name: Some("odoo".into()),
            deployed: true,
            ..SeedCompose::default()
        },
    )
    .expect("the simulator seeds a compose into a project it just made")
}
