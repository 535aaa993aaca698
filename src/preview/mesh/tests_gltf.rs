//! glTF documents built by hand (data: URI buffers): node transforms, primitive
//! modes, index types and strides, and the ways a document or GLB can be wrong.

use serde_json::json;

use super::tests::{input, num, small, vec3};
use super::tests_bad::{assert_err, gen};
use super::*;

/// A glTF JSON document with one buffer as a data: URI.
fn gltf_doc(bin: &[u8], body: serde_json::Value) -> Vec<u8> {
    let mut doc = body;
    let b64 = base64(bin);
    doc["asset"] = serde_json::json!({ "version": "2.0" });
    doc["buffers"] = serde_json::json!([{ "byteLength": bin.len(), "uri": format!("data:application/octet-stream;base64,{b64}") }]);
    serde_json::to_vec(&doc).unwrap()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// One unit triangle's positions (x, y, z floats) followed by u16 indices 0, 1, 2, 0.
fn triangle_bin() -> Vec<u8> {
    let mut bin = Vec::new();
    for c in [0f32, 0., 0., 1., 0., 0., 0., 1., 0.] {
        bin.extend_from_slice(&c.to_le_bytes());
    }
    for i in [0u16, 1, 2, 0] {
        bin.extend_from_slice(&i.to_le_bytes());
    }
    bin
}

fn triangle_gltf(extra: serde_json::Value) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "accessors": [
            { "bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0] },
            { "bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR" }
        ],
        "bufferViews": [
            { "buffer": 0, "byteOffset": 0, "byteLength": 36 },
            { "buffer": 0, "byteOffset": 36, "byteLength": 8 }
        ],
        "meshes": [{ "primitives": [{ "attributes": { "POSITION": 0 }, "indices": 1 }] }]
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

#[test]
fn gltf_node_transforms_and_instances() {
    let body = triangle_gltf(serde_json::json!({
        "scenes": [{ "nodes": [0, 2] }],
        "nodes": [
            { "translation": [10, 0, 0], "children": [1] },
            { "mesh": 0, "scale": [2, 2, 2] },
            { "mesh": 0, "matrix": [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,-5,1] }
        ]
    }));
    let g = MeshGenerator
        .generate(
            &input("t.gltf", "gltf", gltf_doc(&triangle_bin(), body)),
            &small(),
        )
        .unwrap();
    assert_eq!(vec3(&g, "bbox_min"), [0.0, 0.0, -5.0]);
    assert_eq!(vec3(&g, "bbox_max"), [12.0, 2.0, 0.0]);
    // Facts count the mesh once; the drawn scene has two instances.
    assert_eq!(num(&g, "triangles"), Some(1));
    assert_eq!(num(&g, "materials"), Some(0));
}

#[test]
fn gltf_strips_fans_and_unindexed_primitives() {
    for (mode, indexed, triangles) in [
        (5, true, 1),
        (6, true, 1),
        (4, false, 1),
        (0, false, 0),
        (1, true, 0),
    ] {
        let mut body = triangle_gltf(serde_json::json!({}));
        body["meshes"][0]["primitives"][0]["mode"] = mode.into();
        if !indexed {
            body["meshes"][0]["primitives"][0]
                .as_object_mut()
                .unwrap()
                .remove("indices");
        }
        let g = MeshGenerator
            .generate(
                &input("t.gltf", "gltf", gltf_doc(&triangle_bin(), body)),
                &small(),
            )
            .unwrap();
        assert_eq!(num(&g, "triangles"), Some(triangles), "mode {mode}");
        assert_eq!(g.items.is_empty(), triangles == 0, "mode {mode}");
    }
    // Strips and fans of four corners give two triangles each.
    let r = |mode: u32| {
        let mut bin = triangle_bin();
        bin.truncate(36);
        for c in [1f32, 1., 0.] {
            bin.extend_from_slice(&c.to_le_bytes());
        }
        let mut body = triangle_gltf(serde_json::json!({}));
        body["accessors"][0]["count"] = 4.into();
        body["bufferViews"][0]["byteLength"] = 48.into();
        body["bufferViews"].as_array_mut().unwrap().truncate(1);
        body["accessors"].as_array_mut().unwrap().truncate(1);
        body["meshes"][0]["primitives"][0] =
            serde_json::json!({ "attributes": { "POSITION": 0 }, "mode": mode });
        read("gltf", &gltf_doc(&bin, body), &Ctx::default())
            .unwrap()
            .mesh
            .indices
    };
    assert_eq!(r(5), [0, 1, 2, 2, 1, 3]);
    assert_eq!(r(6), [0, 1, 2, 0, 2, 3]);
}

#[test]
fn gltf_without_scenes_draws_each_mesh_and_reads_strided_u8_u32_indices() {
    for (ty, size) in [(5121u32, 1usize), (5125, 4)] {
        let mut bin = triangle_bin();
        bin.truncate(36);
        for i in [0u32, 1, 2] {
            bin.extend_from_slice(&i.to_le_bytes()[..size]);
            bin.extend(std::iter::repeat_n(0, 8 - size)); // stride 8
        }
        let mut body = triangle_gltf(serde_json::json!({}));
        body["accessors"][1]["componentType"] = ty.into();
        body["bufferViews"][1] =
            serde_json::json!({ "buffer": 0, "byteOffset": 36, "byteLength": 24, "byteStride": 8 });
        let r = read("gltf", &gltf_doc(&bin, body), &Ctx::default()).unwrap();
        assert_eq!(r.mesh.indices, [0, 1, 2], "type {ty}");
    }
}

#[test]
fn gltf_bad_input() {
    let tri = |extra: serde_json::Value| gltf_doc(&triangle_bin(), triangle_gltf(extra));
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut body = triangle_gltf(json!({}));
        f(&mut body);
        gltf_doc(&triangle_bin(), body)
    };
    assert!(gen("gltf", tri(json!({}))).is_ok());
    assert_err!(
        gen("gltf", b"{ not json".to_vec()),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen(
            "gltf",
            edit(&|b| b["meshes"][0]["primitives"][0]["indices"] = 9.into())
        ),
        PreviewError::Corrupt { .. }
    );
    // Index out of range, NaN coordinate.
    let mut bin = triangle_bin();
    bin[40] = 7;
    assert_err!(
        gen("gltf", gltf_doc(&bin, triangle_gltf(json!({})))),
        PreviewError::Corrupt { .. }
    );
    let mut bin = triangle_bin();
    bin[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_err!(
        gen("gltf", gltf_doc(&bin, triangle_gltf(json!({})))),
        PreviewError::Corrupt { .. }
    );
    // Huge counts: refused before allocating; counts past the view: corrupt.
    assert_err!(
        gen(
            "gltf",
            edit(&|b| b["accessors"][0]["count"] = 1_000_000_000u64.into())
        ),
        PreviewError::TooLarge { .. }
    );
    assert_err!(
        gen("gltf", edit(&|b| b["accessors"][0]["count"] = 4.into())),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen(
            "gltf",
            edit(&|b| b["bufferViews"][0]["byteLength"] = 400.into())
        ),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen(
            "gltf",
            edit(&|b| b["bufferViews"][0]["byteStride"] = 4.into())
        ),
        PreviewError::Corrupt { .. }
    );
    // Features not read.
    assert_err!(
        gen(
            "gltf",
            edit(&|b| b["accessors"][0]["componentType"] = 5123.into())
        ),
        PreviewError::Unsupported { .. }
    );
    assert_err!(
        gen(
            "gltf",
            edit(&|b| {
                b["accessors"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("bufferView");
            })
        ),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen(
            "gltf",
            edit(
                &|b| b["accessors"][0]["sparse"] = json!({"count": 1, "indices": {"bufferView": 1, "componentType": 5123}, "values": {"bufferView": 0}})
            )
        ),
        PreviewError::Unsupported { .. }
    );
    assert_err!(
        gen(
            "gltf",
            edit(&|b| b["accessors"][1]["componentType"] = 5126.into())
        ),
        PreviewError::Corrupt { .. }
    );
    assert_err!(
        gen("gltf", edit(&|b| b["accessors"][1]["type"] = "VEC2".into())),
        PreviewError::Corrupt { .. }
    );
    let mut not_b64 = triangle_gltf(json!({}));
    not_b64["asset"] = json!({"version": "2.0"});
    not_b64["buffers"] = json!([{ "byteLength": 44, "uri": "data:text/plain,abc" }]);
    assert_err!(
        gen("gltf", serde_json::to_vec(&not_b64).unwrap()),
        PreviewError::Unsupported { .. }
    );
    // A buffer that claims the BIN chunk of a plain .gltf.
    let mut bin_ref = triangle_gltf(json!({}));
    bin_ref["asset"] = json!({"version": "2.0"});
    bin_ref["buffers"] = json!([{ "byteLength": 44 }]);
    assert_err!(
        gen("gltf", serde_json::to_vec(&bin_ref).unwrap()),
        PreviewError::Corrupt { .. }
    );
    // Nodes nested past the limit.
    let nodes: Vec<serde_json::Value> = (0..80)
        .map(|i| {
            if i < 79 {
                json!({ "children": [i + 1] })
            } else {
                json!({ "mesh": 0 })
            }
        })
        .collect();
    assert_err!(
        gen(
            "gltf",
            tri(json!({ "scenes": [{ "nodes": [0] }], "nodes": nodes }))
        ),
        PreviewError::Corrupt { .. }
    );
}

fn glb_with_json(json: &[u8], version: u32, kind: u32) -> Vec<u8> {
    let mut b = b"glTF".to_vec();
    b.extend_from_slice(&version.to_le_bytes());
    b.extend_from_slice(&((20 + json.len()) as u32).to_le_bytes());
    b.extend_from_slice(&(json.len() as u32).to_le_bytes());
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(json);
    b
}

fn glb_partial(bytes: Vec<u8>, present: u64) -> Result<Generated, PreviewError> {
    let src = crate::preview::PrefixSource::new(bytes, present);
    let inp = Input {
        name: "x.glb".into(),
        kind: "glb".into(),
        source: std::sync::Arc::new(src),
    };
    MeshGenerator.generate_partial(&inp, &small())
}

#[test]
fn glb_partial_bad_input() {
    let json = br#"{"asset":{"version":"2.0"}}   "#;
    let mut good = glb_with_json(json, 2, 0x4E4F_534A);
    good.extend([0u8; 8]);
    let g = glb_partial(good.clone(), 20 + json.len() as u64).unwrap();
    assert_eq!(g.facts["meshes"], 0);
    assert!(!g.facts.contains_key("bbox_min"));
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    assert_err!(glb_partial(bad_magic, 40), PreviewError::Corrupt { .. });
    let mut v1 = glb_with_json(json, 1, 0x4E4F_534A);
    v1.extend([0u8; 8]);
    assert_err!(glb_partial(v1, 40), PreviewError::Unsupported { .. });
    let mut bin_first = glb_with_json(json, 2, 0x004E_4942);
    bin_first.extend([0u8; 8]);
    assert_err!(glb_partial(bin_first, 40), PreviewError::Corrupt { .. });
    let mut long = good.clone();
    long[12..16].copy_from_slice(&1000u32.to_le_bytes());
    assert_err!(glb_partial(long, 40), PreviewError::Truncated { .. });
    assert_err!(
        glb_partial(good[..12].to_vec(), 6),
        PreviewError::Truncated { .. }
    );
    let mut bad_json = glb_with_json(b"{ nope ", 2, 0x4E4F_534A);
    bad_json.extend([0u8; 8]);
    assert_err!(glb_partial(bad_json, 27), PreviewError::Corrupt { .. });
    // A GLB whose buffer wants a BIN chunk it does not have.
    let doc = br#"{"asset":{"version":"2.0"},"buffers":[{"byteLength":4}]}"#;
    assert_err!(
        gen("glb", glb_with_json(doc, 2, 0x4E4F_534A)),
        PreviewError::Corrupt { .. }
    );
}

#[test]
fn bbox_from_accessor_bounds_under_node_transforms() {
    let doc = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut body = triangle_gltf(json!({
            "scenes": [{ "nodes": [0] }],
            "nodes": [{ "mesh": 0, "translation": [0, 0, 5] }]
        }));
        body["asset"] = json!({ "version": "2.0" });
        body["buffers"] = json!([{ "byteLength": 44, "uri": "tri.bin" }]);
        f(&mut body);
        serde_json::to_vec(&body).unwrap()
    };
    let g = gen("gltf", doc(&|_| {})).unwrap();
    assert_eq!(g.facts["external_buffers"], json!(["tri.bin"]));
    assert_eq!(vec3(&g, "bbox_min"), [0.0, 0.0, 5.0]);
    assert_eq!(vec3(&g, "bbox_max"), [1.0, 1.0, 5.0]);
    assert_eq!(num(&g, "triangles"), Some(1));
    // Bounds missing or malformed: refused, or no box rather than a wrong one.
    type Edit = fn(&mut serde_json::Value);
    let edits: [Edit; 3] = [
        |b| {
            b["accessors"][0].as_object_mut().unwrap().remove("min");
        },
        |b| b["accessors"][0]["max"] = json!([1, 1]),
        |b| b["accessors"][0]["max"] = json!([1, "x", 1]),
    ];
    for f in edits {
        // (The document validation already insists on POSITION bounds.)
        match gen("gltf", doc(&f)) {
            Ok(g) => assert!(!g.facts.contains_key("bbox_min")),
            Err(e) => assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}"),
        }
    }
}

#[test]
fn required_extensions_are_unsupported() {
    let body = triangle_gltf(json!({
        "extensionsUsed": ["KHR_draco_mesh_compression"],
        "extensionsRequired": ["KHR_draco_mesh_compression"]
    }));
    let e = gen("gltf", gltf_doc(&triangle_bin(), body)).unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("KHR_draco_mesh_compression"), "{e}");
}
