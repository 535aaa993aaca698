//! glTF 2.0 (`.gltf` JSON and `.glb` binary): the document is parsed and validated
//! by the `gltf` crate; vertex data is read here, with every accessor range checked
//! against its buffer, so hostile offsets fail as [`PreviewError::Corrupt`].
//!
//! Buffers may live in the GLB `BIN` chunk or in `data:` URIs; a buffer in another
//! file cannot be read (only this file is at hand), so such a file gives its facts
//! without a mesh ([`Loaded::external`]).

use std::borrow::Cow;

use gltf::accessor::{DataType, Dimensions};
use gltf::mesh::Mode;
use gltf::{Accessor, Document, Semantic};

use super::super::source::{read_range, Source};
use super::super::{Ctx, PreviewError};
use super::model::{
    apply, is_identity, mul, reserve_check, Bbox, Mat4, Summary, TriMesh, IDENTITY,
};

/// GLB header: magic, version, total length.
const GLB_HEADER: usize = 12;
/// GLB chunk header: length, type.
const CHUNK_HEADER: usize = 8;
/// Chunk type of the JSON chunk (`JSON`).
const CHUNK_JSON: u32 = 0x4E4F_534A;
/// Deepest node hierarchy followed.
const MAX_DEPTH: usize = 64;

/// A glTF file read: facts, and the mesh unless a buffer is external.
pub struct Loaded {
    /// Facts from the document (counts from accessors, bbox from the mesh).
    pub summary: Summary,
    /// The scene's triangles, node transforms applied (empty when `external`).
    pub mesh: TriMesh,
    /// URIs of buffers stored in other files, which keep the mesh from being read.
    pub external: Vec<String>,
}

/// Reads a complete `.glb` (`binary`) or `.gltf` file held in `bytes`.
pub fn load(bytes: &[u8], binary: bool, ctx: &Ctx) -> Result<Loaded, PreviewError> {
    let format = if binary { "glb" } else { "gltf" };
    let (doc, bin) = if binary {
        let glb = gltf::Glb::from_slice(bytes)
            .map_err(|e| PreviewError::corrupt(format, format!("GLB container: {e}")))?;
        (
            document(&glb.json, format)?,
            glb.bin.map(|b| b.into_owned()),
        )
    } else {
        (document(bytes, format)?, None)
    };
    let mut summary = summarise(&doc, format);
    // The BIN chunk is borrowed from `bytes`; data: URIs are decoded.
    let mut buffers: Vec<Option<Cow<[u8]>>> = Vec::new();
    let mut external = Vec::new();
    for buffer in doc.buffers() {
        buffers.push(match buffer.source() {
            gltf::buffer::Source::Bin => Some(Cow::Borrowed(bin.as_deref().ok_or_else(|| {
                PreviewError::corrupt(format, "a buffer refers to a missing BIN chunk")
            })?)),
            gltf::buffer::Source::Uri(uri) => match super::data_uri::decode(uri, ctx)? {
                Some(data) => Some(Cow::Owned(data)),
                None => {
                    external.push(uri.to_string());
                    None
                }
            },
        });
    }
    if !external.is_empty() {
        summary.bbox = bbox_from_accessors(&doc);
        return Ok(Loaded {
            summary,
            mesh: TriMesh::default(),
            external,
        });
    }
    let mesh = build(&doc, &buffers, format, ctx)?;
    summary.bbox = mesh.bbox();
    Ok(Loaded {
        summary,
        mesh,
        external,
    })
}

