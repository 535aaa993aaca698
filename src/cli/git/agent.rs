//! `gadn git lfs-agent`: the git-lfs custom transfer agent (run by git-lfs, not by
//! hand). Configure a git-lfs repository with
//!
//! ```text
//! git config lfs.standalonetransferagent gadn
//! git config lfs.customtransfer.gadn.path /path/to/gadn
//! git config lfs.customtransfer.gadn.args "git lfs-agent"
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gadn::git::agent::{serve, AgentConfig};

use super::Ctx;

/// Arguments of `gadn git lfs-agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The gadn store to keep objects in (default: the repository's `.git/gadn`).
    /// Point several repositories (a clone, a fork) at one store to share it.
    /// Also settable with the environment variable `GADN_LFS_STORE`.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let git_dir = gadn::git::git_dir(&ctx.cwd);
    let store = a
        .store
        .or_else(|| std::env::var_os("GADN_LFS_STORE").map(PathBuf::from));
    let store_dir = match (store, &git_dir) {
        (Some(s), _) => ctx.cwd.join(s),
        (None, Ok(g)) => gadn::git::store_dir(g),
        (None, Err(e)) => {
            anyhow::bail!("{e}; run the agent inside a Git repository or pass --store DIR")
        }
    };
    let tmp_dir = match &git_dir {
        Ok(g) => g.join("lfs").join("tmp"),
        Err(_) => store_dir.join("tmp"),
    };
    let cfg = AgentConfig { store_dir, tmp_dir };
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout();
    serve(stdin, &mut stdout, &cfg).context("gadn lfs-agent")?;
    Ok(ExitCode::SUCCESS)
}
