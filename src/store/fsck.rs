//! `fsck`: prove a store whole, or name what is damaged and where.

use super::error::StoreError;
use super::walk::{reachable, WalkProblem};
use super::Store;

/// A damaged record, located in its pack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DamagedRecord {
    /// Pack (or index) file name.
    pub pack: String,
    /// Byte offset of the record in the pack.
    pub offset: u64,
    /// The record's id, when known.
    pub id: Option<String>,
    /// The record's kind, when known.
    pub kind: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
}

/// What [`Store::fsck`] found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FsckReport {
    /// Sealed packs checked.
    pub packs: usize,
    /// Records re-hashed.
    pub records: u64,
    /// Records reachable from refs, reflogs and the index.
    pub reachable: usize,
    /// Records whose bytes are damaged, and damaged pack or index files.
    pub damaged: Vec<DamagedRecord>,
    /// References to records that are missing, of the wrong kind, or undecodable.
    pub broken_links: Vec<WalkProblem>,
    /// Packs left unsealed by an interrupted writer (recovered by the next writer).
    pub unsealed: Vec<String>,
}

impl FsckReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.damaged.is_empty() && self.broken_links.is_empty()
    }
}

impl Store {
    /// Re-hashes every record in every pack, checks every index, then walks every
    /// reference from refs, reflogs and the index. `on_progress` receives bytes checked.
    pub fn fsck(&self, on_progress: &mut dyn FnMut(u64)) -> Result<FsckReport, StoreError> {
        let mut report = FsckReport {
            packs: self.packs.packs().count(),
            records: self.packs.entries().count() as u64,
            ..Default::default()
        };
        let to_record = |d: super::pack::Damage| DamagedRecord {
            pack: d.pack,
            offset: d.offset,
            id: d.id.map(|i| i.to_hex()),
            kind: d.kind.map(|k| k.name()),
            reason: d.reason,
        };
        report
            .damaged
            .extend(self.packs.damaged_indexes().iter().cloned().map(to_record));
        report
            .damaged
            .extend(self.packs.verify(on_progress)?.into_iter().map(to_record));
        report.unsealed = self
            .packs
            .unsealed()
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let walk = reachable(self)?;
        report.reachable = walk.ids.len();
        report.broken_links = walk.problems;
        Ok(report)
    }
}
