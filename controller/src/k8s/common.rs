//! Pieces every reconciler shares: object keys, the error policy, status writes that skip
//! when nothing changed.

use super::context::Context;
use super::error::{Error, Result};
use super::status::apply_status;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// `(namespace, name)` of a namespaced object, or the user-class error saying which is missing.
pub fn namespace_and_name<K: Resource>(obj: &K, kind: &'static str) -> Result<(String, String)> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace { kind })?;
    let name = obj.meta().name.clone().ok_or(Error::MissingName { kind })?;
    Ok((namespace, name))
}

/// `kind/namespace/name`, the key failure counts are kept under.
pub fn failure_key<K: Resource>(obj: &K, kind: &str) -> String {
    format!(
        "{kind}/{}/{}",
        obj.namespace().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

/// Write `status` unless the object already carries exactly it: our own writes come back as
/// watch events, and an unconditional write per reconcile would be a write storm.
/// Returns whether a write was made.
pub async fn write_status_if_changed<K, S>(
    api: &Api<K>,
    kind: &'static str,
    namespace: &str,
    name: &str,
    current: Option<&S>,
    status: &S,
) -> Result<bool>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        tracing::trace!(kind, namespace, name, "status unchanged; not written");
        return Ok(false);
    }
    tracing::debug!(kind, namespace, name, "writing status");
    apply_status(api, name, status)
        .await
        .map_err(|source| Error::WriteStatus {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            source: Box::new(source),
        })?;
    Ok(true)
}

/// The error policy of every controller: count it, then retry as its class says.
pub fn error_policy<K: Resource>(obj: &K, error: &Error, ctx: &Context, kind: &'static str) -> Action {
    ctx.metrics.reconcile_failed(kind, error.category());
    let key = failure_key(obj, kind);
    let delay = ctx.failures.delay(&ctx.backoff, error.class(), &key);
    tracing::warn!(
        %error,
        kind,
        name = %obj.meta().name.as_deref().unwrap_or_default(),
        namespace = %obj.namespace().unwrap_or_default(),
        retry_in = ?delay,
        "reconcile failed"
    );
    match delay {
        Some(delay) => Action::requeue(delay),
        None => Action::await_change(),
    }
}

/// The shape kube-runtime wants for an error policy, for one kind.
pub fn policy_for<K: Resource>(kind: &'static str) -> impl Fn(Arc<K>, &Error, Arc<Context>) -> Action {
    move |obj, error, ctx| error_policy(obj.as_ref(), error, &ctx, kind)
}
