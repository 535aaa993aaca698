//! A small deterministic software rasteriser for mesh thumbnails: orthographic
//! camera on a fixed 3/4 view (from +x, +y, +z, y up) framing the bounding sphere,
//! a z-buffer, flat Lambert shading with a fixed light, transparent background.
//! Pure `f32` arithmetic in a fixed order, so the same mesh gives the same pixels.

use image::RgbaImage;

use super::super::{Ctx, PreviewError};
use super::model::TriMesh;

/// Direction from the target towards the camera (normalised in use).
const EYE: [f32; 3] = [1.0, 0.75, 1.25];
/// Direction towards the light.
const LIGHT: [f32; 3] = [0.4, 1.0, 0.7];
/// Surface colour (sRGB).
const BASE: [f32; 3] = [205.0, 210.0, 220.0];
/// Light every face gets.
const AMBIENT: f32 = 0.3;
/// Fraction of the half-image the bounding sphere's radius fills.
const FILL: f32 = 0.92;
/// Triangles drawn between deadline checks.
const CHECK_EVERY: usize = 1 << 16;

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    let l = dot(a, a).sqrt();
    if l > 0.0 {
        [a[0] / l, a[1] / l, a[2] / l]
    } else {
        a
    }
}

/// Renders `mesh` (validated) into a `size`×`size` image; pixels the mesh does not
/// cover are transparent.
pub fn render(mesh: &TriMesh, size: u32, ctx: &Ctx) -> Result<RgbaImage, PreviewError> {
    let px = size as u64 * size as u64;
    ctx.alloc(px * 4, "the thumbnail image")?;
    ctx.alloc(px * 4, "the z-buffer")?;
    ctx.alloc(mesh.positions.len() as u64 * 12, "projected vertices")?;
    let mut rgba = vec![0u8; px as usize * 4];
    let mut depth = vec![f32::NEG_INFINITY; px as usize];

    let bbox = mesh.bbox();
    let centre = bbox.map_or([0.0; 3], |b| {
        [
            ((b.min[0] + b.max[0]) / 2.0) as f32,
            ((b.min[1] + b.max[1]) / 2.0) as f32,
            ((b.min[2] + b.max[2]) / 2.0) as f32,
        ]
    });
    // In f64, so coordinates near f32's limits cannot overflow the radius.
    let radius = mesh
        .positions
        .iter()
        .map(|&p| {
            let d = sub(p, centre);
            d.iter().map(|&c| c as f64 * c as f64).sum::<f64>()
        })
        .fold(0.0f64, f64::max)
        .sqrt();
    let radius = if radius > 0.0 && radius.is_finite() {
        radius
    } else {
        1.0
    };
    let eye = normalize(EYE);
    let right = normalize(cross([0.0, 1.0, 0.0], eye));
    let up = cross(eye, right);
    let half = size as f32 / 2.0;
    let scale = (half as f64 * FILL as f64 / radius) as f32;
    let screen: Vec<[f32; 3]> = mesh
        .positions
        .iter()
        .map(|&p| {
            let d = sub(p, centre);
            [
                half + dot(d, right) * scale,
                half - dot(d, up) * scale,
                dot(d, eye),
            ]
        })
        .collect();
    let light = normalize(LIGHT);
    let last = size as f32 - 1.0;
    for (t, tri) in mesh.indices.chunks_exact(3).enumerate() {
        if t % CHECK_EVERY == 0 {
            ctx.check()?;
        }
        let [i0, i1, i2] = [tri[0] as usize, tri[1] as usize, tri[2] as usize];
        let (a, b, c) = (screen[i0], screen[i1], screen[i2]);
        let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if area == 0.0 || !area.is_finite() {
            continue;
        }
        let p = &mesh.positions;
        let mut n = normalize(cross(sub(p[i1], p[i0]), sub(p[i2], p[i0])));
        if dot(n, eye) < 0.0 {
            n = [-n[0], -n[1], -n[2]];
        }
        let shade = AMBIENT + (1.0 - AMBIENT) * dot(n, light).max(0.0);
        let colour = BASE.map(|c| (c * shade).round().clamp(0.0, 255.0) as u8);
        let x0 = a[0].min(b[0]).min(c[0]).floor().max(0.0);
        let x1 = a[0].max(b[0]).max(c[0]).ceil().min(last);
        let y0 = a[1].min(b[1]).min(c[1]).floor().max(0.0);
        let y1 = a[1].max(b[1]).max(c[1]).ceil().min(last);
        if x0 > x1 || y0 > y1 {
            continue;
        }
        let inv = 1.0 / area;
        for y in y0 as u32..=y1 as u32 {
            let py = y as f32 + 0.5;
            let row = (y * size) as usize;
            for x in x0 as u32..=x1 as u32 {
                let px = x as f32 + 0.5;
                let w0 = ((b[0] - px) * (c[1] - py) - (b[1] - py) * (c[0] - px)) * inv;
                let w1 = ((c[0] - px) * (a[1] - py) - (c[1] - py) * (a[0] - px)) * inv;
                let w2 = 1.0 - w0 - w1;
                if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                    continue;
                }
                let z = w0 * a[2] + w1 * b[2] + w2 * c[2];
                let at = row + x as usize;
                if z > depth[at] {
                    depth[at] = z;
                    rgba[at * 4..at * 4 + 4]
                        .copy_from_slice(&[colour[0], colour[1], colour[2], 255]);
                }
            }
        }
    }
    RgbaImage::from_raw(size, size, rgba)
        .ok_or_else(|| PreviewError::too_large("the thumbnail buffer has the wrong size"))
}
