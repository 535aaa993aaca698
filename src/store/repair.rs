//! Repair of a damaged store from verified copies found elsewhere
//! (`store-format.md` § 9, *Repair*): what to ask for, how a replacement is
//! appended beside the damaged copy it replaces, and how the damaged copy is then
//! dropped. Where the copies come from (peers, other stores) is the caller's.

use std::collections::BTreeMap;

use super::error::StoreError;
use super::fsck::FsckReport;
use super::id::ObjectId;
use super::lock::StoreLock;
use super::pack::{DamagedAt, DropReport, PACK_EXT};
use super::raw::RawRecord;
use super::write::ObjectWriter;
use super::Store;

/// Why a record is wanted by [`wanted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Want {
    /// A stored copy fails its check.
    Damaged,
    /// Something reachable names it and no pack holds it.
    Missing,
}

/// The records `report` shows a healthy copy of is needed for, by id: those whose
/// stored bytes are damaged (where they are: an id may be damaged in several
/// packs), and those that reachable objects name and no pack holds (broken links
/// whose reason is `missing`). Damage to a whole file (a pack header, an index)
/// names no record and is not here.
pub fn wanted(report: &FsckReport) -> BTreeMap<ObjectId, (Want, Vec<DamagedAt>)> {
    let mut out: BTreeMap<ObjectId, (Want, Vec<DamagedAt>)> = BTreeMap::new();
    for d in &report.damaged {
        let Some(id) = d.id.as_deref().and_then(|h| h.parse::<ObjectId>().ok()) else {
            continue;
        };
        let pack = d
            .pack
            .strip_suffix(&format!(".{PACK_EXT}"))
            .unwrap_or(&d.pack)
            .to_string();
        let entry = out.entry(id).or_insert((Want::Damaged, Vec::new()));
        entry.1.push(DamagedAt {
            pack,
            offset: d.offset,
            id,
        });
    }
    for b in report.broken_links.iter().filter(|b| b.reason == "missing") {
        if let Ok(id) = b.id.parse::<ObjectId>() {
            out.entry(id).or_insert((Want::Missing, Vec::new()));
        }
    }
    out
}

impl ObjectWriter<'_> {
    /// Checks `rec` ([`RawRecord::check`]) and appends it even when a copy of it
    /// is stored already: that copy is damaged, and this one replaces it once
    /// [`Store::drop_superseded`] has dropped it. Returns false if this writer
    /// appended the record already.
    pub fn put_replacement(&mut self, rec: RawRecord) -> Result<bool, StoreError> {
        rec.check()?;
        self.append_encoded(rec.id, rec.kind, rec.codec, rec.raw_len, rec.payload)
    }
}

impl Store {
    /// Drops each damaged record of `damaged` that another pack holds a verified
    /// copy of, rewriting its pack without it ([`super::pack::PackSet::drop_superseded`]:
    /// the rest of the pack is copied and sealed before the old pack is deleted).
    /// Records without a healthy copy stay as they are. `lock` proves this process
    /// is the only writer.
    pub fn drop_superseded(
        &mut self,
        _lock: &StoreLock,
        damaged: &[DamagedAt],
    ) -> Result<DropReport, StoreError> {
        Ok(self.packs.drop_superseded(damaged)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fsck::DamagedRecord;
    use crate::store::walk::WalkProblem;

    fn damaged(pack: &str, offset: u64, id: Option<&ObjectId>) -> DamagedRecord {
        DamagedRecord {
            pack: pack.into(),
            offset,
            id: id.map(|i| i.to_hex()),
            kind: None,
            reason: "x".into(),
        }
    }

    fn link(id: &str, reason: &str) -> WalkProblem {
        WalkProblem {
            id: id.into(),
            expected: "tree",
            referrer: "refs/heads/main".into(),
            reason: reason.into(),
        }
    }

    /// Damaged records by pack stem (an id damaged in two packs has both sites),
    /// missing links; whole-file damage, other broken links and ids that do not
    /// parse are not wanted.
    #[test]
    fn wanted_names_damaged_sites_and_missing_records_only() {
        let (x, y, m) = (
            ObjectId::of_chunk(b"x"),
            ObjectId::of_chunk(b"y"),
            ObjectId::of_chunk(b"m"),
        );
        let report = FsckReport {
            damaged: vec![
                damaged("pack-a.pack", 16, Some(&x)),
                damaged("pack-b.pack", 99, Some(&x)),
                damaged("odd-name", 5, Some(&y)),
                damaged("pack-c.idx", 0, None),
                DamagedRecord {
                    id: Some("not hex".into()),
                    ..damaged("pack-a.pack", 1, None)
                },
            ],
            broken_links: vec![
                link(&m.to_hex(), "missing"),
                link(&y.to_hex(), "is a chunk"),
                link("zz", "missing"),
            ],
            ..FsckReport::default()
        };
        let w = wanted(&report);
        assert_eq!(w.len(), 3, "{w:?}");
        let at = |pack: &str, offset, id| DamagedAt {
            pack: pack.into(),
            offset,
            id,
        };
        assert_eq!(
            w[&x],
            (
                Want::Damaged,
                vec![at("pack-a", 16, x), at("pack-b", 99, x)]
            )
        );
        assert_eq!(w[&y], (Want::Damaged, vec![at("odd-name", 5, y)]));
        assert_eq!(w[&m], (Want::Missing, vec![]));
    }
}
