//! Contract test: the GitHub fake (`launchplane_e2e::github`) against GitHub's own descriptions in
//! `shared/github/`: the route and query parameters it serves exist in
//! `rest-openapi-subset.json`, its listing's items carry every property and type the "Pull
//! Request Simple" schema requires, and the delivery bodies it builds for each `pull_request`
//! action carry what `webhooks-schema.json` requires of that action; the fields the receiver
//! and the resync read exist there with the types they expect.
//!
//! The documents are read from `$GITHUB_SHARED` (a folder), else `../shared/github` next to the
//! workspace. Without them the test prints SKIPPED with the reason and passes: they are
//! reference material, not part of this repository.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod openapi;

use launchplane_e2e::github::{FakePull, GitHubFake, GitHubFault, pull_request_event};
use openapi::{check, property};
use serde_json::Value;
use std::path::PathBuf;

fn documents() -> Option<(Value, Value)> {
    let dir = std::env::var_os("GITHUB_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/github"));
    let read = |f: &str| {
        std::fs::read(dir.join(f))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    };
    match (read("rest-openapi-subset.json"), read("webhooks-schema.json")) {
        (Some(rest), Some(hooks)) => Some((rest, hooks)),
        _ => {
            eprintln!(
                "\n*** SKIPPED: GitHub contract test: {} lacks rest-openapi-subset.json or webhooks-schema.json; set GITHUB_SHARED ***\n",
                dir.display()
            );
            None
        }
    }
}

fn pulls_operation(rest: &Value) -> &Value {
    &rest["paths"]["/repos/{owner}/{repo}/pulls"]["get"]
}

fn pull(n: i64) -> FakePull {
    FakePull {
        number: n,
        head_sha: format!("{:040x}", n),
        labels: vec!["preview".into()],
        updated_at: "2026-01-15T08:00:00Z".into(),
    }
}

#[tokio::test]
async fn the_fakes_listing_is_githubs() {
    let Some((rest, _)) = documents() else { return };
    let op = pulls_operation(&rest);
    assert!(
        op.is_object(),
        "GET /repos/{{owner}}/{{repo}}/pulls is in the document"
    );
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    // What the fake honours and the client sends.
    for q in ["state", "per_page", "page"] {
        assert!(params.contains(&q), "query parameter {q} not in {params:?}");
    }
    assert!(
        op["responses"]["200"]["headers"]["Link"].is_object(),
        "pagination by Link"
    );

    let fake = GitHubFake::start("t0ken").await.unwrap();
    fake.set_pulls("acme/shop", (1..=3).map(pull).collect());
    fake.cap_page_size(2);
    let http = reqwest_free_get(
        &format!(
            "{}/repos/acme/shop/pulls?state=open&per_page=100",
            fake.base_url()
        ),
        "t0ken",
    )
    .await;
    let (link, body) = http;
    assert!(link.is_some_and(|l| l.contains("rel=\"next\"") && l.contains("page=2")));
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    let mut problems = Vec::new();
    check(&rest, schema, &body, "$", 2, &mut problems);
    assert!(
        problems.is_empty(),
        "the fake's listing disagrees with GitHub's:\n  {}",
        problems.join("\n  ")
    );
    assert_eq!(body.as_array().unwrap().len(), 2);
    // The fields the resync reads.
    let item = &schema["items"];
    for (path, ty) in [
        ("number", "integer"),
        ("state", "string"),
        ("html_url", "string"),
        ("updated_at", "string"),
        ("head.sha", "string"),
        ("labels", "array"),
    ] {
        let s = property(&rest, item, path).unwrap_or_else(|| panic!("{path} not in Pull Request Simple"));
        assert_eq!(s["type"], ty, "{path}");
    }
}

