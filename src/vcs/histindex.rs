//! The history index: incremental maintenance and the queries `log` filters,
//! `history` and `find` answer from it (tables in `store-format.md` § *History
//! index*).
//!
//! * **Catch-up.** Before a query, every ref tip (and the query's start) is walked
//!   back to the first already-indexed commits; each new commit's tree is diffed
//!   against each parent's, skipping subtrees with equal ids, so indexing one new
//!   commit costs one tree diff. All new commits are inserted in one transaction,
//!   parents first.
//! * **Trust.** The index is derived data. When its row counts disagree with what
//!   was written, a stored value does not decode, a parent key is missing, or a
//!   query meets a contradiction (a listed commit missing from the store, a path
//!   with no recorded origin), the index is dropped and rebuilt, and the query runs
//!   once more. Queries walk ancestry from their start commit only, so commits
//!   dropped by `gc` (unreachable) are never listed.
//! * **Semantics** match the tree-walking implementations (kept as test oracles):
//!   `log --path` lists every ancestor that differs from its first parent at the
//!   path, newest committer time first; `history` walks first parents, switching at
//!   a merge to the first parent whose entry equals the merge's, and follows
//!   renames as `treeops::diff` pairs them.

use std::collections::{BinaryHeap, HashMap, HashSet};

use super::history::HistoryEntry;
use super::log::{LogEntry, LogFilter};
use super::scan::ChangeKind;
use super::{Repo, VcsError};
use crate::store::db::{DbError, HistChange, HistCommit, HistFilter};
use crate::store::object::{Commit, EntryKind, TreeEntry};
use crate::store::{ObjectId, ObjectKind, Store};

/// How deep a chain of tags pointing at tags is followed.
const MAX_TAG_DEPTH: usize = 16;

