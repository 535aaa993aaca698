//! Property tests for `Repo::merge` over small random histories: a base commit, then
//! two branches (`a` and `b`) that each edit, delete and add a few files.
//!
//! 1. Merging an ancestor is a no-op: `UpToDate`, and `HEAD`, the index and the
//!    working tree are unchanged.
//! 2. Merging a descendant fast-forwards: `HEAD` (and its branch) becomes the
//!    descendant, and the working tree and index equal its tree.
//! 3. The conflicting paths do not depend on the direction of the merge: `b` into
//!    `a` and `a` into `b` conflict at the same paths, with the same kinds once the
//!    side-sensitive ones are mirrored (modify/delete ↔ delete/modify); the paths
//!    that do not conflict end up with the same content either way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::collection::vec;
use proptest::prelude::*;

use super::merge::{ConflictKind, MergeOutcome};
use super::scan::index_as_flat;
use super::testutil::{put, repo};
use super::treeops::flatten;
use super::{CommitOptions, Repo};
use crate::store::{ObjectId, STORE_DIR};

/// Paths present in (or edited on top of) the base. None is a prefix of another's
/// directory, so no file/directory clashes arise.
const PATHS: &[&str] = &["a.bin", "d/b.bin", "c.png", "d/e/f.bin", "g.txt"];
/// Paths only ever added by a branch.
const NEW_PATHS: &[&str] = &["n.bin", "d/n.png", "x/y/z.bin"];

#[derive(Debug, Clone)]
enum Op {
    /// Overwrite (or create) one of [`PATHS`].
    Edit(usize, Vec<u8>),
    /// Remove one of [`PATHS`] or [`NEW_PATHS`] (nothing when absent).
    Delete(usize),
    /// Create (or overwrite) one of [`NEW_PATHS`].
    Add(usize, Vec<u8>),
}

fn all_paths() -> impl Iterator<Item = &'static str> {
    PATHS.iter().chain(NEW_PATHS).copied()
}

/// Short contents over a tiny alphabet, so both sides often agree by chance.
fn content() -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(b"xyz".to_vec()), 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..PATHS.len(), content()).prop_map(|(p, c)| Op::Edit(p, c)),
        (0..PATHS.len() + NEW_PATHS.len()).prop_map(Op::Delete),
        (0..NEW_PATHS.len(), content()).prop_map(|(p, c)| Op::Add(p, c)),
    ]
}

/// The base files (`None`: absent) and, per branch, its commits' operations.
#[derive(Debug, Clone)]
struct History {
    base: Vec<Option<Vec<u8>>>,
    a: Vec<Vec<Op>>,
    b: Vec<Vec<Op>>,
}

fn history() -> impl Strategy<Value = History> {
    let commits = || vec(vec(op(), 0..4), 1..3);
    (
        vec(proptest::option::weighted(0.8, content()), PATHS.len()),
        commits(),
        commits(),
    )
        .prop_map(|(base, a, b)| History { base, a, b })
}

fn apply_ops(r: &Repo, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Edit(p, c) => put(r, PATHS[*p], c),
            Op::Add(p, c) => put(r, NEW_PATHS[*p], c),
            Op::Delete(p) => {
                let rel = all_paths().nth(*p).unwrap();
                match std::fs::remove_file(r.root().join(rel)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("removing {rel}: {e}"),
                }
            }
        }
    }
}

/// Stages everything and commits, even when nothing changed.
fn commit(r: &mut Repo, msg: &str) -> ObjectId {
    let root = r.root().to_path_buf();
    r.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
        .unwrap();
    r.commit(&CommitOptions {
        message: msg.into(),
        allow_empty: true,
        ..Default::default()
    })
    .unwrap()
}

/// Every file below the working-tree root (the store excluded), with its bytes.
fn work_tree(r: &Repo) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if rel == STORE_DIR {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(r.root(), r.root(), &mut out);
    out
}

/// The staged content by path (stat data left out: `status` may refresh it).
fn index(r: &Repo) -> Vec<(String, ObjectId, u64)> {
    let mut v: Vec<_> = index_as_flat(&r.store().db().load_index().unwrap())
        .into_iter()
        .map(|e| (e.path, e.id, e.size))
        .collect();
    v.sort();
    v
}