#[test]
fn the_fakes_deliveries_are_githubs() {
    let Some((_, hooks)) = documents() else { return };
    let cases = [
        ("opened", true, None),
        ("reopened", true, None),
        ("synchronize", true, None),
        ("labeled", true, Some("preview")),
        ("unlabeled", true, Some("preview")),
        ("closed", false, None),
    ];
    for (action, open, label) in cases {
        let schema = &hooks["definitions"][format!("pull_request${action}")];
        assert!(schema.is_object(), "pull_request${action} is in the schema");
        let body = pull_request_event(action, "acme/shop", &pull(42), open, label);
        let mut problems = Vec::new();
        check(&hooks, schema, &body, "$", 2, &mut problems);
        assert!(
            problems.is_empty(),
            "{action}: the fake's delivery disagrees:\n  {}",
            problems.join("\n  ")
        );
        // The fields the receiver reads, with the types it reads them as.
        for (path, ty) in [
            ("action", "string"),
            ("number", "integer"),
            ("pull_request.number", "integer"),
            ("pull_request.state", "string"),
            ("pull_request.html_url", "string"),
            ("pull_request.updated_at", "string"),
            ("pull_request.head.sha", "string"),
            ("pull_request.labels", "array"),
            ("repository.full_name", "string"),
            ("repository.html_url", "string"),
        ] {
            let s = property(&hooks, schema, path)
                .unwrap_or_else(|| panic!("{action}: {path} not in the schema"));
            let t = s["type"].clone();
            assert!(
                t == ty || t.as_array().is_some_and(|a| a.contains(&Value::from(ty))),
                "{action}: {path} is {t}"
            );
        }
        if label.is_some() {
            assert_eq!(property(&hooks, schema, "label.name").unwrap()["type"], "string");
        }
    }
}

/// The checker itself must be able to fail.
#[test]
fn the_checker_catches_violations() {
    let Some((_, hooks)) = documents() else { return };
    let schema = &hooks["definitions"]["pull_request$labeled"];
    let good = pull_request_event("labeled", "acme/shop", &pull(1), true, Some("preview"));
    let count = |v: &Value| {
        let mut o = Vec::new();
        check(&hooks, schema, v, "$", 2, &mut o);
        o.len()
    };
    assert_eq!(count(&good), 0);
    let mut no_label = good.clone();
    no_label.as_object_mut().unwrap().remove("label");
    assert!(count(&no_label) > 0);
    let mut wrong_action = good.clone();
    wrong_action["action"] = "opened".into();
    assert!(count(&wrong_action) > 0);
    let mut wrong_type = good.clone();
    wrong_type["number"] = "42".into();
    assert!(count(&wrong_type) > 0);
    let mut no_head = good;
    no_head["pull_request"].as_object_mut().unwrap().remove("head");
    assert!(count(&no_head) > 0);
}

fn schema_of<'a>(rest: &'a Value, path: &str, method: &str, code: &str) -> &'a Value {
    &rest["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
}

fn conforms(rest: &Value, schema: &Value, body: &Value, what: &str) {
    assert!(schema.is_object(), "{what}: a schema in the document");
    let mut problems = Vec::new();
    check(rest, schema, body, "$", 2, &mut problems);
    assert!(
        problems.is_empty(),
        "{what}: the fake disagrees with GitHub:\n  {}",
        problems.join("\n  ")
    );
}

