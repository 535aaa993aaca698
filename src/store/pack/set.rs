//! The set of packs in a directory: open, look up, read (`store-format.md` § 6).
//!
//! Like gix-odb, a lookup that misses re-scans the directory once and retries, so a
//! reader sees packs other processes sealed since it opened the set without opening
//! it again ([`PackSet::refresh`]). The scan is cheap when nothing changed: one `stat`
//! of the directory, compared with the modification time seen at the last scan. Packs
//! found that way are appended (never inserted or removed), so a [`Location`] stays
//! valid and a borrowed pack stays borrowed; removals (gc, consolidation by another
//! process) show at the next [`PackSet::open`], and until then the packs this set
//! holds open keep serving.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::store::id::{IdPrefix, ObjectId, ObjectKind};

use super::bundle::LoadedPack;
use super::damage::Damage;
use super::error::PackError;
use super::format::{is_pack_stem, INDEX_EXT, INDEX_TMP_SUFFIX, PACK_EXT};
use super::index::{IndexEntry, PackIndex};
use super::write::SealedPack;

/// Where a record is: which pack of the set (an index into [`PackSet::packs`], valid
/// until the set changes) and its index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Position of the pack in the set.
    pub pack: usize,
    /// The record's index entry.
    pub entry: IndexEntry,
}

/// Summary of one sealed pack, from [`PackSet::packs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackInfo<'a> {
    /// The pack's name, `pack-<16 hex>`.
    pub name: &'a str,
    /// Byte length of the pack file, as its index records it.
    pub pack_len: u64,
    /// Number of records in its index.
    pub entries: usize,
}

/// All packs in one directory (`.gadn/packs`).
///
/// Opening is tolerant so that `fsck` can always run: an index that cannot be read or
/// fails verification, or whose pack file is missing, does not fail
/// [`open`](Self::open); it is recorded in [`damaged_indexes`](Self::damaged_indexes)
/// and that pack's objects are invisible. Commands that write or trust absence (a
/// missing object means "not stored") should refuse to run while that list is
/// non-empty. Packs without an index ([`unsealed`](Self::unsealed)) are left alone
/// until [`recover_unsealed`](Self::recover_unsealed).
#[derive(Debug)]
pub struct PackSet {
    pub(crate) dir: PathBuf,
    /// Stems of the sealed packs found at open; their indexes load on first use.
    index_stems: Vec<String>,
    loaded: OnceLock<Loaded>,
    /// Packs found by [`PackSet::refresh`] after the first load, in the order found.
    later: Later,
    /// What the last scan of the directory saw; held while refreshing.
    scan: Mutex<Scan>,
    pub(crate) unsealed: Vec<PathBuf>,
    pub(crate) stray_tmp: Vec<PathBuf>,
}

/// An append-only chain of packs found by refreshes: each refresh that finds packs
/// sets the tail's `next` once, so what is borrowed from it stays put.
#[derive(Debug, Default)]
struct Later {
    next: OnceLock<Box<Segment>>,
}

#[derive(Debug)]
struct Segment {
    packs: Vec<LoadedPack>,
    next: Later,
}

impl Later {
    fn segments(&self) -> impl Iterator<Item = &Segment> + '_ {
        std::iter::successors(self.next.get().map(|b| &**b), |s| {
            s.next.next.get().map(|b| &**b)
        })
    }

    fn packs(&self) -> impl Iterator<Item = &LoadedPack> + '_ {
        self.segments().flat_map(|s| s.packs.iter())
    }

    fn tail(&self) -> &Later {
        self.segments().last().map_or(self, |s| &s.next)
    }

    /// Moves every pack out of the chain, in order.
    fn take(&mut self) -> Vec<LoadedPack> {
        let mut out = Vec::new();
        let mut next = self.next.take();
        while let Some(seg) = next {
            let Segment {
                packs,
                next: mut later,
            } = *seg;
            out.extend(packs);
            next = later.next.take();
        }
        out
    }
}

/// The directory's modification time at the last scan, and whether it was too close
/// to the scan to trust: file-system timestamps are coarse, so a pack sealed in the
/// same tick as the scan would not change it (git's "racy" index entries).
#[derive(Debug, Default)]
struct Scan {
    mtime: Option<SystemTime>,
    racy: bool,
    /// Stems whose index failed to load at a refresh: not retried until reopened.
    failed: BTreeSet<String>,
}

