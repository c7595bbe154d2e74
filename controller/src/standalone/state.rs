//! The local state folder: standalone mode's stand-in for the status subresource.
//!
//! One JSON file per resource, `<state>/<kind>/<namespace>/<name>.json`, written atomically
//! (temporary file + rename) so an interrupted run never leaves half a status behind.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This state folder's controller instance id, `standalone-<12 hex>`, made on first use
    /// and kept in `<state>/instance-id`: the ownership markers of what standalone mode creates
    /// in Dokploy name it, so two state folders (or a folder and a cluster) never take each
    /// other's applications for their own.
    pub fn instance_id(&self) -> std::io::Result<String> {
        if let Some(id) = self.stored_instance_id() {
            return Ok(id);
        }
        let path = self.root.join("instance-id");
        let id = format!("standalone-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        std::fs::create_dir_all(&self.root)?;
        let tmp = self.root.join(".instance-id.tmp");
        std::fs::write(&tmp, format!("{id}\n"))?;
        std::fs::rename(&tmp, &path)?;
        Ok(id)
    }

    /// The instance id kept in the folder, if one is; never makes one (read-only commands
    /// must not leave a state folder behind).
    pub fn stored_instance_id(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.root.join("instance-id")).ok()?;
        let id = text.trim();
        launchplane_api::ownership::valid_instance_id(id).then(|| id.to_string())
    }

    fn path(&self, kind: &str, namespace: &str, name: &str) -> PathBuf {
        self.root
            .join(kind.to_ascii_lowercase())
            .join(namespace)
            .join(format!("{name}.json"))
    }

    /// The `(namespace, name)` of every object stored under `kind`.
    pub fn stored(&self, kind: &str) -> Vec<(String, String)> {
        let dir = self.root.join(kind.to_ascii_lowercase());
        let mut out = Vec::new();
        for namespace in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let ns = namespace.file_name().to_string_lossy().into_owned();
            for file in std::fs::read_dir(namespace.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let file_name = file.file_name().to_string_lossy().into_owned();
                if let Some(name) = file_name.strip_suffix(".json")
                    && !name.starts_with('.')
                {
                    out.push((ns.clone(), name.to_string()));
                }
            }
        }
        out.sort();
        out
    }

    /// Forget what is stored for one object; nothing stored is not an error.
    pub fn remove(&self, kind: &str, namespace: &str, name: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(kind, namespace, name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The stored status, if any. An unreadable or corrupt file counts as none: the next
    /// reconcile recomputes the status from observation, which is what it would do anyway.
    pub fn load<T: DeserializeOwned>(&self, kind: &str, namespace: &str, name: &str) -> Option<T> {
        let text = std::fs::read_to_string(self.path(kind, namespace, name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save<T: Serialize>(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        status: &T,
    ) -> std::io::Result<()> {
        let path = self.path(kind, namespace, name);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{name}.json.tmp"));
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_ignores_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(state.load::<serde_json::Value>("Lane", "shop", "prod"), None);
        state
            .save("Lane", "shop", "prod", &json!({"verdict": "Matched"}))
            .unwrap();
        assert_eq!(
            state.load::<serde_json::Value>("Lane", "shop", "prod"),
            Some(json!({"verdict": "Matched"}))
        );
        std::fs::write(dir.path().join("lane/shop/prod.json"), "{not json").unwrap();
        assert_eq!(state.load::<serde_json::Value>("Lane", "shop", "prod"), None);
    }

    #[test]
    fn lists_and_forgets_stored_objects() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert!(state.stored("accepted/Artifact").is_empty());
        state.save("accepted/Artifact", "shop", "a", &json!({})).unwrap();
        state.save("accepted/Artifact", "web", "b", &json!({})).unwrap();
        assert_eq!(
            state.stored("accepted/Artifact"),
            vec![("shop".into(), "a".into()), ("web".into(), "b".into())]
        );
        state.remove("accepted/Artifact", "shop", "a").unwrap();
        state.remove("accepted/Artifact", "shop", "a").unwrap();
        assert_eq!(
            state.stored("accepted/Artifact"),
            vec![("web".into(), "b".into())]
        );
    }
}
