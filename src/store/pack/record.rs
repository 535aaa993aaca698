//! Records (`store-format.md` § 6.1): the 44-byte header, and checking a whole record
//! against its index entry. No I/O, so a mirror client that fetched a record with a
//! range request verifies it with the same code as a local read.

use crate::store::id::{ObjectId, ObjectKind, ID_LEN};

use super::codec::decode_payload_into;
use super::error::RecordProblem;
use super::format::{le_u32, Codec, RECORD_HEADER_LEN};
use super::index::IndexEntry;

/// A decoded record header: kind u8 || codec u8 || reserved u16 = 0 || raw_len u32 ||
/// stored_len u32 || id \[32\].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Kind of the record.
    pub kind: ObjectKind,
    /// Encoding of the payload.
    pub codec: Codec,
    /// Length of the raw (decoded) bytes.
    pub raw_len: u32,
    /// Length of the payload that follows the header.
    pub stored_len: u32,
    /// Id of the raw bytes, per [`ObjectId::compute`].
    pub id: ObjectId,
}

impl RecordHeader {
    /// Encodes the 44 header bytes.
    pub fn encode(&self) -> [u8; RECORD_HEADER_LEN] {
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0] = self.kind as u8;
        h[1] = self.codec as u8;
        // h[2..4] reserved, zero.
        h[4..8].copy_from_slice(&self.raw_len.to_le_bytes());
        h[8..12].copy_from_slice(&self.stored_len.to_le_bytes());
        h[12..44].copy_from_slice(self.id.as_bytes());
        h
    }

    /// Decodes and sanity-checks 44 header bytes: known kind and codec, reserved zero,
    /// a raw payload as long as its raw bytes. Does not look at the payload.
    pub fn decode(h: &[u8; RECORD_HEADER_LEN]) -> Result<Self, RecordProblem> {
        let kind = ObjectKind::from_u8(h[0]).ok_or(RecordProblem::UnknownKind { kind: h[0] })?;
        let codec = Codec::from_u8(h[1]).ok_or(RecordProblem::UnknownCodec { codec: h[1] })?;
        if h[2..4] != [0, 0] {
            return Err(RecordProblem::NonZeroReserved);
        }
        let raw_len = le_u32(&h[4..8]);
        let stored_len = le_u32(&h[8..12]);
        if codec == Codec::Raw && raw_len != stored_len {
            return Err(RecordProblem::RawLengthMismatch {
                raw_len,
                stored_len,
            });
        }
        let id = ObjectId::from_slice(&h[12..12 + ID_LEN]).expect("slice of ID_LEN bytes");
        Ok(RecordHeader {
            kind,
            codec,
            raw_len,
            stored_len,
            id,
        })
    }

    /// Length of the whole record, header plus payload.
    pub fn record_len(&self) -> u64 {
        RECORD_HEADER_LEN as u64 + u64::from(self.stored_len)
    }

    /// Checks that this header says what the index entry says.
    pub fn check_against(&self, e: &IndexEntry) -> Result<(), RecordProblem> {
        let mismatch = |field, in_pack: String, in_index: String| {
            Err(RecordProblem::HeaderMismatch {
                field,
                in_pack: in_pack.into(),
                in_index: in_index.into(),
            })
        };
        if self.id != e.id {
            return mismatch("id", self.id.to_hex(), e.id.to_hex());
        }
        if self.kind != e.kind {
            return mismatch("kind", self.kind.to_string(), e.kind.to_string());
        }
        if self.codec != e.codec {
            return mismatch("codec", self.codec.name().into(), e.codec.name().into());
        }
        if self.raw_len != e.raw_len {
            return mismatch("raw_len", self.raw_len.to_string(), e.raw_len.to_string());
        }
        if self.stored_len != e.stored_len {
            return mismatch(
                "stored_len",
                self.stored_len.to_string(),
                e.stored_len.to_string(),
            );
        }
        Ok(())
    }
}

