//! The common in-memory mesh every reader produces: positions and triangle indices,
//! plus the facts a reader found on the way ([`Summary`]).

use std::collections::HashMap;

use super::super::{Ctx, Generated, PreviewError};

/// An indexed triangle mesh: `indices.len()` is a multiple of 3 and, once
/// [`TriMesh::validate`] has passed, every index is below `positions.len()` and
/// every referenced position is finite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriMesh {
    /// Vertex positions, in the file's units, node transforms applied.
    pub positions: Vec<[f32; 3]>,
    /// Three indices into `positions` per triangle.
    pub indices: Vec<u32>,
}

impl TriMesh {
    /// An empty mesh with room for `vertices` positions and `indices` indices,
    /// refused when either buffer would exceed `ctx.max_alloc`.
    pub fn with_capacity(vertices: u64, indices: u64, ctx: &Ctx) -> Result<TriMesh, PreviewError> {
        reserve_check(vertices, indices, ctx)?;
        Ok(TriMesh {
            positions: Vec::with_capacity(vertices as usize),
            indices: Vec::with_capacity(indices as usize),
        })
    }

    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    /// Checks the invariants: whole triangles, indices in range, finite positions.
    pub fn validate(&self, format: &'static str) -> Result<(), PreviewError> {
        if !self.indices.len().is_multiple_of(3) {
            return Err(PreviewError::corrupt(format, "an incomplete triangle"));
        }
        let n = self.positions.len() as u64;
        if let Some((i, &bad)) = self
            .indices
            .iter()
            .enumerate()
            .find(|(_, &i)| u64::from(i) >= n)
        {
            return Err(PreviewError::corrupt(
                format,
                format!("index {bad} (at {i}) is out of range: the mesh has {n} vertices"),
            ));
        }
        if let Some(i) = self
            .positions
            .iter()
            .position(|p| p.iter().any(|c| !c.is_finite()))
        {
            return Err(PreviewError::corrupt(
                format,
                format!("vertex {i} has a coordinate that is not a finite number"),
            ));
        }
        Ok(())
    }

    /// The axis-aligned bounding box of all positions (`None` when there are none).
    pub fn bbox(&self) -> Option<Bbox> {
        let mut b = Bbox::empty();
        for p in &self.positions {
            b.add([p[0] as f64, p[1] as f64, p[2] as f64]);
        }
        b.valid()
    }
}

/// Fails with [`PreviewError::TooLarge`] when a mesh of `vertices` positions and
/// `indices` indices would exceed `ctx.max_alloc` in either buffer.
pub fn reserve_check(vertices: u64, indices: u64, ctx: &Ctx) -> Result<(), PreviewError> {
    ctx.alloc(vertices.saturating_mul(12), &format!("{vertices} vertices"))?;
    ctx.alloc(
        indices.saturating_mul(4),
        &format!("{indices} triangle indices"),
    )
}

/// An axis-aligned box: `min` ≤ `max` on each axis once valid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// Smallest x, y, z.
    pub min: [f64; 3],
    /// Largest x, y, z.
    pub max: [f64; 3],
}

impl Bbox {
    /// A box holding nothing (min at +∞, max at −∞).
    pub fn empty() -> Bbox {
        Bbox {
            min: [f64::INFINITY; 3],
            max: [f64::NEG_INFINITY; 3],
        }
    }

    /// Grows the box to hold `p`.
    pub fn add(&mut self, p: [f64; 3]) {
        for (k, &c) in p.iter().enumerate() {
            self.min[k] = self.min[k].min(c);
            self.max[k] = self.max[k].max(c);
        }
    }

    /// The box, or `None` if nothing was added.
    pub fn valid(self) -> Option<Bbox> {
        (self.min[0] <= self.max[0]).then_some(self)
    }
}

/// What a reader learnt about a file, written out as facts by [`Summary::write`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// `glb`, `gltf`, `obj`, `fbx`, `stl` or `ply`.
    pub format: &'static str,
    /// Vertices the file holds (as stored: split by normals/UVs where the format
    /// does that).
    pub vertices: u64,
    /// Triangles after triangulating polygons (`None` when only a header was read
    /// and it does not say).
    pub triangles: Option<u64>,
    /// Polygons before triangulation, where the format stores polygons (PLY faces,
    /// FBX polygons).
    pub faces: Option<u64>,
    /// Meshes (glTF meshes, OBJ objects/groups, FBX geometries), where the format
    /// has them.
    pub meshes: Option<u64>,
    /// Material names in file order (empty strings for unnamed ones), where the
    /// format has materials.
    pub material_names: Option<Vec<String>>,
    /// Bounding box, when known.
    pub bbox: Option<Bbox>,
}

impl Summary {
    /// Adds the facts: `format`, `vertices`, `triangles`, `faces`, `meshes`, `materials`,
    /// `material_names`, `bbox_min`, `bbox_max`.
    pub fn write(&self, g: &mut Generated) {
        g.fact("format", self.format);
        g.fact("vertices", self.vertices);
        if let Some(t) = self.triangles {
            g.fact("triangles", t);
        }
        if let Some(f) = self.faces {
            g.fact("faces", f);
        }
        if let Some(m) = self.meshes {
            g.fact("meshes", m);
        }
        if let Some(names) = &self.material_names {
            g.fact("materials", names.len() as u64);
            g.fact("material_names", names.clone());
        }
        if let Some(b) = self.bbox {
            g.fact("bbox_min", b.min.to_vec());
            g.fact("bbox_max", b.max.to_vec());
        }
    }
}

/// A 4×4 transform, column-major (`m[column][row]`), as glTF stores it.
pub type Mat4 = [[f32; 4]; 4];

/// The identity transform.
pub const IDENTITY: Mat4 = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// `a × b` (apply `b` first, then `a`).
pub fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut r = [[0.0f32; 4]; 4];
    for (c, col) in r.iter_mut().enumerate() {
        for (row, v) in col.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[k][row] * b[c][k]).sum();
        }
    }
    r
}

/// `m` applied to point `p`.
pub fn apply(m: &Mat4, p: [f32; 3]) -> [f32; 3] {
    let mut r = [0.0f32; 3];
    for (row, v) in r.iter_mut().enumerate() {
        *v = m[0][row] * p[0] + m[1][row] * p[1] + m[2][row] * p[2] + m[3][row];
    }
    r
}

/// Whether `m` is the identity (so positions can be copied untouched).
pub fn is_identity(m: &Mat4) -> bool {
    *m == IDENTITY
}

/// `mesh` with bit-identical positions (−0 as +0) merged into one vertex.
pub fn weld(mesh: &TriMesh, ctx: &Ctx) -> Result<TriMesh, PreviewError> {
    ctx.alloc(mesh.positions.len() as u64 * 24, "the vertex welding table")?;
    let mut seen: HashMap<[u32; 3], u32> = HashMap::with_capacity(mesh.positions.len());
    let mut positions = Vec::new();
    let remap: Vec<u32> = mesh
        .positions
        .iter()
        .map(|p| {
            let next = positions.len() as u32;
            let id = *seen.entry(p.map(|c| (c + 0.0).to_bits())).or_insert(next);
            if id == next {
                positions.push(*p);
            }
            id
        })
        .collect();
    let indices = mesh.indices.iter().map(|&i| remap[i as usize]).collect();
    Ok(TriMesh { positions, indices })
}
