//! `gadn git install` / `uninstall`: route a Git repository's large files through
//! the gadn filter (`store-format.md` § *Git pointer files and the filter process*).
//!
//! Install writes, in the repository's local Git config, `filter.gadn.process`
//! (the absolute path of the gadn executable, shell-quoted, plus
//! `git filter-process`) and `filter.gadn.required = true`, and defines the drivers
//! the attributes name: `merge.gadn.driver` (`gadn git merge-driver`, see
//! [`super::merge_driver`]) and `diff.gadn.binary = true`; appends to the
//! work tree's `.gitattributes` one line `PATTERN filter=gadn diff=gadn merge=gadn
//! -text` per pattern not already there; and creates the store in `<git-dir>/gadn`.
//! Running it again changes nothing. Uninstall removes the `filter.gadn`, `merge.gadn` and `diff.gadn` config
//! sections and exactly the attribute lines of that form; the store is kept.
//!
//! [`install_global`] writes the same settings into the user's global Git
//! config instead (like `git lfs install`), with no patterns and no store: every
//! repository whose `.gitattributes` names `filter=gadn` then passes through gadn,
//! including a plain `git clone` — the filter creates `<git-dir>/gadn` on first use
//! and copies content from the origin's store ([`super::sources`]).

use std::path::{Path, PathBuf};

use super::GitError;
use crate::store::chunker::ChunkParams;
use crate::store::{Store, DB_FILE};

/// Attributes given to every pattern gadn tracks.
pub const ATTRIBUTES: &str = "filter=gadn diff=gadn merge=gadn -text";

/// Patterns tracked when `install` is given none: common game-asset formats.
pub const DEFAULT_PATTERNS: &[&str] = &[
    "*.psd",
    "*.psb",
    "*.fbx",
    "*.blend",
    "*.max",
    "*.ma",
    "*.mb",
    "*.obj",
    "*.glb",
    "*.gltf.bin",
    "*.usd",
    "*.usdz",
    "*.abc",
    "*.wav",
    "*.ogg",
    "*.mp3",
    "*.flac",
    "*.aif",
    "*.aiff",
    "*.bank",
    "*.png",
    "*.tga",
    "*.exr",
    "*.dds",
    "*.hdr",
    "*.ktx",
    "*.ktx2",
    "*.jpg",
    "*.jpeg",
    "*.tif",
    "*.tiff",
    "*.bmp",
    "*.mp4",
    "*.mov",
    "*.uasset",
    "*.umap",
    "*.pak",
    "*.utoc",
    "*.ucas",
    "*.unity3d",
    "*.assetbundle",
    "*.bik",
    "*.zip",
    "*.7z",
];

/// What [`install`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstallReport {
    /// The store directory.
    pub store: PathBuf,
    /// True if the store was created now.
    pub store_created: bool,
    /// The `.gitattributes` file.
    pub attributes: PathBuf,
    /// Patterns newly added to it (empty when all were there).
    pub added: Vec<String>,
    /// The `filter.gadn.process` command configured.
    pub process: String,
}

/// What [`uninstall`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UninstallReport {
    /// True if a `filter.gadn` config section was removed.
    pub config_removed: bool,
    /// Patterns whose attribute lines were removed.
    pub removed: Vec<String>,
    /// The store, kept.
    pub store: PathBuf,
}

/// What [`install_global`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GlobalReport {
    /// The `filter.gadn.process` command configured.
    pub process: String,
}

/// The `filter.gadn.process` value running `exe`.
fn process_command(exe: &Path) -> Result<String, GitError> {
    let exe_text = exe.to_str().ok_or_else(|| GitError::Io {
        path: exe.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the gadn executable's path is not UTF-8; Git config cannot name it",
        ),
    })?;
    Ok(format!("{} git filter-process", shell_quote(exe_text)))
}

