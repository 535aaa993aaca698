//! `resolve`: settling one conflict, together with its asset/sidecar partners.
//!
//! The unit resolved is the asset and every conflict naming it as its asset, so an
//! engine never sees an asset from one side with the sidecar of the other. What each
//! choice does, per kind (`ours` is what the merge left in the index):
//!
//! | kind            | `--ours`          | `--theirs`                        | `--both`                          |
//! |-----------------|-------------------|-----------------------------------|-----------------------------------|
//! | content, add/add, modify/delete, delete/modify, rename/delete, delete/rename | keep | their version at the path (or delete) | theirs at `STEM.theirs.EXT` |
//! | text            | ours, markers gone | their version                    | ours + theirs at `STEM.theirs.EXT` |
//! | metadata        | keep (every key merged, ours where they conflict) | theirs for the conflicting keys, the rest merged | refused |
//! | rename/rename   | keep our name     | their name only                   | both names                        |
//! | file/dir        | keep our file     | their directory replaces it       | their directory at `x.theirs/`    |
//! | dir/file        | keep our directory | their file replaces it           | their file at `x.theirs`          |
//! | sidecar         | our version       | their version                     | ours + theirs beside the asset's copy |
//!
//! A Unity `.meta` that `--both` writes beside a kept original gets a fresh GUID (Unity
//! refuses two assets with one GUID); everything else in it is theirs.
//!
//! `--merged` applies to `text` conflicts: the edited working file is staged after
//! checking no conflict marker line remains. Everything is checked before anything
//! is written.

use std::path::{Path, PathBuf};

use super::conflict::{encode_conflicts, theirs_name, Conflict, ConflictKind};
use super::text::marker_lines;
use super::{remove_work_file, Resolution, MERGE_CONFLICTS_KEY};
use crate::store::object::{AssetMeta, EntryKind};
use crate::store::{ObjectId, Store};
use crate::vcs::checkout::materialize;
use crate::vcs::facts::{detect, SNIFF_LEN};
use crate::vcs::path::abs;
use crate::vcs::scan::index_as_flat;
use crate::vcs::sidecar::{fresh_unity_guid, is_unity_meta, with_unity_guid};
use crate::vcs::treeops::{flatten, FlatEntry};
use crate::vcs::{Repo, VcsError};

/// The working-tree changes one resolution makes.
#[derive(Debug, Default)]
struct Plan {
    /// Entries to write (path already set to where they go).
    upsert: Vec<FlatEntry>,
    /// Paths to remove from the working tree and index.
    remove: Vec<String>,
    /// Working files to stage as they are (`--merged`).
    stage: Vec<String>,
    /// Paths among `upsert` where `--both` puts theirs beside a version that stays:
    /// a Unity `.meta` written there gets a fresh GUID (two files with one GUID
    /// break the project).
    copies: Vec<String>,
    /// Asset-metadata objects the plan's entries refer to that are not stored yet.
    metas: Vec<AssetMeta>,
}

fn find<'a>(list: &'a [FlatEntry], path: &str) -> Option<&'a FlatEntry> {
    list.binary_search_by(|e| e.path.as_str().cmp(path))
        .ok()
        .map(|i| &list[i])
}

fn at(e: &FlatEntry, path: &str) -> FlatEntry {
    let mut e = e.clone();
    e.path = path.to_string();
    e
}

/// The three snapshots a resolution chooses from, and the store they live in.
struct Sides<'s> {
    ours: Vec<FlatEntry>,
    theirs: Vec<FlatEntry>,
    index: Vec<FlatEntry>,
    store: &'s Store,
}

impl Sides<'_> {
    fn meta(&self, id: Option<ObjectId>) -> Result<AssetMeta, VcsError> {
        match id {
            Some(id) => Ok(self.store.asset_meta(&id)?),
            None => Ok(AssetMeta::default()),
        }
    }
}

