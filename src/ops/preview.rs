//! Previews: [`preview_asset`] (one asset's preview, made when missing, an item
//! written out), [`preview_revision`] (every file of a revision, one batch at a
//! time per repository) and [`preview_after_commit`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{Error, NoProgress, Progress, Unit};
use crate::preview::batch::{jobs_for_tree, preview_files, Summary};
use crate::preview::recorded::{Job, Planner};
use crate::preview::settings::{OnCommit, Settings};
use crate::preview::Role;
use crate::store::object::{EntryKind, PreviewItemRef, PreviewObject};
use crate::store::{ObjectId, Store};
use crate::vcs::{flatten, Repo, Resolved};

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

/// The asset [`preview_asset`] previews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asset {
    /// A tracked path (repository-relative, `/`-separated), as staged.
    Staged(String),
    /// `REV:PATH`: a file of a revision.
    Revision(String),
    /// A stored file object known by id, at `path` (the path picks the generator).
    File {
        /// Its repository path.
        path: String,
        /// The file object.
        id: ObjectId,
    },
}

/// One item of a preview to write out.
#[derive(Debug, Clone)]
pub struct WriteItem {
    /// Which item: of this role, or (`None`) the asset's primary picture, see
    /// [`primary_picture`].
    pub role: Option<Role>,
    /// The level wanted (thumbnail longest side, px): the smallest item at or above
    /// it is taken, else the largest below.
    pub level: u32,
    /// Where to write it (through a temporary file beside it, so a failure never
    /// leaves half an output).
    pub out: PathBuf,
}

/// How to [`preview_asset`].
#[derive(Debug, Clone)]
pub struct AssetPreviewOptions {
    /// The asset.
    pub asset: Asset,
    /// Only look up a recorded preview; never make one.
    pub cached: bool,
    /// Make it again even when recorded (ignored with `cached`).
    pub force: bool,
    /// An item to write out.
    pub write: Option<WriteItem>,
}

/// A stored preview, as reports and `--json` show it.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewView {
    /// Preview object id (hex).
    pub id: String,
    /// File object previewed (hex).
    pub file: String,
    /// Generator name.
    pub generator: String,
    /// Generator version.
    pub version: u32,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Extracted facts (`null` if they do not parse).
    pub facts: serde_json::Value,
    /// Items, in stored order.
    pub items: Vec<ItemView>,
}

/// One item of a [`PreviewView`].
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// `thumbnail`, `waveform`, `peaks`, `clip`, `lowpoly`, `lowres` (or `unknown`).
    pub role: String,
    /// Level (px) or 0.
    pub level: u32,
    /// MIME type.
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// File object holding it (hex).
    pub content: String,
}

impl PreviewView {
    /// The view of stored preview object `p` with id `id`.
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

/// An item [`preview_asset`] wrote out.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenItem {
    /// Its role's name (the role of the primary picture when none was asked for).
    pub role: String,
    /// Its level.
    pub level: u32,
    /// Its MIME type.
    pub media_type: String,
    /// Bytes written.
    pub size: u64,
    /// Where.
    pub out: PathBuf,
}

/// What [`preview_asset`] reports.
#[derive(Debug, Clone, Serialize)]
pub struct AssetPreviewReport {
    /// The asset's repository path.
    pub path: String,
    /// Its preview; `None` only with `cached` when none is recorded.
    pub preview: Option<PreviewView>,
    /// The item written out, if one was asked for.
    pub written: Option<WrittenItem>,
}

