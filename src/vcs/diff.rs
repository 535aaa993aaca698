//! `diff`: what changed between the working tree, the index and revisions, with a
//! unified line diff for small text files.

use std::collections::HashMap;

use super::path::{abs, under};
use super::scan::{hash_work_file, index_as_flat, ChangeKind};
use super::treeops::{diff, flatten, FlatEntry};
use super::{Repo, VcsError};
use crate::store::object::assetmeta::TAGS;
use crate::store::object::AssetMeta;
use crate::store::ObjectId;

/// Text diffs are shown only when both sides are at most this size.
pub const TEXT_DIFF_MAX: u64 = 1 << 20;

/// Options of [`Repo::diff`].
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// None: working tree against the index; one: working tree against it; two: the
    /// first against the second.
    pub revs: Vec<String>,
    /// Restrict to these repository paths (files or directories).
    pub paths: Vec<String>,
    /// Compute line diffs of small text files.
    pub text: bool,
}

/// One changed file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileDiff {
    /// Path on the new side (old side for deletions).
    pub path: String,
    /// What happened.
    pub kind: ChangeKind,
    /// For renames: the old path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Size on the old side.
    pub old_size: Option<u64>,
    /// Size on the new side.
    pub new_size: Option<u64>,
    /// Either side is not small UTF-8 text (no line diff).
    pub binary: bool,
    /// Lines added (text files).
    pub insertions: usize,
    /// Lines removed (text files).
    pub deletions: usize,
    /// Unified diff (text files with a content change, when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Metadata changes, field by field (empty when the metadata is the same).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub meta: Vec<MetaChange>,
}

/// One change to an asset's metadata between the two sides of a diff. A changed
/// field has both values, an added one only `new`, a removed one only `old`; the
/// `tags` set is compared tag by tag, one change per tag added or removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetaChange {
    /// The field's key.
    pub key: String,
    /// The old value (for `tags`: the removed tag).
    pub old: Option<String>,
    /// The new value (for `tags`: the added tag).
    pub new: Option<String>,
}

/// The field-by-field difference between two metadata objects, sorted by key
/// (tags: removed before added, each sorted).
pub fn meta_changes(old: &AssetMeta, new: &AssetMeta) -> Vec<MetaChange> {
    let keys: std::collections::BTreeSet<&String> =
        old.fields.keys().chain(new.fields.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        if key == TAGS {
            let (o, n) = (old.tags(), new.tags());
            for t in o.iter().filter(|t| !n.contains(t)) {
                out.push(MetaChange {
                    key: key.clone(),
                    old: Some(t.clone()),
                    new: None,
                });
            }
            for t in n.iter().filter(|t| !o.contains(t)) {
                out.push(MetaChange {
                    key: key.clone(),
                    old: None,
                    new: Some(t.clone()),
                });
            }
            continue;
        }
        let (o, n) = (old.get(key), new.get(key));
        if o != n {
            out.push(MetaChange {
                key: key.clone(),
                old: o.map(String::from),
                new: n.map(String::from),
            });
        }
    }
    out
}

/// The result of [`Repo::diff`].
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DiffReport {
    /// What the old side is (`index` or a commit id).
    pub old: String,
    /// What the new side is (`working tree` or a commit id).
    pub new: String,
    /// Changed files, by path.
    pub files: Vec<FileDiff>,
}

/// Where a side's content is read from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Store,
    Work,
}

