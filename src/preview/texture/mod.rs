//! Placeholder: previews of texture files (being written).

use super::{Ctx, Generated, Generator, Input, PreviewError};

/// Previews texture files.
pub struct TextureGenerator;

impl Generator for TextureGenerator {
    fn name(&self) -> &'static str {
        "texture"
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(kind, "png" | "jpeg" | "tga" | "bmp" | "dds" | "psd" | "exr" | "hdr" | "ktx2")
    }

    fn generate(&self, input: &Input, _ctx: &Ctx) -> Result<Generated, PreviewError> {
        Err(PreviewError::unsupported("texture", format!("{} (not written yet)", input.kind)))
    }
}
