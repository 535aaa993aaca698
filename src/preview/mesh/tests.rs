//! Tests against the fixtures made by `tools/fixtures/preview-mesh.sh`: counts per
//! format, the rendered thumbnail, the low-poly GLB and partial previews. glTF
//! scenes built by hand are in `tests_gltf.rs`, bad input in `tests_bad.rs`,
//! hand-built FBX in `tests_fbx.rs`.

use std::sync::Arc;

use super::*;
use crate::preview::{PrefixSource, Source};

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/preview/mesh/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A context with one small thumbnail level, to keep debug-build tests fast.
pub(super) fn small() -> Ctx {
    Ctx {
        levels: vec![64],
        ..Ctx::default()
    }
}

pub(super) fn input(name: &str, kind: &str, bytes: Vec<u8>) -> Input {
    Input {
        name: name.into(),
        kind: kind.into(),
        source: Arc::new(crate::preview::BytesSource::new(bytes)),
    }
}

pub(super) fn num(g: &Generated, k: &str) -> Option<u64> {
    g.facts.get(k).and_then(|v| v.as_u64())
}

pub(super) fn vec3(g: &Generated, k: &str) -> [f64; 3] {
    let a = g.facts[k].as_array().unwrap_or_else(|| panic!("{k}"));
    [
        a[0].as_f64().unwrap(),
        a[1].as_f64().unwrap(),
        a[2].as_f64().unwrap(),
    ]
}

fn names(g: &Generated) -> Option<Vec<String>> {
    g.facts
        .get("material_names")
        .map(|v| serde_json::from_value(v.clone()).unwrap())
}

fn unit_box(g: &Generated) {
    let (lo, hi) = (vec3(g, "bbox_min"), vec3(g, "bbox_max"));
    for k in 0..3 {
        assert!(
            (lo[k] + 1.0).abs() < 1e-4 && (hi[k] - 1.0).abs() < 1e-4,
            "{lo:?} {hi:?}"
        );
    }
}

/// What each exporter wrote for Blender's default cube (8 corners, 6 quads):
/// OBJ, FBX and STL (welded) keep 8 shared vertices; assimp's glTF splits them by
/// normal (24); Blender's PLY splits them by UV seam (14). All give 12 triangles.
#[test]
fn cube_counts_in_every_format() {
    let none: Option<Vec<String>> = None;
    let default = Some(vec!["DefaultMaterial".to_string()]);
    #[rustfmt::skip]
    let cases = [
        ("cube.glb", "glb", 24, None, Some(1), default.clone()),
        ("cube.gltf", "gltf", 24, None, Some(1), default.clone()),
        ("cube.obj", "obj", 8, None, Some(1), Some(vec![])),
        ("cube.fbx", "fbx", 8, Some(6), Some(1), Some(vec!["Material".to_string()])),
        ("cube_bin.stl", "stl", 8, None, None, none.clone()),
        ("cube_ascii.stl", "stl", 8, None, None, none.clone()),
        ("cube_bin.ply", "ply", 14, Some(6), None, none.clone()),
        ("cube_ascii.ply", "ply", 14, Some(6), None, none.clone()),
    ];
    for (file, kind, vertices, faces, meshes, materials) in cases {
        let inp = Input::from_bytes(file, fixture(file));
        assert_eq!(inp.kind, kind, "{file}");
        let g = MeshGenerator
            .generate(&inp, &small())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(g.facts["format"], kind, "{file}");
        assert_eq!(num(&g, "vertices"), Some(vertices), "{file}");
        assert_eq!(num(&g, "triangles"), Some(12), "{file}");
        assert_eq!(num(&g, "faces"), faces, "{file}");
        assert_eq!(num(&g, "meshes"), meshes, "{file}");
        assert_eq!(names(&g), materials, "{file}");
        assert_eq!(
            num(&g, "materials"),
            materials.as_ref().map(|m| m.len() as u64),
            "{file}"
        );
        unit_box(&g);
        let roles: Vec<(Role, u32)> = g.items.iter().map(|i| (i.role, i.level)).collect();
        assert_eq!(roles, [(Role::Thumbnail, 64), (Role::LowPoly, 0)], "{file}");
    }
}

