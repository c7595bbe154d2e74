//! What the engine needs of every Launchplane kind: its name, its status type, and where the
//! verdict sits in that status. One impl per kind, so a status write, an Event or a gauge is
//! written once for all of them.

use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use launchplane_api::Verdict;
use launchplane_api::resources::{
    Approval, ApprovalStatus, Artifact, ArtifactStatus, BackupGate, BackupGateStatus, DataBootstrap,
    DataBootstrapStatus, DeploymentRecord, DeploymentRecordStatus, Incident, IncidentStatus, Lane,
    LaneStatus, NotificationPolicy, NotificationPolicyStatus, Preview, PreviewStatus, Product, ProductStatus,
    Promotion, PromotionStatus, ProviderConfig, ProviderConfigStatus, ProviderTarget, ProviderTargetStatus,
    RuntimeIdentity, RuntimeIdentityStatus,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// A namespaced Launchplane kind with a status.
pub trait Kind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Status: Clone + Debug + Default + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The kind's name, as in `kind:` and in metrics labels.
    const KIND: &'static str;

    fn status(&self) -> Option<&Self::Status>;

    fn status_mut(&mut self) -> &mut Option<Self::Status>;

    /// The verdict a status carries (Events, gauges, rows).
    fn verdict(status: &Self::Status) -> Option<Verdict>;

    /// `metadata.namespace`, `default` when unset (standalone manifests may omit it).
    fn namespace_or_default(&self) -> &str {
        self.meta().namespace.as_deref().unwrap_or("default")
    }

    /// `metadata.name` (empty when unset; the API server never serves such an object).
    fn name_or_empty(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }
}

macro_rules! kind {
    ($kind:ty, $status:ty) => {
        impl Kind for $kind {
            type Status = $status;
            const KIND: &'static str = stringify!($kind);

            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }

            fn status_mut(&mut self) -> &mut Option<$status> {
                &mut self.status
            }

            fn verdict(status: &$status) -> Option<Verdict> {
                status.verdict
            }
        }
    };
}

kind!(ProviderConfig, ProviderConfigStatus);
kind!(ProviderTarget, ProviderTargetStatus);
kind!(RuntimeIdentity, RuntimeIdentityStatus);
kind!(Product, ProductStatus);
kind!(Artifact, ArtifactStatus);
kind!(Lane, LaneStatus);
kind!(DeploymentRecord, DeploymentRecordStatus);
kind!(Preview, PreviewStatus);
kind!(Promotion, PromotionStatus);
kind!(BackupGate, BackupGateStatus);
kind!(Approval, ApprovalStatus);
kind!(Incident, IncidentStatus);
kind!(NotificationPolicy, NotificationPolicyStatus);
kind!(DataBootstrap, DataBootstrapStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_api_kinds() {
        assert_eq!(Lane::KIND, Lane::kind(&()));
        assert_eq!(ProviderTarget::KIND, ProviderTarget::kind(&()));
        assert_eq!(DeploymentRecord::KIND, DeploymentRecord::kind(&()));
    }
}
