//! GitHub Actions straight to the API server: the chart's AuthenticationConfiguration and
//! ciGrants proven on a real kube-apiserver, with no Launchplane code in the request path.
//!
//! The test runs its own issuer (discovery document and JWKS over HTTPS on loopback, a CA of
//! its own) and mints RS256 tokens shaped like GitHub's. It renders the chart with helm,
//! overriding only the issuer URL and CA (so the claim validation, the user and group mapping
//! and the grants are the chart's), writes the rendered AuthenticationConfiguration to the file
//! the local API server was started with (`--authentication-config`, scripts/cluster.sh), waits
//! until the API server has reloaded it, creates the rendered Roles and RoleBindings as the
//! admin, and then calls the API server with each token as a bearer token:
//!
//! - repository acme/shop's deploy workflow on refs/heads/main may create and get Artifacts and
//!   DeploymentRecords in its namespace, and nothing else (no list, delete, status, Lane,
//!   ConfigMap, other namespace): 403 for those;
//! - the same workflow in the `production` environment (any ref) may create Artifacts in the
//!   production namespace only;
//! - another workflow, another ref, or another repository of the same owner authenticate (the
//!   SelfSubjectReview shows who they are) and are forbidden (403): no RoleBinding names them;
//! - another owner's repository (not in the owners the chart derives from ciGrants), an expired
//!   token, a token for another audience, one signed by a key the JWKS does not hold, and one
//!   whose workflow_ref contradicts its ref are not authenticated at all (401).
//!
//! At the end the default configuration (no JWT authenticator) is put back and the test waits
//! until the API server refuses its tokens again, so other tests see the cluster as it was.
//!
//! Needs `KUBECONFIG` for the local API server of scripts/cluster.sh (whose authentication
//! configuration file it can rewrite: LAUNCHPLANE_AUTHENTICATION_CONFIG, or the file next to
//! the kubeconfig), helm (`HELM`) and openssl. Elsewhere (kind, k3d) it says `SKIPPED: ...`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;
#[path = "e2e_ci_identity/issuer.rs"]
mod issuer;

use e2e_support::{apply_crds, artifact_a, clean_up, connect, create_namespaces};
use futures::FutureExt;
use issuer::{Issuer, Signer};
use jiff::Timestamp;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::AuthInfo;
use kube::{Api, Client, Config};
use launchplane_api::resources::{
    Artifact, DeploymentOrigin, DeploymentRecord, DeploymentRecordSpec, Lane, LaneSpec, LocalObjectRef,
};
use serde_json::{Value, json};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

