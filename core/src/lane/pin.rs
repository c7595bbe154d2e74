//! How a lane's image reaches its target: an application is pointed at the image itself
//! (`saveDockerProvider`); an Odoo compose is pinned through one env key of its compose env
//! (`spec.odoo.imageEnvKey`, value `repository@digest`), which its compose file refers to.
//! Both are judged the same way: the image the target would run now against the record's.

use crate::target::{DesiredEnv, TargetFacts};
use launchplane_api::resources::{DEFAULT_IMAGE_ENV_KEY, Driver, Product, ProviderTarget, TargetCategory};
use launchplane_providers::SecretString;

/// Where the lane's image is pinned on its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImagePin {
    /// A Dokploy application's docker image.
    Application,
    /// A compose env key (the Odoo driver's compose lanes).
    ComposeEnv { key: String },
}

impl ImagePin {
    /// The pin of a lane deploying `product` to `target`: a compose target is pinned through
    /// the Odoo settings' env key (its default when the Product names none), anything else as
    /// an application.
    pub fn of(product: Option<&Product>, target: Option<&ProviderTarget>) -> ImagePin {
        let compose = target.is_some_and(|t| t.spec.target_category == TargetCategory::Compose);
        if !compose {
            return ImagePin::Application;
        }
        let key = product
            .filter(|p| p.spec.driver == Driver::Odoo)
            .and_then(|p| p.spec.odoo.as_ref())
            .map_or_else(|| DEFAULT_IMAGE_ENV_KEY.to_string(), |o| o.image_env_key.clone());
        ImagePin::ComposeEnv { key }
    }

    /// The image the target would run as read now.
    pub fn observed(&self, facts: &TargetFacts) -> Option<String> {
        match self {
            ImagePin::Application => facts.image.clone(),
            ImagePin::ComposeEnv { key } => {
                launchplane_providers::env_merge::value_of(facts.env.expose(), key)
            }
        }
    }

    /// The env key the image travels in, if it travels in the env.
    pub fn env_key(&self) -> Option<&str> {
        match self {
            ImagePin::Application => None,
            ImagePin::ComposeEnv { key } => Some(key),
        }
    }

    /// `env` with the image pinned, when the image travels in the env.
    pub fn pinned(&self, mut env: DesiredEnv, image: Option<&str>) -> DesiredEnv {
        if let (Some(key), Some(image)) = (self.env_key(), image) {
            env.insert(key.to_string(), SecretString::new(image));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchplane_api::resources::{OdooSpec, ProductSpec, ProviderTargetSpec};

    fn target(category: TargetCategory) -> ProviderTarget {
        ProviderTarget::new(
            "t",
            ProviderTargetSpec {
                target_category: category,
                ..Default::default()
            },
        )
    }

    fn product(driver: Driver, odoo: Option<OdooSpec>) -> Product {
        Product::new(
            "p",
            ProductSpec {
                driver,
                odoo,
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_compose_is_pinned_through_the_products_env_key() {
        let compose = target(TargetCategory::Compose);
        let custom = OdooSpec {
            image_env_key: "SHOP_IMAGE".into(),
            ..Default::default()
        };
        assert_eq!(
            ImagePin::of(Some(&product(Driver::Odoo, Some(custom))), Some(&compose)),
            ImagePin::ComposeEnv {
                key: "SHOP_IMAGE".into()
            }
        );
        assert_eq!(
            ImagePin::of(Some(&product(Driver::Odoo, None)), Some(&compose)),
            ImagePin::ComposeEnv {
                key: "ODOO_IMAGE".into()
            }
        );
        assert_eq!(
            ImagePin::of(
                Some(&product(Driver::GenericWeb, None)),
                Some(&target(TargetCategory::Application))
            ),
            ImagePin::Application
        );
        let facts = TargetFacts {
            image: Some("app-image".into()),
            env: SecretString::new("A=1\nODOO_IMAGE=ghcr.io/acme/odoo@sha256:aa\n"),
            ..Default::default()
        };
        let pin = ImagePin::of(Some(&product(Driver::Odoo, None)), Some(&compose));
        assert_eq!(
            pin.observed(&facts).as_deref(),
            Some("ghcr.io/acme/odoo@sha256:aa")
        );
        assert_eq!(
            ImagePin::Application.observed(&facts).as_deref(),
            Some("app-image")
        );
        let env = pin.pinned(DesiredEnv::new(), Some("img@sha256:bb"));
        assert_eq!(
            env.get("ODOO_IMAGE").map(|v| v.expose().to_string()),
            Some("img@sha256:bb".into())
        );
        assert!(
            ImagePin::Application
                .pinned(DesiredEnv::new(), Some("x"))
                .is_empty()
        );
    }
}
