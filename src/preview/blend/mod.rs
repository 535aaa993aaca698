//! Previews of Blender `.blend` files: the thumbnail Blender embeds when it saves
//! (the `TEST` block), and facts from the file header and the `REND` blocks.
//!
//! Only the head of the file is read ([`read::read_head`]), decompressing gzip or
//! zstd on the fly, so a preview costs the same for a 10 MB and a 10 GB scene, and
//! works on a partially fetched file as soon as its first blocks are present.
//!
//! Facts: `blender_version` (`"3.4"`), `file_version` (304), `file_format` (0 or 1,
//! the low-level header layout), `pointer_size` (4 or 8), `endian` (`little`/`big`),
//! `compression` (`none`/`gzip`/`zstd`), `scenes` (names from the `REND` blocks),
//! `frame_start`/`frame_end` (of the first scene), `thumbnail` (`embedded` or
//! `none`), `thumbnail_width`/`thumbnail_height` (pixels).
//!
//! Items: thumbnail levels ([`thumbs::levels`]) of the embedded picture; none when
//! the file has no thumbnail.

pub mod block;
pub mod header;
pub mod read;
pub mod stream;

use image::RgbaImage;

use super::{thumbs, Ctx, Generated, Generator, Input, PreviewError, Source};

pub use read::{read_head, BlendHead, Scene, Thumbnail};

/// The format name in errors.
const FORMAT: &str = "blend";

/// Previews `.blend` files (kind `blend`, plain or compressed).
pub struct BlendGenerator;

impl Generator for BlendGenerator {
    fn name(&self) -> &'static str {
        "blend"
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(kind, "blend")
    }

    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        preview(&*input.source, ctx)
    }

    /// The same as [`Generator::generate`]: everything comes from the head, so it
    /// succeeds once the `TEST` block (or, for a file without a thumbnail, the block
    /// after the `REND`s) is present, and fails with [`PreviewError::NotPresent`]
    /// before.
    fn generate_partial(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        preview(&*input.source, ctx)
    }
}

/// Facts and thumbnail levels of the `.blend` file in `src`.
fn preview(src: &dyn Source, ctx: &Ctx) -> Result<Generated, PreviewError> {
    let head = read_head(src, ctx)?;
    let mut g = Generated::default();
    let h = &head.header;
    g.fact("blender_version", h.blender_version())
        .fact("file_version", h.version)
        .fact("file_format", h.format)
        .fact("pointer_size", h.pointer_size)
        .fact("endian", h.endian.name())
        .fact("compression", head.compression.name());
    if !head.scenes.is_empty() {
        let names: Vec<String> = head.scenes.iter().map(|s| s.name.clone()).collect();
        g.fact("scenes", names)
            .fact("frame_start", head.scenes[0].frame_start)
            .fact("frame_end", head.scenes[0].frame_end);
    }
    match head.thumbnail {
        Some(t) => {
            g.fact("thumbnail", "embedded")
                .fact("thumbnail_width", t.width)
                .fact("thumbnail_height", t.height);
            let img = RgbaImage::from_raw(t.width, t.height, t.rgba).ok_or_else(|| {
                PreviewError::corrupt(FORMAT, "thumbnail pixels do not match its size")
            })?;
            g.items = thumbs::levels(&img, ctx)?;
        }
        None => {
            g.fact("thumbnail", "none");
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests;
