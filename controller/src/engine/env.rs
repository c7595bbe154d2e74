//! A lane's env: its ConfigMaps, then its Secrets, then its literal values (later wins); then
//! the env of its post-deploy command, the same way.

use super::secrets::{ReadPurpose, Secrets, WorldError};
use launchplane_api::resources::{Driver, Lane, LaneEnv, Product};
use launchplane_core::target::DesiredEnv;
use launchplane_providers::SecretString;

/// Resolve `lane`'s env: its own, then (Odoo products) the env of its post-deploy command, the
/// Product's `spec.odoo.postDeploy.env` and the Lane's `spec.odoo.postDeploy.env` over it. A
/// missing object, or a Secret value that is not text, is the user's to fix (`Ok(Err(..))`,
/// written to the lane's status naming the reference); a failure to read is an error to retry.
/// Values never leave the returned map.
pub async fn resolve_env(
    secrets: &dyn Secrets,
    lane: &Lane,
    product: Option<&Product>,
) -> Result<Result<DesiredEnv, String>, WorldError> {
    let namespace = lane.metadata.namespace.as_deref().unwrap_or("default");
    let mut sources: Vec<(&LaneEnv, &str)> = vec![(&lane.spec.env, "spec.env")];
    if let Some(p) = product.filter(|p| p.spec.driver == Driver::Odoo)
        && let Some(command) = p.spec.odoo.as_ref().and_then(|o| o.post_deploy.as_ref())
    {
        sources.push((&command.env, "Product spec.odoo.postDeploy.env"));
    }
    if let Some(over) = lane.spec.odoo.as_ref().and_then(|o| o.post_deploy.as_ref()) {
        sources.push((&over.env, "spec.odoo.postDeploy.env"));
    }
    let mut env = DesiredEnv::new();
    for (source, field) in sources {
        if let Err(problem) = add(secrets, namespace, source, field, &mut env).await? {
            return Ok(Err(problem));
        }
    }
    Ok(Ok(env))
}

/// Add one env source's ConfigMaps, then Secrets, then literal values to `env`.
async fn add(
    secrets: &dyn Secrets,
    namespace: &str,
    source: &LaneEnv,
    field: &str,
    env: &mut DesiredEnv,
) -> Result<Result<(), String>, WorldError> {
    for r in &source.config_map_refs {
        let Some(data) = secrets.config_map(namespace, &r.name).await? else {
            return Ok(Err(format!(
                "{field}.configMapRefs: ConfigMap {namespace}/{} does not exist; create it or remove \
                 the reference",
                r.name
            )));
        };
        env.extend(data.into_iter().map(|(k, v)| (k, SecretString::new(v))));
    }
    for r in &source.secret_refs {
        let Some(data) = secrets.secret(namespace, &r.name, ReadPurpose::Env).await? else {
            return Ok(Err(format!(
                "{field}.secretRefs: Secret {namespace}/{} does not exist; create it or remove the \
                 reference",
                r.name
            )));
        };
        for (key, bytes) in data {
            match String::from_utf8(bytes) {
                Ok(value) => {
                    env.insert(key, SecretString::new(value));
                }
                Err(_) => {
                    return Ok(Err(format!(
                        "{field}.secretRefs: key {key} of Secret {namespace}/{} is not UTF-8 text; \
                         an env value must be text",
                        r.name
                    )));
                }
            }
        }
    }
    env.extend(
        source
            .values
            .iter()
            .map(|v| (v.name.clone(), SecretString::new(v.value.clone()))),
    );
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use futures::future::BoxFuture;
    use launchplane_api::resources::{
        CommandOverride, CommandSpec, EnvValue, LaneOdoo, LaneSpec, LocalObjectRef, OdooSpec, ProductSpec,
    };
    use std::collections::BTreeMap;

    struct OneSecret;

    impl Secrets for OneSecret {
        fn secret<'a>(
            &'a self,
            _namespace: &'a str,
            name: &'a str,
            _purpose: ReadPurpose,
        ) -> BoxFuture<'a, Result<Option<super::super::secrets::SecretData>, WorldError>> {
            let found = (name == "smtp")
                .then(|| BTreeMap::from([("SMTP_PASSWORD".to_string(), b"sentinel-smtp".to_vec())]));
            Box::pin(async move { Ok(found) })
        }

        fn config_map<'a>(
            &'a self,
            _namespace: &'a str,
            _name: &'a str,
        ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, WorldError>> {
            Box::pin(async { Ok(None) })
        }

        fn variable(&self, _name: &str) -> Option<String> {
            None
        }

        fn reads_variables(&self) -> bool {
            false
        }
    }

    fn value(name: &str, value: &str) -> EnvValue {
        EnvValue {
            name: name.into(),
            value: value.into(),
        }
    }

    #[tokio::test]
    async fn the_post_deploy_env_of_product_and_lane_joins_the_lane_env() {
        let product = Product::new(
            "shop",
            ProductSpec {
                driver: Driver::Odoo,
                odoo: Some(OdooSpec {
                    post_deploy: Some(CommandSpec {
                        command: "odoo -u all --stop-after-init".into(),
                        env: LaneEnv {
                            values: vec![value("ODOO_UPDATE", "all"), value("MODE", "product")],
                            secret_refs: vec![LocalObjectRef::new("smtp")],
                            ..Default::default()
                        },
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        let mut lane = Lane::new(
            "prod",
            LaneSpec {
                env: LaneEnv {
                    values: vec![value("APP_ENV", "prod")],
                    ..Default::default()
                },
                odoo: Some(LaneOdoo {
                    post_deploy: Some(CommandOverride {
                        command: None,
                        env: LaneEnv {
                            values: vec![value("MODE", "lane")],
                            ..Default::default()
                        },
                    }),
                }),
                ..Default::default()
            },
        );
        lane.metadata.namespace = Some("shop".into());
        let env = resolve_env(&OneSecret, &lane, Some(&product))
            .await
            .unwrap()
            .unwrap();
        let shown: BTreeMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(
            shown,
            BTreeMap::from([
                ("APP_ENV", "prod"),
                ("MODE", "lane"),
                ("ODOO_UPDATE", "all"),
                ("SMTP_PASSWORD", "sentinel-smtp"),
            ])
        );
        // A generic-web product's odoo settings are not read.
        let mut generic = product.clone();
        generic.spec.driver = Driver::GenericWeb;
        let env = resolve_env(&OneSecret, &lane, Some(&generic))
            .await
            .unwrap()
            .unwrap();
        assert!(!env.contains_key("SMTP_PASSWORD"));
        // A missing Secret names the field.
        let mut missing = product;
        if let Some(pd) = missing.spec.odoo.as_mut().and_then(|o| o.post_deploy.as_mut()) {
            pd.env.secret_refs = vec![LocalObjectRef::new("gone")];
        }
        let problem = resolve_env(&OneSecret, &lane, Some(&missing))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            problem.starts_with("Product spec.odoo.postDeploy.env.secretRefs: Secret shop/gone"),
            "{problem}"
        );
    }
}