impl Repo {
    /// Compares two snapshots as [`DiffOptions::revs`] says.
    pub fn diff(&mut self, opts: &DiffOptions) -> Result<DiffReport, VcsError> {
        let (old, old_label, new, new_side, new_label) = match opts.revs.as_slice() {
            [] => {
                let index = index_as_flat(&self.store().db().load_index()?);
                let work = self.work_flat()?;
                (
                    index,
                    "index".to_string(),
                    work,
                    Side::Work,
                    "working tree".to_string(),
                )
            }
            [a] => {
                let (flat, label) = self.rev_flat(a)?;
                let work = self.work_flat()?;
                (flat, label, work, Side::Work, "working tree".to_string())
            }
            [a, b] => {
                let (fa, la) = self.rev_flat(a)?;
                let (fb, lb) = self.rev_flat(b)?;
                (fa, la, fb, Side::Store, lb)
            }
            _ => {
                return Err(VcsError::UnknownRevision {
                    rev: opts.revs[2..].join(" "),
                    hint: " (diff takes at most two revisions)".into(),
                })
            }
        };
        let keep =
            |e: &FlatEntry| opts.paths.is_empty() || opts.paths.iter().any(|p| under(&e.path, p));
        let old: Vec<FlatEntry> = old.into_iter().filter(|e| keep(e)).collect();
        let new: Vec<FlatEntry> = new.into_iter().filter(|e| keep(e)).collect();
        let old_by: HashMap<&str, &FlatEntry> = old.iter().map(|e| (e.path.as_str(), e)).collect();
        let new_by: HashMap<&str, &FlatEntry> = new.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut files = Vec::new();
        for c in diff(&old, &new, true).changes {
            let o = match c.kind {
                ChangeKind::Added => None,
                _ => old_by.get(c.from.as_deref().unwrap_or(&c.path)).copied(),
            };
            let n = match c.kind {
                ChangeKind::Deleted => None,
                _ => new_by.get(c.path.as_str()).copied(),
            };
            let mut fd = FileDiff {
                path: c.path.clone(),
                kind: c.kind,
                from: c.from.clone(),
                old_size: o.map(|e| e.size),
                new_size: n.map(|e| e.size),
                binary: false,
                insertions: 0,
                deletions: 0,
                patch: None,
                meta: Vec::new(),
            };
            let (om, nm) = (o.and_then(|e| e.meta), n.and_then(|e| e.meta));
            if om != nm {
                fd.meta = meta_changes(&self.meta_or_empty(om)?, &self.meta_or_empty(nm)?);
            }
            let same_content = matches!((o, n), (Some(a), Some(b)) if a.id == b.id);
            if !same_content {
                let old_text = match o {
                    Some(e) => self.text_of(e, Side::Store)?,
                    None => Some(String::new()),
                };
                let new_text = match n {
                    Some(e) => self.text_of(e, new_side)?,
                    None => Some(String::new()),
                };
                match (old_text, new_text) {
                    (Some(a), Some(b)) => {
                        let td = similar::TextDiff::from_lines(&a, &b);
                        for op in td.ops() {
                            for ch in td.iter_changes(op) {
                                match ch.tag() {
                                    similar::ChangeTag::Insert => fd.insertions += 1,
                                    similar::ChangeTag::Delete => fd.deletions += 1,
                                    similar::ChangeTag::Equal => {}
                                }
                            }
                        }
                        if opts.text {
                            // Header names quoted as git quotes them, so a newline
                            // in a name cannot forge a line of the patch.
                            let side = |e: Option<&FlatEntry>, pre: &str| {
                                e.map_or("/dev/null".to_string(), |e| {
                                    super::quote::quote_path(&format!("{pre}{}", e.path))
                                        .into_owned()
                                })
                            };
                            let (from, to) = (side(o, "a/"), side(n, "b/"));
                            fd.patch = Some(
                                td.unified_diff()
                                    .context_radius(3)
                                    .header(&from, &to)
                                    .to_string(),
                            );
                        }
                    }
                    _ => fd.binary = true,
                }
            }
            files.push(fd);
        }
        Ok(DiffReport {
            old: old_label,
            new: new_label,
            files,
        })
    }

    fn meta_or_empty(&self, id: Option<ObjectId>) -> Result<AssetMeta, VcsError> {
        Ok(match id {
            Some(id) => self.store().asset_meta(&id)?,
            None => AssetMeta::default(),
        })
    }

    fn rev_flat(&self, rev: &str) -> Result<(Vec<FlatEntry>, String), VcsError> {
        let c = self.resolve_commit(rev)?;
        let flat = flatten(self.store(), &self.store().commit(&c)?.tree)?;
        Ok((flat, c.short()))
    }

