//! Placeholder: previews of mesh files (being written).

use super::{Ctx, Generated, Generator, Input, PreviewError};

/// Previews mesh files.
pub struct MeshGenerator;

impl Generator for MeshGenerator {
    fn name(&self) -> &'static str {
        "mesh"
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(kind, "glb" | "gltf" | "obj" | "fbx" | "stl" | "ply")
    }

    fn generate(&self, input: &Input, _ctx: &Ctx) -> Result<Generated, PreviewError> {
        Err(PreviewError::unsupported("mesh", format!("{} (not written yet)", input.kind)))
    }
}
