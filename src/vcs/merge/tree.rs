//! The three-way tree merge: renames, entry merges (content, text lines, metadata),
//! file/directory clashes and sidecar pairs.
//!
//! Decisions, in order:
//! 1. Renames base → side are found per side by exact content id (as `diff` does).
//!    When an asset moved, its sidecars (`X.meta`, `X.import`) move with it even if
//!    the side left them behind or edited them while moving.
//! 2. Every base path is merged at its new name (a rename on one side carries the
//!    other side's edit along). Both sides renaming it differently is
//!    `rename/rename`; one renaming and the other deleting is `rename/delete` or
//!    `delete/rename`.
//! 3. An entry changed on both sides merges its parts independently: the content
//!    (small UTF-8 text by lines, anything else must be equal), the kind, and the
//!    asset metadata (field by field with [`AssetMeta::merge3`]).
//! 4. Two results landing on one path conflict `add/add`; a file where the other
//!    side has a directory is `file/dir` (ours kept).
//! 5. A conflict on an asset or its sidecar pulls the partner into the conflict list
//!    (kind `sidecar`) so the pair is resolved together.
//!
//! At a conflict the merged tree keeps ours. The merge reads objects but never
//! writes: new file and metadata objects are returned for the caller to store.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::conflict::{Conflict, ConflictKind};
use super::text::{as_text, merge_text, TextMerge, MAX_TEXT_MERGE};
use crate::store::object::{AssetMeta, EntryKind};
use crate::store::{ObjectId, Store};
use crate::vcs::scan::ChangeKind;
use crate::vcs::sidecar::{asset_of, sidecars_of, SIDECAR_RULES};
use crate::vcs::treeops::{diff, FlatEntry};
use crate::vcs::VcsError;

/// What a tree merge needs from the store: reading small files and metadata, and the
/// id a new file would get.
pub trait MergeObjects {
    /// The whole content of a file object (only asked for files of at most
    /// 1 MiB, the line-merge limit).
    fn file_bytes(&self, id: &ObjectId) -> Result<Vec<u8>, VcsError>;
    /// An asset-metadata object.
    fn meta(&self, id: &ObjectId) -> Result<AssetMeta, VcsError>;
    /// The id `bytes` would have as a file object in this store.
    fn file_id(&self, bytes: &[u8]) -> Result<ObjectId, VcsError>;
}

impl MergeObjects for Store {
    fn file_bytes(&self, id: &ObjectId) -> Result<Vec<u8>, VcsError> {
        Ok(self.read_file_bytes(id)?)
    }
    fn meta(&self, id: &ObjectId) -> Result<AssetMeta, VcsError> {
        Ok(self.asset_meta(id)?)
    }
    fn file_id(&self, bytes: &[u8]) -> Result<ObjectId, VcsError> {
        Ok(crate::store::hash_file(self.params(), bytes)?)
    }
}

/// The result of a three-way tree merge.
#[derive(Debug, Default)]
pub struct TreeMerge {
    /// The merged entries (ours at conflicted paths), sorted by path.
    pub entries: Vec<FlatEntry>,
    /// Conflicted paths, sorted, one record per path.
    pub conflicts: Vec<Conflict>,
    /// File objects the entries reference that the merge created (line merges),
    /// with their ids; the caller stores them.
    pub new_files: Vec<(ObjectId, Vec<u8>)>,
    /// Metadata objects the entries reference that the merge created.
    pub new_metas: Vec<AssetMeta>,
    /// Working-file contents for `text` conflicts (conflict markers), by path.
    pub markers: Vec<(String, Vec<u8>)>,
}

/// Base path → (the side's name for it, the path of the side's entry). The two
/// differ only for a sidecar the side left behind when it moved the asset.
type Renames = BTreeMap<String, (String, String)>;

fn has(list: &[FlatEntry], p: &str) -> bool {
    list.binary_search_by(|e| e.path.as_str().cmp(p)).is_ok()
}

