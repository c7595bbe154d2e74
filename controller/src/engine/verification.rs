//! A lane's driver checks, observed: where its app is reached (with the routes the shared poll
//! shows, for `verireel`) and one GET per check through the shared prober. What each answer
//! means is `launchplane_core::verification`'s to say.

use super::driver::PolledFacts;
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
