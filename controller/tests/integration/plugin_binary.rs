//! The real binary under the plugin's name (a symbolic link `kubectl-launchplane`, as the
//! docs tell people to make): it takes the plugin's commands directly, prints completions,
//! and refuses bad input before it needs a cluster, naming the flag, with exit 2.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `kubectl-launchplane` in `dir`: a symbolic link to the built binary.
fn plugin_in(dir: &Path) -> PathBuf {
    let link = dir.join("kubectl-launchplane");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_launchplane"), &link).unwrap();
    link
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        // No cluster: whatever needs one must not find one by accident.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap()
}

#[test]
fn the_binary_named_kubectl_launchplane_is_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin_in(dir.path());

    let help = run(&plugin, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    assert!(
        help.contains("Usage: kubectl launchplane [OPTIONS] <COMMAND>"),
        "{help}"
    );
    for command in [
        "status",
        "diff",
        "history",
        "promote",
        "rollback",
        "approve",
        "completion",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    assert!(
        !help.contains("controller"),
        "the controller's commands are not the plugin's:\n{help}"
    );

    for shell in ["bash", "zsh", "fish"] {
        let out = run(&plugin, &["completion", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(
            script.contains("kubectl-launchplane") || script.contains("kubectl_launchplane"),
            "{shell}"
        );
        assert!(script.contains("rollback"), "{shell}");
    }

    // `launchplane kubectl …` reaches the same commands.
    let out = run(
        Path::new(env!("CARGO_BIN_EXE_launchplane")),
        &["kubectl", "completion", "bash"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        text(&run(&plugin, &["completion", "bash"]).stdout)
    );
}

#[test]
fn bad_input_names_the_flag_and_exits_2_before_any_cluster_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin_in(dir.path());
    let cases: [(&[&str], &str); 5] = [
        (
            &["status", "-o", "wide"],
            "invalid value 'wide' for '--output <OUTPUT>'",
        ),
        (
            &["status", "-n", "shop", "-A"],
            "'--namespace <NAMESPACE>' cannot be used with '--all-namespaces'",
        ),
        (
            &["diff", "lane/shop-prod", "-A"],
            "-A/--all-namespaces: `diff` works in one namespace; pass -n NAMESPACE instead",
        ),
        (
            &["--kubeconfig", "/nonexistent/config", "status"],
            "--kubeconfig: cannot read /nonexistent/config",
        ),
        (&["rollback", "shop-prod"], "--to <ARTIFACT>"),
    ];
    for (args, message) in cases {
        let out = run(&plugin, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}:\n{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = run(&plugin, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("set KUBECONFIG or pass --kubeconfig PATH"),
        "{}",
        text(&out.stderr)
    );
}
