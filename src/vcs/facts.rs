//! Facts about a file's content recorded at ingest in the metadata index (the `facts`
//! table), keyed by file id. Detection itself ([`detect`], [`SNIFF_LEN`]) is a store
//! level fact and lives in [`crate::store::sniff`].

use super::{Repo, VcsError};
pub use crate::store::sniff::{detect, Facts, SNIFF_LEN};
use crate::store::{ObjectId, ObjectKind, Store};

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
    use crate::store::sniff::extension;
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
