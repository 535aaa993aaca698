//! Where the payload of a `Record` frame starts, found from the frame's first bytes,
//! so a receiver reads the payload straight into a buffer of its own: one copy out of
//! the QUIC stream, where the generic path zeroes a frame buffer, reads into it, and
//! copies the byte string out again while decoding.
//!
//! Only the shape [`super::wire::encode`] writes qualifies: a definite-length map
//! whose `"t"` is `"Record"` and whose last entry is `"payload"`, a definite byte
//! string reaching exactly to the end of the frame. Anything else (other key orders,
//! indefinite lengths, a head too short to reach the payload) answers `None` and the
//! frame is read and decoded the generic way, so this is an optimisation only: the
//! fields before the payload are still decoded and bound-checked by
//! [`super::wire::decode`].

/// The payload's place in a frame body: its byte-string header spans
/// `header..start`, and the payload runs from `start` to the end of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tail {
    /// Offset of the payload's byte-string header.
    pub header: usize,
    /// Offset of the first payload byte.
    pub start: usize,
}

/// Most map entries looked through; a `Record` has six.
const MAX_ENTRIES: u64 = 16;

/// The payload of a `Record` frame of `frame_len` bytes whose first bytes are
/// `head`, or `None` if the frame does not have the shape described above (or
/// `head` ends before the payload's header does).
pub(super) fn record_tail(head: &[u8], frame_len: usize) -> Option<Tail> {
    let mut c = Cursor { buf: head, pos: 0 };
    let (major, entries) = c.header()?;
    if major != MAP || entries == 0 || entries > MAX_ENTRIES {
        return None;
    }
    let mut is_record = false;
    for i in 0..entries {
        let key = c.text()?;
        match key {
            b"t" => is_record = c.text()? == b"Record",
            b"payload" => {
                if i + 1 != entries || !is_record {
                    return None;
                }
                let header = c.pos;
                let (major, len) = c.header()?;
                let start = c.pos;
                let end = (start as u64).checked_add(len)?;
                return (major == BYTES && end == frame_len as u64)
                    .then_some(Tail { header, start });
            }
            _ => c.skip_value()?,
        }
    }
    None
}

