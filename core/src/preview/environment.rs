//! Where previews live: `preview.environment` resolved among the environments of the template
//! target's project.

use std::collections::BTreeSet;

/// An environment of the template target's project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectEnvironment {
    pub id: String,
    pub name: Option<String>,
}

/// Resolve `preview.environment` (`wanted`) to an environment id: an environment of the
/// template target's project (`environments`) by id, else by name (exactly one may carry it),
/// else an environment id the org listing shows (`listed`: an environment of another project
/// that holds services). `Err`: a sentence saying what to fix.
pub fn resolve_environment(
    wanted: &str,
    project: &str,
    environments: &[ProjectEnvironment],
    listed: &BTreeSet<&str>,
) -> Result<String, String> {
    if environments.iter().any(|e| e.id == wanted) {
        return Ok(wanted.to_string());
    }
    let named: BTreeSet<&str> = environments
        .iter()
        .filter(|e| e.name.as_deref() == Some(wanted))
        .map(|e| e.id.as_str())
        .collect();
    match named.len() {
        1 => return Ok(named.into_iter().next().unwrap_or_default().to_string()),
        0 => {}
        n => {
            return Err(format!(
                "{n} environments of project {project} (the template target's) are named {wanted:?}; \
                 set preview.environment to the id of the one previews go to"
            ));
        }
    }
    if listed.contains(wanted) {
        return Ok(wanted.to_string());
    }
    Err(format!(
        "preview.environment {wanted:?} is neither the id nor the name of an environment of \
         project {project} (the template target's); create that environment in Dokploy or fix \
         preview.environment"
    ))
}