/// Facts of a `.glb` of which only the head is present: the JSON chunk is read
/// (the `BIN` chunk is not needed), counts come from accessors and the bounding
/// box from the POSITION accessors' `min`/`max`.
pub fn partial(src: &dyn Source, ctx: &Ctx) -> Result<Summary, PreviewError> {
    let head =
        read_range(src, 0, GLB_HEADER + CHUNK_HEADER).map_err(|e| at_end(e, "the GLB header"))?;
    if &head[0..4] != b"glTF" {
        return Err(PreviewError::corrupt("glb", "no glTF magic"));
    }
    let word = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    if word(4) != 2 {
        return Err(PreviewError::unsupported(
            "glb",
            format!("container version {}", word(4)),
        ));
    }
    let (len, kind) = (word(12) as u64, word(16));
    if kind != CHUNK_JSON {
        return Err(PreviewError::corrupt("glb", "the first chunk is not JSON"));
    }
    let end = (GLB_HEADER + CHUNK_HEADER) as u64 + len;
    if end > src.len() {
        return Err(PreviewError::truncated(
            "glb",
            format!(
                "the JSON chunk ends at {end}, the file has {} bytes",
                src.len()
            ),
        ));
    }
    if len > ctx.max_input_bytes {
        return Err(PreviewError::too_large(format!(
            "a JSON chunk of {len} bytes; the limit is {} bytes",
            ctx.max_input_bytes
        )));
    }
    let json = read_range(src, (GLB_HEADER + CHUNK_HEADER) as u64, len as usize)?;
    let doc = document(&json, "glb")?;
    let mut summary = summarise(&doc, "glb");
    summary.bbox = bbox_from_accessors(&doc);
    Ok(summary)
}

fn at_end(e: PreviewError, what: &str) -> PreviewError {
    match e {
        PreviewError::Truncated { .. } => {
            PreviewError::truncated("glb", format!("the file ends inside {what}"))
        }
        other => other,
    }
}

fn document(json: &[u8], format: &'static str) -> Result<Document, PreviewError> {
    let root = gltf::json::Root::from_slice(json)
        .map_err(|e| PreviewError::corrupt(format, format!("JSON: {e}")))?;
    let required = root.extensions_required.clone();
    Document::from_json(root).map_err(|e| {
        let detail = e.to_string();
        if !required.is_empty() && detail.contains("Unsupported extension") {
            PreviewError::unsupported(
                format,
                format!("required extensions {}", required.join(", ")),
            )
        } else {
            PreviewError::corrupt(format, format!("invalid document: {detail}"))
        }
    })
}

/// Counts from the document alone: meshes, materials, vertices (POSITION accessor
/// counts) and triangles (index or vertex counts by primitive mode), per mesh
/// definition (instances are not multiplied).
fn summarise(doc: &Document, format: &'static str) -> Summary {
    let (mut vertices, mut triangles) = (0u64, 0u64);
    for mesh in doc.meshes() {
        for prim in mesh.primitives() {
            let n = prim
                .get(&Semantic::Positions)
                .map_or(0, |a| a.count() as u64);
            vertices = vertices.saturating_add(n);
            let corners = prim.indices().map_or(n, |a| a.count() as u64);
            triangles = triangles.saturating_add(triangle_count(prim.mode(), corners));
        }
    }
    Summary {
        format,
        vertices,
        triangles: Some(triangles),
        faces: None,
        meshes: Some(doc.meshes().len() as u64),
        material_names: Some(
            doc.materials()
                .map(|m| m.name().unwrap_or("").to_string())
                .collect(),
        ),
        bbox: None,
    }
}

fn triangle_count(mode: Mode, corners: u64) -> u64 {
    match mode {
        Mode::Triangles => corners / 3,
        Mode::TriangleStrip | Mode::TriangleFan => corners.saturating_sub(2),
        _ => 0,
    }
}

/// Every (mesh, world transform) pair of the default scene (or the first scene;
/// with no scene at all, each mesh once untransformed).
fn instances(doc: &Document, format: &'static str) -> Result<Vec<(usize, Mat4)>, PreviewError> {
    let scene = doc.default_scene().or_else(|| doc.scenes().next());
    let Some(scene) = scene else {
        return Ok(doc.meshes().map(|m| (m.index(), IDENTITY)).collect());
    };
    let mut out = Vec::new();
    let mut stack: Vec<(gltf::Node, Mat4, usize)> =
        scene.nodes().map(|n| (n, IDENTITY, 0)).collect();
    while let Some((node, parent, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(PreviewError::corrupt(
                format,
                format!("nodes nest deeper than {MAX_DEPTH} (a cycle?)"),
            ));
        }
        let world = mul(&parent, &node.transform().matrix());
        if let Some(mesh) = node.mesh() {
            out.push((mesh.index(), world));
        }
        stack.extend(node.children().map(|c| (c, world, depth + 1)));
    }
    out.sort_by_key(|(m, _)| *m);
    Ok(out)
}