/// The request body Launchplane sends fits the operation's request schema: its properties
/// exist there with their types, and the required ones are present.
fn request_fits(rest: &Value, path: &str, method: &str, body: &Value) {
    let schema = &rest["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    let mut problems = Vec::new();
    check(rest, schema, body, "$", 1, &mut problems);
    let props = schema["properties"].as_object().unwrap();
    for k in body.as_object().unwrap().keys() {
        if !props.contains_key(k) {
            problems.push(format!("$.{k}: not a property of the request"));
        }
    }
    assert!(problems.is_empty(), "{method} {path}: {}", problems.join("; "));
}

fn query_params(rest: &Value, path: &str, method: &str) -> Vec<String> {
    rest["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_fakes_comments_are_githubs() {
    let Some((rest, _)) = documents() else { return };
    let list = "/repos/{owner}/{repo}/issues/{issue_number}/comments";
    let one = "/repos/{owner}/{repo}/issues/comments/{comment_id}";
    for q in ["per_page", "page"] {
        assert!(query_params(&rest, list, "get").iter().any(|p| p == q), "{q}");
    }
    let fake = GitHubFake::start("t0ken").await.unwrap();
    let base = fake.base_url();
    // What the client sends on create and edit.
    let body = serde_json::json!({"body": "<!-- launchplane:preview shop/shop-pr-42 -->\nhello"});
    request_fits(&rest, list, "post", &body);
    request_fits(&rest, one, "patch", &body);
    let (code, _, created) = raw(
        "POST",
        &format!("{base}/repos/acme/shop/issues/42/comments"),
        "t0ken",
        Some(&body),
    )
    .await;
    assert_eq!(code, 201);
    conforms(
        &rest,
        schema_of(&rest, list, "post", "201"),
        &created,
        "create comment",
    );
    let id = created["id"].as_i64().unwrap();
    fake.add_comment("acme/shop", 42, "octocat", "LGTM");
    fake.cap_page_size(1);
    let (code, link, listed) = raw(
        "GET",
        &format!("{base}/repos/acme/shop/issues/42/comments?per_page=100"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(link.is_some_and(|l| l.contains("rel=\"next\"") && l.contains("page=2")));
    conforms(
        &rest,
        schema_of(&rest, list, "get", "200"),
        &listed,
        "list comments",
    );
    let edit = serde_json::json!({"body": "edited"});
    let (code, _, edited) = raw(
        "PATCH",
        &format!("{base}/repos/acme/shop/issues/comments/{id}"),
        "t0ken",
        Some(&edit),
    )
    .await;
    assert_eq!(code, 200);
    conforms(
        &rest,
        schema_of(&rest, one, "patch", "200"),
        &edited,
        "edit comment",
    );
    let (code, _, read) = raw(
        "GET",
        &format!("{base}/repos/acme/shop/issues/comments/{id}"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!((code, read["body"].as_str()), (200, Some("edited")));
    conforms(&rest, schema_of(&rest, one, "get", "200"), &read, "get comment");
    let (code, _, _) = raw(
        "GET",
        &format!("{base}/repos/acme/shop/issues/comments/999999"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(code, 404, "a missing comment is 404, as documented");
    assert!(rest["paths"][one]["get"]["responses"]["404"].is_object());
    // The fields the feedback reads.
    for (path, ty) in [("id", "integer"), ("body", "string"), ("html_url", "string")] {
        let s = property(&rest, schema_of(&rest, one, "get", "200"), path).unwrap();
        assert_eq!(s["type"], ty, "{path}");
    }
}

#[tokio::test]
async fn the_fakes_deployments_are_githubs() {
    let Some((rest, _)) = documents() else { return };
    let list = "/repos/{owner}/{repo}/deployments";
    let statuses = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses";
    for q in ["environment", "sha", "per_page", "page"] {
        assert!(query_params(&rest, list, "get").iter().any(|p| p == q), "{q}");
    }
    let fake = GitHubFake::start("t0ken").await.unwrap();
    let base = fake.base_url();
    let sha = "b".repeat(40);
    // What the client sends (controller/src/github/client.rs NewDeployment, NewDeploymentStatus).
    let new = serde_json::json!({
        "ref": sha, "environment": "shop-pr-42", "description": "launchplane preview generation g1",
        "auto_merge": false, "required_contexts": [], "transient_environment": false,
        "production_environment": false
    });
    request_fits(&rest, list, "post", &new);
    let (code, _, created) = raw(
        "POST",
        &format!("{base}/repos/acme/shop/deployments"),
        "t0ken",
        Some(&new),
    )
    .await;
    assert_eq!(code, 201);
    conforms(
        &rest,
        schema_of(&rest, list, "post", "201"),
        &created,
        "create deployment",
    );
    let id = created["id"].as_i64().unwrap();
    let (code, _, listed) = raw(
        "GET",
        &format!("{base}/repos/acme/shop/deployments?environment=shop-pr-42&sha={sha}&per_page=100"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(code, 200);
    conforms(
        &rest,
        schema_of(&rest, list, "get", "200"),
        &listed,
        "list deployments",
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, _, other) = raw(
        "GET",
        &format!("{base}/repos/acme/shop/deployments?environment=prod"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(other.as_array().unwrap().len(), 0, "filtered by environment");
    for state in ["in_progress", "success", "failure", "inactive"] {
        let body = serde_json::json!({"state": state, "environment_url": "https://pr-42.preview.example.com", "description": "x"});
        request_fits(&rest, statuses, "post", &body);
        let (code, _, posted) = raw(
            "POST",
            &format!("{base}/repos/acme/shop/deployments/{id}/statuses"),
            "t0ken",
            Some(&body),
        )
        .await;
        assert_eq!(code, 201, "{state}");
        conforms(
            &rest,
            schema_of(&rest, statuses, "post", "201"),
            &posted,
            "create deployment status",
        );
    }
    let bad = serde_json::json!({"state": "finished"});
    let (code, _, _) = raw(
        "POST",
        &format!("{base}/repos/acme/shop/deployments/{id}/statuses"),
        "t0ken",
        Some(&bad),
    )
    .await;
    assert_eq!(code, 422, "a state outside the enum is refused, as GitHub does");
    assert_eq!(
        fake.deployments()[0].statuses,
        ["in_progress", "success", "failure", "inactive"]
    );
    for (path, ty) in [
        ("id", "integer"),
        ("sha", "string"),
        ("environment", "string"),
        ("description", "string"),
    ] {
        let s = property(&rest, schema_of(&rest, list, "post", "201"), path).unwrap();
        assert_eq!(s["type"], ty, "{path}");
    }
    // Faults apply to these routes too.
    fake.fault(GitHubFault::SecondaryRateLimit { retry_after: 5 });
    let (code, _, _) = raw(
        "POST",
        &format!("{base}/repos/acme/shop/deployments"),
        "t0ken",
        Some(&new),
    )
    .await;
    assert_eq!(code, 429);
}

#[tokio::test]
async fn the_fakes_issues_are_githubs() {
    let Some((rest, _)) = documents() else { return };
    let list = "/repos/{owner}/{repo}/issues";
    let one = "/repos/{owner}/{repo}/issues/{issue_number}";
    // What the incident destination asks the listing for.
    let params = query_params(&rest, list, "get");
    for q in ["state", "labels", "sort", "direction", "per_page", "page"] {
        assert!(params.iter().any(|p| p == q), "{q} not in {params:?}");
    }
    let state = rest["paths"][list]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "state")
        .unwrap();
    assert!(
        state["schema"]["enum"]
            .as_array()
            .unwrap()
            .contains(&"all".into())
    );
    assert!(
        rest["paths"][list]["get"]["responses"]["200"]["headers"]["Link"].is_object(),
        "pagination by Link"
    );
    let fake = GitHubFake::start("t0ken").await.unwrap();
    let base = fake.base_url();
    // What the client sends (controller/src/github/client.rs NewIssue, IssueUpdate).
    let new = serde_json::json!({
        "title": "[critical] Incident: shop/production check public (Mismatch)",
        "body": "evidence\n\n<!-- launchplane:incident shop/shop-production-public occurrence 1 -->",
        "labels": ["incident", "launchplane"]
    });
    request_fits(&rest, list, "post", &new);
    let close = serde_json::json!({"state": "closed", "state_reason": "completed"});
    request_fits(&rest, one, "patch", &close);

    let (code, _, created) = raw(
        "POST",
        &format!("{base}/repos/acme/ops/issues"),
        "t0ken",
        Some(&new),
    )
    .await;
    assert_eq!(code, 201);
    conforms(
        &rest,
        schema_of(&rest, list, "post", "201"),
        &created,
        "create issue",
    );
    let number = created["number"].as_i64().unwrap();
    fake.add_issue("acme/ops", "octocat", "unlabelled", "a person's", &[]);
    fake.add_issue(
        "acme/ops",
        "octocat",
        "another",
        "a person's",
        &["incident", "launchplane"],
    );
    fake.cap_page_size(1);
    let (code, link, listed) = raw(
        "GET",
        &format!("{base}/repos/acme/ops/issues?state=all&labels=incident,launchplane&sort=created&direction=asc&per_page=100"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(code, 200);
    conforms(
        &rest,
        schema_of(&rest, list, "get", "200"),
        &listed,
        "list issues",
    );
    assert_eq!(listed[0]["number"], number, "oldest first, as asked");
    let link = link.unwrap();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2") && link.contains("labels="),
        "{link}"
    );
    fake.cap_page_size(100);
    let (_, _, labelled) = raw(
        "GET",
        &format!("{base}/repos/acme/ops/issues?state=all&labels=incident,launchplane"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(
        labelled.as_array().unwrap().len(),
        2,
        "only issues carrying every label"
    );

    let (code, _, closed) = raw(
        "PATCH",
        &format!("{base}/repos/acme/ops/issues/{number}"),
        "t0ken",
        Some(&close),
    )
    .await;
    assert_eq!(code, 200);
    conforms(
        &rest,
        schema_of(&rest, one, "patch", "200"),
        &closed,
        "close issue",
    );
    assert_eq!(
        (closed["state"].as_str(), closed["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
    let (code, _, read) = raw(
        "GET",
        &format!("{base}/repos/acme/ops/issues/{number}"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(code, 200);
    conforms(&rest, schema_of(&rest, one, "get", "200"), &read, "get issue");
    let (_, _, open_only) = raw(
        "GET",
        &format!("{base}/repos/acme/ops/issues?labels=incident"),
        "t0ken",
        None,
    )
    .await;
    assert!(
        open_only.as_array().unwrap().iter().all(|i| i["state"] == "open"),
        "state defaults to open, as documented"
    );

    // Documented refusals.
    let (code, _, _) = raw(
        "GET",
        &format!("{base}/repos/acme/ops/issues/99999"),
        "t0ken",
        None,
    )
    .await;
    assert_eq!(code, 404);
    assert!(rest["paths"][one]["get"]["responses"]["404"].is_object());
    let bad = serde_json::json!({"state": "finished"});
    let (code, _, _) = raw(
        "PATCH",
        &format!("{base}/repos/acme/ops/issues/{number}"),
        "t0ken",
        Some(&bad),
    )
    .await;
    assert_eq!(code, 422);
    assert!(rest["paths"][one]["patch"]["responses"]["422"].is_object());
    let untitled = serde_json::json!({"body": "no title"});
    let (code, _, _) = raw(
        "POST",
        &format!("{base}/repos/acme/ops/issues"),
        "t0ken",
        Some(&untitled),
    )
    .await;
    assert_eq!(code, 422, "title is required");
    assert!(rest["paths"][list]["post"]["responses"]["422"].is_object());
    fake.fault(GitHubFault::PrimaryRateLimit { reset: 1_900_000_000 });
    let (code, _, _) = raw(
        "POST",
        &format!("{base}/repos/acme/ops/issues"),
        "t0ken",
        Some(&new),
    )
    .await;
    assert_eq!(code, 403, "the primary rate limit on a write");
    assert!(rest["paths"][list]["post"]["responses"]["403"].is_object());
    assert_eq!(fake.issues().len(), 3, "nothing filed by refused calls");

    // The fields the incident destination reads, with the types it reads them as.
    for (path, ty) in [
        ("number", "integer"),
        ("state", "string"),
        ("body", "string"),
        ("html_url", "string"),
    ] {
        let s = property(&rest, schema_of(&rest, one, "get", "200"), path).unwrap();
        let t = &s["type"];
        assert!(
            t == ty || t.as_array().is_some_and(|a| a.contains(&Value::from(ty))),
            "{path}: {t}"
        );
    }
    assert!(property(&rest, schema_of(&rest, one, "get", "200"), "pull_request").is_some());
}

/// A request with a bearer token over a plain TCP stream (the e2e crate has no HTTP client):
/// the status, the `Link` header and the JSON body.
async fn raw(method: &str, url: &str, token: &str, body: Option<&Value>) -> (u16, Option<String>, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let link = head
        .lines()
        .find_map(|l| l.strip_prefix("link: ").or_else(|| l.strip_prefix("Link: ")))
        .map(str::to_string);
    (code, link, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A GET with a bearer token over a plain TCP stream (the e2e crate has no HTTP client): the
/// `Link` header and the JSON body.
async fn reqwest_free_get(url: &str, token: &str) -> (Option<String>, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let link = head
        .lines()
        .find_map(|l| l.strip_prefix("link: ").or_else(|| l.strip_prefix("Link: ")))
        .map(str::to_string);
    // axum answers with a Content-Length here (no chunking) for a JSON body.
    (link, serde_json::from_str(body).unwrap())
}
