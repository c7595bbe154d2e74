//! The ownership property (issue 12), tested on random worlds: whatever names, products,
//! namespaces, slug templates, environments and hand-made applications collide, Launchplane
//! never mutates or deletes a Dokploy application that does not carry this instance's
//! ownership marker at the moment of the call. The one mutation allowed on an unmarked
//! application is the marking itself, and only on the id of a `Manage` ProviderTarget a single
//! Lane names.
//!
//! Each case builds a world from a seed, runs the standalone Engine (lanes and previews, with
//! sweeps under `cleanup: Delete`) for several rounds while previews come and go and the
//! listing fails now and then, and then checks the simulator's journal of every mutating call.
//! A failing case prints its seed: `LAUNCHPLANE_PROPERTY_SEED=<seed>` replays it alone, and
//! `LAUNCHPLANE_PROPERTY_CASES=<n>` runs more cases than the default.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::start_sim;

use launchplane::engine::preview::PreviewSettings;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::state::StateDir;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, CleanupPolicy, DriftPolicy, Lane, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, ManagementPolicy, Preview, PreviewPolicy, PreviewSpec, Product, ProductSpec,
    ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, PullRequest, RateLimit,
    SecretKeyRef, SourceRef, TargetCategory,
};
use launchplane_e2e::sim::{DokploySim, Fault, Mutation, SeedApplication};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const NAMESPACES: [&str; 2] = ["alpha", "beta"];
/// Product names whose preview names overlap (`shop` + `pr-{number}` is `shop-pr` + `{number}`).
const PRODUCTS: [&str; 3] = ["shop", "shop-pr", "shopx"];
const SLUGS: [&str; 3] = ["pr-{number}", "{number}", "p{number}x"];
const NUMBERS: [i64; 4] = [1, 2, 3, 12];
const ROUNDS: usize = 3;

/// A description a hand-made application may carry: nothing Launchplane may touch.
fn foreign_description(rng: &mut StdRng, ns: &str, name: &str) -> Option<String> {
    match rng.random_range(0..5) {
        0 => None,
        1 => Some("made by hand".into()),
        2 => Some(Owner::new("cluster-b", ns, "Preview", name, Some("uid-9")).describe("other cluster")),
        3 => Some(Owner::new("cluster-b", ns, "Lane", "shop-testing", Some("uid-7")).describe("x")),
        // A marker line that does not parse is nobody's proof either.
        _ => Some("launchplane.dev/owner=half/a/marker".into()),
    }
}

fn slug(template: &str, number: i64) -> String {
    template.replace("{number}", &number.to_string())
}

struct World {
    sim: DokploySim,
    inputs: Inputs,
    /// Previews that may come and go between rounds, by namespace.
    previews: Vec<Preview>,
    /// Hand-made applications: id → the service JSON they must keep.
    foreign: BTreeMap<String, Value>,
    /// Ids a Lane may mark (unmarked, a Manage target of exactly one Lane).
    markable: BTreeSet<String>,
    /// What was generated, for the failure message.
    sketch: Vec<String>,
}

fn config(sim: &DokploySim, namespace: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: sim.base_url(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy".into(),
                key: "apiKey".into(),
            },
            rate_limit: RateLimit {
                requests_per_second: 1000,
                burst: 1000,
            },
            ..Default::default()
        },
    );
    c.metadata.namespace = Some(namespace.into());
    c
}

fn target(namespace: &str, name: &str, id: &str, display: &str, policy: ManagementPolicy) -> ProviderTarget {
    let mut t = ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy"),
            target_category: TargetCategory::Application,
            target_id: Some(id.into()),
            display_name: display.into(),
            management_policy: policy,
            ..Default::default()
        },
    );
    t.metadata.namespace = Some(namespace.into());
    t
}

fn artifact(namespace: &str, product: &str) -> Artifact {
    let mut a = Artifact::new(
        &format!("{product}-a"),
        ArtifactSpec {
            image: ArtifactImage {
                repository: format!("ghcr.io/acme/{product}"),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: format!("github.com/acme/{product}"),
                commit: "a".repeat(40),
            },
            ..Default::default()
        },
    );
    a.metadata.namespace = Some(namespace.into());
    a
}

