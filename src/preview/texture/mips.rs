//! Mip levels of a GPU texture: where each is stored, and which one to decode.
//!
//! A thumbnail never needs more texels than its largest level, so DDS and KTX2
//! decode the smallest mip level whose longest side still reaches that size
//! ([`preferred`]), reading only that level's bytes. From a partially present
//! file the preferred level may be missing: [`read_level`] then takes the next
//! smaller level that is wholly present, else the next larger one.

use crate::preview::source::read_range;
use crate::preview::{Ctx, PreviewError, Source};

/// One stored mip level (of the first layer/face).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Level {
    /// Width in texels.
    pub width: u32,
    /// Height in texels.
    pub height: u32,
    /// Offset of its bytes in the file.
    pub offset: u64,
    /// Length of its bytes in the file (as stored: maybe supercompressed).
    pub len: u64,
}

/// The size a thumbnail needs: the longest side of the largest level asked for.
pub(super) fn target(ctx: &Ctx) -> u32 {
    ctx.levels.iter().copied().max().unwrap_or(64)
}

/// Index of the smallest level (levels are ordered largest first) whose longest
/// side is at least `target`; 0 when even the first is smaller.
pub(super) fn preferred(levels: &[Level], target: u32) -> usize {
    levels
        .iter()
        .rposition(|l| l.width.max(l.height) >= target)
        .unwrap_or(0)
}

/// Reads the level to decode: the [`preferred`] one for a complete file; for a
/// partial one the first wholly present of preferred, smaller, then larger levels
/// (`None` when none is present). Returns its index and bytes.
pub(super) fn read_level(
    src: &dyn Source,
    levels: &[Level],
    ctx: &Ctx,
    partial: bool,
) -> Result<Option<(usize, Vec<u8>)>, PreviewError> {
    if levels.is_empty() {
        return Ok(None);
    }
    let first = preferred(levels, target(ctx));
    let order: Vec<usize> = if partial {
        (first..levels.len()).chain((0..first).rev()).collect()
    } else {
        vec![first]
    };
    for i in order {
        ctx.check()?;
        let level = levels[i];
        ctx.alloc(level.len, &format!("mip level {i} ({} bytes)", level.len))?;
        if level.len > ctx.max_input_bytes {
            return Err(PreviewError::too_large(format!(
                "mip level {i} has {} bytes, the input limit is {}",
                level.len, ctx.max_input_bytes
            )));
        }
        match read_range(src, level.offset, level.len as usize) {
            Ok(bytes) => return Ok(Some((i, bytes))),
            Err(e) if partial && e.is_not_present() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
