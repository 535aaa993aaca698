//! Merge bases on the commit DAG.
//!
//! Every common ancestor is found, then the best ones (those that are not an ancestor
//! of another common ancestor). [`merge_base`] picks one deterministically (the
//! newest by committer time, ties broken by the smaller id), which decides
//! "up to date" and fast-forwards. When a criss-cross history leaves several best
//! bases, the tree merge runs against a *virtual base* ([`base_tree`]): the bases'
//! trees merged with each other, where every path they disagree on is left out — so
//! such a path conflicts whenever the two sides differ, and is never decided by
//! picking one base over the other.

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::tree::merge_trees;
use crate::store::{ObjectId, Store};
use crate::vcs::treeops::{flatten, FlatEntry};
use crate::vcs::VcsError;

/// All ancestors of `id`, itself included.
fn ancestors(store: &Store, id: ObjectId) -> Result<HashSet<ObjectId>, VcsError> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([id]);
    while let Some(c) = queue.pop_front() {
        if seen.insert(c) {
            queue.extend(store.commit(&c)?.parents);
        }
    }
    Ok(seen)
}

/// The best common ancestors of `a` and `b`: common ancestors that are not an
/// ancestor of another common ancestor. Sorted by id.
pub fn merge_bases(store: &Store, a: ObjectId, b: ObjectId) -> Result<Vec<ObjectId>, VcsError> {
    let of_a = ancestors(store, a)?;
    let of_b = ancestors(store, b)?;
    let common: BTreeSet<ObjectId> = of_a.intersection(&of_b).copied().collect();
    // Ancestors of a common ancestor's parents are common and dominated; one walk
    // from all those parents at once finds them.
    let mut dominated = HashSet::new();
    let mut queue = VecDeque::new();
    for c in &common {
        queue.extend(store.commit(c)?.parents);
    }
    while let Some(c) = queue.pop_front() {
        if dominated.insert(c) {
            queue.extend(store.commit(&c)?.parents);
        }
    }
    Ok(common
        .into_iter()
        .filter(|c| !dominated.contains(c))
        .collect())
}

