//! `launchplane targets audit` and `launchplane targets import`: adopting an existing Dokploy
//! estate. Both read one ProviderConfig and its ProviderTargets (from the cluster of
//! `KUBECONFIG`, or from a folder of manifests with `-f`, as standalone mode reads it), then
//! Dokploy through that config; what they conclude is `launchplane_core::adoption`'s.
//!
//! - `audit` lists every Dokploy application and compose service with the ProviderTargets
//!   claiming it, and the ProviderTargets whose target is gone. It writes nothing.
//!   Exit codes: 0 when nothing blocks adoption, 1 when something does, 2 on bad input or when
//!   Dokploy cannot be read whole (no partial answer is ever printed as an answer).
//! - `import` creates a ProviderTarget (Observe, bound by id) for each service nobody claims
//!   that can be told apart and carries no other instance's marker: a dry run by default, the
//!   manifests into a folder with `--out DIR`, or the objects in the cluster with `--apply`.
//!   It creates only: an existing file or object is left as it is. Exit codes: 0 when it did
//!   (or would do) what it could, 2 on bad input, when Dokploy cannot be read whole, or when a
//!   write failed.

mod dokploy;
mod load;
mod render;
mod write;

pub use load::{Env, Loaded};

use crate::engine::providers::{ClientSettings, Registry};
use kube::Client;
use launchplane_api::resources::ProviderTarget;
use launchplane_core::adoption::import::{self, Destination, Selector};
use launchplane_core::adoption::{Audit, audit};
use launchplane_providers::Provider;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::cli::answer::{Answer, EXIT_BAD_INPUT, EXIT_OK};
/// Exit code: something blocks adoption (audit).
pub const EXIT_BLOCKED: i32 = 1;

#[derive(Debug, clap::Args)]
pub struct TargetsArgs {
    #[command(subcommand)]
    pub command: TargetsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TargetsCommand {
    /// List every Dokploy application and compose service with the ProviderTargets claiming
    /// it; exit 1 when anything blocks adoption. Writes nothing.
    Audit(AuditArgs),
    /// Create an Observe ProviderTarget, bound by id, for each service nobody claims (a dry
    /// run unless --out or --apply).
    Import(ImportArgs),
}

/// Where the ProviderConfig and its ProviderTargets are read.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SourceArgs {
    /// The ProviderConfig whose Dokploy to read.
    #[arg(long, value_name = "NAME")]
    pub provider_config: String,
    /// The ProviderConfig's namespace. Default: the kubeconfig context's namespace; `default`
    /// in a folder.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Read the ProviderConfig, its Secret and the ProviderTargets from this folder of
    /// manifests (as `launchplane reconcile -f` does) instead of the cluster; the API key may
    /// come from `LAUNCHPLANE_API_KEY_<CONFIG>`.
    #[arg(short = 'f', long = "filename", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// With -f: the state folder of `launchplane reconcile` (default .launchplane-state), for
    /// the ProviderTargets' adoptions and this folder's instance id. Only read.
    #[arg(long, value_name = "DIR", requires = "dir")]
    pub state: Option<PathBuf>,
    /// This Launchplane instance, as ownership markers name it (the controller's
    /// --instance-id). Default: `launchplane` against a cluster, the state folder's id with -f.
    #[arg(long, env = "LAUNCHPLANE_INSTANCE_ID", value_name = "ID")]
    pub instance_id: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

#[derive(Clone, Debug, Default, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// How to print the audit.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Clone, Debug, Default, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Write one ProviderTarget manifest per service into this folder (a GitOps repo); a file
    /// that exists is left as it is.
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub out: Option<PathBuf>,
    /// Create the ProviderTargets in the cluster (create only: one that exists is left as it is).
    #[arg(long)]
    pub apply: bool,
    /// Only the services of this Dokploy project and environment, e.g. shop/production.
    #[arg(long, value_name = "PROJECT/ENVIRONMENT", value_parser = Selector::parse)]
    pub selector: Option<Selector>,
    /// How to print the import.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub fn run(args: TargetsArgs) -> anyhow::Result<i32> {
    crate::telemetry::init(crate::telemetry::LogFormat::Plain, "warn");
    launchplane_providers::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async {
        let source = match &args.command {
            TargetsCommand::Audit(a) => &a.source,
            TargetsCommand::Import(i) => &i.source,
        };
        if let Some(dir) = &source.dir {
            let env: Arc<Env> = Arc::new(|name: &str| std::env::var(name).ok());
            return match &args.command {
                TargetsCommand::Audit(a) => audit_folder(a, dir, env).await,
                TargetsCommand::Import(i) => import_folder(i, dir, env).await,
            };
        }
        match Client::try_default().await {
            Ok(client) => match &args.command {
                TargetsCommand::Audit(a) => audit_cluster(client, a).await,
                TargetsCommand::Import(i) => import_cluster(client, i).await,
            },
            Err(e) => Answer::bad_input(format!(
                "no Kubernetes configuration ({e}): set KUBECONFIG, or pass -f DIR to read a folder of manifests"
            )),
        }
    });
    print!("{}", answer.stdout);
    eprint!("{}", answer.stderr);
    Ok(answer.code)
}

