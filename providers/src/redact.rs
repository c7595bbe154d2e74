//! Turning response bodies into short, secret-free error reasons.
//!
//! Three layers, so that no single mistake leaks a secret:
//! 1. Structure: a Dokploy error body is `{message, code, data:{…, stack}, issues}`; only
//!    `message`, `code` and the *names* of invalid fields are quoted. Stack traces (dev mode) and
//!    zod issue details are dropped.
//! 2. Keys: any other JSON body has the values of secret-looking keys (`password`, `env`,
//!    `*key*`, `*token*`, `*secret*`, …) replaced by `<redacted>` before it is quoted.
//! 3. Known values: the caller passes the secrets it holds (the API key, env values and registry
//!    password of the request); any occurrence in the text is replaced. Values shorter than
//!    [`MIN_SCRUB_LEN`] are skipped, because replacing `1` or `ab` everywhere would garble the
//!    reason while protecting nothing an attacker couldn't guess.
//!
//! Finally the reason is cut to [`MAX_REASON_CHARS`] characters. Request bodies are never
//! quoted anywhere.

use serde_json::Value;

/// Longest reason quoted from a response body.
pub const MAX_REASON_CHARS: usize = 200;

/// Shortest known secret that is scrubbed by value (layer 3).
pub const MIN_SCRUB_LEN: usize = 4;

const REDACTED: &str = "<redacted>";

/// Whether a JSON key names a value that must not be quoted.
pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const NEEDLES: [&str; 8] = [
        "password",
        "secret",
        "token",
        "key",
        "auth",
        "cookie",
        "credential",
        "buildargs",
    ];
    // `env`, `previewEnv`: dotenv strings. `environmentId`/`environmentName` are not secrets and
    // are useful in diagnostics, so match `env` as a whole word at the end only.
    k == "env" || k.ends_with("env") || NEEDLES.iter().any(|n| k.contains(n))
}

/// Replace, in place, the value of every sensitive key anywhere in `value`.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive_key(k) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Replace every occurrence of each known secret (≥ [`MIN_SCRUB_LEN`] bytes) with `<redacted>`.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if s.len() >= MIN_SCRUB_LEN && out.contains(s) {
            out = out.replace(s, REDACTED);
        }
    }
    out
}

/// Cut `text` to at most `max` characters (on a char boundary), marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((idx, _)) => format!("{}…", &text[..idx]),
    }
}

/// A short reason for an error response: see the module docs for what is kept.
pub fn summarize_body(body: &[u8], secrets: &[&str]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) if map.get("message").is_some_and(Value::is_string) => {
            let mut out = map
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(code) = map.get("code").and_then(Value::as_str) {
                out.push_str(&format!(" ({code})"));
            }
            let fields: Vec<&str> = map
                .get("data")
                .and_then(|d| d.get("zodError"))
                .and_then(|z| z.get("fieldErrors"))
                .and_then(Value::as_object)
                .map(|f| f.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if !fields.is_empty() {
                out.push_str(&format!("; invalid fields: {}", fields.join(", ")));
            }
            out
        }
        Ok(mut other) => {
            redact_json(&mut other);
            other.to_string()
        }
        Err(_) => {
            let lossy = String::from_utf8_lossy(body);
            let collapsed: Vec<&str> = lossy.split_whitespace().collect();
            if collapsed.is_empty() {
                "empty body".to_owned()
            } else {
                collapsed.join(" ")
            }
        }
    };
    truncate(&scrub(&text, secrets), MAX_REASON_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_keys() {
        for k in [
            "password",
            "env",
            "previewEnv",
            "apiKey",
            "x-api-key",
            "refreshToken",
            "buildSecrets",
            "buildArgs",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in [
            "environmentId",
            "environmentName",
            "name",
            "host",
            "message",
            "applicationId",
        ] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn dokploy_error_envelope_keeps_message_code_and_field_names_only() {
        let body = br#"{"message":"Input validation failed","code":"BAD_REQUEST","data":{"code":"BAD_REQUEST","httpStatus":400,"stack":"Error at /secret/path hunter2","path":"application.saveEnvironment","zodError":{"formErrors":[],"fieldErrors":{"buildSecrets":["x"],"createEnvFile":["y"]}}},"issues":[{"message":"received hunter2"}]}"#;
        let r = summarize_body(body, &[]);
        assert_eq!(
            r,
            "Input validation failed (BAD_REQUEST); invalid fields: buildSecrets, createEnvFile"
        );
        assert!(!r.contains("hunter2"));
    }

    #[test]
    fn gateway_401_body() {
        assert_eq!(
            summarize_body(br#"{"message":"Unauthorized"}"#, &[]),
            "Unauthorized"
        );
    }

    #[test]
    fn other_json_is_key_redacted() {
        let body = br#"{"applicationId":"a1","env":"DB_PASSWORD=hunter2","nested":[{"password":"pw1234"}],"registry":{"token":"t0k3n"}}"#;
        let r = summarize_body(body, &[]);
        assert!(
            !r.contains("hunter2") && !r.contains("pw1234") && !r.contains("t0k3n"),
            "{r}"
        );
        assert!(r.contains("a1"));
    }

    #[test]
    fn plain_text_is_collapsed_scrubbed_and_truncated() {
        assert_eq!(summarize_body(b"Invalid JSON", &[]), "Invalid JSON");
        assert_eq!(summarize_body(b"", &[]), "empty body");
        let r = summarize_body(
            b"oops the key is sk_live_abcdef\n\n and more",
            &["sk_live_abcdef", "ab"],
        );
        assert_eq!(r, "oops the key is <redacted> and more");
        let long = "é".repeat(1000);
        let r = summarize_body(long.as_bytes(), &[]);
        assert_eq!(r.chars().count(), MAX_REASON_CHARS + 1);
        assert!(r.ends_with('…'));
    }

    #[test]
    fn message_is_scrubbed_of_known_secrets() {
        let r = summarize_body(br#"{"message":"bad value s3cr3t-value here"}"#, &["s3cr3t-value"]);
        assert_eq!(r, "bad value <redacted> here");
    }
}
