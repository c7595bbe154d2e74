//! A lane's driver checks, observed: where its app is reached (with the routes the shared poll
//! shows, for `verireel`) and one GET per check through the shared prober. What each answer
//! means is `launchplane_core::verification`'s to say.

use super::polled::PolledFacts;
use crate::observe::prober::Prober;
use jiff::Timestamp;
use launchplane_api::resources::{
    Driver, Lane, Product, ProviderTarget, VerificationCheck, VerificationCheckName,
};
use launchplane_core::health::{self, LastChange};
use launchplane_core::target::TargetRef;
use launchplane_core::verification::{self, BaseUrl};

/// The lane's base URL ([`verification::base_url::resolve`]); a `verireel` lane's from the
/// domains Dokploy routes to its target as the shared poll last saw them. A poll that failed,
/// is stale or does not list the target leaves the lane without one (never a guess from an old
/// listing). Domains do not move with the lane's own deploys, so any fresh poll will do.
pub fn base_url(
    lane: &Lane,
    product: Option<&Product>,
    target: Option<&ProviderTarget>,
    target_ref: Option<&TargetRef>,
    polled: Option<&PolledFacts>,
    now: Timestamp,
) -> BaseUrl {
    if !product.is_some_and(|p| p.spec.driver == Driver::Verireel) {
        return verification::base_url::resolve(lane, product, target, None);
    }
    let window = polled
        .and_then(|p| p.listing.as_ref())
        .map(|(snapshot, settings)| snapshot.window(settings));
    let sight = health::provider_sight(window.as_ref(), target_ref, LastChange::Never, now)
        .map(|observed| observed.routes.as_slice());
    verification::base_url::resolve(lane, product, target, Some(sight))
}

/// Run the driver's checks besides the identity, one GET each (none without a URL), and
/// classify what they answered.
pub async fn run_checks(
    prober: &Prober,
    requests: &[(VerificationCheckName, Option<String>)],
    base: &BaseUrl,
    now: Timestamp,
) -> Vec<VerificationCheck> {
    let mut out = Vec::with_capacity(requests.len());
    for (name, url) in requests {
        let answer = match url {
            Some(url) => Some(prober.fetch(url).await),
            None => None,
        };
        out.push(verification::classify(
            *name,
            url.as_deref(),
            answer.as_ref(),
            base,
            now,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use jiff::SignedDuration;
    use launchplane_api::resources::{BaseUrlSource, LaneSpec, ProductSpec, ProviderTargetSpec};
    use launchplane_api::verify::target::{ObservedRoute, ObservedTarget};
    use launchplane_core::observation::{PollSettings, SharedFacts, Snapshot};
    use launchplane_providers::TargetCategory;
    use std::sync::Arc;

    fn polled(observed_at: Timestamp, routes: Vec<ObservedRoute>) -> PolledFacts {
        let snapshot = Snapshot {
            targets: Some(Arc::new(vec![ObservedTarget {
                id: "app-1".into(),
                category: "application".into(),
                routes,
                ..Default::default()
            }])),
            observed_at: Some(observed_at),
            ..Default::default()
        };
        PolledFacts {
            facts: Arc::new(SharedFacts::default()),
            max_age: SignedDuration::from_secs(60),
            listing: Some((Arc::new(snapshot), PollSettings::default())),
        }
    }

    /// A verireel lane's base URL is the route the fresh shared poll shows for its target, by
    /// id; a poll older than the staleness window gives none, naming why.
    #[test]
    fn a_verireel_lane_takes_its_base_url_from_a_fresh_poll_only() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let lane = Lane::new("vr-prod", LaneSpec::default());
        let product = Product::new(
            "vr",
            ProductSpec {
                driver: Driver::Verireel,
                ..Default::default()
            },
        );
        let target = ProviderTarget::new("vr-prod", ProviderTargetSpec::default());
        let target_ref = TargetRef {
            category: TargetCategory::Application,
            id: "app-1".into(),
        };
        let route = ObservedRoute {
            host: "vr.example.com".into(),
            https: true,
            path: None,
        };
        let fresh = polled(now, vec![route.clone()]);
        let base = base_url(
            &lane,
            Some(&product),
            Some(&target),
            Some(&target_ref),
            Some(&fresh),
            now,
        );
        assert_eq!(base.url.as_deref(), Some("https://vr.example.com"));
        assert_eq!(base.source, Some(BaseUrlSource::DokployDomain));

        let stale = polled(now - SignedDuration::from_secs(3600), vec![route]);
        let base = base_url(
            &lane,
            Some(&product),
            Some(&target),
            Some(&target_ref),
            Some(&stale),
            now,
        );
        assert_eq!(base.url, None);
        assert!(base.problem.unwrap().contains("more than 3 poll intervals"));

        let base = base_url(&lane, Some(&product), Some(&target), Some(&target_ref), None, now);
        assert!(base.problem.unwrap().contains("not been polled yet"));
    }
}
