//! [`PathPatterns`]: the one glob dialect of gadn, gitignore's, for every place a
//! user names paths by pattern — `.gadnignore` ([`super::ignore`]), the partial-smudge
//! rules (`include`/`exclude`), and `find --path-glob`.
//!
//! The dialect is git's (`gitignore(5)`), matched by the `ignore` crate (ripgrep's):
//!
//! * A pattern without a `/` (a trailing one aside) matches a name at any depth:
//!   `*.psd` matches `a.psd` and `art/hero/a.psd`.
//! * A pattern with a `/` at its start or in its middle is anchored at the repository
//!   root: `art/*.psd` matches `art/a.psd` but not `art/raw/a.psd`, and `/top.png`
//!   only the top-level file.
//! * `*` and `?` never cross a `/`; `**` does (`art/**`, `**/*.wav`, `a/**/b`).
//! * A trailing `/` matches directories only; a pattern that matches a directory
//!   matches everything below it (`art/` or `art` takes all of `art`).
//! * `!` negates: the last pattern that matches decides, so `*.png` then
//!   `!keep.png` matches every png but `keep.png`. `\` escapes a special character.
//! * `[abc]`, `[a-z]` and `{a,b}` work as in globset. An unclosed `[` is taken
//!   literally, as git does; an unclosed `{` is an error.

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// A pattern that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A compiled list of gitignore-dialect patterns over repository paths (relative,
/// `/`-separated, no leading `./`).
#[derive(Debug, Clone)]
pub struct PathPatterns {
    set: Gitignore,
}

impl PathPatterns {
    /// Compiles `patterns`, in order (later ones win); blank ones and `#` comments
    /// are skipped, as in a gitignore file.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, PatternError> {
        // The root is empty: paths are matched as given, relative to the repository.
        let mut b = GitignoreBuilder::new("");
        for p in patterns {
            b.add_line(None, p).map_err(|e| PatternError {
                pattern: p.to_string(),
                reason: reason(&e),
            })?;
        }
        let set = b.build().map_err(|e| PatternError {
            pattern: String::new(),
            reason: reason(&e),
        })?;
        Ok(PathPatterns { set })
    }

    /// No pattern at all (matches nothing).
    pub fn empty() -> Self {
        PathPatterns {
            set: Gitignore::empty(),
        }
    }

    /// True when no pattern was given.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// True when the patterns match `path` or a directory above it (the last
    /// pattern to match decides; a negated one un-matches). `is_dir` says whether
    /// `path` itself is a directory, for patterns with a trailing `/`.
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        let path = path.strip_prefix("./").unwrap_or(path);
        let path = path.trim_start_matches('/');
        if path.is_empty() {
            return false;
        }
        self.set
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
    }
}

/// The `ignore` crate's message without its file/line wrapping.
fn reason(e: &ignore::Error) -> String {
    match e {
        ignore::Error::Glob { err, .. } => err.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(patterns: &[&str]) -> PathPatterns {
        PathPatterns::new(patterns.iter().copied()).unwrap()
    }

    #[test]
    fn names_match_at_any_depth_and_slashes_anchor() {
        let m = p(&["*.psd"]);
        assert!(m.matches("a.psd", false));
        assert!(m.matches("art/hero/a.psd", false));
        assert!(!m.matches("a.psd.bak", false));
        let m = p(&["art/*.psd"]);
        assert!(m.matches("art/a.psd", false));
        assert!(!m.matches("art/raw/a.psd", false), "* stops at /");
        assert!(!m.matches("x/art/a.psd", false), "anchored at the root");
        let m = p(&["/top.png"]);
        assert!(m.matches("top.png", false));
        assert!(!m.matches("sub/top.png", false));
        assert!(m.matches("./top.png", false));
    }

    #[test]
    fn double_stars_directories_and_negation() {
        let m = p(&["art/**"]);
        assert!(m.matches("art/a/b/c.tga", false));
        assert!(!m.matches("artwork/a.tga", false));
        let m = p(&["**/*.wav"]);
        assert!(m.matches("a.wav", false) && m.matches("sfx/x/a.wav", false));
        let m = p(&["a/**/b.txt"]);
        assert!(m.matches("a/b.txt", false) && m.matches("a/x/y/b.txt", false));
        // A directory pattern takes everything below it.
        let m = p(&["art/"]);
        assert!(m.matches("art/a.png", false));
        assert!(m.matches("art", true));
        assert!(!m.matches("art", false), "trailing / is for directories");
        let m = p(&["raw"]);
        assert!(
            m.matches("x/raw/deep/file", false),
            "a name matching a directory"
        );
        let m = p(&["*.png", "!keep.png"]);
        assert!(m.matches("a.png", false));
        assert!(!m.matches("ui/keep.png", false), "the last match decides");
        let m = p(&["{sfx,docs}/**", "# a comment", ""]);
        assert!(m.matches("sfx/a.wav", false) && m.matches("docs/x.md", false));
        assert!(!m.matches("art/a.png", false));
        assert!(!m.matches("", false) && !m.matches("/", true));
    }

    #[test]
    fn empty_lists_match_nothing_and_bad_patterns_are_named() {
        assert!(PathPatterns::empty().is_empty());
        assert!(!PathPatterns::empty().matches("a", false));
        assert!(p(&[]).is_empty());
        assert!(!p(&["*.x"]).is_empty());
        let e = PathPatterns::new(["ok/*", "a/{b"]).unwrap_err();
        assert_eq!(e.pattern, "a/{b");
        assert!(e.to_string().starts_with("bad pattern `a/{b`: "), "{e}");
    }
}
