//! The demo scenario, shared by `make demo` (examples/demo) and its test (tests/integration/demo.rs).
//!
//! It starts the Dokploy simulator seeded with the applications docs/examples/ names, points
//! a copy of docs/examples/ at it, and runs the real `launchplane reconcile` binary three
//! times: as declared (the shop-testing lane deploys its artifact, injecting the runtime
//! identity, and verifies it; shop-prod is verified from the deployment record given as
//! evidence), after out-of-band drift, and during an injected outage. Every step's verdicts
//! are read back from the state folder, so the caller can check that each verdict showed up.

use anyhow::{Context, Result, bail};
use launchplane_api::identity::{RuntimeIdentityPayload, identity_env};
use launchplane_e2e::sim::{AppBehaviour, DokploySim, Fault, OutOfBandEdit, SeedApplication, SimConfig};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const TESTING_ID: &str = "app-7Hq2xK9mTzL4";
const PROD_ID: &str = "app-Vb81NcQe5sRw";
const IMAGE: &str =
    "ghcr.io/acme/shop@sha256:0fc1689bcf85da10378cbb9b92a3600e9433b3b9b496af787f8f15caeec385cf";
const COMMIT: &str = "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";

/// What one step printed and the verdicts it left in the state folder.
pub struct Step {
    pub title: &'static str,
    pub exit_code: i32,
    pub output: String,
    pub verdicts: BTreeSet<String>,
}

fn identity(context: &str) -> RuntimeIdentityPayload {
    RuntimeIdentityPayload {
        product: Some("shop".into()),
        context: Some(context.into()),
        environment_kind: Some("stable".into()),
        deployment_record_id: Some(format!("shop-{context}-3f2a9c1-a1b2c3d4e5f6")),
        artifact_id: Some("shop-3f2a9c1".into()),
        source_git_ref: Some(COMMIT.into()),
        image_reference: Some(IMAGE.into()),
        ..Default::default()
    }
}

/// A dotenv body: the app's own settings plus the identity keys a deploy would inject.
fn env_with_identity(context: &str) -> String {
    let mut lines = vec![
        "SHOP_CURRENCY=EUR".to_string(),
        "SHOP_SESSION_SECRET=demo-only-secret".to_string(),
    ];
    lines.extend(
        identity_env(&identity(context))
            .into_iter()
            .map(|(k, v)| format!("{k}='{v}'")),
    );
    lines.join("\n")
}

fn app(id: &str, name: &str, env: String, domains: &[&str]) -> SeedApplication {
    SeedApplication {
        id: Some(id.into()),
        name: name.into(),
        docker_image: Some(IMAGE.into()),
        env: Some(env),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        deployed: true,
        description: None,
    }
}

/// The app's own settings only: no identity yet, so the lane has to deploy it.
const TESTING_ENV: &str = "SHOP_CURRENCY=EUR\nSHOP_SESSION_SECRET=demo-only-secret\nAPP_ENV=testing";