const RELEASE: &str = "launchplane";
const AUDIENCE: &str = "https://launchplane-e2e.example";
const SHOP: &str = "acme/shop";
const DEPLOY: &str = ".github/workflows/deploy.yml";
const MAIN: &str = "refs/heads/main";
const RELEASE_BRANCH: &str = "refs/heads/release-1";
const PRODUCTION: &str = "production";
/// The chart's default `ciIdentity.prefix`.
const PREFIX: &str = "github-actions:";
/// kube-apiserver notices the file at once (fsnotify) but swaps authenticators only once the
/// new issuer's keys are fetched, checking every 10 s, within a minute (UpdateAuthentication-
/// ConfigTimeout); its token cache may keep a success for 10 s more.
const RELOADED_WITHIN: Duration = Duration::from_secs(100);
/// What scripts/cluster.sh starts the API server with, should its copy be missing.
const DEFAULT_CONFIG: &str =
    "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt: []\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_identity_github_tokens_write_only_what_their_grant_says() {
    let test = "e2e_ci_identity: GitHub Actions tokens write only what their grant says";
    let Some(admin) = connect(test).await else {
        return;
    };
    let Some(helm) = std::env::var_os("HELM").map(PathBuf::from) else {
        assert!(
            std::env::var_os("LAUNCHPLANE_E2E_REQUIRED").is_none(),
            "{test}: HELM is not set although scripts/e2e.sh set up the cluster"
        );
        eprintln!("SKIPPED: {test} (HELM is not set; scripts/e2e.sh installs helm and sets it)");
        return;
    };
    let Some(config_file) = authentication_config_file(test) else {
        return;
    };
    let started = Instant::now();
    apply_crds(&admin).await;
    let stamp = Timestamp::now().as_millisecond();
    let shop = format!("launchplane-e2e-ci-shop-{stamp}");
    let prod = format!("launchplane-e2e-ci-prod-{stamp}");

    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate(dir.path(), "signing", "launchplane-e2e-key-1");
    let issuer = Issuer::start(dir.path(), &signer).await;
    eprintln!("test issuer at {}", issuer.url);
    let tokens = Tokens {
        issuer: &issuer,
        signer: &signer,
    };
    // The deploy workflow on main, valid for an hour: it also proves the configuration is gone
    // at the end.
    let probe = bearer(&tokens.mint(&Run::deploy(MAIN), |_| {}, 3600)).await;

    let namespaces = create_namespaces(&admin, &[&shop, &prod]).await;
    let mut restore = RestoreOnDrop(Some(config_file.clone()));
    let outcome = std::panic::AssertUnwindSafe(scenario(
        &admin,
        &helm,
        &config_file,
        &tokens,
        &probe,
        &shop,
        &prod,
    ))
    .catch_unwind()
    .await;

    // Whatever happened: the default configuration back, proven by a refused token.
    restore.restore();
    let refused_again = wait_until_refused(&probe, &config_file).await;
    clean_up(&namespaces, &[&shop, &prod], outcome).await;
    let took = refused_again.unwrap_or_else(|why| panic!("{why}"));
    eprintln!(
        "default authentication configuration back in force after {} ms; the test took {} s",
        took.as_millis(),
        started.elapsed().as_secs()
    );
}

