//! Cheap facts about a file's content — its type, detected from the first bytes —
//! recorded at ingest in the metadata index (the `facts` table), keyed by file id.
//!
//! Detection looks at magic bytes first; the file name decides only where the
//! content says nothing definite (plain-text formats such as OBJ, binary STL, TGA,
//! and compressed `.blend` files). It never reads more than [`SNIFF_LEN`] bytes, so
//! recording facts at ingest costs a slice look-up per file.

/// Bytes of a file's head that type detection looks at.
pub const SNIFF_LEN: usize = 4096;

/// Every class [`Facts::class`] can hold: what `gadn find --class` accepts.
pub const CLASSES: &[&str] = &[
    "image",
    "audio",
    "model",
    "text",
    "archive",
    "document",
    "executable",
    "other",
];

/// What is known about a file's content without opening it in a format library.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Facts {
    /// Short type name, lower case: `png`, `jpeg`, `wav`, `glb`, `text`, `binary`…
    #[serde(rename = "type")]
    pub kind: String,
    /// Broad class: `image`, `audio`, `model`, `text`, `archive`, `document`,
    /// `executable`, `other`.
    pub class: String,
    /// MIME type, `application/octet-stream` when unknown.
    pub mime: String,
}

impl Facts {
    pub(crate) fn new(kind: &str, class: &str, mime: &str) -> Facts {
        debug_assert!(CLASSES.contains(&class), "class {class} is not in CLASSES");
        Facts {
            kind: kind.into(),
            class: class.into(),
            mime: mime.into(),
        }
    }

    /// The row stored in the `facts` table: `[type, class, mime]`.
    pub fn to_row(&self) -> [String; 3] {
        [self.kind.clone(), self.class.clone(), self.mime.clone()]
    }

    /// Facts from a stored row `[type, class, mime]`.
    pub fn from_row(row: [String; 3]) -> Facts {
        let [kind, class, mime] = row;
        Facts { kind, class, mime }
    }
}

/// Formats recognised by their first bytes: (prefix, type, class, mime). Checked in
/// order; the first match wins.
const MAGIC: &[(&[u8], &str, &str, &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "png", "image", "image/png"),
    (b"\xff\xd8\xff", "jpeg", "image", "image/jpeg"),
    (b"GIF87a", "gif", "image", "image/gif"),
    (b"GIF89a", "gif", "image", "image/gif"),
    (b"DDS ", "dds", "image", "image/vnd-ms.dds"),
    (b"8BPS", "psd", "image", "image/vnd.adobe.photoshop"),
    (b"\x76\x2f\x31\x01", "exr", "image", "image/x-exr"),
    (b"#?RADIANCE", "hdr", "image", "image/vnd.radiance"),
    (b"#?RGBE", "hdr", "image", "image/vnd.radiance"),
    (b"\xabKTX 20\xbb\r\n\x1a\n", "ktx2", "image", "image/ktx2"),
    (b"OggS", "ogg", "audio", "audio/ogg"),
    (b"fLaC", "flac", "audio", "audio/flac"),
    (b"ID3", "mp3", "audio", "audio/mpeg"),
    (b"glTF", "glb", "model", "model/gltf-binary"),
    (
        b"Kaydara FBX Binary  \0",
        "fbx",
        "model",
        "application/vnd.autodesk.fbx",
    ),
    (b"BLENDER", "blend", "model", "application/x-blender"),
    (b"ply\n", "ply", "model", "model/x-ply"),
    (b"ply\r\n", "ply", "model", "model/x-ply"),
    (b"PK\x03\x04", "zip", "archive", "application/zip"),
    (b"PK\x05\x06", "zip", "archive", "application/zip"),
    (b"%PDF-", "pdf", "document", "application/pdf"),
    (b"\x7fELF", "elf", "executable", "application/x-elf"),
];