/// The bounding box of the POSITION accessors' `min`/`max`, transformed by each
/// instance (the corners of each box), `None` when an accessor lacks them.
fn bbox_from_accessors(doc: &Document) -> Option<Bbox> {
    let mut b = Bbox::empty();
    for (mesh, m) in instances(doc, "gltf").ok()? {
        let mesh = doc.meshes().nth(mesh)?;
        for prim in mesh.primitives() {
            let Some(acc) = prim.get(&Semantic::Positions) else {
                continue;
            };
            let (lo, hi) = (vec3(acc.min())?, vec3(acc.max())?);
            for corner in 0..8 {
                let pick = |k: usize| if corner >> k & 1 == 0 { lo[k] } else { hi[k] };
                let p = apply(&m, [pick(0), pick(1), pick(2)]);
                b.add([p[0] as f64, p[1] as f64, p[2] as f64]);
            }
        }
    }
    b.valid()
}

fn vec3(v: Option<gltf::json::Value>) -> Option<[f32; 3]> {
    let a = v?;
    let a = a.as_array()?;
    if a.len() != 3 {
        return None;
    }
    let f = |i: usize| a[i].as_f64().map(|x| x as f32).filter(|x| x.is_finite());
    Some([f(0)?, f(1)?, f(2)?])
}

/// The scene's triangles, node transforms applied.
fn build(
    doc: &Document,
    buffers: &[Option<Cow<[u8]>>],
    format: &'static str,
    ctx: &Ctx,
) -> Result<TriMesh, PreviewError> {
    let instances = instances(doc, format)?;
    let meshes: Vec<gltf::Mesh> = doc.meshes().collect();
    // Sizes first, so the whole scene is checked against the limit before reading.
    let (mut nv, mut ni) = (0u64, 0u64);
    for (m, _) in &instances {
        for prim in meshes[*m].primitives() {
            let n = prim
                .get(&Semantic::Positions)
                .map_or(0, |a| a.count() as u64);
            nv = nv.saturating_add(n);
            let corners = prim.indices().map_or(n, |a| a.count() as u64);
            ni = ni.saturating_add(triangle_count(prim.mode(), corners).saturating_mul(3));
        }
    }
    reserve_check(nv, ni, ctx)?;
    let mut mesh = TriMesh::with_capacity(nv, ni, ctx)?;
    let mut corners: Vec<u32> = Vec::new();
    for (m, world) in &instances {
        for prim in meshes[*m].primitives() {
            ctx.check()?;
            if triangle_count(prim.mode(), 3) == 0 && prim.mode() != Mode::Triangles {
                continue; // points and lines draw nothing
            }
            let Some(pos) = prim.get(&Semantic::Positions) else {
                continue;
            };
            let base = mesh.positions.len() as u32;
            read_positions(&pos, buffers, format, world, &mut mesh.positions)?;
            corners.clear();
            match prim.indices() {
                Some(acc) => read_indices(&acc, buffers, format, &mut corners)?,
                None => corners.extend(0..pos.count() as u32),
            }
            let n = pos.count() as u32;
            if let Some(&bad) = corners.iter().find(|&&i| i >= n) {
                return Err(PreviewError::corrupt(
                    format,
                    format!("index {bad} is out of range: the primitive has {n} vertices"),
                ));
            }
            push_triangles(prim.mode(), &corners, base, &mut mesh.indices);
        }
    }
    Ok(mesh)
}

fn push_triangles(mode: Mode, c: &[u32], base: u32, out: &mut Vec<u32>) {
    match mode {
        Mode::TriangleStrip => {
            for i in 2..c.len() {
                let (a, b) = if i % 2 == 0 {
                    (c[i - 2], c[i - 1])
                } else {
                    (c[i - 1], c[i - 2])
                };
                out.extend([a + base, b + base, c[i] + base]);
            }
        }
        Mode::TriangleFan => {
            for i in 2..c.len() {
                out.extend([c[0] + base, c[i - 1] + base, c[i] + base]);
            }
        }
        _ => out.extend(c[..c.len() / 3 * 3].iter().map(|i| i + base)),
    }
}

