//! Previews of 3D meshes: glTF (`.gltf` with embedded buffers, `.glb`), OBJ,
//! binary FBX, STL (binary and ASCII) and PLY (ASCII and binary).
//!
//! Every reader produces one indexed triangle mesh ([`model::TriMesh`]: node
//! transforms applied, polygons triangulated) and a [`model::Summary`] of facts.
//! From the mesh come a thumbnail ([`render`]: a small deterministic software
//! rasteriser, rendered once at the largest level, then scaled by
//! [`thumbs::levels`](super::thumbs::levels)) and a decimated GLB ([`lowpoly`]).
//!
//! Facts: `format`, `vertices` (as the file stores them: glTF and PLY split
//! vertices by normal/UV, OBJ and FBX share them, STL corners are welded),
//! `triangles`, `faces` (polygons: PLY, FBX), `meshes` and `materials` /
//! `material_names` (glTF, OBJ `usemtl`, FBX), `bbox_min` / `bbox_max` (`[x, y, z]`
//! in file units, FBX in metres, glTF with node transforms applied), and for a
//! `.gltf` whose buffers are other files `external_buffers` (the mesh then cannot
//! be drawn: facts only, no items). glTF counts are per mesh definition; the
//! thumbnail draws every node instance.
//!
//! Partial files ([`Generator::generate_partial`]): a GLB's JSON chunk gives every
//! fact but triangles drawn (bbox from the POSITION accessors' min/max); a binary
//! STL's 84-byte header gives the triangle count; a PLY header gives the vertex
//! and face counts.

pub mod data_uri;
pub mod fbx;
pub mod fbx_nodes;
pub mod gltf;
pub mod lowpoly;
pub mod model;
pub mod obj;
pub mod ply;
pub mod render;
pub mod stl;

use super::source::read_all;
use super::{thumbs, Ctx, Generated, Generator, Input, Item, PreviewError, Role};
use model::{Summary, TriMesh};

/// Largest thumbnail rendered, in pixels (larger levels get this size).
pub const MAX_RENDER: u32 = 1024;
/// Smallest thumbnail rendered, in pixels.
pub const MIN_RENDER: u32 = 16;

/// Previews mesh files.
pub struct MeshGenerator;

/// A file read: its facts, its mesh, and the external buffers that kept the mesh
/// from being read (glTF only).
struct Read {
    summary: Summary,
    mesh: TriMesh,
    external: Vec<String>,
}

fn format_of(kind: &str) -> Result<&'static str, PreviewError> {
    Ok(match kind {
        "glb" => "glb",
        "gltf" => "gltf",
        "obj" => "obj",
        "fbx" => "fbx",
        "stl" => "stl",
        "ply" => "ply",
        other => {
            return Err(PreviewError::unsupported(
                "mesh",
                format!("content of type {other:?}"),
            ))
        }
    })
}

fn read(kind: &str, bytes: &[u8], ctx: &Ctx) -> Result<Read, PreviewError> {
    let format = format_of(kind)?;
    if bytes.is_empty() {
        return Err(PreviewError::truncated(format, "the file is empty"));
    }
    let plain = |(summary, mesh): (Summary, TriMesh)| Read {
        summary,
        mesh,
        external: Vec::new(),
    };
    Ok(match format {
        "glb" | "gltf" => {
            let l = gltf::load(bytes, format == "glb", ctx)?;
            Read {
                summary: l.summary,
                mesh: l.mesh,
                external: l.external,
            }
        }
        "obj" => plain(obj::load(bytes, ctx)?),
        "fbx" => plain(fbx::load(bytes, ctx)?),
        "stl" => plain(stl::load(bytes, ctx)?),
        _ => plain(ply::load(bytes, ctx)?),
    })
}

impl Generator for MeshGenerator {
    fn name(&self) -> &'static str {
        "mesh"
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(kind, "glb" | "gltf" | "obj" | "fbx" | "stl" | "ply")
    }

    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        let format = format_of(&input.kind)?;
        let bytes = read_all(&*input.source, ctx)?;
        let Read {
            mut summary,
            mesh,
            external,
        } = read(&input.kind, &bytes, ctx)?;
        drop(bytes);
        let mut g = Generated::default();
        if !external.is_empty() {
            summary.write(&mut g);
            g.fact("external_buffers", external);
            return Ok(g);
        }
        mesh.validate(format)?;
        summary.bbox = summary.bbox.or_else(|| mesh.bbox());
        summary.write(&mut g);
        if mesh.triangles() > 0 {
            g.items = items(&mesh, ctx)?;
        }
        Ok(g)
    }

    fn generate_partial(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        if input.source.is_complete() {
            return self.generate(input, ctx);
        }
        let summary = match format_of(&input.kind)? {
            "glb" => gltf::partial(&*input.source, ctx)?,
            "stl" => stl::partial(&*input.source)?,
            "ply" => ply::partial(&*input.source)?,
            // The other formats need the whole file: this reports what is missing.
            _ => return self.generate(input, ctx),
        };
        let mut g = Generated::default();
        summary.write(&mut g);
        Ok(g)
    }
}

/// The thumbnails and the low-poly GLB of a validated, non-empty mesh.
fn items(mesh: &TriMesh, ctx: &Ctx) -> Result<Vec<Item>, PreviewError> {
    let size = ctx
        .levels
        .iter()
        .copied()
        .max()
        .unwrap_or(MAX_RENDER)
        .clamp(MIN_RENDER, MAX_RENDER);
    let picture = render::render(mesh, size, ctx)?;
    let mut items = thumbs::levels(&picture, ctx)?;
    drop(picture);
    let low = lowpoly::decimate(mesh, ctx)?;
    items.push(Item {
        role: Role::LowPoly,
        level: 0,
        media_type: "model/gltf-binary".into(),
        bytes: lowpoly::glb(&low),
    });
    Ok(items)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bad;
#[cfg(test)]
mod tests_fbx;
#[cfg(test)]
mod tests_gltf;
