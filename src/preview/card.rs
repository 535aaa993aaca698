//! The generic card: what every file without a format-specific generator gets — a
//! small picture naming its type and size (drawn with a built-in 5×7 pixel font),
//! and the facts `type` and `size`.

use image::{Rgba, RgbaImage};

use super::{thumbs, Ctx, Generated, Generator, Input, PreviewError};

/// Card size in pixels (square).
pub const CARD_SIZE: u32 = 256;

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

    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        let size = input.source.len();
        let mut g = Generated::default();
        g.fact("type", input.kind.clone()).fact("size", size);
        let ext = input.extension();
        let label = if matches!(input.kind.as_str(), "binary" | "text" | "empty") && !ext.is_empty()
        {
            ext
        } else {
            input.kind.clone()
        };
        let card = draw(&label, &human_size(size), accent(&input.kind));
        g.items = thumbs::levels(&card, ctx)?;
        Ok(g)
    }

    /// A card needs nothing but the length, so a partial file gets one too.
    fn generate_partial(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        self.generate(input, ctx)
    }
}

/// `12.3 MB`-style size with decimal units (as file browsers show).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// A colour per broad kind of content, so cards are told apart at a glance.
fn accent(kind: &str) -> Rgba<u8> {
    let class = match kind {
        "zip" | "gzip" | "zstd" => "archive",
        "text" | "json" | "xml" | "yaml" | "toml" | "mtl" => "text",
        "pdf" => "document",
        "elf" => "executable",
        _ => "other",
    };
    match class {
        "archive" => Rgba([196, 140, 40, 255]),
        "text" => Rgba([70, 130, 180, 255]),
        "document" => Rgba([180, 60, 60, 255]),
        "executable" => Rgba([90, 150, 90, 255]),
        _ => Rgba([110, 110, 120, 255]),
    }
}

/// Draws the card: an accent band, the label large, the size below it.
fn draw(label: &str, size: &str, accent: Rgba<u8>) -> RgbaImage {
    let mut img = RgbaImage::from_pixel(CARD_SIZE, CARD_SIZE, Rgba([245, 245, 245, 255]));
    for y in 0..40 {
        for x in 0..CARD_SIZE {
            img.put_pixel(x, y, accent);
        }
    }
    let label: String = label.to_ascii_uppercase().chars().take(8).collect();
    let ink = Rgba([30, 30, 30, 255]);
    text_centered(&mut img, &label, 100, 5, ink);
    text_centered(&mut img, size, 170, 3, Rgba([90, 90, 90, 255]));
    img
}

/// Writes `text` centred horizontally with its top at `y`, each font pixel a
/// `scale`×`scale` square; characters past the card's width are dropped.
fn text_centered(img: &mut RgbaImage, text: &str, y: u32, scale: u32, ink: Rgba<u8>) {
    let advance = 6 * scale;
    let fit = (img.width() / advance) as usize;
    let chars: Vec<char> = text.chars().take(fit).collect();
    let width = chars.len() as u32 * advance;
    let mut x = (img.width().saturating_sub(width)) / 2;
    for c in chars {
        let rows = glyph(c);
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5u32 {
                if bits & (0b10000 >> col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let (px, py) = (x + col * scale + dx, y + row as u32 * scale + dy);
                            if px < img.width() && py < img.height() {
                                img.put_pixel(px, py, ink);
                            }
                        }
                    }
                }
            }
        }
        x += advance;
    }
}

/// The 5×7 bitmap of `c` (rows top to bottom, bit 4 the leftmost column); unknown
/// characters draw as a hollow box.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [30, 17, 17, 17, 17, 17, 30],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 31],
        ' ' => [0; 7],
        _ => [31, 17, 17, 17, 17, 17, 31],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_card_names_the_type_and_size() {
        let input = Input::from_bytes("notes.xyz", vec![0u8, 1, 2, 3, 250, 251]);
        let g = CardGenerator.generate(&input, &Ctx::default()).unwrap();
        assert_eq!(g.facts["type"], "binary");
        assert_eq!(g.facts["size"], 6);
        // 64 and 256 px; the card is 256 px, so no 1024 level.
        let levels: Vec<u32> = g.items.iter().map(|i| i.level).collect();
        assert_eq!(levels, vec![64, 256]);
        let img = image::load_from_memory(&g.items[1].bytes)
            .unwrap()
            .to_rgb8();
        assert_eq!(img.dimensions(), (256, 256));
        // The accent band on top, ink in the label's row.
        assert_eq!(img.get_pixel(5, 5).0, [110, 110, 120]);
        let ink = (0..256).any(|x| img.get_pixel(x, 110).0 == [30, 30, 30]);
        assert!(ink);
        // Deterministic.
        assert_eq!(CardGenerator.generate(&input, &Ctx::default()).unwrap(), g);
    }

    #[test]
    fn partial_files_get_a_card_too() {
        let input = Input {
            name: "big.zip".into(),
            kind: "zip".into(),
            source: Arc::new(crate::preview::PrefixSource::new(vec![0u8; 5000], 10)),
        };
        let g = CardGenerator
            .generate_partial(&input, &Ctx::default())
            .unwrap();
        assert_eq!(g.facts["size"], 5000);
        let img = image::load_from_memory(&g.items[1].bytes)
            .unwrap()
            .to_rgb8();
        assert_eq!(img.get_pixel(5, 5).0, [196, 140, 40]);
    }

    #[test]
    fn sizes_and_glyphs() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1500), "1.5 KB");
        assert_eq!(human_size(2_500_000_000), "2.5 GB");
        assert_eq!(glyph('?'), [31, 17, 17, 17, 17, 17, 31]);
        for c in "abcdefghijklmnopqrstuvwxyz0123456789.-_ ".chars() {
            assert_ne!(glyph(c), glyph('?'), "{c}");
        }
        for kind in ["text", "pdf", "elf", "gzip"] {
            assert_ne!(accent(kind), accent("other"));
        }
        // A long label is cut to what fits.
        let img = draw("averyveryverylonglabel", "1 B", accent("x"));
        assert_eq!(img.width(), CARD_SIZE);
    }
}