async fn scenario(
    admin: &Client,
    helm: &Path,
    config_file: &Path,
    tokens: &Tokens<'_>,
    probe: &Client,
    shop: &str,
    prod: &str,
) {
    let rendered = render_chart(helm, shop, prod, tokens.issuer).await;
    for role in &rendered.roles {
        let ns = role.metadata.namespace.clone().unwrap();
        Api::<Role>::namespaced(admin.clone(), &ns)
            .create(&PostParams::default(), role)
            .await
            .expect("the API server accepts the chart's CI grant Role");
    }
    for binding in &rendered.bindings {
        let ns = binding.metadata.namespace.clone().unwrap();
        Api::<RoleBinding>::namespaced(admin.clone(), &ns)
            .create(&PostParams::default(), binding)
            .await
            .expect("the API server accepts the chart's CI grant RoleBinding");
    }

    // Before the configuration: the API server knows no such issuer.
    assert_eq!(
        outcome(whoami(probe).await),
        Outcome::Refused(401),
        "a GitHub token authenticated before the configuration was written"
    );
    std::fs::write(config_file, &rendered.authentication_config).unwrap();
    let written = Instant::now();
    wait_until_authenticated(probe, config_file).await;
    eprintln!(
        "the API server authenticates the test issuer's tokens {} ms after the file was written \
         (discovery fetched {}x, JWKS {}x)",
        written.elapsed().as_millis(),
        tokens.issuer.fetches.discovery.load(Relaxed),
        tokens.issuer.fetches.jwks.load(Relaxed),
    );
    // RBAC reads Roles from an informer: wait, with a dry run, until the grant is in force.
    let granted = Instant::now();
    loop {
        let answer = create_artifact(probe, shop, "probe", true).await;
        if answer == Outcome::Allowed {
            break;
        }
        assert!(
            granted.elapsed() < Duration::from_secs(30),
            "the deploy grant was not in force within 30 s: a dry-run create of an Artifact \
             answers {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Who the API server says each token is: the chart's mapping.
    let review = whoami(probe).await.unwrap();
    let user = review.status.and_then(|s| s.user_info).unwrap_or_default();
    let deploy_main = format!("{PREFIX}workflow:{SHOP}/{DEPLOY}");
    assert_eq!(
        user.username.as_deref(),
        Some(format!("{PREFIX}{SHOP}/{DEPLOY}@{MAIN}").as_str())
    );
    let mut groups = user.groups.clone().unwrap_or_default();
    groups.sort();
    assert_eq!(
        groups,
        vec![
            format!("{PREFIX}repository:{SHOP}"),
            deploy_main.clone(),
            format!("{deploy_main}@{MAIN}"),
            "system:authenticated".to_string(),
        ],
        "the groups of the deploy workflow on main, without an environment"
    );
    let extra = user.extra.unwrap_or_default();
    assert_eq!(
        extra.get("launchplane.dev/github-run-id"),
        Some(&vec!["4242".to_string()]),
        "the run id is kept for the audit log: {extra:?}"
    );
    assert_eq!(
        extra.get("launchplane.dev/github-actor"),
        Some(&vec!["octocat".to_string()])
    );

    let mut table = Table::default();
    let other_ns = |c: &str| format!("{c} in the production namespace");

    // 1. The deploy workflow on main: evidence in its namespace, and nothing else.
    let main = bearer(&tokens.mint(&Run::deploy(MAIN), |_| {}, 300)).await;
    table.check(
        "deploy@main creates an Artifact",
        Outcome::Allowed,
        create_artifact(&main, shop, "shop-a", false).await,
    );
    table.check(
        "deploy@main creates an External DeploymentRecord",
        Outcome::Allowed,
        create_record(&main, shop, "shop-a-run-4242").await,
    );
    table.check(
        "deploy@main gets its Artifact",
        Outcome::Allowed,
        outcome(
            Api::<Artifact>::namespaced(main.clone(), shop)
                .get("shop-a")
                .await,
        ),
    );
    table.check(
        "deploy@main lists Artifacts",
        Outcome::Refused(403),
        outcome(
            Api::<Artifact>::namespaced(main.clone(), shop)
                .list(&ListParams::default())
                .await,
        ),
    );
    table.check(
        "deploy@main deletes its Artifact",
        Outcome::Refused(403),
        outcome(
            Api::<Artifact>::namespaced(main.clone(), shop)
                .delete("shop-a", &DeleteParams::default())
                .await,
        ),
    );
    table.check(
        "deploy@main writes an Artifact's status",
        Outcome::Refused(403),
        outcome(
            Api::<Artifact>::namespaced(main.clone(), shop)
                .patch_status(
                    "shop-a",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"observedGeneration": 1}})),
                )
                .await,
        ),
    );
    table.check(
        "deploy@main creates a Lane",
        Outcome::Refused(403),
        outcome(
            Api::<Lane>::namespaced(main.clone(), shop)
                .create(
                    &PostParams::default(),
                    &Lane::new("shop-testing", LaneSpec::default()),
                )
                .await,
        ),
    );
    table.check(
        "deploy@main creates a ConfigMap",
        Outcome::Refused(403),
        outcome(
            Api::<ConfigMap>::namespaced(main.clone(), shop)
                .create(&PostParams::default(), &named_config_map("ci-was-here"))
                .await,
        ),
    );
    table.check(
        &other_ns("deploy@main creates an Artifact"),
        Outcome::Refused(403),
        create_artifact(&main, prod, "shop-a", false).await,
    );

    // 2. The deploy workflow in the production environment, on a release branch.
    let in_production = Run {
        environment: Some(PRODUCTION.into()),
        ..Run::deploy(RELEASE_BRANCH)
    };
    let production = bearer(&tokens.mint(&in_production, |_| {}, 300)).await;
    let deploy_release = format!("{deploy_main}@{RELEASE_BRANCH}");
    let mut groups = whoami(&production)
        .await
        .ok()
        .and_then(|r| r.status?.user_info?.groups)
        .unwrap_or_default();
    groups.sort();
    let expected = vec![
        format!("{PREFIX}repository:{SHOP}"),
        deploy_main.clone(),
        format!("{deploy_main}:environment:{PRODUCTION}"),
        deploy_release.clone(),
        format!("{deploy_release}:environment:{PRODUCTION}"),
        "system:authenticated".to_string(),
    ];
    table.check(
        "deploy@release-1 in production has the environment's groups",
        Outcome::Yes,
        if groups == expected {
            Outcome::Yes
        } else {
            Outcome::Other(format!("{groups:?}"))
        },
    );
    table.check(
        &other_ns("deploy@release-1 in production creates an Artifact"),
        Outcome::Allowed,
        create_artifact(&production, prod, "shop-b", false).await,
    );
    table.check(
        &other_ns("deploy@release-1 in production creates a DeploymentRecord"),
        Outcome::Refused(403),
        create_record(&production, prod, "shop-b-run-4242").await,
    );
    table.check(
        "deploy@release-1 in production creates an Artifact (main only there)",
        Outcome::Refused(403),
        create_artifact(&production, shop, "shop-b", false).await,
    );
    let release_no_env = bearer(&tokens.mint(&Run::deploy(RELEASE_BRANCH), |_| {}, 300)).await;
    table.check(
        &other_ns("deploy@release-1 without an environment creates an Artifact"),
        Outcome::Refused(403),
        create_artifact(&release_no_env, prod, "shop-c", false).await,
    );

    // 3. Authenticated, but not granted: another workflow, another ref, another repository.
    let refused = [
        (
            "another workflow (test.yml@main)",
            Run {
                workflow: ".github/workflows/test.yml".into(),
                ..Run::deploy(MAIN)
            },
        ),
        ("another ref (deploy@feature)", Run::deploy("refs/heads/feature")),
        (
            "another repository of the owner (acme/blog deploy@main)",
            Run {
                repository: "acme/blog".into(),
                ..Run::deploy(MAIN)
            },
        ),
    ];
    for (what, run) in refused {
        let client = bearer(&tokens.mint(&run, |_| {}, 300)).await;
        let expected_user = format!("{PREFIX}{}/{}@{}", run.repository, run.workflow, run.git_ref);
        let who = whoami(&client)
            .await
            .ok()
            .and_then(|r| r.status?.user_info?.username);
        table.check(
            &format!("{what} is authenticated as {expected_user}"),
            Outcome::Yes,
            if who.as_deref() == Some(expected_user.as_str()) {
                Outcome::Yes
            } else {
                Outcome::Other(format!("{who:?}"))
            },
        );
        table.check(
            &format!("{what} creates an Artifact"),
            Outcome::Refused(403),
            create_artifact(&client, shop, "shop-x", false).await,
        );
    }

    // 4. Not authenticated at all.
    let now = Timestamp::now().as_second();
    let unauthenticated = [
        (
            "another owner's repository (evil/shop deploy@main)",
            tokens.mint(
                &Run {
                    repository: "evil/shop".into(),
                    ..Run::deploy(MAIN)
                },
                |_| {},
                300,
            ),
            "the token's repository_owner is not one of the owners allowed",
        ),
        (
            "an expired deploy@main token",
            tokens.mint(
                &Run::deploy(MAIN),
                |c| {
                    c["iat"] = json!(now - 3600);
                    c["nbf"] = json!(now - 3600);
                    c["exp"] = json!(now - 600);
                },
                300,
            ),
            "token is expired",
        ),
        (
            "a deploy@main token for another audience",
            tokens.mint(&Run::deploy(MAIN), |c| c["aud"] = json!("sts.amazonaws.com"), 300),
            "expected audience",
        ),
        (
            "a deploy@main token signed by an unknown key",
            {
                // The published key's kid, another key: the signature cannot verify.
                let dir = tempfile::tempdir().unwrap();
                let forger = Signer::generate(dir.path(), "forged", "launchplane-e2e-key-1");
                Tokens {
                    issuer: tokens.issuer,
                    signer: &forger,
                }
                .mint(&Run::deploy(MAIN), |_| {}, 300)
            },
            "failed to verify signature",
        ),
        (
            "a token whose workflow_ref (main) contradicts its ref (feature)",
            tokens.mint(
                &Run::deploy(MAIN),
                |c| c["ref"] = json!("refs/heads/feature"),
                300,
            ),
            "workflow_ref is not <repository>/.github/workflows/<file>@<ref>",
        ),
        (
            "a workflow whose file name holds '@' (deploy.yml@refs/heads/main.yml@feature)",
            tokens.mint(
                &Run {
                    workflow: ".github/workflows/deploy.yml@refs/heads/main.yml".into(),
                    ..Run::deploy("refs/heads/feature")
                },
                |_| {},
                300,
            ),
            "the workflow file's path holds '@' or ':'",
        ),
    ];
    let log = ApiserverLog::beside(config_file);
    for (what, token, reason) in unauthenticated {
        let client = bearer(&token).await;
        let mark = log.len();
        table.check(
            &format!("{what}: who am I"),
            Outcome::Refused(401),
            outcome(whoami(&client).await),
        );
        table.check(
            &format!("{what} creates an Artifact"),
            Outcome::Refused(401),
            create_artifact(&client, shop, "shop-y", false).await,
        );
        // The client only hears "Unauthorized"; the API server's log says why.
        table.check(
            &format!("{what}: the API server's log says \"{reason}\""),
            Outcome::Yes,
            log.says_since(mark, reason).await,
        );
    }

    // What exists is exactly what was allowed.
    let mut artifacts: Vec<String> = Api::<Artifact>::namespaced(admin.clone(), shop)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .chain(
            Api::<Artifact>::namespaced(admin.clone(), prod)
                .list(&ListParams::default())
                .await
                .unwrap()
                .items,
        )
        .map(|a| {
            format!(
                "{}/{}",
                a.metadata.namespace.unwrap_or_default(),
                a.metadata.name.unwrap_or_default()
            )
        })
        .collect();
    artifacts.sort();
    table.check(
        "the Artifacts that exist afterwards are exactly the allowed ones",
        Outcome::Yes,
        if artifacts == [format!("{prod}/shop-b"), format!("{shop}/shop-a")] {
            Outcome::Yes
        } else {
            Outcome::Other(format!("{artifacts:?}"))
        },
    );
    table.assert_all();
}

