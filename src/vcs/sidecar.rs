//! Engine sidecars: files that game engines keep next to an asset and that must be
//! removed or renamed together with it.
//!
//! Unity keeps `X.meta` next to every file *and* directory `X` (it holds the asset's
//! GUID; losing it breaks every reference to the asset). Godot keeps `X.import` next
//! to imported files. Unreal's `.uasset`/`.umap` carry their metadata inside and have
//! no sidecar. The rules are a small table so another engine is one line.

/// One kind of sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SidecarRule {
    /// The engine that writes it.
    pub engine: &'static str,
    /// Appended to the asset's path to name the sidecar.
    pub suffix: &'static str,
    /// Whether directories have one too.
    pub dirs: bool,
}

/// The sidecar rules gadn knows.
pub const SIDECAR_RULES: &[SidecarRule] = &[
    SidecarRule {
        engine: "unity",
        suffix: ".meta",
        dirs: true,
    },
    SidecarRule {
        engine: "godot",
        suffix: ".import",
        dirs: false,
    },
];

/// The sidecar paths that travel with the repository path `path` (a file, or a
/// directory when `is_dir`). A sidecar has no sidecar of its own.
pub fn sidecars_of(path: &str, is_dir: bool) -> Vec<String> {
    if path.is_empty() || asset_of(path).is_some() {
        return Vec::new();
    }
    SIDECAR_RULES
        .iter()
        .filter(|r| r.dirs || !is_dir)
        .map(|r| format!("{path}{}", r.suffix))
        .collect()
}

/// The asset a sidecar path belongs to (`a/hero.png.meta` → `a/hero.png`), `None`
/// when `path` is not a sidecar.
pub fn asset_of(path: &str) -> Option<String> {
    SIDECAR_RULES.iter().find_map(|r| {
        let asset = path.strip_suffix(r.suffix)?;
        let name = asset.rsplit('/').next().unwrap_or(asset);
        (!name.is_empty()).then(|| asset.to_string())
    })
}

/// The sidecar path of `path` moved to `to`, for a sidecar `sidecar` of `path`.
pub(crate) fn moved_sidecar(sidecar: &str, path: &str, to: &str) -> String {
    format!("{to}{}", &sidecar[path.len()..])
}

/// Hex digits of a Unity GUID (16 random bytes, lowercase hex).
pub(crate) const UNITY_GUID_LEN: usize = 32;

/// True when `path` is a Unity sidecar (`X.meta`).
pub(crate) fn is_unity_meta(path: &str) -> bool {
    path.ends_with(".meta") && asset_of(path).is_some()
}

/// The Unity `.meta` text `meta` with its top-level `guid:` value replaced by `guid`
/// (line ending and everything else kept); `None` when it has no top-level line
/// holding a Unity GUID (32 hex digits), so other files named `.meta` are left alone.
pub(crate) fn with_unity_guid(meta: &[u8], guid: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(meta.len());
    let mut done = false;
    for line in meta.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let value = body.strip_prefix(b"guid:").map(|v| v.trim_ascii());
        match value {
            Some(v)
                if !done
                    && v.len() == UNITY_GUID_LEN
                    && v.iter().all(|b| b.is_ascii_hexdigit()) =>
            {
                out.extend_from_slice(b"guid: ");
                out.extend_from_slice(guid.as_bytes());
                out.extend_from_slice(&line[body.len()..]);
                done = true;
            }
            _ => out.extend_from_slice(line),
        }
    }
    done.then_some(out)
}

/// A fresh Unity GUID: 16 bytes from the operating system's random source, as 32
/// lowercase hex digits (Unity's own form).
pub(crate) fn fresh_unity_guid() -> std::io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; UNITY_GUID_LEN / 2];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unity_guid_is_replaced_and_nothing_else() {
        let g = fresh_unity_guid().unwrap();
        assert_eq!(g.len(), UNITY_GUID_LEN);
        assert!(g
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(g, fresh_unity_guid().unwrap());
        let old =
            "fileFormatVersion: 2\r\nguid: 0123456789ABCDEF0123456789abcdef\r\nx:\n  guid: keep\n";
        let new = with_unity_guid(old.as_bytes(), &g).unwrap();
        assert_eq!(
            String::from_utf8(new).unwrap(),
            format!("fileFormatVersion: 2\r\nguid: {g}\r\nx:\n  guid: keep\n")
        );
        // No Unity GUID, nothing to rewrite.
        assert_eq!(with_unity_guid(b"guid: 0001\n", &g), None);
        assert_eq!(with_unity_guid(b"other: 1", &g), None);
        assert!(is_unity_meta("a/x.png.meta"));
        assert!(!is_unity_meta("a/x.png.import"));
        assert!(!is_unity_meta(".meta"));
    }

    #[test]
    fn files_have_unity_and_godot_sidecars() {
        assert_eq!(
            sidecars_of("art/hero.png", false),
            vec!["art/hero.png.meta", "art/hero.png.import"]
        );
        assert_eq!(
            sidecars_of("Assets/Textures", true),
            vec!["Assets/Textures.meta"]
        );
        assert!(sidecars_of("", true).is_empty());
    }

    #[test]
    fn sidecars_have_no_sidecars() {
        assert!(sidecars_of("art/hero.png.meta", false).is_empty());
        assert!(sidecars_of("art/hero.png.import", false).is_empty());
    }

    #[test]
    fn unreal_assets_have_none_beyond_the_generic_rules() {
        // Unreal keeps metadata inside the package; only the generic rules apply.
        let s = sidecars_of("Content/Maps/Level.umap", false);
        assert!(s.iter().all(|p| p.starts_with("Content/Maps/Level.umap.")));
        assert!(asset_of("Content/Hero.uasset").is_none());
    }

    #[test]
    fn reverse_lookup() {
        assert_eq!(
            asset_of("art/hero.png.meta").as_deref(),
            Some("art/hero.png")
        );
        assert_eq!(
            asset_of("Assets/Textures.meta").as_deref(),
            Some("Assets/Textures")
        );
        assert_eq!(asset_of("icon.svg.import").as_deref(), Some("icon.svg"));
        assert_eq!(asset_of("art/hero.png"), None);
        assert_eq!(asset_of(".meta"), None);
        assert_eq!(asset_of("art/.meta"), None);
        assert_eq!(
            moved_sidecar("a/x.png.meta", "a/x.png", "b/y.png"),
            "b/y.png.meta"
        );
    }
}
