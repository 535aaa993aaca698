//! Full verification of every sealed pack, for `gadn fsck`.

use std::fmt;

use crate::store::id::{ObjectId, ObjectKind};

use super::error::PackError;
use super::format::{check_pack_header, PACK_HEADER_LEN};
use super::io::read_exact_at;
use super::set::{LoadedPack, PackSet};

/// One problem found by [`PackSet::verify`] or at [`PackSet::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// File name of the pack (or index) at fault, e.g. `pack-0123456789abcdef.pack`.
    pub pack: String,
    /// Offset in that file where the problem is (a record header, or the truncation
    /// point); 0 for problems of the whole file.
    pub offset: u64,
    /// The object concerned, if the problem is one record.
    pub id: Option<ObjectId>,
    /// Its kind, if known.
    pub kind: Option<ObjectKind>,
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pack)?;
        if self.offset != 0 {
            write!(f, " at offset {}", self.offset)?;
        }
        if let Some(id) = self.id {
            match self.kind {
                Some(kind) => write!(f, " ({kind} {id})")?,
                None => write!(f, " ({id})")?,
            }
        }
        write!(f, ": {}", self.reason)
    }
}

impl Damage {
    fn whole_file(pack: String, offset: u64, reason: String) -> Self {
        Damage {
            pack,
            offset,
            id: None,
            kind: None,
            reason,
        }
    }

    /// A damage report for an index (or its pack) that failed to load at open.
    pub(crate) fn from_open_error(stem: &str, err: PackError) -> Self {
        let (file, reason) = match err {
            PackError::Index { path, problem } => (file_name(&path), problem.to_string()),
            PackError::Io { path, source } => (file_name(&path), source.to_string()),
            other => (format!("{stem}.idx"), other.to_string()),
        };
        Damage::whole_file(file, 0, reason)
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

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
        for pack in &self.loaded().packs {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pack::error::IndexProblem;

    #[test]
    fn damage_names_file_offset_and_record() {
        let id = ObjectId::of_chunk(b"x");
        let whole = Damage::whole_file("pack-a.pack".into(), 0, "bad".into());
        assert_eq!(whole.to_string(), "pack-a.pack: bad");
        let at = Damage::whole_file("pack-a.pack".into(), 99, "cut".into());
        assert_eq!(at.to_string(), "pack-a.pack at offset 99: cut");
        let record = Damage {
            id: Some(id),
            kind: Some(ObjectKind::Tree),
            ..at.clone()
        };
        assert_eq!(
            record.to_string(),
            format!("pack-a.pack at offset 99 (tree {id}): cut")
        );
        let unknown_kind = Damage {
            kind: None,
            ..record
        };
        assert_eq!(
            unknown_kind.to_string(),
            format!("pack-a.pack at offset 99 ({id}): cut")
        );
    }

    #[test]
    fn open_errors_name_the_file_at_fault() {
        let stem = "pack-0123456789abcdef";
        let index = PackError::Index {
            path: format!("/s/packs/{stem}.idx").into(),
            problem: IndexProblem::ChecksumMismatch,
        };
        let d = Damage::from_open_error(stem, index);
        assert_eq!(
            (d.pack.as_str(), d.offset, d.id),
            ("pack-0123456789abcdef.idx", 0, None)
        );
        assert_eq!(d.reason, IndexProblem::ChecksumMismatch.to_string());
        let io = PackError::Io {
            path: format!("/s/packs/{stem}.pack").into(),
            source: std::io::Error::other("gone"),
        };
        let d = Damage::from_open_error(stem, io);
        assert_eq!(
            (d.pack.as_str(), d.reason.as_str()),
            ("pack-0123456789abcdef.pack", "gone")
        );
        // Any other error is put on the index, with its whole message.
        let other = PackError::PackHeader {
            path: "/s/packs/x.pack".into(),
            problem: "bad magic".into(),
        };
        let message = other.to_string();
        let d = Damage::from_open_error(stem, other);
        assert_eq!(
            (d.pack.as_str(), d.reason),
            ("pack-0123456789abcdef.idx", message)
        );
        // A path without a file name is shown whole.
        assert_eq!(file_name(std::path::Path::new("/")), "/");
    }
}
