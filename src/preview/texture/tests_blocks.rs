//! Tests of DDS and KTX2 previews: every block format fixture, the small-mip path
//! (complete and partial), and broken headers.

use std::sync::Arc;

use super::tests::{
    fixture, generate, generate_partial, input, input_as, levels, near, num, partial, text, thumb,
    Case,
};
use super::*;
use crate::preview::{BytesSource, PrefixSource};

#[test]
fn bc1_with_mips_decodes_the_smallest_sufficient_mip() {
    let g = generate(&input("bc1_mips.dds")).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (256, 128));
    assert_eq!(num(&g, "mip_count"), 9);
    assert_eq!(text(&g, "compression"), "BC1");
    assert_eq!(text(&g, "format"), "BC1_UNORM");
    assert_eq!(num(&g, "layers"), 1);
    // The top level is below 1024 px: it is the one decoded.
    assert_eq!(num(&g, "thumbnail_mip"), 0);
    assert_eq!(levels(&g), vec![(64, 64, 32), (256, 256, 128)]);
    near(thumb(&g, 64).get_pixel(10, 10).0, [255, 0, 0], 8);
    // Asking for 64 px only: mip 2 (64x32) is enough.
    let ctx = Ctx {
        levels: vec![64],
        ..Ctx::default()
    };
    let g = TextureGenerator
        .generate(&input("bc1_mips.dds"), &ctx)
        .unwrap();
    assert_eq!(num(&g, "thumbnail_mip"), 2);
    assert_eq!(levels(&g), vec![(64, 64, 32)]);
    near(thumb(&g, 64).get_pixel(10, 10).0, [255, 0, 0], 8);
}

#[test]
fn partial_dds_uses_a_present_mip() {
    let bytes = fixture("bc1_mips.dds");
    // Header and mip 0 (256x128 BC1: 16384 bytes) present: mip 0 is used.
    let g = generate_partial(&partial("bc1_mips.dds", 128 + 16384)).unwrap();
    assert_eq!(num(&g, "thumbnail_mip"), 0);
    near(thumb(&g, 64).get_pixel(3, 3).0, [255, 0, 0], 8);
    // Only the tail (the small mips) present: a hole over mip 0 and 1.
    struct Tail(Vec<u8>, u64);
    impl crate::preview::Source for Tail {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), PreviewError> {
            let end = offset + buf.len() as u64;
            if offset >= 128 && offset < self.1 {
                return Err(PreviewError::NotPresent {
                    offset,
                    end: self.1,
                });
            }
            buf.copy_from_slice(&self.0[offset as usize..end as usize]);
            Ok(())
        }
        fn is_complete(&self) -> bool {
            false
        }
    }
    let mut i = input("bc1_mips.dds");
    i.source = Arc::new(Tail(bytes.clone(), 128 + 16384 + 4096));
    let g = generate_partial(&i).unwrap();
    assert_eq!(num(&g, "thumbnail_mip"), 2);
    assert_eq!(levels(&g), vec![(64, 64, 32)]);
    // Asking for 64 px with only mip 0 present: no smaller mip is, so the larger
    // one is used.
    let ctx = Ctx {
        levels: vec![64],
        ..Ctx::default()
    };
    let g = TextureGenerator
        .generate_partial(&partial("bc1_mips.dds", 128 + 16384), &ctx)
        .unwrap();
    assert_eq!(num(&g, "thumbnail_mip"), 0);
    assert_eq!(levels(&g), vec![(64, 64, 32)]);
    // Only the header: facts, no thumbnail.
    let g = generate_partial(&partial("bc1_mips.dds", 128)).unwrap();
    assert_eq!(num(&g, "width"), 256);
    assert!(g.items.is_empty());
    // Not even the header.
    let e = generate_partial(&partial("bc1_mips.dds", 100)).unwrap_err();
    assert!(e.is_not_present(), "{e}");
}

