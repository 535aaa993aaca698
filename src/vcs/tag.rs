//! Tags: lightweight (`refs/tags/NAME` → commit) and annotated (`refs/tags/NAME` →
//! a [`Tag`] object naming the commit, with tagger and message).

use super::branch::{full_name, raced, reflog};
use super::ident::Identity;
use super::{Repo, VcsError};
use crate::store::db::{DbError, Expect, RefTarget};
use crate::store::object::Tag;
use crate::store::{ObjectId, ObjectKind};

/// Where tag refs live.
const TAGS: &str = "refs/tags/";

/// One tag, as listed by [`Repo::tags`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TagInfo {
    /// Short name (`v1.0`, not `refs/tags/v1.0`).
    pub name: String,
    /// The commit the tag names (annotated tags peeled; hex in JSON).
    pub target_commit: ObjectId,
    /// True for an annotated tag (a tag object).
    pub annotated: bool,
    /// The annotated tag's message; `None` for a lightweight tag.
    pub message: Option<String>,
}

impl Repo {
    /// Every tag, sorted by name.
    pub fn tags(&self) -> Result<Vec<TagInfo>, VcsError> {
        let mut out = Vec::new();
        for (full, id) in self.store().db().list_refs(TAGS)? {
            let name = full[TAGS.len()..].to_string();
            let annotated =
                self.store().packs().locate(&id).map(|l| l.entry.kind) == Some(ObjectKind::Tag);
            let message = if annotated {
                Some(self.store().tag(&id)?.message)
            } else {
                None
            };
            out.push(TagInfo {
                target_commit: self.resolve_commit(&full)?,
                name,
                annotated,
                message,
            });
        }
        Ok(out)
    }

    /// Tags the commit `rev` names (`HEAD` when `None`) as `name`: annotated, with a
    /// tag object, when `message` is given; lightweight otherwise. Returns what the
    /// ref now holds (the tag object's id, or the commit's). Fails if the tag exists.
    pub fn create_tag(
        &mut self,
        name: &str,
        rev: Option<&str>,
        message: Option<&str>,
    ) -> Result<ObjectId, VcsError> {
        let full = full_name("tag", TAGS, name)?;
        if self.store().db().read_ref(&full)?.is_some() {
            return Err(VcsError::TagExists { name: name.into() });
        }
        let commit = match rev {
            Some(r) => self.resolve_commit(r)?,
            None => self.head()?.1.ok_or_else(|| VcsError::NoCommitsYet {
                what: "tag",
                name: name.into(),
            })?,
        };
        let log = reflog(self, format!("tag: {name}"));
        let (lock, _) = self.store_mut().lock()?;
        let target = match message {
            Some(message) => {
                let tag = Tag {
                    target: commit,
                    target_kind: ObjectKind::Commit,
                    name: name.into(),
                    tagger: Identity::configured(self.store())?.now(),
                    message: message.into(),
                    signature: None,
                };
                let mut w = self.store_mut().writer(&lock);
                let id = w.put_tag(&tag)?;
                w.finish()?;
                id
            }
            None => commit,
        };
        let result = self
            .store()
            .db()
            .update_ref(&full, Expect::Absent, target, &log);
        drop(lock);
        match result {
            Ok(()) => Ok(target),
            Err(DbError::RefConflict { .. }) => Err(VcsError::TagExists { name: name.into() }),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes tag `name`; returns what it held.
    pub fn delete_tag(&self, name: &str) -> Result<ObjectId, VcsError> {
        let full = full_name("tag", TAGS, name)?;
        let id = match self.store().db().read_ref(&full)? {
            Some(RefTarget::Id(id)) => id,
            _ => return Err(VcsError::NoSuchTag { name: name.into() }),
        };
        let log = reflog(self, format!("tag: deleted {name}"));
        self.store()
            .db()
            .delete_ref(&full, Expect::Value(id), &log)
            .map_err(raced)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::vcs::testutil::{commit_all, put, repo};

    #[test]
    fn lightweight_and_annotated_tags() {
        let (_d, mut repo) = repo();
        assert!(matches!(
            repo.create_tag("v0", None, None),
            Err(VcsError::NoCommitsYet { .. })
        ));
        put(&repo, "a.txt", b"one");
        let first = commit_all(&mut repo, "first");
        put(&repo, "a.txt", b"two");
        let second = commit_all(&mut repo, "second");
        assert_eq!(
            repo.create_tag("light", Some("HEAD~1"), None).unwrap(),
            first
        );
        let tag_id = repo.create_tag("v1.0", None, Some("release")).unwrap();
        assert_ne!(tag_id, second);
        assert_eq!(repo.store().tag(&tag_id).unwrap().target, second);
        assert!(matches!(
            repo.create_tag("v1.0", None, None),
            Err(VcsError::TagExists { .. })
        ));
        assert!(matches!(
            repo.create_tag("x.lock", None, None),
            Err(VcsError::BadName { .. })
        ));
        // Revisions peel through the tag object.
        assert_eq!(repo.resolve_commit("v1.0").unwrap(), second);
        assert_eq!(repo.resolve_commit("v1.0~1").unwrap(), first);
        let tags = repo.tags().unwrap();
        assert_eq!(
            tags,
            [
                TagInfo {
                    name: "light".into(),
                    target_commit: first,
                    annotated: false,
                    message: None,
                },
                TagInfo {
                    name: "v1.0".into(),
                    target_commit: second,
                    annotated: true,
                    message: Some("release".into()),
                },
            ]
        );
        assert_eq!(repo.delete_tag("v1.0").unwrap(), tag_id);
        assert!(matches!(
            repo.delete_tag("v1.0"),
            Err(VcsError::NoSuchTag { .. })
        ));
        assert_eq!(repo.tags().unwrap().len(), 1);
    }
}
