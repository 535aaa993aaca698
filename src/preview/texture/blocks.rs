//! Pixel formats of GPU textures (DDS and KTX2) and decoding one surface of them
//! to RGBA8 through `image_dds` (BC1–BC7 blocks, 8-bit and float plain formats).

use image::RgbaImage;
use image_dds::{ImageFormat, Surface};

use super::{check_rgba, rgba_image, tonemap};
use crate::preview::{Ctx, PreviewError};

/// How the texels of one format are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PixelFormat {
    /// The `image_dds` format that decodes it.
    pub image: ImageFormat,
    /// Name in the fact `format` (DXGI style: `BC1_UNORM`, `R8G8B8A8_UNORM`).
    pub name: &'static str,
    /// Value of the fact `compression`: `BC1`…`BC7`, or `none`.
    pub compression: &'static str,
    /// Side of a block in texels: 4 for BCn, 1 for plain formats.
    pub block: u32,
    /// Bytes per block (per texel for plain formats).
    pub bytes: u32,
    /// Channels stored.
    pub channels: u32,
    /// Bits per channel once decoded (8 for BCn, 16/32 for float formats).
    pub bit_depth: u32,
    /// Whether the stored alpha is meaningless and must read as opaque.
    pub opaque: bool,
    /// Whether values are linear floats that need tone-mapping.
    pub float: bool,
}

const fn bc(
    image: ImageFormat,
    name: &'static str,
    c: &'static str,
    bytes: u32,
    ch: u32,
) -> PixelFormat {
    PixelFormat {
        image,
        name,
        compression: c,
        block: 4,
        bytes,
        channels: ch,
        bit_depth: 8,
        opaque: false,
        float: false,
    }
}

const fn plain(
    image: ImageFormat,
    name: &'static str,
    bytes: u32,
    ch: u32,
    depth: u32,
) -> PixelFormat {
    PixelFormat {
        image,
        name,
        compression: "none",
        block: 1,
        bytes,
        channels: ch,
        bit_depth: depth,
        opaque: false,
        float: depth > 8,
    }
}

const fn opaque(f: PixelFormat) -> PixelFormat {
    PixelFormat { opaque: true, ..f }
}

use ImageFormat as F;

pub(super) const BC1: PixelFormat = bc(F::BC1RgbaUnorm, "BC1_UNORM", "BC1", 8, 4);
const BC1_SRGB: PixelFormat = bc(F::BC1RgbaUnormSrgb, "BC1_UNORM_SRGB", "BC1", 8, 4);
pub(super) const BC2: PixelFormat = bc(F::BC2RgbaUnorm, "BC2_UNORM", "BC2", 16, 4);
const BC2_SRGB: PixelFormat = bc(F::BC2RgbaUnormSrgb, "BC2_UNORM_SRGB", "BC2", 16, 4);
pub(super) const BC3: PixelFormat = bc(F::BC3RgbaUnorm, "BC3_UNORM", "BC3", 16, 4);
const BC3_SRGB: PixelFormat = bc(F::BC3RgbaUnormSrgb, "BC3_UNORM_SRGB", "BC3", 16, 4);
pub(super) const BC4: PixelFormat = bc(F::BC4RUnorm, "BC4_UNORM", "BC4", 8, 1);
const BC4S: PixelFormat = bc(F::BC4RSnorm, "BC4_SNORM", "BC4", 8, 1);
pub(super) const BC5: PixelFormat = bc(F::BC5RgUnorm, "BC5_UNORM", "BC5", 16, 2);
const BC5S: PixelFormat = bc(F::BC5RgSnorm, "BC5_SNORM", "BC5", 16, 2);
const BC6U: PixelFormat = PixelFormat {
    bit_depth: 16,
    float: true,
    ..bc(F::BC6hRgbUfloat, "BC6H_UF16", "BC6H", 16, 3)
};
const BC6S: PixelFormat = PixelFormat {
    image: F::BC6hRgbSfloat,
    name: "BC6H_SF16",
    ..BC6U
};
pub(super) const BC7: PixelFormat = bc(F::BC7RgbaUnorm, "BC7_UNORM", "BC7", 16, 4);
const BC7_SRGB: PixelFormat = bc(F::BC7RgbaUnormSrgb, "BC7_UNORM_SRGB", "BC7", 16, 4);
pub(super) const RGBA8: PixelFormat = plain(F::Rgba8Unorm, "R8G8B8A8_UNORM", 4, 4, 8);
const RGBA8_SRGB: PixelFormat = plain(F::Rgba8UnormSrgb, "R8G8B8A8_UNORM_SRGB", 4, 4, 8);
pub(super) const BGRA8: PixelFormat = plain(F::Bgra8Unorm, "B8G8R8A8_UNORM", 4, 4, 8);
const BGRA8_SRGB: PixelFormat = plain(F::Bgra8UnormSrgb, "B8G8R8A8_UNORM_SRGB", 4, 4, 8);
pub(super) const BGRX8: PixelFormat = opaque(plain(F::Bgra8Unorm, "B8G8R8X8_UNORM", 4, 3, 8));
pub(super) const RGBX8: PixelFormat = opaque(plain(F::Rgba8Unorm, "R8G8B8X8_UNORM", 4, 3, 8));
pub(super) const BGR8: PixelFormat = plain(F::Bgr8Unorm, "B8G8R8_UNORM", 3, 3, 8);
const R8: PixelFormat = plain(F::R8Unorm, "R8_UNORM", 1, 1, 8);
const RG8: PixelFormat = plain(F::Rg8Unorm, "R8G8_UNORM", 2, 2, 8);
pub(super) const RGBA16F: PixelFormat = plain(F::Rgba16Float, "R16G16B16A16_FLOAT", 8, 4, 16);
pub(super) const RGBA32F: PixelFormat = plain(F::Rgba32Float, "R32G32B32A32_FLOAT", 16, 4, 32);

