//! Bad input: empty, truncated, corrupt and mislabelled files, huge counts,
//! out-of-range indices, non-finite coordinates, limits and deadlines. Every case
//! must end in a clear error, never a panic.

use std::time::Duration;

use serde_json::json;

use super::tests::{fixture, input, small};
use super::*;

const KINDS: [&str; 6] = ["glb", "gltf", "obj", "fbx", "stl", "ply"];

const FIXTURES: [(&str, &str); 11] = [
    ("cube.glb", "glb"),
    ("cube.gltf", "gltf"),
    ("cube_external.gltf", "gltf"),
    ("cube.obj", "obj"),
    ("cube.fbx", "fbx"),
    ("cube_ascii.fbx", "fbx"),
    ("cube_bin.stl", "stl"),
    ("cube_ascii.stl", "stl"),
    ("cube_bin.ply", "ply"),
    ("cube_ascii.ply", "ply"),
    ("sphere.glb", "glb"),
];

pub(super) fn gen(kind: &str, bytes: Vec<u8>) -> Result<Generated, PreviewError> {
    MeshGenerator.generate(&input(&format!("x.{kind}"), kind, bytes), &small())
}

fn gen_ctx(kind: &str, bytes: Vec<u8>, ctx: &Ctx) -> Result<Generated, PreviewError> {
    MeshGenerator.generate(&input(&format!("x.{kind}"), kind, bytes), ctx)
}

macro_rules! assert_err {
    ($e:expr, $pat:pat) => {
        match $e {
            Err(e @ $pat) => assert!(!e.to_string().is_empty()),
            other => panic!(
                "expected {}, got {:?}",
                stringify!($pat),
                other.map(|g| g.facts)
            ),
        }
    };
}
pub(super) use assert_err;

#[test]
fn generator_identity() {
    assert_eq!(MeshGenerator.name(), "mesh");
    assert_eq!(MeshGenerator.version(), 1);
    for k in KINDS {
        assert!(MeshGenerator.handles(k));
    }
    assert!(!MeshGenerator.handles("png"));
    assert_err!(gen("png", vec![1, 2, 3]), PreviewError::Unsupported { .. });
    let inp = input("x.png", "png", vec![1]);
    assert_err!(
        MeshGenerator.generate_partial(&inp, &small()),
        PreviewError::Unsupported { .. }
    );
    let partial = Input {
        source: std::sync::Arc::new(crate::preview::PrefixSource::new(vec![1, 2], 1)),
        ..inp
    };
    assert_err!(
        MeshGenerator.generate_partial(&partial, &small()),
        PreviewError::Unsupported { .. }
    );
}

#[test]
fn empty_files_are_truncated() {
    for k in KINDS {
        assert_err!(gen(k, Vec::new()), PreviewError::Truncated { .. });
    }
}

#[test]
fn truncated_fixtures_never_panic() {
    for (file, kind) in FIXTURES {
        let bytes = fixture(file);
        let step = (bytes.len() / 60).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let r = gen(kind, bytes[..cut].to_vec());
            // Binary containers know their length: a cut always fails.
            // (FBX: up to its last record; the footer after it is not needed.)
            let fbx_records = file == "cube.fbx" && cut + 200 < bytes.len();
            if fbx_records
                || matches!(
                    file,
                    "cube.glb" | "sphere.glb" | "cube_bin.stl" | "cube_bin.ply"
                )
            {
                assert!(r.is_err(), "{file} cut at {cut}");
            }
        }
    }
}

/// Deterministic noise.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn random_bytes_and_flipped_bytes_fail_cleanly() {
    for (i, k) in KINDS.iter().enumerate() {
        for n in [1, 83, 84, 1000] {
            assert!(
                gen(k, noise(n, i as u64 * 31 + n as u64)).is_err(),
                "{k} {n}"
            );
        }
    }
    // Flipped bytes inside real files: errors or (harmless) previews, never panics.
    for (file, kind) in FIXTURES {
        let bytes = fixture(file);
        for (j, at) in (0..bytes.len())
            .step_by((bytes.len() / 25).max(1))
            .enumerate()
        {
            let mut b = bytes.clone();
            b[at] ^= noise(1, j as u64 + 7)[0] | 1;
            let _ = gen(kind, b);
        }
    }
}

fn wav() -> Vec<u8> {
    let mut w = b"RIFF\x24\x01\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x44\xac\0\0\x88\x58\x01\0\x02\0\x10\0data\0\x01\0\0".to_vec();
    w.extend(noise(256, 3));
    w
}

