//! `gadn init`.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::ChunkParams;

use super::Ctx;

/// Arguments of `gadn init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to create the repository in (default: the current directory).
    dir: Option<PathBuf>,
    /// Average chunk size (e.g. 64KiB, 1MiB); min and max are a quarter and four
    /// times it. Fixed for the life of the repository: every peer must cut alike.
    #[arg(long, value_name = "SIZE")]
    chunk_size: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let dir = match a.dir {
        Some(d) if d.is_absolute() => d,
        Some(d) => ctx.cwd.join(d),
        None => ctx.cwd.clone(),
    };
    let params = match a.chunk_size {
        Some(s) => ChunkParams::parse(&s)?,
        None => ChunkParams::DEFAULT,
    };
    let repo = gadn::vcs::Repo::init(&dir, params)?;
    if !ctx.quiet {
        println!(
            "Initialized empty gadn repository in {} (chunks {params})",
            repo.store().dir().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
