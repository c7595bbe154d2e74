//! The real destinations: a GitHub issue per incident occurrence ([`github`]), an email per
//! notice over SMTP ([`email`]), a Discord webhook message per notice ([`discord`]).
//! [`RealDestinations`] builds them from their resolved configuration for the delivery engine.

pub mod discord;
pub mod email;
pub mod github;
mod text;

use crate::notify::destination::{BuildError, Destination, DestinationConfig, DestinationFactory};

/// The controller's [`DestinationFactory`]: each destination with its default timeouts.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealDestinations;

impl DestinationFactory for RealDestinations {
    fn build(&self, config: &DestinationConfig) -> Result<Box<dyn Destination>, BuildError> {
        Ok(match config {
            DestinationConfig::GitHubIssue(c) => Box::new(github::GitHubIssueDestination::new(c)?),
            DestinationConfig::Email(c) => Box::new(email::EmailDestination::new(c)?),
            DestinationConfig::Discord(c) => Box::new(discord::DiscordDestination::new(c)?),
        })
    }
}
