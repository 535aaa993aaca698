//! The low-poly variant: the mesh decimated with meshopt to about
//! `ctx.lowpoly_triangles` triangles and written as a minimal GLB (one mesh, one
//! primitive: POSITION with min/max, u32 indices; no normals, no materials).

use serde_json::json;

use super::super::{Ctx, PreviewError};
use super::model::TriMesh;

/// `glTF` magic of a GLB file.
const MAGIC: &[u8; 4] = b"glTF";
/// Chunk types.
const JSON: u32 = 0x4E4F_534A;
const BIN: u32 = 0x004E_4942;

/// `mesh` (validated) reduced to at most about `ctx.lowpoly_triangles` triangles.
/// Unused vertices are dropped and the rest renumbered in order of first use.
pub fn decimate(mesh: &TriMesh, ctx: &Ctx) -> Result<TriMesh, PreviewError> {
    let target = (ctx.lowpoly_triangles.max(1) as usize) * 3;
    if mesh.indices.len() <= target {
        return Ok(compact(mesh.indices.clone(), &mesh.positions));
    }
    // Vertices split by normals or UVs are joined first, or meshopt would see every
    // seam as a border it must keep.
    let welded = super::model::weld(mesh, ctx)?;
    let mesh = &welded;
    let indices = {
        ctx.check()?;
        let fine = meshopt::simplify_decoder(
            &mesh.indices,
            &mesh.positions,
            target,
            1.0,
            meshopt::SimplifyOptions::None,
            None,
        );
        if fine.len() > target + target / 2 {
            ctx.check()?;
            // Sloppy decimation ignores topology; it can collapse a small budget to
            // nothing, in which case the careful result is kept.
            let sloppy =
                meshopt::simplify_sloppy_decoder(&mesh.indices, &mesh.positions, target, 1.0, None);
            if sloppy.is_empty() {
                fine
            } else {
                sloppy
            }
        } else {
            fine
        }
    };
    Ok(compact(indices, &mesh.positions))
}

/// Drops unused vertices, numbering the rest in order of first use.
fn compact(mut indices: Vec<u32>, all: &[[f32; 3]]) -> TriMesh {
    let mut remap = vec![u32::MAX; all.len()];
    let mut positions = Vec::new();
    for i in &mut indices {
        let slot = &mut remap[*i as usize];
        if *slot == u32::MAX {
            *slot = positions.len() as u32;
            positions.push(all[*i as usize]);
        }
        *i = *slot;
    }
    TriMesh { positions, indices }
}

/// A GLB holding `mesh` (validated, non-empty).
pub fn glb(mesh: &TriMesh) -> Vec<u8> {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for p in &mesh.positions {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    let mut bin: Vec<u8> = Vec::with_capacity(mesh.positions.len() * 12 + mesh.indices.len() * 4);
    for p in &mesh.positions {
        for c in p {
            bin.extend_from_slice(&c.to_le_bytes());
        }
    }
    let pos_len = bin.len();
    for i in &mesh.indices {
        bin.extend_from_slice(&i.to_le_bytes());
    }
    let idx_len = bin.len() - pos_len;
    let doc = json!({
        "asset": { "version": "2.0", "generator": "gadn mesh preview" },
        "scene": 0,
        "scenes": [{ "nodes": [0] }],
        "nodes": [{ "mesh": 0 }],
        "meshes": [{ "primitives": [{ "attributes": { "POSITION": 0 }, "indices": 1, "mode": 4 }] }],
        "accessors": [
            { "bufferView": 0, "componentType": 5126, "count": mesh.positions.len(), "type": "VEC3",
              "min": min.to_vec(), "max": max.to_vec() },
            { "bufferView": 1, "componentType": 5125, "count": mesh.indices.len(), "type": "SCALAR" }
        ],
        "bufferViews": [
            { "buffer": 0, "byteOffset": 0, "byteLength": pos_len, "target": 34962 },
            { "buffer": 0, "byteOffset": pos_len, "byteLength": idx_len, "target": 34963 }
        ],
        "buffers": [{ "byteLength": bin.len() }]
    });
    let mut text = doc.to_string().into_bytes();
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(&JSON.to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(&BIN.to_le_bytes());
    out.extend_from_slice(&bin);
    out
}