/// A commit's files as the index would hold them.
fn tree_of(r: &Repo, c: ObjectId) -> Vec<(String, ObjectId, u64)> {
    let mut v: Vec<_> = flatten(r.store(), &r.store().commit(&c).unwrap().tree)
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.id, e.size))
        .collect();
    v.sort();
    v
}

/// What the test needs to know about a built history.
struct Built {
    base: ObjectId,
    /// Commits on `a`, oldest first (the last is the tip).
    a: Vec<ObjectId>,
    b: Vec<ObjectId>,
    /// The working tree at each tip, read right after committing it.
    a_files: BTreeMap<String, Vec<u8>>,
    b_files: BTreeMap<String, Vec<u8>>,
}

/// Builds the history: `main` at the base, branches `a` and `b` from it. Leaves
/// `HEAD` on `b`.
fn build(r: &mut Repo, h: &History) -> Built {
    for (p, c) in PATHS.iter().zip(&h.base) {
        if let Some(c) = c {
            put(r, p, c);
        }
    }
    let base = commit(r, "base");
    let mut tips = Vec::new();
    for (name, commits) in [("a", &h.a), ("b", &h.b)] {
        r.create_branch(name, Some("main")).unwrap();
        r.switch(name, false, false).unwrap();
        let ids: Vec<ObjectId> = commits
            .iter()
            .enumerate()
            .map(|(i, ops)| {
                apply_ops(r, ops);
                commit(r, &format!("{name}{i}"))
            })
            .collect();
        tips.push((ids, work_tree(r)));
    }
    let (b, b_files) = tips.pop().unwrap();
    let (a, a_files) = tips.pop().unwrap();
    Built {
        base,
        a,
        b,
        a_files,
        b_files,
    }
}

fn mirrored(k: ConflictKind) -> ConflictKind {
    match k {
        ConflictKind::ModifyDelete => ConflictKind::DeleteModify,
        ConflictKind::DeleteModify => ConflictKind::ModifyDelete,
        k => k,
    }
}

/// Working-tree files by path.
type Files = BTreeMap<String, Vec<u8>>;
/// Conflicted paths and how they conflict.
type Conflicts = Vec<(String, ConflictKind)>;

