//! Carrying out an import plan: nothing (a dry run), one manifest file per ProviderTarget in a
//! folder, or one create call per ProviderTarget in the cluster. Create only, in both: a file
//! is opened with `create_new` and an object is POSTed, so an existing file or object is never
//! overwritten or updated; either counts as `skipped-exists`.

use kube::Client;
use kube::api::{Api, PostParams};
use launchplane_api::resources::ProviderTarget;
use launchplane_core::adoption::import::{Decision, ImportPlan, ImportRow};
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What the import does with the ProviderTargets it would create.
pub enum Mode {
    DryRun,
    Out(PathBuf),
    Apply(Client),
}

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::Out(_) => "out",
            Mode::Apply(_) => "apply",
        }
    }
}

/// What became of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The plan's decision stands (a dry run, or a row that was never to be created).
    Planned(Decision),
    /// Its manifest was written.
    Written,
    /// It was created in the cluster.
    Created,
    /// Writing or creating it failed; the import stopped there.
    Failed,
    /// The import stopped before it.
    NotAttempted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Planned(d) => d.as_str(),
            Outcome::Written => "written",
            Outcome::Created => "created",
            Outcome::Failed => "failed",
            Outcome::NotAttempted => "not-attempted",
        }
    }
}

/// The rows as carried out.
pub struct Done {
    pub rows: Vec<(Outcome, ImportRow)>,
    /// Why the import stopped early.
    pub error: Option<String>,
}

impl Done {
    /// How many rows have each outcome: the plan's five decisions always, the others when
    /// they happened.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.rows.iter().filter(|(o, _)| *o == outcome).count()
    }

    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let count = |outcome: Outcome| self.count(outcome);
        let mut counts = Vec::new();
        for extra in [Outcome::Created, Outcome::Written] {
            if count(extra) > 0 {
                counts.push((extra.as_str(), count(extra)));
            }
        }
        for decision in Decision::ALL {
            counts.push((decision.as_str(), count(Outcome::Planned(decision))));
        }
        for extra in [Outcome::Failed, Outcome::NotAttempted] {
            if count(extra) > 0 {
                counts.push((extra.as_str(), count(extra)));
            }
        }
        counts
    }
}

pub async fn perform(plan: ImportPlan, mode: &Mode) -> Done {
    let mut done = Done {
        rows: Vec::with_capacity(plan.rows.len()),
        error: None,
    };
    if let Mode::Out(dir) = mode
        && plan.rows.iter().any(|r| r.manifest.is_some())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        done.error = Some(format!("--out: cannot create {}: {e}", dir.display()));
    }
    for mut row in plan.rows {
        let Some(manifest) = row.manifest.clone() else {
            done.rows.push((Outcome::Planned(row.decision), row));
            continue;
        };
        if done.error.is_some() {
            done.rows.push((Outcome::NotAttempted, row));
            continue;
        }
        let outcome = match mode {
            Mode::DryRun => Ok(Outcome::Planned(Decision::WouldCreate)),
            Mode::Out(dir) => write_file(dir, &manifest),
            Mode::Apply(client) => create(client, &manifest).await,
        };
        match outcome {
            Ok(Outcome::Planned(Decision::SkippedExists)) => {
                row.decision = Decision::SkippedExists;
                row.detail = match mode {
                    Mode::Out(dir) => format!("{} exists; left as it is", file_of(dir, &manifest).display()),
                    _ => format!(
                        "ProviderTarget {} exists already; left as it is",
                        row.provider_targets.join(", ")
                    ),
                };
                done.rows.push((Outcome::Planned(Decision::SkippedExists), row));
            }
            Ok(outcome) => {
                if let Mode::Out(dir) = mode {
                    row.detail = format!("{}: {}", file_of(dir, &manifest).display(), row.detail);
                }
                done.rows.push((outcome, row));
            }
            Err(error) => {
                row.detail = error.clone();
                done.error = Some(error);
                done.rows.push((Outcome::Failed, row));
            }
        }
    }
    done
}

fn file_of(dir: &Path, manifest: &ProviderTarget) -> PathBuf {
    dir.join(format!(
        "{}.yaml",
        manifest.metadata.name.as_deref().unwrap_or_default()
    ))
}

/// The manifest as a file, in the shape `kubectl apply -f` and `launchplane reconcile -f` read.
pub fn yaml(manifest: &ProviderTarget) -> Result<String, String> {
    serde_saphyr::to_string(manifest).map_err(|e| format!("cannot write the manifest as YAML: {e}"))
}

fn write_file(dir: &Path, manifest: &ProviderTarget) -> Result<Outcome, String> {
    let path = file_of(dir, manifest);
    let text = yaml(manifest)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match file {
        Ok(mut file) => match file.write_all(text.as_bytes()).and_then(|()| file.sync_all()) {
            Ok(()) => Ok(Outcome::Written),
            Err(e) => {
                // Half a manifest would be taken for an existing one by the next run.
                let _ = std::fs::remove_file(&path);
                Err(format!("--out: cannot write {}: {e}", path.display()))
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(Outcome::Planned(Decision::SkippedExists))
        }
        Err(e) => Err(format!("--out: cannot create {}: {e}", path.display())),
    }
}

async fn create(client: &Client, manifest: &ProviderTarget) -> Result<Outcome, String> {
    let namespace = manifest.metadata.namespace.as_deref().unwrap_or("default");
    let name = manifest.metadata.name.as_deref().unwrap_or_default();
    let api: Api<ProviderTarget> = Api::namespaced(client.clone(), namespace);
    match api.create(&PostParams::default(), manifest).await {
        Ok(_) => Ok(Outcome::Created),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(Outcome::Planned(Decision::SkippedExists)),
        Err(e) => Err(format!(
            "cannot create ProviderTarget {namespace}/{name}: {e}; check that you may create providertargets \
             in {namespace}"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_api::resources::ProviderTargetSpec;

    #[test]
    fn a_manifest_file_is_written_once_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = ProviderTarget::new("shop-production-web", ProviderTargetSpec::default());
        target.metadata.namespace = Some("shop".into());
        assert_eq!(write_file(dir.path(), &target), Ok(Outcome::Written));
        let path = dir.path().join("shop-production-web.yaml");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), yaml(&target).unwrap());

        std::fs::write(&path, "# edited by a person\n").unwrap();
        assert_eq!(
            write_file(dir.path(), &target),
            Ok(Outcome::Planned(Decision::SkippedExists))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# edited by a person\n");
    }
}