/// The format of a DXGI code (the DDS DX10 header).
pub(super) fn from_dxgi(code: u32) -> Option<PixelFormat> {
    Some(match code {
        2 => RGBA32F,
        10 => RGBA16F,
        28 => RGBA8,
        29 => RGBA8_SRGB,
        49 => RG8,
        61 => R8,
        71 => BC1,
        72 => BC1_SRGB,
        74 => BC2,
        75 => BC2_SRGB,
        77 => BC3,
        78 => BC3_SRGB,
        80 => BC4,
        81 => BC4S,
        83 => BC5,
        84 => BC5S,
        87 => BGRA8,
        88 => BGRX8,
        91 => BGRA8_SRGB,
        95 => BC6U,
        96 => BC6S,
        98 => BC7,
        99 => BC7_SRGB,
        _ => return None,
    })
}

/// The format of a Vulkan `VkFormat` value (the KTX2 header).
pub(super) fn from_vk(code: u32) -> Option<PixelFormat> {
    Some(match code {
        9 => R8,
        16 => RG8,
        37 => RGBA8,
        43 => RGBA8_SRGB,
        44 => BGRA8,
        50 => BGRA8_SRGB,
        97 => RGBA16F,
        109 => RGBA32F,
        131 => opaque(BC1),
        132 => opaque(BC1_SRGB),
        133 => BC1,
        134 => BC1_SRGB,
        135 => BC2,
        136 => BC2_SRGB,
        137 => BC3,
        138 => BC3_SRGB,
        139 => BC4,
        140 => BC4S,
        141 => BC5,
        142 => BC5S,
        143 => BC6U,
        144 => BC6S,
        145 => BC7,
        146 => BC7_SRGB,
        _ => return None,
    })
}

/// The format named by a DDS FourCC (legacy header), including the D3DFMT numbers
/// some writers put there for float formats.
pub(super) fn from_fourcc(code: [u8; 4]) -> Option<PixelFormat> {
    Some(match &code {
        b"DXT1" => BC1,
        b"DXT2" | b"DXT3" => BC2,
        b"DXT4" | b"DXT5" => BC3,
        b"ATI1" | b"BC4U" => BC4,
        b"BC4S" => BC4S,
        b"ATI2" | b"BC5U" => BC5,
        b"BC5S" => BC5S,
        _ => match u32::from_le_bytes(code) {
            113 => RGBA16F,
            116 => RGBA32F,
            _ => return None,
        },
    })
}

impl PixelFormat {
    /// Bytes of one `w`×`h`×`d` image in this format; `None` on overflow.
    pub(super) fn image_bytes(&self, w: u32, h: u32, d: u32) -> Option<u64> {
        let bw = w.div_ceil(self.block) as u64;
        let bh = h.div_ceil(self.block) as u64;
        bw.checked_mul(bh)?
            .checked_mul(self.bytes as u64)?
            .checked_mul(d as u64)
    }

    /// Decodes one `w`×`h` image from `data` (which holds at least
    /// [`image_bytes`](Self::image_bytes)`(w, h, 1)` bytes) to RGBA8; `format`
    /// names the container in errors.
    pub(super) fn decode(
        &self,
        format: &'static str,
        w: u32,
        h: u32,
        data: &[u8],
        ctx: &Ctx,
    ) -> Result<RgbaImage, PreviewError> {
        check_rgba(ctx, w, h, &format!("a {w}x{h} {} level", self.name))?;
        let need = self
            .image_bytes(w, h, 1)
            .filter(|&n| n <= data.len() as u64)
            .ok_or_else(|| {
                PreviewError::truncated(
                    format,
                    format!(
                        "a {w}x{h} {} level has only {} bytes",
                        self.name,
                        data.len()
                    ),
                )
            })?;
        let surface = Surface {
            width: w,
            height: h,
            depth: 1,
            layers: 1,
            mipmaps: 1,
            image_format: self.image,
            data: &data[..need as usize],
        };
        let bad = |e: image_dds::error::SurfaceError| PreviewError::corrupt(format, e.to_string());
        let mut image = if self.float {
            ctx.alloc(w as u64 * h as u64 * 16, "a float level")?;
            let f = surface.decode_rgbaf32().map_err(bad)?;
            tonemap::map(w, h, &f.data, 4, ctx)?
        } else {
            rgba_image(format, w, h, surface.decode_rgba8().map_err(bad)?.data)?
        };
        if self.opaque {
            for p in image.pixels_mut() {
                p.0[3] = 255;
            }
        }
        Ok(image)
    }
}