// --- the chart ---------------------------------------------------------------------------------

struct Rendered {
    authentication_config: String,
    roles: Vec<Role>,
    bindings: Vec<RoleBinding>,
}

/// The chart rendered with two grants for acme/shop's deploy workflow (main in `shop`; the
/// production environment in `prod`) and the test issuer's URL and CA in place of GitHub's.
async fn render_chart(helm: &Path, shop: &str, prod: &str, issuer: &Issuer) -> Rendered {
    let values = json!({
        "ciIdentity": {
            "enabled": true,
            "issuer": {"url": issuer.url, "certificateAuthority": issuer.ca_pem},
            "audiences": [AUDIENCE],
        },
        "ciGrants": [
            {"repository": SHOP, "workflow": DEPLOY, "ref": MAIN, "namespace": shop,
             "resources": ["artifacts", "deploymentrecords"], "verbs": ["create", "get"]},
            {"repository": SHOP, "workflow": DEPLOY, "environment": PRODUCTION, "namespace": prod,
             "resources": ["artifacts"], "verbs": ["create"]},
        ],
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&values).unwrap()).unwrap();
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/launchplane");
    let out = tokio::process::Command::new(helm)
        .args(["template", RELEASE])
        .arg(&chart)
        .args(["--namespace", shop, "--values"])
        .arg(file.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let ci_grant = |d: &&Value| d["metadata"]["labels"]["app.kubernetes.io/component"] == "ci-grant";
    let config_maps: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "ConfigMap")
        .filter(|d| d["metadata"]["labels"]["app.kubernetes.io/component"] == "ci-identity")
        .collect();
    assert_eq!(
        config_maps.len(),
        1,
        "one ConfigMap with the authentication configuration"
    );
    let authentication_config = config_maps[0]["data"]["authentication-config.yaml"]
        .as_str()
        .expect("the ConfigMap holds authentication-config.yaml")
        .to_string();
    let roles: Vec<Role> = docs
        .iter()
        .filter(|d| d["kind"] == "Role")
        .filter(ci_grant)
        .map(|d| serde_json::from_value(d.clone()).unwrap())
        .collect();
    let bindings: Vec<RoleBinding> = docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding")
        .filter(ci_grant)
        .map(|d| serde_json::from_value(d.clone()).unwrap())
        .collect();
    assert_eq!(
        (roles.len(), bindings.len()),
        (2, 2),
        "a Role and a RoleBinding per grant"
    );
    Rendered {
        authentication_config,
        roles,
        bindings,
    }
}

