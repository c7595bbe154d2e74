//! Notifications (`notification.*`) as Dokploy v0.30 serves the custom kind: a `notification`
//! row with its `custom` row (endpoint, headers).
//!
//! - `notification.createCustom` answers 200 with an **empty body**: Dokploy's service awaits
//!   its transaction and returns nothing, so the caller learns no id.
//! - `notification.all` lists the organization's rows, newest first, **without** the custom
//!   part (its query joins the older kinds only; a client must not rely on it).
//! - `notification.one` returns the row with `custom: {customId, endpoint, headers}`; 404 when
//!   absent.
//! - `notification.updateCustom` rewrites the row and its custom part (by `customId`); 400 when
//!   the notification does not exist.
//! - `notification.remove` deletes the row (400 "Error deleting this notification" when absent,
//!   as the router wraps the not-found).

use super::errors::TrpcError;
use super::state::{State, new_id};
use serde_json::{Map, Value, json};

const FLAGS: [&str; 9] = [
    "appDeploy",
    "appBuildError",
    "databaseBackup",
    "dokployBackup",
    "volumeBackup",
    "dokployRestart",
    "dockerCleanup",
    "serverThreshold",
    "name",
];

fn row_from(input: &Map<String, Value>, notification_id: &str, custom_id: &str, created_at: &str) -> Value {
    let mut row = Map::new();
    row.insert("notificationId".into(), json!(notification_id));
    row.insert("notificationType".into(), json!("custom"));
    row.insert("customId".into(), json!(custom_id));
    row.insert("createdAt".into(), json!(created_at));
    for f in FLAGS {
        let v = input
            .get(f)
            .cloned()
            .unwrap_or(if f == "name" { json!("") } else { json!(false) });
        row.insert(f.into(), v);
    }
    row.insert(
        "custom".into(),
        json!({
            "customId": custom_id,
            "endpoint": input.get("endpoint").cloned().unwrap_or(Value::Null),
            "headers": input.get("headers").cloned().unwrap_or(json!({})),
        }),
    );
    Value::Object(row)
}

pub(crate) fn create_custom(st: &mut State, input: &Map<String, Value>) {
    let id = new_id();
    let created_at = jiff::Timestamp::now().to_string();
    let row = row_from(input, &id, &new_id(), &created_at);
    st.notifications.push(row);
}

pub(crate) fn update_custom(st: &mut State, input: &Map<String, Value>) -> Result<Value, TrpcError> {
    let id = input
        .get("notificationId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let custom_id = input.get("customId").and_then(Value::as_str).unwrap_or_default();
    let Some(row) = st.notifications.iter_mut().find(|r| r["notificationId"] == id) else {
        return Err(TrpcError::bad_request("Error Updating notification"));
    };
    let created_at = row["createdAt"].as_str().unwrap_or_default().to_string();
    let mut merged = row.as_object().cloned().unwrap_or_default();
    for (k, v) in input {
        merged.insert(k.clone(), v.clone());
    }
    *row = row_from(&merged, id, custom_id, &created_at);
    let mut answer = row.clone();
    if let Some(o) = answer.as_object_mut() {
        o.remove("custom");
    }
    Ok(answer)
}

pub(crate) fn one(st: &State, id: &str) -> Result<Value, TrpcError> {
    st.notifications
        .iter()
        .find(|r| r["notificationId"] == id)
        .cloned()
        .ok_or_else(|| TrpcError::not_found("Notification not found"))
}

pub(crate) fn all(st: &State) -> Value {
    Value::Array(
        st.notifications
            .iter()
            .rev()
            .map(|r| {
                let mut r = r.clone();
                if let Some(o) = r.as_object_mut() {
                    o.remove("custom");
                }
                r
            })
            .collect(),
    )
}

pub(crate) fn remove(st: &mut State, id: &str) -> Result<Value, TrpcError> {
    match st.notifications.iter().position(|r| r["notificationId"] == id) {
        Some(at) => {
            let mut row = st.notifications.remove(at);
            if let Some(o) = row.as_object_mut() {
                o.remove("custom");
            }
            Ok(row)
        }
        None => Err(TrpcError::bad_request("Error deleting this notification")),
    }
}
