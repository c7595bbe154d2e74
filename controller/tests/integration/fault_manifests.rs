//! Fault suite: standalone mode over 1,000 generated malformed manifests (bad YAML, missing
//! kind, unknown kind, wrong types, pattern and enum violations, unknown fields, missing
//! required fields, an unserved apiVersion, duplicates). The real binary must reject every one
//! with a line naming the file, the resource and the field, exit with code 2 and never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

const CASES: usize = 1000;
const KINDS: usize = 9;

/// What the error line for one file must name.
struct Expect {
    /// `Kind/namespace/name`, when the document is readable enough to have one.
    resource: Option<String>,
    /// The field, as printed after `field `.
    field: Option<String>,
    /// A fragment of the message.
    says: &'static str,
}

fn target(name: &str, spec_extra: &str) -> String {
    format!(
        "apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata:\n  name: {name}\nspec:\n  \
         providerConfigRef: {{name: main}}\n  targetCategory: application\n  targetId: app-{name}\n  \
         displayName: {name}\n{spec_extra}"
    )
}

fn config(name: &str, url: &str, interval: &str) -> String {
    format!(
        "apiVersion: launchplane.dev/v1alpha1\nkind: ProviderConfig\nmetadata:\n  name: {name}\nspec:\n  \
         providerType: Dokploy\n  url: {url}\n  apiKeySecretRef: {{name: k, key: api-key}}\n  \
         pollIntervalSeconds: {interval}\n"
    )
}

fn identity(name: &str, base_url: &str, required: &str) -> String {
    format!(
        "apiVersion: launchplane.dev/v1alpha1\nkind: RuntimeIdentity\nmetadata:\n  name: {name}\nspec:\n  \
         endpoint: {{baseUrl: '{base_url}'}}\n  required: {required}\n"
    )
}

fn some(s: impl Into<String>) -> Option<String> {
    Some(s.into())
}

/// The `i`-th malformed file and what its rejection must name.
fn case(i: usize) -> (String, Expect) {
    let name = format!("bad-{i:04}");
    let variant = (i / KINDS) % 3;
    let pt = |n: &str| format!("ProviderTarget/default/{n}");
    match i % KINDS {
        0 => {
            let text = match variant {
                0 => format!(
                    "apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata: {{name: {name}\n"
                ),
                1 => format!("kind: ProviderTarget\nmetadata:\n  name: \"{name}\nspec: {{}}\n"),
                _ => format!("apiVersion: v1\nkind: [ProviderTarget\n  name: {name}\n"),
            };
            (
                text,
                Expect {
                    resource: None,
                    field: None,
                    says: "not valid YAML",
                },
            )
        }
        1 => (
            target(&name, "").replace("kind: ProviderTarget\n", ""),
            Expect {
                resource: None,
                field: some("kind"),
                says: "required",
            },
        ),
        2 => {
            let kind = ["ProviderTargett", "Lanes", "Widget"][variant];
            (
                target(&name, "").replace("kind: ProviderTarget", &format!("kind: {kind}")),
                Expect {
                    resource: some(format!("{kind}/default/{name}")),
                    field: some("kind"),
                    says: "is not a kind of launchplane.dev",
                },
            )
        }
        3 => match variant {
            0 => (
                config(&name, "https://dokploy.example.com", "soon"),
                Expect {
                    resource: some(format!("ProviderConfig/default/{name}")),
                    field: some("spec.pollIntervalSeconds"),
                    says: "",
                },
            ),
            1 => (
                identity(&name, "https://shop.example.com", "'yes'"),
                Expect {
                    resource: some(format!("RuntimeIdentity/default/{name}")),
                    field: some("spec.required"),
                    says: "",
                },
            ),
            _ => (
                target(&name, "  domains: shop.example.com\n"),
                Expect {
                    resource: some(pt(&name)),
                    field: some("spec.domains"),
                    says: "",
                },
            ),
        },
        4 => match variant {
            0 => (
                identity(&name, "not a url", "false"),
                Expect {
                    resource: some(format!("RuntimeIdentity/default/{name}")),
                    field: some("spec.endpoint.baseUrl"),
                    says: "",
                },
            ),
            1 => (
                config(&name, "ftp://dokploy.example.com", "60"),
                Expect {
                    resource: some(format!("ProviderConfig/default/{name}")),
                    field: some("spec.url"),
                    says: "",
                },
            ),
            _ => (
                target(&name, "").replace("targetCategory: application", "targetCategory: database"),
                Expect {
                    resource: some(pt(&name)),
                    field: some("spec.targetCategory"),
                    says: "",
                },
            ),
        },
        5 => {
            let field = format!("bogusField{i}");
            (
                target(&name, &format!("  {field}: 1\n")),
                Expect {
                    resource: some(pt(&name)),
                    field: some(format!("spec.{field}")),
                    says: "unknown field",
                },
            )
        }
        6 => (
            format!("{}---\n{}", target(&name, ""), target(&name, "")),
            Expect {
                resource: some(pt(&name)),
                field: some("metadata.name"),
                says: "defined twice",
            },
        ),
        7 => (
            target(&name, "").replace(&format!("  displayName: {name}\n"), ""),
            Expect {
                resource: some(pt(&name)),
                field: some("spec.displayName"),
                says: "",
            },
        ),
        _ => (
            target(&name, "").replace("launchplane.dev/v1alpha1", "launchplane.dev/v1"),
            Expect {
                resource: some(pt(&name)),
                field: some("apiVersion"),
                says: "not served",
            },
        ),
    }
}

