use super::*;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::new(*v)))
        .collect()
}

fn rm(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

fn merged(current: &str, s: &[(&str, &str)], r: &[&str]) -> MergeOutcome {
    match merge(current, &set(s), &rm(r)) {
        Ok(o) => o,
        Err(e) => panic!("merge failed: {e}"),
    }
}

/// Parse back with this module's dotenv reader (last occurrence wins, as in dotenv).
fn parsed(text: &str) -> BTreeMap<String, String> {
    segments(text)
        .into_iter()
        .filter_map(|s| {
            s.assign
                .map(|a| (a.key, decode_value(&text[a.value_start..a.value_end])))
        })
        .collect()
}

#[test]
fn empty_text_gets_keys_in_order_without_trailing_newline() {
    let o = merged("", &[("B", "2"), ("A", "1")], &[]);
    assert_eq!(o.env.expose(), "A=1\nB=2");
    assert_eq!(o.added, ["A", "B"]);
    assert!(o.changed());
}

#[test]
fn unrelated_lines_kept_byte_for_byte() {
    let cur = "# header comment\n\nexport FOO='single quoted'\nBAR=\"double # not comment\"\n  INDENTED = spaced   # trailing\nOWNED=old\nZED=`back`\n";
    let o = merged(cur, &[("OWNED", "new")], &[]);
    assert_eq!(
        o.env.expose(),
        "# header comment\n\nexport FOO='single quoted'\nBAR=\"double # not comment\"\n  INDENTED = spaced   # trailing\nOWNED=new\nZED=`back`\n"
    );
    assert_eq!(o.updated, ["OWNED"]);
    assert!(o.added.is_empty() && o.removed.is_empty());
}

#[test]
fn export_prefix_indentation_and_trailing_comment_survive_an_update() {
    let o = merged(
        "  export OWNED=old   # managed by launchplane\n",
        &[("OWNED", "new value")],
        &[],
    );
    assert_eq!(
        o.env.expose(),
        "  export OWNED='new value'   # managed by launchplane\n"
    );
    assert_eq!(parsed(o.env.expose())["OWNED"], "new value");
}

#[test]
fn empty_value_followed_by_comment() {
    let o = merged("OWNED= # note\n", &[("OWNED", "x")], &[]);
    assert_eq!(o.env.expose(), "OWNED= x # note\n");
    assert_eq!(parsed(o.env.expose())["OWNED"], "x");
}

#[test]
fn equal_value_is_not_rewritten_whatever_its_quoting() {
    for cur in ["A=\"x\"\n", "A='x'", "A=x # c", "A = x", "export A=`x`\r\n"] {
        let o = merged(cur, &[("A", "x")], &[]);
        assert_eq!(o.env.expose(), cur);
        assert!(!o.changed(), "{cur:?}");
    }
}

#[test]
fn remove_only_listed_keys() {
    let o = merged("A=1\n# keep\nB=2\nC=3\n", &[], &["B", "MISSING"]);
    assert_eq!(o.env.expose(), "A=1\n# keep\nC=3\n");
    assert_eq!(o.removed, ["B"]);
}

#[test]
fn removing_the_last_line_keeps_the_no_trailing_newline_style() {
    let o = merged("A=1\nB=2", &[], &["B"]);
    assert_eq!(o.env.expose(), "A=1");
    let o = merged("A=1\r\nB=2", &[], &["B"]);
    assert_eq!(o.env.expose(), "A=1");
    let o = merged("A=1\nB=2\n", &[], &["B"]);
    assert_eq!(o.env.expose(), "A=1\n");
}

#[test]
fn removing_a_nonexistent_key_changes_nothing() {
    let o = merged("A=1", &[], &["B"]);
    assert!(!o.changed());
    assert_eq!(o.env.expose(), "A=1");
}

#[test]
fn multi_line_quoted_values_are_one_entry() {
    let cur = "CERT=\"-----BEGIN\nB=not-a-key\n-----END\"\nA=1\n";
    assert_eq!(keys(cur), ["CERT", "A"]);
    // Setting B appends: the `B=` inside CERT's value is not an assignment.
    let o = merged(cur, &[("B", "2")], &[]);
    assert_eq!(o.env.expose(), format!("{cur}B=2\n"));
    // Removing CERT removes all three physical lines.
    let o = merged(cur, &[], &["CERT"]);
    assert_eq!(o.env.expose(), "A=1\n");
    let o = merged("K='a\nb' # c\nA=1", &[("K", "z")], &[]);
    assert_eq!(o.env.expose(), "K=z # c\nA=1");
}

#[test]
fn unclosed_quote_is_an_unquoted_single_line_value() {
    let cur = "A=\"open\nB=2\n";
    assert_eq!(keys(cur), ["A", "B"]);
    assert_eq!(parsed(cur)["A"], "\"open");
}

#[test]
fn crlf_is_preserved_and_used_for_new_lines() {
    let cur = "# c\r\nA=1\r\nB=2\r\n";
    let o = merged(cur, &[("A", "9"), ("NEW", "x")], &[]);
    assert_eq!(o.env.expose(), "# c\r\nA=9\r\nB=2\r\nNEW=x\r\n");
    assert_eq!(parsed(o.env.expose())["B"], "2");
}

#[test]
fn appending_follows_the_trailing_newline_style() {
    assert_eq!(
        merged("FOO=bar\nPORT=8080", &[("N", "1")], &[]).env.expose(),
        "FOO=bar\nPORT=8080\nN=1"
    );
    assert_eq!(
        merged("FOO=bar\n", &[("N", "1")], &[]).env.expose(),
        "FOO=bar\nN=1\n"
    );
    assert_eq!(
        merged("# only a comment", &[("N", "1")], &[]).env.expose(),
        "# only a comment\nN=1"
    );
}

#[test]
fn duplicate_keys_every_occurrence_is_edited() {
    let o = merged("A=1\nB=x\nA=2\n", &[("A", "3")], &[]);
    assert_eq!(o.env.expose(), "A=3\nB=x\nA=3\n");
    assert_eq!(o.updated, ["A"]);
    // Only the occurrences that differ are rewritten.
    let o = merged("A=3\nA='old'\n", &[("A", "3")], &[]);
    assert_eq!(o.env.expose(), "A=3\nA=3\n");
    let o = merged("A=1\nB=x\nA=2\n", &[], &["A"]);
    assert_eq!(o.env.expose(), "B=x\n");
}

#[test]
fn commented_out_assignment_is_not_an_assignment() {
    let o = merged("# A=old\n", &[("A", "new")], &[]);
    assert_eq!(o.env.expose(), "# A=old\nA=new\n");
}

#[test]
fn values_containing_equals_signs() {
    let cur = "URL=postgres://u:p@h/db?sslmode=require&x=1\n";
    assert_eq!(parsed(cur)["URL"], "postgres://u:p@h/db?sslmode=require&x=1");
    let o = merged(cur, &[("URL", "postgres://u:p@h/db?sslmode=require&x=1")], &[]);
    assert!(!o.changed());
    let o = merged("", &[("Q", "a=b=c")], &[]);
    assert_eq!(o.env.expose(), "Q=a=b=c");
}

#[test]
fn colon_separator() {
    let cur = "A: 1\nB:notasep\n";
    assert_eq!(keys(cur), ["A"]);
    let o = merged(cur, &[("A", "2")], &[]);
    assert_eq!(o.env.expose(), "A: 2\nB:notasep\n");
}

#[test]
fn quoting_choices() {
    assert_eq!(encode_value("plain").as_deref(), Some("plain"));
    assert_eq!(encode_value("").as_deref(), Some(""));
    assert_eq!(encode_value("{\"a\":\"b\"}").as_deref(), Some("{\"a\":\"b\"}"));
    assert_eq!(encode_value("has space").as_deref(), Some("'has space'"));
    assert_eq!(encode_value("a#b").as_deref(), Some("'a#b'"));
    assert_eq!(encode_value("'lead").as_deref(), Some("\"'lead\""));
    assert_eq!(encode_value("line1\nline2").as_deref(), Some("\"line1\\nline2\""));
    assert_eq!(
        encode_value("say \"hi\"\nnext").as_deref(),
        Some("'say \"hi\"\nnext'")
    );
    assert_eq!(encode_value("it's \"x\"").as_deref(), Some("`it's \"x\"`"));
    assert_eq!(encode_value("a\r\nb").as_deref(), Some("\"a\\r\\nb\""));
    assert_eq!(encode_value("all ' \" ` three"), None);
    assert_eq!(encode_value("cr\r\"quote"), None);
    // Needs quotes, and a trailing backslash would escape any closing quote; double quotes refuse
    // backslashes.
    assert_eq!(encode_value("trailing backslash \\"), None);
    assert_eq!(encode_value("no\\space").as_deref(), Some("no\\space"));
}

#[test]
fn every_encodable_value_round_trips() {
    let samples = [
        "plain",
        "",
        "with space",
        " leading",
        "trailing ",
        "a#b",
        "#start",
        "multi\nline",
        "multi\nline with \"quotes\"",
        "it's",
        "'quoted'",
        "\"dq\"",
        "`bt`",
        "back\\slash",
        "ends with \\",
        "literal \\n not a newline",
        "literal \\n and\nnewline",
        "tab\tinside",
        "cr\rinside",
        "x=y=z",
        "${{project.DB_URL}}",
        "ünïcødé ✓",
        "{\"product\":\"web\",\"context\":\"prod\"}",
    ];
    for v in samples {
        let Some(enc) = encode_value(v) else { continue };
        let text = format!("PRE=1\nK={enc}\nPOST=2\n");
        let p = parsed(&text);
        assert_eq!(
            p.get("K").map(String::as_str),
            Some(v),
            "value {v:?} encoded as {enc:?}"
        );
        assert_eq!(
            p.get("PRE").map(String::as_str),
            Some("1"),
            "{enc:?} swallowed PRE"
        );
        assert_eq!(
            p.get("POST").map(String::as_str),
            Some("2"),
            "{enc:?} swallowed POST"
        );
        // And through merge: writing then merging the same value is a no-op.
        let o = merged(&text, &[("K", v)], &[]);
        assert!(!o.changed(), "{v:?}");
    }
    // Values that are refused are refused by merge too, with the key (not the value) named.
    let err = merge("", &set(&[("K", "a ' \" ` b")]), &rm(&[])).err();
    assert_eq!(err, Some(EnvMergeError::Unrepresentable("K".into())));
    assert!(!format!("{err:?}").contains("a ' "));
}

#[test]
fn invalid_input_is_refused() {
    assert!(matches!(
        merge("", &set(&[("BAD KEY", "1")]), &rm(&[])),
        Err(EnvMergeError::InvalidKey(_))
    ));
    assert!(matches!(
        merge("", &set(&[]), &rm(&["a=b"])),
        Err(EnvMergeError::InvalidKey(_))
    ));
    assert!(matches!(
        merge("", &set(&[("", "1")]), &rm(&[])),
        Err(EnvMergeError::InvalidKey(_))
    ));
    assert_eq!(
        merge("", &set(&[("A", "1")]), &rm(&["A"])),
        Err(EnvMergeError::SetAndRemoved("A".into()))
    );
}

#[test]
fn keys_lists_names_once_in_order() {
    assert_eq!(
        keys("# c\nB=1\nexport A=2\nB=3\n\nC.d-e_f=4"),
        ["B", "A", "C.d-e_f"]
    );
    assert!(keys("").is_empty());
    assert!(keys("just text\n= no key\n").is_empty());
}

#[test]
fn the_outcome_debug_never_shows_values() {
    let o = merged("A=1", &[("S", "hunter2-secret")], &[]);
    let dbg = format!("{o:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert!(dbg.contains("\"S\""));
}