/// A directory modified less than this before it was scanned is scanned again at the
/// next miss (coarse timestamps; see [`Scan`]).
const RACY_WINDOW: Duration = Duration::from_secs(2);

impl Scan {
    /// The directory's state now, `stat`ed before it is listed (so a change after the
    /// `stat` shows as a change next time).
    fn now(dir: &Path, failed: BTreeSet<String>) -> Scan {
        let mtime = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
        let racy = mtime.is_none_or(|m| {
            SystemTime::now()
                .duration_since(m)
                .map_or(true, |age| age < RACY_WINDOW)
        });
        Scan {
            mtime,
            racy,
            failed,
        }
    }

    /// True if the directory may have changed since this scan.
    fn stale(&self, dir: &Path) -> bool {
        self.racy || std::fs::metadata(dir).and_then(|m| m.modified()).ok() != self.mtime
    }
}

/// The sealed packs with their indexes loaded (and verified), and the indexes that
/// failed to load.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) packs: Vec<LoadedPack>,
    pub(crate) damaged: Vec<Damage>,
}

impl PackSet {
    /// Lists the packs in `dir`: sealed ones (whose indexes are loaded and verified on
    /// first use, so a command that reads no object pays nothing for them), unsealed
    /// ones and stray temporary indexes. Fails only if the directory cannot be listed.
    pub fn open(dir: &Path) -> Result<Self, PackError> {
        let mut set = PackSet {
            dir: dir.to_path_buf(),
            index_stems: Vec::new(),
            loaded: OnceLock::new(),
            later: Later::default(),
            scan: Mutex::new(Scan::now(dir, BTreeSet::new())),
            unsealed: Vec::new(),
            stray_tmp: Vec::new(),
        };
        let mut packs = BTreeSet::new();
        let mut indexes = BTreeSet::new();
        for item in std::fs::read_dir(dir).map_err(PackError::io(dir))? {
            let item = item.map_err(PackError::io(dir))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(INDEX_TMP_SUFFIX) {
                if is_pack_stem(stem) {
                    set.stray_tmp.push(item.path());
                }
            } else if let Some((stem, ext)) = name.rsplit_once('.') {
                if is_pack_stem(stem) && ext == PACK_EXT {
                    packs.insert(stem.to_string());
                } else if is_pack_stem(stem) && ext == INDEX_EXT {
                    indexes.insert(stem.to_string());
                }
            }
        }
        set.stray_tmp.sort();
        for stem in packs.difference(&indexes) {
            set.unsealed.push(dir.join(format!("{stem}.{PACK_EXT}")));
        }
        set.index_stems = indexes.into_iter().collect();
        Ok(set)
    }

    /// The loaded packs, loading every index the first time (infallible: an index
    /// that cannot be loaded is recorded as damage).
    ///
    /// A pack listed by [`PackSet::open`] but gone by now was deleted by a concurrent
    /// `gc` or consolidation, which seal the packs holding its live records *before*
    /// deleting it: the directory is listed again and the newly sealed packs are
    /// loaded too, so a reader never loses an object to that race.
    pub(crate) fn loaded(&self) -> &Loaded {
        self.loaded
            .get_or_init(|| self.load(self.index_stems.clone(), BTreeSet::new()))
    }