fn run(dir: &Path) -> (i32, String, String) {
    let state = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "--once", "-f"])
        .arg(dir)
        .arg("--state")
        .arg(state.path())
        .output()
        .expect("run launchplane");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(path: &Path, expect: &Expect, stderr: &str) {
    let prefix = format!("error: {}", path.display());
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&prefix) && l[prefix.len()..].starts_with([':', ' ']))
        .collect();
    assert!(
        !lines.is_empty(),
        "{} is not reported:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap()
    );
    let ok = lines.iter().any(|line| {
        expect
            .resource
            .as_ref()
            .is_none_or(|r| line.contains(&format!(": {r}")))
            && expect
                .field
                .as_ref()
                .is_none_or(|f| line.contains(&format!("field {f}")))
            && line.contains(expect.says)
    });
    assert!(
        ok,
        "{}: expected resource {:?}, field {:?}, {:?}; got:\n{}",
        path.display(),
        expect.resource,
        expect.field,
        expect.says,
        lines.join("\n")
    );
}

#[test]
fn a_thousand_malformed_manifests_are_each_rejected_with_file_resource_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for i in 0..CASES {
        let (text, expect) = case(i);
        let path = dir.path().join(format!("case-{i:04}.yaml"));
        std::fs::write(&path, text).unwrap();
        expected.push((path, expect));
    }
    let (code, stdout, stderr) = run(dir.path());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 2, "bad input: {stdout}\n{stderr}");
    assert!(
        stdout.trim().is_empty(),
        "nothing reconciled, nothing printed: {stdout}"
    );
    for (path, expect) in &expected {
        check(path, expect, &stderr);
    }
    assert!(
        stderr.contains(&format!(
            "problem(s) in {}; nothing was reconciled",
            dir.path().display()
        )),
        "{}",
        stderr.lines().last().unwrap_or_default()
    );
}

#[test]
fn each_kind_of_malformation_alone_is_bad_input() {
    // One folder per kind (its three variants), so no malformation hides behind another.
    for kind in 0..KINDS {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        for variant in 0..3 {
            let i = kind + variant * KINDS;
            let (text, expect) = case(i);
            let path = dir.path().join(format!("case-{i:04}.yaml"));
            std::fs::write(&path, text).unwrap();
            expected.push((path, expect));
        }
        let (code, _, stderr) = run(dir.path());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(code, 2, "kind {kind}: {stderr}");
        for (path, expect) in &expected {
            check(path, expect, &stderr);
        }
    }
}
