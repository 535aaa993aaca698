//! `gadn preview`: show, write out, or make the previews of assets.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use gadn::preview::batch::{jobs_for_tree, preview_files, Summary};
use gadn::preview::recorded::{Job, Planner};
use gadn::preview::settings::Settings;
use gadn::preview::Role;
use gadn::store::object::PreviewObject;
use gadn::store::{ObjectId, Store};
use gadn::vcs::{flatten, Repo, Resolved};

use super::output::{count_bar, human_bytes, print_json};
use super::Ctx;

/// Arguments of `gadn preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The asset: a tracked PATH (as staged) or REV:PATH. With --all: the revision
    /// whose files to preview (default HEAD).
    spec: Option<String>,
    /// Make the previews of every file of a revision that has none yet.
    #[arg(long)]
    all: bool,
    /// Which item to write with --out: thumbnail, waveform, peaks, clip, lowpoly.
    #[arg(long, default_value = "thumbnail")]
    role: String,
    /// Thumbnail level to write with --out (longest side in px; the nearest made).
    #[arg(long, default_value_t = 256)]
    level: u32,
    /// Write the chosen item (PNG, WAV, GLB…) to this file.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Make the previews again even if they are recorded.
    #[arg(long, conflicts_with = "cached")]
    force: bool,
    /// Only show a recorded preview; never make one (exit 1 when there is none).
    #[arg(long)]
    cached: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// A preview as shown by `--json` and `meta show --json`.
#[derive(Debug, serde::Serialize)]
pub struct PreviewView {
    /// Preview object id.
    pub id: String,
    /// File object previewed.
    pub file: String,
    /// Generator name and version.
    pub generator: String,
    /// Generator version.
    pub version: u32,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Extracted facts.
    pub facts: serde_json::Value,
    /// Items, in order.
    pub items: Vec<ItemView>,
}

/// One item of a [`PreviewView`].
#[derive(Debug, serde::Serialize)]
pub struct ItemView {
    /// `thumbnail`, `waveform`, `peaks`, `clip`, `lowpoly`, `lowres`.
    pub role: String,
    /// Level (px) or 0.
    pub level: u32,
    /// MIME type.
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// File object holding it.
    pub content: String,
}