// --- tokens ------------------------------------------------------------------------------------

/// A workflow run, as the claims of its token describe it.
#[derive(Clone)]
struct Run {
    repository: String,
    workflow: String,
    git_ref: String,
    environment: Option<String>,
}

impl Run {
    /// acme/shop's deploy workflow on `git_ref`, outside any environment.
    fn deploy(git_ref: &str) -> Self {
        Self {
            repository: SHOP.into(),
            workflow: DEPLOY.into(),
            git_ref: git_ref.into(),
            environment: None,
        }
    }
}

struct Tokens<'a> {
    issuer: &'a Issuer,
    signer: &'a Signer,
}

impl Tokens<'_> {
    /// A token for `run`, valid for `lifetime_s` from now, with the claims GitHub puts in an
    /// Actions ID token (docs.github.com: "About security hardening with OpenID Connect"),
    /// then changed by `edit`.
    fn mint(&self, run: &Run, edit: impl FnOnce(&mut Value), lifetime_s: i64) -> String {
        let now = Timestamp::now().as_second();
        let owner = run.repository.split('/').next().unwrap();
        let workflow_ref = format!("{}/{}@{}", run.repository, run.workflow, run.git_ref);
        let sub = match &run.environment {
            Some(env) => format!("repo:{}:environment:{env}", run.repository),
            None => format!("repo:{}:ref:{}", run.repository, run.git_ref),
        };
        let sha = "a".repeat(40);
        let mut claims = json!({
            "jti": format!("{:032x}", rand::random::<u128>()),
            "sub": sub,
            "aud": AUDIENCE,
            "ref": run.git_ref,
            "sha": sha,
            "repository": run.repository,
            "repository_owner": owner,
            "repository_owner_id": "1001",
            "repository_id": "2002",
            "repository_visibility": "private",
            "run_id": "4242",
            "run_number": "7",
            "run_attempt": "1",
            "actor": "octocat",
            "actor_id": "3003",
            "workflow": "Deploy",
            "workflow_ref": workflow_ref,
            "workflow_sha": sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": sha,
            "head_ref": "",
            "base_ref": "",
            "event_name": "push",
            "ref_type": "branch",
            "ref_protected": "true",
            "runner_environment": "github-hosted",
            "iss": self.issuer.url,
            "nbf": now,
            "iat": now,
            "exp": now + lifetime_s,
        });
        if let Some(env) = &run.environment {
            claims["environment"] = json!(env);
        }
        edit(&mut claims);
        self.signer.sign(&claims)
    }
}