/// One merge base, chosen deterministically among the best ones: the newest by
/// committer time, then the smallest id. `None` for unrelated histories.
pub fn merge_base(store: &Store, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, VcsError> {
    pick_base(store, &merge_bases(store, a, b)?)
}

/// [`merge_base`]'s choice among already computed best `bases`.
pub(crate) fn pick_base(store: &Store, bases: &[ObjectId]) -> Result<Option<ObjectId>, VcsError> {
    let mut best: Option<(i64, ObjectId)> = None;
    for &c in bases {
        let t = store.commit(&c)?.committer.time;
        if best.is_none_or(|(bt, bid)| t > bt || (t == bt && c < bid)) {
            best = Some((t, c));
        }
    }
    Ok(best.map(|(_, c)| c))
}

/// The flat tree a merge of `a` and `b` runs against: the one best base's tree;
/// for several best bases, their virtual merge (see the module docs): each further
/// base is merged into the first against the two's own merge base, and a path that
/// conflicted there, or whose merged content or metadata exists only in that virtual
/// merge (a line merge), is dropped. Empty for unrelated histories.
pub fn base_tree(store: &Store, a: ObjectId, b: ObjectId) -> Result<Vec<FlatEntry>, VcsError> {
    base_tree_of(store, merge_bases(store, a, b)?)
}

/// [`base_tree`] for already computed best `bases`.
pub(crate) fn base_tree_of(
    store: &Store,
    mut bases: Vec<ObjectId>,
) -> Result<Vec<FlatEntry>, VcsError> {
    // Newest first, as `merge_base` would pick, so the result does not depend on ids
    // alone and is the same for both merge directions.
    let mut keyed = Vec::with_capacity(bases.len());
    for c in bases.drain(..) {
        keyed.push((std::cmp::Reverse(store.commit(&c)?.committer.time), c));
    }
    keyed.sort();
    let mut iter = keyed.into_iter().map(|(_, c)| c);
    let Some(first) = iter.next() else {
        return Ok(Vec::new());
    };
    let flat = |c: &ObjectId| -> Result<Vec<FlatEntry>, VcsError> {
        flatten(store, &store.commit(c)?.tree)
    };
    let mut acc = flat(&first)?;
    for other in iter {
        let inner = match merge_base(store, first, other)? {
            Some(c) => flat(&c)?,
            None => Vec::new(),
        };
        let merged = merge_trees(store, &inner, &acc, &flat(&other)?, "virtual base")?;
        let created: HashSet<ObjectId> = merged
            .new_files
            .iter()
            .map(|(id, _)| *id)
            .chain(merged.new_metas.iter().filter_map(|m| m.id().ok()))
            .collect();
        let conflicted: HashSet<&str> = merged.conflicts.iter().map(|c| c.path.as_str()).collect();
        acc = merged
            .entries
            .iter()
            .filter(|e| {
                !conflicted.contains(e.path.as_str())
                    && !created.contains(&e.id)
                    && !e.meta.is_some_and(|m| created.contains(&m))
            })
            .cloned()
            .collect();
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::object::{Commit, Person};
    use crate::vcs::testutil::repo;
    use crate::vcs::treeops::build;
    use crate::vcs::Repo;

    /// A commit with an empty tree, these parents and this committer time.
    fn mk(repo: &mut Repo, parents: &[ObjectId], time: i64) -> ObjectId {
        let (lock, _) = repo.store_mut().lock().unwrap();
        let mut w = repo.store_mut().writer(&lock);
        let tree = build(&mut w, &[]).unwrap();
        let who = Person {
            name: "T".into(),
            email: "t@x".into(),
            time,
            tz_offset_min: 0,
        };
        let id = w
            .put_commit(&Commit {
                tree,
                parents: parents.to_vec(),
                author: who.clone(),
                committer: who,
                message: format!("c{time}"),
                notes: Vec::new(),
                signature: None,
            })
            .unwrap();
        w.finish().unwrap();
        id
    }

    #[test]
    fn diamond_has_one_base_and_ancestors_merge_to_themselves() {
        let (_d, mut r) = repo();
        let root = mk(&mut r, &[], 1);
        let a = mk(&mut r, &[root], 2);
        let b = mk(&mut r, &[a], 3);
        let c = mk(&mut r, &[a], 4);
        let c2 = mk(&mut r, &[c], 5);
        let s = r.store();
        assert_eq!(merge_bases(s, b, c2).unwrap(), vec![a]);
        assert_eq!(merge_bases(s, c2, b).unwrap(), vec![a]);
        assert_eq!(merge_base(s, b, c2).unwrap(), Some(a));
        // An ancestor is its own base with a descendant.
        assert_eq!(merge_bases(s, root, c2).unwrap(), vec![root]);
        assert_eq!(merge_bases(s, c2, c2).unwrap(), vec![c2]);
        // A merge commit joining both sides is their descendant.
        let m = mk(&mut r, &[b, c2], 6);
        assert_eq!(merge_bases(r.store(), m, b).unwrap(), vec![b]);
        // Unrelated histories have none.
        let other = mk(&mut r, &[], 7);
        assert_eq!(merge_bases(r.store(), other, b).unwrap(), vec![]);
        assert_eq!(merge_base(r.store(), other, b).unwrap(), None);
    }

    #[test]
    fn criss_cross_has_two_bases_and_picks_the_newest() {
        let (_d, mut r) = repo();
        let root = mk(&mut r, &[], 1);
        let x = mk(&mut r, &[root], 2);
        let y = mk(&mut r, &[root], 3);
        // Each side merges the other: two best common ancestors, x and y.
        let p = mk(&mut r, &[x, y], 4);
        let q = mk(&mut r, &[y, x], 5);
        let mut want = vec![x, y];
        want.sort();
        assert_eq!(merge_bases(r.store(), p, q).unwrap(), want);
        assert_eq!(merge_base(r.store(), p, q).unwrap(), Some(y), "newest");
        assert_eq!(merge_base(r.store(), q, p).unwrap(), Some(y), "symmetric");
    }
}
