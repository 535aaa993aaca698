//! PLY (Stanford polygon files), ASCII and binary (little or big endian). The
//! header declares elements (`element vertex 8`) and their properties; vertices
//! need `x`, `y`, `z`, faces a list property `vertex_indices` (or `vertex_index`).
//! Other elements are skipped. Polygons are triangulated as fans.

use super::super::source::{read_range, Source};
use super::super::{Ctx, PreviewError};
use super::model::{reserve_check, Summary, TriMesh};

/// Largest header read, in bytes.
const MAX_HEADER: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Ascii,
    Little,
    Big,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(name: &str) -> Result<Scalar, PreviewError> {
        Ok(match name {
            "char" | "int8" => Scalar::I8,
            "uchar" | "uint8" => Scalar::U8,
            "short" | "int16" => Scalar::I16,
            "ushort" | "uint16" => Scalar::U16,
            "int" | "int32" => Scalar::I32,
            "uint" | "uint32" => Scalar::U32,
            "float" | "float32" => Scalar::F32,
            "double" | "float64" => Scalar::F64,
            _ => {
                return Err(PreviewError::corrupt(
                    "ply",
                    format!("unknown property type {name:?}"),
                ))
            }
        })
    }

    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Prop {
    Scalar(Scalar),
    List(Scalar, Scalar),
}

#[derive(Debug)]
struct Element {
    name: String,
    count: u64,
    props: Vec<(String, Prop)>,
}

#[derive(Debug)]
struct Header {
    encoding: Encoding,
    elements: Vec<Element>,
    /// Offset of the first byte after `end_header`'s line.
    body: usize,
}

impl Header {
    fn count(&self, name: &str) -> u64 {
        self.elements
            .iter()
            .filter(|e| e.name == name)
            .map(|e| e.count)
            .sum()
    }
}

/// Parses the header at the start of `bytes` (which must hold all of it).
fn header(bytes: &[u8]) -> Result<Header, PreviewError> {
    if !bytes.starts_with(b"ply\n") && !bytes.starts_with(b"ply\r\n") {
        return Err(PreviewError::corrupt("ply", "no `ply` magic line"));
    }
    let window = &bytes[..bytes.len().min(MAX_HEADER)];
    let end = find(window, b"end_header").ok_or_else(|| {
        if bytes.len() < MAX_HEADER {
            PreviewError::truncated("ply", "the file ends before `end_header`")
        } else {
            PreviewError::corrupt(
                "ply",
                format!("no `end_header` in the first {MAX_HEADER} bytes"),
            )
        }
    })?;
    let body = window[end..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| end + i + 1)
        .ok_or_else(|| PreviewError::truncated("ply", "the file ends inside `end_header`"))?;
    let text = std::str::from_utf8(&window[..end])
        .map_err(|_| PreviewError::corrupt("ply", "a header that is not text"))?;
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    for line in text.lines().skip(1) {
        let w: Vec<&str> = line.split_ascii_whitespace().collect();
        match w.as_slice() {
            ["format", f, _version] => {
                encoding = Some(match *f {
                    "ascii" => Encoding::Ascii,
                    "binary_little_endian" => Encoding::Little,
                    "binary_big_endian" => Encoding::Big,
                    _ => {
                        return Err(PreviewError::corrupt(
                            "ply",
                            format!("unknown format {f:?}"),
                        ))
                    }
                })
            }
            ["element", name, count] => elements.push(Element {
                name: name.to_string(),
                count: count.parse().map_err(|_| {
                    PreviewError::corrupt("ply", format!("element count {count:?}"))
                })?,
                props: Vec::new(),
            }),
            ["property", "list", n, item, name] => last(&mut elements)?.props.push((
                name.to_string(),
                Prop::List(Scalar::parse(n)?, Scalar::parse(item)?),
            )),
            ["property", ty, name] => last(&mut elements)?
                .props
                .push((name.to_string(), Prop::Scalar(Scalar::parse(ty)?))),
            ["comment", ..] | ["obj_info", ..] | [] => {}
            _ => {
                return Err(PreviewError::corrupt(
                    "ply",
                    format!("header line {line:?}"),
                ))
            }
        }
    }
    let encoding = encoding.ok_or_else(|| PreviewError::corrupt("ply", "no `format` line"))?;
    Ok(Header {
        encoding,
        elements,
        body,
    })
}

