//! Writing status: server-side apply on the status subresource, one field manager, the whole
//! status every time (so fields the controller no longer sets are removed, not left stale).

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// The single field manager every Launchplane status write uses.
pub const FIELD_MANAGER: &str = "launchplane.dev/controller";

/// The SSA body for a status write: apiVersion, kind and the status, nothing else.
pub fn status_patch<K, S>(status: &S) -> serde_json::Value
where
    K: Resource<DynamicType = ()>,
    S: Serialize,
{
    serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    })
}

/// Server-side apply `status` onto the named object's status subresource.
pub async fn apply_status<K, S>(api: &Api<K>, name: &str, status: &S) -> kube::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(status_patch::<K, S>(status)))
        .await
}