/// The Git config a repository (`--local`) or user (`--global`) gets: the filter, and
/// the `merge=gadn` and `diff=gadn` drivers the attributes name (undefined, Git would
/// fall back to a line merge and write conflict markers into a pointer file). The
/// merge driver is [`super::merge_driver`]; the diff driver marks the content binary,
/// so `git diff` says "Binary files differ" rather than diffing pointer text.
fn settings(process: &str) -> Vec<(&'static str, String)> {
    let exe = process
        .strip_suffix(" git filter-process")
        .unwrap_or(process);
    vec![
        ("filter.gadn.process", process.to_string()),
        ("filter.gadn.required", "true".into()),
        (
            "merge.gadn.name",
            "gadn assets (ours kept on a conflict)".into(),
        ),
        (
            "merge.gadn.driver",
            format!("{exe} git merge-driver %O %A %B %P"),
        ),
        ("diff.gadn.binary", "true".into()),
    ]
}

/// The config sections [`settings`] writes, removed by uninstall.
const SECTIONS: &[(&str, &str)] = &[
    ("filter.gadn", r"^filter\.gadn\."),
    ("merge.gadn", r"^merge\.gadn\."),
    ("diff.gadn", r"^diff\.gadn\."),
];

/// Writes [`settings`] with `scope` (`--local` or `--global`).
fn configure(dir: &Path, scope: &str, process: &str) -> Result<(), GitError> {
    for (key, value) in settings(process) {
        git(dir, &["config", scope, key, &value])?;
    }
    Ok(())
}

/// Removes the sections of [`SECTIONS`] present in `scope`; true if the filter's was.
fn unconfigure(dir: &Path, scope: &str) -> Result<bool, GitError> {
    let mut filter = false;
    for (section, pattern) in SECTIONS {
        let present = git(dir, &["config", scope, "--get-regexp", pattern])
            .map(|s| !s.is_empty())
            .unwrap_or(false);
        if present {
            git(dir, &["config", scope, "--remove-section", section])?;
            filter |= *section == "filter.gadn";
        }
    }
    Ok(filter)
}

/// Configures the filter in the user's global Git config (`git config --global`),
/// for every repository of this user. Running it again changes nothing.
pub fn install_global(cwd: &Path, exe: &Path) -> Result<GlobalReport, GitError> {
    let process = process_command(exe)?;
    configure(cwd, "--global", &process)?;
    Ok(GlobalReport { process })
}

/// Removes the `filter.gadn` section from the user's global Git config; true if there
/// was one. Repositories' stores and attributes are untouched.
pub fn uninstall_global(cwd: &Path) -> Result<bool, GitError> {
    unconfigure(cwd, "--global")
}

/// Runs `git args…` in `dir`; returns stdout without its final newline.
fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = super::run_git(dir, args)?;
    Ok(String::from_utf8_lossy(&out)
        .trim_end_matches(['\n', '\r'])
        .to_string())
}

/// The work tree root of the repository containing `cwd` (an error for a bare
/// repository).
pub fn work_tree(cwd: &Path) -> Result<PathBuf, GitError> {
    let top = git(cwd, &["rev-parse", "--show-toplevel"]).map_err(|e| match e {
        GitError::GitFailed { stderr, .. } => GitError::NotAGitRepository {
            dir: cwd.to_path_buf(),
            reason: if stderr.is_empty() {
                "no work tree (a bare repository?)".into()
            } else {
                stderr
            },
        },
        e => e,
    })?;
    if top.is_empty() {
        return Err(GitError::NotAGitRepository {
            dir: cwd.to_path_buf(),
            reason: "no work tree (a bare repository?)".into(),
        });
    }
    Ok(PathBuf::from(top))
}

/// `s` quoted for the POSIX shell Git runs `filter.*.process` with.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/._-+:,@".contains(&c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Checks a pattern can stand in a `.gitattributes` line unquoted.
fn check_pattern(p: &str) -> Result<(), GitError> {
    let reason = if p.is_empty() {
        Some("is empty")
    } else if p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or a control character")
    } else if p.starts_with('#') || p.starts_with('!') || p.starts_with('"') {
        Some("starts with #, ! or \" (not a plain gitattributes pattern)")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(r) => Err(GitError::BadPattern {
            pattern: p.to_string(),
            reason: r.to_string(),
        }),
    }
}

/// The pattern of an attribute line gadn wrote, if `line` is one.
fn our_pattern(line: &str) -> Option<&str> {
    let (pattern, attrs) = line.trim_end_matches('\r').split_once(' ')?;
    (attrs.trim() == ATTRIBUTES).then_some(pattern)
}

