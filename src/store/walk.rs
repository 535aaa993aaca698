//! Reachability: every record a ref, a reflog entry, the index or a lock row leads to,
//! and the previews of every file so reached (whether or not the file is present).
//!
//! Used by `gc` (what to keep) and `fsck` (what must exist and decode). The walk reads
//! commits, trees, tags, file objects and chunk-list nodes, but never chunk payloads:
//! a chunk's presence, kind and length come from the pack indexes.

use std::collections::{HashMap, HashSet};

use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::object::{
    AssetMeta, ChunkListNode, Commit, EntryKind, FileObject, PreviewObject, Tag, Tree,
};
use super::pack::IndexEntry;
use super::Store;

/// Something wrong found while walking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalkProblem {
    /// The object that is missing or bad.
    pub id: String,
    /// The kind it should have.
    pub expected: &'static str,
    /// Who points at it (a ref name, `index:PATH`, or `KIND ID`).
    pub referrer: String,
    /// What is wrong.
    pub reason: String,
}

/// The result of a walk.
#[derive(Debug, Default)]
pub struct Reachable {
    /// Every stored record reached (missing ones are in `problems` only).
    pub ids: HashSet<ObjectId>,
    /// Missing, mistyped or undecodable records.
    pub problems: Vec<WalkProblem>,
}

/// A starting point of a walk: who names it, the id, the kind they expect.
pub type Root = (String, ObjectId, Option<ObjectKind>);

/// The starting points: every ref, every id in any reflog, every index entry, every
/// current lock record.
pub fn roots(store: &Store) -> Result<Vec<Root>, StoreError> {
    roots_with_reflog(store, &store.db().reflog_ids()?)
}

/// [`roots`] with `reflog_ids` standing for the ids the reflog keeps (gc passes the
/// ids of the entries that survive expiry).
pub fn roots_with_reflog(store: &Store, reflog_ids: &[ObjectId]) -> Result<Vec<Root>, StoreError> {
    let db = store.db();
    let mut out = Vec::new();
    for (name, id) in db.list_refs("")? {
        out.push((name, id, None));
    }
    for id in reflog_ids {
        out.push(("reflog".to_string(), *id, None));
    }
    for e in db.load_index()? {
        let kind = if e.kind == EntryKind::Dir {
            ObjectKind::Tree
        } else {
            ObjectKind::File
        };
        out.push((format!("index:{}", e.path), e.file_id, Some(kind)));
        // Staged metadata not yet in any commit must survive gc too.
        if let Some(m) = e.meta {
            out.push((
                format!("index:{} metadata", e.path),
                m,
                Some(ObjectKind::AssetMeta),
            ));
        }
    }
    // Advisory-lock records (holds and releases) stay until sync can ship them.
    for (path, id) in db.lock_roots()? {
        out.push((format!("lock:{path}"), id, Some(ObjectKind::Lock)));
    }
    // Content that entered through Git: Git's history, not a gadn ref, names it.
    for (sha, id) in db.lfs_roots()? {
        out.push((format!("lfs:sha256:{sha}"), id, Some(ObjectKind::File)));
    }
    Ok(out)
}

/// One reference to follow: the id, what its referrer says about it, and who refers.
struct Link {
    id: ObjectId,
    /// The kind the referrer expects; `None` for refs and reflogs.
    kind: Option<ObjectKind>,
    /// Content bytes below it, as the referrer states (chunks, nodes, files, trees).
    len: Option<u64>,
    /// Level, for chunk-list nodes.
    level: Option<u8>,
    referrer: String,
}

/// Walks everything reachable from [`roots`].
///
/// Every reference is checked against its target: present, of the expected kind, and,
/// for chunks and chunk-list nodes, of the length and level its parent states. An
/// object shared by many referrers is read and decoded once, but each distinct
/// expectation of it is checked, so a wrong length or kind is found whichever
/// referrer the walk happens to reach first.
pub fn reachable(store: &Store) -> Result<Reachable, StoreError> {
    reachable_from(store, roots(store)?)
}

