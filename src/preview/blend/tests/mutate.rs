//! The stable-toolchain stand-in for `fuzz/fuzz_targets/blend_read.rs`: random bytes
//! and mutated fixtures (bit flips, truncations, length fields set huge) fed to the
//! reader, which must return `Ok` or `Err` and never panic or over-allocate.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

/// Fixtures are read once; cases mutate copies.
fn fixtures() -> &'static [Vec<u8>; 4] {
    static F: OnceLock<[Vec<u8>; 4]> = OnceLock::new();
    F.get_or_init(|| {
        [
            // The plain file's head: enough for everything the reader looks at.
            fixture("red_cube.blend")[..70_000].to_vec(),
            fixture("red_cube_gzip.blend"),
            fixture("red_cube_zstd.blend"),
            Builder::new(Layout::Large8)
                .rend(1, 2, "S")
                .test(2, 3, &tricolour())
                .end(),
        ]
    })
}

/// The reader under a tight allocation limit, as the fuzz target runs it.
fn read(bytes: Vec<u8>) {
    let ctx = Ctx {
        max_alloc: 1 << 24,
        ..Ctx::default()
    };
    let _ = super::super::read_head(&BytesSource::new(bytes), &ctx);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read(bytes);
    }

    #[test]
    fn random_bytes_after_a_header_never_panic(
        header in 0usize..3,
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = [&b"BLENDER-v304"[..], b"BLENDER_V279", b"BLENDER17-01v0500"][header].to_vec();
        bytes.extend_from_slice(&tail);
        read(bytes);
    }

    #[test]
    fn bit_flips_never_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((0usize..2000, 0u8..8), 1..8),
    ) {
        let mut bytes = fixtures()[which].clone();
        for (at, bit) in flips {
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
        }
        read(bytes);
    }

    #[test]
    fn truncations_never_panic(which in 0usize..4, cut in 0usize..70_000) {
        let bytes = &fixtures()[which];
        read(bytes[..cut % (bytes.len() + 1)].to_vec());
    }

    #[test]
    fn huge_fields_never_panic(
        which in 0usize..4,
        at in 0usize..200,
        value in prop_oneof![
            Just(u32::MAX), Just(i32::MAX as u32), Just(0x8000_0000u32),
            Just(0x0100_0000u32), Just(4096u32), any::<u32>(),
        ],
    ) {
        // Anywhere in the first blocks: lengths, thumbnail sizes, counts.
        let mut bytes = fixtures()[which].clone();
        let at = at % bytes.len().saturating_sub(4).max(1);
        if bytes.len() >= at + 4 {
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        read(bytes);
    }
}
