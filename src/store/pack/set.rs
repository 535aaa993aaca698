//! The set of packs in a directory: open, look up, read (`store-format.md` § 6).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    loaded: std::sync::OnceLock<Loaded>,
    pub(crate) unsealed: Vec<PathBuf>,
    pub(crate) stray_tmp: Vec<PathBuf>,
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
            loaded: std::sync::OnceLock::new(),
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
        self.loaded.get_or_init(|| {
            let mut l = Loaded::default();
            let mut tried: BTreeSet<String> = BTreeSet::new();
            let mut stems = self.index_stems.clone();
            loop {
                let mut vanished = false;
                for stem in &stems {
                    tried.insert(stem.clone());
                    let idx_path = self.dir.join(format!("{stem}.{INDEX_EXT}"));
                    match PackIndex::load(&idx_path)
                        .and_then(|i| LoadedPack::open(&self.dir, stem, i))
                    {
                        Ok(pack) => l.packs.push(pack),
                        // Deletion removes the index first: a pack file missing
                        // beside an index that is still there is damage, not a race.
                        Err(PackError::Io { source, .. })
                            if source.kind() == std::io::ErrorKind::NotFound
                                && !idx_path.exists() =>
                        {
                            vanished = true;
                        }
                        Err(e) => l.damaged.push(Damage::from_open_error(stem, e)),
                    }
                }
                if !vanished {
                    break;
                }
                stems = match PackSet::open(&self.dir) {
                    Ok(now) => now
                        .index_stems
                        .into_iter()
                        .filter(|s| !tried.contains(s))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                if stems.is_empty() {
                    break;
                }
            }
            l
        })
    }

    /// [`PackSet::loaded`], mutably.
    pub(crate) fn loaded_mut(&mut self) -> &mut Loaded {
        self.loaded();
        self.loaded.get_mut().expect("loaded() initialised it")
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

    /// True if some pack holds `id`.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.loaded()
            .packs
            .iter()
            .any(|p| p.index.position(id).is_some())
    }

    /// Where `id` is stored (the first pack holding it).
    pub fn locate(&self, id: &ObjectId) -> Option<Location> {
        self.loaded()
            .packs
            .iter()
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
        let pack = &self.loaded().packs[loc.pack];
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
        self.loaded().packs[loc.pack].read_record_at(&loc.entry, buf, at)
    }

    /// The stored bytes of a record, header and payload, for copying it into another
    /// pack without recompression. The header is checked against the index entry; the
    /// payload is not decoded.
    pub fn read_raw_record(&self, loc: &Location) -> Result<Vec<u8>, PackError> {
        let mut buf = Vec::new();
        self.loaded().packs[loc.pack].read_record(&loc.entry, &mut buf)?;
        Ok(buf)
    }

    /// Up to `limit` ids starting with `prefix`, ascending and deduplicated across
    /// packs; each pack is searched from the prefix's lower bound, never scanned.
    pub fn resolve_prefix(&self, prefix: &IdPrefix, limit: usize) -> Vec<ObjectId> {
        let start = prefix.lower_bound();
        let mut found = BTreeSet::new();
        for p in &self.loaded().packs {
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
        self.loaded()
            .packs
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.index.iter().map(move |e| (i, e)))
    }

    /// The sealed packs, in the order [`Location::pack`] counts them.
    pub fn packs(&self) -> impl ExactSizeIterator<Item = PackInfo<'_>> + '_ {
        self.loaded().packs.iter().map(|p| PackInfo {
            name: &p.stem,
            pack_len: p.index.pack_len(),
            entries: p.index.len(),
        })
    }

    /// Name of the pack at `pack` (a [`Location::pack`]). Panics if out of range.
    pub fn pack_name(&self, pack: usize) -> &str {
        &self.loaded().packs[pack].stem
    }

    /// Path of the pack file at `pack`. Panics if out of range.
    pub fn pack_path(&self, pack: usize) -> &Path {
        &self.loaded().packs[pack].pack_path
    }
}