/// The metadata `--theirs` gives member `m`: what the merge left in the index (every
/// key merged cleanly), with the conflicting keys taken from theirs (`None` where
/// nothing is left). New objects go to `plan.metas`.
fn theirs_meta(
    plan: &mut Plan,
    m: &Conflict,
    cur: Option<&FlatEntry>,
    t: Option<&FlatEntry>,
    s: &Sides,
) -> Result<Option<ObjectId>, VcsError> {
    let mut meta = s.meta(cur.and_then(|c| c.meta))?;
    let theirs = s.meta(t.and_then(|t| t.meta))?;
    for f in &m.fields {
        match theirs.fields.get(f) {
            Some(v) => meta.fields.insert(f.clone(), v.clone()),
            None => meta.fields.remove(f),
        };
    }
    if meta.is_empty() {
        return Ok(None);
    }
    let id = meta.id()?;
    plan.metas.push(meta);
    Ok(Some(id))
}

impl Plan {
    fn put(&mut self, e: &FlatEntry, path: &str) {
        self.upsert.push(at(e, path));
    }

    /// Makes `path` hold `e`, or nothing.
    fn set(&mut self, e: Option<&FlatEntry>, path: &str) {
        match e {
            Some(e) => self.put(e, path),
            None => self.remove.push(path.to_string()),
        }
    }
}

/// Where `--both` puts theirs for member `m` of a unit whose conflicts are `unit`.
fn both_target(m: &Conflict, unit: &[Conflict]) -> String {
    if let Some(t) = m
        .theirs_path
        .as_ref()
        .filter(|_| m.kind == ConflictKind::RenameRename)
    {
        return t.clone();
    }
    match &m.asset {
        Some(a) if m.path.starts_with(a.as_str()) => {
            let asset_copy = unit
                .iter()
                .find(|c| c.path == *a && c.kind == ConflictKind::RenameRename)
                .and_then(|c| c.theirs_path.clone())
                .unwrap_or_else(|| theirs_name(a));
            format!("{asset_copy}{}", &m.path[a.len()..])
        }
        _ => theirs_name(&m.path),
    }
}

/// The changes for member `m` (of `unit`) resolved `how`.
fn plan_member(
    plan: &mut Plan,
    m: &Conflict,
    unit: &[Conflict],
    how: Resolution,
    s: &Sides,
) -> Result<(), VcsError> {
    use ConflictKind as K;
    let theirs_at = m.theirs_path.as_deref().unwrap_or(&m.path);
    let t = find(&s.theirs, theirs_at);
    let cur = find(&s.index, &m.path);
    let ours = find(&s.ours, &m.path);
    let under = |list: &[FlatEntry]| -> Vec<FlatEntry> {
        let prefix = format!("{}/", m.path);
        list.iter()
            .filter(|e| e.path.starts_with(&prefix))
            .cloned()
            .collect()
    };
    match (m.kind, how) {
        (K::Text, Resolution::Merged) => plan.stage.push(m.path.clone()),
        (_, Resolution::Merged) => {}
        (K::Text, Resolution::Ours) => plan.set(cur, &m.path),
        (K::Sidecar, Resolution::Ours) => plan.set(ours, &m.path),
        (_, Resolution::Ours) => {}
        (K::Metadata, Resolution::Theirs) => {
            if let Some(c) = cur {
                let mut e = c.clone();
                // A conflict recorded before keys were named: theirs whole.
                e.meta = match m.fields.is_empty() {
                    true => t.and_then(|t| t.meta),
                    false => theirs_meta(plan, m, cur, t, s)?,
                };
                plan.upsert.push(e);
            }
        }
        // Their content, with the metadata merged as for a metadata conflict.
        (K::Content | K::Text, Resolution::Theirs) if !m.fields.is_empty() && t.is_some() => {
            let meta = theirs_meta(plan, m, cur, t, s)?;
            if let Some(t) = t {
                let mut e = at(t, &m.path);
                e.meta = meta;
                plan.upsert.push(e);
            }
        }
        (K::Metadata, Resolution::Both) => {}
        (K::RenameRename, Resolution::Theirs) => {
            plan.remove.push(m.path.clone());
            if let Some(t) = t {
                plan.put(t, theirs_at);
            }
        }
        (K::FileDir, Resolution::Theirs) => {
            plan.remove.push(m.path.clone());
            plan.upsert.extend(under(&s.theirs));
        }
        (K::FileDir, Resolution::Both) => {
            let to = theirs_name(&m.path);
            for e in under(&s.theirs) {
                let rest = &e.path[m.path.len()..];
                plan.put(&e, &format!("{to}{rest}"));
            }
        }
        (K::DirFile, Resolution::Theirs) => {
            plan.remove
                .extend(under(&s.index).into_iter().map(|e| e.path));
            plan.set(t, &m.path);
        }
        (_, Resolution::Theirs) => plan.set(t, &m.path),
        (kind, Resolution::Both) => {
            match kind {
                K::Text => plan.set(cur, &m.path),
                K::Sidecar => plan.set(ours, &m.path),
                _ => {}
            }
            if let Some(t) = t {
                let to = both_target(m, unit);
                plan.put(t, &to);
                plan.copies.push(to);
            }
        }
    }
    Ok(())
}