/// The preview of one asset: the recorded one by the current generator for its
/// type, made and recorded first when there is none or it is stale (unless
/// `cached`); then, if asked, one of its items written to a file.
pub fn preview_asset(
    repo: &mut Repo,
    opts: &AssetPreviewOptions,
) -> Result<AssetPreviewReport, Error> {
    let planner = Planner::new(Settings::load(repo.store())?);
    let (path, file) = resolve_asset(repo, &opts.asset)?;
    let found = if opts.cached {
        recorded(repo.store(), &planner, &file, &path)?
    } else {
        Some(ensure_preview(repo, &planner, &path, &file, opts.force)?)
    };
    let Some((id, preview)) = found else {
        return Ok(AssetPreviewReport {
            path,
            preview: None,
            written: None,
        });
    };
    let written = match &opts.write {
        None => None,
        Some(w) => Some(write_item(repo.store(), &path, &id, &preview, w)?),
    };
    Ok(AssetPreviewReport {
        path,
        preview: Some(PreviewView::new(&id, &preview)),
        written,
    })
}

/// The recorded preview of `file` (at `path`), made and recorded first when there
/// is none or it is stale (all made anew with `force`); [`Error::NoPreview`] when
/// it cannot be made (say, the content is not present).
pub fn ensure_preview(
    repo: &mut Repo,
    planner: &Planner,
    path: &str,
    file: &ObjectId,
    force: bool,
) -> Result<(ObjectId, PreviewObject), Error> {
    let job = Job {
        file: *file,
        path: path.to_string(),
    };
    let summary = preview_files(repo.store_mut(), planner, vec![job], force, &|_, _| {})?;
    recorded(repo.store(), planner, file, path)?.ok_or_else(|| Error::NoPreview {
        path: path.into(),
        why: summary
            .failures
            .first()
            .map_or_else(|| "content not present".into(), |(_, why)| why.clone()),
    })
}

/// `(repository path, file id)` of `asset`; a directory is [`Error::NotAFile`].
fn resolve_asset(repo: &Repo, asset: &Asset) -> Result<(String, ObjectId), Error> {
    match asset {
        Asset::Revision(spec) => match repo.resolve(spec)? {
            Resolved::Entry { path, entry, .. } if entry.kind != EntryKind::Dir => {
                Ok((path, entry.id))
            }
            _ => Err(Error::NotAFile(spec.clone())),
        },
        Asset::Staged(path) => {
            let view = repo.meta_show_index(path)?;
            let id = view
                .file_id
                .parse()
                .map_err(|_| Error::NotAFile(path.clone()))?;
            Ok((path.clone(), id))
        }
        Asset::File { path, id } => Ok((path.clone(), *id)),
    }
}

/// The recorded preview of `file`, through a second handle on the store (the
/// planner reads through a shared one).
fn recorded(
    store: &Store,
    planner: &Planner,
    file: &ObjectId,
    path: &str,
) -> Result<Option<(ObjectId, PreviewObject)>, Error> {
    let read = Arc::new(Store::open(store.dir())?);
    Ok(planner.recorded(&read, file, path)?)
}

/// The item of `role` nearest `level`: the smallest at or above it, else the
/// largest below.
pub fn pick_item(p: &PreviewObject, role: Role, level: u32) -> Option<&PreviewItemRef> {
    let mut of_role: Vec<_> = p.items.iter().filter(|i| i.role == role.code()).collect();
    of_role.sort_by_key(|i| i.level);
    of_role
        .iter()
        .find(|i| i.level >= level)
        .or_else(|| of_role.last())
        .copied()
}

/// The role of `p`'s primary picture: its thumbnail, else (audio) its waveform;
/// `None` when it has neither.
pub fn primary_picture(p: &PreviewObject) -> Option<Role> {
    Role::primary_picture(p.items.iter().filter_map(|i| Role::from_code(i.role)))
}

