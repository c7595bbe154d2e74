//! The audit and the import as tables (kubectl's style: columns three spaces apart) and as
//! JSON.

use super::Loaded;
use super::write::{Done, Mode, Outcome};
use crate::cli::history::table;
use launchplane_core::adoption::{Audit, ServiceRow};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

const NONE: &str = "<none>";

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        NONE.into()
    } else {
        items.join(",")
    }
}

fn nonzero(counts: &[(&str, usize)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(state, n)| format!("{state} {n}"))
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The services, then the ProviderTargets bound to nothing, then what it adds up to.
pub fn audit_table(loaded: &Loaded, audit: &Audit) -> String {
    let rows: Vec<Vec<String>> = audit
        .services
        .iter()
        .map(|s| {
            vec![
                s.state.as_str().to_string(),
                s.category.clone(),
                s.place(),
                s.name.clone(),
                s.id.clone(),
                or_none(&s.claimed_by),
                s.detail.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "STATE",
            "CATEGORY",
            "PROJECT/ENVIRONMENT",
            "NAME",
            "ID",
            "CLAIMED BY",
            "DETAIL",
        ],
        &rows,
    );
    if !audit.targets.is_empty() {
        let rows: Vec<Vec<String>> = audit
            .targets
            .iter()
            .map(|t| {
                vec![
                    t.state.as_str().to_string(),
                    t.target.clone(),
                    t.category.clone(),
                    t.target_id.clone().unwrap_or_else(|| NONE.into()),
                    t.display_name.clone(),
                    t.detail.clone(),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &[
                "STATE",
                "PROVIDERTARGET",
                "CATEGORY",
                "TARGET ID",
                "DISPLAY NAME",
                "DETAIL",
            ],
            &rows,
        ));
    }
    let claims = launchplane_core::adoption::targets_of(&loaded.config, &loaded.targets).len();
    let _ = write!(
        out,
        "\nProviderConfig {} ({}, Dokploy {}): {}, {}",
        loaded.key(),
        loaded.origin,
        loaded.config.spec.url,
        plural(
            audit.services.len(),
            "application or compose service",
            "applications and compose services"
        ),
        plural(claims, "ProviderTarget", "ProviderTargets"),
    );
    if !audit.others.is_empty() {
        let _ = write!(
            out,
            " ({} that cannot be a ProviderTarget)",
            plural(audit.others.len(), "other service", "other services")
        );
    }
    let _ = writeln!(out, "\n{}", nonzero(&audit.counts()));
    let blocking = audit.services.iter().filter(|s| s.state.blocks()).count() + audit.targets.len();
    if blocking == 0 {
        let free = unclaimed(&audit.services);
        let _ = writeln!(
            out,
            "nothing blocks adoption{}",
            if free == 0 {
                String::new()
            } else {
                format!(
                    "; `launchplane targets import` creates Observe ProviderTargets for the {}",
                    plural(free, "unclaimed service", "unclaimed services")
                )
            }
        );
    } else {
        let _ = writeln!(
            out,
            "{} adoption: resolve {} (see DETAIL), then audit again",
            plural(blocking, "row blocks", "rows block"),
            if blocking == 1 { "it" } else { "them" }
        );
    }
    out
}

fn unclaimed(services: &[ServiceRow]) -> usize {
    services
        .iter()
        .filter(|s| s.state == launchplane_core::adoption::ServiceState::Unclaimed)
        .count()
}

fn counts_json(counts: &[(&str, usize)]) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(k, n)| ((*k).to_string(), json!(n)))
            .collect::<Map<String, Value>>(),
    )
}

fn pretty(value: &impl Serialize) -> String {
    // The values hold strings, numbers and lists only: serializing them cannot fail.
    serde_json::to_string_pretty(value).map_or_else(|e| format!("{{\"error\": \"{e}\"}}\n"), |s| s + "\n")
}

pub fn audit_json(loaded: &Loaded, audit: &Audit) -> String {
    pretty(&json!({
        "providerConfig": loaded.key(),
        "source": loaded.origin,
        "dokploy": loaded.config.spec.url,
        "instance": loaded.instance,
        "blocking": audit.blocking(),
        "counts": counts_json(&audit.counts()),
        "services": audit.services,
        "targets": audit.targets,
        "others": audit.others,
    }))
}

/// Every row with what became of it, then the counts and what the mode did.
pub fn import_table(loaded: &Loaded, done: &Done, mode: &Mode) -> String {
    let rows: Vec<Vec<String>> = done
        .rows
        .iter()
        .map(|(outcome, r)| {
            vec![
                outcome.as_str().to_string(),
                r.category.clone(),
                format!(
                    "{}/{}",
                    r.project.as_deref().unwrap_or("-"),
                    r.environment.as_deref().unwrap_or("-")
                ),
                r.name.clone(),
                r.id.clone(),
                or_none(&r.provider_targets),
                r.detail.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "OUTCOME",
            "CATEGORY",
            "PROJECT/ENVIRONMENT",
            "NAME",
            "ID",
            "PROVIDERTARGET",
            "DETAIL",
        ],
        &rows,
    );
    let all: Vec<String> = done
        .counts()
        .iter()
        .map(|(outcome, n)| format!("{outcome} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "\nProviderConfig {} ({}, Dokploy {})\n{}",
        loaded.key(),
        loaded.origin,
        loaded.config.spec.url,
        all.join(", ")
    );
    let _ = writeln!(
        out,
        "{}",
        match mode {
            Mode::DryRun =>
                "dry run: nothing was written; --out DIR writes the manifests, --apply creates them"
                    .to_string(),
            Mode::Out(dir) if done.count(Outcome::Written) == 0 => format!(
                "nothing new to write into {}: every service above is claimed already or skipped",
                dir.display()
            ),
            Mode::Out(dir) => format!(
                "manifests in {}: review them, commit them, then audit again",
                dir.display()
            ),
            Mode::Apply(_) if done.count(Outcome::Created) == 0 => {
                "nothing new to create: every service above is claimed already or skipped".to_string()
            }
            Mode::Apply(_) => format!(
                "created in namespace {}: `kubectl get providertargets -n {}` shows their verdicts",
                loaded.namespace, loaded.namespace
            ),
        }
    );
    out
}

pub fn import_json(loaded: &Loaded, done: &Done, mode: &Mode) -> String {
    let rows: Vec<Value> = done
        .rows
        .iter()
        .map(|(outcome, row)| {
            let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.remove("decision");
                map.insert("outcome".into(), json!(outcome.as_str()));
            }
            value
        })
        .collect();
    let mut object = json!({
        "providerConfig": loaded.key(),
        "source": loaded.origin,
        "dokploy": loaded.config.spec.url,
        "mode": mode.name(),
        "counts": counts_json(&done.counts()),
        "rows": rows,
    });
    if let (Mode::Out(dir), Value::Object(map)) = (mode, &mut object) {
        map.insert("out".into(), json!(dir.display().to_string()));
    }
    if let (Some(error), Value::Object(map)) = (&done.error, &mut object) {
        map.insert("error".into(), json!(error));
    }
    pretty(&object)
}

#[cfg(test)]
mod tests;
