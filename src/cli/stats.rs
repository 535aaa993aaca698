//! `gadn stats`.

use std::process::ExitCode;

use gadn::ops::{self, StoreOf};

use super::output::{human_bytes, print_json};
use super::Ctx;

/// Arguments of `gadn stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    run_on(StoreOf::Repo(&repo), a)
}

/// Reports on the store `of` names (a repository's, or a Git repository's `.git/gadn`).
pub fn run_on(of: StoreOf<'_>, a: Args) -> anyhow::Result<ExitCode> {
    let s = ops::stats(of)?;
    if a.json {
        print_json(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("file versions:      {}", s.files);
    println!(
        "logical bytes:      {} ({})",
        s.logical_bytes,
        human_bytes(s.logical_bytes)
    );
    println!(
        "unique chunk bytes: {} ({})",
        s.unique_chunk_bytes,
        human_bytes(s.unique_chunk_bytes)
    );
    println!(
        "stored bytes:       {} ({}) in {} pack(s)",
        s.stored_bytes,
        human_bytes(s.stored_bytes),
        s.packs
    );
    println!("chunks:             {}", s.chunks);
    println!("objects:            {}", s.objects);
    println!("dedup ratio:        {:.2}x", s.dedup_ratio);
    println!("compression ratio:  {:.2}x", s.compression_ratio);
    Ok(ExitCode::SUCCESS)
}
