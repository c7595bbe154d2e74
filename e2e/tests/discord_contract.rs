//! Contract test: the Discord webhook fake (`launchplane_e2e::discord`) against Discord's own
//! description in `shared/discord/webhooks-openapi-subset.json`: the route and its `wait` query
//! parameter exist; the body Launchplane sends fits `IncomingWebhookRequestPartial` (and the
//! embed `RichEmbed`); the fake's 200 is a `MessageResponse`, its 429 a `RatelimitedResponse`
//! with the documented headers, its 4xx an `Error`; 204 without `wait`.
//!
//! The document is read from `$DISCORD_SHARED` (a folder), else `../shared/discord` next to the
//! workspace. Without it the test prints SKIPPED with the reason and passes: it is reference
//! material, not part of this repository.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod openapi;

use launchplane_e2e::discord::{DiscordFake, DiscordFault};
use openapi::{check, resolve};
use serde_json::{Value, json};
use std::path::PathBuf;

const EXECUTE: &str = "/webhooks/{webhook_id}/{webhook_token}";

fn document() -> Option<Value> {
    let dir = std::env::var_os("DISCORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/discord"));
    let file = dir.join("webhooks-openapi-subset.json");
    match std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(doc) => Some(doc),
        None => {
            eprintln!(
                "\n*** SKIPPED: Discord contract test: {} is missing or unreadable; set DISCORD_SHARED ***\n",
                file.display()
            );
            None
        }
    }
}

fn problems(doc: &Value, schema: &Value, value: &Value, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, value, "$", depth, &mut out);
    out
}

/// The body `DiscordDestination` sends (controller/src/notify/destinations/discord.rs).
fn launchplane_body() -> Value {
    json!({
        "embeds": [{
            "title": "Incident opened: shop/production check public",
            "description": "the app serves sha256:0bad",
            "color": 0xD1242F,
            "timestamp": "2027-01-15T08:00:00Z",
            "fields": [
                {"name": "Product", "value": "shop", "inline": true},
                {"name": "Severity", "value": "critical", "inline": true}
            ],
            "footer": {"text": "shop/shop-production-public occurrence 1"}
        }],
        "allowed_mentions": {"parse": []},
        "username": "Launchplane"
    })
}

async fn post(url: &str, body: &Value) -> (u16, Vec<(String, String)>, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let payload = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (code, headers, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_fakes_webhook_is_discords() {
    let Some(doc) = document() else { return };
    let op = &doc["paths"][EXECUTE]["post"];
    assert!(op.is_object(), "POST {EXECUTE} is in the document");
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(params.contains(&"wait"), "{params:?}");

    // The request Launchplane sends fits one of the documented bodies, with the limits.
    let request = &op["requestBody"]["content"]["application/json"]["schema"];
    let body = launchplane_body();
    let p = problems(&doc, request, &body, 3);
    assert!(p.is_empty(), "Launchplane's body disagrees: {p:?}");
    let partial = resolve(
        &doc,
        &json!({"$ref": "#/components/schemas/IncomingWebhookRequestPartial"}),
    )
    .clone();
    for key in body.as_object().unwrap().keys() {
        assert!(
            partial["properties"][key].is_object(),
            "{key} is a documented property"
        );
    }
    let embed = resolve(&doc, &json!({"$ref": "#/components/schemas/RichEmbed"})).clone();
    for key in body["embeds"][0].as_object().unwrap().keys() {
        assert!(
            embed["properties"][key].is_object(),
            "embed.{key} is a documented property"
        );
    }
    assert_eq!(embed["properties"]["title"]["maxLength"], 256);
    assert_eq!(embed["properties"]["description"]["maxLength"], 4096);

    let fake = DiscordFake::start("1200000000000000001", "t0ken").await.unwrap();
    let url = fake.webhook_url();

    let (code, _, message) = post(&format!("{url}?wait=true"), &body).await;
    assert_eq!(code, 200);
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    let p = problems(&doc, schema, &message, 2);
    assert!(p.is_empty(), "the fake's message disagrees with Discord's: {p:?}");
    let id_schema = resolve(&doc, &json!({"$ref": "#/components/schemas/SnowflakeType"})).clone();
    assert_eq!(
        id_schema["type"], "string",
        "the message id, Launchplane's remote id, is a string"
    );
    assert!(
        message["id"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );

    let (code, _, _) = post(&url, &body).await;
    assert_eq!(code, 204, "without wait, no message comes back");
    assert!(op["responses"]["204"].is_object());

    fake.fault(DiscordFault::RateLimited {
        retry_after: 1.5,
        global: false,
        header: true,
    });
    let (code, headers, limited) = post(&format!("{url}?wait=true"), &body).await;
    assert_eq!(code, 429);
    let rl = resolve(&doc, &op["responses"]["429"]).clone();
    let p = problems(&doc, &rl["content"]["application/json"]["schema"], &limited, 2);
    assert!(p.is_empty(), "the fake's 429 disagrees: {p:?}");
    for h in rl["headers"].as_object().unwrap().keys() {
        assert!(
            headers.iter().any(|(k, _)| *k == h.to_ascii_lowercase()),
            "documented header {h} is sent"
        );
    }

    fake.fault(DiscordFault::Status(500));
    let (code, _, _) = post(&format!("{url}?wait=true"), &body).await;
    assert_eq!(code, 500);

    // 4xx answers are Discord's error object.
    let err = resolve(&doc, &op["responses"]["4XX"]).clone();
    let err_schema = &err["content"]["application/json"]["schema"];
    let (code, _, empty) = post(&format!("{url}?wait=true"), &json!({"content": ""})).await;
    assert_eq!(code, 400, "an empty message is refused");
    assert!(problems(&doc, err_schema, &empty, 2).is_empty());
    let wrong = url.replace("t0ken", "other");
    let (code, _, unknown) = post(&format!("{wrong}?wait=true"), &body).await;
    assert_eq!(code, 401);
    assert!(problems(&doc, err_schema, &unknown, 2).is_empty());
    let mut long = body.clone();
    long["embeds"][0]["title"] = json!("x".repeat(257));
    let (code, _, _) = post(&format!("{url}?wait=true"), &long).await;
    assert_eq!(code, 400, "an embed title over the documented 256 is refused");
    assert_eq!(fake.messages().len(), 2, "only the two good posts were kept");
}

/// The checker itself must be able to fail on this document.
#[test]
fn the_checker_catches_violations() {
    let Some(doc) = document() else { return };
    let schema = &doc["paths"][EXECUTE]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
    let good = launchplane_e2e::discord::message_response(
        "1",
        &launchplane_e2e::discord::DiscordMessage {
            id: "2".into(),
            username: None,
            content: None,
            embeds: vec![],
            body: Value::Null,
        },
    );
    assert!(problems(&doc, schema, &good, 2).is_empty());
    let mut no_id = good.clone();
    no_id.as_object_mut().unwrap().remove("id");
    assert!(!problems(&doc, schema, &no_id, 2).is_empty());
    let mut numeric_id = good.clone();
    numeric_id["id"] = json!(2);
    assert!(!problems(&doc, schema, &numeric_id, 2).is_empty());
    let mut bad_type = good;
    bad_type["type"] = json!(9999);
    assert!(
        !problems(&doc, schema, &bad_type, 2).is_empty(),
        "a message type outside the consts"
    );
}
