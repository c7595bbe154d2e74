//! A dotenv parser in the spirit of the `dotenv` npm package (v16) that Dokploy uses at deploy
//! time: `KEY=VALUE` lines, `#` comments, blank lines, an optional `export ` prefix, and
//! single, double or backtick quotes (possibly spanning lines; `\n` and `\r` are expanded
//! inside double quotes). Later keys win.

use std::collections::BTreeMap;

pub fn parse(src: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let src = src.replace("\r\n", "\n").replace('\r', "\n");
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let n = chars.len();
    let skip_line = |mut i: usize| {
        while i < n && chars[i] != '\n' {
            i += 1;
        }
        i + 1
    };
    while i < n {
        // leading whitespace (including blank lines)
        while i < n && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= n {
            break;
        }
        if chars[i] == '#' {
            i = skip_line(i);
            continue;
        }
        // optional `export `
        let rest: String = chars[i..n.min(i + 7)].iter().collect();
        if rest.starts_with("export") && rest.chars().nth(6).is_some_and(|c| c == ' ' || c == '\t') {
            i += 6;
            while i < n && (chars[i] == ' ' || chars[i] == '\t') {
                i += 1;
            }
        }
        let key_start = i;
        while i < n && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.' | '-')) {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        while i < n && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if key.is_empty() || i >= n || !(chars[i] == '=' || chars[i] == ':') {
            i = skip_line(i);
            continue;
        }
        i += 1;
        while i < n && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        let value;
        if i < n && matches!(chars[i], '"' | '\'' | '`') {
            let quote = chars[i];
            let mut j = i + 1;
            let mut closing = None;
            while j < n {
                if chars[j] == '\\' && j + 1 < n && chars[j + 1] == quote {
                    j += 2;
                    continue;
                }
                if chars[j] == quote {
                    closing = Some(j);
                    break;
                }
                j += 1;
            }
            match closing {
                Some(end) => {
                    let inner: String = chars[i + 1..end].iter().collect();
                    value = if quote == '"' {
                        inner.replace("\\n", "\n").replace("\\r", "\r")
                    } else {
                        inner
                    };
                    i = skip_line(end + 1);
                }
                None => {
                    // no closing quote: take the rest of the line as an unquoted value
                    let end = chars[i..].iter().position(|&c| c == '\n').map_or(n, |p| i + p);
                    value = unquoted(&chars[i..end]);
                    i = end + 1;
                }
            }
        } else {
            let end = chars[i..].iter().position(|&c| c == '\n').map_or(n, |p| i + p);
            value = unquoted(&chars[i..end]);
            i = end + 1;
        }
        out.insert(key, value);
    }
    out
}

fn unquoted(chars: &[char]) -> String {
    let s: String = chars.iter().collect();
    let s = match s.find('#') {
        Some(p) => &s[..p],
        None => &s[..],
    };
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_the_common_forms() {
        let env = parse(
            "# comment\n\nA=1\nexport B = two words \nC='single # kept'\nD=\"line\\nbreak\"\nE=x # trailing\nF=\nbad line\nG=`multi\nline`\nA=override\n",
        );
        assert_eq!(env.get("A").map(String::as_str), Some("override"));
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("single # kept"));
        assert_eq!(env.get("D").map(String::as_str), Some("line\nbreak"));
        assert_eq!(env.get("E").map(String::as_str), Some("x"));
        assert_eq!(env.get("F").map(String::as_str), Some(""));
        assert_eq!(env.get("G").map(String::as_str), Some("multi\nline"));
        assert!(!env.contains_key("bad"));
    }

    #[test]
    fn keeps_json_values() {
        let env = parse("LAUNCHPLANE_RUNTIME_IDENTITY_JSON='{\"product\":\"web\",\"n\":1}'\n");
        assert_eq!(
            env.get("LAUNCHPLANE_RUNTIME_IDENTITY_JSON").map(String::as_str),
            Some("{\"product\":\"web\",\"n\":1}")
        );
        let env = parse("X={\"a\":\"b\"}");
        assert_eq!(env.get("X").map(String::as_str), Some("{\"a\":\"b\"}"));
    }
}
