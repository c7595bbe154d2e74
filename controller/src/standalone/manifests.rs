//! Reading a folder of manifests (a GitOps repo) without a cluster.
//!
//! Every problem is reported with the file, the resource (`Kind/namespace/name` when known)
//! and the field, so a person can fix the manifest without guessing. Nothing here panics on
//! input; a bad document is reported and the rest of the folder still loads.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// One YAML document from the folder.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub file: PathBuf,
    /// 1-based position of the document in its file.
    pub document: usize,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub value: Value,
}

impl Manifest {
    pub fn resource(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }

    /// Decode into a typed resource; a failure names the field.
    pub fn decode<K: DeserializeOwned>(&self) -> Result<K, ManifestError> {
        let deserializer = self.value.clone();
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            ManifestError {
                file: self.file.clone(),
                document: self.document,
                resource: Some(self.resource()),
                field: (field != ".").then_some(field),
                message: e.into_inner().to_string(),
            }
        })
    }

    pub fn error(&self, field: Option<&str>, message: impl Into<String>) -> ManifestError {
        ManifestError {
            file: self.file.clone(),
            document: self.document,
            resource: Some(self.resource()),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

/// A problem with one manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub file: PathBuf,
    pub document: usize,
    pub resource: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.document > 1 {
            write!(f, " (document {})", self.document)?;
        }
        if let Some(resource) = &self.resource {
            write!(f, ": {resource}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ManifestError {}

/// Read every `*.yaml`/`*.yml`/`*.json` file under `dir` (recursively, in path order).
pub fn load_dir(dir: &Path) -> (Vec<Manifest>, Vec<ManifestError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect_files(dir, &mut files, &mut errors);
    files.sort();
    let mut manifests = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => parse_file(&file, &text, &mut manifests, &mut errors),
            Err(e) => errors.push(file_error(&file, format!("cannot read the file: {e}"))),
        }
    }
    (manifests, errors)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<ManifestError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(file_error(dir, format!("cannot read the folder: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files, errors);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(path);
        }
    }
}

fn file_error(file: &Path, message: String) -> ManifestError {
    ManifestError {
        file: file.to_path_buf(),
        document: 1,
        resource: None,
        field: None,
        message,
    }
}

/// Parse one file's documents; `text` may hold several YAML documents.
pub fn parse_file(file: &Path, text: &str, out: &mut Vec<Manifest>, errors: &mut Vec<ManifestError>) {
    let documents: Vec<Value> = match serde_saphyr::from_multiple::<Value>(text) {
        Ok(docs) => docs,
        Err(e) => {
            errors.push(file_error(file, format!("not valid YAML: {e}")));
            return;
        }
    };
    for (i, doc) in documents.into_iter().enumerate() {
        let document = i + 1;
        if doc.is_null() {
            continue; // an empty document (e.g. a trailing `---`)
        }
        let err = |field: Option<&str>, message: String| ManifestError {
            file: file.to_path_buf(),
            document,
            resource: None,
            field: field.map(str::to_string),
            message,
        };
        let Some(obj) = doc.as_object() else {
            errors.push(err(
                None,
                "a manifest must be a mapping with apiVersion, kind and metadata".into(),
            ));
            continue;
        };
        let text_field = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_string);
        let Some(api_version) = text_field("apiVersion") else {
            errors.push(err(
                Some("apiVersion"),
                "required: e.g. launchplane.dev/v1alpha1".into(),
            ));
            continue;
        };
        let Some(kind) = text_field("kind") else {
            errors.push(err(Some("kind"), "required: e.g. Lane".into()));
            continue;
        };
        let metadata = obj.get("metadata").and_then(Value::as_object);
        let Some(name) = metadata
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            errors.push(ManifestError {
                resource: Some(kind.clone()),
                ..err(
                    Some("metadata.name"),
                    "required: every resource needs a name".into(),
                )
            });
            continue;
        };
        let namespace = metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        // What the API server would refuse, refused here too: the names also become paths in
        // the state folder, so `../x` must never get that far.
        let resource = Some(format!("{kind}/{namespace}/{name}"));
        if !launchplane_api::validation::is_dns1123_label(&namespace) {
            errors.push(ManifestError {
                resource: resource.clone(),
                ..err(
                    Some("metadata.namespace"),
                    "must be a DNS-1123 label: 1-63 lowercase letters, digits and '-', starting and \
                     ending with a letter or digit"
                        .into(),
                )
            });
            continue;
        }
        if !launchplane_api::validation::is_dns1123_subdomain(name) {
            errors.push(ManifestError {
                resource,
                ..err(
                    Some("metadata.name"),
                    "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', \
                     starting and ending with a letter or digit"
                        .into(),
                )
            });
            continue;
        }
        out.push(Manifest {
            file: file.to_path_buf(),
            document,
            api_version,
            kind,
            name: name.to_string(),
            namespace,
            value: doc,
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    // Fields exist to be deserialized; only the errors are inspected.
    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Thing {
        api_version: String,
        kind: String,
        metadata: Value,
        spec: ThingSpec,
    }
    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ThingSpec {
        poll_interval_seconds: u32,
    }

    fn parse(text: &str) -> (Vec<Manifest>, Vec<ManifestError>) {
        let (mut m, mut e) = (Vec::new(), Vec::new());
        parse_file(Path::new("x/lanes.yaml"), text, &mut m, &mut e);
        (m, e)
    }

    #[test]
    fn several_documents_with_empty_ones() {
        let (m, e) = parse(
            "---\napiVersion: v1\nkind: A\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: B\nmetadata: {name: b, namespace: shop}\n",
        );
        assert!(e.is_empty(), "{e:?}");
        let names: Vec<String> = m.iter().map(Manifest::resource).collect();
        assert_eq!(names, vec!["A/default/a", "B/shop/b"]);
    }

    #[test]
    fn missing_identity_fields_are_named() {
        let (_, e) = parse(
            "kind: Lane\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Lane\nmetadata: {}\n---\n- 1\n",
        );
        let fields: Vec<Option<&str>> = e.iter().map(|x| x.field.as_deref()).collect();
        assert_eq!(
            fields,
            vec![Some("apiVersion"), Some("kind"), Some("metadata.name"), None]
        );
        assert_eq!(e[2].document, 3);
        assert!(
            e[2].to_string()
                .starts_with("x/lanes.yaml (document 3): Lane: field metadata.name"),
            "{}",
            e[2]
        );
    }

    /// Issue 12, D9: names and namespaces the API server would refuse are refused at load,
    /// before any of them can become a path in the state folder.
    #[test]
    fn names_and_namespaces_the_api_server_would_refuse_are_refused() {
        let long = "a".repeat(300);
        let cases = [
            ("name: a, namespace: ../../../x", "metadata.namespace"),
            ("name: Shop", "metadata.name"),
            ("name: a/b", "metadata.name"),
            ("name: '../x'", "metadata.name"),
        ];
        for (meta, field) in cases {
            let (docs, errors) = parse(&format!("apiVersion: v1\nkind: Lane\nmetadata: {{{meta}}}\n"));
            assert!(docs.is_empty(), "{meta}");
            assert_eq!(errors.len(), 1, "{meta}: {errors:?}");
            assert_eq!(errors[0].field.as_deref(), Some(field), "{meta}");
        }
        let (docs, errors) = parse(&format!(
            "apiVersion: v1\nkind: Lane\nmetadata: {{name: {long}}}\n"
        ));
        assert!(docs.is_empty() && errors.len() == 1);
    }

    #[test]
    fn invalid_yaml_is_reported_per_file() {
        let (m, e) = parse("apiVersion: v1\nkind: [unclosed\n");
        assert!(m.is_empty());
        assert_eq!(e.len(), 1);
        assert!(e[0].message.starts_with("not valid YAML"), "{}", e[0].message);
    }

    #[test]
    fn decode_errors_name_the_field_path() {
        let (m, _) =
            parse("apiVersion: v1\nkind: Thing\nmetadata: {name: t}\nspec:\n  pollIntervalSeconds: soon\n");
        let err = m[0].decode::<Thing>().unwrap_err();
        assert_eq!(err.field.as_deref(), Some("spec.pollIntervalSeconds"));
        assert_eq!(err.resource.as_deref(), Some("Thing/default/t"));
        let shown = err.to_string();
        assert!(
            shown.contains("x/lanes.yaml: Thing/default/t: field spec.pollIntervalSeconds: invalid type"),
            "{shown}"
        );
    }
}
