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

#[cfg(test)]
mod tests {
    use super::*;

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
