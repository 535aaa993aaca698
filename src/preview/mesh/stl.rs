//! STL, binary and ASCII. Binary: an 80-byte header, a little-endian `u32` triangle
//! count, then 50 bytes per triangle (normal, three vertices, attribute word).
//! ASCII: `solid … facet normal … outer loop vertex x y z ×3 endloop endfacet …`.
//! STL stores each triangle's corners separately; identical corners are merged
//! (bit-exact), so the vertex count is that of the shared mesh (8 for a cube).

use super::super::source::{read_range, Source};
use super::super::{Ctx, PreviewError};
use super::model::{reserve_check, weld, Summary, TriMesh};

/// Size of the binary header: 80 bytes of text and the triangle count.
pub const BINARY_HEADER: usize = 84;
/// Size of one binary triangle record.
pub const TRIANGLE_RECORD: usize = 50;

/// Reads a complete STL file held in `bytes`.
pub fn load(bytes: &[u8], ctx: &Ctx) -> Result<(Summary, TriMesh), PreviewError> {
    let mut corners: Vec<[f32; 3]> = Vec::new();
    if is_binary(bytes) {
        let n = binary_count(&bytes[..BINARY_HEADER.min(bytes.len())], bytes.len() as u64)?;
        reserve_check(n * 3, n * 3, ctx)?;
        corners.reserve(n as usize * 3);
        for (t, rec) in bytes[BINARY_HEADER..]
            .chunks_exact(TRIANGLE_RECORD)
            .take(n as usize)
            .enumerate()
        {
            if t.is_multiple_of(65_536) {
                ctx.check()?;
            }
            for v in 0..3 {
                let at = 12 + 12 * v;
                let f = |k: usize| {
                    f32::from_le_bytes([
                        rec[at + 4 * k],
                        rec[at + 4 * k + 1],
                        rec[at + 4 * k + 2],
                        rec[at + 4 * k + 3],
                    ])
                };
                corners.push([f(0), f(1), f(2)]);
            }
        }
    } else {
        ascii(bytes, ctx, &mut corners)?;
    }
    ctx.alloc(corners.len() as u64 * 4, "STL corner indices")?;
    let corners = TriMesh {
        indices: (0..corners.len() as u32).collect(),
        positions: corners,
    };
    let mesh = weld(&corners, ctx)?;
    let summary = Summary {
        format: "stl",
        vertices: mesh.positions.len() as u64,
        triangles: Some(mesh.triangles() as u64),
        faces: None,
        meshes: None,
        material_names: None,
        bbox: None,
    };
    Ok((summary, mesh))
}

/// Whether `bytes` is binary STL: ASCII files start with `solid` and hold
/// `facet`; a binary file whose header happens to start with `solid` is told apart
/// by its exact size.
fn is_binary(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    // Text never holds NUL bytes; binary headers and records usually do.
    if !text.starts_with(b"solid") || bytes[..bytes.len().min(1024)].contains(&0) {
        return true;
    }
    if bytes.len() >= BINARY_HEADER {
        let n = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as u64;
        if BINARY_HEADER as u64 + n * TRIANGLE_RECORD as u64 == bytes.len() as u64 {
            return true;
        }
    }
    false
}

/// The triangle count of a binary STL from its 84-byte `head`, checked against the
/// file's length `len`.
fn binary_count(head: &[u8], len: u64) -> Result<u64, PreviewError> {
    if head.len() < BINARY_HEADER {
        return Err(PreviewError::truncated(
            "stl",
            format!(
                "{} bytes, a binary STL header is {BINARY_HEADER}",
                head.len()
            ),
        ));
    }
    let n = u32::from_le_bytes([head[80], head[81], head[82], head[83]]) as u64;
    let need = BINARY_HEADER as u64 + n * TRIANGLE_RECORD as u64;
    if need > len {
        return Err(PreviewError::truncated(
            "stl",
            format!("{n} triangles need {need} bytes, the file has {len}"),
        ));
    }
    // A few stray bytes at the end are tolerated; a whole record's worth means the
    // count is wrong or this is not STL.
    if len - need >= TRIANGLE_RECORD as u64 {
        return Err(PreviewError::corrupt(
            "stl",
            format!("{n} triangles need {need} bytes, the file has {len}"),
        ));
    }
    Ok(n)
}

/// Facts of a binary STL from its header alone (only the triangle count). ASCII
/// STL has no header counts: it must be complete.
pub fn partial(src: &dyn Source) -> Result<Summary, PreviewError> {
    let head = read_range(src, 0, BINARY_HEADER.min(src.len() as usize))?;
    if head.trim_ascii_start().starts_with(b"solid") {
        let exact = head.len() >= BINARY_HEADER
            && BINARY_HEADER as u64
                + u32::from_le_bytes([head[80], head[81], head[82], head[83]]) as u64
                    * TRIANGLE_RECORD as u64
                == src.len();
        if !exact {
            return Err(PreviewError::unsupported(
                "stl",
                "partial previews of ASCII STL (no header counts)",
            ));
        }
    }
    let n = binary_count(&head, src.len())?;
    Ok(Summary {
        format: "stl",
        triangles: Some(n),
        ..Summary::default()
    })
}

fn ascii(bytes: &[u8], ctx: &Ctx, out: &mut Vec<[f32; 3]>) -> Result<(), PreviewError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| PreviewError::corrupt("stl", format!("ASCII STL that is not text: {e}")))?;
    let mut words = text.split_ascii_whitespace();
    let mut n = 0u64;
    while let Some(w) = words.next() {
        if w != "vertex" {
            continue;
        }
        n += 1;
        if n.is_multiple_of(65_536) {
            ctx.check()?;
        }
        let mut p = [0.0f32; 3];
        for c in &mut p {
            let w = words
                .next()
                .ok_or_else(|| PreviewError::truncated("stl", "the file ends inside a vertex"))?;
            *c = w.parse().map_err(|_| {
                PreviewError::corrupt("stl", format!("vertex {n}: {w:?} is not a number"))
            })?;
        }
        out.push(p);
    }
    if out.is_empty() && !text.contains("endsolid") {
        return Err(PreviewError::truncated(
            "stl",
            "ASCII STL without facets or `endsolid`",
        ));
    }
    if !out.len().is_multiple_of(3) {
        return Err(PreviewError::corrupt(
            "stl",
            format!("{} vertices do not make whole triangles", out.len()),
        ));
    }
    Ok(())
}
