//! Tests of the blend generator: the Blender-made fixtures
//! (`tools/fixtures/preview-blend.sh`), hand-built files for layouts Blender 3.4
//! cannot write (big endian, 4-byte pointers, the 17-byte header of Blender 5),
//! bad input, and random mutations.

mod bad;
mod fixtures;
mod layouts;
mod mutate;

use std::sync::Arc;

use super::block::{ENDB, GLOB, REND, TEST};
use super::BlendGenerator;
use crate::preview::{BytesSource, Ctx, Generated, Generator, Input, PreviewError, Source};

/// Bytes of a fixture of `fixtures/preview/blend/`.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/preview/blend/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An input of kind `blend` over `source`.
fn input(source: impl Source + 'static) -> Input {
    Input {
        name: "scene.blend".into(),
        kind: "blend".into(),
        source: Arc::new(source),
    }
}

/// Runs the generator on complete `bytes`.
fn generate(bytes: Vec<u8>) -> Result<Generated, PreviewError> {
    BlendGenerator.generate(&input(BytesSource::new(bytes)), &Ctx::default())
}

/// Reads the head of complete `bytes`.
fn head(bytes: Vec<u8>) -> Result<super::BlendHead, PreviewError> {
    super::read_head(&BytesSource::new(bytes), &Ctx::default())
}

/// Layout of a hand-built file.
#[derive(Clone, Copy)]
enum Layout {
    /// 12-byte header, 8-byte pointers, little endian (Blender 3.4 on x86).
    Small8Le,
    /// 12-byte header, 4-byte pointers, big endian (Blender 2.79 on PowerPC).
    Ptr4Be,
    /// 17-byte header `BLENDER17-01v0500`, 32-byte block headers (Blender 5.0).
    Large8,
}

/// Writes `.blend` files block by block in one of the [`Layout`]s.
struct Builder {
    layout: Layout,
    bytes: Vec<u8>,
}

impl Builder {
    fn new(layout: Layout) -> Builder {
        let header: &[u8] = match layout {
            Layout::Small8Le => b"BLENDER-v304",
            Layout::Ptr4Be => b"BLENDER_V279",
            Layout::Large8 => b"BLENDER17-01v0500",
        };
        Builder {
            layout,
            bytes: header.to_vec(),
        }
    }

    fn i32(&self, v: i32) -> [u8; 4] {
        match self.layout {
            Layout::Ptr4Be => v.to_be_bytes(),
            _ => v.to_le_bytes(),
        }
    }

    /// Appends a block whose header claims `len` bytes, followed by `data`.
    fn block_claiming(mut self, code: [u8; 4], len: i64, data: &[u8]) -> Builder {
        self.bytes.extend_from_slice(&code);
        match self.layout {
            Layout::Small8Le => {
                self.bytes.extend_from_slice(&(len as i32).to_le_bytes());
                self.bytes
                    .extend_from_slice(&0x7fff_1234_5678u64.to_le_bytes());
                self.bytes.extend_from_slice(&0i32.to_le_bytes());
                self.bytes.extend_from_slice(&1i32.to_le_bytes());
            }
            Layout::Ptr4Be => {
                self.bytes.extend_from_slice(&(len as i32).to_be_bytes());
                self.bytes.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                self.bytes.extend_from_slice(&0i32.to_be_bytes());
                self.bytes.extend_from_slice(&1i32.to_be_bytes());
            }
            Layout::Large8 => {
                self.bytes.extend_from_slice(&0i32.to_le_bytes());
                self.bytes
                    .extend_from_slice(&0x7fff_1234_5678u64.to_le_bytes());
                self.bytes.extend_from_slice(&len.to_le_bytes());
                self.bytes.extend_from_slice(&1i64.to_le_bytes());
            }
        }
        self.bytes.extend_from_slice(data);
        self
    }

    fn block(self, code: [u8; 4], data: &[u8]) -> Builder {
        let len = data.len() as i64;
        self.block_claiming(code, len, data)
    }

    /// A `REND` block for scene `name` with frames `start..=end`.
    fn rend(self, start: i32, end: i32, name: &str) -> Builder {
        let mut data = Vec::new();
        data.extend_from_slice(&self.i32(start));
        data.extend_from_slice(&self.i32(end));
        let mut field = [0u8; 64];
        field[..name.len()].copy_from_slice(name.as_bytes());
        data.extend_from_slice(&field);
        self.block(REND, &data)
    }

    /// A `TEST` block of `w`×`h` pixels (bottom-up rows), `pixels` as given.
    fn test(self, w: i32, h: i32, pixels: &[u8]) -> Builder {
        let mut data = Vec::new();
        data.extend_from_slice(&self.i32(w));
        data.extend_from_slice(&self.i32(h));
        data.extend_from_slice(pixels);
        self.block(TEST, &data)
    }

    /// Ends the head the way Blender does: `GLOB`, then `ENDB`.
    fn end(self) -> Vec<u8> {
        self.block(GLOB, &[0u8; 16]).block(ENDB, &[]).bytes
    }
}

/// A 2×3 picture stored bottom-up: the bottom row red, the middle green, the top
/// blue, all opaque.
fn tricolour() -> Vec<u8> {
    let mut px = Vec::new();
    for colour in [[255u8, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]] {
        for _ in 0..2 {
            px.extend_from_slice(&colour);
        }
    }
    px
}