/// A client of the cluster in KUBECONFIG that authenticates with `token` only (the admin's
/// client certificate dropped), as a workflow calling the API server would.
async fn bearer(token: &str) -> Client {
    let mut config = Config::infer().await.unwrap();
    config.auth_info = AuthInfo {
        token: Some(secrecy::SecretString::from(token.to_string())),
        ..AuthInfo::default()
    };
    Client::try_from(config).unwrap()
}

// --- requests and their outcomes ---------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    /// A check that is not a request held.
    Yes,
    Refused(u16),
    Other(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Allowed => write!(f, "allowed"),
            Outcome::Yes => write!(f, "yes"),
            Outcome::Refused(401) => write!(f, "401 Unauthorized"),
            Outcome::Refused(403) => write!(f, "403 Forbidden"),
            Outcome::Refused(code) => write!(f, "{code}"),
            Outcome::Other(what) => write!(f, "{what}"),
        }
    }
}

fn outcome<T>(result: Result<T, kube::Error>) -> Outcome {
    match result {
        Ok(_) => Outcome::Allowed,
        Err(kube::Error::Api(status)) => Outcome::Refused(status.code),
        Err(other) => Outcome::Other(other.to_string()),
    }
}

/// Every case checked, reported together so one run shows the whole picture.
#[derive(Default)]
struct Table {
    rows: Vec<(String, Outcome, Outcome)>,
}