const UNSIGNED: u8 = 0;
const NEGATIVE: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const MAP: u8 = 5;
const SIMPLE: u8 = 7;

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// A definite-length item header: (major type, argument).
    fn header(&mut self) -> Option<(u8, u64)> {
        let b = *self.take(1)?.first()?;
        let (major, info) = (b >> 5, b & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            _ => return None,
        };
        Some((major, arg))
    }

    fn text(&mut self) -> Option<&'a [u8]> {
        match self.header()? {
            (TEXT, len) => self.take(usize::try_from(len).ok()?),
            _ => None,
        }
    }

    /// Skips a value that is an integer, a string or `false`/`true`/`null`.
    fn skip_value(&mut self) -> Option<()> {
        match self.header()? {
            (UNSIGNED | NEGATIVE, _) => Some(()),
            (BYTES | TEXT, len) => self.take(usize::try_from(len).ok()?).map(|_| ()),
            (SIMPLE, 20..=22) => Some(()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ObjectId;
    use crate::sync::wire::{encode, Message};

    fn record(payload: Vec<u8>) -> Vec<u8> {
        let frame = encode(&Message::Record {
            id: ObjectId::from_bytes([7; 32]),
            kind: 1,
            codec: 0,
            raw_len: payload.len() as u32,
            payload,
        })
        .unwrap();
        frame[4..].to_vec()
    }

    #[test]
    fn finds_the_payload_of_records_of_every_length_encoding() {
        for n in [0usize, 1, 23, 24, 255, 256, 65_535, 65_536, 300_000] {
            let payload: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let body = record(payload.clone());
            let head = &body[..body.len().min(128)];
            let t = record_tail(head, body.len()).unwrap_or_else(|| panic!("n = {n}"));
            assert_eq!(&body[t.start..], &payload[..], "n = {n}");
            assert!(t.header < t.start && t.start <= 96, "n = {n}: {t:?}");
        }
    }

    #[test]
    fn anything_but_the_encoders_shape_is_left_to_the_generic_path() {
        let body = record(vec![9; 1000]);
        let len = body.len();
        // The frame is longer or shorter than the payload says.
        assert_eq!(record_tail(&body[..100], len + 1), None);
        assert_eq!(record_tail(&body[..100], len - 1), None);
        // The head ends before the payload's header.
        let t = record_tail(&body, len).unwrap();
        assert_eq!(record_tail(&body[..t.header], len), None);
        assert_eq!(record_tail(&body[..t.start - 1], len), None);
        assert_eq!(record_tail(&[], 0), None);
        // Another message type.
        let other = encode(&Message::Missing {
            id: ObjectId::from_bytes([1; 32]),
        })
        .unwrap();
        assert_eq!(record_tail(&other[4..], other.len() - 4), None);
    }

    /// Hand-built maps: (bytes, what the walker must answer).
    #[test]
    fn hand_built_maps() {
        let payload_last = |extra: &[u8], entries: u8| {
            let mut v = vec![0xa0 | entries];
            v.extend_from_slice(&[0x61, b't', 0x66]);
            v.extend_from_slice(b"Record");
            v.extend_from_slice(extra);
            v.extend_from_slice(&[0x67]);
            v.extend_from_slice(b"payload");
            v.extend_from_slice(&[0x43, 1, 2, 3]);
            v
        };
        // Integers of every width, negatives, strings, simple values are skipped.
        let extra = [
            0x61, b'a', 0x18, 200, // 1-byte uint
            0x61, b'b', 0x19, 1, 0, // 2-byte
            0x61, b'c', 0x1a, 0, 1, 0, 0, // 4-byte
            0x61, b'd', 0x1b, 0, 0, 0, 0, 0, 0, 0, 1, // 8-byte
            0x61, b'e', 0x20, // -1
            0x61, b'f', 0x42, 1, 2, // bytes
            0x61, b'g', 0xf5, // true
            0x61, b'h', 0xf6, // null
        ];
        let v = payload_last(&extra, 10);
        let t = record_tail(&v, v.len()).unwrap();
        assert_eq!(&v[t.start..], &[1, 2, 3]);
        // The same entries in a map that says it has more: payload is not last.
        let v = payload_last(&extra, 11);
        assert_eq!(record_tail(&v, v.len()), None);
        // Values the walker does not skip: an array, a float, a tag.
        for bad in [
            &[0x61, b'x', 0x80][..],
            &[0x61, b'x', 0xf9, 0, 0],
            &[0x61, b'x', 0xc0, 0],
        ] {
            let v = payload_last(bad, 3);
            assert_eq!(record_tail(&v, v.len()), None, "{bad:02x?}");
        }
        // A "t" that is not "Record", or comes after the payload.
        let mut v = payload_last(&[], 2);
        v[4] = b'X';
        assert_eq!(record_tail(&v, v.len()), None);
        let v = [0xa2, 0x67, b'p', b'a', b'y', b'l', b'o', b'a', b'd', 0x40];
        assert_eq!(record_tail(&v, v.len()), None);
        // Not a map, an empty map, a huge map, an indefinite map, a non-text key.
        for v in [
            &[0x80][..],
            &[0xa0],
            &[0xb8, 200],
            &[0xbf],
            &[0xa1, 0x01, 0x01],
        ] {
            assert_eq!(record_tail(v, v.len()), None, "{v:02x?}");
        }
        // A length beyond what fits: no overflow.
        let mut v = payload_last(&[], 2);
        let at = v.len() - 4;
        v.truncate(at);
        v.extend_from_slice(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(record_tail(&v, usize::MAX), None);
        // A string reaching past the head.
        let v = [0xa1, 0x78, 50, b'a'];
        assert_eq!(record_tail(&v, 100), None);
    }
}
