//! Binary FBX built by hand (both record widths, plain and zlib arrays) to reach
//! the container checks and the scene logic that Blender's cube does not.

use std::io::Write;

use super::fbx_nodes::{parse, Node, Prop};
use super::tests::{input, small};
use super::*;

/// A property to encode.
enum P {
    I(i32),
    L(i64),
    D(f64),
    S(&'static str),
    Raw(u8, Vec<u8>),
    /// Array: type, element count, stored bytes, encoding.
    A(u8, u32, Vec<u8>, u32),
}

struct N {
    name: &'static str,
    props: Vec<P>,
    children: Vec<N>,
}

fn n(name: &'static str, props: Vec<P>, children: Vec<N>) -> N {
    N {
        name,
        props,
        children,
    }
}

fn doubles(v: &[f64]) -> P {
    P::A(
        b'd',
        v.len() as u32,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        0,
    )
}

fn ints_zlib(v: &[i32]) -> P {
    let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    P::A(b'i', v.len() as u32, z.finish().unwrap(), 1)
}

fn word(out: &mut Vec<u8>, v: u64, wide: bool) {
    if wide {
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
}

fn node(out: &mut Vec<u8>, node: &N, wide: bool) {
    let start = out.len();
    let w = if wide { 8 } else { 4 };
    word(out, 0, wide);
    word(out, node.props.len() as u64, wide);
    word(out, 0, wide);
    out.push(node.name.len() as u8);
    out.extend_from_slice(node.name.as_bytes());
    let props_at = out.len();
    for p in &node.props {
        match p {
            P::I(v) => {
                out.push(b'I');
                out.extend_from_slice(&v.to_le_bytes());
            }
            P::L(v) => {
                out.push(b'L');
                out.extend_from_slice(&v.to_le_bytes());
            }
            P::D(v) => {
                out.push(b'D');
                out.extend_from_slice(&v.to_le_bytes());
            }
            P::S(s) => {
                out.push(b'S');
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            P::Raw(ty, b) => {
                out.push(*ty);
                out.extend_from_slice(b);
            }
            P::A(ty, len, data, enc) => {
                out.push(*ty);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&enc.to_le_bytes());
                out.extend_from_slice(&(data.len() as u32).to_le_bytes());
                out.extend_from_slice(data);
            }
        }
    }
    let prop_len = (out.len() - props_at) as u64;
    for c in &node.children {
        self::node(out, c, wide);
    }
    if !node.children.is_empty() {
        out.extend(std::iter::repeat_n(0, if wide { 25 } else { 13 }));
    }
    let end = out.len() as u64;
    let patch = |out: &mut Vec<u8>, at: usize, v: u64| {
        if wide {
            out[at..at + 8].copy_from_slice(&v.to_le_bytes());
        } else {
            out[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
        }
    };
    patch(out, start, end);
    patch(out, start + 2 * w, prop_len);
}

fn file(nodes: &[N], version: u32) -> Vec<u8> {
    let mut out = b"Kaydara FBX Binary  \0\x1a\0".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    for x in nodes {
        node(&mut out, x, version >= 7500);
    }
    out.extend(std::iter::repeat_n(
        0,
        if version >= 7500 { 25 } else { 13 },
    ));
    out
}

fn p70(name: &'static str, v: [f64; 3]) -> N {
    n(
        "P",
        vec![
            P::S(name),
            P::S(""),
            P::S(""),
            P::S("A"),
            P::D(v[0]),
            P::D(v[1]),
            P::D(v[2]),
        ],
        vec![],
    )
}

/// One quad (two triangles) held by model 2, whose parent is model 3.
fn scene(polygon: &[i32], vertices: &[f64]) -> Vec<N> {
    vec![
        n(
            "GlobalSettings",
            vec![],
            vec![n(
                "Properties70",
                vec![],
                vec![p70("UnitScaleFactor", [100.0, 0.0, 0.0])],
            )],
        ),
        n(
            "Objects",
            vec![],
            vec![
                n(
                    "Geometry",
                    vec![P::L(1), P::S("Quad\0\x01Geometry"), P::S("Mesh")],
                    vec![
                        n("Vertices", vec![doubles(vertices)], vec![]),
                        n("PolygonVertexIndex", vec![ints_zlib(polygon)], vec![]),
                    ],
                ),
                n(
                    "Model",
                    vec![P::L(2), P::S("Quad\0\x01Model"), P::S("Mesh")],
                    vec![n(
                        "Properties70",
                        vec![],
                        vec![
                            p70("Lcl Translation", [10.0, 0.0, 0.0]),
                            p70("Lcl Scaling", [2.0, 2.0, 2.0]),
                        ],
                    )],
                ),
                n(
                    "Model",
                    vec![P::L(3), P::S("Root\0\x01Model"), P::S("Null")],
                    vec![n(
                        "Properties70",
                        vec![],
                        vec![p70("Lcl Rotation", [0.0, 0.0, 90.0])],
                    )],
                ),
                n(
                    "Material",
                    vec![P::L(4), P::S("Paint\0\x01Material"), P::S("")],
                    vec![],
                ),
            ],
        ),
        n(
            "Connections",
            vec![],
            vec![
                n("C", vec![P::S("OO"), P::L(1), P::L(2)], vec![]),
                n("C", vec![P::S("OO"), P::L(2), P::L(3)], vec![]),
                n("C", vec![P::S("OO"), P::L(3), P::L(0)], vec![]),
                n("C", vec![P::S("OP"), P::L(4), P::L(2), P::S("x")], vec![]),
            ],
        ),
    ]
}

const QUAD: [f64; 12] = [0., 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0.];

#[test]
fn fbx_scene_with_parents_and_units_in_both_widths() {
    for version in [7400, 7500] {
        let bytes = file(&scene(&[0, 1, 2, !3], &QUAD), version);
        let g = MeshGenerator
            .generate(&input("q.fbx", "fbx", bytes), &small())
            .unwrap();
        assert_eq!(g.facts["triangles"], 2);
        assert_eq!(g.facts["faces"], 1);
        assert_eq!(g.facts["material_names"], serde_json::json!(["Paint"]));
        // x ∈ [10, 12], y ∈ [0, 2], then 90° about z: x' = −y, y' = x.
        let lo = g.facts["bbox_min"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>();
        let hi = g.facts["bbox_max"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>();
        let close = |a: &[f64], b: [f64; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(
            close(&lo, [-2.0, 10.0, 0.0]) && close(&hi, [0.0, 12.0, 0.0]),
            "{lo:?} {hi:?}"
        );
    }
}

#[test]
fn fbx_geometry_without_model_and_parser_accessors() {
    let nodes = vec![n(
        "Objects",
        vec![],
        vec![n(
            "Geometry",
            vec![P::L(1), P::S("G"), P::S("Mesh")],
            vec![
                n(
                    "Vertices",
                    vec![P::A(
                        b'f',
                        9,
                        [0f32, 0., 0., 1., 0., 0., 0., 1., 0.]
                            .iter()
                            .flat_map(|x| x.to_le_bytes())
                            .collect(),
                        0,
                    )],
                    vec![],
                ),
                n(
                    "PolygonVertexIndex",
                    vec![P::A(
                        b'l',
                        3,
                        [0i64, 1, -3].iter().flat_map(|x| x.to_le_bytes()).collect(),
                        0,
                    )],
                    vec![],
                ),
            ],
        )],
    )];
    let bytes = file(&nodes, 7400);
    let g = MeshGenerator
        .generate(&input("t.fbx", "fbx", bytes.clone()), &small())
        .unwrap();
    assert_eq!(g.facts["triangles"], 1);
    // No GlobalSettings: FBX's default unit, the centimetre, converted to metres.
    assert_eq!(
        g.facts["bbox_max"],
        serde_json::json!([0.01f32 as f64, 0.01f32 as f64, 0.0])
    );
    let (_, top) = parse(&bytes, &Ctx::default()).unwrap();
    let geo = &top[0].children[0];
    assert_eq!(geo.int(0), Some(1));
    assert_eq!(geo.float(0), Some(1.0));
    assert_eq!(geo.bytes(0), None);
    assert_eq!(geo.int(1), None);
    assert_eq!(geo.float(1), None);
    let scalars = vec![n(
        "S",
        vec![
            P::Raw(b'Y', vec![1, 0]),
            P::Raw(b'C', vec![1]),
            P::Raw(b'F', 1.5f32.to_le_bytes().to_vec()),
            P::Raw(b'R', vec![1, 0, 0, 0, 9]),
        ],
        vec![],
    )];
    let sbytes = file(&scalars, 7400);
    let (_, top) = parse(&sbytes, &Ctx::default()).unwrap();
    assert_eq!(
        top[0].props,
        vec![
            Prop::Int(1),
            Prop::Int(1),
            Prop::Float(1.5),
            Prop::Bytes(&[9])
        ]
    );
    assert!(matches!(
        top[0].props[0].floats(&Ctx::default()),
        Err(PreviewError::Corrupt { .. })
    ));
    assert_eq!(Node::default().child("x"), None);
}

fn fails(nodes: &[N]) -> PreviewError {
    MeshGenerator
        .generate(&input("b.fbx", "fbx", file(nodes, 7400)), &small())
        .unwrap_err()
}

#[test]
fn fbx_bad_scenes() {
    assert!(matches!(
        fails(&scene(&[0, 1, 2, !9], &QUAD)),
        PreviewError::Corrupt { .. }
    ));
    assert!(matches!(
        fails(&scene(&[0, 1, 2, 3], &QUAD)),
        PreviewError::Corrupt { .. }
    ));
    assert!(matches!(
        fails(&scene(&[0, 1, !2], &QUAD[..11])),
        PreviewError::Corrupt { .. }
    ));
    let mut nan = QUAD;
    nan[4] = f64::NAN;
    assert!(matches!(
        fails(&scene(&[0, 1, !2], &nan)),
        PreviewError::Corrupt { .. }
    ));
    assert!(matches!(
        fails(&[n("Header", vec![], vec![])]),
        PreviewError::Corrupt { .. }
    ));
    let no_id = [n(
        "Objects",
        vec![],
        vec![n(
            "Geometry",
            vec![P::S("x"), P::S("y"), P::S("Mesh")],
            vec![],
        )],
    )];
    assert!(matches!(fails(&no_id), PreviewError::Corrupt { .. }));
    let no_vertices = [n(
        "Objects",
        vec![],
        vec![n(
            "Geometry",
            vec![P::L(1), P::S("y"), P::S("Mesh")],
            vec![],
        )],
    )];
    assert!(matches!(fails(&no_vertices), PreviewError::Corrupt { .. }));
    let wrong_types = [n(
        "Objects",
        vec![],
        vec![n(
            "Geometry",
            vec![P::L(1), P::S("y"), P::S("Mesh")],
            vec![n("Vertices", vec![ints_zlib(&[1, 2, 3])], vec![])],
        )],
    )];
    assert!(matches!(fails(&wrong_types), PreviewError::Corrupt { .. }));
    let wrong_index_type = [n(
        "Objects",
        vec![],
        vec![n(
            "Geometry",
            vec![P::L(1), P::S("y"), P::S("Mesh")],
            vec![
                n("Vertices", vec![doubles(&QUAD)], vec![]),
                n("PolygonVertexIndex", vec![doubles(&[0.0])], vec![]),
            ],
        )],
    )];
    assert!(matches!(
        fails(&wrong_index_type),
        PreviewError::Corrupt { .. }
    ));
    let scalar = [n(
        "Objects",
        vec![],
        vec![n(
            "Geometry",
            vec![P::L(1), P::S("y"), P::S("Mesh")],
            vec![n("Vertices", vec![P::I(3)], vec![])],
        )],
    )];
    assert!(matches!(fails(&scalar), PreviewError::Corrupt { .. }));
    // Arrays: bad encoding, wrong size, broken zlib, huge length.
    for arr in [
        P::A(b'd', 3, vec![0; 24], 2),
        P::A(b'd', 3, vec![0; 16], 0),
        P::A(b'd', 3, vec![1, 2, 3], 1),
        P::A(b'd', u32::MAX, vec![], 0),
    ] {
        let nodes = [n(
            "Objects",
            vec![],
            vec![n(
                "Geometry",
                vec![P::L(1), P::S("y"), P::S("Mesh")],
                vec![n("Vertices", vec![arr], vec![])],
            )],
        )];
        assert!(matches!(
            fails(&nodes),
            PreviewError::Corrupt { .. } | PreviewError::TooLarge { .. }
        ));
    }
    // A model cycle.
    let mut cyc = scene(&[0, 1, !2], &QUAD);
    cyc[2]
        .children
        .push(n("C", vec![P::S("OO"), P::L(3), P::L(2)], vec![]));
    cyc[2].children.remove(2);
    assert!(matches!(fails(&cyc), PreviewError::Corrupt { .. }));
}

#[test]
fn fbx_bad_containers() {
    let good = file(&scene(&[0, 1, !2], &QUAD), 7400);
    let ctx = Ctx::default();
    assert!(matches!(
        parse(&good[..25], &ctx),
        Err(PreviewError::Truncated { .. })
    ));
    // End offset pointing backwards, beyond the end.
    for bad_end in [5u32, 1_000_000] {
        let mut b = good.clone();
        b[27..31].copy_from_slice(&bad_end.to_le_bytes());
        assert!(matches!(parse(&b, &ctx), Err(PreviewError::Corrupt { .. })));
    }
    // Property count larger than its bytes allow; unknown property type; property
    // length past the record.
    let mut b = file(&[n("X", vec![P::I(1)], vec![])], 7400);
    b[31..35].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(parse(&b, &ctx), Err(PreviewError::Corrupt { .. })));
    let b = file(&[n("X", vec![P::Raw(b'Q', vec![0; 4])], vec![])], 7400);
    assert!(matches!(parse(&b, &ctx), Err(PreviewError::Corrupt { .. })));
    let mut b = file(&[n("X", vec![P::I(1)], vec![])], 7400);
    b[35..39].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        parse(&b, &ctx),
        Err(PreviewError::Truncated { .. })
    ));
    let b = file(
        &[n("X", vec![P::Raw(b'S', vec![100, 0, 0, 0, 1])], vec![])],
        7400,
    );
    assert!(matches!(
        parse(&b, &ctx),
        Err(PreviewError::Truncated { .. })
    ));
    // Records nested past the limit.
    let mut deep = n("L", vec![], vec![]);
    for _ in 0..40 {
        deep = n("L", vec![], vec![deep]);
    }
    assert!(matches!(
        parse(&file(&[deep], 7400), &ctx),
        Err(PreviewError::Corrupt { .. })
    ));
    assert!(matches!(
        parse(b"FBXHeaderExtension: {", &ctx),
        Err(PreviewError::Unsupported { .. })
    ));
}