/// The renames from `base` to `side`: exact-content pairs, then sidecars following
/// their asset.
fn renames(base: &[FlatEntry], side: &[FlatEntry]) -> Renames {
    let mut out = Renames::new();
    for c in diff(base, side, true).changes {
        if let (ChangeKind::Renamed, Some(from)) = (c.kind, c.from) {
            out.insert(from, (c.path.clone(), c.path));
        }
    }
    let moved: Vec<(String, String)> = out
        .iter()
        .filter(|(from, _)| asset_of(from).is_none())
        .map(|(from, (to, _))| (from.clone(), to.clone()))
        .collect();
    for (from, to) in moved {
        for rule in SIDECAR_RULES {
            let (fs, ts) = (
                format!("{from}{}", rule.suffix),
                format!("{to}{}", rule.suffix),
            );
            let taken = out.values().any(|(t, _)| *t == ts);
            if out.contains_key(&fs) || taken || !has(base, &fs) || has(base, &ts) {
                continue;
            }
            if has(side, &ts) && !has(side, &fs) {
                // Moved together and edited on the way.
                out.insert(fs, (ts.clone(), ts));
            } else if has(side, &fs) && !has(side, &ts) {
                // Left behind: it follows its asset.
                out.insert(fs.clone(), (ts, fs));
            }
        }
    }
    out
}

/// Same kind, content and metadata.
fn same(a: Option<&FlatEntry>, b: Option<&FlatEntry>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.kind == b.kind && a.id == b.id && a.meta == b.meta,
        (None, None) => true,
        _ => false,
    }
}

/// The three-way choice for one part: one side changed → it; else ours. `None` when
/// both changed it differently.
fn pick<T: PartialEq + Copy>(b: T, o: T, t: T) -> Option<T> {
    if o == t || b == t {
        Some(o)
    } else if b == o {
        Some(t)
    } else {
        None
    }
}

struct Merger<'a> {
    objs: &'a dyn MergeObjects,
    label: &'a str,
    ours: &'a [FlatEntry],
    theirs: &'a [FlatEntry],
    placed: BTreeMap<String, FlatEntry>,
    out: TreeMerge,
}

