//! What a file's name claims about its format, held against what its bytes are.
//!
//! A file named `.dds` whose bytes are not a DDS file, or an empty `.fbx`, is a
//! mislabelled asset: its preview is a recorded failure saying so
//! ([`PreviewError::Misnamed`]), not a generic card that looks fine. [`CLAIMS`]
//! lists every extension that names a format gadn previews or sniffs
//! ([`crate::store::sniff`]) together with the signature its bytes must carry.
//! Formats without one (TGA, binary STL, OBJ) are refused only when empty (OBJ not
//! even then) or when the bytes are positively another known format. Extensions not
//! listed claim nothing.
//!
//! Two uses of the one table:
//! - [`generator_kind`] (cheap: the sniffed type and the name, no bytes) chooses
//!   the generator a file's preview is recorded under: the one of the claimed
//!   format when the sniffed type cannot be that format, so a misnamed file's
//!   failure is recorded under, say, `texture` for a `.dds` rather than as a card;
//! - [`check`] (the file's first bytes) is the check itself, run by
//!   [`super::run`] before any generator.
//!
//! Not listed, on purpose: `.zip` and `.pdf`, whose signatures need not be at
//! byte 0 (self-extracting archives, PDF's allowed leading bytes).

use crate::store::sniff::{self, SNIFF_LEN};

pub use super::error::Found;
use super::{PreviewError, Source};

/// What the bytes of a claimed format must be.
#[derive(Debug, Clone, Copy)]
enum Sign {
    /// The name-blind sniffed type of the head is one of these.
    Kinds(&'static [&'static str]),
    /// A glTF JSON file: text whose first character (after a byte-order mark and
    /// white space) is `{`.
    JsonObject,
    /// No signature: anything but an empty file or bytes that are positively another
    /// known format.
    None,
    /// No signature, and an empty file is valid too.
    NoneMayBeEmpty,
}

/// One format a file name can claim.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// Extensions (lower case, no dot) that claim it.
    pub exts: &'static [&'static str],
    /// The sniffed type of a file of this format (`dds`, `fbx`…), whose generator
    /// the preview of a misnamed file is recorded under.
    pub kind: &'static str,
    /// The format's name in messages: `a DDS file`.
    pub what: &'static str,
    /// What a file without the signature lacks, in messages: `no 'DDS ' magic`.
    lacks: &'static str,
    /// The signature.
    sign: Sign,
    /// Every type [`sniff::detect`] gives bytes that pass [`check`] under one of
    /// these names: a file of another type cannot pass (see [`generator_kind`]).
    sniffed: &'static [&'static str],
}

/// A claim whose signature is its sniffed type's magic: `magic!(exts, kind, what,
/// lacks)`.
macro_rules! magic {
    ($exts:expr, $kind:literal, $what:literal, $lacks:literal) => {
        Claim {
            exts: $exts,
            kind: $kind,
            what: $what,
            lacks: $lacks,
            sign: Sign::Kinds(&[$kind]),
            sniffed: &[$kind],
        }
    };
}

/// Every format a name can claim (see the module docs).
pub const CLAIMS: &[Claim] = &[
    magic!(&["png"], "png", "a PNG file", "no PNG signature"),
    magic!(
        &["jpg", "jpeg"],
        "jpeg",
        "a JPEG file",
        "no JPEG SOI marker"
    ),
    magic!(&["gif"], "gif", "a GIF file", "no 'GIF87a'/'GIF89a' magic"),
    magic!(&["bmp"], "bmp", "a BMP file", "no 'BM' header"),
    magic!(&["webp"], "webp", "a WebP file", "no RIFF 'WEBP' header"),
    magic!(&["dds"], "dds", "a DDS file", "no 'DDS ' magic"),
    magic!(&["psd"], "psd", "a PSD file", "no '8BPS' magic"),
    magic!(&["exr"], "exr", "an OpenEXR file", "no OpenEXR magic"),
    magic!(
        &["hdr"],
        "hdr",
        "a Radiance HDR file",
        "no '#?RADIANCE' header"
    ),
    magic!(&["ktx2"], "ktx2", "a KTX2 file", "no KTX 2.0 identifier"),
    magic!(&["wav"], "wav", "a WAV file", "no RIFF 'WAVE' header"),
    magic!(&["flac"], "flac", "a FLAC file", "no 'fLaC' magic"),
    magic!(&["ogg", "oga"], "ogg", "an Ogg file", "no 'OggS' page"),
    magic!(&["mp3"], "mp3", "an MP3 file", "no ID3 tag or MPEG frame"),
    magic!(&["glb"], "glb", "a GLB file", "no 'glTF' magic"),
    magic!(&["ply"], "ply", "a PLY file", "no 'ply' header line"),
    magic!(&["gz", "tgz"], "gzip", "a gzip file", "no gzip magic"),
    magic!(&["zst"], "zstd", "a zstd file", "no zstd magic"),
    Claim {
        exts: &["blend"],
        kind: "blend",
        what: "a Blender file",
        lacks: "no 'BLENDER' header, nor gzip or zstd compression",
        sign: Sign::Kinds(&["blend", "gzip", "zstd"]),
        sniffed: &["blend"],
    },
    Claim {
        exts: &["fbx"],
        kind: "fbx",
        what: "an FBX file",
        lacks: "no 'Kaydara FBX Binary' magic, and not ASCII FBX text",
        // "text": ASCII FBX need not start with its "; FBX" comment.
        sign: Sign::Kinds(&["fbx", "text"]),
        sniffed: &["fbx"],
    },
    Claim {
        exts: &["gltf"],
        kind: "gltf",
        what: "a glTF file",
        lacks: "not a JSON object",
        sign: Sign::JsonObject,
        sniffed: &["gltf"],
    },
    Claim {
        exts: &["tga"],
        kind: "tga",
        what: "a TGA file",
        lacks: "TGA has no magic",
        sign: Sign::None,
        sniffed: &["tga", "text"],
    },
    Claim {
        exts: &["stl"],
        kind: "stl",
        what: "an STL file",
        lacks: "binary STL has no magic",
        sign: Sign::None,
        sniffed: &["stl"],
    },
    Claim {
        exts: &["obj"],
        kind: "obj",
        what: "an OBJ file",
        lacks: "OBJ has no magic",
        sign: Sign::NoneMayBeEmpty,
        // Latin-1 text is not UTF-8: sniffed as binary, and previewed as before.
        sniffed: &["obj", "binary", "empty"],
    },
];

