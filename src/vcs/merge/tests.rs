//! Repository-level merge tests (the tree merge rules are tested in `tree`).

use super::*;
use crate::vcs::testutil::{put, repo};

fn commit_all(r: &mut Repo, msg: &str) -> ObjectId {
    let root = r.root().to_path_buf();
    r.add(&root, std::slice::from_ref(&root), false, &|_, _| {})
        .unwrap();
    r.commit(&crate::vcs::CommitOptions {
        message: msg.into(),
        ..Default::default()
    })
    .unwrap()
}

fn read(r: &Repo, p: &str) -> Option<Vec<u8>> {
    std::fs::read(r.root().join(p)).ok()
}

#[test]
fn merging_a_commit_id_and_committing_after_resolution() {
    let (_d, mut r) = repo();
    put(&r, "a.txt", b"a");
    put(&r, "b.txt", b"b");
    let base = commit_all(&mut r, "base");
    put(&r, "a.txt", b"a2");
    let theirs = commit_all(&mut r, "theirs");
    r.checkout(&base.to_hex(), &CheckoutOptions::default())
        .unwrap();
    put(&r, "b.txt", b"b2");
    let ours = commit_all(&mut r, "ours (detached)");
    let out = r.merge(&theirs.to_hex()).unwrap();
    let MergeOutcome::Merged { commit } = out else {
        panic!("{out:?}")
    };
    let id: ObjectId = commit.parse().unwrap();
    let c = r.store().commit(&id).unwrap();
    assert_eq!(c.parents, vec![ours, theirs]);
    assert_eq!(c.message, format!("Merge commit '{}'", theirs.to_hex()));
    assert_eq!(r.head().unwrap(), (None, Some(id)), "detached HEAD moved");
    assert!(r.status().unwrap().is_clean());

    // A conflict, resolved, then committed: two parents, state cleared.
    put(&r, "a.txt", b"ours again");
    let ours2 = commit_all(&mut r, "ours 2");
    r.checkout(&theirs.to_hex(), &CheckoutOptions::default())
        .unwrap();
    put(&r, "a.txt", b"theirs again");
    let theirs2 = commit_all(&mut r, "theirs 2");
    r.checkout(&ours2.to_hex(), &CheckoutOptions::default())
        .unwrap();
    let out = r.merge(&theirs2.to_hex()).unwrap();
    assert!(matches!(out, MergeOutcome::Conflicts { .. }), "{out:?}");
    assert_eq!(r.status().unwrap().conflicts, vec!["a.txt (text)"]);
    let marked = String::from_utf8(read(&r, "a.txt").unwrap()).unwrap();
    assert!(marked.starts_with("<<<<<<< ours\nours again\n"), "{marked}");
    assert!(matches!(
        r.merge(&theirs2.to_hex()),
        Err(VcsError::MergeInProgress { .. })
    ));
    // --merged refuses while markers remain; nothing changes.
    let err = r.resolve_conflict("a.txt", Resolution::Merged).unwrap_err();
    assert!(
        matches!(&err, VcsError::MarkersLeft { lines, .. } if lines == &[1, 3, 5, 7]),
        "{err:?}"
    );
    assert_eq!(r.merge_conflicts().unwrap().len(), 1);
    assert_eq!(
        r.resolve_conflict("a.txt", Resolution::Ours).unwrap(),
        vec!["a.txt".to_string()]
    );
    assert_eq!(read(&r, "a.txt").unwrap(), b"ours again", "markers gone");
    let m = r
        .commit(&crate::vcs::CommitOptions {
            message: "merged".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.store().commit(&m).unwrap().parents, vec![ours2, theirs2]);
    assert_eq!(r.merge_head().unwrap(), None);
    assert!(r.merge_conflicts().unwrap().is_empty());
    assert!(matches!(r.merge_abort(), Err(VcsError::NoMergeInProgress)));
    assert!(matches!(
        r.resolve_conflict("a.txt", Resolution::Ours),
        Err(VcsError::NoMergeInProgress)
    ));
}

#[test]
fn damaged_merge_state_is_reported() {
    let (_d, r) = repo();
    r.store().db().state_set(MERGE_HEAD_KEY, "zz").unwrap();
    assert!(matches!(
        r.merge_head(),
        Err(VcsError::BadMergeState { .. })
    ));
    r.store()
        .db()
        .state_set(MERGE_CONFLICTS_KEY, "nonsense")
        .unwrap();
    let err = r.merge_conflicts().unwrap_err();
    assert!(err.to_string().contains("merge state is damaged"), "{err}");
}

/// Two binary versions of `f.bin` made on `x` and `y`, then merged crosswise with
/// opposite resolutions (p keeps x's, q keeps y's): p and q disagree, so merging
/// them must conflict. Either single base would decide silently (base x: q's version
/// wins; base y: p's), which is what the virtual base prevents.
#[test]
fn criss_cross_disagreement_is_a_conflict_not_a_silent_pick() {
    let (_d, mut r) = repo();
    let bin = |n: u8| vec![0u8, 0xff, n, 0, 1, 2];
    put(&r, "f.bin", &bin(0));
    put(&r, "other.txt", b"same\n");
    commit_all(&mut r, "root");
    r.create_branch("x", None).unwrap();
    r.create_branch("y", None).unwrap();
    r.switch("x", false, false).unwrap();
    put(&r, "f.bin", &bin(1));
    commit_all(&mut r, "x");
    r.switch("y", false, false).unwrap();
    put(&r, "f.bin", &bin(2));
    commit_all(&mut r, "y");
    for (name, from, into) in [("p", "y", "x"), ("q", "x", "y")] {
        r.create_branch(name, Some(into)).unwrap();
        r.switch(name, false, false).unwrap();
        let out = r.merge(from).unwrap();
        assert!(matches!(out, MergeOutcome::Conflicts { .. }), "{out:?}");
        r.resolve_conflict("f.bin", Resolution::Ours).unwrap();
        commit_all(&mut r, name);
    }
    assert_eq!(read(&r, "f.bin").unwrap(), bin(2), "q kept y's version");
    assert_eq!(
        merge_bases(
            r.store(),
            r.resolve_commit("p").unwrap(),
            r.resolve_commit("q").unwrap()
        )
        .unwrap()
        .len(),
        2
    );
    let out = r.merge("p").unwrap();
    match out {
        MergeOutcome::Conflicts { conflicts } => {
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert_eq!(conflicts[0].path, "f.bin");
        }
        other => panic!("a silent pick: {other:?}"),
    }
    assert_eq!(read(&r, "f.bin").unwrap(), bin(2), "ours kept meanwhile");
    r.merge_abort().unwrap();
    // Paths the bases agree on still merge cleanly through the virtual base.
    put(&r, "other.txt", b"changed on q\n");
    commit_all(&mut r, "q2");
    let base = base::base_tree(
        r.store(),
        r.resolve_commit("p").unwrap(),
        r.resolve_commit("q").unwrap(),
    )
    .unwrap();
    let paths: Vec<&str> = base.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["other.txt"],
        "f.bin, disputed by the bases, is left out"
    );
}
