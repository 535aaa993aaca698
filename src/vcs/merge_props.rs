//! Property tests for `Repo::merge` over small random histories: a base commit, then
//! two branches (`a` and `b`) that each edit, delete, add and rename files (binary
//! files, small multi-line text files, an asset with its Unity sidecar), edit asset
//! metadata, and may put a file where the other puts a directory.
//!
//! 1. Merging an ancestor is a no-op: `UpToDate`, and `HEAD`, the index and the
//!    working tree are unchanged.
//! 2. Merging a descendant fast-forwards: `HEAD` (and its branch) becomes the
//!    descendant, and the working tree and index equal its tree.
//! 3. The conflicts do not depend on the direction of the merge: `b` into `a` and
//!    `a` into `b` conflict at the same paths with the same kinds, once the
//!    side-sensitive ones are mirrored (modify/delete ↔ delete/modify, rename/delete
//!    ↔ delete/rename, file/dir ↔ dir/file, a rename/rename's two names swapped);
//!    every kind is covered. The paths that do not conflict end up with the same
//!    content either way, and at a conflict the index holds ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::collection::vec;
use proptest::prelude::*;

use super::merge::{ConflictKind, MergeOutcome};
use super::scan::index_as_flat;
use super::testutil::{put, repo};
use super::treeops::flatten;
use super::MetaEdit;
use super::{CommitOptions, Repo};
use crate::store::{ObjectId, STORE_DIR};

/// Paths present in (or edited on top of) the base. `.bin` files are binary (they
/// start with a NUL), the others are text. `c.png.meta` is `c.png`'s sidecar.
const PATHS: &[&str] = &[
    "a.bin",
    "d/b.bin",
    "c.png",
    "c.png.meta",
    "d/e/f.bin",
    "g.txt",
];
/// Paths only ever added by a branch; `q` and `q/r.bin` clash as file and directory.
const NEW_PATHS: &[&str] = &["n.bin", "d/n.png", "x/y/z.bin", "q", "q/r.bin"];
/// Where a rename may move a file.
const RENAME_TO: &[&str] = &["r/moved.bin", "c2.png", "r/g.txt"];
/// Metadata keys edited (`tags` merges as a set).
const META_KEYS: &[&str] = &["author", "notes", "tags"];

#[derive(Debug, Clone)]
enum Op {
    /// Overwrite (or create) one of [`PATHS`].
    Edit(usize, Vec<u8>),
    /// Remove one of [`PATHS`] or [`NEW_PATHS`] (nothing when absent).
    Delete(usize),
    /// Create (or overwrite) one of [`NEW_PATHS`].
    Add(usize, Vec<u8>),
    /// Move one of [`PATHS`] to one of [`RENAME_TO`] (nothing when absent or
    /// taken), its sidecar with it when the flag is set.
    Rename(usize, usize, bool),
    /// Set a metadata key of one of [`PATHS`] (nothing when untracked).
    Meta(usize, usize, bool),
}

fn all_paths() -> impl Iterator<Item = &'static str> {
    PATHS.iter().chain(NEW_PATHS).copied()
}

/// Short contents over a tiny alphabet with line breaks, so both sides often agree
/// by chance and text files have several lines.
fn content() -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(b"xy\n".to_vec()), 0..7)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..PATHS.len(), content()).prop_map(|(p, c)| Op::Edit(p, c)),
        (0..PATHS.len() + NEW_PATHS.len()).prop_map(Op::Delete),
        (0..NEW_PATHS.len(), content()).prop_map(|(p, c)| Op::Add(p, c)),
        (0..PATHS.len(), 0..RENAME_TO.len(), any::<bool>())
            .prop_map(|(p, t, s)| Op::Rename(p, t, s)),
        (0..PATHS.len(), 0..META_KEYS.len(), any::<bool>()).prop_map(|(p, k, v)| Op::Meta(p, k, v)),
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

