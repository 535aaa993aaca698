//! Hand-built files in the layouts Blender 3.4 on x86 cannot write: 4-byte pointers
//! and big endian (Blender 2.x on PowerPC), the 17-byte header and 32-byte block
//! headers of Blender 5 — and the reader's stopping rules.

use serde_json::json;

use super::*;
use crate::preview::Role;

/// The tricolour picture's rows, top-down as the thumbnail must hold them.
fn assert_tricolour(t: &super::super::Thumbnail) {
    assert_eq!((t.width, t.height), (2, 3));
    let rows: Vec<&[u8]> = t.rgba.chunks_exact(8).collect();
    assert_eq!(rows[0], [0, 0, 255, 255, 0, 0, 255, 255], "top row blue");
    assert_eq!(rows[1], [0, 255, 0, 255, 0, 255, 0, 255], "middle green");
    assert_eq!(rows[2], [255, 0, 0, 255, 255, 0, 0, 255], "bottom red");
}

#[test]
fn big_endian_four_byte_pointers() {
    let bytes = Builder::new(Layout::Ptr4Be)
        .rend(10, 20, "Old")
        .test(2, 3, &tricolour())
        .end();
    let h = head(bytes.clone()).unwrap();
    assert_eq!(h.header.pointer_size, 4);
    assert_eq!(h.header.block_header_len(), 20);
    assert_tricolour(h.thumbnail.as_ref().unwrap());
    let g = generate(bytes).unwrap();
    assert_eq!(g.facts["endian"], json!("big"));
    assert_eq!(g.facts["pointer_size"], json!(4));
    assert_eq!(g.facts["blender_version"], json!("2.79"));
    assert_eq!(g.facts["scenes"], json!(["Old"]));
    assert_eq!(
        (g.facts["frame_start"].clone(), g.facts["frame_end"].clone()),
        (json!(10), json!(20))
    );
    // A 2×3 picture gives one level: every level would repeat it.
    assert_eq!(g.items.len(), 1);
    assert_eq!(g.items[0].role, Role::Thumbnail);
}

#[test]
fn blender_5_header_and_large_block_headers() {
    let bytes = Builder::new(Layout::Large8)
        .rend(1, 100, "Main")
        .rend(5, 6, "Second")
        .test(2, 3, &tricolour())
        .end();
    let h = head(bytes.clone()).unwrap();
    assert_eq!(h.header.len, 17);
    assert_eq!(h.header.block_header_len(), 32);
    assert_eq!(h.blocks_read, 3);
    assert_tricolour(h.thumbnail.as_ref().unwrap());
    let g = generate(bytes).unwrap();
    assert_eq!(g.facts["blender_version"], json!("5.0"));
    assert_eq!(g.facts["file_version"], json!(500));
    assert_eq!(g.facts["file_format"], json!(1));
    assert_eq!(g.facts["pointer_size"], json!(8));
    assert_eq!(g.facts["endian"], json!("little"));
    assert_eq!(g.facts["scenes"], json!(["Main", "Second"]));
    assert_eq!(g.facts["frame_end"], json!(100));
}

#[test]
fn little_endian_eight_byte_pointers_hand_built() {
    let bytes = Builder::new(Layout::Small8Le)
        .test(2, 3, &tricolour())
        .end();
    let h = head(bytes).unwrap();
    assert_eq!(h.header.block_header_len(), 24);
    assert!(h.scenes.is_empty());
    assert_tricolour(h.thumbnail.as_ref().unwrap());
}

#[test]
fn scan_stops_at_the_first_other_block() {
    // A thumbnail after GLOB is not where Blender puts it: not looked for.
    let bytes = Builder::new(Layout::Small8Le)
        .block(GLOB, &[0u8; 8])
        .test(2, 3, &tricolour())
        .end();
    let h = head(bytes.clone()).unwrap();
    assert!(h.thumbnail.is_none());
    assert_eq!(h.blocks_read, 1);
    let g = generate(bytes).unwrap();
    assert_eq!(g.facts["thumbnail"], json!("none"));
    assert!(!g.facts.contains_key("scenes"));
    // ENDB right after the header: an empty file, no thumbnail.
    let h = head(Builder::new(Layout::Large8).block(ENDB, &[]).bytes).unwrap();
    assert!(h.thumbnail.is_none());
}

#[test]
fn scan_gives_up_after_max_head_blocks() {
    let mut b = Builder::new(Layout::Small8Le);
    for i in 0..super::super::read::MAX_HEAD_BLOCKS + 5 {
        b = b.rend(i as i32, i as i32, "S");
    }
    let h = head(b.test(2, 3, &tricolour()).end()).unwrap();
    assert_eq!(h.blocks_read, super::super::read::MAX_HEAD_BLOCKS);
    assert!(h.thumbnail.is_none());
}

#[test]
fn scene_names_stop_at_nul_and_survive_bad_utf8() {
    let mut data = Vec::new();
    data.extend_from_slice(&3i32.to_le_bytes());
    data.extend_from_slice(&4i32.to_le_bytes());
    data.extend_from_slice(b"Sc\xffne\0garbage");
    let h = head(Builder::new(Layout::Small8Le).block(REND, &data).end()).unwrap();
    assert_eq!(h.scenes[0].name, "Sc\u{fffd}ne");
    assert_eq!((h.scenes[0].frame_start, h.scenes[0].frame_end), (3, 4));
}

#[test]
fn block_code_names() {
    let header = super::super::header::Header::parse(b"BLENDER-v304").unwrap();
    let mut raw = [0u8; 24];
    raw[..2].copy_from_slice(b"OB");
    let b = super::super::block::BlockHead::parse(&header, &raw).unwrap();
    assert_eq!(b.code_name(), "OB");
    assert_eq!((b.len, b.old, b.sdna, b.count), (0, 0, 0, 0));
    raw[..4].copy_from_slice(b"TEST");
    let b = super::super::block::BlockHead::parse(&header, &raw).unwrap();
    assert_eq!(b.code_name(), "TEST");
    // Fewer bytes than a block header.
    let e = super::super::block::BlockHead::parse(&header, &raw[..10]).unwrap_err();
    assert!(matches!(e, PreviewError::Truncated { .. }), "{e}");
}