impl PreviewView {
    /// The view of a stored preview object.
    pub fn new(id: &ObjectId, p: &PreviewObject) -> PreviewView {
        PreviewView {
            id: id.to_hex(),
            file: p.file.to_hex(),
            generator: p.generator.clone(),
            version: p.generator_version,
            error: p.error.clone(),
            facts: serde_json::from_str(&p.facts).unwrap_or(serde_json::Value::Null),
            items: p
                .items
                .iter()
                .map(|i| ItemView {
                    role: Role::from_code(i.role)
                        .map_or("unknown", |r| r.name())
                        .to_string(),
                    level: i.level,
                    media_type: i.media_type.clone(),
                    size: i.size,
                    content: i.content.to_hex(),
                })
                .collect(),
        }
    }
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let planner = Planner::new(Settings::load(repo.store())?);
    if a.all {
        let rev = a.spec.as_deref().unwrap_or("HEAD");
        let summary = preview_revision(&mut repo, &planner, rev, a.force, ctx.quiet)?;
        if a.json {
            print_json(&summary)?;
        } else if !ctx.quiet {
            print_summary(&summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let spec = a
        .spec
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("name an asset (PATH or REV:PATH), or use --all"))?;
    let (path, file) = resolve_file(ctx, &repo, spec)?;
    let (id, preview) = if a.cached {
        match cached(&repo, &planner, &file, &path)? {
            Some(found) => found,
            None => {
                if !ctx.quiet {
                    eprintln!("{path}: no preview recorded yet");
                }
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        ensure(&mut repo, &planner, &path, &file, a.force)?
    };
    if let Some(out) = &a.out {
        let role = Role::from_name(&a.role).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown role '{}': expected thumbnail, waveform, peaks, clip, lowpoly or lowres",
                a.role
            )
        })?;
        if let Some(e) = &preview.error {
            anyhow::bail!("{path}: no preview: {e}");
        }
        let item = pick(&preview, role, a.level).ok_or_else(|| {
            let have: Vec<String> = PreviewView::new(&id, &preview)
                .items
                .iter()
                .map(|i| format!("{} {}", i.role, i.level))
                .collect();
            anyhow::anyhow!(
                "{path}: the preview has no {} item (it has: {})",
                role.name(),
                if have.is_empty() {
                    "none".into()
                } else {
                    have.join(", ")
                }
            )
        })?;
        write_item(repo.store(), &item.content, out)?;
        if !ctx.quiet && !a.json {
            eprintln!(
                "wrote {} {} ({}, {}) to {}",
                role.name(),
                item.level,
                item.media_type,
                human_bytes(item.size),
                out.display()
            );
        }
    }
    if a.json {
        print_json(&PreviewView::new(&id, &preview))?;
    } else if a.out.is_none() {
        print_preview(&path, &PreviewView::new(&id, &preview));
    }
    Ok(ExitCode::SUCCESS)
}

/// The item of `role` nearest `level`: the smallest at or above it, else the
/// largest below.
fn pick(p: &PreviewObject, role: Role, level: u32) -> Option<&gadn::store::object::PreviewItemRef> {
    let mut of_role: Vec<_> = p.items.iter().filter(|i| i.role == role.code()).collect();
    of_role.sort_by_key(|i| i.level);
    of_role
        .iter()
        .find(|i| i.level >= level)
        .or_else(|| of_role.last())
        .copied()
}

/// Writes stored file `content` to `out` (through a temporary file, so a failure
/// never leaves half an output).
fn write_item(store: &Store, content: &ObjectId, out: &std::path::Path) -> anyhow::Result<()> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    store.write_file(content, tmp.as_file_mut())?;
    // Temporary files are made owner-only; the output gets the usual mode.
    {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: umask only swaps the process's file-mode mask; it is restored at once.
        let mask = unsafe {
            let m = libc::umask(0o022);
            libc::umask(m);
            m
        };
        let mode = 0o666 & !mask;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", out.display()))?;
    }
    tmp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// `(repository path, file id)` of a tracked PATH or a REV:PATH.
fn resolve_file(ctx: &Ctx, repo: &Repo, spec: &str) -> anyhow::Result<(String, ObjectId)> {
    if spec.contains(':') && !ctx.cwd.join(spec).exists() {
        match repo.resolve(spec)? {
            Resolved::Entry { path, entry, .. } => {
                if entry.kind == gadn::store::object::EntryKind::Dir {
                    anyhow::bail!("{spec} is a directory; name a file, or use --all REV");
                }
                Ok((path, entry.id))
            }
            Resolved::Commit(_) => anyhow::bail!("{spec}: expected REV:PATH naming a file"),
        }
    } else {
        let path = ctx.repo_paths(repo, &[PathBuf::from(spec)])?.remove(0);
        let view = repo.meta_show_index(&path)?;
        Ok((path, view.file_id.parse()?))
    }
}

/// The recorded preview of `file` by the current generator for its type, if any.
fn cached(
    repo: &Repo,
    planner: &Planner,
    file: &ObjectId,
    path: &str,
) -> anyhow::Result<Option<(ObjectId, PreviewObject)>> {
    let read = Arc::new(Store::open(repo.store().dir())?);
    Ok(planner.recorded(&read, file, path)?)
}

/// The recorded preview of `file`, made (and recorded) first when there is none
/// or it is stale (all of them made anew with `force`).
pub fn ensure(
    repo: &mut Repo,
    planner: &Planner,
    path: &str,
    file: &ObjectId,
    force: bool,
) -> anyhow::Result<(ObjectId, PreviewObject)> {
    let job = Job {
        file: *file,
        path: path.to_string(),
    };
    let summary = preview_files(repo.store_mut(), planner, vec![job], force, &|_, _| {})?;
    match cached(repo, planner, file, path)? {
        Some(found) => Ok(found),
        None => anyhow::bail!(
            "{path}: cannot preview: {}",
            summary
                .failures
                .first()
                .map_or("content not present", |(_, why)| why.as_str())
        ),
    }
}

/// Makes the previews of every file of `rev` that has none yet.
pub fn preview_revision(
    repo: &mut Repo,
    planner: &Planner,
    rev: &str,
    force: bool,
    quiet: bool,
) -> anyhow::Result<Summary> {
    let commit = repo.resolve_commit(rev)?;
    // One batch at a time per repository: a second one (say, after the next commit)
    // waits, then finds most previews made and skips them.
    let _serial = serial_lock(repo.store().dir())?;
    let tree = repo.store().commit(&commit)?.tree;
    let entries = flatten(repo.store(), &tree)?;
    let jobs: Vec<Job> = jobs_for_tree(&entries);
    let bar = count_bar(quiet, jobs.len() as u64, "previews of files");
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let summary = preview_files(repo.store_mut(), planner, jobs, force, &progress)?;
    bar.finish_and_clear();
    Ok(summary)
}

fn print_summary(s: &Summary) {
    println!(
        "{} file(s): {} preview(s) made ({} failed), {} already made, {} not present",
        s.files, s.made, s.failed, s.existing, s.absent
    );
    for (path, why) in &s.failures {
        println!("  {path}: {why}");
    }
}

fn print_preview(path: &str, v: &PreviewView) {
    println!(
        "{path}: {} v{} (preview {})",
        v.generator,
        v.version,
        &v.id[..12]
    );
    if let Some(e) = &v.error {
        println!("  failed: {e}");
    }
    if let serde_json::Value::Object(facts) = &v.facts {
        let width = facts.keys().map(|k| k.len()).max().unwrap_or(0) + 1;
        for (k, val) in facts {
            let text = match val {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("  {:width$} {text}", format!("{k}:"));
        }
    }
    for i in &v.items {
        println!(
            "  {} {} ({}, {})",
            i.role,
            if i.level > 0 {
                i.level.to_string()
            } else {
                String::new()
            },
            i.media_type,
            human_bytes(i.size)
        );
    }
}

/// An exclusive `flock` on `.gadn/preview.lock`, released when the file is dropped.
fn serial_lock(store_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let path = store_dir.join("preview.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is involved.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot lock {}", path.display()));
    }
    Ok(f)
}
