//! GitHub's REST API, as far as Launchplane calls it: [`client::GitHubClient`] (base URL, a
//! token from a Secret, GitHub's rate limits as a typed error) and the typed answers it reads.
//! Routes and fields follow `shared/github/rest-openapi-subset.json`; a route is added as one
//! method on the client and one shape here.

pub mod client;
pub mod feedback;
