//! A preview's steps: what each means (the plan's) and what each does on Dokploy (an
//! [`Action`], performed by the one executor).

use crate::action::Action;
use crate::target::TargetRef;
use launchplane_providers::{SecretString, TargetCategory};
use std::collections::BTreeMap;

/// The one next thing to do for a preview.
#[derive(Clone, Debug, PartialEq)]
pub enum PreviewStep {
    /// Create the preview's application, marked as this Preview's in `description`.
    CreateApplication {
        environment: String,
        name: String,
        description: String,
    },
    /// Persist the status, which records `application` as the preview's (created by this
    /// controller, or created before a crash and found again by its name and marker).
    RecordApplication { application: String },
    /// Attach the preview's domain to its application.
    AddDomain {
        application: String,
        host: String,
        port: u16,
        https: bool,
    },
    /// Point the application at the generation's image, by digest.
    SetImage { application: String, image: String },
    /// Merge the generation's identity and URL keys into the application's env (not secret).
    MergeEnv {
        application: String,
        env: BTreeMap<String, String>,
    },
    /// A deployment titled with the generation id exists already (sent before the phase was
    /// persisted): persist the phase Deploying, send nothing.
    MarkDeploying { application: String },
    /// Persist the phase Deploying, then send the deploy titled `title`.
    Deploy {
        application: String,
        title: String,
        description: String,
    },
    /// No deployment appeared and Dokploy shows nothing under way for the application: persist
    /// the re-send, then send the deploy again, once.
    Resend {
        application: String,
        title: String,
        description: String,
    },
    /// Delete a domain of the preview's application (teardown).
    DeleteDomain { domain: String, host: String },
    /// Delete the preview's application (teardown, sweep).
    DeleteApplication { application: String },
}

impl PreviewStep {
    /// A short name for logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            PreviewStep::CreateApplication { .. } => "CreateApplication",
            PreviewStep::RecordApplication { .. } => "RecordApplication",
            PreviewStep::AddDomain { .. } => "AddDomain",
            PreviewStep::SetImage { .. } => "SetImage",
            PreviewStep::MergeEnv { .. } => "MergeEnv",
            PreviewStep::MarkDeploying { .. } => "MarkDeploying",
            PreviewStep::Deploy { .. } => "Deploy",
            PreviewStep::Resend { .. } => "Resend",
            PreviewStep::DeleteDomain { .. } => "DeleteDomain",
            PreviewStep::DeleteApplication { .. } => "DeleteApplication",
        }
    }

    /// Whether the plan's status is persisted before the step's action (for a step without an
    /// action, persisting it is the step).
    pub fn saves_first(&self) -> bool {
        matches!(
            self,
            PreviewStep::RecordApplication { .. }
                | PreviewStep::MarkDeploying { .. }
                | PreviewStep::Deploy { .. }
                | PreviewStep::Resend { .. }
        )
    }

    /// What the step does on Dokploy, if anything.
    pub fn action(&self) -> Option<Action> {
        let app = |id: &str| TargetRef {
            category: TargetCategory::Application,
            id: id.to_string(),
        };
        Some(match self {
            PreviewStep::CreateApplication {
                environment,
                name,
                description,
            } => Action::CreateApplication {
                environment: environment.clone(),
                name: name.clone(),
                description: description.clone(),
            },
            PreviewStep::RecordApplication { .. } | PreviewStep::MarkDeploying { .. } => return None,
            PreviewStep::AddDomain {
                application,
                host,
                port,
                https,
            } => Action::CreateDomain {
                application: application.clone(),
                host: host.clone(),
                port: *port,
                https: *https,
            },
            PreviewStep::SetImage { application, image } => Action::SetImage {
                target: app(application),
                image: image.clone(),
            },
            PreviewStep::MergeEnv { application, env } => Action::MergeEnv {
                target: app(application),
                env: env
                    .iter()
                    .map(|(k, v)| (k.clone(), SecretString::new(v.clone())))
                    .collect(),
            },
            PreviewStep::Deploy {
                application,
                title,
                description,
            }
            | PreviewStep::Resend {
                application,
                title,
                description,
            } => Action::Deploy {
                target: app(application),
                title: title.clone(),
                description: description.clone(),
            },
            PreviewStep::DeleteDomain { domain, .. } => Action::DeleteDomain {
                domain: domain.clone(),
            },
            PreviewStep::DeleteApplication { application } => Action::DeleteApplication {
                application: application.clone(),
            },
        })
    }
}
