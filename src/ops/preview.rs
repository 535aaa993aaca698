//! [`preview_after_commit`] and [`preview_revision`]: the previews of a commit's
//! files, one batch at a time per repository.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{Error, NoProgress, Progress, Unit};
use crate::preview::batch::{jobs_for_tree, preview_files, Summary};
use crate::preview::recorded::{Job, Planner};
use crate::preview::settings::{OnCommit, Settings};
use crate::store::ObjectId;
use crate::vcs::{flatten, Repo};

/// The file in the store directory whose exclusive lock a preview batch holds.
pub const PREVIEW_LOCK: &str = "preview.lock";

/// The log a background preview run writes to, in the store directory.
const PREVIEW_LOG: &str = "preview.log";

/// How to make the previews of a revision.
#[derive(Clone)]
pub struct PreviewOptions {
    /// Make them again even when recorded.
    pub force: bool,
    /// Where progress (files previewed) goes.
    pub progress: Arc<dyn Progress>,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            force: false,
            progress: Arc::new(NoProgress),
        }
    }
}

/// Makes the previews of every file of `rev` that has none yet (all of them with
/// `force`). One batch at a time per repository: a second one (say, after the
/// next commit) waits for the lock on [`PREVIEW_LOCK`], then finds most previews
/// made and skips them.
pub fn preview_revision(
    repo: &mut Repo,
    planner: &Planner,
    rev: &str,
    opts: &PreviewOptions,
) -> Result<Summary, Error> {
    let commit = repo.resolve_commit(rev)?;
    let _serial = serial_lock(repo.store().dir())?;
    let tree = repo.store().commit(&commit)?.tree;
    let entries = flatten(repo.store(), &tree)?;
    let jobs: Vec<Job> = jobs_for_tree(&entries);
    opts.progress
        .start("previews of files", Unit::Items, jobs.len() as u64);
    let p = opts.progress.clone();
    let progress = move |done: u64, total: u64| p.advance(done, total);
    let summary = preview_files(repo.store_mut(), planner, jobs, opts.force, &progress);
    opts.progress.finish();
    Ok(summary?)
}

/// An exclusive lock on `.gadn/preview.lock`, held until the file is dropped.
/// `File::lock` is `flock(LOCK_EX)` on Unix: the kernel releases it when the
/// process ends, so a crashed batch never leaves it held.
fn serial_lock(store_dir: &Path) -> Result<File, Error> {
    let path = store_dir.join(PREVIEW_LOCK);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    f.lock().map_err(io)?;
    Ok(f)
}

/// How to [`preview_after_commit`].
#[derive(Clone)]
pub struct AfterCommitOptions {
    /// For `preview.on-commit = background`: the `gadn` program to start as
    /// `PROGRAM --quiet preview --all COMMIT` in a detached process. `None`
    /// makes them before returning instead (a library has no such program).
    pub background_program: Option<PathBuf>,
    /// Where progress goes when they are made before returning.
    pub progress: Arc<dyn Progress>,
}

impl Default for AfterCommitOptions {
    fn default() -> Self {
        AfterCommitOptions {
            background_program: None,
            progress: Arc::new(NoProgress),
        }
    }
}

/// What [`preview_after_commit`] did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "previews", rename_all = "kebab-case")]
pub enum AfterCommitReport {
    /// `preview.on-commit = off`: nothing.
    Off,
    /// Made before returning.
    Made(Summary),
    /// Left to a detached background process.
    Background {
        /// Its process id.
        pid: u32,
        /// Where its messages go.
        log: PathBuf,
    },
}

/// Makes the previews of `commit`'s files as `preview.on-commit` says: in a
/// detached background process (the default; its messages go to
/// `.gadn/preview.log`), before returning (`wait`), or not at all (`off`).
pub fn preview_after_commit(
    repo: &mut Repo,
    commit: &ObjectId,
    opts: &AfterCommitOptions,
) -> Result<AfterCommitReport, Error> {
    let settings = Settings::load(repo.store())?;
    let program = match (settings.on_commit, &opts.background_program) {
        (OnCommit::Off, _) => return Ok(AfterCommitReport::Off),
        (OnCommit::Background, Some(program)) => program,
        (OnCommit::Wait, _) | (OnCommit::Background, None) => {
            let planner = Planner::new(settings);
            let popts = PreviewOptions {
                force: false,
                progress: opts.progress.clone(),
            };
            let s = preview_revision(repo, &planner, &commit.to_hex(), &popts)?;
            return Ok(AfterCommitReport::Made(s));
        }
    };
    use std::os::unix::process::CommandExt;
    let log_path = repo.store().dir().join(PREVIEW_LOG);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io(&log_path))?;
    let child = std::process::Command::new(program)
        .args(["--quiet", "preview", "--all", &commit.to_hex()])
        .current_dir(repo.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        // Its own process group: a Ctrl-C meant for the next command in this
        // terminal does not reach it.
        .process_group(0)
        .spawn()
        .map_err(io(program))?;
    Ok(AfterCommitReport::Background {
        pid: child.id(),
        log: log_path,
    })
}
