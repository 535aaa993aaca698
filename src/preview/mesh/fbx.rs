//! Binary FBX meshes: `Objects/Geometry` records of class `Mesh` (`Vertices` as
//! x,y,z doubles, `PolygonVertexIndex` with each polygon's last index stored as
//! `-(i + 1)`), placed by the `Model` records they are connected to (`Lcl
//! Translation`, `PreRotation`, `Lcl Rotation` in XYZ Euler degrees, `Lcl
//! Scaling`, parent models followed). Pivots and other rotation orders are
//! ignored. Positions are converted to metres (`GlobalSettings/UnitScaleFactor`
//! is centimetres per file unit). ASCII FBX is refused as [`PreviewError::Unsupported`].

use std::collections::HashMap;

use super::super::{Ctx, PreviewError};
use super::fbx_nodes::{parse, Node};
use super::model::{apply, mul, reserve_check, Mat4, Summary, TriMesh, IDENTITY};

/// Longest chain of parent models followed.
const MAX_PARENTS: usize = 64;

struct Geometry {
    id: i64,
    positions: Vec<[f32; 3]>,
    indices: Vec<u32>,
    polygons: u64,
}

/// Reads a complete binary FBX file held in `bytes`.
pub fn load(bytes: &[u8], ctx: &Ctx) -> Result<(Summary, TriMesh), PreviewError> {
    let (_version, top) = parse(bytes, ctx)?;
    let objects = top
        .iter()
        .find(|n| n.name == b"Objects")
        .ok_or_else(|| PreviewError::corrupt("fbx", "no Objects record"))?;
    let links: Vec<(i64, i64)> = top
        .iter()
        .filter(|n| n.name == b"Connections")
        .flat_map(|c| c.all("C"))
        .filter(|c| c.bytes(0) == Some(b"OO"))
        .filter_map(|c| Some((c.int(1)?, c.int(2)?)))
        .collect();
    let models: HashMap<i64, Mat4> = objects
        .all("Model")
        .filter_map(|m| Some((m.int(0)?, local_transform(m))))
        .collect();
    let parent_of: HashMap<i64, i64> = links
        .iter()
        .filter(|(c, _)| models.contains_key(c))
        .map(|&(c, p)| (c, p))
        .collect();
    let material_names: Vec<String> = objects
        .all("Material")
        .map(|m| display_name(m.bytes(1).unwrap_or_default()))
        .collect();
    let mut geometries = Vec::new();
    for g in objects
        .all("Geometry")
        .filter(|g| g.bytes(2) == Some(b"Mesh"))
    {
        ctx.check()?;
        geometries.push(geometry(g, ctx)?);
    }
    // Each geometry is drawn once per model holding it (once, untransformed, if none).
    let mut placed: Vec<(usize, Mat4)> = Vec::new();
    for (i, g) in geometries.iter().enumerate() {
        let holders: Vec<i64> = links
            .iter()
            .filter(|(c, p)| *c == g.id && models.contains_key(p))
            .map(|&(_, p)| p)
            .collect();
        if holders.is_empty() {
            placed.push((i, IDENTITY));
        }
        for model in holders {
            placed.push((i, world(model, &models, &parent_of)?));
        }
    }
    let nv: u64 = placed
        .iter()
        .map(|(i, _)| geometries[*i].positions.len() as u64)
        .sum();
    let ni: u64 = placed
        .iter()
        .map(|(i, _)| geometries[*i].indices.len() as u64)
        .sum();
    reserve_check(nv, ni, ctx)?;
    let mut mesh = TriMesh::with_capacity(nv, ni, ctx)?;
    let unit = metres(&top);
    for (i, m) in &placed {
        let m = &mul(&unit, m);
        let g = &geometries[*i];
        let base = mesh.positions.len() as u32;
        mesh.positions
            .extend(g.positions.iter().map(|&p| apply(m, p)));
        mesh.indices.extend(g.indices.iter().map(|i| i + base));
    }
    let summary = Summary {
        format: "fbx",
        vertices: geometries.iter().map(|g| g.positions.len() as u64).sum(),
        triangles: Some(geometries.iter().map(|g| g.indices.len() as u64 / 3).sum()),
        faces: Some(geometries.iter().map(|g| g.polygons).sum()),
        meshes: Some(geometries.len() as u64),
        material_names: Some(material_names),
        bbox: None,
    };
    Ok((summary, mesh))
}

/// The scale from file units to metres: `GlobalSettings` gives `UnitScaleFactor`
/// in centimetres per unit (1 when absent).
fn metres(top: &[Node]) -> Mat4 {
    let cm = top
        .iter()
        .filter(|n| n.name == b"GlobalSettings")
        .filter_map(|n| n.child("Properties70"))
        .flat_map(|p| p.all("P"))
        .find(|p| p.bytes(0) == Some(b"UnitScaleFactor"))
        .and_then(|p| p.float(4))
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(1.0);
    scale([cm / 100.0; 3])
}

