//! The flags kubectl users expect (kubectl does not pass its own to a plugin, so the plugin
//! reads them itself): which kubeconfig, context, cluster and user, whom to act as, and which
//! namespace.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::PathBuf;

#[derive(Clone, Debug, Default, clap::Args)]
pub struct ClusterFlags {
    /// Path to the kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster configuration.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use. Default: its current context.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// Act as this user (impersonation, as `kubectl --as`).
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Act as a member of this group (repeatable; as `kubectl --as-group`).
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_groups: Vec<String>,
    /// The namespace. Default: the context's namespace, else `default`.
    #[arg(
        long,
        short = 'n',
        global = true,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Every namespace (`status` only).
    #[arg(long, short = 'A', global = true)]
    pub all_namespaces: bool,
}

/// Where a command looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespace(String),
    All,
}

impl Scope {
    /// The namespace of a command that reads or writes one object; `-A` is bad input there.
    pub fn one(self, command: &str) -> Result<String, String> {
        match self {
            Scope::Namespace(ns) => Ok(ns),
            Scope::All => Err(format!(
                "-A/--all-namespaces: `{command}` works in one namespace; pass -n NAMESPACE instead"
            )),
        }
    }
}

/// The scope the flags name, with `default_namespace` (the kubeconfig context's) when they
/// name none.
pub fn scope(flags: &ClusterFlags, default_namespace: &str) -> Scope {
    if flags.all_namespaces {
        Scope::All
    } else {
        Scope::Namespace(
            flags
                .namespace
                .clone()
                .unwrap_or_else(|| default_namespace.to_string()),
        )
    }
}

/// The kubeconfig options the flags name.
fn options(flags: &ClusterFlags) -> KubeConfigOptions {
    KubeConfigOptions {
        context: flags.context.clone(),
        cluster: flags.cluster.clone(),
        user: flags.user.clone(),
    }
}

/// The client, and the context's namespace; or what is wrong with the flags or the kubeconfig
/// (bad input).
pub async fn connect(flags: &ClusterFlags) -> Result<(Client, String), String> {
    launchplane_providers::install_crypto_provider();
    let options = options(flags);
    let named = options.context.is_some() || options.cluster.is_some() || options.user.is_some();
    let mut config = match &flags.kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|e| {
                format!(
                    "--kubeconfig: cannot read {}: {e}; pass the path of a kubeconfig file",
                    path.display()
                )
            })?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| kubeconfig_error(&options, &e.to_string()))?
        }
        None if named => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| kubeconfig_error(&options, &e.to_string()))?,
        None => Config::infer().await.map_err(|e| {
            format!(
                "no Kubernetes configuration ({e}): set KUBECONFIG or pass --kubeconfig PATH (and \
                 --context NAME)"
            )
        })?,
    };
    if let Some(user) = &flags.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !flags.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(flags.as_groups.clone());
    }
    let namespace = config.default_namespace.clone();
    let client =
        Client::try_from(config).map_err(|e| format!("cannot build a client from the kubeconfig: {e}"))?;
    Ok((client, namespace))
}

/// A kubeconfig that does not have what the flags name: name the flag.
fn kubeconfig_error(options: &KubeConfigOptions, error: &str) -> String {
    let flag = if options.context.is_some() {
        "--context: "
    } else if options.cluster.is_some() {
        "--cluster: "
    } else if options.user.is_some() {
        "--user: "
    } else {
        ""
    };
    format!(
        "{flag}{error}; `kubectl config get-contexts` lists the contexts, and --kubeconfig picks \
         another file"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_is_the_flag_else_the_context_s() {
        let mut flags = ClusterFlags::default();
        assert_eq!(scope(&flags, "shop"), Scope::Namespace("shop".into()));
        flags.namespace = Some("other".into());
        assert_eq!(scope(&flags, "shop"), Scope::Namespace("other".into()));
        flags.namespace = None;
        flags.all_namespaces = true;
        assert_eq!(scope(&flags, "shop"), Scope::All);
    }

    #[test]
    fn all_namespaces_is_bad_input_for_a_command_on_one_object() {
        let e = Scope::All.one("diff").unwrap_err();
        assert!(
            e.starts_with("-A/--all-namespaces: `diff`") && e.contains("-n NAMESPACE"),
            "{e}"
        );
        assert_eq!(Scope::Namespace("x".into()).one("diff"), Ok("x".into()));
    }

    #[tokio::test]
    async fn a_missing_kubeconfig_names_the_flag() {
        let flags = ClusterFlags {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..ClusterFlags::default()
        };
        let e = connect(&flags).await.err().unwrap();
        assert!(
            e.starts_with("--kubeconfig: cannot read /nonexistent/kubeconfig"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_unknown_context_names_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n\
             users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: here\n  context: {cluster: c, user: u, namespace: shop}\n\
             current-context: here\n",
        )
        .unwrap();
        let mut flags = ClusterFlags {
            kubeconfig: Some(path),
            ..ClusterFlags::default()
        };
        let (_, namespace) = connect(&flags).await.unwrap();
        assert_eq!(namespace, "shop", "the context's namespace is the default");
        flags.context = Some("there".into());
        let e = connect(&flags).await.err().unwrap();
        assert!(e.starts_with("--context: ") && e.contains("get-contexts"), "{e}");
    }
}