#[test]
fn sphere_counts_and_materials() {
    let g = MeshGenerator
        .generate(&Input::from_bytes("s.glb", fixture("sphere.glb")), &small())
        .unwrap();
    // 32 segments × 16 rings: 32 × 14 quads + 2 × 32 pole triangles = 960 triangles.
    assert_eq!(num(&g, "triangles"), Some(960));
    assert_eq!(
        names(&g),
        Some(vec!["DefaultMaterial".to_string(), "Red".to_string()])
    );
    unit_box(&g);
}

/// Centroid and coverage of the non-transparent pixels of a render.
fn coverage(img: &image::RgbaImage) -> (f64, f64, f64) {
    let (mut n, mut sx, mut sy) = (0f64, 0f64, 0f64);
    for (x, y, p) in img.enumerate_pixels() {
        if p[3] > 0 {
            n += 1.0;
            sx += x as f64 + 0.5;
            sy += y as f64 + 0.5;
        }
    }
    (n / (img.width() * img.height()) as f64, sx / n, sy / n)
}

#[test]
fn cube_render_is_non_empty_and_centred() {
    for file in ["cube.glb", "cube.obj", "cube.fbx", "cube_bin.stl"] {
        let inp = Input::from_bytes(file, fixture(file));
        let bytes = fixture(file);
        let r = read(&inp.kind, &bytes, &Ctx::default()).unwrap();
        let img = render::render(&r.mesh, 128, &Ctx::default()).unwrap();
        let (cover, cx, cy) = coverage(&img);
        assert!(cover > 0.3 && cover < 0.9, "{file}: {cover}");
        assert!(
            (cx - 64.0).abs() < 4.0 && (cy - 64.0).abs() < 4.0,
            "{file}: {cx} {cy}"
        );
        // Three faces show, each in its own shade.
        let mut shades: Vec<[u8; 4]> = img.pixels().filter(|p| p[3] > 0).map(|p| p.0).collect();
        shades.sort_unstable();
        shades.dedup();
        assert_eq!(shades.len(), 3, "{file}: {shades:?}");
    }
}

#[test]
fn thumbnail_shows_the_mesh_on_a_checkerboard() {
    let g = MeshGenerator
        .generate(
            &Input::from_bytes("c.stl", fixture("cube_bin.stl")),
            &Ctx::default(),
        )
        .unwrap();
    let levels: Vec<u32> = g
        .items
        .iter()
        .filter(|i| i.role == Role::Thumbnail)
        .map(|i| i.level)
        .collect();
    assert_eq!(levels, [64, 256, 1024]);
    for item in g.items.iter().filter(|i| i.role == Role::Thumbnail) {
        let img = image::load_from_memory(&item.bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (item.level, item.level));
        let c = img.get_pixel(item.level / 2, item.level / 2).0;
        let corner = img.get_pixel(0, 0).0;
        assert_eq!(
            corner,
            [204, 204, 204],
            "the background is the checkerboard"
        );
        assert!(
            c[2] > c[0] && c != corner,
            "the centre is the bluish-grey mesh: {c:?}"
        );
    }
}