/// [`reachable`] from the given roots.
pub fn reachable_from(store: &Store, roots: Vec<Root>) -> Result<Reachable, StoreError> {
    let mut r = Reachable::default();
    // The stack pops last-first: reverse so refs are visited before reflog entries
    // and the index, and a problem is attributed to the ref when one names it.
    let mut stack: Vec<Link> = roots
        .into_iter()
        .rev()
        .map(|(referrer, id, kind)| Link {
            id,
            kind,
            len: None,
            level: None,
            referrer,
        })
        .collect();
    let mut checked = HashSet::new();
    // Level and length of each decoded object (`None`: not a chunk-list node, or
    // unreadable); an object is expanded once, the first time a link fits its kind.
    let mut shapes: HashMap<ObjectId, Option<(u8, u64)>> = HashMap::new();
    // Files referred to (present or not): their previews are kept, in a second pass.
    let mut files: HashSet<ObjectId> = HashSet::new();
    let mut previews_pushed = false;
    loop {
        let Some(link) = stack.pop() else {
            if previews_pushed {
                break;
            }
            previews_pushed = true;
            for (file, generator, version, preview) in store.db().previews_all()? {
                if files.contains(&file) {
                    stack.push(Link {
                        id: preview,
                        kind: Some(ObjectKind::Preview),
                        len: None,
                        level: None,
                        referrer: format!("preview index {} {generator} v{version}", file.short()),
                    });
                }
            }
            continue;
        };
        if !checked.insert((link.id, link.kind, link.len, link.level)) {
            continue;
        }
        if link.kind == Some(ObjectKind::File) {
            files.insert(link.id);
        }
        let problem = |reason: String| WalkProblem {
            id: link.id.to_hex(),
            expected: link.kind.map(|k| k.name()).unwrap_or("object"),
            referrer: link.referrer.clone(),
            reason,
        };
        let Some(loc) = store.packs().locate(&link.id) else {
            r.problems.push(problem("missing".into()));
            continue;
        };
        r.ids.insert(link.id);
        let kind = loc.entry.kind;
        if let Some(want) = link.kind {
            if want != kind {
                r.problems.push(problem(format!("is a {kind}")));
                continue;
            }
        }
        let shape = match shapes.get(&link.id) {
            Some(&shape) => shape,
            None => {
                let shape = expand(store, &loc.entry, &mut stack).unwrap_or_else(|reason| {
                    r.problems.push(problem(reason));
                    None
                });
                // Chunks are not remembered: their shape is in the index, and there
                // are far more of them than of objects.
                if kind != ObjectKind::Chunk {
                    shapes.insert(link.id, shape);
                }
                shape
            }
        };
        let Some((level, len)) = shape else { continue };
        if let Some(want) = link.level {
            if level != want {
                r.problems.push(problem(format!(
                    "is at level {level}, its parent says {want}"
                )));
            }
        }
        if let Some(want) = link.len {
            if len != want {
                let verb = if kind == ObjectKind::Chunk {
                    "holds"
                } else {
                    "covers"
                };
                r.problems.push(problem(format!(
                    "{verb} {len} bytes, its parent says {want}"
                )));
            }
        }
    }
    Ok(r)
}