#[test]
fn bc3_keeps_alpha_and_plain_dds_decodes() {
    let g = generate(&input("bc3.dds")).unwrap();
    assert_eq!(text(&g, "compression"), "BC3");
    assert_eq!(num(&g, "channels"), 4);
    let t = thumb(&g, 64);
    near(t.get_pixel(10, 10).0, [0, 0, 255], 8);
    // The right half is transparent: the checkerboard shows.
    assert_eq!(t.get_pixel(40, 0).0, [153; 3]);
    assert_eq!(t.get_pixel(48, 0).0, [204; 3]);
    let g = generate(&input("rgba.dds")).unwrap();
    assert_eq!(text(&g, "compression"), "none");
    assert_eq!(text(&g, "format"), "B8G8R8A8_UNORM");
    assert_eq!((num(&g, "width"), num(&g, "height")), (32, 32));
    assert_eq!(thumb(&g, 64).get_pixel(5, 5).0, [0, 255, 0]);
}

#[test]
fn bc4_bc5_bc7_from_dx10_headers() {
    let g = generate(&input("bc4.dds")).unwrap();
    assert_eq!((text(&g, "compression"), num(&g, "channels")), ("BC4", 1));
    assert_eq!((num(&g, "width"), num(&g, "height")), (16, 8));
    assert_eq!(thumb(&g, 64).get_pixel(3, 3).0[0], 200);
    let g = generate(&input("bc5.dds")).unwrap();
    assert_eq!((text(&g, "compression"), num(&g, "channels")), ("BC5", 2));
    let p = thumb(&g, 64).get_pixel(3, 3).0;
    assert_eq!((p[0], p[1]), (255, 128));
    let g = generate(&input("bc7.dds")).unwrap();
    assert_eq!(text(&g, "compression"), "BC7");
    assert_eq!((num(&g, "width"), num(&g, "height")), (20, 12));
    near(thumb(&g, 64).get_pixel(3, 3).0, [255, 0, 255], 1);
}

/// A legacy DDS header for an uncompressed `w`×`h` texture with the given pixel
/// format fields (flags, bit count, masks), followed by `data`.
fn legacy_dds(w: u32, h: u32, pf: [u32; 6], data: &[u8]) -> Vec<u8> {
    let mut d = b"DDS ".to_vec();
    let mut hdr = [0u32; 31];
    hdr[0] = 124;
    hdr[2] = h;
    hdr[3] = w;
    hdr[6] = 1;
    hdr[18] = 32;
    hdr[19] = pf[0];
    hdr[21..26].copy_from_slice(&pf[1..]);
    for v in hdr {
        d.extend_from_slice(&v.to_le_bytes());
    }
    d.extend_from_slice(data);
    d
}

#[test]
fn legacy_uncompressed_layouts() {
    let cases: [([u32; 6], &[u8], [u8; 3]); 4] = [
        (
            [0x40, 32, 0xFF_0000, 0xFF00, 0xFF, 0],
            &[1, 2, 3, 0],
            [3, 2, 1],
        ),
        (
            [0x41, 32, 0xFF, 0xFF00, 0xFF_0000, 0xFF00_0000],
            &[1, 2, 3, 255],
            [1, 2, 3],
        ),
        (
            [0x40, 32, 0xFF, 0xFF00, 0xFF_0000, 0],
            &[1, 2, 3, 0],
            [1, 2, 3],
        ),
        (
            [0x40, 24, 0xFF_0000, 0xFF00, 0xFF, 0],
            &[1, 2, 3],
            [3, 2, 1],
        ),
    ];
    for (pf, px, want) in cases {
        let g = generate(&input_as("dds", legacy_dds(1, 1, pf, px))).unwrap();
        assert_eq!(thumb(&g, 64).get_pixel(0, 0).0, want, "{pf:x?}");
    }
    let e = generate(&input_as(
        "dds",
        legacy_dds(1, 1, [0x40, 16, 0xF800, 0x7E0, 0x1F, 0], &[0, 0]),
    ))
    .unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
}

