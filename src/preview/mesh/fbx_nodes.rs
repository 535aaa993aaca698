//! The binary FBX container: a tree of named node records, each with typed
//! properties (scalars, strings, raw bytes, arrays that may be zlib-compressed).
//!
//! Layout (little endian): `"Kaydara FBX Binary  \0\x1a\0"` || version `u32` ||
//! node records. A record is end offset || property count || property bytes
//! (each `u32`, or `u64` from version 7500) || name length `u8` || name ||
//! properties || child records || a null record (all zero) closing the children.
//! Every offset is checked to move forward inside the file, so a hostile file
//! cannot loop or read out of bounds.

use std::io::Read;

use super::super::{Ctx, PreviewError};

/// The first 21 bytes of a binary FBX file.
pub const MAGIC: &[u8] = b"Kaydara FBX Binary  \0";
/// Header size: magic, `\x1a\0`, version.
const HEADER: usize = 27;
/// Deepest nesting followed.
const MAX_DEPTH: usize = 32;

/// A property value. Arrays stay encoded until [`Prop::floats`] / [`Prop::ints`].
#[derive(Debug, Clone, PartialEq)]
pub enum Prop<'a> {
    /// `Y`, `C`, `I`, `L`: an integer (booleans as 0/1).
    Int(i64),
    /// `F`, `D`: a float.
    Float(f64),
    /// `S` or `R`: a string or raw bytes.
    Bytes(&'a [u8]),
    /// `f`, `d`, `i`, `l`, `b`: an array of `len` elements of type `ty`.
    Array {
        /// Type code.
        ty: u8,
        /// Element count.
        len: u32,
        /// 0 plain, 1 zlib.
        encoding: u32,
        /// The stored bytes.
        data: &'a [u8],
    },
}

/// A node record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node<'a> {
    /// Record name (`Objects`, `Geometry`, `Vertices`…).
    pub name: &'a [u8],
    /// Properties in order.
    pub props: Vec<Prop<'a>>,
    /// Nested records.
    pub children: Vec<Node<'a>>,
}

