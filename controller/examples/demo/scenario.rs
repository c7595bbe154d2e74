//! The demo scenario, shared by `make demo` (examples/demo) and its test (tests/integration/demo.rs).
//!
//! It starts the Dokploy simulator seeded with the applications docs/examples/ names, points
//! a copy of docs/examples/ at it, and runs the real `launchplane reconcile` binary step by
//! step: as declared (the shop-testing lane deploys its artifact, injecting the runtime
//! identity, and verifies it; shop-prod is verified from the deployment record given as
//! evidence; the example Promotion of what prod already runs succeeds without a deploy); the
//! promotion path (a new release deferred by its soak and denied for want of a BackupGate,
//! then denied by the BackupGate gate alone, a BackupGate, the promotion deployed and
//! verified, a rollback verified and holding the lane); after out-of-band drift; and during an
//! injected outage. Every step's verdicts are read back from the state folder, so the caller
//! can check that each verdict showed up.
//!
//! One liberty with docs/examples, said on screen: prod's soak is cut from 1h to
//! [`SOAK_SECONDS`] so the demo can wait it out.

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
/// prod's soak in the demo (docs/examples says 1h).
pub const SOAK_SECONDS: u64 = 8;
/// The next release, built by CI during the demo.
pub const NEXT_ARTIFACT: &str = "shop-4b5c6d7";
const NEXT_ARTIFACT_YAML: &str = r#"# CI built the next release and pushed its image (written by the demo).
apiVersion: launchplane.dev/v1alpha1
kind: Artifact
metadata:
  name: shop-4b5c6d7
spec:
  image:
    repository: ghcr.io/acme/shop
    digest: sha256:4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c
  source:
    repository: github.com/acme/shop
    commit: 4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c
  build:
    builder: github-actions
    buildId: "8812399999"
    createdAt: "2026-11-24T10:02:00Z"
---
# A person promotes it into prod.
apiVersion: launchplane.dev/v1alpha1
kind: Promotion
metadata:
  name: shop-prod-from-testing-4b5c6d7
spec:
  productRef:
    name: shop
  fromLane: shop-testing
  toLane: shop-prod
  artifactRef:
    name: shop-4b5c6d7
  reason: Release 2026.11.4
"#;
/// The rollback a person asks for after the release misbehaves.
pub const ROLLBACK: &str = "shop-prod-rollback-3f2a9c1";
const ROLLBACK_YAML: &str = r#"# Roll prod back to what it ran before (written by the demo).
apiVersion: launchplane.dev/v1alpha1
kind: Promotion
metadata:
  name: shop-prod-rollback-3f2a9c1
spec:
  productRef:
    name: shop
  toLane: shop-prod
  artifactRef:
    name: shop-3f2a9c1
  reason: checkout errors after 2026.11.4
"#;

/// What one step printed and the verdicts it left in the state folder.
pub struct Step {
    pub title: &'static str,
    /// How many rounds the step ran (the last one's output is kept).
    pub rounds: usize,
    pub exit_code: i32,
    pub output: String,
    /// What the step is about, read from the state folder (a Promotion's gates, a hold).
    pub details: Vec<String>,
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

/// A BackupGate of prod taken now, as the backup job writes it.
fn backup_gate_yaml(name: &str) -> String {
    let now = jiff::Timestamp::now();
    format!(
        r#"# The backup job backed prod up and says so (written by the demo).
apiVersion: launchplane.dev/v1alpha1
kind: BackupGate
metadata:
  name: {name}
spec:
  laneRef:
    name: shop-prod
  backupId: {name}
  takenAt: "{now}"
  location: s3://acme-backups/shop/prod/{name}.dump
  result: Passed
  evidence:
    sizeBytes: 734011392
    restoreVerified: true
"#,
        now = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
}

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
            .replace("https://shop.example.com", shop_url)
            .replace("soak: 1h", &format!("soak: {SOAK_SECONDS}s"));
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
            rounds: 1,
            exit_code,
            output: String::from_utf8_lossy(&out.stdout).into_owned(),
            details: Vec::new(),
            verdicts: verdicts(&state)?,
        })
    };

    let mut steps = vec![reconcile(
        "1. As declared: the shop-testing lane deploys artifact shop-3f2a9c1 (intent record first, image \
         by digest, identity and lane env merged into the app's env, deploy titled with the record id) \
         and verifies the identity; shop-prod is verified from its deployment record; the preview \
         template does not exist in Dokploy; the example Promotion into prod succeeds without a \
         deploy, since prod already runs and verifies shop-3f2a9c1",
    )?];

    promotion_steps(&mut steps, &manifests, &state, &reconcile)?;

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
        "6. Out-of-band drift: someone renamed shop-testing and edited its APP_ENV in the Dokploy \
         dashboard (its lane would correct the env, but never touches a target that is not Matched), \
         pointed shop-prod at a moving tag (its lane reports, driftPolicy Report), and the public shop \
         now serves an older artifact",
    )?);

    sim.inject("*", Fault::Status(503));
    steps.push(reconcile(
        "7. Dokploy outage (every API call answers 503): nothing can be verified, so nothing is \
         claimed",
    )?);

    runtime.block_on(sim.shutdown());
    Ok(steps)
}