#[test]
fn bad_dds_files_give_errors() {
    let good = fixture("bc1_mips.dds");
    let corrupt = |e: &PreviewError| matches!(e, PreviewError::Corrupt { .. });
    let truncated = |e: &PreviewError| matches!(e, PreviewError::Truncated { .. });
    let unsupported = |e: &PreviewError| matches!(e, PreviewError::Unsupported { .. });
    let with = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let cases: Vec<Case> = vec![
        ("empty", vec![], &truncated),
        ("short header", good[..100].to_vec(), &truncated),
        ("cut in mip 0", good[..5000].to_vec(), &truncated),
        ("bad magic", with(0, b"XXXX"), &corrupt),
        ("zero width", with(16, &0u32.to_le_bytes()), &corrupt),
        ("too many mips", with(28, &20u32.to_le_bytes()), &corrupt),
        ("unknown fourcc", with(84, b"ZZZZ"), &unsupported),
        ("huge", with(12, &[0xFF, 0xFF, 0xFF, 0x7F]), &truncated),
        ("wav", b"RIFF\x24\0\0\0WAVEfmt ".repeat(20), &corrupt),
    ];
    for (what, bytes, ok) in cases {
        let e = generate(&input_as("dds", bytes)).unwrap_err();
        assert!(ok(&e), "{what}: {e}");
    }
    // DX10 header cut off, and an unknown DXGI format.
    let dx10 = fixture("bc7.dds");
    let e = generate(&input_as("dds", dx10[..130].to_vec())).unwrap_err();
    assert!(truncated(&e), "{e}");
    let mut b = dx10.clone();
    b[128..132].copy_from_slice(&9999u32.to_le_bytes());
    assert!(unsupported(&generate(&input_as("dds", b)).unwrap_err()));
    // A level larger than the memory limit is refused before reading it.
    let ctx = Ctx {
        max_alloc: 1000,
        ..Ctx::default()
    };
    let e = TextureGenerator
        .generate(&input("bc1_mips.dds"), &ctx)
        .unwrap_err();
    assert!(matches!(e, PreviewError::TooLarge { .. }), "{e}");
}

#[test]
fn cubemaps_and_arrays_count_layers() {
    let mut b = fixture("bc7.dds");
    b[136..140].copy_from_slice(&4u32.to_le_bytes()); // TEXTURECUBE
    b[140..144].copy_from_slice(&2u32.to_le_bytes()); // two cubes
    let g = generate(&input_as("dds", b)).unwrap();
    assert_eq!(num(&g, "layers"), 12);
    let mut b = fixture("rgba.dds");
    b[112..116].copy_from_slice(&(0x200u32 | 0xFC00).to_le_bytes());
    assert_eq!(num(&generate(&input_as("dds", b)).unwrap(), "layers"), 6);
    // A volume texture reports its depth (and needs its slices present).
    let mut b = legacy_dds(
        1,
        1,
        [0x40, 24, 0xFF_0000, 0xFF00, 0xFF, 0],
        &[1, 2, 3, 4, 5, 6],
    );
    b[24..28].copy_from_slice(&2u32.to_le_bytes());
    b[112..116].copy_from_slice(&0x20_0000u32.to_le_bytes());
    assert_eq!(num(&generate(&input_as("dds", b)).unwrap(), "depth"), 2);
}

