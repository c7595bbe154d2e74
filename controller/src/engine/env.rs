//! A lane's env: its ConfigMaps, then its Secrets, then its literal values (later wins).

use super::secrets::{ReadPurpose, Secrets, WorldError};
use launchplane_api::resources::Lane;
use launchplane_core::target::DesiredEnv;
use launchplane_providers::SecretString;

/// Resolve `lane`'s env. A missing object, or a Secret value that is not text, is the user's to
/// fix (`Ok(Err(..))`, written to the lane's status naming the reference); a failure to read
/// is an error to retry. Values never leave the returned map.
pub async fn resolve_env(
    secrets: &dyn Secrets,
    lane: &Lane,
) -> Result<Result<DesiredEnv, String>, WorldError> {
    let namespace = lane.metadata.namespace.as_deref().unwrap_or("default");
    let mut env = DesiredEnv::new();
    for r in &lane.spec.env.config_map_refs {
        let Some(data) = secrets.config_map(namespace, &r.name).await? else {
            return Ok(Err(format!(
                "spec.env.configMapRefs: ConfigMap {namespace}/{} does not exist; create it or remove \
                 the reference",
                r.name
            )));
        };
        env.extend(data.into_iter().map(|(k, v)| (k, SecretString::new(v))));
    }
    for r in &lane.spec.env.secret_refs {
        let Some(data) = secrets.secret(namespace, &r.name, ReadPurpose::Env).await? else {
            return Ok(Err(format!(
                "spec.env.secretRefs: Secret {namespace}/{} does not exist; create it or remove the \
                 reference",
                r.name
            )));
        };
        for (key, bytes) in data {
            match String::from_utf8(bytes) {
                Ok(value) => {
                    env.insert(key, SecretString::new(value));
                }
                Err(_) => {
                    return Ok(Err(format!(
                        "spec.env.secretRefs: key {key} of Secret {namespace}/{} is not UTF-8 text; \
                         an env value must be text",
                        r.name
                    )));
                }
            }
        }
    }
    env.extend(
        lane.spec
            .env
            .values
            .iter()
            .map(|v| (v.name.clone(), SecretString::new(v.value.clone()))),
    );
    Ok(Ok(env))
}
