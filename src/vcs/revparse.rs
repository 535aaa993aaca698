//! Revision expressions: `HEAD`, `@`, branch and tag names, full or short ids, with
//! `~N`, `^` and `^N` suffixes, and `REV:PATH`.

use super::treeops::lookup;
use super::{Repo, VcsError};
use crate::store::object::TreeEntry;
use crate::store::{IdPrefix, ObjectId, ObjectKind};

/// What a revision expression names.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A commit.
    Commit(ObjectId),
    /// An entry inside a commit's tree (`REV:PATH`).
    Entry {
        /// The commit.
        commit: ObjectId,
        /// The path inside it.
        path: String,
        /// The entry.
        entry: TreeEntry,
    },
}

impl Repo {
    /// Resolves `rev` to a commit.
    pub fn resolve_commit(&self, rev: &str) -> Result<ObjectId, VcsError> {
        let (base, suffix) = split_suffix(rev);
        let mut id = self.resolve_base(rev, base)?;
        let mut rest = suffix;
        while !rest.is_empty() {
            let (op, n, tail) = parse_op(rev, rest)?;
            rest = tail;
            let commit = self.store().commit(&id)?;
            id = match op {
                '~' => {
                    let mut cur = id;
                    for _ in 0..n {
                        cur = *self
                            .store()
                            .commit(&cur)?
                            .parents
                            .first()
                            .ok_or_else(|| no_parent(rev))?;
                    }
                    cur
                }
                _ => {
                    if n == 0 {
                        id
                    } else {
                        *commit.parents.get(n - 1).ok_or_else(|| no_parent(rev))?
                    }
                }
            };
        }
        Ok(id)
    }

    /// Resolves `REV` or `REV:PATH`.
    pub fn resolve(&self, expr: &str) -> Result<Resolved, VcsError> {
        match expr.split_once(':') {
            None => Ok(Resolved::Commit(self.resolve_commit(expr)?)),
            Some((rev, path)) => {
                let commit = self.resolve_commit(if rev.is_empty() { "HEAD" } else { rev })?;
                let tree = self.store().commit(&commit)?.tree;
                let path = path.trim_matches('/').to_string();
                let entry =
                    lookup(self.store(), &tree, &path)?.ok_or_else(|| VcsError::PathNotFound {
                        path: path.clone(),
                        place: format!(" in {}", commit.short()),
                    })?;
                Ok(Resolved::Entry {
                    commit,
                    path,
                    entry,
                })
            }
        }
    }

    fn resolve_base(&self, rev: &str, base: &str) -> Result<ObjectId, VcsError> {
        let db = self.store().db();
        let name = if base == "@" { "HEAD" } else { base };
        let mut candidates = vec![name.to_string()];
        if !name.starts_with("refs/") && name != "HEAD" {
            candidates.push(format!("refs/heads/{name}"));
            candidates.push(format!("refs/tags/{name}"));
        }
        for c in &candidates {
            // Names that are not valid ref names simply do not match.
            if let Ok(Some((_, target))) = db.resolve_ref(c) {
                let id = target.ok_or_else(|| VcsError::UnknownRevision {
                    rev: rev.into(),
                    hint: " (the branch has no commits yet)".into(),
                })?;
                return self.peel_to_commit(rev, id);
            }
        }
        if let Ok(prefix) = name.parse::<IdPrefix>() {
            let mut found = self.store().resolve_prefix(&prefix, 16);
            if found.len() > 1 {
                found.retain(|id| {
                    matches!(
                        self.store().packs().locate(id).map(|l| l.entry.kind),
                        Some(ObjectKind::Commit | ObjectKind::Tag)
                    )
                });
            }
            match found.len() {
                0 => {}
                1 => return self.peel_to_commit(rev, found[0]),
                _ => {
                    return Err(VcsError::AmbiguousId {
                        prefix: name.into(),
                        candidates: found,
                    })
                }
            }
        }
        Err(VcsError::UnknownRevision {
            rev: rev.into(),
            hint: String::new(),
        })
    }

    fn peel_to_commit(&self, rev: &str, mut id: ObjectId) -> Result<ObjectId, VcsError> {
        for _ in 0..8 {
            let kind = self.store().packs().locate(&id).map(|l| l.entry.kind);
            match kind {
                Some(ObjectKind::Commit) => return Ok(id),
                Some(ObjectKind::Tag) => id = self.store().tag(&id)?.target,
                Some(k) => {
                    return Err(VcsError::UnknownRevision {
                        rev: rev.into(),
                        hint: format!(" ({} is a {k}, not a commit)", id.short()),
                    })
                }
                None => return Err(crate::store::StoreError::NotFound { id }.into()),
            }
        }
        Err(VcsError::UnknownRevision {
            rev: rev.into(),
            hint: " (tag chain too long)".into(),
        })
    }
}

fn no_parent(rev: &str) -> VcsError {
    VcsError::UnknownRevision {
        rev: rev.into(),
        hint: " (no such parent)".into(),
    }
}

/// Splits `main~2^` into `("main", "~2^")`.
fn split_suffix(rev: &str) -> (&str, &str) {
    match rev.find(['~', '^']) {
        Some(i) => (&rev[..i], &rev[i..]),
        None => (rev, ""),
    }
}

/// Parses one `~N`, `~`, `^N` or `^` at the start of `s`.
fn parse_op<'a>(rev: &str, s: &'a str) -> Result<(char, usize, &'a str), VcsError> {
    let mut chars = s.chars();
    let op = chars.next().unwrap_or('~');
    let rest = chars.as_str();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let n = if digits == 0 {
        1
    } else {
        rest[..digits]
            .parse()
            .map_err(|_| VcsError::UnknownRevision {
                rev: rev.into(),
                hint: " (bad number)".into(),
            })?
    };
    if op != '~' && op != '^' {
        return Err(VcsError::UnknownRevision {
            rev: rev.into(),
            hint: String::new(),
        });
    }
    Ok((op, n, &rest[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_split_and_parse() {
        assert_eq!(split_suffix("main~2^"), ("main", "~2^"));
        assert_eq!(split_suffix("HEAD"), ("HEAD", ""));
        assert_eq!(parse_op("x", "~2^").unwrap(), ('~', 2, "^"));
        assert_eq!(parse_op("x", "^").unwrap(), ('^', 1, ""));
        assert_eq!(parse_op("x", "^0").unwrap(), ('^', 0, ""));
        assert!(parse_op("x", "~99999999999999999999999").is_err());
    }
}