fn last(elements: &mut [Element]) -> Result<&mut Element, PreviewError> {
    elements
        .last_mut()
        .ok_or_else(|| PreviewError::corrupt("ply", "a property before any element"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Facts from the header of a PLY file of which only the head is present: the
/// vertex and face counts.
pub fn partial(src: &dyn Source) -> Result<Summary, PreviewError> {
    let mut head = Vec::new();
    let mut at = 0u64;
    loop {
        let mut n = (src.len() - at).min(4096) as usize;
        match read_range(src, at, n) {
            Ok(block) => head.extend_from_slice(&block),
            // Take the present part of the block; the next round reports the gap.
            Err(PreviewError::NotPresent { offset, .. }) if offset > at => {
                n = (offset - at) as usize;
                head.extend_from_slice(&read_range(src, at, n)?);
            }
            Err(e) => return Err(e),
        }
        at += n as u64;
        match header(&head) {
            Err(PreviewError::Truncated { .. }) if n > 0 && head.len() < MAX_HEADER => continue,
            other => {
                let h = other?;
                return Ok(Summary {
                    format: "ply",
                    vertices: h.count("vertex"),
                    faces: Some(h.count("face")),
                    ..Summary::default()
                });
            }
        }
    }
}

/// Reads a complete PLY file held in `bytes`.
pub fn load(bytes: &[u8], ctx: &Ctx) -> Result<(Summary, TriMesh), PreviewError> {
    let h = header(bytes)?;
    let body = &bytes[h.body..];
    // Each row takes at least this many bytes, so counts beyond the body's size are
    // refused before anything is allocated.
    let mut min_bytes = 0u64;
    for e in &h.elements {
        let row: u64 = e
            .props
            .iter()
            .map(|(_, p)| match (h.encoding, p) {
                (Encoding::Ascii, _) => 2,
                (_, Prop::Scalar(s)) | (_, Prop::List(s, _)) => s.size() as u64,
            })
            .sum();
        min_bytes = min_bytes.saturating_add(e.count.saturating_mul(row.max(1)));
    }
    if min_bytes > body.len() as u64 {
        return Err(PreviewError::truncated(
            "ply",
            format!(
                "the header's elements need at least {min_bytes} bytes, the body has {}",
                body.len()
            ),
        ));
    }
    let (nv, nf) = (h.count("vertex"), h.count("face"));
    reserve_check(nv, nf.saturating_mul(3), ctx)?;
    let mut mesh = TriMesh::with_capacity(nv, nf * 3, ctx)?;
    let mut r = Reader {
        enc: h.encoding,
        body,
        pos: 0,
    };
    let mut poly: Vec<u32> = Vec::new();
    for e in &h.elements {
        let xyz = ["x", "y", "z"].map(|k| {
            e.props
                .iter()
                .position(|(n, p)| n == k && matches!(p, Prop::Scalar(_)))
        });
        let face_list = e.props.iter().position(|(n, p)| {
            (n == "vertex_indices" || n == "vertex_index") && matches!(p, Prop::List(..))
        });
        if e.name == "vertex" && xyz.iter().any(Option::is_none) {
            return Err(PreviewError::corrupt(
                "ply",
                "the vertex element lacks x, y or z",
            ));
        }
        for row in 0..e.count {
            if row.is_multiple_of(65_536) {
                ctx.check()?;
            }
            let mut p = [0.0f32; 3];
            for (i, (_, prop)) in e.props.iter().enumerate() {
                match *prop {
                    Prop::Scalar(s) => {
                        let v = r.value(s)?;
                        if e.name == "vertex" {
                            if let Some(k) = xyz.iter().position(|&x| x == Some(i)) {
                                p[k] = v as f32;
                            }
                        }
                    }
                    Prop::List(ns, item) => {
                        let n = r.value(ns)?;
                        if !(0.0..=u32::MAX as f64).contains(&n) || n.fract() != 0.0 {
                            return Err(PreviewError::corrupt("ply", format!("list length {n}")));
                        }
                        let wanted = e.name == "face" && face_list == Some(i);
                        poly.clear();
                        for _ in 0..n as u64 {
                            let v = r.value(item)?;
                            if wanted {
                                if !(0.0..=u32::MAX as f64).contains(&v) || v.fract() != 0.0 {
                                    return Err(PreviewError::corrupt(
                                        "ply",
                                        format!("vertex index {v}"),
                                    ));
                                }
                                poly.push(v as u32);
                            }
                        }
                        for k in 2..poly.len() {
                            mesh.indices.extend([poly[0], poly[k - 1], poly[k]]);
                        }
                        if mesh.indices.len() as u64 * 4 > ctx.max_alloc {
                            return Err(PreviewError::too_large(format!(
                                "more than {} triangle indices",
                                mesh.indices.len()
                            )));
                        }
                    }
                }
            }
            if e.name == "vertex" {
                mesh.positions.push(p);
            }
        }
    }
    let summary = Summary {
        format: "ply",
        vertices: nv,
        triangles: Some(mesh.triangles() as u64),
        faces: Some(nf),
        meshes: None,
        material_names: None,
        bbox: None,
    };
    Ok((summary, mesh))
}

/// Reads property values from the body, in either encoding.
struct Reader<'a> {
    enc: Encoding,
    body: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn value(&mut self, s: Scalar) -> Result<f64, PreviewError> {
        if self.enc == Encoding::Ascii {
            return self.token();
        }
        let n = s.size();
        let b = self.body.get(self.pos..self.pos + n).ok_or_else(|| {
            PreviewError::truncated("ply", format!("the body ends at byte {}", self.body.len()))
        })?;
        self.pos += n;
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(b);
        if self.enc == Encoding::Big {
            a[..n].reverse();
        }
        Ok(match s {
            Scalar::I8 => a[0] as i8 as f64,
            Scalar::U8 => a[0] as f64,
            Scalar::I16 => i16::from_le_bytes([a[0], a[1]]) as f64,
            Scalar::U16 => u16::from_le_bytes([a[0], a[1]]) as f64,
            Scalar::I32 => i32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Scalar::U32 => u32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Scalar::F32 => f32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Scalar::F64 => f64::from_le_bytes(a),
        })
    }

    fn token(&mut self) -> Result<f64, PreviewError> {
        let rest = &self.body[self.pos..];
        let start = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .ok_or_else(|| PreviewError::truncated("ply", "the body ends before its last value"))?;
        let len = rest[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + len];
        self.pos += start + len;
        std::str::from_utf8(word)
            .ok()
            .and_then(|w| w.parse::<f64>().ok())
            .ok_or_else(|| {
                PreviewError::corrupt(
                    "ply",
                    format!("{:?} is not a number", String::from_utf8_lossy(word)),
                )
            })
    }
}
