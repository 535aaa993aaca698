//! Full verification of every sealed pack, for `gadn fsck`.

use super::bundle::LoadedPack;
use super::damage::{file_name, Damage};
use super::error::PackError;
use super::format::{check_pack_header, PACK_HEADER_LEN};
use super::io::read_exact_at;
use super::set::PackSet;

impl PackSet {
    /// Reads and fully verifies every record of every sealed pack (header agrees with
    /// the index, payload decodes, content hashes to the id), and checks each pack's
    /// header and length against its index and that no two records overlap.
    /// `on_progress` receives the byte count of each record as it is verified
    /// (increments, for a progress bar).
    ///
    /// Indexes that failed at [`open`](Self::open) are *not* repeated here; they are in
    /// [`damaged_indexes`](Self::damaged_indexes). Damage is returned, not raised: a
    /// read error on one record is damage of that record, and verification goes on.
    pub fn verify(&self, mut on_progress: impl FnMut(u64)) -> Result<Vec<Damage>, PackError> {
        let mut damage = Vec::new();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for pack in self.all_packs() {
            verify_pack(pack, &mut damage, &mut buf, &mut out, &mut on_progress);
        }
        Ok(damage)
    }
}

fn verify_pack(
    pack: &LoadedPack,
    damage: &mut Vec<Damage>,
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
    on_progress: &mut dyn FnMut(u64),
) {
    let name = file_name(&pack.pack_path);
    let mut header = [0u8; PACK_HEADER_LEN];
    let checked = read_exact_at(&pack.file, &mut header, 0)
        .map_err(|e| e.to_string())
        .and_then(|()| check_pack_header(&header));
    if let Err(reason) = checked {
        damage.push(Damage::whole_file(
            name.clone(),
            0,
            format!("pack header: {reason}"),
        ));
    }
    let expected = pack.index.pack_len();
    match pack.file.metadata() {
        Ok(m) if m.len() < expected => damage.push(Damage::whole_file(
            name.clone(),
            m.len(),
            format!(
                "pack is truncated: {} bytes, its index covers {expected}",
                m.len()
            ),
        )),
        Ok(m) if m.len() > expected => damage.push(Damage::whole_file(
            name.clone(),
            expected,
            format!(
                "pack has {} bytes beyond the {expected} its index covers",
                m.len() - expected
            ),
        )),
        Ok(_) => {}
        Err(e) => damage.push(Damage::whole_file(name.clone(), 0, e.to_string())),
    }
    // In offset order, so the pack is read front to back.
    let mut entries: Vec<_> = pack.index.iter().collect();
    entries.sort_unstable_by_key(|e| e.offset);
    let mut previous_end = PACK_HEADER_LEN as u64;
    for e in &entries {
        if e.offset < previous_end {
            damage.push(Damage {
                pack: name.clone(),
                offset: e.offset,
                id: Some(e.id),
                kind: Some(e.kind),
                reason: format!("record overlaps the previous one, which ends at {previous_end}"),
            });
        }
        previous_end = previous_end.max(e.end());
        if let Err(err) = pack.read_verified(e, buf, out) {
            let reason = match err {
                PackError::Record { problem, .. } => problem.to_string(),
                other => other.to_string(),
            };
            damage.push(Damage {
                pack: name.clone(),
                offset: e.offset,
                id: Some(e.id),
                kind: Some(e.kind),
                reason,
            });
        }
        on_progress(e.record_len());
    }
}