impl Table {
    fn check(&mut self, what: &str, expected: Outcome, got: Outcome) {
        self.rows.push((what.to_string(), expected, got));
    }

    fn assert_all(&self) {
        let mut report = String::new();
        for (what, expected, got) in &self.rows {
            let mark = if expected == got { "ok  " } else { "FAIL" };
            report.push_str(&format!("  {mark} {what}: expected {expected}, got {got}\n"));
        }
        eprintln!("CI identity cases:\n{report}");
        let failed = self.rows.iter().filter(|(_, e, g)| e != g).count();
        assert_eq!(failed, 0, "{failed} case(s) failed:\n{report}");
    }
}

async fn whoami(client: &Client) -> Result<SelfSubjectReview, kube::Error> {
    Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
}

async fn create_artifact(client: &Client, ns: &str, name: &str, dry_run: bool) -> Outcome {
    let params = PostParams {
        dry_run,
        ..PostParams::default()
    };
    outcome(
        Api::<Artifact>::namespaced(client.clone(), ns)
            .create(&params, &artifact_a(name))
            .await,
    )
}

/// A DeploymentRecord as a workflow reports a deploy it made itself.
async fn create_record(client: &Client, ns: &str, name: &str) -> Outcome {
    let record = DeploymentRecord::new(
        name,
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new("shop-testing")),
            artifact_ref: LocalObjectRef::new("shop-a"),
            target_ref: LocalObjectRef::new("shop-testing-app"),
            origin: DeploymentOrigin::External,
            requested_by: Some("github-actions/run/4242".into()),
            ..DeploymentRecordSpec::default()
        },
    );
    outcome(
        Api::<DeploymentRecord>::namespaced(client.clone(), ns)
            .create(&PostParams::default(), &record)
            .await,
    )
}

fn named_config_map(name: &str) -> ConfigMap {
    let mut map = ConfigMap::default();
    map.metadata.name = Some(name.into());
    map
}

// --- the API server's authentication configuration file ----------------------------------------

