//! Dokploy's error bodies: the tRPC envelope, the gateway's 401, and Next.js's plain-text
//! body-parser errors.

use axum::body::Body;
use axum::response::Response;
use http::header::{CONNECTION, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

/// An error raised "inside a procedure", rendered as the tRPC envelope
/// `{message, code, data:{code, httpStatus, path, zodError}, issues?}`.
#[derive(Debug, Clone)]
pub(crate) struct TrpcError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub issues: Option<Vec<Value>>,
    pub zod_error: Option<Value>,
}

impl TrpcError {
    pub fn new(status: u16, message: impl Into<String>) -> TrpcError {
        TrpcError {
            status,
            code: code_for_status(status),
            message: message.into(),
            issues: None,
            zod_error: None,
        }
    }
    pub fn not_found(message: impl Into<String>) -> TrpcError {
        TrpcError::new(404, message)
    }
    pub fn bad_request(message: impl Into<String>) -> TrpcError {
        TrpcError::new(400, message)
    }
    /// The 400 "Input validation failed" error with zod's issues and flattened field errors.
    pub fn validation(issues: Vec<Value>) -> TrpcError {
        let mut field_errors: Map<String, Value> = Map::new();
        let mut form_errors: Vec<Value> = Vec::new();
        for issue in &issues {
            let message = issue.get("message").cloned().unwrap_or(Value::Null);
            match issue
                .get("path")
                .and_then(Value::as_array)
                .and_then(|p| p.first())
                .and_then(Value::as_str)
            {
                Some(field) => {
                    if let Value::Array(list) = field_errors
                        .entry(field.to_string())
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        list.push(message);
                    }
                }
                None => form_errors.push(message),
            }
        }
        TrpcError {
            status: 400,
            code: "BAD_REQUEST",
            message: "Input validation failed".to_string(),
            zod_error: Some(json!({"formErrors": form_errors, "fieldErrors": field_errors})),
            issues: Some(issues),
        }
    }

    /// `path` is the procedure path; `None` for routing errors, whose `data` has no `path`.
    pub fn into_response(self, path: Option<&str>) -> Response {
        let mut data = Map::new();
        data.insert("code".into(), json!(self.code));
        data.insert("httpStatus".into(), json!(self.status));
        if let Some(path) = path {
            data.insert("path".into(), json!(path));
        }
        data.insert("zodError".into(), self.zod_error.unwrap_or(Value::Null));
        let mut body = Map::new();
        body.insert("message".into(), json!(self.message));
        body.insert("code".into(), json!(self.code));
        body.insert("data".into(), Value::Object(data));
        if let Some(issues) = self.issues {
            body.insert("issues".into(), Value::Array(issues));
        }
        json_response(self.status, &Value::Object(body))
    }
}

/// The tRPC code for an HTTP status (tRPC's own mapping, plus a fallback).
pub(crate) fn code_for_status(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        402 => "PAYMENT_REQUIRED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_SUPPORTED",
        408 => "TIMEOUT",
        409 => "CONFLICT",
        412 => "PRECONDITION_FAILED",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        422 => "UNPROCESSABLE_CONTENT",
        429 => "TOO_MANY_REQUESTS",
        499 => "CLIENT_CLOSED_REQUEST",
        501 => "NOT_IMPLEMENTED",
        502 => "BAD_GATEWAY",
        503 => "SERVICE_UNAVAILABLE",
        504 => "GATEWAY_TIMEOUT",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

pub(crate) fn raw_response(code: u16, content_type: Option<&'static str>, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status(code);
    if let Some(ct) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    response
}

/// A procedure result: `Content-Type: application/json`, as the tRPC adapter writes it.
pub(crate) fn json_response(code: u16, value: &Value) -> Response {
    raw_response(code, Some("application/json"), value.to_string())
}

/// The gateway's 401: `{"message":"Unauthorized"}`, no envelope.
pub(crate) fn unauthorized() -> Response {
    raw_response(
        401,
        Some("application/json; charset=utf-8"),
        r#"{"message":"Unauthorized"}"#,
    )
}

/// Next.js's body parser on a body that is not JSON: plain text, no Content-Type.
pub(crate) fn invalid_json() -> Response {
    raw_response(400, None, "Invalid JSON")
}

pub(crate) fn close_connection(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A connection cut before the answer is complete, as a proxy or a restarting server cuts it:
/// the body fails at once, so the server closes the connection without a complete response and
/// the client sees a transport error, not an HTTP status.
pub(crate) fn dropped_connection() -> Response {
    let cut = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the simulator",
        ))
    });
    let mut response = Response::new(Body::from_stream(cut));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    close_connection(response)
}
