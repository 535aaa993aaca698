//! Placeholder: the generic card.
use super::{Ctx, Generated, Generator, Input, PreviewError};

/// Previews any file with a card naming its type and size.
pub struct CardGenerator;

impl Generator for CardGenerator {
    fn name(&self) -> &'static str {
        "card"
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, _kind: &str) -> bool {
        true
    }
    fn generate(&self, input: &Input, _ctx: &Ctx) -> Result<Generated, PreviewError> {
        let mut g = Generated::default();
        g.fact("type", input.kind.clone()).fact("size", input.source.len());
        Ok(g)
    }
}