/// Installs gadn in the repository containing `cwd`. `exe` is the gadn executable
/// Git will run; `patterns` empty means [`DEFAULT_PATTERNS`]. Patterns are
/// validated before anything changes.
pub fn install(cwd: &Path, exe: &Path, patterns: &[String]) -> Result<InstallReport, GitError> {
    let patterns: Vec<String> = if patterns.is_empty() {
        DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect()
    } else {
        patterns.to_vec()
    };
    for p in &patterns {
        check_pattern(p)?;
    }
    let process = process_command(exe)?;
    let git_dir = super::git_dir(cwd)?;
    let top = work_tree(cwd)?;
    let store = super::store_dir(&git_dir);
    let store_created = !store.join(DB_FILE).is_file();
    if store_created {
        Store::init(&store, ChunkParams::DEFAULT)?;
    } else {
        Store::open(&store)?;
    }
    configure(&top, "--local", &process)?;

    let attributes = top.join(".gitattributes");
    let io = |source| GitError::Io {
        path: attributes.clone(),
        source,
    };
    let existing = match std::fs::read_to_string(&attributes) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let present: Vec<&str> = existing.lines().filter_map(our_pattern).collect();
    let mut added = Vec::new();
    let mut text = existing.clone();
    for p in &patterns {
        if !present.contains(&p.as_str()) && !added.contains(p) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("{p} {ATTRIBUTES}\n"));
            added.push(p.clone());
        }
    }
    if text != existing {
        std::fs::write(&attributes, text).map_err(io)?;
    }
    Ok(InstallReport {
        store,
        store_created,
        attributes,
        added,
        process,
    })
}

/// Undoes [`install`] in the repository containing `cwd`, keeping the store.
pub fn uninstall(cwd: &Path) -> Result<UninstallReport, GitError> {
    let git_dir = super::git_dir(cwd)?;
    let top = work_tree(cwd)?;
    let has_section = unconfigure(&top, "--local")?;
    let attributes = top.join(".gitattributes");
    let mut removed = Vec::new();
    match std::fs::read_to_string(&attributes) {
        Ok(existing) => {
            let mut kept = String::new();
            for line in existing.split_inclusive('\n') {
                match our_pattern(line.trim_end_matches('\n')) {
                    Some(p) => removed.push(p.to_string()),
                    None => kept.push_str(line),
                }
            }
            let io = |source| GitError::Io {
                path: attributes.clone(),
                source,
            };
            if kept.trim().is_empty() {
                std::fs::remove_file(&attributes).map_err(io)?;
            } else if kept != existing {
                std::fs::write(&attributes, kept).map_err(io)?;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(GitError::Io {
                path: attributes,
                source,
            })
        }
    }
    Ok(UninstallReport {
        config_removed: has_section,
        removed,
        store: super::store_dir(&git_dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_patterns() {
        assert_eq!(shell_quote("/usr/bin/gadn"), "/usr/bin/gadn");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert!(check_pattern("*.psd").is_ok());
        assert!(check_pattern("art/**/*.png").is_ok());
        for p in ["", "a b", "#x", "!x", "a\nb"] {
            assert!(check_pattern(p).is_err(), "{p:?}");
        }
        assert_eq!(our_pattern(&format!("*.png {ATTRIBUTES}")), Some("*.png"));
        assert_eq!(our_pattern(&format!("*.png {ATTRIBUTES}\r")), Some("*.png"));
        assert_eq!(
            our_pattern("*.png filter=lfs diff=lfs merge=lfs -text"),
            None
        );
        assert_eq!(our_pattern("# comment"), None);
    }

    #[test]
    fn bad_input_is_refused_before_git_runs() {
        use std::os::unix::ffi::OsStrExt;
        // Neither check needs a repository: nothing is touched when they fail.
        let nowhere = Path::new("/nonexistent/gadn-install-test");
        let e = install(
            nowhere,
            Path::new("/usr/bin/gadn"),
            &["ok.png".into(), "a b".into()],
        )
        .unwrap_err();
        assert!(matches!(e, GitError::BadPattern { .. }), "{e}");
        assert!(e.to_string().contains("\"a b\""), "{e}");
        let exe = Path::new(std::ffi::OsStr::from_bytes(b"/opt/g\xffadn"));
        let e = install(nowhere, exe, &[]).unwrap_err();
        assert!(matches!(e, GitError::Io { .. }), "{e}");
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