#[test]
fn mislabelled_files_fail_cleanly() {
    for k in KINDS {
        assert!(gen(k, wav()).is_err(), "a WAV labelled {k}");
    }
    assert!(gen("stl", fixture("cube.glb")).is_err());
    assert!(gen("ply", fixture("cube.obj")).is_err());
    assert!(gen("glb", fixture("cube.gltf")).is_err());
    assert!(gen("gltf", fixture("cube.glb")).is_err());
    assert_err!(
        gen("obj", fixture("cube_bin.stl")),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("obj", b"hello there\nnothing here\n".to_vec()),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("fbx", fixture("cube.obj")),
        PreviewError::Corrupt { .. }
    );
}

#[test]
fn ascii_fbx_is_unsupported() {
    let e = gen("fbx", fixture("cube_ascii.fbx")).unwrap_err();
    assert!(
        matches!(e, PreviewError::Unsupported { .. }) && e.to_string().contains("ASCII FBX"),
        "{e}"
    );
}

#[test]
fn limits_and_deadlines() {
    for (file, kind) in FIXTURES {
        let tiny_input = Ctx {
            max_input_bytes: 10,
            ..small()
        };
        assert_err!(
            gen_ctx(kind, fixture(file), &tiny_input),
            PreviewError::TooLarge { .. }
        );
        let late = Ctx {
            levels: vec![64],
            ..Ctx::with_timeout(Duration::ZERO)
        };
        match gen_ctx(kind, fixture(file), &late) {
            Err(PreviewError::TimedOut { .. }) => {}
            // Formats refused before any loop fail the same way on time as without.
            Err(PreviewError::Unsupported { .. }) => {}
            Ok(g) if g.items.is_empty() => {} // facts only (external buffers)
            other => panic!("{file}: {other:?}"),
        }
    }
    for (file, kind) in [
        ("cube.glb", "glb"),
        ("cube.obj", "obj"),
        ("cube.fbx", "fbx"),
        ("cube_bin.stl", "stl"),
        ("cube_ascii.stl", "stl"),
        ("cube_ascii.ply", "ply"),
    ] {
        let tight = Ctx {
            max_alloc: 40,
            ..small()
        };
        assert_err!(
            gen_ctx(kind, fixture(file), &tight),
            PreviewError::TooLarge { .. }
        );
    }
    // The render itself is bounded too (1024² needs 4 MiB).
    let ctx = Ctx {
        levels: vec![4096],
        max_alloc: 1 << 20,
        ..Ctx::default()
    };
    assert_err!(
        gen_ctx("stl", fixture("cube_bin.stl"), &ctx),
        PreviewError::TooLarge { .. }
    );
}

#[test]
fn stl_bad_input() {
    let mut huge = vec![0u8; 84];
    huge[80..84].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_err!(gen("stl", huge), PreviewError::Truncated { .. });
    let mut trailing = fixture("cube_bin.stl");
    trailing.extend([0u8; 60]);
    assert_err!(gen("stl", trailing), PreviewError::Corrupt { .. });
    let nan = b"solid x\nfacet normal 0 0 1\nouter loop\nvertex nan 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid x\n";
    assert_err!(gen("stl", nan.to_vec()), PreviewError::Corrupt { .. });
    assert_err!(
        gen(
            "stl",
            b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 1 two 0\n".to_vec()
        ),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("stl", b"solid x\nouter loop\nvertex 1 0".to_vec()),
        PreviewError::Truncated { .. }
    );
    assert_err!(
        gen(
            "stl",
            b"solid x\nvertex 1 0 0\nvertex 1 1 0\nendsolid\n".to_vec()
        ),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("stl", b"solid x\n".to_vec()),
        PreviewError::Truncated { .. }
    );
    assert_err!(
        gen("stl", b"solid \xff\xfe facet\n".to_vec()),
        PreviewError::Corrupt { .. }
    );
    // An empty solid is valid: facts, nothing to draw.
    let g = gen("stl", b"solid x\nendsolid x\n".to_vec()).unwrap();
    assert_eq!(g.facts["triangles"], 0);
    assert!(g.items.is_empty());
}

fn ply(header_extra: &str, body: &str) -> Vec<u8> {
    format!("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n{header_extra}end_header\n{body}").into_bytes()
}

