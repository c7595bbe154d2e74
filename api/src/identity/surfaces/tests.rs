use super::*;
use serde_json::json;

use IdentityField as F;

fn payload(pairs: &[(IdentityField, &str)]) -> RuntimeIdentityPayload {
    pairs
        .iter()
        .fold(RuntimeIdentityPayload::default(), |p, (f, v)| p.with(*f, *v))
}

fn sample() -> RuntimeIdentityPayload {
    payload(&[
        (F::Product, "shop"),
        (F::Context, "prod"),
        (F::DeploymentRecordId, "dr-0123456789ab"),
        (F::ArtifactId, "art-1"),
    ])
}

fn sample_json() -> Value {
    json!({"product": "shop", "context": "prod", "deploymentRecordId": "dr-0123456789ab", "artifactId": "art-1"})
}

/// What a parser should return; Absent and Malformed are matched on a fragment of the reason
/// so the tests pin the meaning without freezing every word.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Want {
    Found(RuntimeIdentityPayload),
    Absent(&'static str),
    Malformed(&'static str),
}

fn check(name: &str, got: &SurfaceObservation, surface: Surface, want: &Want) {
    assert_eq!(got.surface(), surface, "case {name}: surface");
    match (want, got) {
        (Want::Found(p), SurfaceObservation::Found { payload, .. }) => {
            assert_eq!(payload, p, "case {name}: payload");
        }
        (Want::Absent(frag), SurfaceObservation::Absent { reason, .. })
        | (Want::Malformed(frag), SurfaceObservation::Malformed { reason, .. }) => {
            assert!(
                reason.contains(frag),
                "case {name}: reason {reason:?} lacks {frag:?}"
            );
            assert!(
                reason.len() < 400,
                "case {name}: reason too long ({} bytes)",
                reason.len()
            );
        }
        _ => panic!("case {name}: want {want:?}, got {got:?}"),
    }
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn health_body_every_key_as_object_and_as_string() {
    for key in IDENTITY_KEYS {
        let as_object = body(&json!({"status": "ok", key: sample_json()}));
        check(
            &format!("{key} object"),
            &parse_health_body(&as_object),
            Surface::HealthBody,
            &Want::Found(sample()),
        );
        let as_string = body(&json!({"status": "ok", key: sample_json().to_string()}));
        check(
            &format!("{key} string"),
            &parse_health_body(&as_string),
            Surface::HealthBody,
            &Want::Found(sample()),
        );
    }
}

#[test]
fn health_body_table() {
    let long_garbage = "x".repeat(10_000);
    let cases: Vec<(&str, Vec<u8>, Want)> = vec![
        ("plain text OK", b"OK".to_vec(), Want::Absent("not JSON")),
        ("empty body", Vec::new(), Want::Absent("not JSON")),
        (
            "truncated JSON",
            br#"{"runtime_identity": {"artifactId""#.to_vec(),
            Want::Absent("not JSON"),
        ),
        ("JSON array", b"[1,2]".to_vec(), Want::Absent("an array")),
        ("JSON string", br#""healthy""#.to_vec(), Want::Absent("a string")),
        (
            "no identity key",
            body(&json!({"status": "ok"})),
            Want::Absent("has none of the keys"),
        ),
        (
            "identity nested deeper is not searched",
            body(&json!({"data": {"runtime_identity": sample_json()}})),
            Want::Absent("has none of the keys"),
        ),
        (
            "key with null",
            body(&json!({"runtime_identity": null})),
            Want::Absent("no identity fields"),
        ),
        (
            "key with empty string (env var never injected)",
            body(&json!({"LAUNCHPLANE_RUNTIME_IDENTITY_JSON": ""})),
            Want::Absent("no identity fields"),
        ),
        (
            "key with blank string",
            body(&json!({"launchplane_runtime_identity": "  \n"})),
            Want::Absent("no identity fields"),
        ),
        (
            "key with empty object",
            body(&json!({"runtime_identity": {}})),
            Want::Absent("no identity fields"),
        ),
        (
            "key with only unknown fields",
            body(&json!({"runtime_identity": {"artifact_id": "snake-case-is-unknown"}})),
            Want::Absent("no identity fields"),
        ),
        (
            "key with only null fields",
            body(&json!({"runtime_identity": {"artifactId": null, "product": ""}})),
            Want::Absent("no identity fields"),
        ),
        (
            "unknown fields ignored, inside and out",
            body(&json!({"uptime": 12, "runtime_identity": {"artifactId": "art-1", "build": {"n": 7}}})),
            Want::Found(payload(&[(F::ArtifactId, "art-1")])),
        ),
        (
            "string not JSON",
            body(&json!({"runtime_identity": "art-1"})),
            Want::Malformed("`runtime_identity` is a string but not JSON"),
        ),
        (
            "string holding truncated JSON",
            body(&json!({"runtime_identity": "{\"artifactId\": \"a\""})),
            Want::Malformed("not JSON"),
        ),
        (
            "string holding an array",
            body(&json!({"launchplaneRuntimeIdentity": "[1, 2]"})),
            Want::Malformed("string holding an array, not a JSON object"),
        ),
        (
            "string holding a JSON string",
            body(&json!({"runtime_identity": "\"art-1\""})),
            Want::Malformed("string holding a string"),
        ),
        (
            "string holding JSON null",
            body(&json!({"runtime_identity": "null"})),
            Want::Malformed("string holding null"),
        ),
        (
            "number",
            body(&json!({"runtime_identity": 5})),
            Want::Malformed("`runtime_identity` is a number, not an object"),
        ),
        (
            "array",
            body(&json!({"runtime_identity": [sample_json()]})),
            Want::Malformed("is an array"),
        ),
        (
            "boolean",
            body(&json!({"runtime_identity": true})),
            Want::Malformed("is a boolean"),
        ),
        (
            "non-string field in object",
            body(&json!({"runtime_identity": {"artifactId": 5}})),
            Want::Malformed("field `artifactId` is a number, not a string"),
        ),
        (
            "non-string field in string holding JSON",
            body(&json!({"LAUNCHPLANE_RUNTIME_IDENTITY_JSON": "{\"previewGenerationId\": 3}"})),
            Want::Malformed("field `previewGenerationId` is a number"),
        ),
        (
            "non-string field next to good ones",
            body(&json!({"runtime_identity": {"artifactId": "a", "deployedAt": {"t": 1}}})),
            Want::Malformed("field `deployedAt` is an object"),
        ),
        (
            "two keys that agree are merged",
            body(&json!({
                "runtime_identity": {"artifactId": "art-1"},
                "launchplaneRuntimeIdentity": {"artifactId": "art-1", "product": "shop"},
            })),
            Want::Found(payload(&[(F::ArtifactId, "art-1"), (F::Product, "shop")])),
        ),
        (
            "two keys that disagree",
            body(&json!({
                "runtime_identity": {"artifactId": "art-1"},
                "LAUNCHPLANE_RUNTIME_IDENTITY_JSON": "{\"artifactId\": \"art-2\"}",
            })),
            Want::Malformed("give different values for `artifactId`"),
        ),
        (
            "one key empty, another present",
            body(&json!({"runtime_identity": null, "launchplaneRuntimeIdentity": {"context": "prod"}})),
            Want::Found(payload(&[(F::Context, "prod")])),
        ),
        (
            "a broken key spoils a good one",
            body(&json!({"runtime_identity": sample_json(), "launchplane_runtime_identity": 1})),
            Want::Malformed("`launchplane_runtime_identity` is a number"),
        ),
        (
            "long non-JSON string is not echoed",
            body(&json!({"runtime_identity": long_garbage})),
            Want::Malformed("not JSON"),
        ),
        (
            "body over the limit",
            vec![b' '; MAX_BODY_BYTES + 1],
            Want::Malformed("larger than"),
        ),
    ];
    for (name, input, want) in &cases {
        check(name, &parse_health_body(input), Surface::HealthBody, want);
    }
}

#[test]
fn reasons_never_echo_large_values() {
    let big = "y".repeat(5_000);
    let inputs = [
        parse_health_body(&body(&json!({"runtime_identity": format!("{{{big}")}))),
        parse_well_known(format!("{{\"artifactId\": \"{big}").as_bytes()),
        parse_deployment_header(Some(&format!("dr-1,{big}"))),
        parse_health_body(&body(&json!({
            "runtime_identity": {"artifactId": big.clone()},
            "launchplaneRuntimeIdentity": {"artifactId": "z"},
        }))),
        SurfaceObservation::unreachable(Surface::WellKnown, &big),
    ];
    for got in inputs {
        match &got {
            SurfaceObservation::Malformed { reason, .. } | SurfaceObservation::Unreachable { reason, .. } => {
                assert!(
                    !reason.contains(&"y".repeat(SNIPPET_CHARS * 4 + 1)),
                    "echoed: {got:?}"
                );
                assert!(reason.chars().count() < 500, "reason too long: {}", reason.len());
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

#[test]
fn deployment_header_table() {
    let long = "d".repeat(MAX_HEADER_VALUE_LEN + 1);
    let cases: Vec<(&str, Option<&str>, Want)> = vec![
        ("absent", None, Want::Absent("no X-Launchplane-Deployment header")),
        ("empty", Some(""), Want::Absent("empty")),
        ("blank", Some("  \t"), Want::Absent("empty")),
        (
            "record id",
            Some("dr-0123456789ab"),
            Want::Found(payload(&[(F::DeploymentRecordId, "dr-0123456789ab")])),
        ),
        (
            "surrounding whitespace trimmed",
            Some(" dr-0123456789ab\t"),
            Want::Found(payload(&[(F::DeploymentRecordId, "dr-0123456789ab")])),
        ),
        (
            "non-Launchplane id is still an observation",
            Some("deploy-42"),
            Want::Found(payload(&[(F::DeploymentRecordId, "deploy-42")])),
        ),
        (
            "two values folded",
            Some("dr-1, dr-2"),
            Want::Malformed("not one record id"),
        ),
        ("inner space", Some("dr 1"), Want::Malformed("not one record id")),
        (
            "control character",
            Some("dr-1\u{7}"),
            Want::Malformed("not one record id"),
        ),
        (
            "too long",
            Some(long.as_str()),
            Want::Malformed("more than the 253"),
        ),
    ];
    for (name, input, want) in &cases {
        check(
            name,
            &parse_deployment_header(*input),
            Surface::DeploymentHeader,
            want,
        );
    }
}

#[test]
fn well_known_wrapped_under_every_key() {
    for key in IDENTITY_KEYS {
        check(
            &format!("{key} object"),
            &parse_well_known(&body(&json!({key: sample_json()}))),
            Surface::WellKnown,
            &Want::Found(sample()),
        );
        check(
            &format!("{key} string"),
            &parse_well_known(&body(&json!({key: sample_json().to_string()}))),
            Surface::WellKnown,
            &Want::Found(sample()),
        );
    }
}

#[test]
fn well_known_table() {
    let cases: Vec<(&str, Vec<u8>, Want)> = vec![
        ("top-level payload", body(&sample_json()), Want::Found(sample())),
        (
            "top-level payload, pretty-printed with unknown fields",
            serde_json::to_vec_pretty(&json!({"artifactId": "art-1", "schema": 2, "links": []})).unwrap(),
            Want::Found(payload(&[(F::ArtifactId, "art-1")])),
        ),
        (
            "top level and wrapper agree and are merged",
            body(
                &json!({"artifactId": "art-1", "runtime_identity": {"product": "shop", "artifactId": "art-1"}}),
            ),
            Want::Found(payload(&[(F::ArtifactId, "art-1"), (F::Product, "shop")])),
        ),
        (
            "top level and wrapper disagree",
            body(&json!({"artifactId": "art-1", "runtime_identity": {"artifactId": "art-0"}})),
            Want::Malformed("top level and `runtime_identity` give different values for `artifactId`"),
        ),
        (
            "the conflict names the source of the first value, not the first source",
            body(&json!({
                "product": "shop",
                "runtime_identity": {"artifactId": "art-1"},
                "launchplaneRuntimeIdentity": {"artifactId": "art-2"},
            })),
            Want::Malformed("`runtime_identity` and `launchplaneRuntimeIdentity` give different values"),
        ),
        ("empty", Vec::new(), Want::Absent("empty")),
        ("blank", b" \n ".to_vec(), Want::Absent("empty")),
        (
            "HTML fallback page",
            b"<!doctype html><html><body>app</body></html>".to_vec(),
            Want::Absent("not JSON"),
        ),
        (
            "broken object",
            br#"{"artifactId": "a""#.to_vec(),
            Want::Malformed("not valid JSON"),
        ),
        ("broken array", b"[1,".to_vec(), Want::Malformed("not valid JSON")),
        (
            "array",
            b"[]".to_vec(),
            Want::Malformed("an array, not a JSON object"),
        ),
        (
            "string",
            br#""art-1""#.to_vec(),
            Want::Malformed("a string, not a JSON object"),
        ),
        ("number", b"42".to_vec(), Want::Malformed("a number")),
        (
            "empty object",
            b"{}".to_vec(),
            Want::Absent("none of the contract's fields"),
        ),
        (
            "only unknown fields",
            body(&json!({"status": "ok", "version": "1.2"})),
            Want::Absent("none of the contract's fields"),
        ),
        (
            "wrapper null",
            body(&json!({"runtime_identity": null})),
            Want::Absent("no identity fields"),
        ),
        (
            "non-string field at top level",
            body(&json!({"artifactId": "a", "previewId": 12})),
            Want::Malformed("field `previewId` is a number"),
        ),
        (
            "non-string field when wrapped",
            body(&json!({"launchplane_runtime_identity": {"sourceGitRef": false}})),
            Want::Malformed("field `sourceGitRef` is a boolean"),
        ),
        (
            "wrapper holding a non-object",
            body(&json!({"runtime_identity": ["a"]})),
            Want::Malformed("is an array, not an object"),
        ),
        (
            "over the limit",
            vec![b'{'; MAX_BODY_BYTES + 1],
            Want::Malformed("larger than"),
        ),
    ];
    for (name, input, want) in &cases {
        check(name, &parse_well_known(input), Surface::WellKnown, want);
    }
}

#[test]
fn snippet_caps_on_char_boundaries() {
    assert_eq!(snippet("dr-1"), r#""dr-1""#);
    let long = "é".repeat(SNIPPET_CHARS + 5);
    let s = snippet(&long);
    assert!(s.ends_with('…'));
    assert_eq!(s.chars().filter(|c| *c == 'é').count(), SNIPPET_CHARS);
    let exact = "a".repeat(SNIPPET_CHARS);
    assert!(!snippet(&exact).ends_with('…'));
}

fn found(surface: Surface, pairs: &[(IdentityField, &str)]) -> SurfaceObservation {
    SurfaceObservation::Found {
        surface,
        payload: payload(pairs),
    }
}

#[test]
fn combine_nothing_is_unchecked() {
    let o = combine(&[]);
    assert!(o.is_unchecked());
    assert_eq!(o, Observed::unchecked());
}

#[test]
fn combine_merges_agreeing_surfaces() {
    let o = combine(&[
        found(
            Surface::HealthBody,
            &[(F::ArtifactId, "art-1"), (F::DeploymentRecordId, "dr-1")],
        ),
        found(
            Surface::WellKnown,
            &[(F::ArtifactId, "art-1"), (F::Product, "shop")],
        ),
        found(Surface::DeploymentHeader, &[(F::DeploymentRecordId, "dr-1")]),
    ]);
    assert_eq!(
        o.payload,
        Some(payload(&[
            (F::ArtifactId, "art-1"),
            (F::DeploymentRecordId, "dr-1"),
            (F::Product, "shop")
        ]))
    );
    assert_eq!(
        o.found_on,
        vec![Surface::HealthBody, Surface::WellKnown, Surface::DeploymentHeader]
    );
    assert!(o.conflicts.is_empty());
    assert!(!o.is_unchecked());
}

#[test]
fn combine_records_disagreement_and_keeps_the_first_value() {
    let o = combine(&[
        found(Surface::HealthBody, &[(F::DeploymentRecordId, "dr-1")]),
        found(Surface::DeploymentHeader, &[(F::DeploymentRecordId, "dr-2")]),
    ]);
    assert_eq!(o.payload, Some(payload(&[(F::DeploymentRecordId, "dr-1")])));
    assert_eq!(
        o.conflicts,
        vec![SurfaceConflict {
            field: F::DeploymentRecordId,
            first_surface: Surface::HealthBody,
            first_value: "dr-1".into(),
            surface: Surface::DeploymentHeader,
            value: "dr-2".into(),
        }]
    );
}

#[test]
fn combine_names_the_surface_that_supplied_the_merged_value() {
    // The health body has no record id, so the header's value is the merged one and the
    // well-known document's different value conflicts with the header, not with the body.
    let o = combine(&[
        found(Surface::HealthBody, &[(F::ArtifactId, "art-1")]),
        found(Surface::DeploymentHeader, &[(F::DeploymentRecordId, "dr-2")]),
        found(
            Surface::WellKnown,
            &[(F::DeploymentRecordId, "dr-3"), (F::ArtifactId, "art-1")],
        ),
    ]);
    assert_eq!(o.conflicts.len(), 1);
    let c = &o.conflicts[0];
    assert_eq!(
        (
            c.field,
            c.first_surface,
            c.first_value.as_str(),
            c.surface,
            c.value.as_str()
        ),
        (
            F::DeploymentRecordId,
            Surface::DeploymentHeader,
            "dr-2",
            Surface::WellKnown,
            "dr-3"
        )
    );
}

#[test]
fn combine_same_instant_is_not_a_conflict() {
    let o = combine(&[
        found(Surface::HealthBody, &[(F::DeployedAt, "2026-03-01T10:00:00Z")]),
        found(
            Surface::WellKnown,
            &[(F::DeployedAt, "2026-03-01T11:00:00+01:00")],
        ),
    ]);
    assert!(o.conflicts.is_empty(), "{:?}", o.conflicts);
}

#[test]
fn combine_sorts_the_other_outcomes() {
    let o = combine(&[
        SurfaceObservation::Absent {
            surface: Surface::HealthBody,
            reason: "health body is not JSON".into(),
        },
        SurfaceObservation::Malformed {
            surface: Surface::WellKnown,
            reason: "bad".into(),
        },
        SurfaceObservation::unreachable(Surface::DeploymentHeader, "timeout"),
        // A hand-built Found without fields says nothing: counted as absent.
        SurfaceObservation::Found {
            surface: Surface::WellKnown,
            payload: RuntimeIdentityPayload {
                artifact_id: Some(String::new()),
                ..Default::default()
            },
        },
    ]);
    assert_eq!(o.payload, None);
    assert!(o.found_on.is_empty());
    assert_eq!(o.absent.len(), 2);
    assert_eq!(
        o.absent[0],
        (Surface::HealthBody, "health body is not JSON".to_string())
    );
    assert_eq!(o.absent[1].0, Surface::WellKnown);
    assert_eq!(o.malformed, vec![(Surface::WellKnown, "bad".to_string())]);
    assert_eq!(
        o.unreachable,
        vec![(Surface::DeploymentHeader, "timeout".to_string())]
    );
    assert!(!o.is_unchecked());
}

#[test]
fn surface_carries() {
    for f in IdentityField::ALL {
        assert!(Surface::HealthBody.carries(f));
        assert!(Surface::WellKnown.carries(f));
        assert_eq!(
            Surface::DeploymentHeader.carries(f),
            f == F::DeploymentRecordId,
            "{f}"
        );
    }
}