#[test]
fn ktx2_plain_and_supercompressed_bc1() {
    let g = generate(&input("rgba8.ktx2")).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (32, 16));
    assert_eq!((num(&g, "mip_count"), num(&g, "vk_format")), (2, 37));
    assert_eq!(
        (text(&g, "compression"), text(&g, "supercompression")),
        ("none", "none")
    );
    assert_eq!(thumb(&g, 64).get_pixel(3, 3).0, [255, 0, 0]);
    let g = generate(&input("bc1.ktx2")).unwrap();
    assert_eq!(
        (text(&g, "compression"), text(&g, "supercompression")),
        ("BC1", "zlib")
    );
    assert_eq!(thumb(&g, 64).get_pixel(3, 3).0, [0, 0, 255]);
    // Levels are stored smallest first: with only the head and level 1 present,
    // level 1 makes the thumbnail.
    let bytes = fixture("rgba8.ktx2");
    let level1_end = u64::from_le_bytes(bytes[104..112].try_into().unwrap())
        + u64::from_le_bytes(bytes[112..120].try_into().unwrap());
    let g = generate_partial(&partial("rgba8.ktx2", level1_end)).unwrap();
    assert_eq!(num(&g, "thumbnail_mip"), 1);
    assert_eq!(levels(&g), vec![(64, 16, 8)]);
}

#[test]
fn basis_ktx2_gives_facts_only() {
    let g = generate(&input("basis.ktx2")).unwrap();
    assert!(g.items.is_empty());
    assert_eq!(text(&g, "thumbnail"), "unsupported: basis");
    assert_eq!(text(&g, "supercompression"), "basis_lz");
    assert_eq!((num(&g, "width"), num(&g, "height")), (64, 32));
}

#[test]
fn bad_ktx2_files_give_errors() {
    let good = fixture("rgba8.ktx2");
    let with = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let e = generate(&input_as("ktx2", good[..50].to_vec())).unwrap_err();
    assert!(matches!(e, PreviewError::Truncated { .. }), "{e}");
    let e = generate(&input_as("ktx2", with(0, b"XXXX"))).unwrap_err();
    assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}");
    let e = generate(&input_as("ktx2", with(40, &99u32.to_le_bytes()))).unwrap_err();
    assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}");
    let e = generate(&input_as("ktx2", with(12, &1000u32.to_le_bytes()))).unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
    let e = generate(&input_as("ktx2", with(44, &7u32.to_le_bytes()))).unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
    let e = generate(&input_as("ktx2", good[..good.len() - 10].to_vec())).unwrap_err();
    assert!(matches!(e, PreviewError::Truncated { .. }), "{e}");
    // Level bytes that are not a zlib stream / a zlib stream too short.
    let bc1 = fixture("bc1.ktx2");
    let off = u64::from_le_bytes(bc1[80..88].try_into().unwrap()) as usize;
    let mut b = bc1.clone();
    b[off..off + 2].copy_from_slice(b"zz");
    let e = generate(&input_as("ktx2", b)).unwrap_err();
    assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}");
    let mut b = bc1.clone();
    b[44..48].copy_from_slice(&2u32.to_le_bytes()); // claims zstd
    let e = generate(&input_as("ktx2", b)).unwrap_err();
    assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}");
    let mut b = bc1[..off].to_vec();
    let short = {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&[0u8; 8]).unwrap();
        z.finish().unwrap()
    };
    b.extend_from_slice(&short);
    b[88..96].copy_from_slice(&(short.len() as u64).to_le_bytes());
    let e = generate(&input_as("ktx2", b)).unwrap_err();
    assert!(matches!(e, PreviewError::Truncated { .. }), "{e}");
}

#[test]
fn zstd_supercompressed_levels_decode() {
    // Re-pack the BC1 level of bc1.ktx2 with Zstandard (scheme 2).
    let bc1 = fixture("bc1.ktx2");
    let off = u64::from_le_bytes(bc1[80..88].try_into().unwrap()) as usize;
    let len = u64::from_le_bytes(bc1[88..96].try_into().unwrap()) as usize;
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::ZlibDecoder::new(&bc1[off..off + len]),
        &mut raw,
    )
    .unwrap();
    let z = zstd::encode_all(&raw[..], 3).unwrap();
    let mut b = bc1[..off].to_vec();
    b.extend_from_slice(&z);
    b[44..48].copy_from_slice(&2u32.to_le_bytes());
    b[88..96].copy_from_slice(&(z.len() as u64).to_le_bytes());
    let i = Input {
        name: "z.ktx2".into(),
        kind: "ktx2".into(),
        source: Arc::new(BytesSource::new(b)),
    };
    let g = generate(&i).unwrap();
    assert_eq!(text(&g, "supercompression"), "zstd");
    assert_eq!(thumb(&g, 64).get_pixel(1, 1).0, [0, 0, 255]);
    let _ = PrefixSource::new(vec![], 0);
}