/// `targets audit` against the cluster `client` talks to.
pub async fn audit_cluster(client: Client, args: &AuditArgs) -> Answer {
    match load::from_cluster(&client, &args.source).await {
        Ok(loaded) => audit_loaded(&loaded, args).await,
        Err(message) => Answer::bad_input(message),
    }
}

/// `targets audit -f DIR`; `env` supplies `LAUNCHPLANE_API_KEY_<CONFIG>`.
pub async fn audit_folder(args: &AuditArgs, dir: &std::path::Path, env: Arc<Env>) -> Answer {
    match load::from_folder(dir, &args.source, env).await {
        Ok(loaded) => audit_loaded(&loaded, args).await,
        Err(message) => Answer::bad_input(message),
    }
}

async fn audit_loaded(loaded: &Loaded, args: &AuditArgs) -> Answer {
    let audit = match audit_of(loaded, &loaded.targets).await {
        Ok(audit) => audit,
        Err(answer) => return answer,
    };
    let code = if audit.blocking() { EXIT_BLOCKED } else { EXIT_OK };
    let stdout = match args.output {
        Output::Table => render::audit_table(loaded, &audit),
        Output::Json => render::audit_json(loaded, &audit),
    };
    Answer {
        stdout,
        stderr: String::new(),
        code,
    }
}

/// Read Dokploy through the loaded config and audit it against `targets`.
async fn audit_of(loaded: &Loaded, targets: &[ProviderTarget]) -> Result<Audit, Answer> {
    let provider = provider(loaded)?;
    let reading = dokploy::read(provider.as_ref())
        .await
        .map_err(|e| Answer::bad_input(format!("cannot read Dokploy at {}: {e}", loaded.config.spec.url)))?;
    audit(&loaded.config, targets, &reading, loaded.instance.as_deref()).map_err(|e| {
        Answer::bad_input(format!(
            "no answer from Dokploy at {}: {e}",
            loaded.config.spec.url
        ))
    })
}

/// The Dokploy client, built as both shells build it from a ProviderConfig.
fn provider(loaded: &Loaded) -> Result<Arc<dyn Provider>, Answer> {
    let registry = Registry::new(ClientSettings::default());
    let key = loaded.key();
    registry
        .slot_for(&key, &loaded.config.spec, loaded.api_key.clone())
        .map_err(|problem| Answer::bad_input(format!("ProviderConfig {key}: {}", problem.message)))?;
    registry
        .provider(&key)
        .ok_or_else(|| Answer::bad_input(format!("ProviderConfig {key}: no Dokploy client was built")))
}

/// `targets import` against the cluster `client` talks to.
pub async fn import_cluster(client: Client, args: &ImportArgs) -> Answer {
    let loaded = match load::from_cluster(&client, &args.source).await {
        Ok(loaded) => loaded,
        Err(message) => return Answer::bad_input(message),
    };
    let mode = if args.apply {
        write::Mode::Apply(client)
    } else {
        match &args.out {
            Some(out) => write::Mode::Out(out.clone()),
            None => write::Mode::DryRun,
        }
    };
    import_loaded(&loaded, args, mode).await
}

