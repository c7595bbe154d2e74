//! `kubectl launchplane`: the kubectl plugin, for the people who run the products. The same
//! `launchplane` binary: installed (or linked) as `kubectl-launchplane` it takes these
//! commands directly, so kubectl finds it as a plugin; `launchplane kubectl …` reaches the
//! same commands.
//!
//! Every command is a thin client of the cluster API: it reads what the controller wrote,
//! or creates one object (a Promotion, an Approval) for the controller to judge. Each module
//! splits into a pure part (a view or an object from what was read, unit-tested) and its I/O:
//!
//! - [`status`]: what runs where, per lane and preview;
//! - [`diff`]: a lane's three-way comparison, field by field;
//! - `history`: [`crate::cli::history`] over the plugin's connection;
//! - [`promote`]: `promote` and `rollback` (a Promotion each);
//! - [`approve`]: an Approval by the current user;
//! - [`connect`] and [`output`]: the kubectl flags, and how answers print.
//!
//! Exit codes: 0 done; 1 what was named does not exist, or the cluster refused or failed the
//! request; 2 bad input (a flag, a name, the kubeconfig), with what to do about it.

pub mod approve;
pub mod connect;
pub mod diff;
pub mod output;
pub mod promote;
pub mod status;

use crate::cli::answer::Answer;
use crate::cli::history::{self, HistoryArgs};
use crate::cli::targets;
use clap::{CommandFactory, Parser, Subcommand};
use connect::{ClusterFlags, Scope};
use jiff::Timestamp;
use kube::Client;
use kube::api::Api;
use launchplane_api::resources::Lane;
use output::{Format, bad_input, not_found, serialized, unreadable};
use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// The file name under which the binary acts as the plugin.
pub const PLUGIN_NAME: &str = "kubectl-launchplane";

/// Whether the binary was started as `kubectl-launchplane` (argv[0]'s file name: a copy, a
/// hard link or a symbolic link of that name; kubectl starts plugins by their path).
pub fn invoked_as_plugin(argv0: Option<&OsStr>) -> bool {
    argv0
        .and_then(|a| Path::new(a).file_name())
        .and_then(OsStr::to_str)
        .is_some_and(|name| name == PLUGIN_NAME || name == "kubectl-launchplane.exe")
}

/// The command line of `kubectl-launchplane`.
#[derive(Debug, Parser)]
#[command(
    name = PLUGIN_NAME,
    bin_name = "kubectl launchplane",
    version,
    about = "What runs where, and moving it: Launchplane's lanes, previews and promotions, from kubectl."
)]
pub struct KubectlCli {
    #[command(flatten)]
    pub args: PluginArgs,
}

#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    #[command(flatten)]
    pub cluster: ClusterFlags,
    /// How to print: table, json or yaml.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Per lane: the desired, deployed and echoed artifact, verdict, drift, last record, age of
    /// the evidence; per preview: its URL and generation.
    Status(status::StatusArgs),
    /// A lane's three-way comparison, field by field: spec, Dokploy, what the app echoes.
    Diff(diff::DiffArgs),
    /// What ran in a lane, from when to when, by which DeploymentRecord and Promotion.
    History(HistoryCmd),
    /// Promote into a lane what its source lane runs and verifies (creates a Promotion).
    Promote(promote::PromoteArgs),
    /// Roll a lane back to an artifact it ran before (creates a rollback Promotion).
    Rollback(promote::RollbackArgs),
    /// Approve a Promotion as yourself (creates an Approval).
    Approve(approve::ApproveArgs),
    /// Every Dokploy service with the ProviderTargets claiming it (`launchplane targets audit`);
    /// exit 1 when anything blocks adoption. Writes nothing.
    Audit(AuditCmd),
    /// Print a shell completion script.
    Completion(CompletionArgs),
}

#[derive(Clone, Debug, clap::Args)]
pub struct HistoryCmd {
    /// The lane: `NAME` or `lane/NAME`.
    #[arg(value_name = "LANE")]
    pub lane: String,
    /// Only what ran at this instant (RFC 3339, or a time in a named zone).
    #[arg(long, value_name = "TIME", value_parser = history::parse_at)]
    pub at: Option<Timestamp>,
}

