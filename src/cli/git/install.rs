//! `gadn git install` / `uninstall`.

use std::process::ExitCode;

use anyhow::Context;

use super::Ctx;

/// Arguments of `gadn git install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// `.gitattributes` pattern to route through gadn (repeatable); default: common
    /// game-asset types (*.psd, *.fbx, *.wav, *.png, *.uasset, …).
    #[arg(long = "pattern", value_name = "GLOB")]
    patterns: Vec<String>,
    /// Configure the filter for every repository of this user (global Git config),
    /// like `git lfs install`: a plain `git clone` of a gadn-tracked repository then
    /// checks out content. Writes no patterns and creates no store.
    #[arg(long, conflicts_with = "patterns")]
    global: bool,
}

/// Arguments of `gadn git uninstall`.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Remove the filter from the global Git config instead.
    #[arg(long)]
    global: bool,
}

pub fn run_install(ctx: &Ctx, a: InstallArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the gadn executable's path")?;
    // Linux names a replaced executable "path (deleted)"; Git must run the new one.
    let exe = match exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(p) if std::path::Path::new(p).is_file() => std::path::PathBuf::from(p),
        _ => exe,
    };
    let exe = exe.canonicalize().unwrap_or(exe);
    if a.global {
        let r = gadn::git::install::install_global(&ctx.cwd, &exe)?;
        if !ctx.quiet {
            println!(
                "Configured filter.gadn.process = {} in the global Git config",
                r.process
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let r = gadn::git::install::install(&ctx.cwd, &exe, &a.patterns)?;
    if !ctx.quiet {
        if r.store_created {
            println!("Created the gadn store in {}", r.store.display());
        }
        println!("Configured filter.gadn.process = {}", r.process);
        if r.added.is_empty() {
            println!("{} already tracks every pattern", r.attributes.display());
        } else {
            println!(
                "Tracking {} pattern(s) in {}: {}",
                r.added.len(),
                r.attributes.display(),
                r.added.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_uninstall(ctx: &Ctx, a: UninstallArgs) -> anyhow::Result<ExitCode> {
    if a.global {
        let removed = gadn::git::install::uninstall_global(&ctx.cwd)?;
        if !ctx.quiet {
            println!(
                "{}",
                if removed {
                    "Removed filter.gadn from the global Git config"
                } else {
                    "The global Git config has no filter.gadn section"
                }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let r = gadn::git::install::uninstall(&ctx.cwd)?;
    if !ctx.quiet {
        if r.config_removed {
            println!("Removed the filter.gadn configuration");
        }
        println!(
            "Removed {} pattern(s) from .gitattributes; the store in {} is kept",
            r.removed.len(),
            r.store.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