/// Copy docs/examples into `dir`, pointed at the simulator.
fn render_examples(
    examples: &Path,
    dir: &Path,
    dokploy_url: &str,
    shop_url: &str,
    testing_url: &str,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples)
        .with_context(|| format!("reading {}", examples.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)?
            .replace("https://dokploy.example.com", dokploy_url)
            .replace("https://testing.shop.example.com", testing_url)
            .replace("https://shop.example.com", shop_url);
        let name = file.file_name().context("a file name")?;
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// The verdicts of what was observed: every status in the state folder except Artifacts (their
/// verdict judges the manifest, not Dokploy), DeploymentRecords and Promotions (history: a past
/// attempt's or promotion's verdict is not a claim about now), and BackupGates and Approvals
/// (evidence written by people and workflows, not observed in Dokploy).
fn verdicts(state: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![state.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            let skipped = path.file_name().is_some_and(|n| {
                [
                    "artifact",
                    "deploymentrecord",
                    "promotion",
                    "backupgate",
                    "approval",
                ]
                .iter()
                .any(|k| n == *k)
            });
            if path.is_dir() && !skipped {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let status: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
                if let Some(v) = status["verdict"].as_str() {
                    out.insert(v.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// Run the whole scenario; `work` is emptied and reused.
pub fn run(launchplane: &Path, examples: &Path, work: &Path) -> Result<Vec<Step>> {
    if work.exists() {
        std::fs::remove_dir_all(work).with_context(|| format!("clearing {}", work.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sim = runtime.block_on(DokploySim::start(SimConfig::default()))?;
    let (project, _production) = sim.seed_project("shop");
    let testing_env = sim
        .seed_environment(&project, "testing")
        .context("testing environment")?;
    let production_env = _production;
    sim.seed_application(
        &testing_env,
        app(
            TESTING_ID,
            "shop-testing",
            TESTING_ENV.to_string(),
            &["testing.shop.example.com"],
        ),
    )
    .context("seeding shop-testing")?;
    sim.seed_application(
        &production_env,
        app(
            PROD_ID,
            "shop-prod",
            env_with_identity("prod"),
            &["shop.example.com", "www.shop.example.com"],
        ),
    )
    .context("seeding shop-prod")?;
    let shop_url = sim.app_url(PROD_ID).context("shop-prod serves")?;
    let testing_url = sim.app_url(TESTING_ID).context("shop-testing serves")?;

    let manifests = work.join("manifests");
    let state = work.join("state");
    render_examples(examples, &manifests, &sim.base_url(), &shop_url, &testing_url)?;

    let reconcile = |title: &'static str| -> Result<Step> {
        let out = Command::new(launchplane)
            .args(["reconcile", "--once", "-f"])
            .arg(&manifests)
            .arg("--state")
            .arg(&state)
            .env("LAUNCHPLANE_API_KEY_DOKPLOY_MAIN", sim.api_key())
            .output()
            .with_context(|| format!("running {}", launchplane.display()))?;
        let Some(exit_code) = out.status.code() else {
            bail!("launchplane reconcile was killed by a signal");
        };
        if exit_code == 2 {
            bail!(
                "launchplane reconcile refused the demo manifests:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(Step {
            title,
            exit_code,
            output: String::from_utf8_lossy(&out.stdout).into_owned(),
            verdicts: verdicts(&state)?,
        })
    };

    let mut steps = vec![reconcile(
        "1. As declared: the shop-testing lane deploys artifact shop-3f2a9c1 (intent record first, image \
         by digest, identity and lane env merged into the app's env, deploy titled with the record id) \
         and verifies the identity; shop-prod is verified from its deployment record; the preview \
         template does not exist in Dokploy",
    )?];

    let testing_env = sim
        .application_env(TESTING_ID)
        .context("shop-testing env")?
        .replace("APP_ENV=testing", "APP_ENV=staging");
    sim.edit(
        TESTING_ID,
        OutOfBandEdit {
            name: Some("shop-testing-old".into()),
            env: Some(testing_env),
            ..Default::default()
        },
    );
    sim.edit(
        PROD_ID,
        OutOfBandEdit {
            docker_image: Some("ghcr.io/acme/shop:latest".into()),
            ..Default::default()
        },
    );
    let mut stale = identity("prod");
    stale.artifact_id = Some("shop-2e1d0c9".into());
    stale.deployment_record_id = Some("shop-prod-2e1d0c9-0f9e8d7c6b5a".into());
    sim.set_app_behaviour(
        PROD_ID,
        AppBehaviour::StaleIdentity(serde_json::to_value(&stale)?),
    );
    steps.push(reconcile(
        "2. Out-of-band drift: someone renamed shop-testing and edited its APP_ENV in the Dokploy \
         dashboard (its lane would correct the env, but never touches a target that is not Matched), \
         pointed shop-prod at a moving tag (its lane reports, driftPolicy Report), and the public shop \
         now serves an older artifact",
    )?);

    sim.inject("*", Fault::Status(503));
    steps.push(reconcile(
        "3. Dokploy outage (every API call answers 503): nothing can be verified, so nothing is \
         claimed",
    )?);

    runtime.block_on(sim.shutdown());
    Ok(steps)
}