/// Writes a file unless a directory (or a file where a directory goes) is in the
/// way; binary paths get a leading NUL.
fn write(r: &Repo, rel: &str, c: &[u8]) {
    let p = r.root().join(rel);
    if p.is_dir() || p.ancestors().skip(1).any(|a| a.is_file()) {
        return;
    }
    let mut bytes = c.to_vec();
    if rel.ends_with(".bin") {
        bytes.insert(0, 0);
    }
    put(r, rel, &bytes);
}

fn apply_ops(r: &mut Repo, ops: &[Op]) {
    let root = r.root().to_path_buf();
    for op in ops {
        match op {
            Op::Edit(p, c) => write(r, PATHS[*p], c),
            Op::Add(p, c) => write(r, NEW_PATHS[*p], c),
            Op::Delete(p) => {
                let rel = all_paths().nth(*p).unwrap();
                if root.join(rel).is_file() {
                    std::fs::remove_file(root.join(rel)).unwrap();
                }
            }
            Op::Rename(p, t, with_sidecar) => {
                let (from, to) = (PATHS[*p], RENAME_TO[*t]);
                if !root.join(from).is_file() || root.join(to).exists() {
                    continue;
                }
                std::fs::create_dir_all(root.join(to).parent().unwrap()).unwrap();
                std::fs::rename(root.join(from), root.join(to)).unwrap();
                let (fs, ts) = (format!("{from}.meta"), format!("{to}.meta"));
                if *with_sidecar && root.join(&fs).is_file() && !root.join(&ts).exists() {
                    std::fs::rename(root.join(fs), root.join(ts)).unwrap();
                }
            }
            Op::Meta(p, k, v) => {
                let value = if *v { "a" } else { "b" };
                let edit = MetaEdit::Set(META_KEYS[*k].to_string(), value.to_string());
                // Untracked (or moved away) paths are skipped.
                let _ = r.meta_edit(PATHS[*p], &[edit]);
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
            write(r, p, c);
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

/// Working-tree files by path.
type Files = BTreeMap<String, Vec<u8>>;
/// Conflicts normalised for comparing directions: path, kind, and the other name of
/// a rename/rename; the two names of a rename/rename in sorted order.
type Conflicts = Vec<(String, ConflictKind, Option<String>)>;
/// Entries (content id, metadata id) by path.
type Entries = BTreeMap<String, (ObjectId, Option<ObjectId>)>;

/// What one merge direction produced.
struct Merged {
    conflicts: Conflicts,
    /// The conflicts as reported.
    raw: Vec<super::merge::Conflict>,
    files: Files,
    index: Entries,
}

fn entries_of(list: Vec<super::treeops::FlatEntry>) -> Entries {
    list.into_iter().map(|e| (e.path, (e.id, e.meta))).collect()
}

/// Switches to a new branch `name` at `start`, merges `other` into it, and returns
/// the conflicts (sorted, empty on a clean merge; kinds mirrored when `mirror`) and
/// the working tree and index after it, then aborts.
fn merge_into(r: &mut Repo, name: &str, start: &str, other: &str, mirror: bool) -> Merged {
    r.create_branch(name, Some(start)).unwrap();
    r.switch(name, false, false).unwrap();
    let out = r.merge(other).unwrap();
    let raw = match &out {
        MergeOutcome::Conflicts { conflicts } => conflicts.clone(),
        _ => Vec::new(),
    };
    let mut conflicts: Conflicts = match &out {
        MergeOutcome::Merged { .. } => Vec::new(),
        MergeOutcome::Conflicts { conflicts } => conflicts
            .iter()
            .map(|c| {
                let kind = if mirror { c.kind.mirrored() } else { c.kind };
                match (&c.theirs_path, c.kind) {
                    (Some(t), ConflictKind::RenameRename) => {
                        let (a, b) = if c.path < *t {
                            (&c.path, t)
                        } else {
                            (t, &c.path)
                        };
                        (a.clone(), kind, Some(b.clone()))
                    }
                    _ => (c.path.clone(), kind, None),
                }
            })
            .collect(),
        other => panic!("expected a true merge, got {other:?}"),
    };
    conflicts.sort();
    let files = work_tree(r);
    let index = entries_of(index_as_flat(&r.store().db().load_index().unwrap()));
    if matches!(out, MergeOutcome::Conflicts { .. }) {
        r.merge_abort().unwrap();
    }
    Merged {
        conflicts,
        raw,
        files,
        index,
    }
}

/// Property 3 for one history; returns the conflicts of `b` into `a`.
fn check_symmetric(h: &History) -> Result<Conflicts, TestCaseError> {
    let (_d, mut r) = repo();
    let built = build(&mut r, h);
    let ab = merge_into(&mut r, "a-into", "a", "b", false);
    let ba = merge_into(&mut r, "b-into", "b", "a", true);
    prop_assert_eq!(&ab.conflicts, &ba.conflicts);
    // Outside the conflicts (and below a file/dir clash) both directions agree.
    let mut conflicted: Vec<&str> = Vec::new();
    for (p, _, other) in &ab.conflicts {
        conflicted.push(p);
        conflicted.extend(other.as_deref());
    }
    let outside = |f: &Files| -> Files {
        f.iter()
            .filter(|(p, _)| {
                !conflicted
                    .iter()
                    .any(|c| p.as_str() == *c || p.starts_with(&format!("{c}/")))
            })
            .map(|(p, c)| (p.clone(), c.clone()))
            .collect()
    };
    prop_assert_eq!(outside(&ab.files), outside(&ba.files));
    // At a conflict the index holds ours: ours' content for a content or text
    // conflict, ours' metadata for a metadata conflict, all of ours otherwise (a
    // sidecar partner holds the merged version until resolved).
    let a_tip = entries_of(
        flatten(
            r.store(),
            &r.store().commit(built.a.last().unwrap()).unwrap().tree,
        )
        .unwrap(),
    );
    let b_tip = entries_of(
        flatten(
            r.store(),
            &r.store().commit(built.b.last().unwrap()).unwrap().tree,
        )
        .unwrap(),
    );
    for (m, ours) in [(&ab, &a_tip), (&ba, &b_tip)] {
        for c in &m.raw {
            let p = &c.path;
            let (got, want) = (m.index.get(p), ours.get(p));
            match c.kind {
                ConflictKind::Sidecar => {}
                // Ours' value of every conflicting field; fields that merged
                // cleanly keep their merged value (issue 15, item 8), so the whole
                // object may differ from ours'.
                ConflictKind::Metadata => {
                    let meta = |e: Option<&(ObjectId, Option<ObjectId>)>| {
                        e.and_then(|e| e.1)
                            .map(|id| r.store().asset_meta(&id).unwrap())
                            .unwrap_or_default()
                    };
                    let (got_meta, ours_meta) = (meta(got), meta(want));
                    prop_assert!(!c.fields.is_empty(), "a metadata conflict names its fields");
                    for f in &c.fields {
                        prop_assert_eq!(got_meta.get(f), ours_meta.get(f), "ours' {} at {}", f, p);
                    }
                }
                // Content and metadata merge independently.
                ConflictKind::Content | ConflictKind::Text => {
                    prop_assert_eq!(
                        got.map(|e| e.0),
                        want.map(|e| e.0),
                        "ours' content at {}",
                        p
                    )
                }
                // Ours' renamed file, at ours' name (a sidecar may have followed its
                // asset there from its old name).
                ConflictKind::RenameRename | ConflictKind::RenameDelete => {
                    let id = got.map(|e| e.0);
                    prop_assert!(
                        ours.values().any(|e| Some(e.0) == id),
                        "ours' file at {}",
                        p
                    )
                }
                _ => prop_assert_eq!(got, want, "ours kept at {} ({:?})", p, c.kind),
            }
        }
    }
    if !ba.conflicts.is_empty() {
        // After the abort, HEAD is back at `b`'s tip with its tree.
        prop_assert_eq!(r.resolve_commit("HEAD").unwrap(), *built.b.last().unwrap());
        prop_assert_eq!(work_tree(&r), built.b_files.clone());
    }
    Ok(ab.conflicts)
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
        check_symmetric(&h)?;
    }
}

/// Property 3 on crafted histories, so every conflict kind is covered whatever the
/// random cases hit.
#[test]
fn every_conflict_kind_is_symmetric() {
    use ConflictKind as K;
    let idx = |p: &str| PATHS.iter().position(|x| *x == p).unwrap();
    let new = |p: &str| NEW_PATHS.iter().position(|x| *x == p).unwrap();
    let del = |p: &str| Op::Delete(all_paths().position(|x| x == p).unwrap());
    let to = |p: &str| RENAME_TO.iter().position(|x| *x == p).unwrap();
    let base = || {
        let mut b: Vec<Option<Vec<u8>>> = vec![Some(b"x\ny\n".to_vec()); PATHS.len()];
        b[idx("g.txt")] = Some(b"one\ntwo\nthree\n".to_vec());
        b
    };
    let cases: Vec<(Vec<Op>, Vec<Op>, K)> = vec![
        (
            vec![Op::Edit(idx("a.bin"), b"1".to_vec())],
            vec![Op::Edit(idx("a.bin"), b"2".to_vec())],
            K::Content,
        ),
        (
            vec![Op::Add(new("n.bin"), b"1".to_vec())],
            vec![Op::Add(new("n.bin"), b"2".to_vec())],
            K::AddAdd,
        ),
        (
            vec![Op::Edit(idx("a.bin"), b"1".to_vec())],
            vec![del("a.bin")],
            K::ModifyDelete,
        ),
        (
            vec![del("a.bin")],
            vec![Op::Edit(idx("a.bin"), b"1".to_vec())],
            K::DeleteModify,
        ),
        (
            vec![Op::Edit(idx("g.txt"), b"ONE\ntwo\nthree\n".to_vec())],
            vec![Op::Edit(idx("g.txt"), b"1\ntwo\nthree\n".to_vec())],
            K::Text,
        ),
        (
            vec![Op::Meta(idx("a.bin"), 0, true)],
            vec![Op::Meta(idx("a.bin"), 0, false)],
            K::Metadata,
        ),
        (
            vec![Op::Rename(idx("a.bin"), to("r/moved.bin"), false)],
            vec![Op::Rename(idx("a.bin"), to("c2.png"), false)],
            K::RenameRename,
        ),
        (
            vec![Op::Rename(idx("a.bin"), to("r/moved.bin"), false)],
            vec![del("a.bin")],
            K::RenameDelete,
        ),
        (
            vec![del("a.bin")],
            vec![Op::Rename(idx("a.bin"), to("r/moved.bin"), false)],
            K::DeleteRename,
        ),
        (
            vec![Op::Add(new("q"), b"f".to_vec())],
            vec![Op::Add(new("q/r.bin"), b"d".to_vec())],
            K::FileDir,
        ),
        (
            vec![Op::Add(new("q/r.bin"), b"d".to_vec())],
            vec![Op::Add(new("q"), b"f".to_vec())],
            K::DirFile,
        ),
        (
            vec![Op::Edit(idx("c.png"), b"1".to_vec())],
            vec![
                Op::Edit(idx("c.png"), b"2".to_vec()),
                Op::Edit(idx("c.png.meta"), b"m".to_vec()),
            ],
            K::Sidecar,
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (a, b, kind) in cases {
        let h = History {
            base: base(),
            a: vec![a],
            b: vec![b],
        };
        let conflicts = check_symmetric(&h).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(
            conflicts.iter().any(|(_, k, _)| *k == kind),
            "{kind:?} not produced: {conflicts:?}"
        );
        seen.extend(conflicts.into_iter().map(|(_, k, _)| k));
    }
    assert_eq!(seen.len(), super::merge::ALL_KINDS.len(), "{seen:?}");
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

/// Histories the random search once found asymmetric.
#[test]
fn symmetric_regressions() {
    let mut base = vec![None; PATHS.len()];
    base[0] = Some(b"x".to_vec());
    let h = History {
        base,
        a: vec![vec![Op::Edit(0, b"y".to_vec())]],
        b: vec![vec![Op::Edit(0, Vec::new()), Op::Meta(0, 0, false)]],
    };
    check_symmetric(&h).unwrap();
    // Both sides renamed a different file to the same name.
    let mut base = vec![None; PATHS.len()];
    base[0] = Some(Vec::new());
    base[3] = Some(b"x".to_vec());
    let h = History {
        base,
        a: vec![vec![Op::Rename(0, 0, false)], vec![Op::Meta(3, 0, false)]],
        b: vec![vec![Op::Rename(3, 0, false)]],
    };
    let c = check_symmetric(&h).unwrap();
    assert_eq!(c, vec![("r/moved.bin".into(), ConflictKind::AddAdd, None)]);
    // One side renames a file onto the name the other renamed a second file to,
    // while that second file is renamed differently by each side.
    let mut base = vec![None; PATHS.len()];
    base[0] = Some(Vec::new());
    base[3] = Some(Vec::new());
    let h = History {
        base: base.clone(),
        a: vec![vec![Op::Rename(3, 0, false)]],
        b: vec![vec![Op::Rename(0, 0, false), Op::Rename(3, 1, false)]],
    };
    let c = check_symmetric(&h).unwrap();
    assert_eq!(
        c,
        vec![
            ("c2.png".into(), ConflictKind::DeleteRename, None),
            ("r/moved.bin".into(), ConflictKind::AddAdd, None)
        ]
    );
    // Crossed renames: each side gives each file the other's name.
    let h = History {
        base,
        a: vec![vec![Op::Rename(0, 0, false), Op::Rename(3, 1, false)]],
        b: vec![vec![Op::Rename(0, 1, false), Op::Rename(3, 0, false)]],
    };
    let c = check_symmetric(&h).unwrap();
    assert_eq!(
        c,
        vec![
            ("c2.png".into(), ConflictKind::AddAdd, None),
            ("r/moved.bin".into(), ConflictKind::AddAdd, None)
        ]
    );
}

/// Found by `conflicts_do_not_depend_on_the_merge_direction` (1 run in ~15): two
/// files with the same (empty) content, both moved, one onto the name the other
/// side moved the other to, with metadata set on one of them.
#[test]
fn identical_files_renamed_onto_one_name_keep_ours_at_the_add_add() {
    let mut base: Vec<Option<Vec<u8>>> = vec![None; PATHS.len()];
    base[3] = Some(Vec::new());
    base[5] = Some(Vec::new());
    let h = History {
        base,
        a: vec![vec![Op::Meta(3, 0, false), Op::Rename(5, 2, false)]],
        b: vec![vec![Op::Rename(5, 1, false)], vec![Op::Rename(3, 2, false)]],
    };
    check_symmetric(&h).unwrap();
}

/// Found the same way (1 run in ~900): a field set differently on both sides
/// conflicts, while another field set on one side only merges in, so the index's
/// metadata is ours' for the conflicting field and not ours' whole object.
#[test]
fn a_metadata_conflict_keeps_ours_only_for_the_conflicting_fields() {
    let mut base: Vec<Option<Vec<u8>>> = vec![None; PATHS.len()];
    base[2] = Some(Vec::new());
    let h = History {
        base,
        a: vec![vec![Op::Meta(2, 0, true)]],
        b: vec![vec![Op::Meta(2, 1, false), Op::Meta(2, 0, false)]],
    };
    check_symmetric(&h).unwrap();
}
