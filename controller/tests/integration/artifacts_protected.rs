//! `launchplane artifacts protected` against a scripted API server: the three list calls it
//! makes, the set it computes, and the exit code when a manifest is missing.

#![allow(clippy::unwrap_used)]

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use launchplane::cli::artifacts::{protected_in_cluster, report_missing};
use serde_json::{Value, json};

fn list(kind: &str, items: Value) -> Value {
    json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": format!("{kind}List"), "metadata": {}, "items": items})
}

async fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    answers: Vec<(&'static str, Value)>,
) {
    for (path, body) in answers {
        let (request, send) = handle.next_request().await.expect("a list call");
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.uri().path(), path);
        send.send_response(
            Response::builder()
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap(),
        );
    }
}

#[tokio::test]
async fn lists_lanes_previews_and_artifacts_and_flags_a_missing_manifest() {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "team");
    let digest = format!("sha256:{}", "b".repeat(64));
    let server = tokio::spawn(serve(
        handle,
        vec![
            (
                "/apis/launchplane.dev/v1alpha1/namespaces/team/lanes",
                list(
                    "Lane",
                    json!([{
                        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Lane",
                        "metadata": {"name": "prod", "namespace": "team"},
                        "spec": {"productRef": {"name": "shop"}, "stage": "prod", "targetRef": {"name": "t"},
                                 "artifactRef": {"name": "shop-2"}},
                        "status": {"inventory": {"artifact": "shop-1"}}
                    }]),
                ),
            ),
            (
                "/apis/launchplane.dev/v1alpha1/namespaces/team/previews",
                list("Preview", json!([])),
            ),
            (
                "/apis/launchplane.dev/v1alpha1/namespaces/team/artifacts",
                list(
                    "Artifact",
                    json!([{
                        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Artifact",
                        "metadata": {"name": "shop-2", "namespace": "team"},
                        "spec": {"image": {"repository": "ghcr.io/acme/shop", "digest": digest},
                                 "source": {"repository": "github.com/acme/shop", "commit": "c".repeat(40)}}
                    }]),
                ),
            ),
        ],
    ));
    let set = protected_in_cluster(client, "team", "shop").await.unwrap();
    server.await.unwrap();
    assert_eq!(set.artifacts.len(), 2);
    assert_eq!(
        set.artifacts["shop-2"],
        Some(format!("ghcr.io/acme/shop@{digest}"))
    );
    assert_eq!(set.artifacts["shop-1"], None);
    assert_eq!(set.missing[0].artifact, "shop-1");
    assert_eq!(report_missing(&set), 1);
}

#[tokio::test]
async fn a_failed_list_fails_the_command_rather_than_shrinking_the_set() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "team");
    let server = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(
            Response::builder()
                .status(403)
                .body(Body::from(
                    serde_json::to_vec(&json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": "forbidden", "reason": "Forbidden", "code": 403}))
                    .unwrap(),
                ))
                .unwrap(),
        );
    });
    let error = protected_in_cluster(client, "team", "shop").await.unwrap_err();
    server.await.unwrap();
    assert!(
        format!("{error:#}").contains("cannot list lanes in namespace team"),
        "{error:#}"
    );
}
