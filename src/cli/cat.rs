//! `gadn cat`.

use std::io::Write;
use std::process::ExitCode;

use gadn::vcs::{EntryKind, Resolved};

use super::Ctx;

/// Arguments of `gadn cat`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// REV:PATH of a file (`:PATH` means HEAD).
    spec: String,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let entry = match repo.resolve(&a.spec)? {
        Resolved::Entry { entry, .. } => entry,
        Resolved::Commit(_) => {
            anyhow::bail!("'{}' names a commit; use REV:PATH to name a file", a.spec)
        }
    };
    if entry.kind == EntryKind::Dir {
        anyhow::bail!("'{}' is a directory; use `gadn show` to list it", a.spec);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    repo.store().write_file(&entry.id, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