/// The status the state folder holds for `kind/name` (namespace default), if any.
pub fn status(state: &Path, kind: &str, name: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(state.join(format!("{kind}/default/{name}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

fn phase(state: &Path, promotion: &str) -> Option<String> {
    status(state, "promotion", promotion)?["phase"]
        .as_str()
        .map(str::to_string)
}

/// The answer a Promotion's gate gave (`Allow`, `Deny`, `Defer`), if it was asked.
pub fn gate(state: &Path, promotion: &str, gate: &str) -> Option<String> {
    let status = status(state, "promotion", promotion)?;
    status["gates"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == gate)
        .and_then(|g| g["outcome"].as_str())
        .map(str::to_string)
}

/// Rounds until `done` holds for the state folder (at most `MAX_ROUNDS`, a second apart: a
/// deploy is verified in the round after it finished).
fn until(
    reconcile: &dyn Fn(&'static str) -> Result<Step>,
    state: &Path,
    title: &'static str,
    done: impl Fn(&Path) -> bool,
) -> Result<Step> {
    const MAX_ROUNDS: usize = 8;
    for round in 1..=MAX_ROUNDS {
        let mut step = reconcile(title)?;
        step.rounds = round;
        if done(state) || round == MAX_ROUNDS {
            return Ok(step);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    unreachable!("the loop returns on its last round")
}

fn wait_out_the_soak() {
    std::thread::sleep(std::time::Duration::from_secs(SOAK_SECONDS + 1));
}

/// A Promotion's gates, one line each, as `kubectl get promotion NAME -o yaml` shows them.
fn gates(state: &Path, promotion: &str) -> Vec<String> {
    let Some(status) = status(state, "promotion", promotion) else {
        return vec![format!("Promotion {promotion}: no status yet")];
    };
    let mut lines = vec![format!(
        "Promotion {promotion}: phase {}, status.gates:",
        status["phase"].as_str().unwrap_or("-")
    )];
    for g in status["gates"].as_array().into_iter().flatten() {
        let retry = g["retryAt"]
            .as_str()
            .map(|t| format!(" (asked again at {t})"))
            .unwrap_or_default();
        lines.push(format!(
            "  {:<15} {:<6} {}{retry}",
            g["name"].as_str().unwrap_or("-"),
            g["outcome"].as_str().unwrap_or("-"),
            g["message"].as_str().unwrap_or("-")
        ));
    }
    lines
}

/// What shop-prod wants, runs and is held to.
fn prod_lane(state: &Path) -> Vec<String> {
    let Some(lane) = status(state, "lane", "shop-prod") else {
        return vec!["Lane shop-prod: no status yet".into()];
    };
    let show = |v: &serde_json::Value| serde_json::to_string(v).unwrap_or_default();
    vec![
        format!("Lane shop-prod status.desired:   {}", show(&lane["desired"])),
        format!("Lane shop-prod status.inventory: {}", show(&lane["inventory"])),
        format!("Lane shop-prod status.hold:      {}", show(&lane["hold"])),
        format!(
            "Lane shop-prod status.rollbackCandidates: {}",
            show(&lane["rollbackCandidates"])
        ),
    ]
}

/// The promotion path: soak, BackupGate, deploy and verification, rollback and hold.
fn promotion_steps(
    steps: &mut Vec<Step>,
    manifests: &Path,
    state: &Path,
    reconcile: &dyn Fn(&'static str) -> Result<Step>,
) -> Result<()> {
    const NEXT: &str = "shop-prod-from-testing-4b5c6d7";
    // CI builds the next release and points testing at it (a commit to the GitOps repo); a
    // person promotes it into prod.
    std::fs::write(manifests.join("09-next-release.yaml"), NEXT_ARTIFACT_YAML)?;
    let lanes = manifests.join("05-lanes.yaml");
    let text = std::fs::read_to_string(&lanes)?;
    let moved = text.replacen(
        "  artifactRef:\n    name: shop-3f2a9c1",
        &format!("  artifactRef:\n    name: {NEXT_ARTIFACT}"),
        1,
    );
    if moved == text {
        bail!("docs/examples/05-lanes.yaml no longer names shop-3f2a9c1 as shop-testing's artifact");
    }
    std::fs::write(&lanes, moved)?;
    let mut step = until(
        reconcile,
        state,
        "2. A new release: testing deploys and verifies shop-4b5c6d7, and a person promotes it \
         into prod. The Promotion is Blocked: its Soak gate defers (testing has only just verified \
         it) and its BackupGate gate denies (the only BackupGate is weeks old)",
        |s| {
            gate(s, NEXT, "BackupGate").as_deref() == Some("Deny")
                && gate(s, NEXT, "Soak").as_deref() == Some("Defer")
        },
    )?;
    step.details = gates(state, NEXT);
    steps.push(step);

    wait_out_the_soak();
    let mut step = until(
        reconcile,
        state,
        "3. The soak is over: the Soak gate allows, and the Promotion is still Blocked, by the \
         BackupGate gate alone. Nothing is deployed",
        |s| {
            gate(s, NEXT, "BackupGate").as_deref() == Some("Deny")
                && gate(s, NEXT, "Soak").as_deref() == Some("Allow")
        },
    )?;
    step.details = gates(state, NEXT);
    steps.push(step);

    std::fs::write(
        manifests.join("10-backup-before-release.yaml"),
        backup_gate_yaml("shop-prod-backup-before-4b5c6d7"),
    )?;
    let mut step = until(
        reconcile,
        state,
        "4. The backup job writes a BackupGate: every gate allows, prod deploys shop-4b5c6d7 through \
         its record pipeline (the record names the Promotion, the BackupGate is used up) and the \
         Promotion succeeds only once the app echoes the artifact",
        |s| phase(s, NEXT).as_deref() == Some("Succeeded"),
    )?;
    step.details = gates(state, NEXT);
    step.details.extend(prod_lane(state));
    steps.push(step);

    std::fs::write(manifests.join("11-rollback.yaml"), ROLLBACK_YAML)?;
    std::fs::write(
        manifests.join("12-backup-before-rollback.yaml"),
        backup_gate_yaml("shop-prod-backup-before-rollback"),
    )?;
    let mut step = until(
        reconcile,
        state,
        "5. Rollback: a Promotion with artifactRef shop-3f2a9c1 and no fromLane (prod ran it \
         before, so its RollbackTarget gate allows), after a fresh backup. prod deploys it, the app \
         echoes the older artifact, and the lane is held: no automatic promotion replaces it until \
         a person promotes again",
        |s| {
            phase(s, ROLLBACK).as_deref() == Some("Succeeded")
                && status(s, "lane", "shop-prod").is_some_and(|l| !l["hold"].is_null())
        },
    )?;
    step.details = gates(state, ROLLBACK);
    step.details.extend(prod_lane(state));
    steps.push(step);
    Ok(())
}