#[test]
fn output_is_deterministic() {
    let inp = Input::from_bytes("s.glb", fixture("sphere.glb"));
    let a = MeshGenerator.generate(&inp, &Ctx::default()).unwrap();
    let b = MeshGenerator.generate(&inp, &Ctx::default()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn lowpoly_glb_round_trips_through_the_gltf_crate() {
    let ctx = Ctx {
        lowpoly_triangles: 200,
        ..small()
    };
    let g = MeshGenerator
        .generate(&Input::from_bytes("s.glb", fixture("sphere.glb")), &ctx)
        .unwrap();
    let low = g.items.iter().find(|i| i.role == Role::LowPoly).unwrap();
    assert_eq!(low.media_type, "model/gltf-binary");
    let doc = ::gltf::Gltf::from_slice(&low.bytes).unwrap();
    let prim = doc.meshes().next().unwrap().primitives().next().unwrap();
    let tris = prim.indices().unwrap().count() / 3;
    assert!((50..=300).contains(&tris), "{tris} triangles");
    let pos = prim.get(&::gltf::Semantic::Positions).unwrap();
    assert!(pos.min().is_some() && pos.max().is_some());
    // Our own reader agrees, and the decimated sphere keeps its size.
    let back = MeshGenerator
        .generate(&Input::from_bytes("low.glb", low.bytes.clone()), &small())
        .unwrap();
    assert_eq!(num(&back, "triangles"), Some(tris as u64));
    assert_eq!(num(&back, "vertices"), Some(pos.count() as u64));
    let hi = vec3(&back, "bbox_max");
    assert!(hi.iter().all(|&c| c > 0.8 && c <= 1.0 + 1e-6), "{hi:?}");
    // Under the budget the mesh is kept whole.
    let cube = MeshGenerator
        .generate(&Input::from_bytes("c.obj", fixture("cube.obj")), &small())
        .unwrap();
    let low = &cube.items.last().unwrap().bytes;
    let doc = ::gltf::Gltf::from_slice(low).unwrap();
    assert_eq!(doc.accessors().nth(1).unwrap().count(), 36);
}

#[test]
fn sloppy_decimation_reaches_tiny_budgets() {
    let ctx = Ctx {
        lowpoly_triangles: 4,
        ..small()
    };
    let bytes = fixture("sphere.glb");
    let r = read("glb", &bytes, &ctx).unwrap();
    let low = lowpoly::decimate(&r.mesh, &ctx).unwrap();
    assert!(
        low.triangles() < 960 && !low.indices.is_empty(),
        "{}",
        low.triangles()
    );
    low.validate("glb").unwrap();
}

#[test]
fn external_gltf_buffers_give_facts_only() {
    let g = MeshGenerator
        .generate(
            &Input::from_bytes("c.gltf", fixture("cube_external.gltf")),
            &small(),
        )
        .unwrap();
    assert_eq!(
        g.facts["external_buffers"],
        serde_json::json!(["cube_external.bin"])
    );
    assert_eq!(num(&g, "vertices"), Some(24));
    assert_eq!(num(&g, "triangles"), Some(12));
    unit_box(&g);
    assert!(g.items.is_empty());
}

fn partial(kind: &str, bytes: Vec<u8>, present: u64) -> Result<Generated, PreviewError> {
    let inp = Input {
        name: format!("x.{kind}"),
        kind: kind.into(),
        source: Arc::new(PrefixSource::new(bytes, present)),
    };
    MeshGenerator.generate_partial(&inp, &small())
}

#[test]
fn partial_glb_reads_the_json_chunk_only() {
    let bytes = fixture("cube.glb");
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as u64;
    let g = partial("glb", bytes.clone(), 20 + json_len).unwrap();
    assert_eq!(num(&g, "vertices"), Some(24));
    assert_eq!(num(&g, "triangles"), Some(12));
    assert_eq!(num(&g, "meshes"), Some(1));
    assert_eq!(names(&g), Some(vec!["DefaultMaterial".to_string()]));
    unit_box(&g);
    assert!(g.items.is_empty());
    // Not even the JSON chunk: says what is missing.
    assert!(partial("glb", bytes.clone(), 100)
        .unwrap_err()
        .is_not_present());
    assert!(partial("glb", bytes.clone(), 10)
        .unwrap_err()
        .is_not_present());
    // All present: the full preview.
    let full = partial("glb", bytes.clone(), bytes.len() as u64).unwrap();
    assert!(!full.items.is_empty());
}

#[test]
fn partial_stl_and_ply_read_their_headers() {
    let stl = fixture("cube_bin.stl");
    let g = partial("stl", stl.clone(), 84).unwrap();
    assert_eq!(num(&g, "triangles"), Some(12));
    assert!(partial("stl", stl, 50).unwrap_err().is_not_present());
    let ascii = fixture("cube_ascii.stl");
    assert!(matches!(
        partial("stl", ascii, 100),
        Err(PreviewError::Unsupported { .. })
    ));

    for file in ["cube_bin.ply", "cube_ascii.ply"] {
        let ply = fixture(file);
        let end = ply.windows(11).position(|w| w == b"end_header\n").unwrap() as u64 + 11;
        let g = partial("ply", ply.clone(), end).unwrap();
        assert_eq!(num(&g, "vertices"), Some(14));
        assert_eq!(num(&g, "faces"), Some(6));
        assert_eq!(num(&g, "triangles"), None);
        assert!(partial("ply", ply, end - 5).unwrap_err().is_not_present());
    }
    // Formats without a useful head need the whole file.
    assert!(partial("obj", fixture("cube.obj"), 100)
        .unwrap_err()
        .is_not_present());
    assert!(partial("fbx", fixture("cube.fbx"), 100)
        .unwrap_err()
        .is_not_present());
}

#[test]
fn source_trait_is_used_for_partial_heads() {
    // generate_partial on a complete PrefixSource is the complete path.
    let bytes = fixture("cube_bin.ply");
    let src = PrefixSource::new(bytes.clone(), bytes.len() as u64);
    assert!(src.is_complete());
    let g = partial("ply", bytes.clone(), bytes.len() as u64).unwrap();
    assert_eq!(num(&g, "triangles"), Some(12));
}

/// A `n`×`n` grid of quads on a bumpy surface: 2n² triangles.
pub(super) fn grid(n: u32) -> TriMesh {
    let mut m = TriMesh::default();
    for y in 0..=n {
        for x in 0..=n {
            let (u, v) = (x as f32 / n as f32, y as f32 / n as f32);
            m.positions
                .push([u, ((u * 9.0).sin() + (v * 7.0).cos()) * 0.1, v]);
        }
    }
    for y in 0..n {
        for x in 0..n {
            let i = y * (n + 1) + x;
            m.indices
                .extend([i, i + n + 1, i + 1, i + 1, i + n + 1, i + n + 2]);
        }
    }
    m
}

#[test]
fn render_copes_with_degenerate_and_extreme_meshes() {
    let ctx = Ctx::default();
    // All corners in one point: nothing drawn, no division by zero.
    let point = TriMesh {
        positions: vec![[1.0, 1.0, 1.0]; 3],
        indices: vec![0, 1, 2],
    };
    let img = render::render(&point, 32, &ctx).unwrap();
    assert!(img.pixels().all(|p| p[3] == 0));
    // Coordinates near f32's limits still frame the mesh.
    let big = TriMesh {
        positions: vec![[-3e38, 0.0, 0.0], [3e38, 0.0, 0.0], [0.0, 3e38, 0.0]],
        indices: vec![0, 1, 2],
    };
    let img = render::render(&big, 32, &ctx).unwrap();
    assert!(img.pixels().any(|p| p[3] > 0));
    // A mesh off to one side is still centred.
    let mut far = grid(4);
    far.positions.iter_mut().for_each(|p| p[0] += 1000.0);
    let (_, cx, _) = coverage(&render::render(&far, 64, &ctx).unwrap());
    assert!((cx - 32.0).abs() < 6.0, "{cx}");
}

/// The benchmark's size: a 500 000-triangle GLB through the whole generator (in a
/// debug build this takes seconds; the release figure is in the README).
#[test]
fn half_a_million_triangle_glb_end_to_end() {
    let glb = lowpoly::glb(&grid(500));
    let t = std::time::Instant::now();
    let g = MeshGenerator
        .generate(&input("big.glb", "glb", glb), &Ctx::default())
        .unwrap();
    eprintln!("500k-triangle GLB preview: {:?} (debug build)", t.elapsed());
    assert_eq!(num(&g, "triangles"), Some(500_000));
    assert_eq!(num(&g, "vertices"), Some(501 * 501));
    let roles: Vec<(Role, u32)> = g.items.iter().map(|i| (i.role, i.level)).collect();
    assert_eq!(
        roles,
        [
            (Role::Thumbnail, 64),
            (Role::Thumbnail, 256),
            (Role::Thumbnail, 1024),
            (Role::LowPoly, 0)
        ]
    );
    let img = image::load_from_memory(&g.items[2].bytes)
        .unwrap()
        .to_rgb8();
    let covered = img.pixels().filter(|p| p[0] != p[2]).count() as f64 / (1024.0 * 1024.0);
    assert!(covered > 0.1, "{covered}");
    let low = ::gltf::Gltf::from_slice(&g.items[3].bytes).unwrap();
    let tris = low.accessors().nth(1).unwrap().count() / 3;
    assert!((1_000..=7_500).contains(&tris), "{tris}");
}
