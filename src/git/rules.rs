//! Partial smudge: which files this machine wants materialised on checkout. The rest
//! stay as pointer files until `gadn git get` fetches them.
//!
//! The rules live in `<git-dir>/info/gadn-rules` (per machine, never versioned; see
//! `store-format.md` § *Partial-smudge rules*). One directive per line:
//!
//! ```text
//! # comments and blank lines are ignored
//! include art/**        # only these paths (when any include is given)
//! exclude *.wav         # never these
//! max-size 500M         # nothing bigger (binary units: 1K = 1024 bytes)
//! ```
//!
//! A file is wanted when it matches no `exclude`, matches some `include` (or there is
//! no `include`), and its size is at most `max-size` (when set). Patterns are in
//! gitignore's dialect, the one of `.gadnignore` and `find --path-glob`
//! ([`crate::vcs::PathPatterns`]): without `/` a name at any depth (`*.psd`), with `/`
//! anchored at the root (`art/**/*.psd`), `*` never crossing a `/`, a directory taking
//! everything below it (`art/`), and `!` un-matching an earlier pattern of the same
//! directive.
//!
//! This is the interface the selective-sync engine will take over: [`Rules::load`]
//! and [`Rules::wants`] keep their signatures.

use std::path::{Path, PathBuf};

use super::GitError;
use crate::vcs::PathPatterns;

/// Name of the rules file inside the Git directory.
pub const RULES_FILE: &str = "gadn-rules";

/// The rules file of the repository whose Git directory is `git_dir`.
pub fn rules_path(git_dir: &Path) -> PathBuf {
    git_dir.join("info").join(RULES_FILE)
}

/// Compiled partial-smudge rules. The default (no file) wants everything.
#[derive(Debug, Clone)]
pub struct Rules {
    include: PathPatterns,
    exclude: PathPatterns,
    /// True when at least one `include` was given.
    has_includes: bool,
    /// Largest wanted size in bytes, when set.
    max_size: Option<u64>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            include: PathPatterns::empty(),
            exclude: PathPatterns::empty(),
            has_includes: false,
            max_size: None,
        }
    }
}

impl Rules {
    /// Loads `<git_dir>/info/gadn-rules`; a missing file means "want everything".
    pub fn load(git_dir: &Path) -> Result<Rules, GitError> {
        let path = rules_path(git_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => Rules::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Rules::default()),
            Err(source) => Err(GitError::Io { path, source }),
        }
    }

    /// Parses rules text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Rules, GitError> {
        let bad = |line: usize, reason: String| GitError::BadRules {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let (mut include, mut exclude): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut max_size = None;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let (word, arg) = line
                .split_once(char::is_whitespace)
                .map(|(w, a)| (w, a.trim()))
                .unwrap_or((line, ""));
            if arg.is_empty() {
                return Err(bad(n, format!("`{word}` needs an argument")));
            }
            match word {
                "include" | "exclude" => {
                    // Checked one by one, so an error names its line.
                    PathPatterns::new([arg]).map_err(|e| bad(n, e.to_string()))?;
                    if word == "include" {
                        include.push(arg);
                    } else {
                        exclude.push(arg);
                    }
                }
                "max-size" => {
                    let size = crate::vcs::parse_size(arg).map_err(|e| bad(n, e.to_string()))?;
                    max_size = Some(size);
                }
                other => {
                    return Err(bad(
                        n,
                        format!("unknown directive `{other}` (use include, exclude or max-size)"),
                    ))
                }
            }
        }
        let build = |list: &[&str]| {
            PathPatterns::new(list.iter().copied()).map_err(|e| bad(0, e.to_string()))
        };
        Ok(Rules {
            has_includes: !include.is_empty(),
            include: build(&include)?,
            exclude: build(&exclude)?,
            max_size,
        })
    }

    /// True if this machine wants the file at `path` (repository-relative, `/`
    /// separated) of `size` bytes materialised; false keeps it a pointer.
    pub fn wants(&self, path: &str, size: u64) -> bool {
        if self.exclude.matches(path, false) {
            return false;
        }
        if self.has_includes && !self.include.matches(path, false) {
            return false;
        }
        self.max_size.is_none_or(|max| size <= max)
    }
}