/// Detects facts from a file's first bytes (at most [`SNIFF_LEN`] are looked at) and
/// its name (used only when the content says nothing, e.g. plain text formats).
pub fn detect(head: &[u8], name: &str) -> Facts {
    let head = &head[..head.len().min(SNIFF_LEN)];
    let ext = extension(name);
    if head.is_empty() {
        return Facts::new("empty", "other", "application/x-empty");
    }
    if let Some(f) = riff(head) {
        return f;
    }
    if let Some(&(_, kind, class, mime)) = MAGIC.iter().find(|(m, ..)| head.starts_with(m)) {
        return Facts::new(kind, class, mime);
    }
    if mp3_frame(head) {
        return Facts::new("mp3", "audio", "audio/mpeg");
    }
    let compressed = if head.starts_with(b"\x1f\x8b") {
        Some(("gzip", "application/gzip"))
    } else if head.starts_with(b"\x28\xb5\x2f\xfd") {
        Some(("zstd", "application/zstd"))
    } else {
        None
    };
    if let Some((kind, mime)) = compressed {
        // Blender writes compressed files with the same extension.
        if ext == "blend" {
            return Facts::new("blend", "model", "application/x-blender");
        }
        return Facts::new(kind, "archive", mime);
    }
    if bmp(head) {
        return Facts::new("bmp", "image", "image/bmp");
    }
    if is_text(head) {
        return text_facts(head, &ext);
    }
    match ext.as_str() {
        "tga" => Facts::new("tga", "image", "image/x-tga"),
        "stl" => Facts::new("stl", "model", "model/stl"),
        "fbx" => Facts::new("fbx", "model", "application/vnd.autodesk.fbx"),
        _ => Facts::new("binary", "other", "application/octet-stream"),
    }
}

/// The lower-case extension of the last path component, `""` if none.
pub(crate) fn extension(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// RIFF containers: WAVE audio and WebP images.
fn riff(head: &[u8]) -> Option<Facts> {
    if head.len() < 12 || &head[..4] != b"RIFF" {
        return None;
    }
    match &head[8..12] {
        b"WAVE" => Some(Facts::new("wav", "audio", "audio/wav")),
        b"WEBP" => Some(Facts::new("webp", "image", "image/webp")),
        _ => None,
    }
}

/// An MPEG audio layer I–III frame header (an MP3 without an ID3 tag): 11 sync bits,
/// a defined version and layer, a bitrate index other than 15 and a defined sample
/// rate.
fn mp3_frame(head: &[u8]) -> bool {
    let [a, b, c, ..] = head else { return false };
    *a == 0xff
        && b & 0xe0 == 0xe0
        && (b >> 3) & 3 != 1
        && (b >> 1) & 3 != 0
        && c >> 4 != 15
        && (c >> 2) & 3 != 3
}

/// A Windows bitmap: `BM`, then a file size, then two reserved u16 that are zero and
/// a pixel-data offset past the 14-byte header.
fn bmp(head: &[u8]) -> bool {
    if head.len() < 18 || !head.starts_with(b"BM") {
        return false;
    }
    let offset = u32::from_le_bytes([head[10], head[11], head[12], head[13]]);
    head[6..10] == [0, 0, 0, 0] && offset >= 26
}

/// UTF-8 without NUL bytes; a multi-byte character cut off at the end of a full
/// sniff window still counts.
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() == SNIFF_LEN,
    }
}

/// Text formats: by content where they have a signature, else by extension.
fn text_facts(head: &[u8], ext: &str) -> Facts {
    let trimmed = head.trim_ascii_start();
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if trimmed.starts_with(b"{")
        && (ext == "gltf" || (contains(b"\"asset\"") && contains(b"\"version\"")))
    {
        return Facts::new("gltf", "model", "model/gltf+json");
    }
    if head.starts_with(b"; FBX") {
        return Facts::new("fbx", "model", "application/vnd.autodesk.fbx");
    }
    if trimmed.starts_with(b"solid") && (ext == "stl" || contains(b"facet normal")) {
        return Facts::new("stl", "model", "model/stl");
    }
    match ext {
        "obj" => Facts::new("obj", "model", "model/obj"),
        "mtl" => Facts::new("mtl", "model", "model/mtl"),
        "fbx" => Facts::new("fbx", "model", "application/vnd.autodesk.fbx"),
        "stl" => Facts::new("stl", "model", "model/stl"),
        "gltf" => Facts::new("gltf", "model", "model/gltf+json"),
        _ => Facts::new("text", "text", "text/plain"),
    }
}