/// Switches to a new branch `name` at `start`, merges `other` into it, and returns
/// the conflicts (sorted, empty on a clean merge) and the working tree after it.
fn merge_into(r: &mut Repo, name: &str, start: &str, other: &str) -> (Conflicts, Files) {
    r.create_branch(name, Some(start)).unwrap();
    r.switch(name, false, false).unwrap();
    let out = r.merge(other).unwrap();
    let mut conflicts: Conflicts = match &out {
        MergeOutcome::Merged { .. } => Vec::new(),
        MergeOutcome::Conflicts { conflicts } => {
            conflicts.iter().map(|c| (c.path.clone(), c.kind)).collect()
        }
        other => panic!("expected a true merge, got {other:?}"),
    };
    conflicts.sort();
    let files = work_tree(r);
    if matches!(out, MergeOutcome::Conflicts { .. }) {
        r.merge_abort().unwrap();
    }
    (conflicts, files)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(24)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn merging_an_ancestor_changes_nothing(h in history(), which in 0usize..4) {
        (|| -> Result<(), TestCaseError> {
            let (_d, mut r) = repo();
            let built = build(&mut r, &h);
            // HEAD is on `b`; every ancestor of its tip, itself included, is up to date.
            let mut ancestors = vec![built.base.to_hex(), "main".to_string(), "b".to_string()];
            ancestors.extend(built.b.iter().map(|c| c.to_hex()));
            let rev = &ancestors[which % ancestors.len()];
            let head = r.head().unwrap();
            let idx = index(&r);
            let files = work_tree(&r);
            prop_assert_eq!(&files, &built.b_files);
            let out = r.merge(rev).unwrap();
            prop_assert_eq!(out, MergeOutcome::UpToDate);
            prop_assert_eq!(r.head().unwrap(), head);
            prop_assert_eq!(index(&r), idx);
            prop_assert_eq!(work_tree(&r), files);
            prop_assert_eq!(r.merge_head().unwrap(), None);
            prop_assert!(r.status().unwrap().is_clean());
            Ok(())
        })()?;
    }

    #[test]
    fn merging_a_descendant_fast_forwards(h in history(), from_base in any::<bool>()) {
        (|| -> Result<(), TestCaseError> {
            let (_d, mut r) = repo();
            let built = build(&mut r, &h);
            // Start at the base or, when `a` has two commits, maybe at its first one.
            let start = if from_base || built.a.len() < 2 {
                built.base
            } else {
                built.a[0]
            };
            let tip = *built.a.last().unwrap();
            r.create_branch("ff", Some(&start.to_hex())).unwrap();
            r.switch("ff", false, false).unwrap();
            let out = r.merge("a").unwrap();
            prop_assert_eq!(out, MergeOutcome::FastForward { commit: tip.to_hex() });
            prop_assert_eq!(
                r.head().unwrap(),
                (Some("refs/heads/ff".to_string()), Some(tip))
            );
            prop_assert_eq!(r.resolve_commit("ff").unwrap(), tip);
            prop_assert_eq!(work_tree(&r), built.a_files.clone());
            prop_assert_eq!(index(&r), tree_of(&r, tip));
            prop_assert_eq!(r.merge_head().unwrap(), None);
            prop_assert!(r.status().unwrap().is_clean());
            Ok(())
        })()?;
    }

    #[test]
    fn conflicts_do_not_depend_on_the_merge_direction(h in history()) {
        (|| -> Result<(), TestCaseError> {
            let (_d, mut r) = repo();
            let built = build(&mut r, &h);
            let (ab, ab_files) = merge_into(&mut r, "a-into", "a", "b");
            let (ba, ba_files) = merge_into(&mut r, "b-into", "b", "a");
            let mut ba_mirrored: Vec<(String, ConflictKind)> =
                ba.into_iter().map(|(p, k)| (p, mirrored(k))).collect();
            ba_mirrored.sort();
            prop_assert_eq!(&ab, &ba_mirrored);
            // Outside the conflicts both directions agree; at a conflict each keeps ours.
            let conflicted: Vec<&str> = ab.iter().map(|(p, _)| p.as_str()).collect();
            let outside = |f: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
                f.iter()
                    .filter(|(p, _)| !conflicted.contains(&p.as_str()))
                    .map(|(p, c)| (p.clone(), c.clone()))
                    .collect()
            };
            prop_assert_eq!(outside(&ab_files), outside(&ba_files));
            for p in &conflicted {
                prop_assert_eq!(ab_files.get(*p), built.a_files.get(*p), "ours kept at {}", p);
                prop_assert_eq!(ba_files.get(*p), built.b_files.get(*p), "ours kept at {}", p);
            }
            if !ab.is_empty() {
                // After the abort, HEAD is back at `b`'s tip with its tree.
                prop_assert_eq!(r.resolve_commit("HEAD").unwrap(), *built.b.last().unwrap());
                prop_assert_eq!(work_tree(&r), built.b_files.clone());
            }
            Ok(())
        })()?;
    }
}

/// Regression: checkout writes `d/b.bin` and `d/e/f.bin` on two threads, both find
/// `d` missing, and the loser's `create_dir` used to fail with `AlreadyExists`.
#[test]
fn parallel_checkout_creates_a_shared_parent_directory() {
    let (_d, mut r) = repo();
    put(&r, "a.bin", b"a");
    commit(&mut r, "base");
    r.create_branch("deep", None).unwrap();
    r.switch("deep", false, false).unwrap();
    for p in ["d/b.bin", "d/c.bin", "d/e/f.bin", "d/e/g.bin"] {
        put(&r, p, p.as_bytes());
    }
    commit(&mut r, "deep");
    for _ in 0..20 {
        r.switch("main", false, false).unwrap();
        r.switch("deep", false, false).unwrap();
    }
}
