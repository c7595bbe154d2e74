//! Where a lane's app is reached for its identity probe, its `path` health checks and its
//! driver's checks, and where that came from (`status.verification.baseUrlSource`).
//!
//! In order: the Lane's `spec.runtimeIdentity.baseUrl`, the Product's `spec.baseUrl`, then
//! - `generic-web` and `odoo`: `https://` and the ProviderTarget's first expected domain;
//! - `verireel`: the domain Dokploy routes to the target (host, https, path from the shared
//!   poll). One enabled domain is taken; of several, the one the ProviderTarget's first
//!   expected domain selects; several and none selected is no base URL, with a message naming
//!   the domains and the fields to set. Never a guess.

use crate::redact::without_credentials;
use launchplane_api::resources::{BaseUrlSource, Driver, Lane, Product, ProviderTarget};
use launchplane_api::verify::target::ObservedRoute;

/// The base URL of a lane, where it came from, or why there is none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseUrl {
    /// Without a trailing slash; as configured, so it may carry credentials (see [`Self::shown`]).
    pub url: Option<String>,
    pub source: Option<BaseUrlSource>,
    /// Why there is no base URL (a sentence naming the field to set).
    pub problem: Option<String>,
    /// The problem may pass by itself (the shared poll has not run, failed or is stale), rather
    /// than needing a person to set something.
    pub transient: bool,
}

impl BaseUrl {
    /// The URL as status and logs may show it: credentials withheld.
    pub fn shown(&self) -> Option<String> {
        self.url.as_deref().map(without_credentials)
    }

    fn from(url: &str, source: BaseUrlSource) -> Self {
        BaseUrl {
            url: Some(url.trim_end_matches('/').to_string()),
            source: Some(source),
            problem: None,
            transient: false,
        }
    }

    fn none(problem: String) -> Self {
        BaseUrl {
            url: None,
            source: None,
            problem: Some(problem),
            transient: false,
        }
    }

    fn not_yet(problem: String) -> Self {
        BaseUrl {
            transient: true,
            ..BaseUrl::none(problem)
        }
    }
}

/// What the shared poll shows of the target's routes: its enabled domains, or why they cannot
/// be seen (not polled yet, the poll failed or is stale, the target is not listed). `None`
/// when nobody looked (the driver needs them only for `verireel`).
pub type RouteSight<'a> = Option<Result<&'a [ObservedRoute], String>>;

/// Resolve the lane's base URL.
pub fn resolve(
    lane: &Lane,
    product: Option<&Product>,
    target: Option<&ProviderTarget>,
    routes: RouteSight<'_>,
) -> BaseUrl {
    if let Some(url) = &lane.spec.runtime_identity.base_url {
        return BaseUrl::from(url, BaseUrlSource::Lane);
    }
    if let Some(url) = product.and_then(|p| p.spec.base_url.as_deref()) {
        return BaseUrl::from(url, BaseUrlSource::Product);
    }
    let expected = target.and_then(|t| t.spec.domains.first());
    if product.is_some_and(|p| p.spec.driver == Driver::Verireel) {
        return from_dokploy(target, expected.map(String::as_str), routes);
    }
    match expected {
        Some(domain) => BaseUrl::from(&format!("https://{domain}"), BaseUrlSource::ProviderTarget),
        None => BaseUrl::none(
            "the lane has no base URL: set the Lane's spec.runtimeIdentity.baseUrl, the Product's \
             spec.baseUrl or the ProviderTarget's spec.domains"
                .into(),
        ),
    }
}

/// A `verireel` lane's base URL from the domains Dokploy routes to its target.
fn from_dokploy(target: Option<&ProviderTarget>, selected: Option<&str>, routes: RouteSight<'_>) -> BaseUrl {
    const SET: &str = "set the Lane's spec.runtimeIdentity.baseUrl or the Product's spec.baseUrl";
    let name = target
        .and_then(|t| t.metadata.name.clone())
        .unwrap_or_else(|| "(none)".into());
    let routes = match routes {
        None => {
            return BaseUrl::not_yet(format!(
                "the Dokploy domains of ProviderTarget {name} were not observed; {SET}"
            ));
        }
        Some(Err(why)) => {
            return BaseUrl::not_yet(format!(
                "the Dokploy domains of ProviderTarget {name} cannot be seen ({why}); {SET}"
            ));
        }
        Some(Ok(routes)) => routes,
    };
    let chosen = match routes {
        [] => {
            return BaseUrl::none(format!(
                "Dokploy routes no enabled domain to ProviderTarget {name}; add a domain in Dokploy or {SET}"
            ));
        }
        [only] => only,
        several => match several.iter().find(|r| Some(r.host.as_str()) == selected) {
            Some(route) => route,
            None => {
                let hosts: Vec<&str> = several.iter().map(|r| r.host.as_str()).collect();
                return BaseUrl::none(format!(
                    "Dokploy routes {} domains to ProviderTarget {name} ({}) and none is selected: \
                     list the public one first in the ProviderTarget's spec.domains, or {SET}",
                    hosts.len(),
                    hosts.join(", ")
                ));
            }
        },
    };
    BaseUrl::from(&route_url(chosen), BaseUrlSource::DokployDomain)
}

/// The URL a route serves: its scheme, host and path prefix.
pub fn route_url(route: &ObservedRoute) -> String {
    let scheme = if route.https { "https" } else { "http" };
    let path = route
        .path
        .as_deref()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    format!("{scheme}://{}{path}", route.host)
}