/// The file the local API server reads its authentication configuration from, or `None` after
/// saying why the test is skipped (a cluster this test cannot reconfigure).
fn authentication_config_file(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LAUNCHPLANE_AUTHENTICATION_CONFIG").map(PathBuf::from) {
        assert!(
            path.is_file(),
            "{test}: LAUNCHPLANE_AUTHENTICATION_CONFIG names {}, which is not a file",
            path.display()
        );
        return Some(path);
    }
    // `eval "$(scripts/cluster.sh env)"` exports both; a KUBECONFIG set by hand may not.
    let beside = std::env::var_os("KUBECONFIG")
        .map(PathBuf::from)
        .and_then(|k| Some(k.parent()?.join("authentication-config.yaml")))
        .filter(|p| p.is_file());
    if beside.is_none() {
        eprintln!(
            "SKIPPED: {test} (the cluster in KUBECONFIG is not scripts/cluster.sh's: the test \
             must rewrite the API server's --authentication-config file, and found none in \
             LAUNCHPLANE_AUTHENTICATION_CONFIG or next to the kubeconfig)"
        );
    }
    beside
}

/// Puts the default configuration back when restored or dropped (a panic outside the
/// scenario included).
struct RestoreOnDrop(Option<PathBuf>);

impl RestoreOnDrop {
    fn restore(&mut self) {
        if let Some(path) = self.0.take() {
            let default = std::fs::read_to_string(path.with_file_name("authentication-config.default.yaml"))
                .unwrap_or_else(|_| DEFAULT_CONFIG.to_string());
            if let Err(error) = std::fs::write(&path, default) {
                eprintln!("could not restore {}: {error}", path.display());
            }
        }
    }
}

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        self.restore();
    }
}

async fn wait_until_authenticated(client: &Client, config_file: &Path) {
    let started = Instant::now();
    loop {
        let answer = outcome(whoami(client).await);
        if answer == Outcome::Allowed {
            return;
        }
        if started.elapsed() > RELOADED_WITHIN {
            panic!(
                "the API server did not accept the test issuer's tokens within {RELOADED_WITHIN:?} \
                 of writing {} (last answer: {answer}); its log says:\n{}",
                config_file.display(),
                apiserver_log(config_file)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until `probe`'s token is refused (401) again; the time it took, or why not.
async fn wait_until_refused(probe: &Client, config_file: &Path) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let answer = outcome(whoami(probe).await);
        if answer == Outcome::Refused(401) {
            return Ok(started.elapsed());
        }
        if started.elapsed() > RELOADED_WITHIN {
            return Err(format!(
                "the API server still answers {answer} to a test token {RELOADED_WITHIN:?} after \
                 the default configuration was put back in {}; its log says:\n{}",
                config_file.display(),
                apiserver_log(config_file)
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The local API server's log (scripts/cluster.sh writes it to `logs/` next to the file), where
/// it says why it refused a token.
struct ApiserverLog(PathBuf);

impl ApiserverLog {
    fn beside(config_file: &Path) -> Self {
        Self(config_file.with_file_name("logs").join("kube-apiserver.log"))
    }

    fn len(&self) -> u64 {
        std::fs::metadata(&self.0).map(|m| m.len()).unwrap_or(0)
    }

    /// Yes once the log, after byte `mark`, holds `reason` (waiting up to 5 s for it to be
    /// written); the new lines otherwise.
    async fn says_since(&self, mark: u64, reason: &str) -> Outcome {
        let started = Instant::now();
        loop {
            let text = std::fs::read(&self.0).unwrap_or_default();
            let new = String::from_utf8_lossy(text.get(mark as usize..).unwrap_or_default());
            if new.contains(reason) {
                return Outcome::Yes;
            }
            if started.elapsed() > Duration::from_secs(5) {
                return Outcome::Other(format!("log lines: {}", new.trim()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The API server's log lines about its authentication configuration and JWT issuers (in
/// `logs/` next to the file, where scripts/cluster.sh writes it).
fn apiserver_log(config_file: &Path) -> String {
    let log = config_file.with_file_name("logs").join("kube-apiserver.log");
    let Ok(text) = std::fs::read_to_string(&log) else {
        return format!("  (no log at {})", log.display());
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("authentication config") || l.contains("oidc") || l.contains("jwt"))
        .collect();
    let tail = &lines[lines.len().saturating_sub(12)..];
    tail.iter().map(|l| format!("  {l}\n")).collect()
}