/// One changed path before rename pairing.
struct Raw {
    path: String,
    kind: u8,
    old: Option<ObjectId>,
    new: Option<(ObjectId, u64, Option<ObjectId>)>,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Everything below `e` (at `path`) as removed (`added == false`) or added.
fn one_side(
    store: &Store,
    e: &TreeEntry,
    path: String,
    added: bool,
    out: &mut Vec<Raw>,
) -> Result<(), VcsError> {
    if e.kind == EntryKind::Dir {
        let (old, new) = if added {
            (None, Some(e.id))
        } else {
            (Some(e.id), None)
        };
        return diff_dir(store, old, new, &path, out);
    }
    out.push(if added {
        Raw {
            path,
            kind: b'A',
            old: None,
            new: Some((e.id, e.size, e.meta)),
        }
    } else {
        Raw {
            path,
            kind: b'D',
            old: Some(e.id),
            new: None,
        }
    });
    Ok(())
}

/// Appends the file-level differences between two directory trees (`None`: empty),
/// without descending into subtrees whose ids are equal.
fn diff_dir(
    store: &Store,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    prefix: &str,
    out: &mut Vec<Raw>,
) -> Result<(), VcsError> {
    let entries = |id: Option<ObjectId>| -> Result<Vec<TreeEntry>, VcsError> {
        Ok(match id {
            Some(id) => store.tree(&id)?.entries,
            None => Vec::new(),
        })
    };
    let (o, n) = (entries(old)?, entries(new)?);
    let (mut i, mut j) = (0, 0);
    while i < o.len() || j < n.len() {
        let ord = match (o.get(i), n.get(j)) {
            (Some(a), Some(b)) => a.name.as_bytes().cmp(b.name.as_bytes()),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                one_side(store, &o[i], join(prefix, &o[i].name), false, out)?;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                one_side(store, &n[j], join(prefix, &n[j].name), true, out)?;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&o[i], &n[j]);
                let path = join(prefix, &b.name);
                match (a.kind == EntryKind::Dir, b.kind == EntryKind::Dir) {
                    (true, true) if a.id == b.id => {}
                    (true, true) => diff_dir(store, Some(a.id), Some(b.id), &path, out)?,
                    (false, false) => {
                        let kind = if a.kind != b.kind {
                            Some(b'T')
                        } else if a.id != b.id || a.meta != b.meta {
                            Some(b'M')
                        } else {
                            None
                        };
                        if let Some(kind) = kind {
                            out.push(Raw {
                                path,
                                kind,
                                old: Some(a.id),
                                new: Some((b.id, b.size, b.meta)),
                            });
                        }
                    }
                    _ => {
                        one_side(store, a, path.clone(), false, out)?;
                        one_side(store, b, path, true, out)?;
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(())
}

/// The changes from tree `old` (`None`: a root commit) to `new`, compared as parent
/// number `parent`, sorted by path. An added path whose content equals a deleted
/// path's becomes a rename (`R`, from that path) exactly as `treeops::diff` pairs
/// them; the deleted path keeps its `D` row so `log --path OLD` sees the commit.
pub(crate) fn tree_changes(
    store: &Store,
    old: Option<ObjectId>,
    new: ObjectId,
    parent: u32,
) -> Result<Vec<HistChange>, VcsError> {
    let mut raw = Vec::new();
    diff_dir(store, old, Some(new), "", &mut raw)?;
    raw.sort_by(|a, b| a.path.cmp(&b.path));
    let mut deleted: HashMap<ObjectId, Vec<String>> = HashMap::new();
    for r in raw.iter().filter(|r| r.kind == b'D') {
        if let Some(id) = r.old {
            deleted.entry(id).or_default().push(r.path.clone());
        }
    }
    Ok(raw
        .into_iter()
        .map(|r| {
            let mut kind = r.kind;
            let mut src = None;
            if kind == b'A' {
                if let Some(from) = r
                    .new
                    .and_then(|(id, _, _)| deleted.get_mut(&id))
                    .and_then(|v| v.pop())
                {
                    kind = b'R';
                    src = Some(from);
                }
            }
            HistChange {
                path: r.path,
                parent,
                kind,
                file: r.new,
                src,
            }
        })
        .collect())
}

/// The indexed commit graph, by position (ascending key: parents come first).
pub(crate) struct Graph {
    keys: Vec<i64>,
    ids: Vec<ObjectId>,
    times: Vec<i64>,
    parents: Vec<Vec<usize>>,
    by_key: HashMap<i64, usize>,
    by_id: HashMap<ObjectId, usize>,
}

impl Graph {
    /// Positions of the commits whose keys are listed (unknown keys are skipped).
    fn positions(&self, keys: &[i64]) -> HashSet<usize> {
        keys.iter()
            .filter_map(|k| self.by_key.get(k).copied())
            .collect()
    }

    /// Commits reachable from `start`, in the order the tree-walking `log` lists
    /// them: a max-heap on committer time, ties in the order commits were first seen
    /// (so with equal times a child still comes before its parents), parents pushed
    /// when first seen.
    fn walk(&self, start: usize) -> Vec<usize> {
        let mut heap = BinaryHeap::new();
        let mut seen = vec![false; self.ids.len()];
        let mut seq = 0u64;
        heap.push((self.times[start], std::cmp::Reverse(seq), start));
        seen[start] = true;
        let mut out = Vec::new();
        while let Some((_, _, pos)) = heap.pop() {
            out.push(pos);
            for &p in &self.parents[pos] {
                if !seen[p] {
                    seen[p] = true;
                    seq += 1;
                    heap.push((self.times[p], std::cmp::Reverse(seq), p));
                }
            }
        }
        out
    }
}

/// Revisions of one path: each listing commit's graph position and its change.
type Revisions = Vec<(usize, HistChange)>;

/// Rows recorded at one path, by (commit position, parent number).
type PathRows = HashMap<(usize, u32), HistChange>;

/// Why a query could not be answered from the index as it is.
enum Answer<T> {
    Ok(T),
    Damaged(String),
}

fn damaged_db(e: &DbError) -> bool {
    matches!(e, DbError::BadStoredValue { .. })
}

impl Repo {
    /// Brings the history index up to date with every ref and with `extra` (a
    /// query's start, which may be reachable from no ref). An inconsistent index is
    /// dropped first and rebuilt from scratch.
    pub(crate) fn hist_catch_up(&self, extra: &[ObjectId]) -> Result<usize, VcsError> {
        let store = self.store();
        let db = store.db();
        if !db.hist_consistent()? {
            db.hist_clear()?;
        }
        let mut tips: Vec<ObjectId> = Vec::new();
        for id in extra {
            if let Some(c) = self.peel_commit(*id)? {
                tips.push(c);
            }
        }
        for (_, id) in db.list_refs("")? {
            // A ref to something unreadable is fsck's business, not the index's.
            if let Ok(Some(c)) = self.peel_commit(id) {
                tips.push(c);
            }
        }
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut loaded: HashMap<ObjectId, (Commit, Vec<u8>)> = HashMap::new();
        let mut order: Vec<ObjectId> = Vec::new();
        for tip in tips {
            let mut stack = vec![(tip, false)];
            while let Some((id, expanded)) = stack.pop() {
                if expanded {
                    order.push(id);
                    continue;
                }
                if seen.contains(&id) || db.hist_key(&id)?.is_some() {
                    continue;
                }
                seen.insert(id);
                let raw = store.read_kind(&id, ObjectKind::Commit)?;
                let c = Commit::decode(&raw)?;
                stack.push((id, true));
                for p in c.parents.iter().rev() {
                    if !seen.contains(p) {
                        stack.push((*p, false));
                    }
                }
                loaded.insert(id, (c, raw));
            }
        }
        if order.is_empty() {
            return Ok(0);
        }
        let mut batch = Vec::with_capacity(order.len());
        for id in &order {
            let Some((c, raw)) = loaded.get(id) else {
                continue;
            };
            let mut changes = Vec::new();
            if c.parents.is_empty() {
                changes = tree_changes(store, None, c.tree, 0)?;
            }
            for (i, p) in c.parents.iter().enumerate() {
                let old = match loaded.get(p) {
                    Some((pc, _)) => pc.tree,
                    None => store.commit(p)?.tree,
                };
                let n = u32::try_from(i).unwrap_or(u32::MAX);
                changes.extend(tree_changes(store, Some(old), c.tree, n)?);
            }
            batch.push(HistCommit {
                id: *id,
                parents: c.parents.clone(),
                author_name: c.author.name.clone(),
                author_email: c.author.email.clone(),
                author_time: c.author.time,
                committer_time: c.committer.time,
                message: c.message.clone(),
                notes: c.notes.clone(),
                raw: raw.clone(),
                changes,
            });
        }
        Ok(db.hist_insert(&batch)?)
    }

    /// The commit `id` names, through annotated tags; `None` for other kinds.
    fn peel_commit(&self, mut id: ObjectId) -> Result<Option<ObjectId>, VcsError> {
        for _ in 0..MAX_TAG_DEPTH {
            if self.store().db().hist_key(&id)?.is_some() {
                return Ok(Some(id));
            }
            let (kind, _) = self.store().read(&id)?;
            match kind {
                ObjectKind::Commit => return Ok(Some(id)),
                ObjectKind::Tag => id = self.store().tag(&id)?.target,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The indexed graph; `Damaged` when a parent key is missing or not older.
    fn hist_load_graph(&self) -> Result<Answer<Graph>, VcsError> {
        let nodes = match self.store().db().hist_graph() {
            Ok(n) => n,
            Err(e) if damaged_db(&e) => return Ok(Answer::Damaged(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let mut g = Graph {
            keys: Vec::with_capacity(nodes.len()),
            ids: Vec::with_capacity(nodes.len()),
            times: Vec::with_capacity(nodes.len()),
            parents: Vec::with_capacity(nodes.len()),
            by_key: HashMap::with_capacity(nodes.len()),
            by_id: HashMap::with_capacity(nodes.len()),
        };
        for (pos, n) in nodes.into_iter().enumerate() {
            let mut ps = Vec::with_capacity(n.parents.len());
            for k in &n.parents {
                match g.by_key.get(k) {
                    Some(&p) => ps.push(p),
                    None => {
                        return Ok(Answer::Damaged(format!(
                            "commit {} has an unindexed parent",
                            n.id.short()
                        )))
                    }
                }
            }
            g.by_key.insert(n.key, pos);
            g.by_id.insert(n.id, pos);
            g.keys.push(n.key);
            g.ids.push(n.id);
            g.times.push(n.time);
            g.parents.push(ps);
        }
        Ok(Answer::Ok(g))
    }

    /// Catches up, then runs `query` on the graph with `start`'s position; on
    /// damage, drops the index, rebuilds it and tries once more.
    fn with_index<T>(
        &self,
        start: ObjectId,
        query: impl Fn(&Graph, usize) -> Result<Answer<T>, VcsError>,
    ) -> Result<T, VcsError> {
        let mut why = String::new();
        for _ in 0..2 {
            self.hist_catch_up(&[start])?;
            let answer = match self.hist_load_graph()? {
                Answer::Ok(g) => match g.by_id.get(&start) {
                    Some(&s) => query(&g, s)?,
                    None => Answer::Damaged(format!("start {} is not indexed", start.short())),
                },
                Answer::Damaged(w) => Answer::Damaged(w),
            };
            match answer {
                Answer::Ok(t) => return Ok(t),
                Answer::Damaged(w) => why = w,
            }
            self.store().db().hist_clear()?;
        }
        Err(VcsError::HistoryIndex { reason: why })
    }

    /// The commits at these graph positions, from their stored encodings (no pack
    /// access); `Damaged` when one is missing, does not decode, or does not hash to
    /// its id.
    fn hist_commits(
        &self,
        g: &Graph,
        positions: &[usize],
    ) -> Result<Answer<Vec<Commit>>, VcsError> {
        let keys: Vec<i64> = positions.iter().map(|&p| g.keys[p]).collect();
        let raws = match self.store().db().hist_raw(&keys) {
            Ok(r) => r,
            Err(e) if damaged_db(&e) => return Ok(Answer::Damaged(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::with_capacity(raws.len());
        for (&pos, raw) in positions.iter().zip(raws) {
            let id = g.ids[pos];
            let commit = raw
                .filter(|r| ObjectId::compute(ObjectKind::Commit, r) == id)
                .and_then(|r| Commit::decode(&r).ok());
            match commit {
                Some(c) => out.push(c),
                None => {
                    return Ok(Answer::Damaged(format!(
                        "indexed commit {} does not match its id",
                        id.short()
                    )))
                }
            }
        }
        Ok(Answer::Ok(out))
    }

    /// [`Repo::log_filtered`] answered from the index.
    pub(crate) fn log_indexed(
        &self,
        start: ObjectId,
        filter: &LogFilter,
        limit: Option<usize>,
    ) -> Result<Vec<LogEntry>, VcsError> {
        let db = self.store().db();
        // SQL folds ASCII case only, so only ASCII needles narrow the query there;
        // every candidate is re-checked exactly below.
        let ascii = |s: &Option<String>| {
            s.as_ref()
                .map(|s| s.to_lowercase())
                .filter(|s| s.is_ascii())
        };
        let (author, grep) = (ascii(&filter.author), ascii(&filter.grep));
        let text = HistFilter {
            author: author.as_deref(),
            grep: grep.as_deref(),
            since: filter.since,
            until: filter.until,
        };
        let narrow = text.author.is_some()
            || text.grep.is_some()
            || text.since.is_some()
            || text.until.is_some();
        self.with_index(start, |g, s| {
            let mut keep: Option<HashSet<usize>> = None;
            if narrow {
                keep = Some(g.positions(&db.hist_filter(&text)?));
            }
            if let Some(path) = &filter.path {
                let mut touching = g.positions(&db.hist_touching(path)?);
                if path.is_empty() {
                    // The root tree itself is "added" by a root commit, even empty.
                    touching.extend((0..g.ids.len()).filter(|&p| g.parents[p].is_empty()));
                }
                keep = Some(match keep {
                    Some(k) => k.intersection(&touching).copied().collect(),
                    None => touching,
                });
            }
            let candidates: Vec<usize> = g
                .walk(s)
                .into_iter()
                .filter(|pos| keep.as_ref().is_none_or(|k| k.contains(pos)))
                .collect();
            // Loaded in batches: with text filters some candidates may still drop out.
            let mut out = Vec::new();
            for batch in candidates.chunks(512) {
                let want = limit.map_or(batch.len(), |l| l.saturating_sub(out.len()));
                let batch = if filter.author.is_some() || filter.grep.is_some() {
                    batch
                } else {
                    &batch[..want.min(batch.len())]
                };
                if batch.is_empty() {
                    break;
                }
                let commits = match self.hist_commits(g, batch)? {
                    Answer::Ok(c) => c,
                    Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
                };
                for (&pos, commit) in batch.iter().zip(commits) {
                    if limit.is_some_and(|l| out.len() >= l) {
                        break;
                    }
                    if filter.matches_commit(&commit) {
                        out.push(LogEntry {
                            id: g.ids[pos],
                            commit,
                        });
                    }
                }
            }
            Ok(Answer::Ok(out))
        })
    }

    /// The revisions of `path` from `start` (position `s`) as [`Repo::history`]
    /// walks them, newest first, at most `limit` (at least one is looked for): each
    /// listed commit's position and recorded change. `None` when the index says
    /// there is no file at `path` in `start` (the caller asks the tree why).
    fn walk_path(
        &self,
        g: &Graph,
        s: usize,
        path: &str,
        limit: Option<usize>,
    ) -> Result<Answer<Option<Revisions>>, VcsError> {
        let db = self.store().db();
        let limit = limit.map(|l| l.max(1));
        let load = |path: &str| -> Result<Answer<PathRows>, VcsError> {
            match db.hist_changes_at(path) {
                Ok(rows) => Ok(Answer::Ok(
                    rows.into_iter()
                        .filter_map(|(k, c)| g.by_key.get(&k).map(|&p| ((p, c.parent), c)))
                        .collect(),
                )),
                Err(e) if damaged_db(&e) => Ok(Answer::Damaged(e.to_string())),
                Err(e) => Err(e.into()),
            }
        };
        let mut rows = match load(path)? {
            Answer::Ok(r) => r,
            Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
        };
        let mut found: Vec<(usize, HistChange)> = Vec::new();
        let mut pos = s;
        while limit.is_none_or(|l| found.len() < l) {
            let parents = &g.parents[pos];
            if parents.len() > 1 {
                // The merge took the asset unchanged from this parent: follow it.
                let same = (0..parents.len()).find(|&i| {
                    let i = u32::try_from(i).unwrap_or(u32::MAX);
                    !rows.contains_key(&(pos, i))
                });
                if let Some(i) = same {
                    pos = parents[i];
                    continue;
                }
            }
            let Some(ch) = rows.get(&(pos, 0)).cloned() else {
                match parents.first() {
                    Some(&p) => {
                        pos = p;
                        continue;
                    }
                    // Never added along this walk: absent at the start.
                    None if found.is_empty() => return Ok(Answer::Ok(None)),
                    None => {
                        return Ok(Answer::Damaged(format!(
                            "root commit {} has no row for a path it holds",
                            g.ids[pos].short()
                        )))
                    }
                }
            };
            if ch.kind == b'D' && found.is_empty() {
                // Deleted (or replaced by a directory) and not re-added since.
                return Ok(Answer::Ok(None));
            }
            if ch.kind == b'D' || ch.file.is_none() || (parents.is_empty() && ch.kind != b'A') {
                return Ok(Answer::Damaged(format!(
                    "impossible change recorded for {} in {}",
                    ch.path,
                    g.ids[pos].short()
                )));
            }
            let (kind, src) = (ch.kind, ch.src.clone());
            found.push((pos, ch));
            if kind == b'A' {
                break;
            }
            if let (b'R', Some(from)) = (kind, &src) {
                rows = match load(from)? {
                    Answer::Ok(r) => r,
                    Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
                };
            }
            match parents.first() {
                Some(&p) => pos = p,
                None => break,
            }
        }
        Ok(Answer::Ok(Some(found)))
    }

    /// [`Repo::history`] answered from the index, at most `limit` entries. When
    /// the index finds no file at `path` in `start`, `absent` (a lookup in the tree)
    /// says why; if it finds the file after all, the index is damaged.
    pub(crate) fn history_indexed(
        &self,
        start: ObjectId,
        path: &str,
        limit: Option<usize>,
        absent: impl Fn() -> Result<(), VcsError>,
    ) -> Result<Vec<HistoryEntry>, VcsError> {
        self.with_index(start, |g, s| {
            let found = match self.walk_path(g, s, path, limit)? {
                Answer::Ok(Some(f)) => f,
                Answer::Ok(None) => {
                    absent()?;
                    return Ok(Answer::Damaged(format!("{path} is missing from the index")));
                }
                Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
            };
            let positions: Vec<usize> = found.iter().map(|(p, _)| *p).collect();
            let commits = match self.hist_commits(g, &positions)? {
                Answer::Ok(c) => c,
                Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
            };
            let mut out = Vec::with_capacity(found.len());
            for ((pos, ch), commit) in found.into_iter().zip(commits) {
                // walk_path only returns rows with a file.
                let Some((file, size, _)) = ch.file else {
                    continue;
                };
                out.push(HistoryEntry {
                    id: g.ids[pos],
                    commit,
                    path: ch.path,
                    change: match ch.kind {
                        b'A' => ChangeKind::Added,
                        b'T' => ChangeKind::TypeChanged,
                        b'R' => ChangeKind::Renamed,
                        _ => ChangeKind::Modified,
                    },
                    renamed_from: ch.src,
                    file,
                    size,
                });
            }
            if limit == Some(0) {
                out.clear();
            }
            Ok(Answer::Ok(out))
        })
    }

    /// For each of `paths` (files in `start`), the commit that last changed it as
    /// [`Repo::history`] sees it (its newest revision), with one catch-up and one
    /// graph load for all of them.
    pub(crate) fn last_changes(
        &self,
        start: ObjectId,
        paths: &[String],
    ) -> Result<Vec<(ObjectId, Commit)>, VcsError> {
        self.with_index(start, |g, s| {
            let mut positions = Vec::with_capacity(paths.len());
            for path in paths {
                match self.walk_path(g, s, path, Some(1))? {
                    Answer::Ok(Some(f)) if !f.is_empty() => positions.push(f[0].0),
                    Answer::Ok(_) => {
                        return Ok(Answer::Damaged(format!("no revision of {path} found")))
                    }
                    Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
                }
            }
            let mut unique = positions.clone();
            unique.sort_unstable();
            unique.dedup();
            let commits = match self.hist_commits(g, &unique)? {
                Answer::Ok(c) => c,
                Answer::Damaged(w) => return Ok(Answer::Damaged(w)),
            };
            let by_pos: HashMap<usize, Commit> = unique.into_iter().zip(commits).collect();
            let out = positions
                .iter()
                .filter_map(|p| by_pos.get(p).map(|c| (g.ids[*p], c.clone())))
                .collect();
            Ok(Answer::Ok(out))
        })
    }

    /// [`Repo::resolve_commit`], answered without reading objects when `rev` is
    /// a plain ref name (`HEAD`, a branch, a tag) naming an indexed commit: the
    /// same candidates in the same order, so the answer is the same.
    pub fn resolve_commit_indexed(&self, rev: &str) -> Result<ObjectId, VcsError> {
        let db = self.store().db();
        let name = if rev == "@" { "HEAD" } else { rev };
        let plain = !name.is_empty()
            && !name.contains(['~', '^', ':', '@', '{'])
            && crate::store::db::check_ref_name(&format!("refs/heads/{name}")).is_ok()
            || name == "HEAD";
        if plain {
            let mut candidates = vec![name.to_string()];
            if !name.starts_with("refs/") && name != "HEAD" {
                candidates.push(format!("refs/heads/{name}"));
                candidates.push(format!("refs/tags/{name}"));
            }
            for c in &candidates {
                if let Ok(Some((_, target))) = db.resolve_ref(c) {
                    if let Some(id) = target {
                        if db.hist_key(&id)?.is_some() {
                            return Ok(id);
                        }
                    }
                    break;
                }
            }
        }
        self.resolve_commit(rev)
    }
}

#[cfg(test)]
mod tests;
