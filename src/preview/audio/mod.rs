//! Placeholder: previews of audio files (being written).

use super::{Ctx, Generated, Generator, Input, PreviewError};

/// Previews audio files.
pub struct AudioGenerator;

impl Generator for AudioGenerator {
    fn name(&self) -> &'static str {
        "audio"
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(kind, "wav" | "ogg" | "mp3" | "flac")
    }

    fn generate(&self, input: &Input, _ctx: &Ctx) -> Result<Generated, PreviewError> {
        Err(PreviewError::unsupported("audio", format!("{} (not written yet)", input.kind)))
    }
}