/// The bytes of `acc` and the stride between its elements, every element of
/// `elem` bytes checked to lie inside its buffer view and buffer.
fn accessor_data<'b>(
    acc: &Accessor,
    buffers: &'b [Option<Cow<'b, [u8]>>],
    elem: usize,
    format: &'static str,
) -> Result<(&'b [u8], usize), PreviewError> {
    if acc.sparse().is_some() {
        return Err(PreviewError::unsupported(format, "sparse accessors"));
    }
    // (The document's validation already refuses a non-sparse accessor without one.)
    let Some(view) = acc.view() else {
        return Err(PreviewError::unsupported(
            format,
            "accessors without a buffer view",
        ));
    };
    let buffer = buffers
        .get(view.buffer().index())
        .and_then(|b| b.as_deref())
        .ok_or_else(|| {
            PreviewError::corrupt(format, "a buffer view refers to no readable buffer")
        })?;
    let view_end = view
        .offset()
        .checked_add(view.length())
        .filter(|&e| e <= buffer.len())
        .ok_or_else(|| {
            PreviewError::corrupt(
                format,
                format!(
                    "buffer view {} runs past its buffer ({} bytes)",
                    view.index(),
                    buffer.len()
                ),
            )
        })?;
    let data = &buffer[view.offset()..view_end];
    let stride = view.stride().unwrap_or(elem);
    if stride < elem {
        return Err(PreviewError::corrupt(
            format,
            format!("stride {stride} is below the element size {elem}"),
        ));
    }
    let count = acc.count() as u64;
    let need = if count == 0 {
        0
    } else {
        ((count - 1) as u128 * stride as u128 + acc.offset() as u128 + elem as u128)
            .min(u64::MAX as u128) as u64
    };
    if need > data.len() as u64 {
        return Err(PreviewError::corrupt(
            format,
            format!(
                "accessor {} needs {need} bytes, its view has {}",
                acc.index(),
                data.len()
            ),
        ));
    }
    Ok((&data[acc.offset().min(data.len())..], stride))
}

fn read_positions(
    acc: &Accessor,
    buffers: &[Option<Cow<[u8]>>],
    format: &'static str,
    m: &Mat4,
    out: &mut Vec<[f32; 3]>,
) -> Result<(), PreviewError> {
    if acc.data_type() != DataType::F32 || acc.dimensions() != Dimensions::Vec3 {
        return Err(PreviewError::unsupported(
            format,
            "POSITION not stored as float VEC3 (quantized meshes)",
        ));
    }
    let (data, stride) = accessor_data(acc, buffers, 12, format)?;
    let f = |b: &[u8], k: usize| {
        f32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
    };
    let identity = is_identity(m);
    for i in 0..acc.count() {
        let e = &data[i * stride..i * stride + 12];
        let p = [f(e, 0), f(e, 1), f(e, 2)];
        out.push(if identity { p } else { apply(m, p) });
    }
    Ok(())
}

fn read_indices(
    acc: &Accessor,
    buffers: &[Option<Cow<[u8]>>],
    format: &'static str,
    out: &mut Vec<u32>,
) -> Result<(), PreviewError> {
    if acc.dimensions() != Dimensions::Scalar {
        return Err(PreviewError::corrupt(format, "indices are not scalars"));
    }
    let size = match acc.data_type() {
        DataType::U8 => 1,
        DataType::U16 => 2,
        DataType::U32 => 4,
        other => {
            return Err(PreviewError::corrupt(
                format,
                format!("indices of type {other:?}"),
            ))
        }
    };
    let (data, stride) = accessor_data(acc, buffers, size, format)?;
    out.reserve(acc.count());
    for i in 0..acc.count() {
        let e = &data[i * stride..];
        out.push(match size {
            1 => e[0] as u32,
            2 => u16::from_le_bytes([e[0], e[1]]) as u32,
            _ => u32::from_le_bytes([e[0], e[1], e[2], e[3]]),
        });
    }
    Ok(())
}