/// `line` without a `#` comment (a `#` starts a comment at the line start or after
/// whitespace, so `file#1.png` stays a pattern).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Rules {
        Rules::parse(text, Path::new("rules")).unwrap()
    }

    #[test]
    fn no_rules_want_everything() {
        let r = Rules::default();
        assert!(r.wants("a/b.psd", u64::MAX));
        let d = tempfile::tempdir().unwrap();
        let r = Rules::load(d.path()).unwrap();
        assert!(r.wants("x.wav", 1 << 40));
        let r = rules("# only comments\n\n   # indented\n");
        assert!(r.wants("x.wav", 1 << 40));
    }

    #[test]
    fn include_exclude_and_max_size() {
        let r = rules(
            "include art/**   # art only\ninclude *.fbx\nexclude *.wav\nexclude art/raw/**\nmax-size 1.5K\n",
        );
        assert!(r.wants("art/a.psd", 10));
        assert!(r.wants("art/deep/er/a.psd", 1536));
        assert!(!r.wants("art/deep/er/a.psd", 1537), "over max-size");
        assert!(r.wants("models/x.fbx", 1), "name pattern in any directory");
        assert!(!r.wants("code/x.png", 1), "matches no include");
        assert!(!r.wants("art/x.wav", 1), "exclude wins over include");
        assert!(!r.wants("art/raw/x.psd", 1), "path exclude");
        assert!(r.wants("./art/a.psd", 1));
    }

    #[test]
    fn path_patterns_do_not_cross_slashes_and_names_match_anywhere() {
        let r = rules("exclude art/*.psd\nexclude /top.png\nexclude file#1.tga");
        assert!(!r.wants("art/a.psd", 1));
        assert!(r.wants("art/sub/a.psd", 1), "* stops at /");
        assert!(!r.wants("top.png", 1));
        assert!(r.wants("sub/top.png", 1), "anchored pattern");
        assert!(
            !r.wants("x/file#1.tga", 1),
            "# inside a word is not a comment"
        );
        let r = rules("max-size 0");
        assert!(r.wants("empty", 0));
        assert!(!r.wants("one", 1));
    }

    #[test]
    fn patterns_are_gitignores_directories_and_negation_included() {
        let r = rules("include art/\ninclude *.fbx\nexclude *.png\nexclude !hero.png\n");
        assert!(
            r.wants("art/deep/a.tga", 1),
            "a directory takes what is below it"
        );
        assert!(!r.wants("artwork/a.tga", 1));
        assert!(!r.wants("art/a.png", 1), "excluded");
        assert!(r.wants("art/ui/hero.png", 1), "un-excluded by the later !");
        assert!(r.wants("m/x.fbx", 1));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        for (text, line, needle) in [
            (
                "include *.psd\nfrobnicate x\n",
                2,
                "unknown directive `frobnicate`",
            ),
            ("exclude\n", 1, "needs an argument"),
            ("\n\nmax-size ten\n", 3, "number"),
            ("max-size 10Q\n", 1, "unit"),
            ("include a/{b\n", 1, "bad pattern"),
        ] {
            let e = Rules::parse(text, Path::new("/g/gadn-rules")).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(e, GitError::BadRules { line: l, .. } if l == line),
                "{msg}"
            );
            assert!(msg.starts_with(&format!("/g/gadn-rules:{line}: ")), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn load_reads_the_file_in_the_git_dir() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("info")).unwrap();
        std::fs::write(rules_path(d.path()), "exclude *.wav\n").unwrap();
        let r = Rules::load(d.path()).unwrap();
        assert!(!r.wants("a.wav", 1));
        assert!(r.wants("a.png", 1));
        std::fs::write(rules_path(d.path()), "bogus\n").unwrap();
        assert!(Rules::load(d.path()).is_err());
    }
}