/// Checks a whole record's bytes (header and payload) against its index entry, without
/// decoding the payload. Returns the payload.
pub fn check_record_header<'r>(
    e: &IndexEntry,
    record: &'r [u8],
) -> Result<&'r [u8], RecordProblem> {
    if record.len() as u64 != e.record_len() {
        return Err(RecordProblem::RecordLength {
            expected: e.record_len(),
            actual: record.len() as u64,
        });
    }
    let (head, payload) = record.split_at(RECORD_HEADER_LEN);
    let head: &[u8; RECORD_HEADER_LEN] = head.try_into().expect("split at header length");
    RecordHeader::decode(head)?.check_against(e)?;
    Ok(payload)
}

/// Fully verifies a record's bytes against its index entry (header agrees, payload
/// decodes to raw_len bytes, which hash to the id) and leaves the raw bytes in `out`.
pub fn decode_record(
    e: &IndexEntry,
    record: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), RecordProblem> {
    let payload = check_record_header(e, record)?;
    decode_payload_into(e.codec, payload, e.raw_len, out)?;
    let actual = ObjectId::compute(e.kind, out);
    if actual != e.id {
        return Err(RecordProblem::HashMismatch { actual });
    }
    Ok(())
}

/// [`decode_record`] without keeping the decoded bytes: a raw payload is hashed where
/// it lies, a compressed one is decoded into `scratch` (reused between calls). For a
/// sender that must not send bytes it has not verified, at the cost of one hash.
pub fn check_record(
    e: &IndexEntry,
    record: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<(), RecordProblem> {
    if e.codec != Codec::Raw {
        return decode_record(e, record, scratch);
    }
    // The header check refuses a raw record whose stored and raw lengths differ.
    let payload = check_record_header(e, record)?;
    let actual = ObjectId::compute(e.kind, payload);
    if actual != e.id {
        return Err(RecordProblem::HashMismatch { actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RecordHeader {
        RecordHeader {
            kind: ObjectKind::Tree,
            codec: Codec::Zstd,
            raw_len: 0x0102_0304,
            stored_len: 0x0506,
            id: ObjectId::of_chunk(b"abc"),
        }
    }

    #[test]
    fn header_round_trip_and_layout() {
        let hdr = header();
        let b = hdr.encode();
        assert_eq!(b.len(), RECORD_HEADER_LEN);
        assert_eq!(b[0], 3);
        assert_eq!(b[1], 1);
        assert_eq!(&b[2..4], &[0, 0]);
        assert_eq!(&b[4..8], &[4, 3, 2, 1]);
        assert_eq!(&b[8..12], &[6, 5, 0, 0]);
        assert_eq!(&b[12..], hdr.id.as_bytes());
        assert_eq!(RecordHeader::decode(&b).unwrap(), hdr);
        assert_eq!(hdr.record_len(), 44 + 0x0506);
    }

    #[test]
    fn header_sanity_checks() {
        let b = header().encode();
        let with = |at: usize, v: u8| {
            let mut bad = b;
            bad[at] = v;
            RecordHeader::decode(&bad)
        };
        assert_eq!(with(0, 10), Err(RecordProblem::UnknownKind { kind: 10 }));
        assert_eq!(with(1, 7), Err(RecordProblem::UnknownCodec { codec: 7 }));
        assert_eq!(with(3, 1), Err(RecordProblem::NonZeroReserved));
        // Raw, but raw_len != stored_len.
        assert!(matches!(
            with(1, 0),
            Err(RecordProblem::RawLengthMismatch { .. })
        ));
    }

    #[test]
    fn records_are_checked_against_their_entry() {
        let raw = b"some raw bytes".to_vec();
        let id = ObjectId::compute(ObjectKind::Commit, &raw);
        let e = IndexEntry {
            id,
            offset: 16,
            stored_len: raw.len() as u32,
            raw_len: raw.len() as u32,
            kind: ObjectKind::Commit,
            codec: Codec::Raw,
        };
        let h = RecordHeader {
            kind: e.kind,
            codec: e.codec,
            raw_len: e.raw_len,
            stored_len: e.stored_len,
            id,
        };
        let mut record = h.encode().to_vec();
        record.extend_from_slice(&raw);
        let mut out = Vec::new();
        decode_record(&e, &record, &mut out).unwrap();
        assert_eq!(out, raw);

        let short = &record[..record.len() - 1];
        assert!(matches!(
            decode_record(&e, short, &mut out),
            Err(RecordProblem::RecordLength { .. })
        ));
        let other_kind = IndexEntry {
            kind: ObjectKind::Tag,
            ..e
        };
        assert!(matches!(
            decode_record(&other_kind, &record, &mut out),
            Err(RecordProblem::HeaderMismatch { field: "kind", .. })
        ));
        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            decode_record(&e, &flipped, &mut out),
            Err(RecordProblem::HashMismatch { .. })
        ));
    }

    /// What a sender checks before it sends: a raw record hashed where it lies, a
    /// compressed one decoded into the scratch buffer; a flipped byte or a header
    /// that disagrees with the index is refused either way.
    #[test]
    fn check_record_refuses_what_does_not_hash_to_its_id() {
        let raw = vec![7u8; 4096];
        let record_of = |codec: Codec, payload: &[u8]| {
            let e = IndexEntry {
                id: ObjectId::compute(ObjectKind::Chunk, &raw),
                offset: 16,
                stored_len: payload.len() as u32,
                raw_len: raw.len() as u32,
                kind: ObjectKind::Chunk,
                codec,
            };
            let h = RecordHeader {
                kind: e.kind,
                codec,
                raw_len: e.raw_len,
                stored_len: e.stored_len,
                id: e.id,
            };
            let mut record = h.encode().to_vec();
            record.extend_from_slice(payload);
            (e, record)
        };
        let zstd = zstd::bulk::compress(&raw, 3).unwrap();
        let mut scratch = Vec::new();
        for (codec, payload) in [(Codec::Raw, &raw[..]), (Codec::Zstd, &zstd[..])] {
            let (e, record) = record_of(codec, payload);
            assert_eq!(check_record(&e, &record, &mut scratch), Ok(()), "{codec:?}");
            let mut flipped = record.clone();
            flipped[RECORD_HEADER_LEN + 1] ^= 0x40;
            assert!(
                check_record(&e, &flipped, &mut scratch).is_err(),
                "{codec:?}: a flipped payload byte passed"
            );
            let mut bad_head = record.clone();
            bad_head[12] ^= 1;
            assert!(matches!(
                check_record(&e, &bad_head, &mut scratch),
                Err(RecordProblem::HeaderMismatch { field: "id", .. })
            ));
        }
        let (e, mut record) = record_of(Codec::Raw, &raw);
        *record.last_mut().unwrap() ^= 1;
        assert!(matches!(
            check_record(&e, &record, &mut scratch),
            Err(RecordProblem::HashMismatch { .. })
        ));
    }

    #[test]
    fn every_header_field_is_checked_against_the_entry() {
        let h = header();
        let e = IndexEntry {
            id: h.id,
            offset: 16,
            stored_len: h.stored_len,
            raw_len: h.raw_len,
            kind: h.kind,
            codec: h.codec,
        };
        assert_eq!(h.check_against(&e), Ok(()));
        let other = ObjectId::of_chunk(b"other");
        let cases = [
            (
                IndexEntry { id: other, ..e },
                "id",
                h.id.to_hex(),
                other.to_hex(),
            ),
            (
                IndexEntry {
                    kind: ObjectKind::Tag,
                    ..e
                },
                "kind",
                "tree".into(),
                "tag".into(),
            ),
            (
                IndexEntry {
                    codec: Codec::Raw,
                    ..e
                },
                "codec",
                "zstd".into(),
                "raw".into(),
            ),
            (
                IndexEntry { raw_len: 9, ..e },
                "raw_len",
                h.raw_len.to_string(),
                "9".into(),
            ),
            (
                IndexEntry { stored_len: 8, ..e },
                "stored_len",
                h.stored_len.to_string(),
                "8".into(),
            ),
        ];
        for (entry, field, in_pack, in_index) in cases {
            let want = RecordProblem::HeaderMismatch {
                field,
                in_pack: in_pack.into(),
                in_index: in_index.into(),
            };
            assert_eq!(h.check_against(&entry), Err(want));
        }
        // Through a whole record: a header that disagrees is found before decoding.
        let mut record = h.encode().to_vec();
        record.resize(h.record_len() as usize, 0);
        let wrong = IndexEntry { raw_len: 9, ..e };
        assert!(matches!(
            decode_record(&wrong, &record, &mut Vec::new()),
            Err(RecordProblem::HeaderMismatch {
                field: "raw_len",
                ..
            })
        ));
    }
}