#[test]
fn set_remove_and_add_together() {
    let cur = "# app\nKEEP=1\nLAUNCHPLANE_ARTIFACT_ID=old\nLAUNCHPLANE_STALE=x\n\nOTHER=\"q\"\n";
    let o = merged(
        cur,
        &[
            ("LAUNCHPLANE_ARTIFACT_ID", "art-2"),
            ("LAUNCHPLANE_DEPLOYMENT_RECORD_ID", "rec-9"),
        ],
        &["LAUNCHPLANE_STALE"],
    );
    assert_eq!(
        o.env.expose(),
        "# app\nKEEP=1\nLAUNCHPLANE_ARTIFACT_ID=art-2\n\nOTHER=\"q\"\nLAUNCHPLANE_DEPLOYMENT_RECORD_ID=rec-9\n"
    );
    assert_eq!(o.added, ["LAUNCHPLANE_DEPLOYMENT_RECORD_ID"]);
    assert_eq!(o.updated, ["LAUNCHPLANE_ARTIFACT_ID"]);
    assert_eq!(o.removed, ["LAUNCHPLANE_STALE"]);
}

#[test]
fn value_of_reads_the_last_assignment_decoded() {
    let text = "# pinned\nODOO_IMAGE=old\nDB=x\nODOO_IMAGE=\"ghcr.io/acme/odoo@sha256:ab\"\n";
    assert_eq!(
        value_of(text, "ODOO_IMAGE").as_deref(),
        Some("ghcr.io/acme/odoo@sha256:ab")
    );
    assert_eq!(value_of(text, "DB").as_deref(), Some("x"));
    assert_eq!(value_of(text, "MISSING"), None);
    assert_eq!(value_of("", "ODOO_IMAGE"), None);
}
