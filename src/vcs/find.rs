//! `find`: the assets (file entries) of a revision's tree that match filters on
//! type, class, size, author, tag, modification date and path.
//!
//! Type and class come from [`Repo::facts_of`]; tags and an explicit `author` from
//! the entry's asset metadata; the author otherwise, and the modification date
//! always, from the commit that last changed the asset (the newest revision
//! [`Repo::history`] lists, answered from the history index).

use super::treeops::flatten;
use super::{PathPatterns, Repo, VcsError};
use crate::store::object::assetmeta::AUTHOR;
use crate::store::object::Person;
use crate::store::ObjectId;

/// Which assets [`Repo::find`] keeps; every field set must match (AND).
#[derive(Debug, Clone, Default)]
pub struct FindFilter {
    /// Type name (`png`, `wav`…), compared ignoring case.
    pub kind: Option<String>,
    /// Class (`image`, `audio`…), compared ignoring case.
    pub class: Option<String>,
    /// At least this many bytes.
    pub min_size: Option<u64>,
    /// At most this many bytes.
    pub max_size: Option<u64>,
    /// Case-insensitive substring of the asset's author (see [`FoundAsset::author`])
    /// or, when that comes from the commit, its e-mail.
    pub author: Option<String>,
    /// A tag the asset's metadata carries, compared ignoring case.
    pub tag: Option<String>,
    /// Last modified (committer time of the last changing commit) at or after this
    /// Unix time.
    pub since: Option<i64>,
    /// A pattern over the repository path, in gitignore's dialect ([`PathPatterns`]:
    /// `*.png` at any depth, `art/*` anchored, `**` across directories).
    pub path_glob: Option<String>,
}

/// One asset [`Repo::find`] kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundAsset {
    /// Repository path.
    pub path: String,
    /// Content bytes.
    pub size: u64,
    /// File object id.
    pub file: ObjectId,
    /// Type name from the content facts.
    #[serde(rename = "type")]
    pub kind: String,
    /// Class from the content facts.
    pub class: String,
    /// The metadata `author` field if set, otherwise the name of the author of the
    /// commit that last changed the asset.
    pub author: String,
    /// The commit that last changed the asset.
    pub commit: ObjectId,
    /// Its committer time (Unix seconds).
    pub modified: i64,
    /// Its committer's time-zone offset, minutes east of UTC.
    pub modified_tz_offset_min: i16,
    /// Tags from the asset metadata, sorted.
    pub tags: Vec<String>,
}

