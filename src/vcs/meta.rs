//! Per-asset creative metadata: editing the *staged* [`AssetMeta`] of a tracked path
//! and showing the metadata of a path in the index or at `REV:PATH`.
//!
//! An edit writes a new asset-metadata object and points the path's index entry at
//! it (or at nothing, when no field remains); the next commit records it in the
//! tree, so metadata is versioned, diffed and merged with its asset. Content facts
//! (type, class, MIME) are shown alongside but are not part of the object: they
//! are derived from the content ([`super::facts`]).

use std::collections::BTreeMap;

use super::facts::Facts;
use super::path::{abs, under, validate_repo_path};
use super::revparse::Resolved;
use super::{Repo, VcsError};
use crate::store::object::assetmeta::{validate_key, CREATED, TAGS};
use crate::store::object::{AssetMeta, EntryKind};
use crate::store::ObjectId;

/// One change to an asset's metadata, as typed on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaEdit {
    /// `KEY=VALUE`: set a field (`tags` is normalised to its canonical form).
    Set(String, String),
    /// `KEY=` or `unset KEY`: remove a field.
    Unset(String),
    /// `tags+=a,b`: add tags to the set.
    AddTags(Vec<String>),
    /// `tags-=a,b`: remove tags from the set.
    RemoveTags(Vec<String>),
}

impl MetaEdit {
    /// Parses `KEY=VALUE`, `KEY=`, `tags+=a,b` or `tags-=a,b`. The key is checked
    /// here, the value when the edit is applied.
    pub fn parse(text: &str) -> Result<MetaEdit, VcsError> {
        let Some((lhs, value)) = text.split_once('=') else {
            return Err(bad_meta(format!(
                "'{text}' is not KEY=VALUE (use KEY= to remove a field, tags+=a,b or tags-=a,b for tags)"
            )));
        };
        let tags = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        };
        match lhs.strip_prefix(TAGS) {
            Some("+") => return Ok(MetaEdit::AddTags(tags(value))),
            Some("-") => return Ok(MetaEdit::RemoveTags(tags(value))),
            _ => {}
        }
        // `KEY+=`/`KEY-=` on another field is a mistake, not a key ending in `-`.
        if lhs.ends_with(['+', '-']) {
            return Err(bad_meta(format!(
                "'{lhs}=': += and -= add and remove items only for the tags field"
            )));
        }
        validate_key(lhs).map_err(|e| bad_meta(object_reason(e)))?;
        Ok(if value.is_empty() {
            MetaEdit::Unset(lhs.to_string())
        } else {
            MetaEdit::Set(lhs.to_string(), value.to_string())
        })
    }

    /// Applies the edit to `meta`, checking the value (`created` must be a date).
    pub fn apply(&self, meta: &mut AssetMeta) -> Result<(), VcsError> {
        let set = |meta: &mut AssetMeta, k: &str, v: &str| {
            meta.set(k, v).map_err(|e| bad_meta(object_reason(e)))
        };
        match self {
            MetaEdit::Set(k, v) => {
                if k == CREATED {
                    check_date(v)?;
                }
                set(meta, k, v)
            }
            MetaEdit::Unset(k) => {
                validate_key(k).map_err(|e| bad_meta(object_reason(e)))?;
                set(meta, k, "")
            }
            MetaEdit::AddTags(add) => {
                let mut tags = meta.tags();
                tags.extend(add.iter().cloned());
                set(meta, TAGS, &tags.join(","))
            }
            MetaEdit::RemoveTags(remove) => {
                let tags: Vec<String> = meta
                    .tags()
                    .into_iter()
                    .filter(|t| !remove.contains(t))
                    .collect();
                set(meta, TAGS, &tags.join(","))
            }
        }
    }
}

fn bad_meta(reason: String) -> VcsError {
    VcsError::BadMeta { reason }
}

