//! The `Provider` trait: what the controller asks of a hosting provider.
//!
//! Object safety: the controller holds providers as `Arc<dyn Provider>` (the Dokploy client in
//! production, fakes in controller tests), and native `async fn` in traits is not dyn-compatible.
//! Rather than add the `async-trait` macro crate, each method returns a
//! [`futures::future::BoxFuture`] — the same thing `async-trait` generates, written out. The
//! futures are `Send`, so they can be spawned on the multi-threaded runtime. Implementors write
//! `Box::pin(async move { … })`; [`DokployClient`] forwards to its inherent `async fn`s, which
//! non-dyn callers can use directly without the box.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;

#[cfg(feature = "client")]
use crate::client::DokployClient;
use crate::errors::Result;
use crate::model::{
    Deployment, EnvChange, EnvironmentSummary, OrgSnapshot, QueuedDeploy, RegistryCredentials,
    TargetCategory, TargetDetail,
};
use crate::secret::SecretValue;

/// Operations on a provider (Dokploy). Every method is one logical operation; reads may retry
/// internally, mutations never do. Errors are [`crate::ProviderError`]s.
pub trait Provider: Send + Sync {
    /// The provider's version string (`settings.getDokployVersion`, e.g. `"v0.30.2"`).
    fn version(&self) -> BoxFuture<'_, Result<String>>;

    /// One org-wide poll: every service, every domain, recent deployments (newest first).
    fn observe_org(&self) -> BoxFuture<'_, Result<OrgSnapshot>>;

    /// Full detail of one target, including its env (as a secret) and image.
    fn target_detail<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
    ) -> BoxFuture<'a, Result<TargetDetail>>;

    /// Every environment of a project, empty ones included (`environment.byProjectId`).
    fn project_environments<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<EnvironmentSummary>>>;

    /// Set the owned env keys and remove `remove`, keeping every other line byte for byte; no
    /// write when nothing changes. See [`crate::env_merge`] for the rules.
    fn merge_env<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
        set: BTreeMap<String, SecretValue>,
        remove: BTreeSet<String>,
    ) -> BoxFuture<'a, Result<EnvChange>>;

    /// Replace an application's description (where Launchplane's ownership marker lives),
    /// changing nothing else.
    fn set_description<'a>(
        &'a self,
        application_id: &'a str,
        description: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// Point an application at an image (and registry credentials, or none for public images).
    fn set_image<'a>(
        &'a self,
        application_id: &'a str,
        image: &'a str,
        registry: Option<RegistryCredentials>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Replace a compose target's file (raw source).
    fn update_compose_file<'a>(
        &'a self,
        compose_id: &'a str,
        compose_file: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// Queue a deploy tagged with `title` (use a unique title to find it again). Never retried.
    fn deploy<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
        title: &'a str,
        description: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// The newest deployment of the target with exactly this title, if it has started.
    fn find_deployment<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
        title: &'a str,
    ) -> BoxFuture<'a, Result<Option<Deployment>>>;

    /// Every deploy job waiting or running in the provider's queue (a queued deploy has no
    /// deployment yet, so [`Provider::find_deployment`] cannot see it).
    fn deploy_queue(&self) -> BoxFuture<'_, Result<Vec<QueuedDeploy>>>;

    /// Create a docker-source application with `description` (where Launchplane's ownership
    /// marker goes); returns its id.
    fn create_application<'a>(
        &'a self,
        environment_id: &'a str,
        name: &'a str,
        app_name: Option<&'a str>,
        description: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>>;

    /// Delete an application; already gone is success.
    fn delete_application<'a>(&'a self, application_id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Attach a domain to an application; returns the domain id.
    fn create_domain<'a>(
        &'a self,
        application_id: &'a str,
        host: &'a str,
        port: u16,
        https: bool,
        path: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>>;

    /// Delete a domain; already gone is success.
    fn delete_domain<'a>(&'a self, domain_id: &'a str) -> BoxFuture<'a, Result<()>>;
}

#[cfg(feature = "client")]
impl Provider for DokployClient {
    fn version(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(DokployClient::version(self))
    }

    fn observe_org(&self) -> BoxFuture<'_, Result<OrgSnapshot>> {
        Box::pin(DokployClient::observe_org(self))
    }

    fn target_detail<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
    ) -> BoxFuture<'a, Result<TargetDetail>> {
        Box::pin(DokployClient::target_detail(self, category, id))
    }

    fn project_environments<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<EnvironmentSummary>>> {
        Box::pin(DokployClient::project_environments(self, project_id))
    }

    fn merge_env<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
        set: BTreeMap<String, SecretValue>,
        remove: BTreeSet<String>,
    ) -> BoxFuture<'a, Result<EnvChange>> {
        Box::pin(DokployClient::merge_env(self, category, id, set, remove))
    }

    fn set_description<'a>(
        &'a self,
        application_id: &'a str,
        description: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::set_description(self, application_id, description))
    }

    fn set_image<'a>(
        &'a self,
        application_id: &'a str,
        image: &'a str,
        registry: Option<RegistryCredentials>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::set_image(self, application_id, image, registry))
    }

    fn update_compose_file<'a>(
        &'a self,
        compose_id: &'a str,
        compose_file: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::update_compose_file(self, compose_id, compose_file))
    }

    fn deploy<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
        title: &'a str,
        description: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::deploy(self, category, id, title, description))
    }

    fn find_deployment<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
        title: &'a str,
    ) -> BoxFuture<'a, Result<Option<Deployment>>> {
        Box::pin(DokployClient::find_deployment(self, category, id, title))
    }

    fn deploy_queue(&self) -> BoxFuture<'_, Result<Vec<QueuedDeploy>>> {
        Box::pin(DokployClient::deploy_queue(self))
    }

    fn create_application<'a>(
        &'a self,
        environment_id: &'a str,
        name: &'a str,
        app_name: Option<&'a str>,
        description: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(DokployClient::create_application(
            self,
            environment_id,
            name,
            app_name,
            description,
        ))
    }

    fn delete_application<'a>(&'a self, application_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::delete_application(self, application_id))
    }

    fn create_domain<'a>(
        &'a self,
        application_id: &'a str,
        host: &'a str,
        port: u16,
        https: bool,
        path: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(DokployClient::create_domain(
            self,
            application_id,
            host,
            port,
            https,
            path,
        ))
    }

    fn delete_domain<'a>(&'a self, domain_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::delete_domain(self, domain_id))
    }
}
