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
        // Parse every suffix before walking, so a malformed one is reported as such
        // and not as a missing parent.
        let mut ops = Vec::new();
        let mut rest = suffix;
        while !rest.is_empty() {
            let (op, n, tail) = parse_op(rev, rest)?;
            ops.push((op, n));
            rest = tail;
        }
        let mut id = self.resolve_base(rev, base)?;
        for (op, n) in ops {
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
            // A peer's branch as last fetched: `alice/main`.
            candidates.push(format!("refs/remotes/{name}"));
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
        // The current branch before its first commit exists only as HEAD's target.
        let unborn = matches!(db.resolve_ref("HEAD"), Ok(Some((t, None)))
            if t == name || t.strip_prefix("refs/heads/") == Some(name));
        Err(VcsError::UnknownRevision {
            rev: rev.into(),
            hint: if unborn {
                " (the branch has no commits yet)".into()
            } else {
                String::new()
            },
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
        assert!(parse_op("x", "x1").is_err());
    }

    use crate::store::chunker::ChunkParams;
    use crate::store::db::{Expect, ReflogInfo};
    use crate::store::object::{Commit, Person, Tag, Tree, TreeEntry};
    use crate::store::StoreError;
    use crate::vcs::CommitOptions;
    use std::collections::HashMap;
    use std::path::PathBuf;

    fn person(time: i64) -> Person {
        Person {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            time,
            tz_offset_min: 0,
        }
    }

    fn tag_of(target: ObjectId, target_kind: ObjectKind, message: &str) -> Tag {
        Tag {
            target,
            target_kind,
            name: "t".into(),
            tagger: person(1),
            message: message.into(),
            signature: None,
        }
    }

    fn set_ref(repo: &Repo, name: &str, id: ObjectId) {
        repo.store()
            .db()
            .update_ref(name, Expect::Any, id, &ReflogInfo::now("test", "set"))
            .unwrap();
    }

    /// Runs `f` with a writer and seals what it wrote.
    fn write<T>(repo: &mut Repo, f: impl FnOnce(&mut crate::store::ObjectWriter<'_>) -> T) -> T {
        let (lock, _) = repo.store_mut().lock().unwrap();
        let mut w = repo.store_mut().writer(&lock);
        let out = f(&mut w);
        w.finish().unwrap();
        out
    }

    struct History {
        _dir: tempfile::TempDir,
        repo: Repo,
        a: ObjectId,
        b: ObjectId,
        c: ObjectId,
        m: ObjectId,
    }

    /// `main` = M, a merge of B and C, which both have the root A as parent. A is a
    /// real commit of `top.txt` and `dir/f.txt`; the others reuse its tree.
    fn history() -> History {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("w");
        let mut repo = Repo::init(&root, ChunkParams::DEFAULT).unwrap();
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::write(root.join("top.txt"), b"top").unwrap();
        std::fs::write(root.join("dir/f.txt"), b"f").unwrap();
        let root = repo.root().to_path_buf();
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        let a = repo
            .commit(&CommitOptions {
                message: "A".into(),
                ..Default::default()
            })
            .unwrap();
        let tree = repo.store().commit(&a).unwrap().tree;
        let commit = |parents: Vec<ObjectId>, msg: &str, t: i64| Commit {
            tree,
            parents,
            author: person(t),
            committer: person(t),
            message: msg.into(),
            notes: Vec::new(),
            signature: None,
        };
        let (b, c, m) = write(&mut repo, |w| {
            let b = w.put_commit(&commit(vec![a], "B", 10)).unwrap();
            let c = w.put_commit(&commit(vec![a], "C", 20)).unwrap();
            let m = w.put_commit(&commit(vec![b, c], "M", 30)).unwrap();
            (b, c, m)
        });
        set_ref(&repo, "refs/heads/main", m);
        History {
            _dir: dir,
            repo,
            a,
            b,
            c,
            m,
        }
    }

    fn hint(err: VcsError) -> String {
        match err {
            VcsError::UnknownRevision { hint, .. } => hint,
            other => panic!("expected UnknownRevision, got {other:?}"),
        }
    }

    #[test]
    fn ancestry_suffixes_walk_first_and_nth_parents() {
        let h = history();
        let r = |rev: &str| h.repo.resolve_commit(rev).unwrap();
        for (rev, want) in [
            ("HEAD", h.m),
            ("@", h.m),
            ("main", h.m),
            ("refs/heads/main", h.m),
            ("HEAD^0", h.m),
            ("HEAD~0", h.m),
            ("HEAD^", h.b),
            ("HEAD^1", h.b),
            ("HEAD~", h.b),
            ("HEAD~1", h.b),
            ("HEAD^2", h.c),
            ("HEAD^2~1", h.a),
            ("HEAD^^", h.a),
            ("HEAD~2", h.a),
            ("main~1^", h.a),
        ] {
            assert_eq!(r(rev), want, "{rev}");
        }
        for rev in ["HEAD^3", "HEAD~3", "HEAD^2~2", "HEAD~2^1"] {
            let err = h.repo.resolve_commit(rev).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("unknown revision '{rev}' (no such parent)")
            );
        }
        // A malformed suffix is reported as such even where the walk would fail first.
        let err = h.repo.resolve_commit("HEAD~3x").unwrap_err();
        assert_eq!(err.to_string(), "unknown revision 'HEAD~3x'");
        let err = h.repo.resolve_commit("nosuch~1").unwrap_err();
        assert_eq!(err.to_string(), "unknown revision 'nosuch~1'");
    }

    #[test]
    fn tags_are_found_under_refs_tags_and_peeled() {
        let mut h = history();
        let tree = h.repo.store().commit(&h.a).unwrap().tree;
        let (annotated, nested, on_tree, chain) = write(&mut h.repo, |w| {
            let annotated = w.put_tag(&tag_of(h.b, ObjectKind::Commit, "v1")).unwrap();
            let nested = w
                .put_tag(&tag_of(annotated, ObjectKind::Tag, "v1 again"))
                .unwrap();
            let on_tree = w
                .put_tag(&tag_of(tree, ObjectKind::Tree, "a tree"))
                .unwrap();
            let mut chain = h.c;
            for i in 0..9 {
                let kind = if i == 0 {
                    ObjectKind::Commit
                } else {
                    ObjectKind::Tag
                };
                chain = w
                    .put_tag(&tag_of(chain, kind, &format!("link {i}")))
                    .unwrap();
            }
            (annotated, nested, on_tree, chain)
        });
        set_ref(&h.repo, "refs/tags/light", h.c);
        set_ref(&h.repo, "refs/tags/v1", annotated);
        set_ref(&h.repo, "refs/tags/v1-again", nested);
        set_ref(&h.repo, "refs/tags/tree", on_tree);
        set_ref(&h.repo, "refs/tags/chain", chain);
        set_ref(
            &h.repo,
            "refs/tags/ghost",
            ObjectId::of_chunk(b"never stored"),
        );
        // A branch wins over a tag of the same name, as in git.
        set_ref(&h.repo, "refs/heads/dup", h.a);
        set_ref(&h.repo, "refs/tags/dup", h.c);

        let r = |rev: &str| h.repo.resolve_commit(rev);
        assert_eq!(r("light").unwrap(), h.c);
        assert_eq!(r("v1").unwrap(), h.b);
        assert_eq!(r("refs/tags/v1").unwrap(), h.b);
        assert_eq!(r("v1~1").unwrap(), h.a);
        assert_eq!(r("v1-again").unwrap(), h.b);
        assert_eq!(r(&annotated.to_hex()).unwrap(), h.b);
        assert_eq!(r(&annotated.to_hex()[..10]).unwrap(), h.b);
        assert_eq!(r("dup").unwrap(), h.a);
        assert_eq!(r("refs/tags/dup").unwrap(), h.c);

        let err = r("tree").unwrap_err();
        assert_eq!(
            hint(err),
            format!(" ({} is a tree, not a commit)", tree.short())
        );
        assert_eq!(hint(r("chain").unwrap_err()), " (tag chain too long)");
        assert!(matches!(
            r("ghost"),
            Err(VcsError::Store(StoreError::NotFound { .. }))
        ));
        // Ids of other kinds are named in the error.
        let file = h.repo.resolve("HEAD:top.txt").unwrap();
        let Resolved::Entry { entry, .. } = file else {
            panic!("expected an entry")
        };
        let err = r(&entry.id.to_hex()[..12]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "unknown revision '{}' ({} is a file, not a commit)",
                &entry.id.to_hex()[..12],
                entry.id.short()
            )
        );
    }

    #[test]
    fn unborn_branch_and_unknown_names_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), ChunkParams::DEFAULT).unwrap();
        for rev in ["HEAD", "@", "HEAD~1", "main", "refs/heads/main", "main^"] {
            let err = repo.resolve_commit(rev).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("unknown revision '{rev}' (the branch has no commits yet)")
            );
        }
        for rev in ["nope", "abcd", "zzzz", "a/../b", "abc", "refs/tags/main"] {
            let err = repo.resolve_commit(rev).unwrap_err();
            assert_eq!(err.to_string(), format!("unknown revision '{rev}'"));
        }
        assert!(repo.resolve("HEAD:x").is_err());
    }

    #[test]
    fn rev_path_finds_entries() {
        let h = history();
        let entry = |expr: &str| match h.repo.resolve(expr).unwrap() {
            Resolved::Entry {
                commit,
                path,
                entry,
            } => (commit, path, entry),
            Resolved::Commit(_) => panic!("{expr} resolved to a commit"),
        };
        let (commit, path, e) = entry("HEAD:dir/f.txt");
        assert_eq!(
            (commit, path.as_str(), e.name.as_str()),
            (h.m, "dir/f.txt", "f.txt")
        );
        assert_eq!(e.size, 1);
        let (commit, path, e) = entry(":/dir/");
        assert_eq!((commit, path.as_str()), (h.m, "dir"));
        assert_eq!(e.kind, crate::store::object::EntryKind::Dir);
        let (_, path, e) = entry("HEAD^2:");
        assert_eq!(path, "");
        assert_eq!(e.id, h.repo.store().commit(&h.c).unwrap().tree);
        assert!(matches!(h.repo.resolve("HEAD~1").unwrap(), Resolved::Commit(id) if id == h.b));
        for (expr, path) in [("HEAD:nope", "nope"), ("HEAD:top.txt/x", "top.txt/x")] {
            let err = h.repo.resolve(expr).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("path '{path}' did not match any file in {}", h.m.short())
            );
        }
    }

    #[test]
    fn short_ids_that_match_several_commits_or_tags_are_ambiguous() {
        let mut h = history();
        // Tags and trees with deterministic contents, until one 4-digit prefix is
        // shared by two tags and another by exactly one tag and a tree.
        let (ambiguous, unique) = write(&mut h.repo, |w| {
            let mut tags: HashMap<String, Vec<ObjectId>> = HashMap::new();
            let mut trees: HashMap<String, ObjectId> = HashMap::new();
            let (mut ambiguous, mut unique) = (None, None);
            for i in 0..20_000 {
                let t = w
                    .put_tag(&tag_of(h.a, ObjectKind::Commit, &format!("tag {i}")))
                    .unwrap();
                tags.entry(t.to_hex()[..4].to_string()).or_default().push(t);
                let tree = Tree {
                    entries: vec![TreeEntry {
                        name: format!("n{i}"),
                        kind: crate::store::object::EntryKind::File,
                        id: h.a,
                        size: 0,
                        meta: None,
                    }],
                };
                let tr = w.put_tree(&tree).unwrap();
                trees.insert(tr.to_hex()[..4].to_string(), tr);
                let found_ambiguous = tags.values().any(|ids| ids.len() >= 2);
                let found_unique = tags
                    .iter()
                    .any(|(p, ids)| ids.len() == 1 && trees.contains_key(p));
                if found_ambiguous && found_unique {
                    break;
                }
            }
            // Chosen from the final maps: a prefix picked earlier could have gained
            // another tag in a later round.
            for (p, ids) in &tags {
                if ids.len() >= 2 && ambiguous.is_none() {
                    ambiguous = Some((p.clone(), ids.clone()));
                }
                if ids.len() == 1 && trees.contains_key(p) && unique.is_none() {
                    unique = Some((p.clone(), ids[0]));
                }
            }
            (ambiguous.unwrap(), unique.unwrap())
        });
        let (prefix, ids) = ambiguous;
        match h.repo.resolve_commit(&prefix).unwrap_err() {
            VcsError::AmbiguousId {
                prefix: p,
                candidates,
            } => {
                assert_eq!(p, prefix);
                let mut got = candidates.clone();
                got.sort();
                let mut want = ids.clone();
                want.sort();
                assert_eq!(got, want);
                let msg = VcsError::AmbiguousId {
                    prefix: p,
                    candidates,
                }
                .to_string();
                assert!(
                    msg.starts_with(&format!("short id '{prefix}' is ambiguous; candidates:\n")),
                    "{msg}"
                );
                for id in &ids {
                    assert!(msg.contains(&format!("\n  {id}")), "{msg}");
                }
            }
            other => panic!("expected AmbiguousId, got {other:?}"),
        }
        // A tree sharing the prefix does not make a tag ambiguous.
        let (prefix, _tag) = unique;
        assert_eq!(h.repo.resolve_commit(&prefix).unwrap(), h.a);
    }
}