impl Merger<'_> {
    fn conflicted(&self, path: &str) -> bool {
        self.out.conflicts.iter().any(|c| c.path == path)
    }

    /// Records a conflict; the first record for a path wins.
    fn conflict(&mut self, c: Conflict) {
        if !self.conflicted(&c.path) {
            self.out.conflicts.push(c);
        }
    }

    /// Puts `e` at `path`. A different entry already there (two files renamed or
    /// added to one name) is an `add/add` conflict; ours' entry at that path is kept
    /// as it is, or the first one placed when ours has none.
    fn place(&mut self, path: &str, e: Option<&FlatEntry>) {
        let Some(e) = e else { return };
        let mut e = e.clone();
        e.path = path.to_string();
        match self.placed.get(path) {
            None => {
                self.placed.insert(path.to_string(), e);
            }
            Some(prev) if same(Some(prev), Some(&e)) => {}
            Some(_) => self.add_add(path),
        }
    }

    /// Records an `add/add` conflict at `path`, replacing any other record there: two
    /// claims on one name outweigh how either got there, whatever the order found.
    /// Ours' entry at `path`, as ours has it, is what stays there (whatever merged
    /// version of it was placed, say with theirs' metadata edit carried along), so
    /// the conflict keeps ours exactly, in either merge direction; when ours has
    /// nothing there, the first entry placed stays.
    fn add_add(&mut self, path: &str) {
        if let Ok(i) = self.ours.binary_search_by(|x| x.path.as_str().cmp(path)) {
            self.placed.insert(path.to_string(), self.ours[i].clone());
        }
        self.out.conflicts.retain(|c| c.path != path);
        self.out.markers.retain(|(p, _)| p != path);
        self.out
            .conflicts
            .push(Conflict::new(path, ConflictKind::AddAdd));
    }

    /// Merges one entry (by its base, ours and theirs versions) into `path`.
    fn entry(
        &mut self,
        path: &str,
        b: Option<&FlatEntry>,
        o: Option<&FlatEntry>,
        t: Option<&FlatEntry>,
        theirs_path: Option<String>,
    ) -> Result<(), VcsError> {
        if same(o, t) || same(b, t) {
            self.place(path, o);
            return Ok(());
        }
        if same(b, o) {
            self.place(path, t);
            return Ok(());
        }
        let mut fields = Vec::new();
        let kind = match (b, o, t) {
            (Some(b), Some(o), Some(t)) => {
                let (e, kind, keys) = self.three_way(path, b, o, t)?;
                self.place(path, Some(&e));
                fields = keys;
                kind
            }
            (None, o, _) => {
                self.place(path, o);
                Some(ConflictKind::AddAdd)
            }
            (_, None, _) => Some(ConflictKind::DeleteModify),
            (_, o, None) => {
                self.place(path, o);
                Some(ConflictKind::ModifyDelete)
            }
        };
        if let Some(kind) = kind {
            self.conflict(Conflict {
                path: path.to_string(),
                kind,
                theirs_path,
                asset: None,
                fields,
            });
        }
        Ok(())
    }

    /// Both sides changed an entry: merge kind, content and metadata separately.
    /// Returns the merged entry, the conflict if any, and the metadata keys that
    /// conflict (the entry's metadata is merged, with ours for those keys).
    fn three_way(
        &mut self,
        path: &str,
        b: &FlatEntry,
        o: &FlatEntry,
        t: &FlatEntry,
    ) -> Result<(FlatEntry, Option<ConflictKind>, Vec<String>), VcsError> {
        let mut e = o.clone();
        let mut kind = None;
        let mut conflicting = Vec::new();
        match pick(b.kind, o.kind, t.kind) {
            Some(k) => e.kind = k,
            None => kind = Some(ConflictKind::Content),
        }
        match pick(b.id, o.id, t.id) {
            Some(id) if id == t.id => {
                e.id = t.id;
                e.size = t.size;
            }
            Some(_) => {}
            None => match self.texts(b, o, t)? {
                Some([bt, ot, tt]) => match merge_text(&bt, &ot, &tt, self.label) {
                    TextMerge::Clean(s) => {
                        let bytes = s.into_bytes();
                        e.id = self.objs.file_id(&bytes)?;
                        e.size = bytes.len() as u64;
                        self.out.new_files.push((e.id, bytes));
                    }
                    TextMerge::Conflict(s) => {
                        kind = kind.or(Some(ConflictKind::Text));
                        self.out.markers.push((path.to_string(), s.into_bytes()));
                    }
                },
                None => kind = kind.or(Some(ConflictKind::Content)),
            },
        }
        match pick(b.meta, o.meta, t.meta) {
            Some(m) => e.meta = m,
            None => {
                let load = |m: Option<ObjectId>| -> Result<AssetMeta, VcsError> {
                    m.map(|id| self.objs.meta(&id))
                        .transpose()
                        .map(Option::unwrap_or_default)
                };
                let (merged, keys) =
                    AssetMeta::merge3(&load(b.meta)?, &load(o.meta)?, &load(t.meta)?);
                if !keys.is_empty() {
                    kind = kind.or(Some(ConflictKind::Metadata));
                    conflicting = keys;
                }
                // Every key that merged cleanly is kept whichever side the
                // conflicting ones end up taking.
                if merged.is_empty() {
                    e.meta = None;
                } else {
                    e.meta = Some(merged.id()?);
                    self.out.new_metas.push(merged);
                }
            }
        }
        Ok((e, kind, conflicting))
    }

    /// The three contents as text, when all are small UTF-8 files.
    fn texts(
        &self,
        b: &FlatEntry,
        o: &FlatEntry,
        t: &FlatEntry,
    ) -> Result<Option<[String; 3]>, VcsError> {
        let mut out = Vec::new();
        for e in [b, o, t] {
            if e.kind == EntryKind::Symlink || e.size > MAX_TEXT_MERGE {
                return Ok(None);
            }
            let bytes = self.objs.file_bytes(&e.id)?;
            match as_text(&bytes) {
                Some(s) => out.push(s.to_string()),
                None => return Ok(None),
            }
        }
        Ok(out.try_into().ok())
    }

    /// A file at `d` where the other side has a directory `d/…`: ours kept.
    fn clashes(&mut self) {
        let mut dirs = BTreeSet::new();
        for p in self.placed.keys() {
            for (i, _) in p.match_indices('/') {
                if self.placed.contains_key(&p[..i]) {
                    dirs.insert(p[..i].to_string());
                }
            }
        }
        for d in dirs {
            let prefix = format!("{d}/");
            let under = |k: &str| k.starts_with(&prefix);
            if !self.placed.contains_key(&d) || !self.placed.keys().any(|k| under(k)) {
                continue; // settled by an enclosing clash
            }
            let kind = if has(self.ours, &d) {
                self.placed.retain(|k, _| !under(k));
                self.out.conflicts.retain(|c| !under(&c.path));
                self.out.markers.retain(|(p, _)| !under(p));
                ConflictKind::FileDir
            } else {
                self.placed.remove(&d);
                ConflictKind::DirFile
            };
            self.out.conflicts.retain(|c| c.path != d);
            self.out.markers.retain(|(p, _)| *p != d);
            self.out.conflicts.push(Conflict::new(&d, kind));
        }
    }

    /// Pairs assets and sidecars in the conflict list.
    fn sidecars(&mut self) {
        // Both names of a rename/rename count, so the pairing is the same in either
        // merge direction.
        fn names(c: &Conflict) -> Vec<String> {
            let mut v = vec![c.path.clone()];
            if c.kind == ConflictKind::RenameRename {
                v.extend(c.theirs_path.clone());
            }
            v
        }
        let exists =
            |p: &str| self.placed.contains_key(p) || has(self.ours, p) || has(self.theirs, p);
        let involved: HashSet<String> = self.out.conflicts.iter().flat_map(names).collect();
        let mut add = BTreeSet::new();
        for c in &self.out.conflicts {
            for n in names(c) {
                if let Some(a) = asset_of(&n).filter(|a| exists(a) && !involved.contains(a)) {
                    add.insert((a, None));
                }
            }
        }
        for c in &self.out.conflicts {
            let Some(asset) = names(c).into_iter().find(|n| asset_of(n).is_none()) else {
                continue;
            };
            for n in names(c) {
                for s in sidecars_of(&n, false) {
                    if exists(&s) && !involved.contains(&s) {
                        add.insert((s, Some(asset.clone())));
                    }
                }
            }
        }
        for (path, asset) in add {
            let asset = asset.filter(|a| *a != path);
            self.conflict(Conflict {
                path,
                kind: ConflictKind::Sidecar,
                theirs_path: None,
                asset,
                fields: Vec::new(),
            });
        }
        let conflicted: HashSet<String> =
            self.out.conflicts.iter().map(|c| c.path.clone()).collect();
        for c in &mut self.out.conflicts {
            if let Some(a) = asset_of(&c.path).filter(|a| conflicted.contains(a)) {
                c.asset = Some(a);
            }
        }
    }
}