/// Writes the item `w` asks for to `w.out`, through a temporary file beside it
/// created with the usual mode (0666 less the umask).
fn write_item(
    store: &Store,
    path: &str,
    id: &ObjectId,
    preview: &PreviewObject,
    w: &WriteItem,
) -> Result<WrittenItem, Error> {
    if let Some(e) = &preview.error {
        return Err(Error::NoPreview {
            path: path.into(),
            why: e.clone(),
        });
    }
    let role = w.role.or_else(|| primary_picture(preview));
    let Some((role, item)) = role.and_then(|r| Some((r, pick_item(preview, r, w.level)?))) else {
        let have: Vec<String> = PreviewView::new(id, preview)
            .items
            .iter()
            .map(|i| format!("{} {}", i.role, i.level))
            .collect();
        return Err(Error::NoPreviewItem {
            path: path.into(),
            role: w.role.map_or("picture", Role::name),
            have: if have.is_empty() {
                "none".into()
            } else {
                have.join(", ")
            },
        });
    };
    let dir = w
        .out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut tmp = {
        use std::os::unix::fs::PermissionsExt;
        tempfile::Builder::new()
            .prefix(".gadn-tmp-")
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(io(dir))?
    };
    let size = store.write_file(&item.content, tmp.as_file_mut())?;
    tmp.persist(&w.out).map_err(|e| Error::Io {
        path: w.out.clone(),
        source: e.error,
    })?;
    Ok(WrittenItem {
        role: role.name().into(),
        level: item.level,
        media_type: item.media_type.clone(),
        size,
        out: w.out.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::vcs::CommitOptions;

    /// A repository with the fixture texture at `art/t.png` and a directory `art`,
    /// committed; previews on commit off.
    fn repo_with_texture() -> (tempfile::TempDir, Repo) {
        let d = tempfile::tempdir().unwrap();
        let mut repo = Repo::init(d.path(), ChunkParams::DEFAULT).unwrap();
        std::fs::create_dir(d.path().join("art")).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/texture.png");
        std::fs::copy(fixture, d.path().join("art/t.png")).unwrap();
        repo.add(d.path(), &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        repo.commit(&CommitOptions {
            message: "art".into(),
            ..Default::default()
        })
        .unwrap();
        (d, repo)
    }

    fn opts(asset: Asset) -> AssetPreviewOptions {
        AssetPreviewOptions {
            asset,
            cached: false,
            force: false,
            write: None,
        }
    }

    #[test]
    fn cached_finds_nothing_until_made_then_the_same_preview() {
        let (_d, mut repo) = repo_with_texture();
        let staged = Asset::Staged("art/t.png".into());
        let none = preview_asset(
            &mut repo,
            &AssetPreviewOptions {
                cached: true,
                ..opts(staged.clone())
            },
        )
        .unwrap();
        assert!(none.preview.is_none() && none.written.is_none());
        let made = preview_asset(&mut repo, &opts(staged.clone())).unwrap();
        let view = made.preview.expect("made");
        assert!(view.error.is_none(), "{view:?}");
        assert!(view.items.iter().any(|i| i.role == "thumbnail"));
        let again = preview_asset(
            &mut repo,
            &AssetPreviewOptions {
                cached: true,
                ..opts(Asset::Revision("HEAD:art/t.png".into()))
            },
        )
        .unwrap();
        assert_eq!(again.preview.unwrap().id, view.id);
        assert_eq!(again.path, "art/t.png");
    }

    #[test]
    fn an_item_is_written_with_the_usual_mode_and_a_missing_one_names_what_there_is() {
        use std::os::unix::fs::PermissionsExt;
        let (d, mut repo) = repo_with_texture();
        let out = d.path().join("thumb.png");
        let write = |role, out: &Path| AssetPreviewOptions {
            write: Some(WriteItem {
                role: Some(role),
                level: 64,
                out: out.to_path_buf(),
            }),
            ..opts(Asset::Staged("art/t.png".into()))
        };
        let r = preview_asset(&mut repo, &write(Role::Thumbnail, &out)).unwrap();
        let w = r.written.expect("written");
        assert_eq!(w.media_type, "image/png");
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.len() as u64, w.size);
        assert!(bytes.starts_with(b"\x89PNG"));
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_ne!(
            mode & 0o044,
            0,
            "readable by others as the umask allows: {mode:o}"
        );

        let clip = d.path().join("clip.wav");
        let err = preview_asset(&mut repo, &write(Role::Clip, &clip)).unwrap_err();
        assert!(
            matches!(err, Error::NoPreviewItem { role: "clip", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("thumbnail"), "{err}");
        assert!(!clip.exists());
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".gadn-tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn without_a_role_the_primary_picture_is_written_the_waveform_for_audio() {
        let (d, mut repo) = repo_with_texture();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tone.wav");
        std::fs::copy(fixture, d.path().join("art/tone.wav")).unwrap();
        repo.add(d.path(), &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        let primary = |path: &str, out: &Path| AssetPreviewOptions {
            write: Some(WriteItem {
                role: None,
                level: 256,
                out: out.to_path_buf(),
            }),
            ..opts(Asset::Staged(path.into()))
        };
        let wave = d.path().join("wave.png");
        let r = preview_asset(&mut repo, &primary("art/tone.wav", &wave)).unwrap();
        let w = r.written.expect("written");
        assert_eq!(
            (w.role.as_str(), w.media_type.as_str()),
            ("waveform", "image/png")
        );
        let view = r.preview.unwrap();
        let item = view.items.iter().find(|i| i.role == "waveform").unwrap();
        assert_eq!(std::fs::read(&wave).unwrap().len() as u64, item.size);
        let thumb = d.path().join("thumb.png");
        let r = preview_asset(&mut repo, &primary("art/t.png", &thumb)).unwrap();
        assert_eq!(r.written.unwrap().role, "thumbnail");
        // An explicit role is kept: audio has no thumbnail.
        let err = preview_asset(
            &mut repo,
            &AssetPreviewOptions {
                write: Some(WriteItem {
                    role: Some(Role::Thumbnail),
                    level: 256,
                    out: d.path().join("none.png"),
                }),
                ..opts(Asset::Staged("art/tone.wav".into()))
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::NoPreviewItem {
                    role: "thumbnail",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_preview_without_pictures_has_no_primary_picture() {
        let item = |role: Role| PreviewItemRef {
            role: role.code(),
            level: 0,
            media_type: "x".into(),
            size: 1,
            content: ObjectId::from_bytes([role.code(); 32]),
        };
        let mut p = PreviewObject {
            file: ObjectId::from_bytes([0; 32]),
            generator: "g".into(),
            generator_version: 1,
            error: None,
            facts: "{}".into(),
            items: vec![item(Role::Clip), item(Role::Peaks)],
        };
        assert_eq!(primary_picture(&p), None);
        p.items.push(item(Role::Waveform));
        assert_eq!(primary_picture(&p), Some(Role::Waveform));
        p.items.push(item(Role::Thumbnail));
        assert_eq!(primary_picture(&p), Some(Role::Thumbnail));
    }

    #[test]
    fn a_directory_or_a_commit_is_not_an_asset() {
        let (_d, mut repo) = repo_with_texture();
        for spec in ["HEAD:art", "HEAD"] {
            let err = preview_asset(&mut repo, &opts(Asset::Revision(spec.into()))).unwrap_err();
            assert!(matches!(&err, Error::NotAFile(s) if s == spec), "{err:?}");
        }
        let err = preview_asset(&mut repo, &opts(Asset::Staged("art/none.png".into())));
        assert!(err.is_err());
    }

    #[test]
    fn the_nearest_level_is_picked() {
        let item = |level| PreviewItemRef {
            role: Role::Thumbnail.code(),
            level,
            media_type: "image/png".into(),
            size: 1,
            content: ObjectId::from_bytes([level as u8; 32]),
        };
        let p = PreviewObject {
            file: ObjectId::from_bytes([0; 32]),
            generator: "g".into(),
            generator_version: 1,
            error: None,
            facts: "{}".into(),
            items: vec![item(512), item(64), item(256)],
        };
        let level = |want| pick_item(&p, Role::Thumbnail, want).map(|i| i.level);
        assert_eq!(level(1), Some(64));
        assert_eq!(level(64), Some(64));
        assert_eq!(level(100), Some(256));
        assert_eq!(level(4096), Some(512));
        assert_eq!(pick_item(&p, Role::Clip, 0), None);
    }
}
