//! `launchplane history`: the real binary over a state folder that real standalone runs wrote
//! against the simulator, and the cluster path against the fake API server.

#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};
use launchplane::cli::history::{HistoryArgs, Output, in_cluster};
use launchplane_api::identity::{RuntimeIdentityPayload, identity_env};
use launchplane_api::resources::{
    DeploymentOrigin, DeploymentPhase, DeploymentRecord, DeploymentRecordSpec, DeploymentRecordStatus, Lane,
    LaneSpec, LocalObjectRef, StepEvidence,
};
use launchplane_core::deployment_record::{ATTEMPT_LABEL, LANE_LABEL};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use launchplane_testkit::api_server::FakeApiServer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output as ProcessOutput};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn history(state: &Path, args: &[&str]) -> ProcessOutput {
    Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .arg("history")
        .args(args)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap()
}

fn json(out: &ProcessOutput) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

const EVIDENCE: &str = "ci-deploy-7";

fn artifact(name: &str, c: char) -> String {
    format!(
        "---\napiVersion: launchplane.dev/v1alpha1\nkind: Artifact\nmetadata: {{name: {name}}}\n\
         spec:\n  image:\n    repository: ghcr.io/acme/shop\n    digest: sha256:{}\n  \
         source:\n    repository: github.com/acme/shop\n    commit: {}\n",
        c.to_string().repeat(64),
        c.to_string().repeat(40)
    )
}

fn target(name: &str, id: &str) -> String {
    format!(
        "---\napiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata: {{name: {name}}}\n\
         spec:\n  providerConfigRef: {{name: dokploy}}\n  targetCategory: application\n  targetId: {id}\n  \
         displayName: {name}\n  managementPolicy: Manage\n"
    )
}

fn lane(name: &str, artifact: &str, url: &str) -> String {
    format!(
        "---\napiVersion: launchplane.dev/v1alpha1\nkind: Lane\nmetadata: {{name: {name}}}\n\
         spec:\n  productRef: {{name: shop}}\n  stage: {name}\n  targetRef: {{name: {name}}}\n  \
         artifactRef: {{name: {artifact}}}\n  runtimeIdentity: {{required: true, baseUrl: \"{url}\"}}\n"
    )
}

/// The identity the prod app was deployed with by a workflow, and the record it reports.
fn evidence_identity() -> RuntimeIdentityPayload {
    RuntimeIdentityPayload {
        product: Some("shop".into()),
        context: Some("prod".into()),
        deployment_record_id: Some(EVIDENCE.into()),
        artifact_id: Some("shop-1".into()),
        ..Default::default()
    }
}

/// The folder: a lane `web` deploying `web_artifact`, and a lane `prod` that was deployed by a
/// workflow and reported with a DeploymentRecord given as evidence.
fn write_folder(dir: &Path, sim: &DokploySim, web_url: &str, prod_url: &str, web_artifact: &str) {
    let mut yaml = format!(
        "apiVersion: launchplane.dev/v1alpha1\nkind: ProviderConfig\nmetadata: {{name: dokploy}}\n\
         spec:\n  url: {}\n  apiKeySecretRef: {{name: dokploy-key, key: api-key}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Product\nmetadata: {{name: shop}}\n\
         spec:\n  displayName: Shop\n  repository: github.com/acme/shop\n  driver: generic-web\n  \
         imageRepository: ghcr.io/acme/shop\n  runtimePort: 8080\n  healthPath: /healthz\n",
        sim.base_url()
    );
    for (name, c) in [("shop-1", 'a'), ("shop-2", 'b'), ("shop-3", 'c')] {
        yaml.push_str(&artifact(name, c));
    }
    yaml.push_str(&target("web", "app-web"));
    yaml.push_str(&target("prod", "app-prod"));
    yaml.push_str(&lane("web", web_artifact, web_url));
    yaml.push_str(&lane("prod", "shop-1", prod_url));
    yaml.push_str(&format!(
        "---\napiVersion: launchplane.dev/v1alpha1\nkind: DeploymentRecord\nmetadata: {{name: {EVIDENCE}}}\n\
         spec:\n  laneRef: {{name: prod}}\n  artifactRef: {{name: shop-1}}\n  targetRef: {{name: prod}}\n  \
         origin: External\n  requestedBy: github-actions/run/7\n  expectedIdentity:\n    \
         product: shop\n    context: prod\n    deploymentRecordId: {EVIDENCE}\n    artifactId: shop-1\n"
    ));
    std::fs::write(dir.join("shop.yaml"), yaml).unwrap();
}