    /// Loads the packs of `stems`; a pack that vanished meanwhile makes the directory
    /// be listed again for packs not in `tried` (see [`PackSet::loaded`]).
    fn load(&self, mut stems: Vec<String>, mut tried: BTreeSet<String>) -> Loaded {
        let mut l = Loaded::default();
        loop {
            let mut vanished = false;
            for stem in &stems {
                tried.insert(stem.clone());
                let idx_path = self.dir.join(format!("{stem}.{INDEX_EXT}"));
                match PackIndex::load(&idx_path).and_then(|i| LoadedPack::open(&self.dir, stem, i))
                {
                    Ok(pack) => l.packs.push(pack),
                    // Deletion removes the index first: a pack file missing
                    // beside an index that is still there is damage, not a race.
                    Err(PackError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound && !idx_path.exists() =>
                    {
                        vanished = true;
                    }
                    Err(e) => l.damaged.push(Damage::from_open_error(stem, e)),
                }
            }
            if !vanished {
                break;
            }
            stems = self.listed_except(&tried);
            if stems.is_empty() {
                break;
            }
        }
        l
    }

    /// Stems of the sealed packs now in the directory, less `known`.
    fn listed_except(&self, known: &BTreeSet<String>) -> Vec<String> {
        match PackSet::open(&self.dir) {
            Ok(now) => now
                .index_stems
                .into_iter()
                .filter(|s| !known.contains(s))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Picks up packs other processes sealed since the directory was last scanned;
    /// true if any was added. Cheap when nothing changed (one `stat`). Lookups that
    /// miss call it themselves; packs are only appended, so positions stay valid. An
    /// index that fails to load here is skipped (it shows as damage at the next open).
    pub fn refresh(&self) -> bool {
        let loaded = self.loaded();
        let mut scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        if !scan.stale(&self.dir) {
            return false;
        }
        let failed = std::mem::take(&mut scan.failed);
        *scan = Scan::now(&self.dir, failed);
        let mut known: BTreeSet<String> = self.all_packs().map(|p| p.stem.clone()).collect();
        known.extend(loaded.damaged.iter().map(|d| d.pack.clone()));
        known.extend(scan.failed.iter().cloned());
        let stems = self.listed_except(&known);
        if stems.is_empty() {
            return false;
        }
        let found = self.load(stems, known);
        scan.failed
            .extend(found.damaged.into_iter().map(|d| d.pack));
        if found.packs.is_empty() {
            return false;
        }
        // Refreshes are serialised by `scan`, so the tail's slot is empty.
        let _ = self.later.tail().next.set(Box::new(Segment {
            packs: found.packs,
            next: Later::default(),
        }));
        true
    }

    /// Every loaded pack, in the order [`Location::pack`] counts them: those loaded
    /// first, then those found by [`PackSet::refresh`].
    pub(crate) fn all_packs(&self) -> impl Iterator<Item = &LoadedPack> + '_ {
        self.loaded().packs.iter().chain(self.later.packs())
    }

    /// The pack at position `pack`. Panics if out of range.
    fn pack_at(&self, pack: usize) -> &LoadedPack {
        let first = &self.loaded().packs;
        match first.get(pack) {
            Some(p) => p,
            None => self
                .later
                .packs()
                .nth(pack - first.len())
                .expect("a pack position from this set"),
        }
    }

    /// [`PackSet::loaded`], mutably, with the packs found by refreshes moved in (same
    /// order, so positions do not change).
    pub(crate) fn loaded_mut(&mut self) -> &mut Loaded {
        self.loaded();
        let later = self.later.take();
        let loaded = self.loaded.get_mut().expect("loaded() initialised it");
        loaded.packs.extend(later);
        loaded
    }

    /// The directory of this set.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Pack files without an index, found at [`open`](Self::open) and not yet recovered.
    /// A writer in progress also looks like this, which is why recovery needs the
    /// store's write lock.
    pub fn unsealed(&self) -> &[PathBuf] {
        &self.unsealed
    }

    /// Indexes that could not be loaded at [`open`](Self::open), as damage reports
    /// (`pack` names the `.idx` or `.pack` file at fault).
    pub fn damaged_indexes(&self) -> &[Damage] {
        &self.loaded().damaged
    }

    /// Makes a freshly finished pack visible. A pack the set already holds (it was
    /// opened after the pack was sealed) is left as it is. Fails, leaving the set
    /// unchanged, if the pack was written to another directory.
    pub fn add_sealed(&mut self, pack: SealedPack) -> Result<(), PackError> {
        let pack = pack.0;
        let parent = pack.pack_path.parent().unwrap_or(Path::new(""));
        let same_dir = parent == self.dir
            || matches!(
                (parent.canonicalize(), self.dir.canonicalize()),
                (Ok(a), Ok(b)) if a == b
            );
        if !same_dir {
            return Err(PackError::AddSealed {
                reason: format!(
                    "sealed in {}, not in this pack set's directory {}",
                    parent.display(),
                    self.dir.display()
                ),
                path: pack.pack_path,
            });
        }
        if !self.loaded_mut().packs.iter().any(|p| p.stem == pack.stem) {
            self.loaded_mut().packs.push(pack);
        }
        Ok(())
    }

    /// True if some pack holds `id`, refreshing once on a miss ([`PackSet::refresh`]).
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.contains_loaded(id) || (self.refresh() && self.contains_loaded(id))
    }

    /// True if a pack already loaded holds `id` (no refresh: for the writer, whose
    /// lock keeps other processes from adding packs).
    pub(crate) fn contains_loaded(&self, id: &ObjectId) -> bool {
        self.all_packs().any(|p| p.index.position(id).is_some())
    }

    /// Where `id` is stored (the first pack holding it), refreshing once on a miss.
    pub fn locate(&self, id: &ObjectId) -> Option<Location> {
        self.locate_loaded(id)
            .or_else(|| self.refresh().then(|| self.locate_loaded(id)).flatten())
    }

    fn locate_loaded(&self, id: &ObjectId) -> Option<Location> {
        self.all_packs()
            .enumerate()
            .find_map(|(pack, p)| p.index.lookup(id).map(|entry| Location { pack, entry }))
    }

    /// Reads and fully verifies the record of `id`: its header must agree with the
    /// index, its payload decode to raw_len bytes that hash to `id`. `Ok(None)` if no
    /// pack holds `id`, unless an index is damaged: then absence is not known and the
    /// error [`PackError::InDamagedPack`] says so. Callable from several threads.
    pub fn read(&self, id: &ObjectId) -> Result<Option<(ObjectKind, Vec<u8>)>, PackError> {
        let Some(loc) = self.locate(id) else {
            return match self.loaded().damaged.first() {
                None => Ok(None),
                Some(d) => Err(PackError::InDamagedPack {
                    id: *id,
                    index: d.pack.clone(),
                    reason: d.reason.clone(),
                }),
            };
        };
        let pack = self.pack_at(loc.pack);
        let e = &loc.entry;
        let mut buf = Vec::new();
        let mut out = Vec::new();
        pack.read_verified(e, &mut buf, &mut out)?;
        Ok(Some((e.kind, out)))
    }

    /// Reads the record at `loc` into `buf[at..]` ([`LoadedPack::read_record_at`]).
    pub fn read_record_at(
        &self,
        loc: &Location,
        buf: &mut Vec<u8>,
        at: usize,
    ) -> Result<(), PackError> {
        self.pack_at(loc.pack).read_record_at(&loc.entry, buf, at)
    }

    /// The stored bytes of a record, header and payload, for copying it into another
    /// pack without recompression. The header is checked against the index entry; the
    /// payload is not decoded.
    pub fn read_raw_record(&self, loc: &Location) -> Result<Vec<u8>, PackError> {
        let mut buf = Vec::new();
        self.pack_at(loc.pack).read_record(&loc.entry, &mut buf)?;
        Ok(buf)
    }

    /// Up to `limit` ids starting with `prefix`, ascending and deduplicated across
    /// packs; each pack is searched from the prefix's lower bound, never scanned.
    /// Refreshes once when nothing matches.
    pub fn resolve_prefix(&self, prefix: &IdPrefix, limit: usize) -> Vec<ObjectId> {
        let found = self.resolve_prefix_loaded(prefix, limit);
        if found.is_empty() && self.refresh() {
            return self.resolve_prefix_loaded(prefix, limit);
        }
        found
    }

    fn resolve_prefix_loaded(&self, prefix: &IdPrefix, limit: usize) -> Vec<ObjectId> {
        let start = prefix.lower_bound();
        let mut found = BTreeSet::new();
        for p in self.all_packs() {
            let first = p.index.lower_bound(&start);
            found.extend(
                (first..p.index.len())
                    .map(|i| p.index.id(i))
                    .take_while(|id| prefix.matches(id))
                    .take(limit),
            );
        }
        found.into_iter().take(limit).collect()
    }

    /// Every index entry with the position of its pack, pack by pack in id order.
    /// An id stored in several packs appears once per pack.
    pub fn entries(&self) -> impl Iterator<Item = (usize, IndexEntry)> + '_ {
        self.all_packs()
            .enumerate()
            .flat_map(|(i, p)| p.index.iter().map(move |e| (i, e)))
    }

    /// The sealed packs, in the order [`Location::pack`] counts them.
    pub fn packs(&self) -> impl ExactSizeIterator<Item = PackInfo<'_>> + '_ {
        let packs: Vec<PackInfo<'_>> = self
            .all_packs()
            .map(|p| PackInfo {
                name: &p.stem,
                pack_len: p.index.pack_len(),
                entries: p.index.len(),
            })
            .collect();
        packs.into_iter()
    }

    /// Name of the pack at `pack` (a [`Location::pack`]). Panics if out of range.
    pub fn pack_name(&self, pack: usize) -> &str {
        &self.pack_at(pack).stem
    }

    /// Path of the pack file at `pack`. Panics if out of range.
    pub fn pack_path(&self, pack: usize) -> &Path {
        &self.pack_at(pack).pack_path
    }
}
