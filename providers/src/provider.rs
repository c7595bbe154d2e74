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
use std::time::Duration;

use futures::future::BoxFuture;

#[cfg(feature = "client")]
use crate::client::DokployClient;
use crate::errors::Result;
use crate::model::{
    ComposeFileSource, ContainerView, Deployment, EnvChange, EnvironmentSummary, OrgSnapshot, QueuedDeploy,
    RegistryCredentials, TargetCategory, TargetDetail,
};
use crate::notifications::{CustomNotificationSpec, NotificationView};
use crate::schedules::{ComposeScheduleSpec, ScheduleRun, ScheduleRunAnswer, ScheduleView};
use crate::secret::{SecretString, SecretValue};

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

    /// Replace an application's or a compose's description (where Launchplane's ownership
    /// marker lives), changing nothing else.
    fn set_description<'a>(
        &'a self,
        category: TargetCategory,
        id: &'a str,
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

    /// The service names of a compose's file, read from `source`.
    fn compose_services<'a>(
        &'a self,
        compose_id: &'a str,
        source: ComposeFileSource,
    ) -> BoxFuture<'a, Result<Vec<String>>>;

    /// Every container of the compose project `app_name` (the compose's `appName`) on its host
    /// (`server_id`, the target's `serverId`; `None` for the Dokploy host), stopped ones
    /// included (`docker ps -a`). An empty list is not proof there are none: Dokploy answers
    /// `[]` when the command fails.
    fn compose_containers<'a>(
        &'a self,
        app_name: &'a str,
        server_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ContainerView>>>;

    /// Stop one container (`docker container stop`); already stopped is success. Never retried.
    fn stop_container<'a>(
        &'a self,
        container_id: &'a str,
        server_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Start one container again (`docker container start`); already running is success.
    /// Never retried.
    fn start_container<'a>(
        &'a self,
        container_id: &'a str,
        server_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Create a schedule on a compose service; returns it as created. Never retried.
    fn create_schedule<'a>(&'a self, spec: &'a ComposeScheduleSpec) -> BoxFuture<'a, Result<ScheduleView>>;

    /// Make a schedule's columns `spec`'s; returns it as updated. Never retried.
    fn update_schedule<'a>(
        &'a self,
        schedule_id: &'a str,
        spec: &'a ComposeScheduleSpec,
    ) -> BoxFuture<'a, Result<ScheduleView>>;

    /// Delete a schedule (and its runs); already gone is success.
    fn delete_schedule<'a>(&'a self, schedule_id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// One schedule by id, without its runs.
    fn schedule<'a>(&'a self, schedule_id: &'a str) -> BoxFuture<'a, Result<ScheduleView>>;

    /// The schedules of a compose, each with its runs.
    fn compose_schedules<'a>(&'a self, compose_id: &'a str) -> BoxFuture<'a, Result<Vec<ScheduleView>>>;

    /// Run a schedule's command now, waiting up to `wait` for it to end. Never retried; a
    /// transport error leaves the run's fate to [`Provider::schedule_runs`].
    fn run_schedule<'a>(
        &'a self,
        schedule_id: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<ScheduleRunAnswer>>;

    /// A schedule's runs, newest first.
    fn schedule_runs<'a>(&'a self, schedule_id: &'a str) -> BoxFuture<'a, Result<Vec<ScheduleRun>>>;

    /// The last `tail` lines of a deployment's or schedule run's log (a secret: it holds the
    /// command line and its output).
    fn deployment_log<'a>(&'a self, deployment_id: &'a str, tail: u32)
    -> BoxFuture<'a, Result<SecretString>>;

    /// Create a custom notification (deploys and build errors); Dokploy answers with no id.
    /// Never retried.
    fn create_custom_notification<'a>(
        &'a self,
        spec: &'a CustomNotificationSpec,
    ) -> BoxFuture<'a, Result<()>>;

    /// Make notification `notification_id` (custom part `custom_id`) `spec`. Never retried.
    fn update_custom_notification<'a>(
        &'a self,
        notification_id: &'a str,
        custom_id: &'a str,
        spec: &'a CustomNotificationSpec,
    ) -> BoxFuture<'a, Result<()>>;

    /// One notification by id, with its custom part (404 `NotFound` when gone).
    fn notification<'a>(&'a self, notification_id: &'a str) -> BoxFuture<'a, Result<NotificationView>>;

    /// Every notification of the organization.
    fn notifications(&self) -> BoxFuture<'_, Result<Vec<NotificationView>>>;

    /// Remove a notification; already gone is success.
    fn remove_notification<'a>(&'a self, notification_id: &'a str) -> BoxFuture<'a, Result<()>>;
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
        category: TargetCategory,
        id: &'a str,
        description: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::set_description(self, category, id, description))
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

    fn compose_services<'a>(
        &'a self,
        compose_id: &'a str,
        source: ComposeFileSource,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(DokployClient::compose_services(self, compose_id, source))
    }

    fn compose_containers<'a>(
        &'a self,
        app_name: &'a str,
        server_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ContainerView>>> {
        Box::pin(DokployClient::compose_containers(self, app_name, server_id))
    }

    fn stop_container<'a>(
        &'a self,
        container_id: &'a str,
        server_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::stop_container(self, container_id, server_id))
    }

    fn start_container<'a>(
        &'a self,
        container_id: &'a str,
        server_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::start_container(self, container_id, server_id))
    }

    fn create_schedule<'a>(&'a self, spec: &'a ComposeScheduleSpec) -> BoxFuture<'a, Result<ScheduleView>> {
        Box::pin(DokployClient::create_schedule(self, spec))
    }

    fn update_schedule<'a>(
        &'a self,
        schedule_id: &'a str,
        spec: &'a ComposeScheduleSpec,
    ) -> BoxFuture<'a, Result<ScheduleView>> {
        Box::pin(DokployClient::update_schedule(self, schedule_id, spec))
    }

    fn delete_schedule<'a>(&'a self, schedule_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::delete_schedule(self, schedule_id))
    }

    fn schedule<'a>(&'a self, schedule_id: &'a str) -> BoxFuture<'a, Result<ScheduleView>> {
        Box::pin(DokployClient::schedule(self, schedule_id))
    }

    fn compose_schedules<'a>(&'a self, compose_id: &'a str) -> BoxFuture<'a, Result<Vec<ScheduleView>>> {
        Box::pin(DokployClient::compose_schedules(self, compose_id))
    }

    fn run_schedule<'a>(
        &'a self,
        schedule_id: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<ScheduleRunAnswer>> {
        Box::pin(DokployClient::run_schedule(self, schedule_id, wait))
    }

    fn schedule_runs<'a>(&'a self, schedule_id: &'a str) -> BoxFuture<'a, Result<Vec<ScheduleRun>>> {
        Box::pin(DokployClient::schedule_runs(self, schedule_id))
    }

    fn deployment_log<'a>(
        &'a self,
        deployment_id: &'a str,
        tail: u32,
    ) -> BoxFuture<'a, Result<SecretString>> {
        Box::pin(DokployClient::deployment_log(self, deployment_id, tail))
    }

    fn create_custom_notification<'a>(
        &'a self,
        spec: &'a CustomNotificationSpec,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::create_custom_notification(self, spec))
    }

    fn update_custom_notification<'a>(
        &'a self,
        notification_id: &'a str,
        custom_id: &'a str,
        spec: &'a CustomNotificationSpec,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::update_custom_notification(
            self,
            notification_id,
            custom_id,
            spec,
        ))
    }

    fn notification<'a>(&'a self, notification_id: &'a str) -> BoxFuture<'a, Result<NotificationView>> {
        Box::pin(DokployClient::notification(self, notification_id))
    }

    fn notifications(&self) -> BoxFuture<'_, Result<Vec<NotificationView>>> {
        Box::pin(DokployClient::notifications(self))
    }

    fn remove_notification<'a>(&'a self, notification_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(DokployClient::remove_notification(self, notification_id))
    }
}
