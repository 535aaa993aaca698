//! Feeds arbitrary bytes to the `.blend` head reader (`src/preview/blend/read.rs`):
//! plain, gzip or zstd, any header layout.
//!
//! Properties: `read_head` never panics and never allocates more than `max_alloc`
//! for the thumbnail; a thumbnail it returns holds exactly width × height RGBA
//! pixels. Stable toolchains run the same check as the proptests in
//! `src/preview/blend/tests/mutate.rs`.
#![no_main]

use gadn::preview::blend::read_head;
use gadn::preview::{BytesSource, Ctx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = Ctx {
        max_alloc: 1 << 24,
        ..Ctx::default()
    };
    if let Ok(head) = read_head(&BytesSource::new(data.to_vec()), &ctx) {
        if let Some(t) = head.thumbnail {
            assert_eq!(
                t.rgba.len() as u64,
                u64::from(t.width) * u64::from(t.height) * 4
            );
        }
    }
});