/// Untracked paths a plan would overwrite: an untracked file where it writes one,
/// or a directory there holding anything the plan does not remove.
fn blocked(root: &std::path::Path, plan: &Plan, index: &[FlatEntry]) -> Vec<String> {
    let mut out = Vec::new();
    for e in &plan.upsert {
        if find(index, &e.path).is_some() || plan.remove.contains(&e.path) {
            continue;
        }
        let a = abs(root, &e.path);
        match std::fs::symlink_metadata(&a) {
            Ok(m) if m.is_dir() => {
                for f in walkdir::WalkDir::new(&a).min_depth(1).into_iter().flatten() {
                    let rel = f.path().strip_prefix(root).unwrap_or(f.path());
                    let rel = rel.to_string_lossy().into_owned();
                    if !f.file_type().is_dir() && !plan.remove.contains(&rel) {
                        out.push(rel);
                    }
                }
            }
            Ok(_) => out.push(e.path.clone()),
            Err(_) => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

impl Repo {
    /// Settles the conflict at `path` — and the conflicts of its asset/sidecar unit
    /// with it — and removes them from the conflict list. Returns the paths staged
    /// (written or removed). Nothing is written when the choice does not apply.
    pub fn resolve_conflict(
        &mut self,
        path: &str,
        how: Resolution,
    ) -> Result<Vec<String>, VcsError> {
        let Some(theirs) = self.merge_head()? else {
            return Err(VcsError::NoMergeInProgress);
        };
        let conflicts = self.merge_conflicts()?;
        let Some(c) = conflicts.iter().find(|c| c.path == path) else {
            return Err(VcsError::NotConflicted { path: path.into() });
        };
        match (c.kind, how) {
            (ConflictKind::Text, _) | (_, Resolution::Ours | Resolution::Theirs) => {}
            (kind, Resolution::Merged) => {
                return Err(VcsError::CannotResolve {
                    path: path.into(),
                    reason: format!(
                        "--merged takes an edited text file; this conflict is {}, pick --ours, --theirs or --both",
                        kind.as_str()
                    ),
                })
            }
            (ConflictKind::Metadata, _) => {
                return Err(VcsError::CannotResolve {
                    path: path.into(),
                    reason: "--both does not apply to a metadata conflict; pick --ours or --theirs"
                        .into(),
                })
            }
            _ => {}
        }
        let unit_asset = c.asset.clone().unwrap_or_else(|| path.to_string());
        let unit: Vec<Conflict> = conflicts
            .iter()
            .filter(|m| m.path == unit_asset || m.asset.as_deref() == Some(&unit_asset))
            .cloned()
            .collect();
        let (_, head) = self.head()?;
        let ours = match head {
            Some(h) => flatten(self.store(), &self.store().commit(&h)?.tree)?,
            None => Vec::new(),
        };
        let mut index = index_as_flat(&self.store().db().load_index()?);
        index.sort_by(|a, b| a.path.cmp(&b.path));
        let sides = Sides {
            ours,
            theirs: flatten(self.store(), &self.store().commit(&theirs)?.tree)?,
            index,
            store: self.store(),
        };
        let mut plan = Plan::default();
        for m in &unit {
            plan_member(&mut plan, m, &unit, how, &sides)?;
        }
        let Sides { index, .. } = sides;
        let sides_index = index;
        let root = self.root().to_path_buf();
        // A path neither tracked nor present needs no removal (and is not reported).
        plan.remove.retain(|p| {
            find(&sides_index, p).is_some() || std::fs::symlink_metadata(abs(&root, p)).is_ok()
        });
        // Checks, before anything is written.
        for p in &plan.stage {
            let a = abs(&root, p);
            let text = std::fs::read(&a).map_err(VcsError::io(&a))?;
            let lines = marker_lines(&String::from_utf8_lossy(&text));
            if !lines.is_empty() {
                return Err(VcsError::MarkersLeft {
                    path: p.clone(),
                    lines,
                });
            }
        }
        let blocked = blocked(&root, &plan, &sides_index);
        if !blocked.is_empty() {
            return Err(VcsError::InTheWay {
                operation: "resolve",
                paths: blocked,
            });
        }
        if !plan.stage.is_empty() {
            let paths: Vec<PathBuf> = plan.stage.iter().map(|p| abs(&root, p)).collect();
            self.add(&root, &paths, false, &|_, _| {})?;
        }
        let (lock, _) = self.store_mut().lock()?;
        self.give_copies_fresh_guids(&lock, &mut plan)?;
        if !plan.metas.is_empty() {
            let mut writer = self.store_mut().writer(&lock);
            for m in &plan.metas {
                writer.put_meta(m)?;
            }
            writer.finish()?;
        }
        for p in &plan.remove {
            remove_work_file(&root, p)?;
        }
        let mut upsert = Vec::new();
        for e in &plan.upsert {
            upsert.push(materialize(self.store(), &root, e)?);
        }
        let remove: Vec<&str> = plan.remove.iter().map(String::as_str).collect();
        self.write_index_entries(&upsert, &remove)?;
        let left: Vec<Conflict> = conflicts
            .into_iter()
            .filter(|c| !unit.iter().any(|m| m.path == c.path))
            .collect();
        self.store()
            .db()
            .state_set(MERGE_CONFLICTS_KEY, &encode_conflicts(&left))?;
        drop(lock);
        let mut staged: Vec<String> = plan
            .stage
            .into_iter()
            .chain(plan.remove)
            .chain(plan.upsert.into_iter().map(|e| e.path))
            .collect();
        staged.sort();
        staged.dedup();
        Ok(staged)
    }

    /// Stores, for every Unity `.meta` the plan copies beside a kept original, a
    /// version with a fresh GUID, and points the plan at it (caller holds the lock).
    fn give_copies_fresh_guids(
        &mut self,
        lock: &crate::store::StoreLock,
        plan: &mut Plan,
    ) -> Result<(), VcsError> {
        for e in plan.upsert.iter_mut() {
            if !plan.copies.contains(&e.path)
                || !is_unity_meta(&e.path)
                || e.kind == EntryKind::Symlink
                || e.size > MAX_META_FILE
            {
                continue;
            }
            let old = self.store().read_file_bytes(&e.id)?;
            let guid = fresh_unity_guid().map_err(VcsError::io(Path::new("/dev/urandom")))?;
            let Some(new) = with_unity_guid(&old, &guid) else {
                continue;
            };
            let facts = detect(&new[..new.len().min(SNIFF_LEN)], &e.path).to_row();
            let mut writer = self.store_mut().writer(lock);
            let ing = writer.append_prepared(writer.prepare_bytes(new)?)?;
            writer.finish()?;
            self.store().db().facts_put(&[(ing.id, facts)])?;
            e.id = ing.id;
            e.size = ing.file.size;
        }
        Ok(())
    }
}

/// Largest Unity `.meta` file given a fresh GUID when copied (they are a few KiB).
const MAX_META_FILE: u64 = 1 << 20;