/// Pushes the links of the record `e` and returns its level and content length if it
/// is a chunk (level 0, from the index: chunk payloads are never read), a chunk-list
/// node, a file (its size) or a tree (the total its entries state), so the size a
/// parent states can be checked. `Err` says why the object cannot be read or decoded.
fn expand(
    store: &Store,
    e: &IndexEntry,
    stack: &mut Vec<Link>,
) -> Result<Option<(u8, u64)>, String> {
    let read = || store.read(&e.id).map(|(_, data)| data).map_err(msg);
    let me = format!("{} {}", e.kind, e.id.short());
    let link = |id, kind, len, level, referrer: &str| Link {
        id,
        kind,
        len,
        level,
        referrer: referrer.to_string(),
    };
    match e.kind {
        ObjectKind::Chunk => return Ok(Some((0, u64::from(e.raw_len)))),
        ObjectKind::Commit => {
            let c = Commit::decode(&read()?).map_err(msg)?;
            stack.push(link(c.tree, Some(ObjectKind::Tree), None, None, &me));
            for p in c.parents {
                stack.push(link(p, Some(ObjectKind::Commit), None, None, &me));
            }
        }
        ObjectKind::AssetMeta => {
            AssetMeta::decode(&read()?).map_err(msg)?;
        }
        ObjectKind::Lock => {
            crate::store::object::Lock::decode_verified(&read()?).map_err(msg)?;
        }
        // A member list references no other record; its signatures are checked.
        ObjectKind::Members => {
            crate::store::object::Members::decode_verified(&read()?).map_err(msg)?;
        }
        // A preview keeps its items' content alive, not the file it previews.
        ObjectKind::Preview => {
            let p = PreviewObject::decode(&read()?).map_err(msg)?;
            for item in p.items {
                let referrer = format!("{me} item {}", item.media_type);
                let (id, size) = (item.content, Some(item.size));
                stack.push(link(id, Some(ObjectKind::File), size, None, &referrer));
            }
        }
        ObjectKind::Tag => {
            let t = Tag::decode(&read()?).map_err(msg)?;
            stack.push(link(t.target, Some(t.target_kind), None, None, &me));
        }
        ObjectKind::Tree => {
            let tree = Tree::decode(&read()?).map_err(msg)?;
            let mut total: u64 = 0;
            for entry in tree.entries {
                total = total.saturating_add(entry.size);
                let k = if entry.kind == EntryKind::Dir {
                    ObjectKind::Tree
                } else {
                    ObjectKind::File
                };
                let referrer = format!("{me} entry {:?}", entry.name);
                if let Some(m) = entry.meta {
                    let referrer = format!("{referrer} metadata");
                    stack.push(link(m, Some(ObjectKind::AssetMeta), None, None, &referrer));
                }
                stack.push(link(entry.id, Some(k), Some(entry.size), None, &referrer));
            }
            // A directory's size is the total of everything below it.
            return Ok(Some((0, total)));
        }
        ObjectKind::File => {
            let f = FileObject::decode(&read()?).map_err(msg)?;
            stack.push(if f.height == 0 {
                link(f.root, Some(ObjectKind::Chunk), Some(f.size), None, &me)
            } else {
                let (kind, level) = (Some(ObjectKind::ChunkList), Some(f.height));
                link(f.root, kind, Some(f.size), level, &me)
            });
            return Ok(Some((0, f.size)));
        }
        ObjectKind::ChunkList => {
            let n = ChunkListNode::decode(&read()?).map_err(msg)?;
            let (kind, level) = if n.level == 1 {
                (ObjectKind::Chunk, None)
            } else {
                (ObjectKind::ChunkList, Some(n.level - 1))
            };
            for c in &n.entries {
                stack.push(link(c.id, Some(kind), Some(c.len), level, &me));
            }
            return Ok(Some((n.level, n.total_len())));
        }
    }
    Ok(None)
}

fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    //! Deliberately broken stores: every kind of bad reference is named, with the
    //! object, what was expected of it, who refers to it and why it is wrong. The
    //! builders here are shared with the tests of `read.rs`.

    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::db::{Expect, IndexEntry as IndexRow, ReflogInfo};
    use crate::store::object::{ChunkEntry, Person, TreeEntry};
    use crate::store::pack::testutil::random_bytes;

    /// A new store in a temporary directory, with small chunks so a few hundred KiB
    /// make a tree of chunk-list nodes several levels high.
    pub(crate) fn new_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let params = ChunkParams::new(64, 256, 1024).unwrap();
        let store = Store::init(&dir.path().join(".gadn"), params).unwrap();
        (dir, store)
    }

    thread_local! {
        /// Sizes of the files and trees this thread's tests stored, so [`tree`] can
        /// state true entry sizes without a store at hand.
        static SIZES: std::cell::RefCell<HashMap<ObjectId, u64>> = std::cell::RefCell::default();
    }

    /// Stores records as given (well formed or not) in one new pack; returns their ids.
    pub(crate) fn put(store: &mut Store, records: Vec<(ObjectKind, Vec<u8>)>) -> Vec<ObjectId> {
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let ids = records
            .into_iter()
            .map(|(kind, bytes)| {
                let size = match kind {
                    ObjectKind::File => FileObject::decode(&bytes).ok().map(|f| f.size),
                    ObjectKind::Tree => Tree::decode(&bytes)
                        .ok()
                        .map(|t| t.entries.iter().map(|e| e.size).sum()),
                    _ => None,
                };
                let id = w.put_object(kind, bytes).unwrap();
                if let Some(size) = size {
                    SIZES.with(|m| m.borrow_mut().insert(id, size));
                }
                id
            })
            .collect();
        w.finish().unwrap();
        ids
    }

    /// Stores one record; returns its id.
    pub(crate) fn put1(store: &mut Store, kind: ObjectKind, bytes: Vec<u8>) -> ObjectId {
        put(store, vec![(kind, bytes)])[0]
    }

    pub(crate) fn file(size: u64, height: u8, root: ObjectId) -> (ObjectKind, Vec<u8>) {
        let f = FileObject { size, height, root };
        (ObjectKind::File, f.encode().unwrap())
    }

    pub(crate) fn node(level: u8, entries: &[(ObjectId, u64)]) -> (ObjectKind, Vec<u8>) {
        let entries = entries
            .iter()
            .map(|&(id, len)| ChunkEntry { id, len })
            .collect();
        let n = ChunkListNode { level, entries };
        (ObjectKind::ChunkList, n.encode().unwrap())
    }

    pub(crate) fn tree(entries: &[(&str, EntryKind, ObjectId, Option<ObjectId>)]) -> Vec<u8> {
        let entries = entries
            .iter()
            .map(|&(name, kind, id, meta)| TreeEntry {
                name: name.into(),
                kind,
                id,
                size: SIZES.with(|m| m.borrow().get(&id).copied().unwrap_or(0)),
                meta,
            })
            .collect();
        Tree { entries }.encode().unwrap()
    }

    fn person() -> Person {
        Person {
            name: "T".into(),
            email: "t@example.com".into(),
            time: 1_700_000_000,
            tz_offset_min: 0,
        }
    }

    pub(crate) fn commit(tree: ObjectId, parents: Vec<ObjectId>) -> Vec<u8> {
        let c = Commit {
            tree,
            parents,
            author: person(),
            committer: person(),
            message: "m".into(),
            notes: vec![],
            signature: None,
        };
        c.encode().unwrap()
    }

    fn tag(target: ObjectId, target_kind: ObjectKind) -> Vec<u8> {
        let t = Tag {
            target,
            target_kind,
            name: "v".into(),
            tagger: person(),
            message: "m".into(),
            signature: None,
        };
        t.encode().unwrap()
    }

    pub(crate) fn set_ref(store: &Store, name: &str, id: ObjectId) {
        let log = ReflogInfo::now("test", "test");
        store.db().update_ref(name, Expect::Any, id, &log).unwrap();
    }

    fn index_row(path: &str, kind: EntryKind, id: ObjectId) -> IndexRow {
        IndexRow {
            path: path.into(),
            kind,
            file_id: id,
            size: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 0,
            dev: 0,
            meta: None,
        }
    }

    /// An id no record has.
    pub(crate) fn absent(name: &str) -> ObjectId {
        ObjectId::of_chunk(format!("absent {name}").as_bytes())
    }

    fn chunk(bytes: &[u8]) -> (ObjectKind, Vec<u8>) {
        (ObjectKind::Chunk, bytes.to_vec())
    }

    fn short(kind: ObjectKind, id: ObjectId) -> String {
        format!("{kind} {}", id.short())
    }

    /// The problems of a walk as `(id, expected, referrer, reason)`, sorted.
    fn problems(store: &Store) -> Vec<(ObjectId, &'static str, String, String)> {
        let mut out: Vec<_> = reachable(store)
            .unwrap()
            .problems
            .into_iter()
            .map(|p| {
                let id: ObjectId = p.id.parse().unwrap();
                (id, p.expected, p.referrer, p.reason)
            })
            .collect();
        out.sort();
        out
    }

    fn expect(
        mut want: Vec<(ObjectId, &'static str, String, &str)>,
    ) -> Vec<(ObjectId, &'static str, String, String)> {
        want.sort();
        want.into_iter()
            .map(|(id, e, r, reason)| (id, e, r, reason.to_string()))
            .collect()
    }

    #[test]
    fn a_healthy_store_reaches_every_record_without_problems() {
        let (_dir, mut store) = new_store();
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let big = w.ingest(&random_bytes(1, 600 << 10)[..]).unwrap();
        let small = w.ingest(&b"small"[..]).unwrap();
        let empty = w.ingest(&b""[..]).unwrap();
        w.finish().unwrap();
        drop(lock);
        assert!(big.file.height >= 2, "{:?}", big.file);
        assert_eq!((small.file.height, empty.file.height), (0, 0));
        for f in [&big, &small, &empty] {
            SIZES.with(|m| m.borrow_mut().insert(f.id, f.file.size));
        }
        let mut m = crate::store::object::AssetMeta::default();
        m.set("author", "Ana").unwrap();
        let meta = put1(&mut store, ObjectKind::AssetMeta, m.encode().unwrap());
        let sub = put1(
            &mut store,
            ObjectKind::Tree,
            tree(&[("e", EntryKind::Symlink, empty.id, None)]),
        );
        let root = put1(
            &mut store,
            ObjectKind::Tree,
            tree(&[
                ("big", EntryKind::File, big.id, Some(meta)),
                ("dir", EntryKind::Dir, sub, None),
                ("small", EntryKind::Executable, small.id, None),
            ]),
        );
        let c1 = put1(&mut store, ObjectKind::Commit, commit(sub, vec![]));
        let c2 = put1(&mut store, ObjectKind::Commit, commit(root, vec![c1]));
        let t = put1(&mut store, ObjectKind::Tag, tag(c2, ObjectKind::Commit));
        set_ref(&store, "refs/heads/main", c2);
        set_ref(&store, "refs/tags/v1", t);
        let rows = [
            index_row("big", EntryKind::File, big.id),
            index_row("dir", EntryKind::Dir, sub),
        ];
        store.db().write_index(&rows).unwrap();

        let r = reachable(&store).unwrap();
        assert_eq!(r.problems, vec![]);
        let all: HashSet<ObjectId> = store.packs().entries().map(|(_, e)| e.id).collect();
        assert_eq!(r.ids, all);
        let report = store.fsck(&mut |_| {}).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.reachable, all.len());
        assert_eq!(report.records, all.len() as u64);
    }

    #[test]
    fn every_kind_of_broken_reference_is_named() {
        let (_dir, mut store) = new_store();
        let ids = put(
            &mut store,
            vec![
                chunk(b"12345"),      // 0
                chunk(b"67890"),      // 1
                chunk(b"abcdefghij"), // 2
            ],
        );
        let (five, other5, ten) = (ids[0], ids[1], ids[2]);
        let n1 = put(&mut store, vec![node(1, &[(five, 5), (other5, 5)])])[0];
        let ids = put(
            &mut store,
            vec![
                file(5, 0, five),                            // 0: healthy
                file(6, 0, five),                            // 1: chunk shorter than stated
                file(10, 2, n1),                             // 2: level-1 root, height 2
                file(11, 1, n1),                             // 3: root covers 10, size 11
                (ObjectKind::File, b"\x80garbage".to_vec()), // 4: undecodable
                node(2, &[(ten, 10)]),                       // 5: level 2, child a chunk
                node(4, &[(n1, 10)]),                        // 6: level 4, child level 1
                file(10, 2, ten),                            // 7: root is a chunk
                file(10, 1, absent("node")),                 // 8: root missing
            ],
        );
        let (ok, short5, low_root, long, garbage) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
        let (chunk_child, skip_level, chunk_root, no_root) = (ids[5], ids[6], ids[7], ids[8]);
        let ids = put(
            &mut store,
            vec![file(10, 2, chunk_child), file(10, 4, skip_level)],
        );
        let (f_chunk_child, f_skip_level) = (ids[0], ids[1]);
        let other_tree = put1(&mut store, ObjectKind::Tree, tree(&[]));
        let missing_meta = absent("meta");
        let missing_parent = absent("parent");
        let t = put1(
            &mut store,
            ObjectKind::Tree,
            tree(&[
                ("a", EntryKind::File, other_tree, None),
                ("b", EntryKind::Dir, ok, None),
                ("c", EntryKind::File, short5, None),
                ("d", EntryKind::File, low_root, None),
                ("e", EntryKind::File, long, None),
                ("f", EntryKind::File, ok, Some(missing_meta)),
                ("g", EntryKind::File, garbage, None),
                ("h", EntryKind::File, f_chunk_child, None),
                ("i", EntryKind::Executable, f_skip_level, None),
                ("j", EntryKind::Symlink, chunk_root, None),
                ("k", EntryKind::File, no_root, None),
            ]),
        );
        let c = put1(
            &mut store,
            ObjectKind::Commit,
            commit(t, vec![missing_parent]),
        );
        let bad_commit = put1(&mut store, ObjectKind::Commit, b"\x88\x01".to_vec());
        let missing_target = absent("target");
        let tag_missing = put1(
            &mut store,
            ObjectKind::Tag,
            tag(missing_target, ObjectKind::Commit),
        );
        let tag_mistyped = put1(&mut store, ObjectKind::Tag, tag(c, ObjectKind::Tree));
        set_ref(&store, "refs/heads/main", c);
        set_ref(&store, "refs/heads/bad", bad_commit);
        set_ref(&store, "refs/tags/v1", tag_missing);
        set_ref(&store, "refs/tags/v2", tag_mistyped);
        let missing_dir = absent("dir");
        let rows = [
            index_row("dir", EntryKind::Dir, missing_dir),
            index_row("x.bin", EntryKind::File, five),
        ];
        store.db().write_index(&rows).unwrap();

        let entry = |name: &str| format!("{} entry {name:?}", short(ObjectKind::Tree, t));
        let got = problems(&store);
        let malformed = |id: ObjectId| {
            got.iter()
                .find(|p| p.0 == id)
                .map(|p| p.3.clone())
                .unwrap_or_default()
        };
        let bad_file_reason = malformed(garbage);
        assert!(
            bad_file_reason.contains("malformed file object"),
            "{bad_file_reason}"
        );
        let bad_commit_reason = malformed(bad_commit);
        assert!(
            bad_commit_reason.contains("commit object"),
            "{bad_commit_reason}"
        );
        let want = expect(vec![
            (
                missing_parent,
                "commit",
                short(ObjectKind::Commit, c),
                "missing",
            ),
            (other_tree, "file", entry("a"), "is a tree"),
            (ok, "tree", entry("b"), "is a file"),
            (
                five,
                "chunk",
                short(ObjectKind::File, short5),
                "holds 5 bytes, its parent says 6",
            ),
            (
                n1,
                "chunklist",
                short(ObjectKind::File, low_root),
                "is at level 1, its parent says 2",
            ),
            (
                n1,
                "chunklist",
                short(ObjectKind::File, long),
                "covers 10 bytes, its parent says 11",
            ),
            (
                missing_meta,
                "assetmeta",
                format!("{} metadata", entry("f")),
                "missing",
            ),
            (garbage, "file", entry("g"), &bad_file_reason),
            (
                ten,
                "chunklist",
                short(ObjectKind::ChunkList, chunk_child),
                "is a chunk",
            ),
            (
                n1,
                "chunklist",
                short(ObjectKind::ChunkList, skip_level),
                "is at level 1, its parent says 3",
            ),
            (
                ten,
                "chunklist",
                short(ObjectKind::File, chunk_root),
                "is a chunk",
            ),
            (
                absent("node"),
                "chunklist",
                short(ObjectKind::File, no_root),
                "missing",
            ),
            (
                bad_commit,
                "object",
                "refs/heads/bad".into(),
                &bad_commit_reason,
            ),
            (
                missing_target,
                "commit",
                short(ObjectKind::Tag, tag_missing),
                "missing",
            ),
            (
                c,
                "tree",
                short(ObjectKind::Tag, tag_mistyped),
                "is a commit",
            ),
            (missing_dir, "tree", "index:dir".into(), "missing"),
            (five, "file", "index:x.bin".into(), "is a chunk"),
        ]);
        assert_eq!(got, want);
        let r = reachable(&store).unwrap();
        for id in [
            missing_parent,
            missing_meta,
            missing_target,
            missing_dir,
            absent("node"),
        ] {
            assert!(
                !r.ids.contains(&id),
                "missing ids are reported, not counted as reached"
            );
        }

        // fsck reports the same links, and nothing damaged in the packs.
        let report = store.fsck(&mut |_| {}).unwrap();
        assert!(!report.is_ok());
        assert!(report.damaged.is_empty(), "{:?}", report.damaged);
        assert_eq!(report.broken_links.len(), want.len());
    }

    /// A shared object is checked against every referrer, whichever comes first.
    #[test]
    fn shared_objects_are_checked_against_every_referrer() {
        for swap in [false, true] {
            let (_dir, mut store) = new_store();
            let ids = put(&mut store, vec![chunk(b"12345"), chunk(b"67890")]);
            let (a, b) = (ids[0], ids[1]);
            let n = put(&mut store, vec![node(1, &[(a, 5), (b, 5)])])[0];
            let ids = put(
                &mut store,
                vec![
                    file(5, 0, a),  // right
                    file(7, 0, a),  // wrong length for a shared chunk
                    file(10, 1, n), // right
                    file(12, 1, n), // wrong length for a shared node
                    file(10, 2, n), // wrong level for a shared node
                ],
            );
            let names = if swap {
                ["b", "a", "d", "c", "e"]
            } else {
                ["a", "b", "c", "d", "e"]
            };
            let mut entries: Vec<_> = names
                .iter()
                .zip(&ids)
                .map(|(&name, &id)| (name, EntryKind::File, id, None))
                .collect();
            entries.sort_by_key(|e| e.0);
            let t = put1(&mut store, ObjectKind::Tree, tree(&entries));
            // The same commit as a commit (HEAD) and, wrongly, as a tree (a tag).
            let c = put1(&mut store, ObjectKind::Commit, commit(t, vec![]));
            let tg = put1(&mut store, ObjectKind::Tag, tag(c, ObjectKind::Tree));
            set_ref(&store, "refs/heads/main", c);
            set_ref(&store, "refs/tags/v1", tg);
            let want = expect(vec![
                (
                    a,
                    "chunk",
                    short(ObjectKind::File, ids[1]),
                    "holds 5 bytes, its parent says 7",
                ),
                (
                    n,
                    "chunklist",
                    short(ObjectKind::File, ids[3]),
                    "covers 10 bytes, its parent says 12",
                ),
                (
                    n,
                    "chunklist",
                    short(ObjectKind::File, ids[4]),
                    "is at level 1, its parent says 2",
                ),
                (c, "tree", short(ObjectKind::Tag, tg), "is a commit"),
            ]);
            assert_eq!(problems(&store), want, "swap {swap}");
        }
    }

    /// A link of the wrong kind does not stop a right one from expanding the object.
    #[test]
    fn a_mistyped_link_first_does_not_hide_what_is_below() {
        let (_dir, mut store) = new_store();
        let sub = put1(
            &mut store,
            ObjectKind::Tree,
            tree(&[("x", EntryKind::File, absent("x"), None)]),
        );
        // "a" (popped last) names the tree rightly, "b" (popped first) as a file.
        let t = put1(
            &mut store,
            ObjectKind::Tree,
            tree(&[
                ("a", EntryKind::Dir, sub, None),
                ("b", EntryKind::File, sub, None),
            ]),
        );
        let c = put1(&mut store, ObjectKind::Commit, commit(t, vec![]));
        set_ref(&store, "refs/heads/main", c);
        let entry =
            |name: &str, t: ObjectId| format!("{} entry {name:?}", short(ObjectKind::Tree, t));
        let want = expect(vec![
            (sub, "file", entry("b", t), "is a tree"),
            (absent("x"), "file", entry("x", sub), "missing"),
        ]);
        assert_eq!(problems(&store), want);
    }

    #[test]
    fn a_damaged_record_is_a_broken_link_and_damage() {
        let (_dir, mut store) = new_store();
        let t = put1(&mut store, ObjectKind::Tree, tree(&[]));
        let c = put1(&mut store, ObjectKind::Commit, commit(t, vec![]));
        set_ref(&store, "refs/heads/main", c);
        let loc = store.packs().locate(&t).unwrap();
        let path = store.packs().pack_path(loc.pack).to_path_buf();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = (loc.entry.end() - 1) as usize;
        bytes[last] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();

        let got = problems(&store);
        assert_eq!(got.len(), 1, "{got:?}");
        let (id, expected, referrer, reason) = &got[0];
        assert_eq!((*id, *expected), (t, "tree"));
        assert_eq!(referrer, &short(ObjectKind::Commit, c));
        assert!(reason.contains("hashes to"), "{reason}");
        let report = store.fsck(&mut |_| {}).unwrap();
        assert_eq!(report.damaged.len(), 1);
        assert_eq!(report.damaged[0].id, Some(t.to_hex()));
        assert_eq!(report.damaged[0].kind, Some("tree"));
        assert_eq!(report.damaged[0].offset, loc.entry.offset);
        assert_eq!(report.broken_links.len(), 1);
    }

    #[test]
    fn fsck_reports_damaged_indexes_unsealed_packs_and_broken_links() {
        let (dir, mut store) = new_store();
        let t = put1(&mut store, ObjectKind::Tree, tree(&[]));
        let c = put1(&mut store, ObjectKind::Commit, commit(t, vec![]));
        set_ref(&store, "refs/heads/main", c);
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        w.put_object(ObjectKind::Chunk, b"never sealed".to_vec())
            .unwrap();
        drop(w); // a writer that dies before sealing
        drop(lock);
        let loc = store.packs().locate(&c).unwrap();
        let name = store.packs().pack_name(loc.pack).to_string();
        let idx = store.packs().dir().join(format!("{name}.idx"));
        let mut bytes = std::fs::read(&idx).unwrap();
        bytes[30] ^= 1;
        std::fs::write(&idx, bytes).unwrap();

        let store = Store::open(&dir.path().join(".gadn")).unwrap();
        let mut progress = 0;
        let report = store.fsck(&mut |n| progress += n).unwrap();
        assert!(!report.is_ok());
        assert_eq!(
            report.packs, 1,
            "the tree's pack; the commit's index is damaged"
        );
        assert_eq!(report.records, 1);
        assert!(progress > 0);
        assert_eq!(report.damaged.len(), 1, "{:?}", report.damaged);
        let d = &report.damaged[0];
        assert_eq!(
            (d.pack.as_str(), d.offset, d.id.as_deref()),
            (&*format!("{name}.idx"), 0, None)
        );
        assert!(d.reason.contains("checksum"), "{}", d.reason);
        assert_eq!(report.unsealed.len(), 1);
        assert!(
            report.unsealed[0].ends_with(".pack"),
            "{:?}",
            report.unsealed
        );
        let want = vec![WalkProblem {
            id: c.to_hex(),
            expected: "object",
            referrer: "refs/heads/main".into(),
            reason: "missing".into(),
        }];
        assert_eq!(report.broken_links, want);
        assert_eq!(report.reachable, 0);
    }

    #[test]
    fn sizes_stated_by_trees_must_match() {
        let (_dir, mut store) = new_store();
        let content = put(&mut store, vec![chunk(b"12345")])[0];
        let f = put1(&mut store, ObjectKind::File, file(5, 0, content).1);
        let lying_entry = Tree {
            entries: vec![TreeEntry {
                name: "f".into(),
                kind: EntryKind::File,
                id: f,
                size: 9,
                meta: None,
            }],
        };
        let inner = put1(&mut store, ObjectKind::Tree, lying_entry.encode().unwrap());
        let lying_dir = Tree {
            entries: vec![TreeEntry {
                name: "d".into(),
                kind: EntryKind::Dir,
                id: inner,
                size: 7,
                meta: None,
            }],
        };
        let root = put1(&mut store, ObjectKind::Tree, lying_dir.encode().unwrap());
        let c = put1(&mut store, ObjectKind::Commit, commit(root, vec![]));
        set_ref(&store, "refs/heads/main", c);
        let mut reasons: Vec<String> = reachable(&store)
            .unwrap()
            .problems
            .into_iter()
            .map(|p| p.reason)
            .collect();
        reasons.sort();
        assert_eq!(
            reasons,
            [
                "covers 5 bytes, its parent says 9",
                "covers 9 bytes, its parent says 7"
            ]
        );
    }

    #[test]
    fn lock_rows_are_roots_checked_for_their_signature() {
        use crate::identity::MachineKey;
        use crate::store::object::Lock;
        let (_dir, mut store) = new_store();
        let lock_of = |path: &str, name: &str| {
            let mut who = person();
            who.name = name.into();
            let mut l = Lock::hold(
                path.into(),
                &who,
                "main".into(),
                absent("r"),
                absent("f"),
                1,
            );
            l.sign(&MachineKey::from_seed([6; 32])).unwrap();
            l
        };
        let held = lock_of("a.psd", "T");
        let kept = put1(&mut store, ObjectKind::Lock, held.encode().unwrap());
        let stray = put1(
            &mut store,
            ObjectKind::Lock,
            lock_of("b.psd", "T").encode().unwrap(),
        );
        store.db().lock_put(&kept, &held).unwrap();
        assert_eq!(
            roots(&store).unwrap(),
            vec![("lock:a.psd".to_string(), kept, Some(ObjectKind::Lock))]
        );
        let r = reachable(&store).unwrap();
        assert_eq!(r.problems, vec![]);
        assert_eq!(r.ids, HashSet::from([kept]));
        // gc keeps the current record and drops the unreferenced one.
        let (lock, _) = store.lock().unwrap();
        let report = store
            .gc(&lock, &crate::store::GcOptions::now())
            .unwrap()
            .unwrap();
        drop(lock);
        assert_eq!((report.kept, report.removed), (1, 1));
        assert!(store.packs().locate(&kept).is_some());
        assert!(store.packs().locate(&stray).is_none());
        assert!(store.fsck(&mut |_| {}).unwrap().is_ok());
        // A stored record whose signature fails is a problem named by its row.
        let mut forged = held.clone();
        forged.owner_name = "Mallory".into();
        let fid = put1(&mut store, ObjectKind::Lock, forged.encode().unwrap());
        let db = store.db();
        db.lock_delete("a.psd").unwrap();
        let moved = lock_of("c.psd", "T");
        let mid = moved.id().unwrap();
        db.lock_put(&mid, &moved).unwrap();
        let got = problems(&store);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), (mid, "lock"));
        assert_eq!(got[0].2, "lock:c.psd");
        assert_eq!(got[0].3, "missing");
        let mut stack = Vec::new();
        let entry = store.packs().locate(&fid).unwrap().entry;
        let err = expand(&store, &entry, &mut stack).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
    }
}