#[test]
fn ply_bad_input() {
    let face = "element face 1\nproperty list uchar int vertex_indices\n";
    let ok = ply(face, "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n");
    assert_eq!(gen("ply", ok).unwrap().facts["triangles"], 1);
    assert_err!(
        gen("ply", ply(face, "0 0 0\n1 0 0\n0 1 0\n3 0 1 99\n")),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("ply", ply(face, "nan 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("ply", ply(face, "0 0 0\n1 0 0\n0 1 0\n3 0 1 -1\n")),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("ply", ply(face, "0 0 0\n1 0 0\n0 1 0\n-3 0 1 2\n")),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("ply", ply(face, "0 0 0\n1 0 0\n0 1 0\n3 0 1 x\n")),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("ply", ply(face, "0 0 0\n1 0 0\n0 1 0\n3 0 1\n")),
        PreviewError::Truncated { .. }
    );
    assert_err!(
        gen(
            "ply",
            ply(
                "element face 4000000000\nproperty list uchar int vertex_indices\n",
                ""
            )
        ),
        PreviewError::Truncated { .. }
    );
    let tight = Ctx {
        max_alloc: 30,
        ..small()
    };
    assert_err!(
        gen_ctx("ply", ply(face, "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"), &tight),
        PreviewError::TooLarge { .. }
    );
    let tight = Ctx {
        max_alloc: 40,
        ..small()
    };
    assert_err!(
        gen_ctx(
            "ply",
            ply(
                "element face 1\nproperty list uchar int vertex_indices\n",
                "0 0 0\n1 0 0\n0 1 0\n12 0 1 2 0 1 2 0 1 2 0 1 2\n"
            ),
            &tight
        ),
        PreviewError::TooLarge { .. }
    );
    for header in [
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n",
        "ply\nformat utf9 1.0\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty quad x\nend_header\n",
        "ply\nformat ascii 1.0\nproperty float x\nend_header\n",
        "ply\nelement vertex 0\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex many\nend_header\n",
        "ply\nformat ascii 1.0\nwhat is this\nend_header\n",
        "plx\n",
    ] {
        assert_err!(
            gen("ply", header.as_bytes().to_vec()),
            PreviewError::Corrupt { .. }
        );
    }
    assert_err!(
        gen(
            "ply",
            b"ply\nformat ascii 1.0\ncomment \xff\xfe\nend_header\n".to_vec()
        ),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("ply", b"ply\nformat ascii 1.0\n".to_vec()),
        PreviewError::Truncated { .. }
    );
    assert_err!(
        gen("ply", b"ply\nformat ascii 1.0\nend_header".to_vec()),
        PreviewError::Truncated { .. }
    );
    let mut long = b"ply\nformat ascii 1.0\n".to_vec();
    long.extend(std::iter::repeat_n(b"comment padding\n", 5000).flatten());
    assert_err!(gen("ply", long.clone()), PreviewError::Corrupt { .. });
    let src = crate::preview::PrefixSource::new(long, 70_000);
    let inp = Input {
        name: "x.ply".into(),
        kind: "ply".into(),
        source: std::sync::Arc::new(src),
    };
    assert_err!(
        MeshGenerator.generate_partial(&inp, &small()),
        PreviewError::Corrupt { .. }
    );
}

#[test]
fn ply_binary_big_endian_and_skipped_elements() {
    let mut b = b"ply\r\nformat binary_big_endian 1.0\nelement vertex 3\nproperty double x\nproperty double y\nproperty double z\nproperty char c\nproperty short s\nproperty ushort u\n\
element face 1\nproperty list uchar uint vertex_indices\nproperty int8 flag\nelement extra 1\nproperty list ushort int16 stuff\nproperty uint32 w\nend_header\n".to_vec();
    for (i, p) in [[0f64, 0., 0.], [2., 0., 0.], [0., 3., 0.]]
        .iter()
        .enumerate()
    {
        for c in p {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend([i as u8, 0, 1, 0, 2]);
    }
    b.push(3);
    for i in [0u32, 1, 2] {
        b.extend_from_slice(&i.to_be_bytes());
    }
    b.push(0xff);
    b.extend([0, 1, 0, 7, 0, 0, 0, 9]);
    let g = gen("ply", b.clone()).unwrap();
    assert_eq!(g.facts["triangles"], 1);
    assert_eq!(g.facts["bbox_max"], json!([2.0, 3.0, 0.0]));
    b.truncate(b.len() - 3);
    assert_err!(gen("ply", b), PreviewError::Truncated { .. });
}

#[test]
fn obj_bad_input() {
    assert_err!(
        gen("obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n".to_vec()),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("obj", b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".to_vec()),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("obj", b"v 0 0 0\nv 1 zero 0\n".to_vec()),
        PreviewError::Corrupt { .. }
    );
    let g = gen("obj", b"# nothing\nusemtl A\nusemtl B\nusemtl A\n".to_vec()).unwrap();
    assert_eq!(g.facts["material_names"], json!(["A", "B"]));
    assert_eq!(g.facts["triangles"], 0);
}

#[test]
fn binary_stl_with_a_solid_header_and_stray_bytes_is_binary() {
    let mut b = fixture("cube_bin.stl");
    b[..6].copy_from_slice(b"solid ");
    b.extend([0u8; 3]);
    let g = gen("stl", b).unwrap();
    assert_eq!(g.facts["triangles"], 12);
}