/// The reason inside an object validation error, without the "invalid … object"
/// prefix the store adds.
fn object_reason(e: crate::store::object::ObjectError) -> String {
    match e {
        crate::store::object::ObjectError::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Checks a `created` value: a calendar date `YYYY-MM-DD` or an RFC 3339 date-time
/// (`2026-11-21T10:00:00Z`, with an offset).
pub fn check_date(value: &str) -> Result<(), VcsError> {
    let ok = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
        || chrono::DateTime::parse_from_rfc3339(value).is_ok();
    if ok {
        Ok(())
    } else {
        Err(VcsError::BadDate {
            text: value.into(),
            reason: "created must be a date, YYYY-MM-DD or RFC 3339 (2026-11-21T10:00:00Z)".into(),
        })
    }
}

/// The metadata of one file, for `gadn meta show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetaView {
    /// Repository path.
    pub path: String,
    /// The commit it was read from (hex), `None` for the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// File object id (hex).
    pub file_id: String,
    /// Content bytes.
    pub size: u64,
    /// Asset-metadata object id (hex), `None` when the file has no metadata.
    pub meta_id: Option<String>,
    /// Every field except `tags`, by key.
    pub fields: BTreeMap<String, String>,
    /// The tags, sorted.
    pub tags: Vec<String>,
    /// Content facts.
    pub facts: Facts,
}

impl Repo {
    /// Applies `edits` in order to the staged metadata of the tracked file `path` (a
    /// repository path). All edits are checked before anything is written; on any
    /// error nothing changes. Returns the resulting view.
    pub fn meta_edit(&mut self, path: &str, edits: &[MetaEdit]) -> Result<MetaView, VcsError> {
        let mut entry = self.tracked_entry(path)?;
        let old = match entry.meta {
            Some(id) => self.store().asset_meta(&id)?,
            None => AssetMeta::default(),
        };
        let mut meta = old.clone();
        for e in edits {
            e.apply(&mut meta)?;
        }
        if meta != old {
            let (lock, _) = self.store_mut().lock()?;
            // Re-read under the lock: another writer may have changed the entry.
            entry = self.tracked_entry(path)?;
            let id = if meta.is_empty() {
                None
            } else {
                let mut writer = self.store_mut().writer(&lock);
                let id = writer.put_meta(&meta)?;
                writer.finish()?;
                Some(id)
            };
            entry.meta = id;
            self.write_index_entries(std::slice::from_ref(&entry), &[])?;
            drop(lock);
        }
        self.view(path, None, &entry.file_id, entry.size, entry.meta)
    }

    /// The metadata of `path` as staged in the index.
    pub fn meta_show_index(&self, path: &str) -> Result<MetaView, VcsError> {
        let e = self.tracked_entry(path)?;
        self.view(path, None, &e.file_id, e.size, e.meta)
    }

    /// The metadata at `REV:PATH` (an empty `REV` is `HEAD`).
    pub fn meta_show_at(&self, expr: &str) -> Result<MetaView, VcsError> {
        match self.resolve(expr)? {
            Resolved::Entry {
                commit,
                path,
                entry,
            } => {
                if entry.kind == EntryKind::Dir {
                    let path = if path.is_empty() { "/".into() } else { path };
                    return Err(VcsError::MetaOnDirectory { path });
                }
                self.view(&path, Some(&commit), &entry.id, entry.size, entry.meta)
            }
            Resolved::Commit(_) => Err(VcsError::BadPath {
                path: expr.into(),
                reason: "expected REV:PATH naming a file".into(),
            }),
        }
    }

    /// The index entry of a tracked file, or why there is none.
    fn tracked_entry(&self, path: &str) -> Result<crate::store::db::IndexEntry, VcsError> {
        if path.is_empty() {
            return Err(VcsError::MetaOnDirectory { path: "/".into() });
        }
        validate_repo_path(path)?;
        if let Some(e) = self.store().db().index_get(path)? {
            return Ok(e);
        }
        let is_dir = std::fs::symlink_metadata(abs(self.root(), path)).is_ok_and(|m| m.is_dir())
            || self
                .store()
                .db()
                .load_index()?
                .iter()
                .any(|e| under(&e.path, path));
        if is_dir {
            return Err(VcsError::MetaOnDirectory {
                path: path.to_string(),
            });
        }
        Err(VcsError::NotTracked {
            path: path.to_string(),
        })
    }

    fn view(
        &self,
        path: &str,
        commit: Option<&ObjectId>,
        file_id: &ObjectId,
        size: u64,
        meta_id: Option<ObjectId>,
    ) -> Result<MetaView, VcsError> {
        let meta = match meta_id {
            Some(id) => self.store().asset_meta(&id)?,
            None => AssetMeta::default(),
        };
        let tags = meta.tags();
        let mut fields = meta.fields;
        fields.remove(TAGS);
        Ok(MetaView {
            path: path.to_string(),
            commit: commit.map(|c| c.to_hex()),
            file_id: file_id.to_hex(),
            size,
            meta_id: meta_id.map(|m| m.to_hex()),
            fields,
            tags,
            facts: self.facts_of(file_id, path)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcs::testutil::{commit_all, put, repo};

    fn edits(list: &[&str]) -> Vec<MetaEdit> {
        list.iter().map(|e| MetaEdit::parse(e).unwrap()).collect()
    }

    #[test]
    fn parse_forms() {
        assert_eq!(
            MetaEdit::parse("author=Ana = B").unwrap(),
            MetaEdit::Set("author".into(), "Ana = B".into())
        );
        assert_eq!(
            MetaEdit::parse("notes=").unwrap(),
            MetaEdit::Unset("notes".into())
        );
        assert_eq!(
            MetaEdit::parse("tags+=a, b,,").unwrap(),
            MetaEdit::AddTags(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            MetaEdit::parse("tags-=a").unwrap(),
            MetaEdit::RemoveTags(vec!["a".into()])
        );
        for bad in [
            "author", "Author=x", "=x", "a b=c", "notes+=x", "notes-=x", "1x=y",
        ] {
            let e = MetaEdit::parse(bad).unwrap_err();
            assert!(matches!(e, VcsError::BadMeta { .. }), "{bad}: {e:?}");
        }
        let msg = MetaEdit::parse("notes+=x").unwrap_err().to_string();
        assert!(msg.contains("only for the tags field"), "{msg}");
        let msg = MetaEdit::parse("Author=x").unwrap_err().to_string();
        assert!(msg.contains("key \"Author\" must be"), "{msg}");
    }

    #[test]
    fn apply_checks_values() {
        let mut m = AssetMeta::default();
        for e in edits(&["created=2026-11-21", "tags=b,a", "tags+=c,a", "tags-=b"]) {
            e.apply(&mut m).unwrap();
        }
        assert_eq!(m.get("created"), Some("2026-11-21"));
        assert_eq!(m.get("tags"), Some("a,c"));
        MetaEdit::parse("created=2026-11-21T10:00:00+01:00")
            .unwrap()
            .apply(&mut m)
            .unwrap();
        for bad in [
            "created=yesterday",
            "created=2026-13-01",
            "created=21/11/2026",
        ] {
            let e = MetaEdit::parse(bad).unwrap().apply(&mut m).unwrap_err();
            assert!(matches!(e, VcsError::BadDate { .. }), "{bad}: {e}");
        }
        let big = format!(
            "notes={}",
            "x".repeat(crate::store::object::assetmeta::MAX_VALUE_LEN + 1)
        );
        let e = MetaEdit::parse(&big).unwrap().apply(&mut m).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        let e = MetaEdit::Unset("Bad".into()).apply(&mut m).unwrap_err();
        assert!(matches!(e, VcsError::BadMeta { .. }));
        MetaEdit::parse("tags-=a,c").unwrap().apply(&mut m).unwrap();
        assert_eq!(m.get("tags"), None, "no tags left removes the field");
        assert!(check_date("2026-02-30").is_err());
    }

    #[test]
    fn edit_stages_show_reads_and_commit_records() {
        let (_d, mut repo) = repo();
        put(&repo, "art/hero.png", b"\x89PNG\r\n\x1a\nrest");
        put(&repo, "notes.txt", b"hello\n");
        let c1 = commit_all(&mut repo, "one");
        let v = repo
            .meta_edit(
                "art/hero.png",
                &edits(&["author=Ana", "tags=hero,wip", "notes=v1"]),
            )
            .unwrap();
        assert_eq!(v.fields.get("author").map(String::as_str), Some("Ana"));
        assert!(!v.fields.contains_key("tags"));
        assert_eq!(v.tags, vec!["hero", "wip"]);
        assert_eq!(v.facts.kind, "png");
        assert!(v.meta_id.is_some() && v.commit.is_none());
        assert_eq!(repo.meta_show_index("art/hero.png").unwrap(), v);
        // Staged, not committed: status sees a modification.
        let st = repo.status().unwrap();
        assert_eq!(st.staged.len(), 1, "{st:?}");
        assert!(st.unstaged.is_empty());
        let c2 = commit_all(&mut repo, "meta");
        assert_ne!(c1, c2);
        let at = repo.meta_show_at("HEAD:art/hero.png").unwrap();
        assert_eq!(at.commit, Some(c2.to_hex()));
        assert_eq!(at.fields, v.fields);
        let before = repo
            .meta_show_at(&format!("{}:art/hero.png", c1.to_hex()))
            .unwrap();
        assert!(before.fields.is_empty() && before.tags.is_empty() && before.meta_id.is_none());
        assert_eq!(repo.meta_show_at(":notes.txt").unwrap().facts.kind, "text");
        // A no-op edit writes nothing: the index still equals HEAD.
        let same = repo
            .meta_edit("art/hero.png", &edits(&["author=Ana"]))
            .unwrap();
        assert_eq!(same, v);
        assert!(repo.status().unwrap().is_clean());
        // Removing every field leaves no metadata object.
        let v = repo
            .meta_edit(
                "art/hero.png",
                &edits(&["author=", "notes=", "tags-=hero,wip"]),
            )
            .unwrap();
        assert_eq!(v.meta_id, None);
        assert_eq!(
            repo.store()
                .db()
                .index_get("art/hero.png")
                .unwrap()
                .unwrap()
                .meta,
            None
        );
        assert_eq!(repo.status().unwrap().staged.len(), 1, "HEAD has metadata");
        // Committing that and setting the same field again round-trips.
        commit_all(&mut repo, "drop meta");
        assert!(repo
            .meta_show_at("HEAD:art/hero.png")
            .unwrap()
            .meta_id
            .is_none());
    }

    #[test]
    fn bad_targets_change_nothing() {
        let (_d, mut repo) = repo();
        put(&repo, "art/hero.png", b"png");
        put(&repo, "untracked.txt", b"x");
        commit_all(&mut repo, "one");
        std::fs::create_dir_all(repo.root().join("empty")).unwrap();
        put(&repo, "later.txt", b"y");
        let e = |r: Result<MetaView, VcsError>| r.unwrap_err();
        let set = edits(&["author=Ana"]);
        assert!(matches!(
            e(repo.meta_edit("later.txt", &set)),
            VcsError::NotTracked { .. }
        ));
        assert!(matches!(
            e(repo.meta_edit("nowhere", &set)),
            VcsError::NotTracked { .. }
        ));
        assert!(matches!(
            e(repo.meta_edit("art", &set)),
            VcsError::MetaOnDirectory { .. }
        ));
        assert!(matches!(
            e(repo.meta_edit("empty", &set)),
            VcsError::MetaOnDirectory { .. }
        ));
        assert!(matches!(
            e(repo.meta_edit("", &set)),
            VcsError::MetaOnDirectory { .. }
        ));
        assert!(matches!(
            e(repo.meta_edit("../x", &set)),
            VcsError::BadPath { .. }
        ));
        assert!(matches!(
            e(repo.meta_edit("art/hero.png", &edits(&["author=Ana", "created=soon"]))),
            VcsError::BadDate { .. }
        ));
        assert!(matches!(
            e(repo.meta_show_index("later.txt")),
            VcsError::NotTracked { .. }
        ));
        assert!(matches!(
            e(repo.meta_show_at("HEAD:art")),
            VcsError::MetaOnDirectory { .. }
        ));
        assert!(matches!(
            e(repo.meta_show_at("HEAD:nope")),
            VcsError::PathNotFound { .. }
        ));
        assert!(matches!(
            e(repo.meta_show_at("HEAD")),
            VcsError::BadPath { .. }
        ));
        assert!(repo
            .store()
            .db()
            .index_get("art/hero.png")
            .unwrap()
            .unwrap()
            .meta
            .is_none());
        assert!(repo.status().unwrap().is_clean());
        let msg = e(repo.meta_edit("later.txt", &set)).to_string();
        assert!(msg.contains("not tracked; gadn add it first"), "{msg}");
    }
}
