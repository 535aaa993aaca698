//! `gadn git merge-driver %O %A %B %P`: Git's `merge=gadn` driver.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::git::merge_driver::{merge_pointers, DriverOutcome};

/// Arguments, as Git passes them (`merge.gadn.driver`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The merge base's version (`%O`).
    base: PathBuf,
    /// Ours (`%A`); the result is left here.
    ours: PathBuf,
    /// Theirs (`%B`).
    theirs: PathBuf,
    /// The path in the repository (`%P`), for the message.
    path: Option<String>,
}

/// Exit 0 when merged, 1 on a conflict (Git's driver protocol).
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match merge_pointers(&a.base, &a.ours, &a.theirs)? {
        DriverOutcome::KeptOurs | DriverOutcome::TookTheirs => Ok(ExitCode::SUCCESS),
        DriverOutcome::Conflict => {
            let path = a.path.as_deref().unwrap_or("the asset");
            eprintln!(
                "gadn: both sides changed {path}; ours is kept. Take theirs with \
                 `git checkout --theirs -- {path}`, then `git add {path}`"
            );
            Ok(ExitCode::from(1))
        }
    }
}