#[test]
fn float_formats_are_tone_mapped() {
    // A DX10 DDS of one R16G16B16A16_FLOAT texel (1.0, 0, 0, 1.0), and of one
    // R32G32B32A32_FLOAT texel, through the legacy D3DFMT FourCC 116.
    let half_one = 0x3C00u16.to_le_bytes();
    let px16 = [half_one, [0, 0], [0, 0], half_one].concat();
    let mut b = legacy_dds(1, 1, [0x4, 0, 0, 0, 0, 0], &px16);
    b[84..88].copy_from_slice(&113u32.to_le_bytes());
    let g = generate(&input_as("dds", b)).unwrap();
    assert_eq!(
        (num(&g, "bit_depth"), text(&g, "format")),
        (16, "R16G16B16A16_FLOAT")
    );
    let p = thumb(&g, 64).get_pixel(0, 0).0;
    assert!(p[0] > 200 && p[1] == 0, "{p:?}");
    let px32: Vec<u8> = [1.0f32, 0.0, 0.0, 1.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let mut b = legacy_dds(1, 1, [0x4, 0, 0, 0, 0, 0], &px32);
    b[84..88].copy_from_slice(&116u32.to_le_bytes());
    let g = generate(&input_as("dds", b)).unwrap();
    assert_eq!(num(&g, "bit_depth"), 32);
}

#[test]
fn format_tables_know_every_code() {
    for code in [
        2, 10, 28, 29, 49, 61, 71, 72, 74, 75, 77, 78, 80, 81, 83, 84, 87, 88, 91, 95, 96, 98, 99,
    ] {
        assert!(blocks::from_dxgi(code).is_some(), "dxgi {code}");
    }
    for code in [9, 16, 37, 43, 44, 50, 97, 109] {
        assert!(blocks::from_vk(code).is_some(), "vk {code}");
    }
    for code in 131..=146 {
        assert!(blocks::from_vk(code).is_some(), "vk {code}");
    }
    for cc in [
        b"DXT1", b"DXT2", b"DXT3", b"DXT4", b"DXT5", b"ATI1", b"BC4U", b"BC4S", b"ATI2", b"BC5U",
        b"BC5S",
    ] {
        assert!(blocks::from_fourcc(*cc).is_some());
    }
    assert!(blocks::from_vk(0).is_none() && blocks::from_dxgi(0).is_none());
    // Decoding checks the data length and the memory limit.
    let ctx = Ctx::default();
    let e = blocks::BC1.decode("dds", 8, 8, &[0; 8], &ctx).unwrap_err();
    assert!(matches!(e, PreviewError::Truncated { .. }), "{e}");
    assert_eq!(blocks::BC7.image_bytes(5, 5, 1), Some(64));
    assert_eq!(blocks::BC1.image_bytes(u32::MAX, u32::MAX, u32::MAX), None);
    assert!(blocks::BC2.decode("dds", 4, 4, &[0; 16], &ctx).is_ok());
    assert!(blocks::BC3.decode("dds", 4, 4, &[0; 16], &ctx).is_ok());
    assert!(blocks::BC4.decode("dds", 4, 4, &[0; 8], &ctx).is_ok());
    assert!(blocks::BC5.decode("dds", 4, 4, &[0; 16], &ctx).is_ok());
}