    /// The tracked files as they are in the working tree: the index entry where the
    /// file is unchanged, a fresh hash where it changed, nothing where it is gone.
    fn work_flat(&mut self) -> Result<Vec<FlatEntry>, VcsError> {
        let st = self.status()?;
        let changed: HashMap<&str, ChangeKind> = st
            .unstaged
            .iter()
            .map(|c| (c.path.as_str(), c.kind))
            .collect();
        let index = self.store().db().load_index()?;
        let root = self.root().to_path_buf();
        let params = self.store().params();
        let mut out = Vec::with_capacity(index.len());
        for e in index {
            match changed.get(e.path.as_str()) {
                None => out.extend(index_as_flat(std::slice::from_ref(&e))),
                Some(ChangeKind::Deleted) => {}
                Some(_) => {
                    let m = std::fs::symlink_metadata(abs(&root, &e.path))
                        .map_err(VcsError::io(abs(&root, &e.path)))?;
                    let Some(w) = super::scan::WorkFile::from_meta(e.path.clone(), &m) else {
                        continue;
                    };
                    out.push(FlatEntry {
                        id: hash_work_file(&root, &w, params)?,
                        path: e.path,
                        kind: w.kind,
                        size: w.size,
                        meta: e.meta,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The entry's content as text, `None` when it is large, binary or a symlink.
    fn text_of(&self, e: &FlatEntry, side: Side) -> Result<Option<String>, VcsError> {
        if e.size > TEXT_DIFF_MAX {
            return Ok(None);
        }
        let bytes = match side {
            Side::Store => self.store().read_file_bytes(&e.id)?,
            Side::Work => {
                let a = abs(self.root(), &e.path);
                if e.kind == crate::store::object::EntryKind::Symlink {
                    std::fs::read_link(&a)
                        .map_err(VcsError::io(&a))?
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    std::fs::read(&a).map_err(VcsError::io(&a))?
                }
            }
        };
        Ok(as_text(bytes))
    }
}

/// `bytes` as text if it is at most [`TEXT_DIFF_MAX`], valid UTF-8 and has no NUL.
pub fn as_text(bytes: Vec<u8>) -> Option<String> {
    if bytes.len() as u64 > TEXT_DIFF_MAX || bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::vcs::testutil::{put, repo};
    use crate::vcs::CommitOptions;

    fn meta(pairs: &[(&str, &str)]) -> AssetMeta {
        let mut m = AssetMeta::default();
        for (k, v) in pairs {
            m.set(k, v).unwrap();
        }
        m
    }

    fn mc(key: &str, old: Option<&str>, new: Option<&str>) -> MetaChange {
        MetaChange {
            key: key.into(),
            old: old.map(String::from),
            new: new.map(String::from),
        }
    }

    #[test]
    fn meta_changes_field_by_field_and_tag_by_tag() {
        let a = meta(&[
            ("author", "Ana"),
            ("notes", "v1"),
            ("tags", "a,b,c"),
            ("z", "1"),
        ]);
        let b = meta(&[
            ("author", "Ana"),
            ("notes", "v2"),
            ("tags", "b,d"),
            ("new", "x"),
        ]);
        assert_eq!(
            meta_changes(&a, &b),
            vec![
                mc("new", None, Some("x")),
                mc("notes", Some("v1"), Some("v2")),
                mc("tags", Some("a"), None),
                mc("tags", Some("c"), None),
                mc("tags", None, Some("d")),
                mc("z", Some("1"), None),
            ]
        );
        assert!(meta_changes(&a, &a).is_empty());
        let none = AssetMeta::default();
        assert_eq!(
            meta_changes(&none, &meta(&[("tags", "x")])),
            vec![mc("tags", None, Some("x"))]
        );
    }

    #[test]
    fn diff_reports_metadata_of_added_changed_and_deleted_files() {
        let (_d, mut repo) = repo();
        let root = repo.root().to_path_buf();
        put(&repo, "a.txt", b"a\n");
        put(&repo, "b.txt", b"b\n");
        crate::vcs::testutil::commit_all(&mut repo, "one");
        let set = |repo: &mut Repo, p: &str, e: &str| {
            repo.meta_edit(p, &[crate::vcs::MetaEdit::parse(e).unwrap()])
                .unwrap();
        };
        set(&mut repo, "a.txt", "author=Ana");
        put(&repo, "c.txt", b"c\n");
        repo.add(&root, &[PathBuf::from("c.txt")], false, &|_, _| {})
            .unwrap();
        set(&mut repo, "c.txt", "tags=new");
        crate::vcs::testutil::commit_all(&mut repo, "two");
        std::fs::remove_file(root.join("c.txt")).unwrap();
        crate::vcs::testutil::commit_all(&mut repo, "three");
        let mut d = |a: &str, b: &str| {
            repo.diff(&DiffOptions {
                revs: vec![a.into(), b.into()],
                ..Default::default()
            })
            .unwrap()
        };
        let two = d("HEAD~2", "HEAD~1");
        let got: Vec<(&str, &[MetaChange])> = two
            .files
            .iter()
            .map(|f| (f.path.as_str(), &f.meta[..]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.txt", &[mc("author", None, Some("Ana"))][..]),
                ("c.txt", &[mc("tags", None, Some("new"))][..]),
            ]
        );
        assert!(two.files[0].insertions == 0 && two.files[0].deletions == 0);
        let three = d("HEAD~1", "HEAD");
        assert_eq!(three.files[0].kind, ChangeKind::Deleted);
        assert_eq!(three.files[0].meta, vec![mc("tags", Some("new"), None)]);
    }

    #[test]
    fn text_detection() {
        assert_eq!(as_text(b"a\nb\n".to_vec()).as_deref(), Some("a\nb\n"));
        assert!(as_text(b"a\0b".to_vec()).is_none());
        assert!(as_text(vec![0xff, 0xfe]).is_none());
        assert!(as_text(vec![b'a'; (TEXT_DIFF_MAX + 1) as usize]).is_none());
    }

    #[test]
    fn working_tree_against_index_and_revisions() {
        let (_d, mut repo) = repo();
        let root = repo.root().to_path_buf();
        put(&repo, "t.txt", b"one\ntwo\nthree\n");
        put(&repo, "b.bin", b"\0\x01\x02");
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        repo.commit(&CommitOptions {
            message: "c".into(),
            ..Default::default()
        })
        .unwrap();
        put(&repo, "t.txt", b"one\nTWO\nthree\n");
        put(&repo, "b.bin", b"\0\x01\x02\x03");
        let opts = DiffOptions {
            text: true,
            ..Default::default()
        };
        let d = repo.diff(&opts).unwrap();
        assert_eq!(d.files.len(), 2, "{d:?}");
        assert!(d.files[0].binary && d.files[0].path == "b.bin");
        assert_eq!(d.files[0].new_size, Some(4));
        let t = &d.files[1];
        assert_eq!((t.insertions, t.deletions), (1, 1));
        let patch = t.patch.as_deref().unwrap();
        assert!(patch.contains("-two\n+TWO\n"), "{patch}");
        assert!(patch.contains("--- a/t.txt"), "{patch}");
        // Against HEAD and restricted to a path.
        let d = repo
            .diff(&DiffOptions {
                revs: vec!["HEAD".into()],
                paths: vec!["t.txt".into()],
                text: true,
            })
            .unwrap();
        assert_eq!(d.files.len(), 1);
        // Two revisions.
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        repo.commit(&CommitOptions {
            message: "d".into(),
            ..Default::default()
        })
        .unwrap();
        let d = repo
            .diff(&DiffOptions {
                revs: vec!["HEAD~1".into(), "HEAD".into()],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(d.files.len(), 2);
        assert!(d.files.iter().all(|f| f.patch.is_none()));
        assert!(repo.diff(&Default::default()).unwrap().files.is_empty());
    }
}