impl Claim {
    /// The sniffed types a passing file has.
    fn sniffed(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sniffed.iter().copied()
    }

    /// Whether `head` (the first bytes of a `len`-byte file) bears the claim out;
    /// `Err` says how not.
    fn holds(&self, head: &[u8], ext: &str) -> Result<(), PreviewError> {
        let misnamed = |found: Found| PreviewError::Misnamed {
            ext: ext.to_string(),
            what: self.what,
            found,
        };
        if head.is_empty() {
            return match self.sign {
                Sign::NoneMayBeEmpty => Ok(()),
                _ => Err(misnamed(Found::Empty)),
            };
        }
        // What the bytes alone say, the name left out.
        let blind = sniff::detect(head, "").kind;
        let other = |blind: &str| !matches!(blind, "binary" | "text") && blind != self.kind;
        let ok = match self.sign {
            Sign::Kinds(kinds) => kinds.contains(&blind.as_str()),
            Sign::JsonObject => {
                let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
                matches!(blind.as_str(), "gltf" | "text")
                    && body.trim_ascii_start().starts_with(b"{")
            }
            Sign::None | Sign::NoneMayBeEmpty => !other(&blind),
        };
        if ok {
            return Ok(());
        }
        Err(misnamed(if other(&blind) {
            Found::Other {
                lacks: self.lacks,
                kind: blind,
            }
        } else {
            Found::Lacks(self.lacks)
        }))
    }
}

/// The claim `name`'s extension makes, if any.
pub fn claim_of(name: &str) -> Option<&'static Claim> {
    let ext = sniff::extension(name);
    CLAIMS.iter().find(|c| c.exts.contains(&ext.as_str()))
}

/// The type whose generator the preview of a file named `name`, sniffed as `kind`,
/// is recorded under: `kind`, unless the name claims a format that a file of type
/// `kind` cannot be ([`check`] would fail), then the claimed format's type.
pub fn generator_kind<'a>(kind: &'a str, name: &str) -> &'a str {
    match claim_of(name) {
        Some(c) if !c.sniffed().any(|k| k == kind) => c.kind,
        _ => kind,
    }
}

