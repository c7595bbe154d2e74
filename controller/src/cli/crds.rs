//! `launchplane crds`: the CRDs generated from the Rust types (the only source of crds/).

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Write one `<plural>.launchplane.dev.yaml` per kind into this folder instead of printing.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: &CrdsArgs) -> Result<i32> {
    let rendered = launchplane_api::crd::render_all().context("rendering the CRDs")?;
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            // Remove stale files first so a renamed kind does not leave its old CRD behind.
            for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "yaml") {
                    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                }
            }
            for (name, yaml) in &rendered {
                let path = dir.join(name);
                std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!("wrote {} CRDs to {}", rendered.len(), dir.display());
        }
        None => {
            for (i, (_, yaml)) in rendered.iter().enumerate() {
                if i > 0 {
                    println!("---");
                }
                print!("{yaml}");
            }
        }
    }
    Ok(0)
}
