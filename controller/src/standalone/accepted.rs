//! The objects of kinds with transition rules (Artifacts, DeploymentRecords, Promotions,
//! BackupGates: `self == oldSelf`) as last accepted from the folder, kept in the state folder
//! under `accepted/<kind>/<namespace>/<name>.json`. The next load checks the transition rules
//! against them, as the API server checks an update against the stored object: an Artifact
//! whose digest was edited in place is refused. An object removed from the folder is
//! forgotten, so adding it again later is a create, as after `kubectl delete`.

use super::inputs::AcceptedObject;
use super::state::StateDir;
use serde_json::Value;

fn kind_dir(kind: &str) -> String {
    format!("accepted/{kind}")
}

/// The accepted object of `kind`, `namespace`, `name`, if any.
pub fn load(state: &StateDir, kind: &str, namespace: &str, name: &str) -> Option<Value> {
    state.load(&kind_dir(kind), namespace, name)
}

/// The `(namespace, name)` of every accepted object of `kind`.
pub fn stored(state: &StateDir, kind: &str) -> Vec<(String, String)> {
    state.stored(&kind_dir(kind))
}

/// Remember `objects` as accepted and forget every other object of `kinds`.
pub fn record(state: &StateDir, kinds: &[String], objects: &[AcceptedObject]) -> std::io::Result<()> {
    for kind in kinds {
        for (namespace, name) in state.stored(&kind_dir(kind)) {
            let kept = objects
                .iter()
                .any(|o| &o.kind == kind && o.namespace == namespace && o.name == name);
            if !kept {
                state.remove(&kind_dir(kind), &namespace, &name)?;
            }
        }
    }
    for o in objects {
        if load(state, &o.kind, &o.namespace, &o.name).as_ref() != Some(&o.body) {
            state.save(&kind_dir(&o.kind), &o.namespace, &o.name, &o.body)?;
        }
    }
    Ok(())
}
