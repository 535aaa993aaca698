//! Placeholder: previews of blend files (being written).

use super::{Ctx, Generated, Generator, Input, PreviewError};

/// Previews blend files.
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

    fn generate(&self, input: &Input, _ctx: &Ctx) -> Result<Generated, PreviewError> {
        Err(PreviewError::unsupported("blend", format!("{} (not written yet)", input.kind)))
    }
}