/// Three-way merge of flat trees (each sorted by path). `label` names the other side
/// in text conflict markers.
pub fn merge_trees(
    objs: &dyn MergeObjects,
    base: &[FlatEntry],
    ours: &[FlatEntry],
    theirs: &[FlatEntry],
    label: &str,
) -> Result<TreeMerge, VcsError> {
    let find = |l: &'_ [FlatEntry], p: &str| -> Option<usize> {
        l.binary_search_by(|e| e.path.as_str().cmp(p)).ok()
    };
    let (ro, rt) = (renames(base, ours), renames(base, theirs));
    let mut used_o = HashSet::new();
    let mut used_t = HashSet::new();
    let mut renamed_both: Vec<(String, String, Option<&FlatEntry>)> = Vec::new();
    let mut deleted_renamed: Vec<(String, Option<String>)> = Vec::new();
    let mut m = Merger {
        objs,
        label,
        ours,
        theirs,
        placed: BTreeMap::new(),
        out: TreeMerge::default(),
    };
    for b in base {
        let keep = || (b.path.clone(), b.path.clone());
        let (o_to, o_at) = ro.get(&b.path).cloned().unwrap_or_else(keep);
        let (t_to, t_at) = rt.get(&b.path).cloned().unwrap_or_else(keep);
        let o = find(ours, &o_at).map(|i| &ours[i]);
        let t = find(theirs, &t_at).map(|i| &theirs[i]);
        if o.is_some() {
            used_o.insert(o_at.clone());
        }
        if t.is_some() {
            used_t.insert(t_at.clone());
        }
        let (ren_o, ren_t) = (o_to != b.path, t_to != b.path);
        if ren_o && ren_t && o_to != t_to {
            // Decided once every other entry is placed (see below).
            renamed_both.push((o_to, t_to, o));
        } else if ren_o && t.is_none() {
            m.place(&o_to, o);
            m.conflict(Conflict::new(o_to, ConflictKind::RenameDelete));
        } else if ren_t && o.is_none() {
            let theirs_path = (t_at != t_to).then(|| t_at.clone());
            deleted_renamed.push((t_to, theirs_path));
        } else {
            let target = if ren_o { o_to } else { t_to };
            let theirs_path = (t.is_some() && t_at != target).then(|| t_at.clone());
            m.entry(&target, Some(b), o, t, theirs_path)?;
        }
    }
    let added: BTreeSet<&str> = ours
        .iter()
        .filter(|e| !used_o.contains(&e.path))
        .chain(theirs.iter().filter(|e| !used_t.contains(&e.path)))
        .map(|e| e.path.as_str())
        .collect();
    for p in added {
        let o = find(ours, p)
            .filter(|_| !used_o.contains(p))
            .map(|i| &ours[i]);
        let t = find(theirs, p)
            .filter(|_| !used_t.contains(p))
            .map(|i| &theirs[i]);
        m.entry(p, None, o, t, None)?;
    }
    // A name a rename lands on that something else also claims (another rename, an
    // addition) is an add/add conflict, decided the same way in either merge
    // direction; otherwise rename/rename keeps ours at our name, and delete/rename
    // keeps the deletion.
    let mut claims: std::collections::HashMap<String, usize> =
        m.placed.keys().map(|k| (k.clone(), 1)).collect();
    for name in renamed_both
        .iter()
        .flat_map(|(o, t, _)| [o, t])
        .chain(deleted_renamed.iter().map(|(t, _)| t))
    {
        *claims.entry(name.clone()).or_default() += 1;
    }
    let shared = |p: &str| claims.get(p).is_some_and(|n| *n > 1);
    for (o_to, t_to, o) in renamed_both {
        m.place(&o_to, o);
        match (shared(&o_to), shared(&t_to)) {
            (false, false) => m.conflict(Conflict {
                path: o_to,
                kind: ConflictKind::RenameRename,
                theirs_path: Some(t_to),
                asset: None,
                fields: Vec::new(),
            }),
            // One name is contested: that one is add/add; at the other, ours' copy
            // stands as renamed-here-deleted-there (or theirs' as the mirror).
            (o_shared, t_shared) => {
                if o_shared {
                    m.add_add(&o_to);
                } else {
                    m.conflict(Conflict::new(o_to, ConflictKind::RenameDelete));
                }
                if t_shared {
                    m.add_add(&t_to);
                } else {
                    m.conflict(Conflict::new(t_to, ConflictKind::DeleteRename));
                }
            }
        }
    }
    for (t_to, theirs_path) in deleted_renamed {
        if shared(&t_to) {
            m.add_add(&t_to);
        } else {
            m.conflict(Conflict {
                path: t_to,
                kind: ConflictKind::DeleteRename,
                theirs_path,
                asset: None,
                fields: Vec::new(),
            });
        }
    }
    m.clashes();
    m.sidecars();
    m.out.entries = std::mem::take(&mut m.placed).into_values().collect();
    m.out.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(m.out)
}

#[cfg(test)]
mod tests;