impl<'a> Node<'a> {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node<'a>> {
        self.children.iter().find(|c| c.name == name.as_bytes())
    }

    /// Every child named `name`.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Node<'a>> + 's {
        self.children
            .iter()
            .filter(move |c| c.name == name.as_bytes())
    }

    /// Property `i` as an integer.
    pub fn int(&self, i: usize) -> Option<i64> {
        match self.props.get(i)? {
            Prop::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// Property `i` as a float (integers converted).
    pub fn float(&self, i: usize) -> Option<f64> {
        match self.props.get(i)? {
            Prop::Float(v) => Some(*v),
            Prop::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// Property `i` as bytes.
    pub fn bytes(&self, i: usize) -> Option<&'a [u8]> {
        match self.props.get(i)? {
            Prop::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

impl Prop<'_> {
    /// A `f` or `d` array as `f64`s (decompressed, size checked against `ctx`).
    pub fn floats(&self, ctx: &Ctx) -> Result<Vec<f64>, PreviewError> {
        let (ty, raw) = self.decoded(ctx)?;
        match ty {
            b'd' => Ok(raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect()),
            b'f' => Ok(raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect()),
            _ => Err(PreviewError::corrupt(
                "fbx",
                format!(
                    "an array of type {:?} where floats were expected",
                    ty as char
                ),
            )),
        }
    }

    /// An `i` or `l` array as `i64`s.
    pub fn ints(&self, ctx: &Ctx) -> Result<Vec<i64>, PreviewError> {
        let (ty, raw) = self.decoded(ctx)?;
        match ty {
            b'i' => Ok(raw
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect()),
            b'l' => Ok(raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect()),
            _ => Err(PreviewError::corrupt(
                "fbx",
                format!(
                    "an array of type {:?} where integers were expected",
                    ty as char
                ),
            )),
        }
    }

    fn decoded(&self, ctx: &Ctx) -> Result<(u8, Vec<u8>), PreviewError> {
        let Prop::Array {
            ty,
            len,
            encoding,
            data,
        } = *self
        else {
            return Err(PreviewError::corrupt(
                "fbx",
                "a scalar where an array was expected",
            ));
        };
        let size: u64 = match ty {
            b'b' => 1,
            b'i' | b'f' => 4,
            _ => 8,
        };
        let want = len as u64 * size;
        ctx.alloc(want, "an FBX array")?;
        let raw = match encoding {
            0 => data.to_vec(),
            1 => {
                let mut out = Vec::with_capacity(want as usize);
                flate2::read::ZlibDecoder::new(data)
                    .take(want + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| {
                        PreviewError::corrupt("fbx", format!("a compressed array: {e}"))
                    })?;
                out
            }
            e => return Err(PreviewError::corrupt("fbx", format!("array encoding {e}"))),
        };
        if raw.len() as u64 != want {
            return Err(PreviewError::corrupt(
                "fbx",
                format!("an array of {len} elements holds {} bytes", raw.len()),
            ));
        }
        Ok((ty, raw))
    }
}

/// Parses a whole binary FBX file: its version and top-level records.
pub fn parse<'a>(bytes: &'a [u8], ctx: &Ctx) -> Result<(u32, Vec<Node<'a>>), PreviewError> {
    if !bytes.starts_with(MAGIC) {
        let text = bytes.trim_ascii_start();
        if text.starts_with(b";") || text.starts_with(b"FBXHeaderExtension") {
            return Err(PreviewError::unsupported(
                "fbx",
                "ASCII FBX (export it as binary FBX)",
            ));
        }
        return Err(PreviewError::corrupt("fbx", "no binary FBX magic"));
    }
    if bytes.len() < HEADER {
        return Err(PreviewError::truncated(
            "fbx",
            "the file ends inside the header",
        ));
    }
    let version = u32::from_le_bytes([bytes[23], bytes[24], bytes[25], bytes[26]]);
    let mut p = Parser {
        bytes,
        wide: version >= 7500,
        ctx,
    };
    let (nodes, _) = p.list(HEADER, bytes.len(), 0)?;
    Ok((version, nodes))
}

struct Parser<'a, 'c> {
    bytes: &'a [u8],
    wide: bool,
    ctx: &'c Ctx,
}

impl<'a> Parser<'a, '_> {
    fn truncated(&self, at: usize) -> PreviewError {
        PreviewError::truncated(
            "fbx",
            format!(
                "a record at byte {at} runs past the end ({} bytes)",
                self.bytes.len()
            ),
        )
    }

    fn take(&self, at: usize, n: usize, limit: usize) -> Result<&'a [u8], PreviewError> {
        at.checked_add(n)
            .filter(|&e| e <= limit)
            .map(|e| &self.bytes[at..e])
            .ok_or_else(|| self.truncated(at))
    }

    fn word(&self, at: usize, limit: usize) -> Result<(u64, usize), PreviewError> {
        if self.wide {
            let b = self.take(at, 8, limit)?;
            Ok((u64::from_le_bytes(b.try_into().unwrap_or([0; 8])), at + 8))
        } else {
            let b = self.take(at, 4, limit)?;
            Ok((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64, at + 4))
        }
    }

    /// Records from `at` up to `limit` or a null record; returns them and the offset after.
    fn list(
        &mut self,
        mut at: usize,
        limit: usize,
        depth: usize,
    ) -> Result<(Vec<Node<'a>>, usize), PreviewError> {
        if depth > MAX_DEPTH {
            return Err(PreviewError::corrupt(
                "fbx",
                format!("records nest deeper than {MAX_DEPTH}"),
            ));
        }
        let mut nodes = Vec::new();
        while at < limit {
            self.ctx.check()?;
            let start = at;
            let (end, next) = self.word(at, limit)?;
            if end == 0 {
                // A null record: the end of this list (or the file's footer at top level).
                let null = if self.wide { 25 } else { 13 };
                return Ok((nodes, (start + null).min(limit)));
            }
            let end = usize::try_from(end)
                .ok()
                .filter(|&e| e > start && e <= limit)
                .ok_or_else(|| {
                    PreviewError::corrupt(
                        "fbx",
                        format!("record at byte {start} ends at {end}, outside {start}..{limit}"),
                    )
                })?;
            let (count, next) = self.word(next, end)?;
            let (prop_len, next) = self.word(next, end)?;
            let name_len = self.take(next, 1, end)?[0] as usize;
            let name = self.take(next + 1, name_len, end)?;
            let props_at = next + 1 + name_len;
            let props_end = usize::try_from(prop_len)
                .ok()
                .and_then(|l| props_at.checked_add(l))
                .filter(|&e| e <= end)
                .ok_or_else(|| self.truncated(start))?;
            let props = self.props(props_at, props_end, count)?;
            let (children, _) = if props_end < end {
                self.list(props_end, end, depth + 1)?
            } else {
                (Vec::new(), end)
            };
            nodes.push(Node {
                name,
                props,
                children,
            });
            at = end;
        }
        Ok((nodes, at))
    }

    fn props(&self, mut at: usize, end: usize, count: u64) -> Result<Vec<Prop<'a>>, PreviewError> {
        // Each property takes at least 2 bytes, which bounds `count`.
        if count > ((end - at) / 2 + 1) as u64 {
            return Err(PreviewError::corrupt(
                "fbx",
                format!("{count} properties in {} bytes", end - at),
            ));
        }
        let mut props = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let ty = self.take(at, 1, end)?[0];
            at += 1;
            let scalar = |n: usize| self.take(at, n, end).map(|b| (b, at + n));
            let prop = match ty {
                b'Y' => scalar(2)
                    .map(|(b, a)| (Prop::Int(i16::from_le_bytes([b[0], b[1]]) as i64), a))?,
                b'C' => scalar(1).map(|(b, a)| (Prop::Int(b[0] as i64), a))?,
                b'I' => scalar(4).map(|(b, a)| {
                    (
                        Prop::Int(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64),
                        a,
                    )
                })?,
                b'F' => scalar(4).map(|(b, a)| {
                    (
                        Prop::Float(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
                        a,
                    )
                })?,
                b'D' => scalar(8).map(|(b, a)| {
                    (
                        Prop::Float(f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                        a,
                    )
                })?,
                b'L' => scalar(8).map(|(b, a)| {
                    (
                        Prop::Int(i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                        a,
                    )
                })?,
                b'S' | b'R' => {
                    let (n, a) = scalar(4)?;
                    let n = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
                    (Prop::Bytes(self.take(a, n, end)?), a + n)
                }
                b'f' | b'd' | b'l' | b'i' | b'b' => {
                    let h = self.take(at, 12, end)?;
                    let w = |k: usize| {
                        u32::from_le_bytes([h[4 * k], h[4 * k + 1], h[4 * k + 2], h[4 * k + 3]])
                    };
                    let (len, encoding, n) = (w(0), w(1), w(2) as usize);
                    let data = self.take(at + 12, n, end)?;
                    (
                        Prop::Array {
                            ty,
                            len,
                            encoding,
                            data,
                        },
                        at + 12 + n,
                    )
                }
                other => {
                    return Err(PreviewError::corrupt(
                        "fbx",
                        format!("property type {other:#04x} at byte {}", at - 1),
                    ))
                }
            };
            props.push(prop.0);
            at = prop.1;
        }
        Ok(props)
    }
}