fn reconcile(manifests: &Path, state: &Path, sim: &DokploySim) -> ProcessOutput {
    Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "--once", "-f"])
        .arg(manifests)
        .arg("--state")
        .arg(state)
        .env("LAUNCHPLANE_API_KEY_DOKPLOY", sim.api_key())
        .output()
        .unwrap()
}

fn time(v: &Value) -> Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

/// Four standalone runs: web verifies shop-1, fails to deploy shop-2, verifies shop-3, rolls
/// back to shop-1; prod is verified from a record given as evidence. The history of each, and
/// what ran at chosen instants, read back from the state folder alone.
#[test]
fn history_of_a_state_folder_written_by_standalone_runs() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(DokploySim::start(SimConfig::default())).unwrap();
    let (_, env) = sim.seed_project("shop");
    let prod_env: Vec<String> = identity_env(&evidence_identity())
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    for (id, name, env_body) in [
        ("app-web", "web", None),
        ("app-prod", "prod", Some(prod_env.join("\n"))),
    ] {
        sim.seed_application(
            &env,
            SeedApplication {
                id: Some(id.into()),
                name: name.into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: env_body,
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    }
    let (web_url, prod_url) = (sim.app_url("app-web").unwrap(), sim.app_url("app-prod").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let (manifests, state) = (dir.path().join("m"), dir.path().join("state"));
    std::fs::create_dir(&manifests).unwrap();

    let step = |artifact: &str, fail: bool, code: i32| {
        // Record times are kept to the second: one second apart, each run's are later.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        sim.set_deploy_outcome("app-web", fail);
        write_folder(&manifests, &sim, &web_url, &prod_url, artifact);
        let out = reconcile(&manifests, &state, &sim);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{artifact}: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    };
    let before = Timestamp::now();
    step("shop-1", false, 0);
    step("shop-2", true, 1);
    step("shop-3", false, 0);
    step("shop-1", false, 0);

    let out = history(&state, &["--lane", "web", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let web = json(&out);
    let periods = web["periods"].as_array().unwrap();
    let artifacts: Vec<&str> = periods.iter().map(|p| p["artifact"].as_str().unwrap()).collect();
    assert_eq!(artifacts, ["shop-1", "shop-3", "shop-1"], "{web:#}");
    assert!(periods.iter().all(|p| p["origin"] == "Controller"), "{web:#}");
    assert_eq!(periods[0]["to"], periods[1]["from"]);
    assert_eq!(periods[1]["to"], periods[2]["from"]);
    assert!(periods[2].get("to").is_none(), "the rollback still runs: {web:#}");
    let failed = web["attempts"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{web:#}");
    assert_eq!(
        (failed[0]["artifact"].as_str(), failed[0]["phase"].as_str()),
        (Some("shop-2"), Some("Failed"))
    );
    assert_eq!(web["namespace"], "default");
    // The open period is what the lane's status says it runs, since then.
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("lane/default/web.json")).unwrap()).unwrap();
    assert_eq!(periods[2]["record"], status["inventory"]["deploymentRecord"]);
    assert_eq!(periods[2]["from"], status["inventory"]["since"]);
    assert_eq!(
        periods[0]["image"],
        format!("ghcr.io/acme/shop@sha256:{}", "a".repeat(64))
    );

    // The table, as a person reads it.
    let out = history(&state, &["--lane", "web"]);
    assert_eq!(out.status.code(), Some(0));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("FROM") && lines[0].ends_with("PROMOTION   ORIGIN"),
        "{table}"
    );
    assert!(
        lines[3].contains("<running>") && lines[3].contains("shop-1"),
        "{table}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("STARTED")) && lines.iter().any(|l| l.contains("Failed")),
        "the failed attempt is listed apart: {table}"
    );

    // --at: inside the first period, between the failure and shop-3 (shop-1 still ran), at the
    // start of the rollback, and before anything was verified.
    let at = |t: Timestamp| history(&state, &["--lane", "web", "-o", "json", "--at", &t.to_string()]);
    let first_from = time(&periods[0]["from"]);
    let out = at(time(&periods[1]["from"]) - SignedDuration::from_secs(1));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer = json(&out);
    assert_eq!(
        (answer["answer"].as_str(), answer["period"]["record"].as_str()),
        (Some("Ran"), periods[0]["record"].as_str())
    );
    let out = at(time(&periods[2]["from"]));
    assert_eq!(json(&out)["period"]["record"], periods[2]["record"]);
    let out = at(before.min(first_from - SignedDuration::from_secs(1)));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["answer"], "NothingRan");
    assert!(
        text(&out.stderr).contains("nothing ran in lane default/web at"),
        "{}",
        text(&out.stderr)
    );

    // prod: verified from the evidence given as a manifest, read from the state folder alone.
    let out = history(&state, &["--lane", "prod", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let prod = json(&out);
    assert_eq!(prod["periods"][0]["record"], EVIDENCE, "{prod:#}");
    assert_eq!(prod["periods"][0]["origin"], "External");
    assert_eq!(prod["periods"].as_array().unwrap().len(), 1, "{prod:#}");

    // Bad input: exit 2, naming the flag and the fix.
    let out = history(&state, &["--lane", "wbe"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--lane: the state folder") && stderr.contains("are prod, web: pass one to --lane"),
        "{stderr}"
    );
    let out = history(&state, &["--lane", "web", "-n", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("it is in namespace default: pass -n default"),
        "{}",
        text(&out.stderr)
    );
    let out = history(&state, &["--lane", "web", "--at", "2999-01-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--at: 2999-01-01T00:00:00Z is in the future"));
    let out = history(&state, &["--lane", "web", "--at", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'--at <TIME>'"),
        "{}",
        text(&out.stderr)
    );
    runtime.block_on(sim.shutdown());
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

/// A record of lane `lane` in namespace `shop`: `attempt` for the controller's, none for
/// evidence; `verified` for a Succeeded record, else Failed at `ended`.
fn record(
    name: &str,
    lane: &str,
    artifact: &str,
    attempt: Option<u32>,
    phase: DeploymentPhase,
    at: i64,
) -> DeploymentRecord {
    let mut r = DeploymentRecord::new(
        name,
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new(lane)),
            artifact_ref: LocalObjectRef::new(artifact),
            target_ref: LocalObjectRef::new(lane),
            origin: if attempt.is_some() {
                DeploymentOrigin::Controller
            } else {
                DeploymentOrigin::External
            },
            ..DeploymentRecordSpec::default()
        },
    );
    r.metadata.namespace = Some("shop".into());
    r.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t(at - 5)));
    if let Some(n) = attempt {
        r.metadata.labels = Some(BTreeMap::from([
            (LANE_LABEL.to_string(), lane.to_string()),
            (ATTEMPT_LABEL.to_string(), n.to_string()),
        ]));
    }
    r.status = Some(DeploymentRecordStatus {
        phase: Some(phase),
        verification: Some(StepEvidence {
            finished_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t(at))),
            ..StepEvidence::default()
        }),
        ..DeploymentRecordStatus::default()
    });
    r
}

fn args(lane: &str, at: Option<Timestamp>) -> HistoryArgs {
    HistoryArgs {
        lane: lane.into(),
        namespace: Some("shop".into()),
        at,
        output: Output::Json,
        state: None,
    }
}

/// The cluster path reads the lane, then the namespace's records: the lane's by label, and
/// evidence naming it by `spec.laneRef`; another lane's records stay out. It writes nothing.
#[tokio::test]
async fn history_from_the_cluster_reads_the_lanes_records_and_writes_nothing() {
    use DeploymentPhase::{Failed, Succeeded};
    let server = FakeApiServer::new();
    for name in ["prod", "testing", "canary"] {
        let mut l = Lane::new(
            name,
            LaneSpec {
                product_ref: LocalObjectRef::new("shop"),
                ..LaneSpec::default()
            },
        );
        l.metadata.namespace = Some("shop".into());
        server.put(&l);
    }
    let mut promoted = record("dr-prod-3", "prod", "shop-2", Some(3), Succeeded, 300);
    promoted.spec.promotion_ref = Some(LocalObjectRef::new("shop-prod-from-testing-2"));
    for r in [
        record("dr-prod-1", "prod", "shop-1", Some(1), Succeeded, 100),
        record("dr-prod-2", "prod", "shop-2", Some(2), Failed, 200),
        promoted,
        record("hotfix-by-ci", "prod", "shop-2h", None, Succeeded, 400),
        record("dr-testing-1", "testing", "shop-9", Some(1), Succeeded, 150),
        // Attempts 1 and 2 of canary were pruned: before its first kept period, nobody can tell.
        record("dr-canary-3", "canary", "shop-3", Some(3), Succeeded, 500),
        record("dr-canary-4", "canary", "shop-4", Some(4), Failed, 600),
    ] {
        server.put(&r);
    }
    let client = server.client();
    let now = t(10_000);

    let answer = in_cluster(client.clone(), &args("prod", None), now).await;
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    let h: Value = serde_json::from_str(&answer.stdout).unwrap();
    let periods: Vec<(&str, &str, &str)> = h["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["record"].as_str().unwrap(),
                p["origin"].as_str().unwrap(),
                p["promotion"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            ("dr-prod-1", "Controller", "-"),
            ("dr-prod-3", "Controller", "shop-prod-from-testing-2"),
            ("hotfix-by-ci", "External", "-"),
        ]
    );
    assert_eq!(h["attempts"][0]["record"], "dr-prod-2");

    let answer = in_cluster(client.clone(), &args("prod", Some(t(350))), now).await;
    assert_eq!(answer.code, 0);
    let at: Value = serde_json::from_str(&answer.stdout).unwrap();
    assert_eq!(at["period"]["record"], "dr-prod-3");
    assert_eq!(at["period"]["to"], "2027-01-15T08:06:40Z");

    let answer = in_cluster(client.clone(), &args("prod", Some(t(50))), now).await;
    assert_eq!(answer.code, 1);
    assert!(answer.stderr.contains("nothing ran in lane shop/prod at 2027-01-15T08:00:50Z: its first verified record is from 2027-01-15T08:01:40Z"), "{}", answer.stderr);

    let answer = in_cluster(client.clone(), &args("staging", None), now).await;
    assert_eq!(answer.code, 2);
    assert!(
        answer.stderr.contains(
            "--lane: there is no Lane staging in namespace shop; `kubectl get lanes -n shop` lists them"
        ),
        "{}",
        answer.stderr
    );

    let mut table = args("testing", None);
    table.output = Output::Table;
    let answer = in_cluster(client.clone(), &table, now).await;
    assert_eq!(
        answer.stdout,
        "FROM                   TO          ARTIFACT   RECORD         PROMOTION   ORIGIN\n\
         2027-01-15T08:02:30Z   <running>   shop-9     dr-testing-1   <none>      Controller\n"
    );

    let answer = in_cluster(client.clone(), &args("canary", None), now).await;
    assert_eq!(answer.code, 0);
    assert_eq!(
        answer.stderr,
        "note: lane shop/canary: the records of attempts 1-2 are gone (pruned by the lane's \
         spec.historyLimit, or deleted); the periods are whole from 2027-01-15T08:08:20Z, earlier \
         ones are unknown\n"
    );
    let answer = in_cluster(client.clone(), &args("canary", Some(t(400))), now).await;
    assert_eq!(answer.code, 1);
    let at: Value = serde_json::from_str(&answer.stdout).unwrap();
    assert_eq!(
        (at["answer"].as_str(), &at["period"]),
        (Some("Unknown"), &Value::Null)
    );
    assert!(
        answer
            .stderr
            .starts_with("cannot tell what ran in lane shop/canary"),
        "{}",
        answer.stderr
    );

    let writes = server
        .calls()
        .iter()
        .filter(|c| c.method != http::Method::GET)
        .count();
    assert_eq!(writes, 0, "history is read-only");

    server.fail("/deploymentrecords", 403);
    let answer = in_cluster(client, &args("prod", None), now).await;
    assert_eq!(answer.code, 2);
    assert!(
        answer
            .stderr
            .contains("cannot read the DeploymentRecords of namespace shop"),
        "{}",
        answer.stderr
    );
}