fn preview(namespace: &str, product: &str, number: i64) -> Preview {
    let mut p = Preview::new(
        &format!("{product}-{number}"),
        PreviewSpec {
            product_ref: LocalObjectRef::new(product),
            pull_request: PullRequest {
                repository: format!("github.com/acme/{product}"),
                number,
                url: None,
                head_sha: "a".repeat(40),
            },
            artifact_ref: LocalObjectRef::new(format!("{product}-a")),
            ttl: None,
        },
    );
    p.metadata.namespace = Some(namespace.into());
    p
}

fn lane(name: &str, target: &str, url: &str) -> Lane {
    let mut l = Lane::new(
        name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: name.trim_start_matches("shop-").into(),
            target_ref: LocalObjectRef::new(target),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            drift_policy: DriftPolicy::Correct,
            runtime_identity: LaneRuntimeIdentity {
                base_url: Some(url.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    l.metadata.namespace = Some("alpha".into());
    l
}

async fn world(seed: u64) -> World {
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = start_sim(20).await;
    let (project, production) = sim.seed_project("acme");
    let previews_env = sim.seed_environment(&project, "previews").unwrap();
    let environments = [
        ("production", production.clone()),
        ("previews", previews_env.clone()),
    ];
    let template = sim
        .seed_application(
            &production,
            SeedApplication {
                name: "template".into(),
                docker_image: Some("nginx:1".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let mut inputs = Inputs::default();
    let mut foreign = BTreeMap::new();
    let mut markable = BTreeSet::new();
    let mut sketch = Vec::new();
    let mut previews = Vec::new();

    for namespace in NAMESPACES {
        inputs.configs.push(config(&sim, namespace));
        inputs.targets.push(target(
            namespace,
            "template",
            &template,
            "template",
            ManagementPolicy::Observe,
        ));
    }
    for (i, product) in PRODUCTS.iter().enumerate() {
        // Each product lives in one or both namespaces, over the same Dokploy environments.
        let mut namespaces = NAMESPACES.to_vec();
        namespaces.shuffle(&mut rng);
        namespaces.truncate(rng.random_range(1..=2));
        let slug_template = *SLUGS.choose(&mut rng).unwrap();
        let environment = match rng.random_range(0..3) {
            0 => None,
            1 => Some("previews".to_string()),
            _ => Some("production".to_string()),
        };
        let env_id = match environment.as_deref() {
            Some("previews") => previews_env.clone(),
            _ => production.clone(),
        };
        sketch.push(format!(
            "product {product} in {namespaces:?}, slug {slug_template}, environment {environment:?}"
        ));
        for namespace in &namespaces {
            let mut p = Product::new(
                product,
                ProductSpec {
                    display_name: product.to_string(),
                    repository: format!("github.com/acme/{product}"),
                    image_repository: format!("ghcr.io/acme/{product}"),
                    preview: PreviewPolicy {
                        enabled: true,
                        base_domain: Some(format!("preview{i}.test")),
                        template_target_ref: Some(LocalObjectRef::new("template")),
                        slug_template: slug_template.into(),
                        environment: environment.clone(),
                        cleanup: CleanupPolicy::Delete,
                        delete_budget: 10,
                        ..PreviewPolicy::default()
                    },
                    ..Default::default()
                },
            );
            p.metadata.namespace = Some(namespace.to_string());
            inputs.products.push(p);
            inputs.artifacts.push(artifact(namespace, product));
            for number in NUMBERS {
                if rng.random_bool(0.4) {
                    previews.push(preview(namespace, product, number));
                }
            }
        }
        // Hand-made applications with exactly the names previews of this product would take,
        // in the environments previews may live in.
        for number in NUMBERS {
            if !rng.random_bool(0.5) {
                continue;
            }
            let name = format!("{product}-{}", slug(slug_template, number));
            let (env_name, env) = if rng.random_bool(0.7) {
                ("preview's", env_id.clone())
            } else {
                let (n, e) = environments.choose(&mut rng).unwrap();
                (*n, e.clone())
            };
            let namespace = *NAMESPACES.choose(&mut rng).unwrap();
            let description = foreign_description(&mut rng, namespace, &format!("{product}-{number}"));
            let id = sim
                .seed_application(
                    &env,
                    SeedApplication {
                        name: name.clone(),
                        description: description.clone(),
                        docker_image: Some("nginx:human".into()),
                        env: Some("OWNER=human\n".into()),
                        deployed: rng.random_bool(0.5),
                        ..Default::default()
                    },
                )
                .unwrap();
            sketch.push(format!(
                "hand-made {name} ({id}) in the {env_name} environment, description {description:?}"
            ));
            if rng.random_bool(0.3) {
                // Claimed by an Observe ProviderTarget: watched, never changed.
                inputs.targets.push(target(
                    namespace,
                    &format!("watch-{id}").to_ascii_lowercase().replace('_', "-"),
                    &id,
                    &name,
                    ManagementPolicy::Observe,
                ));
            }
            foreign.insert(id, Value::Null);
        }
    }

    // Lanes of `shop` in `alpha`: Manage targets that are unmarked (theirs to mark), marked by
    // someone else, or named by two Lanes.
    if inputs.products.iter().any(|p| {
        p.metadata.name.as_deref() == Some("shop") && p.metadata.namespace.as_deref() == Some("alpha")
    }) {
        for (k, kind) in ["unmarked", "foreign", "shared"].iter().enumerate() {
            if !rng.random_bool(0.6) {
                continue;
            }
            let name = format!("shop-lane-{k}");
            let description = match *kind {
                "foreign" => Some(
                    Owner::new("cluster-b", "alpha", "Lane", "shop-testing", Some("uid-1"))
                        .describe("theirs"),
                ),
                _ => rng.random_bool(0.5).then(|| "a team's own words".to_string()),
            };
            let id = sim
                .seed_application(
                    &production,
                    SeedApplication {
                        name: name.clone(),
                        description: description.clone(),
                        docker_image: Some("ghcr.io/acme/shop:old".into()),
                        env: Some("KEEP_ME=1\n".into()),
                        deployed: true,
                        ..Default::default()
                    },
                )
                .unwrap();
            let url = sim.app_url(&id).unwrap();
            let target_name = format!("target-{k}");
            inputs.targets.push(target(
                "alpha",
                &target_name,
                &id,
                &name,
                ManagementPolicy::Manage,
            ));
            inputs
                .lanes
                .push(lane(&format!("shop-{kind}"), &target_name, &url));
            if *kind == "shared" {
                inputs.lanes.push(lane("shop-shared-too", &target_name, &url));
            }
            if *kind == "unmarked" {
                markable.insert(id.clone());
            } else {
                foreign.insert(id.clone(), Value::Null);
            }
            sketch.push(format!(
                "{kind} lane target {name} ({id}), description {description:?}"
            ));
        }
    }
    for (id, keep) in foreign.iter_mut() {
        *keep = sim.service_json(id).unwrap();
    }
    World {
        sim,
        inputs,
        previews,
        foreign,
        markable,
        sketch,
    }
}

fn engine(sim: &DokploySim, state: &StateDir) -> Engine {
    let key = sim.api_key();
    Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        state.clone(),
        Box::new(move |v: &str| (v == "LAUNCHPLANE_API_KEY_DOKPLOY").then(|| key.clone())),
    )
    .with_previews(PreviewSettings {
        poll_delay: Duration::from_millis(20),
        deploy_timeout: Duration::from_secs(10),
        resend_after: Duration::from_secs(60),
        verify_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(10),
        probe_via: Some(sim.ingress_url()),
        resync: Duration::from_secs(300),
        instance: String::new(),
    })
    .with_round_timeout(Duration::from_secs(60))
}

/// Why `m` broke the property, if it did.
fn violation(m: &Mutation, instance: &str, markable: &BTreeSet<String>) -> Option<String> {
    let ours = |description: Option<&str>| {
        Owner::in_description(description).is_some_and(|owner| owner.instance == instance)
    };
    if m.procedure == "application.create" {
        return (!ours(m.description_sent.as_deref()))
            .then(|| "created an application without this instance's marker".to_string());
    }
    let Some(id) = m.service_id.as_deref() else {
        return Some("a mutation of no known service".into());
    };
    if ours(m.description_before.as_deref()) {
        return None;
    }
    let marking = m.procedure == "application.update"
        && Owner::in_description(m.description_before.as_deref()).is_none()
        && ours(m.description_sent.as_deref())
        && markable.contains(id);
    (!marking).then(|| {
        format!(
            "{} on {id}, which did not carry this instance's marker",
            m.procedure
        )
    })
}

async fn check(seed: u64) {
    let mut w = world(seed).await;
    let state_dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(state_dir.path());
    let mut engine = engine(&w.sim, &state);
    let instance = engine.instance().to_string();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut log = Vec::new();
    for round in 0..ROUNDS {
        // Previews come and go; a manifest that leaves the folder is torn down.
        let mut present: Vec<Preview> = w
            .previews
            .iter()
            .filter(|_| round == 0 || rng.random_bool(0.6))
            .cloned()
            .collect();
        present.sort_by_key(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()));
        w.inputs.previews = present;
        let fault = rng.random_bool(0.25);
        if fault {
            w.sim.inject("overview.services", Fault::Status(503));
        }
        let rows = engine.round(&w.inputs).await;
        w.sim.clear_faults();
        log.push(format!(
            "round {round}: previews {:?}, listing fault {fault}; {}",
            w.inputs
                .previews
                .iter()
                .map(|p| format!(
                    "{}/{}",
                    p.metadata.namespace.as_deref().unwrap_or_default(),
                    p.metadata.name.as_deref().unwrap_or_default()
                ))
                .collect::<Vec<_>>(),
            rows.iter()
                .map(|r| format!("{} {}/{} {} {}", r.kind, r.namespace, r.name, r.verdict, r.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let journal = w.sim.mutations();
    let broken: Vec<String> = journal
        .iter()
        .filter_map(|m| violation(m, &instance, &w.markable).map(|why| format!("{why}: {m:?}")))
        .collect();
    let changed: Vec<String> = w
        .foreign
        .iter()
        .filter(|(id, before)| w.sim.service_json(id).as_ref() != Some(*before))
        .map(|(id, before)| {
            let brief = format!("{} {:?}", before["name"], before["description"].as_str());
            match w.sim.service_json(id) {
                Some(_) => format!("{id} ({brief}) was changed"),
                None => format!("{id} ({brief}) was deleted"),
            }
        })
        .collect();
    let creates = journal
        .iter()
        .filter(|m| m.procedure == "application.create")
        .count();
    w.sim.shutdown().await;
    assert!(
        broken.is_empty() && changed.is_empty(),
        "seed {seed} (replay with LAUNCHPLANE_PROPERTY_SEED={seed}) broke the ownership property:\n{}\n{}\n\
         world:\n  {}\nrounds:\n  {}",
        broken.join("\n"),
        changed.join("\n"),
        w.sketch.join("\n  "),
        log.join("\n  ")
    );
    // The property must have been exercised, not passed by doing nothing.
    assert!(
        creates > 0 || w.previews.is_empty(),
        "seed {seed}: no preview application was ever created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_application_without_this_instances_marker_is_ever_changed_or_deleted() {
    let seeds: Vec<u64> = match std::env::var("LAUNCHPLANE_PROPERTY_SEED") {
        Ok(seed) => vec![seed.parse().expect("LAUNCHPLANE_PROPERTY_SEED is a number")],
        Err(_) => {
            let cases: u64 = std::env::var("LAUNCHPLANE_PROPERTY_CASES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(8);
            (0..cases).map(|i| 0x1a0_0000 + i * 7919).collect()
        }
    };
    for seed in seeds {
        check(seed).await;
    }
}