#[derive(Clone, Debug, clap::Args)]
pub struct AuditCmd {
    /// The ProviderConfig whose Dokploy to read (in the namespace -n names).
    #[arg(long, value_name = "NAME")]
    pub provider_config: String,
    /// This Launchplane instance, as ownership markers name it (the controller's
    /// --instance-id; default `launchplane`).
    #[arg(long, env = "LAUNCHPLANE_INSTANCE_ID", value_name = "ID")]
    pub instance_id: Option<String>,
}

#[derive(Clone, Debug, clap::Args)]
pub struct CompletionArgs {
    /// bash, zsh or fish (elvish and powershell work too).
    pub shell: clap_complete::Shell,
}

impl PluginCommand {
    fn name(&self) -> &'static str {
        match self {
            PluginCommand::Status(_) => "status",
            PluginCommand::Diff(_) => "diff",
            PluginCommand::History(_) => "history",
            PluginCommand::Promote(_) => "promote",
            PluginCommand::Rollback(_) => "rollback",
            PluginCommand::Approve(_) => "approve",
            PluginCommand::Audit(_) => "audit",
            PluginCommand::Completion(_) => "completion",
        }
    }
}

/// The completion script of `kubectl-launchplane` for `shell`.
pub fn completion(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut KubectlCli::command(), PLUGIN_NAME, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Run the plugin and return the process exit code.
pub fn run(args: PluginArgs) -> anyhow::Result<i32> {
    let colour = args.output == Format::Table
        && output::use_colour(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
    let answer = match &args.command {
        PluginCommand::Completion(c) => Answer {
            stdout: completion(c.shell),
            ..Answer::default()
        },
        _ => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(connected(&args, Timestamp::now(), colour))
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(answer.stdout.as_bytes());
    let _ = stdout.flush();
    eprint!("{}", answer.stderr);
    Ok(answer.code)
}

/// Connect as the flags say, then answer the command.
pub async fn connected(args: &PluginArgs, now: Timestamp, colour: bool) -> Answer {
    let command = args.command.name();
    if args.cluster.all_namespaces && command != "status" {
        return bad_input(format!(
            "-A/--all-namespaces: `{command}` works in one namespace; pass -n NAMESPACE instead"
        ));
    }
    match connect::connect(&args.cluster).await {
        Ok((client, default_namespace)) => {
            let scope = connect::scope(&args.cluster, &default_namespace);
            answer(&client, scope, &args.command, args.output, now, colour).await
        }
        Err(e) => bad_input(e),
    }
}

/// Answer `command` through `client` in `scope`.
pub async fn answer(
    client: &Client,
    scope: Scope,
    command: &PluginCommand,
    format: Format,
    now: Timestamp,
    colour: bool,
) -> Answer {
    let one = |scope: Scope| scope.one(command.name()).map_err(bad_input);
    match command {
        PluginCommand::Status(args) => status::run(client, &scope, args, format, now, colour).await,
        PluginCommand::Diff(args) => diff::run(client, scope, args, format, now, colour).await,
        PluginCommand::History(args) => match one(scope) {
            Ok(ns) => lane_history(client, &ns, args, format, now).await,
            Err(a) => a,
        },
        PluginCommand::Promote(args) => match one(scope) {
            Ok(ns) => promote::promote(client, &ns, args, format).await,
            Err(a) => a,
        },
        PluginCommand::Rollback(args) => match one(scope) {
            Ok(ns) => promote::rollback(client, &ns, args, format).await,
            Err(a) => a,
        },
        PluginCommand::Approve(args) => match one(scope) {
            Ok(ns) => approve::approve(client, &ns, args, format).await,
            Err(a) => a,
        },
        PluginCommand::Audit(args) => match one(scope) {
            Ok(ns) => audit(client, &ns, args, format).await,
            Err(a) => a,
        },
        PluginCommand::Completion(c) => Answer {
            stdout: completion(c.shell),
            ..Answer::default()
        },
    }
}

/// `audit`: `launchplane targets audit` in the plugin's namespace, printed as YAML when asked.
async fn audit(client: &Client, namespace: &str, args: &AuditCmd, format: Format) -> Answer {
    let audit_args = targets::AuditArgs {
        source: targets::SourceArgs {
            provider_config: args.provider_config.clone(),
            namespace: Some(namespace.to_string()),
            instance_id: args.instance_id.clone(),
            ..targets::SourceArgs::default()
        },
        output: match format {
            Format::Table => targets::Output::Table,
            Format::Json | Format::Yaml => targets::Output::Json,
        },
    };
    yaml_if_asked(targets::audit_cluster(client.clone(), &audit_args).await, format)
}

/// `history`: the lane must exist (else not found); the answer is `launchplane history`'s,
/// printed as YAML when asked.
async fn lane_history(
    client: &Client,
    namespace: &str,
    args: &HistoryCmd,
    format: Format,
    now: Timestamp,
) -> Answer {
    let lane = match diff::lane_name(&args.lane, "history") {
        Ok(name) => name,
        Err(e) => return bad_input(e),
    };
    match Api::<Lane>::namespaced(client.clone(), namespace)
        .get_opt(&lane)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            return not_found(format!(
                "lane {lane} not found in namespace {namespace}: `kubectl get lanes -n {namespace}` lists them, \
                 and -n picks another namespace"
            ));
        }
        Err(e) => return unreadable(&format!("lane {namespace}/{lane}"), "get", &e),
    }
    let history_args = HistoryArgs {
        lane,
        namespace: Some(namespace.to_string()),
        at: args.at,
        output: match format {
            Format::Table => history::Output::Table,
            Format::Json | Format::Yaml => history::Output::Json,
        },
        state: None,
    };
    yaml_if_asked(
        history::in_cluster(client.clone(), &history_args, now).await,
        format,
    )
}

/// A command that prints JSON prints YAML when `-o yaml` asked for it.
fn yaml_if_asked(mut answer: Answer, format: Format) -> Answer {
    if format == Format::Yaml
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(&answer.stdout)
    {
        answer.stdout = serialized(Format::Yaml, &value);
    }
    answer
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_the_binary_under_the_plugin_s_name() {
        assert!(invoked_as_plugin(Some(OsStr::new("kubectl-launchplane"))));
        assert!(invoked_as_plugin(Some(OsStr::new(
            "/usr/local/bin/kubectl-launchplane"
        ))));
        assert!(invoked_as_plugin(Some(OsStr::new("kubectl-launchplane.exe"))));
        assert!(!invoked_as_plugin(Some(OsStr::new("/usr/local/bin/launchplane"))));
        assert!(!invoked_as_plugin(Some(OsStr::new("kubectl-launchplane-old"))));
        assert!(!invoked_as_plugin(None));
    }

    #[test]
    fn flags_go_before_or_after_the_command_as_with_kubectl() {
        let a = KubectlCli::try_parse_from(["kubectl-launchplane", "-n", "shop", "status", "-o", "json"])
            .unwrap();
        assert_eq!(a.args.cluster.namespace.as_deref(), Some("shop"));
        assert_eq!(a.args.output, Format::Json);
        let a =
            KubectlCli::try_parse_from(["kubectl-launchplane", "status", "shop", "-A", "--context", "prod"])
                .unwrap();
        assert!(a.args.cluster.all_namespaces);
        assert_eq!(a.args.cluster.context.as_deref(), Some("prod"));
        let PluginCommand::Status(s) = a.args.command else {
            panic!()
        };
        assert_eq!(s.product.as_deref(), Some("shop"));
    }

    #[test]
    fn bad_flags_are_refused_by_name_with_exit_2() {
        let e = KubectlCli::try_parse_from(["kubectl-launchplane", "status", "-o", "wide"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(
            text.contains("--output") && text.contains("table, json, yaml"),
            "{text}"
        );
        let e = KubectlCli::try_parse_from(["kubectl-launchplane", "status", "-n", "a", "-A"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--all-namespaces"), "{e}");
        let e = KubectlCli::try_parse_from(["kubectl-launchplane", "promote", "shop-prod"]).unwrap_err();
        assert!(e.to_string().contains("--from <LANE>"), "{e}");
    }

    #[test]
    fn completions_cover_every_command_in_each_shell() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let script = completion(shell);
            for command in ["status", "diff", "history", "promote", "rollback", "approve"] {
                assert!(script.contains(command), "{shell}: {command}");
            }
            assert!(
                script.contains("kubectl-launchplane") || script.contains("kubectl_launchplane"),
                "{shell}"
            );
        }
    }

    #[test]
    fn the_launchplane_binary_reaches_the_same_commands() {
        let cli = crate::cli::Cli::try_parse_from([
            "launchplane",
            "kubectl",
            "-n",
            "shop",
            "diff",
            "lane/shop-prod",
        ])
        .unwrap();
        let crate::cli::Command::Kubectl(args) = cli.command else {
            panic!()
        };
        assert!(matches!(args.command, PluginCommand::Diff(_)));
    }
}
