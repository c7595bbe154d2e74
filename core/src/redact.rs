//! Text made safe to keep: the credentials a URL may carry withheld.

use launchplane_providers::redact::is_sensitive_key;

/// `text` with every URL's user and password, and the values of its secret-looking query
/// parameters (`token=`, `key=`, `password=`, ...), replaced by `<redacted>`. A health check's
/// URL is the user's to write, and may carry either.
pub fn without_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let end = rest[at + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']'))
            .map_or(rest.len(), |e| at + 3 + e);
        out.push_str(&rest[..at + 3]);
        out.push_str(&safe_url_tail(&rest[at + 3..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A URL after its `scheme://`, with credentials and secret query values withheld.
fn safe_url_tail(tail: &str) -> String {
    let authority_end = tail.find(['/', '?', '#']).unwrap_or(tail.len());
    let (authority, path) = tail.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("<redacted>@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let Some(q) = path.find('?') else {
        return format!("{authority}{path}");
    };
    let (before, query) = path.split_at(q + 1);
    let (query, fragment) = query.split_at(query.find('#').unwrap_or(query.len()));
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_sensitive_key(key) => format!("{key}=<redacted>"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{authority}{before}{}{fragment}", query.join("&"))
}
