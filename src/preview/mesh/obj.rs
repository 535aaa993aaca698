//! Wavefront OBJ, read with `tobj` (polygons triangulated). Material libraries
//! (`mtllib`) are other files and are not read; material names come from the
//! `usemtl` statements.

use std::io::BufReader;

use super::super::{Ctx, PreviewError};
use super::model::{reserve_check, Summary, TriMesh};

/// Reads a complete OBJ file held in `bytes`.
pub fn load(bytes: &[u8], ctx: &Ctx) -> Result<(Summary, TriMesh), PreviewError> {
    if std::str::from_utf8(bytes).is_err() && bytes.contains(&0) {
        return Err(PreviewError::corrupt("obj", "binary data, not OBJ text"));
    }
    let opts = tobj::LoadOptions {
        triangulate: true,
        single_index: false,
        ignore_points: true,
        ignore_lines: true,
    };
    let (models, _materials) = tobj::load_obj_buf(&mut BufReader::new(bytes), &opts, |_| {
        Err(tobj::LoadError::OpenFileFailed)
    })
    .map_err(|e| PreviewError::corrupt("obj", format!("{e}")))?;
    let nv: u64 = models
        .iter()
        .map(|m| m.mesh.positions.len() as u64 / 3)
        .sum();
    let ni: u64 = models.iter().map(|m| m.mesh.indices.len() as u64).sum();
    reserve_check(nv, ni, ctx)?;
    let mut mesh = TriMesh::with_capacity(nv, ni, ctx)?;
    for m in &models {
        ctx.check()?;
        let base = mesh.positions.len() as u32;
        mesh.positions
            .extend(m.mesh.positions.chunks_exact(3).map(|p| [p[0], p[1], p[2]]));
        mesh.indices.extend(m.mesh.indices.iter().map(|i| i + base));
    }
    if nv == 0 && !looks_like_obj(bytes) {
        return Err(PreviewError::corrupt("obj", "no OBJ statements"));
    }
    let summary = Summary {
        format: "obj",
        vertices: nv,
        triangles: Some(ni / 3),
        faces: None,
        meshes: Some(models.len() as u64),
        material_names: Some(material_names(bytes)),
        bbox: None,
    };
    Ok((summary, mesh))
}

/// Whether some line starts with a known OBJ statement.
fn looks_like_obj(bytes: &[u8]) -> bool {
    const KEYWORDS: [&[u8]; 9] = [
        b"#", b"v ", b"o ", b"g ", b"mtllib", b"usemtl", b"vn ", b"vt ", b"f ",
    ];
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .any(|l| KEYWORDS.iter().any(|k| l.starts_with(k)))
}

/// The names given to `usemtl`, each once, in order of first use.
fn material_names(bytes: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        if let Some(rest) = line.trim_ascii().strip_prefix(b"usemtl") {
            let name = String::from_utf8_lossy(rest.trim_ascii()).into_owned();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}
