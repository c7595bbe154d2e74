//! `launchplane reconcile`: the reconcilers over a folder of manifests, without a cluster.
//!
//! Exit codes: 0 when every required verdict is Matched, 1 when any is not (a hard failure),
//! 2 when the input is bad (nothing is reconciled then, so a typo never reads as green).

use crate::observe::prober::{Prober, ProberConfig};
use crate::standalone::accepted;
use crate::standalone::engine::Engine;
use crate::standalone::inputs::{self, Inputs, LoadContext};
use crate::standalone::manifests::load_dir;
use crate::standalone::report::{Row, table};
use crate::standalone::state::StateDir;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Exit code: every required verdict Matched.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one required verdict is not Matched.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: the manifests (or the folder) are bad; nothing was reconciled.
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Folder of manifests (searched recursively for .yaml, .yml and .json files).
    #[arg(short = 'f', long = "filename", value_name = "DIR")]
    pub dir: PathBuf,
    /// Reconcile once and exit, instead of watching until interrupted.
    #[arg(long)]
    pub once: bool,
    /// Folder keeping each resource's status between runs (adoptions, transition times).
    #[arg(long, value_name = "DIR", default_value = ".launchplane-state")]
    pub state: PathBuf,
    /// How to print the verdicts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Reconcile Previews too: create, deploy and tear down their Dokploy applications, and
    /// sweep each Product's preview environment. Off by default: previews mutate Dokploy.
    #[arg(long)]
    pub previews: bool,
    /// Probe preview hosts through this base URL (an ingress), sending the preview host as
    /// `Host`, instead of the public preview URL.
    #[arg(long, value_name = "URL", requires = "previews")]
    pub preview_probe_via: Option<String>,
    /// Send the notifications of the folder's NotificationPolicies (GitHub issues, email,
    /// Discord) for the Incidents this run opens, repeats or resolves. Off by default: a
    /// drift check run by hand should not file issues.
    #[arg(long)]
    pub notify: bool,
    /// Seconds one round may take. Past it no Dokploy call is sent, calls still waiting are
    /// abandoned, deploy and preview waits end, and whatever was not compared is Unverifiable
    /// (reason DeadlinePassed); a deploy under way is followed on the next run.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::standalone::engine::DEFAULT_ROUND_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub timeout: u64,
    #[command(flatten)]
    pub feedback: crate::engine::feedback::FeedbackArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

pub fn run(args: ReconcileArgs) -> Result<i32> {
    crate::telemetry::init(crate::telemetry::LogFormat::Plain, "warn");
    let (manifests, mut errors) = load_dir(&args.dir);
    if errors.is_empty() && manifests.is_empty() {
        eprintln!(
            "error: no manifests found in {}; pass a folder holding Launchplane resources (ProviderConfig, \
             ProviderTarget, Product, Artifact, Lane, RuntimeIdentity, …) as YAML",
            args.dir.display()
        );
        return Ok(EXIT_BAD_INPUT);
    }
    let state = StateDir::new(&args.state);
    let variable = |name: &str| std::env::var(name).ok();
    let accepted = |kind: &str, namespace: &str, name: &str| accepted::load(&state, kind, namespace, name);
    let context = LoadContext {
        variable: &variable,
        accepted: &accepted,
    };
    let inputs = match inputs::decode(&manifests, context) {
        Ok(inputs) if errors.is_empty() => inputs,
        Ok(_) => Inputs::default(),
        Err(more) => {
            errors.extend(more);
            Inputs::default()
        }
    };
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "{} problem(s) in {}; nothing was reconciled",
            errors.len(),
            args.dir.display()
        );
        return Ok(EXIT_BAD_INPUT);
    }
    // The folder is accepted as a whole: what the next run's transition rules compare with.
    if let Err(e) = accepted::record(&state, &inputs::kinds_with_transition_rules(), &inputs.accepted) {
        eprintln!(
            "warning: cannot keep the accepted objects in {}: {e}; the next run cannot check that \
             immutable fields stayed unchanged",
            args.state.display()
        );
    }
    for resource in &inputs.not_reconciled {
        eprintln!("note: {resource}: not reconciled in standalone mode yet (valid, skipped)");
    }
    if !args.notify && !inputs.notification_policies.is_empty() {
        eprintln!("note: NotificationPolicies are reported, but nothing is sent without --notify");
    }
    if !args.previews {
        for p in &inputs.previews {
            eprintln!(
                "note: Preview/{}/{}: previews are reconciled only with --previews (valid, skipped)",
                p.metadata.namespace.as_deref().unwrap_or("default"),
                p.metadata.name.as_deref().unwrap_or_default()
            );
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(watch(args, inputs))
}

async fn watch(args: ReconcileArgs, inputs: Inputs) -> Result<i32> {
    launchplane_providers::install_crypto_provider();
    let prober = Prober::new(ProberConfig::default()).context("building the HTTP prober")?;
    let env = Box::new(|name: &str| std::env::var(name).ok());
    let mut engine = Engine::new(prober, StateDir::new(&args.state), env)
        .with_round_timeout(std::time::Duration::from_secs(args.timeout));
    if args.previews {
        engine = engine.with_previews(crate::engine::preview::PreviewSettings {
            probe_via: args.preview_probe_via.clone(),
            ..crate::standalone::engine::standalone_preview_settings()
        });
    }
    if let Some(settings) = args.feedback.settings() {
        engine = engine.with_feedback(settings);
    }
    if args.notify {
        engine = engine.with_notify(crate::engine::deliveries::default_factory());
    }
    let interval = Engine::interval(&inputs);
    let mut last: Option<Vec<Row>> = None;
    loop {
        let rows = engine.round(&inputs).await;
        let code = if rows.iter().any(Row::is_failure) {
            EXIT_FAILURE
        } else {
            EXIT_OK
        };
        if last.as_ref() != Some(&rows) {
            print_rows(&rows, args.output, !args.once)?;
        }
        if args.once {
            return Ok(code);
        }
        last = Some(rows);
        tokio::select! {
            _ = tokio::time::sleep(crate::error_policy::jittered(interval)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(code),
        }
    }
}

fn print_rows(rows: &[Row], output: Output, stamped: bool) -> Result<()> {
    match output {
        Output::Table => {
            if stamped {
                println!("# {}", jiff::Timestamp::now().round(jiff::Unit::Second)?);
            }
            print!("{}", table(rows));
        }
        Output::Json => println!("{}", serde_json::to_string(rows)?),
    }
    Ok(())
}
