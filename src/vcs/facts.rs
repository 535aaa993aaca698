//! Cheap facts about a file's content — its type, detected from the first bytes —
//! recorded at ingest in the metadata index (the `facts` table), keyed by file id.
//!
//! Detection looks at magic bytes first; the file name decides only where the
//! content says nothing definite (plain-text formats such as OBJ, binary STL, TGA,
//! and compressed `.blend` files). It never reads more than [`SNIFF_LEN`] bytes, so
//! recording facts at ingest costs a slice look-up per file.

use super::{Repo, VcsError};
use crate::store::{ObjectId, ObjectKind, Store};

/// Bytes of a file's head that type detection looks at.
pub const SNIFF_LEN: usize = 4096;

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
    fn new(kind: &str, class: &str, mime: &str) -> Facts {
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
fn extension(name: &str) -> String {
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

/// The first [`SNIFF_LEN`] bytes (fewer for a shorter file) of the stored file object
/// `id`, read chunk by chunk: only the chunks covering the head are fetched.
pub(crate) fn stored_head(store: &Store, id: &ObjectId) -> Result<Vec<u8>, VcsError> {
    let file = store.file(id)?;
    let mut head = Vec::with_capacity(SNIFF_LEN.min(file.size as usize));
    for c in store.file_chunks(id, &file) {
        if head.len() >= SNIFF_LEN {
            break;
        }
        let data = store.read_kind(&c?.id, ObjectKind::Chunk)?;
        let take = data.len().min(SNIFF_LEN - head.len());
        head.extend_from_slice(&data[..take]);
    }
    Ok(head)
}

impl Repo {
    /// The facts of the file object `id` at `path`: from the metadata index, or
    /// detected from the stored content's head (and recorded) when missing.
    pub fn facts_of(&self, id: &ObjectId, path: &str) -> Result<Facts, VcsError> {
        if let Some(row) = self.store().db().facts_get(id)? {
            return Ok(Facts::from_row(row));
        }
        let facts = detect(&stored_head(self.store(), id)?, path);
        // The table is a cache of a pure function of the content: failing to record
        // (say, a writer holding the database past the busy timeout) loses nothing,
        // the next call detects again.
        let _ = self.store().db().facts_put(&[(*id, facts.to_row())]);
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcs::testutil::{commit_all, put, repo};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
        )
        .unwrap()
    }

    /// Incompressible bytes, so the file spans several chunks.
    fn noise(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        let mut ctr = 0u64;
        while out.len() < len {
            out.extend_from_slice(blake3::hash(&ctr.to_le_bytes()).as_bytes());
            ctr += 1;
        }
        out.truncate(len);
        out
    }

    fn kind(head: &[u8], name: &str) -> String {
        detect(head, name).kind
    }

    #[test]
    fn fixtures_are_recognised() {
        let want = [
            ("texture.png", "png", "image", "image/png"),
            ("corrupt-truncated.png", "png", "image", "image/png"),
            ("texture.jpg", "jpeg", "image", "image/jpeg"),
            ("texture_small.tga", "tga", "image", "image/x-tga"),
            ("tone.wav", "wav", "audio", "audio/wav"),
            ("cube.gltf", "gltf", "model", "model/gltf+json"),
            ("cube.obj", "obj", "model", "model/obj"),
            ("cube.mtl", "mtl", "model", "model/mtl"),
            ("texture.png.meta", "text", "text", "text/plain"),
            ("tone.wav.import", "text", "text", "text/plain"),
            ("README.md", "text", "text", "text/plain"),
        ];
        for (name, k, c, m) in want {
            let data = fixture(name);
            let f = detect(&data[..data.len().min(SNIFF_LEN)], name);
            assert_eq!(f, Facts::new(k, c, m), "{name}");
        }
        // The whole file gives the same answer as its head.
        let png = fixture("texture.png");
        assert_eq!(detect(&png, "x"), detect(&png[..SNIFF_LEN], "x"));
        // The gltf is recognised by content alone, the OBJ only by its name.
        assert_eq!(kind(&fixture("cube.gltf"), "cube.json"), "gltf");
        assert_eq!(kind(&fixture("cube.obj"), "cube.txt"), "text");
        // TGA has no magic: without the extension it is unknown binary.
        assert_eq!(kind(&fixture("texture_small.tga"), "t.bin"), "binary");
    }

    #[test]
    fn magic_formats() {
        let riff = |tag: &[u8]| [b"RIFF\x24\0\0\0".as_slice(), tag, b"fmt "].concat();
        let cases: Vec<(Vec<u8>, &str, &str)> = vec![
            (b"GIF89a\x01\0\x01\0\x80\0\0".to_vec(), "gif", "image"),
            (b"GIF87a\x01\0\x01\0".to_vec(), "gif", "image"),
            (riff(b"WEBP"), "webp", "image"),
            (riff(b"WAVE"), "wav", "audio"),
            (
                [
                    b"BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".as_slice(),
                    &[0; 8],
                ]
                .concat(),
                "bmp",
                "image",
            ),
            (b"DDS \x7c\0\0\0\x07\x10\x08\0".to_vec(), "dds", "image"),
            (b"8BPS\0\x01\0\0\0\0\0\0".to_vec(), "psd", "image"),
            (
                b"\x76\x2f\x31\x01\x02\0\0\0channels\0".to_vec(),
                "exr",
                "image",
            ),
            (
                b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n".to_vec(),
                "hdr",
                "image",
            ),
            (
                b"#?RGBE\nFORMAT=32-bit_rle_rgbe\n\n".to_vec(),
                "hdr",
                "image",
            ),
            (
                b"\xabKTX 20\xbb\r\n\x1a\n\0\0\0\0".to_vec(),
                "ktx2",
                "image",
            ),
            (b"OggS\0\x02\0\0\0\0".to_vec(), "ogg", "audio"),
            (b"ID3\x04\0\0\0\0\0\x0a".to_vec(), "mp3", "audio"),
            // MPEG-1 layer III, 128 kbit/s, 44.1 kHz.
            (b"\xff\xfb\x90\x64\0\0\0\0".to_vec(), "mp3", "audio"),
            (b"fLaC\0\0\0\x22".to_vec(), "flac", "audio"),
            (b"glTF\x02\0\0\0\x40\0\0\0".to_vec(), "glb", "model"),
            (
                b"Kaydara FBX Binary  \0\x1a\0\xe8\x1c\0\0".to_vec(),
                "fbx",
                "model",
            ),
            (b"; FBX 7.4.0 project file\n".to_vec(), "fbx", "model"),
            (b"BLENDER-v300REND".to_vec(), "blend", "model"),
            (
                b"ply\nformat ascii 1.0\nelement vertex 8\n".to_vec(),
                "ply",
                "model",
            ),
            (
                b"ply\r\nformat binary_little_endian 1.0\r\n".to_vec(),
                "ply",
                "model",
            ),
            (
                b"solid cube\n facet normal 0 0 1\n  outer loop\n".to_vec(),
                "stl",
                "model",
            ),
            (b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(), "zip", "archive"),
            (b"PK\x05\x06\0\0\0\0".to_vec(), "zip", "archive"),
            (b"\x1f\x8b\x08\0\0\0\0\0\0\x03".to_vec(), "gzip", "archive"),
            (
                b"\x28\xb5\x2f\xfd\x24\x05\x29\0".to_vec(),
                "zstd",
                "archive",
            ),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), "pdf", "document"),
            (b"\x7fELF\x02\x01\x01\0".to_vec(), "elf", "executable"),
            (b"hello\nworld\n".to_vec(), "text", "text"),
            (b"\0\x01\x02\x03\xfe".to_vec(), "binary", "other"),
            (Vec::new(), "empty", "other"),
        ];
        for (bytes, k, c) in cases {
            let f = detect(&bytes, "file.dat");
            assert_eq!((f.kind.as_str(), f.class.as_str()), (k, c), "{bytes:?}");
            assert!(f.mime.contains('/'), "{f:?}");
        }
    }

    #[test]
    fn names_decide_only_when_content_is_silent() {
        let gz = b"\x1f\x8b\x08\0\0\0\0\0\0\x03";
        let zst = b"\x28\xb5\x2f\xfd\x24\x05";
        assert_eq!(kind(gz, "scene.blend"), "blend");
        assert_eq!(kind(zst, "dir/Scene.BLEND"), "blend");
        assert_eq!(kind(gz, "scene.tar.gz"), "gzip");
        // Binary STL: an 80-byte header (which may even start with "solid") and a
        // triangle count, then records with NUL bytes.
        let mut stl = b"solid exported by a tool that lies".to_vec();
        stl.resize(84, 0);
        stl[80] = 12;
        assert_eq!(kind(&stl, "part.stl"), "stl");
        assert_eq!(kind(&stl, "part.bin"), "binary");
        assert_eq!(kind(b"solid x\nendsolid x\n", "p.stl"), "stl");
        assert_eq!(kind(b"solid work, no facets", "notes.txt"), "text");
        assert_eq!(kind(b"\0\0\x02", "a.fbx"), "fbx");
        assert_eq!(kind(b"v 0 0 0\n", "a.fbx"), "fbx");
        assert_eq!(kind(b"solid\n", "m.stl"), "stl");
        assert_eq!(kind(b"[1, 2]", "x.gltf"), "gltf");
        assert_eq!(kind(b"{\"a\": 1}", "x.json"), "text");
        // Extensions: case, dots in directories, dot-files.
        assert_eq!(extension("a.b/c"), "");
        assert_eq!(extension(".obj"), "");
        assert_eq!(extension("x/Y.OBJ"), "obj");
        // Magic wins over a misleading name.
        assert_eq!(kind(b"\x89PNG\r\n\x1a\n", "fake.tga"), "png");
    }

    #[test]
    fn near_misses_are_not_recognised() {
        // A RIFF of another kind, a short RIFF, a BM that is not a bitmap.
        assert_eq!(kind(b"RIFF\0\0\0\0AVI LIST", "a"), "binary");
        assert_eq!(kind(b"RIFF", "a"), "text");
        assert_eq!(kind(b"BM not a bitmap at all", "a"), "text");
        assert_eq!(
            kind(b"BM\x10\0\0\0\x01\0\0\0\x36\0\0\0\0\0\0\0", "a"),
            "binary"
        );
        // Frame-sync look-alikes: reserved version, reserved layer, bad bitrate, bad rate.
        for b in [
            [0xff, 0xeb, 0x90],
            [0xff, 0xf9, 0x90],
            [0xff, 0xfb, 0xf0],
            [0xff, 0xfb, 0x9c],
        ] {
            assert_eq!(kind(&b, "a"), "binary", "{b:x?}");
        }
        assert_eq!(kind(&[0xff], "a"), "binary");
    }

    #[test]
    fn text_cut_inside_a_character_at_the_window_end() {
        let mut t = vec![b'a'; SNIFF_LEN - 1];
        t.extend_from_slice("é".as_bytes());
        assert_eq!(kind(&t, "a"), "text", "the window ends inside 'é'");
        assert_eq!(kind(&t[..SNIFF_LEN], "a"), "text");
        // A short file ending in half a character is not text.
        assert_eq!(kind(&"é".as_bytes()[..1], "a"), "binary");
        assert_eq!(kind(b"a\0b", "a.obj"), "binary");
    }

    #[test]
    fn facts_come_from_the_table_or_the_stored_head() {
        let (_d, mut repo) = repo();
        put(&repo, "t.png", &fixture("texture.png"));
        put(&repo, "m.obj", &fixture("cube.obj"));
        commit_all(&mut repo, "c");
        let index = repo.store().db().load_index().unwrap();
        let png = index.iter().find(|e| e.path == "t.png").unwrap().file_id;
        // Recorded at ingest.
        assert_eq!(
            repo.store().db().facts_get(&png).unwrap(),
            Some(Facts::new("png", "image", "image/png").to_row())
        );
        assert_eq!(repo.facts_of(&png, "t.png").unwrap().kind, "png");
        // A miss (content stored without going through `add`) is detected from the
        // stored head — a few chunks, not the whole file — and then recorded.
        let big = [b"glTF\x02\0\0\0".as_slice(), &noise(300_000)].concat();
        let id = {
            let (lock, _) = repo.store_mut().lock().unwrap();
            let mut w = repo.store_mut().writer(&lock);
            let ing = w.ingest(&big[..]).unwrap();
            w.finish().unwrap();
            ing.id
        };
        assert_eq!(repo.store().db().facts_get(&id).unwrap(), None);
        let head = stored_head(repo.store(), &id).unwrap();
        assert_eq!(head, big[..SNIFF_LEN]);
        assert_eq!(repo.facts_of(&id, "big.bin").unwrap().kind, "glb");
        assert_eq!(
            repo.store().db().facts_get(&id).unwrap(),
            Some(Facts::new("glb", "model", "model/gltf-binary").to_row())
        );
        // Unknown id: a store error, not a guess.
        assert!(repo.facts_of(&ObjectId::of_chunk(b"nothing"), "x").is_err());
    }
}