/// `targets import -f DIR`; `env` supplies `LAUNCHPLANE_API_KEY_<CONFIG>`.
pub async fn import_folder(args: &ImportArgs, dir: &std::path::Path, env: Arc<Env>) -> Answer {
    if args.apply {
        return Answer::bad_input(
            "--apply creates ProviderTargets in a cluster, and -f reads a folder: pass --out DIR to write \
             the manifests into the folder instead (or leave -f out to read and write the cluster)",
        );
    }
    let loaded = match load::from_folder(dir, &args.source, env).await {
        Ok(loaded) => loaded,
        Err(message) => return Answer::bad_input(message),
    };
    let mode = match &args.out {
        Some(out) => write::Mode::Out(out.clone()),
        None => write::Mode::DryRun,
    };
    import_loaded(&loaded, args, mode).await
}

async fn import_loaded(loaded: &Loaded, args: &ImportArgs, mode: write::Mode) -> Answer {
    // What the output folder holds counts as existing: a second run into the same folder
    // finds every service claimed by the files of the first.
    let mut targets = loaded.targets.clone();
    if let write::Mode::Out(out) = &mode {
        match load::folder_targets(out) {
            Ok(found) => {
                let known: BTreeSet<(Option<String>, Option<String>)> = targets
                    .iter()
                    .map(|t| (t.metadata.namespace.clone(), t.metadata.name.clone()))
                    .collect();
                targets.extend(
                    found.into_iter().filter(|t| {
                        !known.contains(&(t.metadata.namespace.clone(), t.metadata.name.clone()))
                    }),
                );
            }
            Err(message) => return Answer::bad_input(message),
        }
    }
    let audit = match audit_of(loaded, &targets).await {
        Ok(audit) => audit,
        Err(answer) => return answer,
    };
    let taken: BTreeSet<String> = targets
        .iter()
        .filter(|t| t.metadata.namespace.as_deref().unwrap_or("default") == loaded.namespace)
        .filter_map(|t| t.metadata.name.clone())
        .collect();
    let plan = import::plan(
        &audit,
        Destination {
            namespace: &loaded.namespace,
            config: loaded.config.metadata.name.as_deref().unwrap_or_default(),
            taken: &taken,
        },
        args.selector.as_ref(),
    );
    let done = write::perform(plan, &mode).await;
    let stdout = match args.output {
        Output::Table => render::import_table(loaded, &done, &mode),
        Output::Json => render::import_json(loaded, &done, &mode),
    };
    Answer {
        stdout,
        stderr: done
            .error
            .as_ref()
            .map(|e| format!("error: {e}\n"))
            .unwrap_or_default(),
        code: if done.error.is_some() {
            EXIT_BAD_INPUT
        } else {
            EXIT_OK
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, Parser};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["launchplane", "targets"].iter().chain(args))
    }

    #[test]
    fn the_command_lines_it_takes_and_refuses() {
        Cli::command().debug_assert();
        let Command::Targets(targets) =
            parse(&["import", "--provider-config", "d", "--selector", "shop/prod"])
                .unwrap()
                .command
        else {
            panic!("not a targets command");
        };
        let super::TargetsCommand::Import(import) = targets.command else {
            panic!("not an import");
        };
        assert_eq!(import.selector.unwrap().to_string(), "shop/prod");
        assert!(!import.apply && import.out.is_none(), "a dry run by default");

        for refused in [
            &["import", "--provider-config", "d", "--out", "x", "--apply"][..],
            &["import", "--provider-config", "d", "--selector", "shop"],
            &["audit", "--provider-config", "d", "--state", "s"],
            &["audit"],
        ] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
        assert!(
            parse(&[
                "audit",
                "--provider-config",
                "d",
                "-f",
                "dir",
                "--state",
                "s",
                "-o",
                "json"
            ])
            .is_ok()
        );
    }
}