/// Parses a size in the one grammar of [`crate::store::size`] (binary units, an
/// optional fraction: `10M`, `1.5GiB`, `200K`).
pub fn parse_size(text: &str) -> Result<u64, VcsError> {
    crate::store::size::parse_size(text).map_err(|e| VcsError::BadSize {
        text: e.text,
        reason: e.reason,
    })
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

impl Repo {
    /// The assets of `start`'s tree that `filter` accepts, sorted by path.
    pub fn find(&self, start: ObjectId, filter: &FindFilter) -> Result<Vec<FoundAsset>, VcsError> {
        // gitignore's dialect, as .gadnignore and the rules (vcs::pattern).
        let glob = match &filter.path_glob {
            Some(g) => Some(
                PathPatterns::new([g.as_str()]).map_err(|e| VcsError::BadPath {
                    path: g.clone(),
                    reason: format!("not a valid glob: {}", e.reason),
                })?,
            ),
            None => None,
        };
        if let Some(c) = &filter.class {
            let known = crate::store::sniff::CLASSES;
            if !known.iter().any(|k| k.eq_ignore_ascii_case(c)) {
                return Err(VcsError::UnknownClass {
                    given: c.clone(),
                    known: known.iter().map(|k| k.to_string()).collect(),
                });
            }
        }
        let tree = self.store().commit(&start)?.tree;
        // Cheap filters first: path and size, then facts, then metadata.
        let mut kept = Vec::new();
        for e in flatten(self.store(), &tree)? {
            if glob.as_ref().is_some_and(|g| !g.matches(&e.path, false))
                || filter.min_size.is_some_and(|m| e.size < m)
                || filter.max_size.is_some_and(|m| e.size > m)
            {
                continue;
            }
            let facts = self.facts_of(&e.id, &e.path)?;
            if filter
                .kind
                .as_ref()
                .is_some_and(|k| !facts.kind.eq_ignore_ascii_case(k))
                || filter
                    .class
                    .as_ref()
                    .is_some_and(|c| !facts.class.eq_ignore_ascii_case(c))
            {
                continue;
            }
            let meta = match &e.meta {
                Some(m) => Some(self.store().asset_meta(m)?),
                None => None,
            };
            let tags = meta.as_ref().map(|m| m.tags()).unwrap_or_default();
            if let Some(t) = &filter.tag {
                if !tags.iter().any(|x| x.to_lowercase() == t.to_lowercase()) {
                    continue;
                }
            }
            let meta_author = meta.as_ref().and_then(|m| m.get(AUTHOR)).map(String::from);
            kept.push((e, facts, tags, meta_author));
        }
        let paths: Vec<String> = kept.iter().map(|(e, ..)| e.path.clone()).collect();
        let last = if paths.is_empty() {
            Vec::new()
        } else {
            self.last_changes(start, &paths)?
        };
        let mut out = Vec::new();
        for ((e, facts, tags, meta_author), (commit_id, commit)) in kept.into_iter().zip(last) {
            let Person { name, email, .. } = &commit.author;
            let author = meta_author.unwrap_or_else(|| name.clone());
            if let Some(a) = &filter.author {
                let by_commit = author == *name && contains_ci(email, a);
                if !contains_ci(&author, a) && !by_commit {
                    continue;
                }
            }
            if filter.since.is_some_and(|s| commit.committer.time < s) {
                continue;
            }
            out.push(FoundAsset {
                path: e.path,
                size: e.size,
                file: e.id,
                kind: facts.kind,
                class: facts.class,
                author,
                commit: commit_id,
                modified: commit.committer.time,
                modified_tz_offset_min: commit.committer.tz_offset_min,
                tags,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::object::{AssetMeta, Commit, EntryKind};
    use crate::vcs::testutil::{commit_all, put, repo};
    use crate::vcs::treeops::build;

    #[test]
    fn sizes_parse_with_binary_units_and_fractions() {
        let ok = |t: &str| parse_size(t).unwrap();
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("10"), 10);
        assert_eq!(ok("10B"), 10);
        assert_eq!(ok("10M"), 10 << 20);
        assert_eq!(ok("10 mb"), 10 << 20);
        assert_eq!(ok("1.5GiB"), 3 << 29);
        assert_eq!(ok("1.5KiB"), 1536);
        assert_eq!(ok("0.001K"), 1);
        assert_eq!(ok("2t"), 2 << 40);
        assert_eq!(ok(" 7k "), 7 << 10);
        assert_eq!(ok("16383.99999T"), 18_014_398_498_486_867);
        for bad in [
            "",
            "M",
            "-1",
            "1.2.3",
            ".5",
            "5.",
            "10X",
            "1 0",
            "99999999999999999999",
            "16777216T",
            "1.0000000000000000000000000000000000000001K",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(matches!(e, VcsError::BadSize { .. }), "{bad}: {e}");
            assert!(e.to_string().starts_with("cannot read size"), "{e}");
        }
    }

    #[test]
    fn find_filters_on_every_field() {
        let (_d, mut r) = repo();
        put(&r, "art/hero.png", &[7u8; 3000]);
        put(&r, "art/tree.png", &[8u8; 100]);
        put(&r, "docs/readme.txt", b"hello");
        put(&r, "sfx/boom.wav", &vec![9u8; 2 << 20]);
        let c1 = commit_all(&mut r, "import");
        let t1 = r.store().commit(&c1).unwrap().committer.time;

        // A second commit by someone else, with metadata on one asset.
        let mut files = flatten(r.store(), &r.store().commit(&c1).unwrap().tree).unwrap();
        let (lock, _) = r.store_mut().lock().unwrap();
        let mut w = r.store_mut().writer(&lock);
        let mut meta = AssetMeta::default();
        meta.set("tags", "Hero, final").unwrap();
        meta.set("author", "Grace").unwrap();
        let meta_id = w.put_meta(&meta).unwrap();
        files[0].meta = Some(meta_id);
        assert_eq!(files[3].path, "sfx/boom.wav");
        files[3].kind = EntryKind::Executable;
        let tree = build(&mut w, &files).unwrap();
        let who = Person {
            name: "Bob".into(),
            email: "bob@studio.example".into(),
            time: t1 + 5000,
            tz_offset_min: 60,
        };
        let c2 = w
            .put_commit(&Commit {
                tree,
                parents: vec![c1],
                author: who.clone(),
                committer: who,
                message: "tag hero".into(),
                notes: vec![],
                signature: None,
            })
            .unwrap();
        w.finish().unwrap();
        drop(lock);

        let paths = |f: FindFilter| -> Vec<String> {
            r.find(c2, &f)
                .unwrap()
                .into_iter()
                .map(|a| a.path)
                .collect()
        };
        let all = r.find(c2, &FindFilter::default()).unwrap();
        let names: Vec<&str> = all.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "art/hero.png",
                "art/tree.png",
                "docs/readme.txt",
                "sfx/boom.wav"
            ]
        );
        let hero = &all[0];
        assert_eq!(hero.author, "Grace");
        assert_eq!(hero.tags, vec!["Hero".to_string(), "final".to_string()]);
        assert_eq!(hero.commit, c2);
        assert_eq!(hero.modified, t1 + 5000);
        assert_eq!(hero.modified_tz_offset_min, 60);
        assert_eq!(all[1].commit, c1);
        assert_eq!(all[1].modified, t1);
        assert_eq!(all[3].author, "Bob");
        assert_eq!(all[3].size, 2 << 20);

        let by = |f: fn(&mut FindFilter)| {
            let mut x = FindFilter::default();
            f(&mut x);
            paths(x)
        };
        assert_eq!(by(|f| f.tag = Some("HERO".into())), ["art/hero.png"]);
        assert!(by(|f| f.tag = Some("draft".into())).is_empty());
        assert_eq!(by(|f| f.author = Some("grace".into())), ["art/hero.png"]);
        assert_eq!(
            by(|f| f.author = Some("studio.example".into())),
            ["sfx/boom.wav"]
        );
        assert_eq!(by(|f| f.min_size = Some(1 << 20)), ["sfx/boom.wav"]);
        assert_eq!(
            by(|f| f.max_size = Some(100)),
            ["art/tree.png", "docs/readme.txt"]
        );
        assert_eq!(
            by(|f| {
                f.min_size = Some(100);
                f.max_size = Some(3000);
            }),
            ["art/hero.png", "art/tree.png"]
        );
        assert_eq!(by(|f| f.path_glob = Some("*.png".into())).len(), 2);
        assert_eq!(by(|f| f.path_glob = Some("{sfx,docs}/**".into())).len(), 2);
        let since = paths(FindFilter {
            since: Some(t1 + 1),
            ..Default::default()
        });
        assert_eq!(since, ["art/hero.png", "sfx/boom.wav"]);
        // Type and class: whatever the facts say for an asset selects it.
        let kind = hero.kind.clone();
        let class = hero.class.clone();
        let same_kind = paths(FindFilter {
            kind: Some(kind.to_uppercase()),
            ..Default::default()
        });
        assert!(same_kind.contains(&hero.path));
        assert!(all
            .iter()
            .filter(|a| a.kind != kind)
            .all(|a| !same_kind.contains(&a.path)));
        let same_class = paths(FindFilter {
            class: Some(class.clone()),
            ..Default::default()
        });
        assert!(same_class.contains(&hero.path));
        assert!(paths(FindFilter {
            kind: Some("no-such-type".into()),
            ..Default::default()
        })
        .is_empty());
        // A class that does not exist is an error naming the classes, not an empty
        // result (`find --class sound`).
        let e = r
            .find(
                c2,
                &FindFilter {
                    class: Some("sound".into()),
                    ..Default::default()
                },
            )
            .expect_err("no class sound");
        assert!(matches!(e, VcsError::UnknownClass { .. }), "{e}");
        assert!(e.to_string().contains("audio, model"), "{e}");
        assert!(matches!(
            r.find(
                c2,
                &FindFilter {
                    path_glob: Some("a/{b".into()),
                    ..Default::default()
                }
            ),
            Err(VcsError::BadPath { .. })
        ));
        // Nothing kept: no index work at all.
        assert!(by(|f| f.min_size = Some(u64::MAX)).is_empty());
        // From the older commit, the old state.
        let old = r.find(c1, &FindFilter::default()).unwrap();
        assert_eq!(old.len(), 4);
        assert!(old.iter().all(|a| a.commit == c1 && a.tags.is_empty()));
    }
}