/// Fails with [`PreviewError::Misnamed`] when `source`, named `name`, is not the
/// format its name claims; names that claim nothing pass. Reads at most the first
/// [`SNIFF_LEN`] bytes (failing with [`PreviewError::NotPresent`] when they are
/// not present).
pub fn check(name: &str, source: &dyn Source) -> Result<(), PreviewError> {
    let Some(claim) = claim_of(name) else {
        return Ok(());
    };
    let mut head = vec![0u8; source.len().min(SNIFF_LEN as u64) as usize];
    source.read_exact_at(0, &mut head)?;
    claim.holds(&head, &sniff::extension(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::BytesSource;

    fn check_bytes(name: &str, bytes: &[u8]) -> Result<(), PreviewError> {
        check(name, &BytesSource::new(bytes.to_vec()))
    }

    fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    fn fixture(rel: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        std::fs::read(path.join(rel)).unwrap()
    }

    #[test]
    fn random_bytes_named_dds_are_misnamed_and_say_what_is_missing() {
        let e = check_bytes("t/albedo.DDS", &noise(65536)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "named .dds but the bytes are not a DDS file (no 'DDS ' magic)"
        );
    }

    #[test]
    fn an_empty_file_named_fbx_is_misnamed() {
        let e = check_bytes("m/ship.fbx", b"").unwrap_err();
        assert_eq!(e.to_string(), "empty file named .fbx");
        assert!(matches!(
            e,
            PreviewError::Misnamed {
                found: Found::Empty,
                ..
            }
        ));
    }

    #[test]
    fn another_format_under_a_claimed_name_is_named() {
        let png = fixture("texture.png");
        let e = check_bytes("a.jpg", &png).unwrap_err();
        assert_eq!(
            e.to_string(),
            "named .jpg but the bytes are not a JPEG file (no JPEG SOI marker; they are png)"
        );
        // Even for formats without magic, positively other bytes are refused.
        let e = check_bytes("a.tga", &png).unwrap_err();
        assert!(e.to_string().contains("they are png"), "{e}");
    }

    #[test]
    fn every_claimed_extension_refuses_empty_and_random_bytes_except_magicless_formats() {
        let random = noise(4096);
        for c in CLAIMS {
            for ext in c.exts {
                let name = format!("x.{ext}");
                let empty = check_bytes(&name, b"");
                assert_eq!(
                    empty.is_ok(),
                    matches!(c.sign, Sign::NoneMayBeEmpty),
                    "{name}"
                );
                let r = check_bytes(&name, &random);
                assert_eq!(
                    r.is_ok(),
                    matches!(c.sign, Sign::None | Sign::NoneMayBeEmpty),
                    "{name}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn good_files_pass_under_their_names() {
        for (name, rel) in [
            ("t.png", "texture.png"),
            ("t.jpg", "texture.jpg"),
            ("t.tga", "texture_small.tga"),
            ("s.wav", "tone.wav"),
            ("c.gltf", "cube.gltf"),
            ("c.obj", "cube.obj"),
            ("b.blend", "preview/blend/red_cube_zstd.blend"),
            ("b.blend", "preview/blend/red_cube.blend"),
        ] {
            check_bytes(name, &fixture(rel)).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        check_bytes("a.fbx", b"Kaydara FBX Binary  \0\x1a\0").unwrap();
        check_bytes("a.fbx", b"FBXHeaderExtension:  {\n}\n").unwrap();
        check_bytes("a.gltf", b"\xef\xbb\xbf  {\"asset\": {}}").unwrap();
        check_bytes("a.obj", b"").unwrap();
        check_bytes("a.stl", &[0u8; 84]).unwrap();
        // Names that claim nothing pass whatever the bytes.
        check_bytes("blob.xyz", &noise(100)).unwrap();
        check_bytes("noext", b"").unwrap();
        check_bytes("a.zip", &noise(100)).unwrap();
    }

    /// `generator_kind` may keep a file on the sniffed type's generator only if its
    /// bytes can pass `check`; when it moves the file to the claimed format's
    /// generator, `check` must fail (so that generator never sees a foreign type).
    #[test]
    fn the_generator_kind_moves_a_file_only_when_the_check_fails() {
        let samples: Vec<Vec<u8>> = vec![
            Vec::new(),
            noise(4096),
            b"plain text\n".to_vec(),
            b"{\"asset\": {\"version\": \"2.0\"}}".to_vec(),
            b"solid x\nfacet normal 0 0 1\n".to_vec(),
            b"; FBX 7.4.0 project file\n".to_vec(),
            b"Kaydara FBX Binary  \0".to_vec(),
            fixture("texture.png"),
            fixture("texture.jpg"),
            fixture("texture_small.tga"),
            fixture("tone.wav"),
            fixture("cube.obj"),
            fixture("preview/blend/red_cube_zstd.blend"),
            b"\x1f\x8b\x08\0\0\0\0\0".to_vec(),
            b"DDS \x7c\0\0\0".to_vec(),
            b"glTF\x02\0\0\0".to_vec(),
            [&b"\xe9"[..], b"v 1 2 3\n"].concat(),
        ];
        for c in CLAIMS {
            for ext in c.exts {
                let name = format!("x.{ext}");
                for bytes in &samples {
                    let kind = sniff::detect(bytes, &name).kind;
                    let passes = check_bytes(&name, bytes).is_ok();
                    if generator_kind(&kind, &name) != kind {
                        assert!(!passes, "{name} sniffed {kind} moved, yet passes");
                    }
                    if passes {
                        assert!(c.sniffed().any(|k| k == kind), "{name}: {kind}");
                    }
                }
            }
        }
        assert_eq!(generator_kind("binary", "a.dds"), "dds");
        assert_eq!(generator_kind("empty", "a.fbx"), "fbx");
        assert_eq!(generator_kind("png", "a.png"), "png");
        assert_eq!(generator_kind("binary", "a.xyz"), "binary");
        assert_eq!(generator_kind("binary", "a.obj"), "binary");
    }
}