/// `Name\0\x01Class` → `Name`.
fn display_name(raw: &[u8]) -> String {
    let name = raw.split(|&b| b == 0).next().unwrap_or(raw);
    String::from_utf8_lossy(name).into_owned()
}

fn geometry(g: &Node, ctx: &Ctx) -> Result<Geometry, PreviewError> {
    let id = g
        .int(0)
        .ok_or_else(|| PreviewError::corrupt("fbx", "a Geometry without an id"))?;
    let array = |name: &str| {
        g.child(name)
            .and_then(|n| n.props.first())
            .ok_or_else(|| PreviewError::corrupt("fbx", format!("geometry {id} has no {name}")))
    };
    let coords = array("Vertices")?.floats(ctx)?;
    if coords.len() % 3 != 0 {
        return Err(PreviewError::corrupt(
            "fbx",
            format!("geometry {id}: {} coordinates", coords.len()),
        ));
    }
    let positions: Vec<[f32; 3]> = coords
        .chunks_exact(3)
        .map(|c| [c[0] as f32, c[1] as f32, c[2] as f32])
        .collect();
    let corners = array("PolygonVertexIndex")?.ints(ctx)?;
    // A fan of n corners gives n - 2 triangles: at most 3 indices per corner.
    ctx.alloc(corners.len() as u64 * 12, "FBX triangle indices")?;
    let mut indices = Vec::with_capacity(corners.len() * 3);
    let mut poly: Vec<u32> = Vec::new();
    let mut polygons = 0u64;
    let n = positions.len() as i64;
    for &c in &corners {
        let (i, last) = if c < 0 { (-(c + 1), true) } else { (c, false) };
        if i >= n {
            return Err(PreviewError::corrupt(
                "fbx",
                format!("geometry {id}: vertex index {i} of {n}"),
            ));
        }
        poly.push(i as u32);
        if last {
            polygons += 1;
            for k in 2..poly.len() {
                indices.extend([poly[0], poly[k - 1], poly[k]]);
            }
            poly.clear();
        }
    }
    if !poly.is_empty() {
        return Err(PreviewError::corrupt(
            "fbx",
            format!("geometry {id}: the last polygon is not closed"),
        ));
    }
    Ok(Geometry {
        id,
        positions,
        indices,
        polygons,
    })
}

/// A model's transform in the scene: its own, then its parents' up to the root.
fn world(
    model: i64,
    models: &HashMap<i64, Mat4>,
    parent_of: &HashMap<i64, i64>,
) -> Result<Mat4, PreviewError> {
    let mut m = IDENTITY;
    let mut at = model;
    for _ in 0..MAX_PARENTS {
        let Some(local) = models.get(&at) else {
            return Ok(m);
        };
        m = mul(local, &m);
        match parent_of.get(&at) {
            Some(&p) => at = p,
            None => return Ok(m),
        }
    }
    Err(PreviewError::corrupt(
        "fbx",
        format!("model {model} has more than {MAX_PARENTS} ancestors (a cycle?)"),
    ))
}

/// `T × Rpre × R × S` from a Model's `Properties70`.
fn local_transform(model: &Node) -> Mat4 {
    let mut t = [0.0f64; 3];
    let mut pre = [0.0f64; 3];
    let mut r = [0.0f64; 3];
    let mut s = [1.0f64; 3];
    for p in model
        .child("Properties70")
        .into_iter()
        .flat_map(|p| p.all("P"))
    {
        let target = match p.bytes(0) {
            Some(b"Lcl Translation") => &mut t,
            Some(b"PreRotation") => &mut pre,
            Some(b"Lcl Rotation") => &mut r,
            Some(b"Lcl Scaling") => &mut s,
            _ => continue,
        };
        for (k, v) in target.iter_mut().enumerate() {
            if let Some(x) = p.float(4 + k).filter(|x| x.is_finite()) {
                *v = x;
            }
        }
    }
    let mut m = euler(pre);
    m = mul(&m, &euler(r));
    m = mul(&m, &scale(s));
    m[3] = [t[0] as f32, t[1] as f32, t[2] as f32, 1.0];
    m
}

fn scale(s: [f64; 3]) -> Mat4 {
    let mut m = IDENTITY;
    for k in 0..3 {
        m[k][k] = s[k] as f32;
    }
    m
}

/// Rotation by XYZ Euler angles in degrees (x applied first): `Rz × Ry × Rx`.
fn euler(deg: [f64; 3]) -> Mat4 {
    let axis = |k: usize| {
        let (sin, cos) = deg[k].to_radians().sin_cos();
        let (sin, cos) = (sin as f32, cos as f32);
        let (a, b) = ((k + 1) % 3, (k + 2) % 3);
        let mut m = IDENTITY;
        m[a][a] = cos;
        m[a][b] = sin;
        m[b][a] = -sin;
        m[b][b] = cos;
        m
    };
    mul(&axis(2), &mul(&axis(1), &axis(0)))
}
