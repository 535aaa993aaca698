//! [`Store::setting`]: the user-facing settings of a store, its own rows over the
//! user's global file ([`super::config`]).

use super::config::{layered, GlobalConfig, Origin, Setting};
use super::error::StoreError;
use super::Store;

impl Store {
    /// The user-facing setting `key`: the repository's own value, else the global
    /// file's ([`GlobalConfig::load_default`], read once per handle). A global file
    /// that cannot be parsed fails here, naming the file.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        if let Some(v) = self.db.config_get(key)? {
            return Ok(Some(v));
        }
        Ok(self.global_config()?.get(key))
    }

    /// Every setting in force, sorted by key: the repository's rows and the global
    /// file's keys the repository does not set.
    pub fn settings(&self) -> Result<Vec<Setting>, StoreError> {
        self.layers(false)
    }

    /// Every setting of both layers, overridden ones included, sorted by key, the
    /// repository's value before the global one (`config list --show-origin`).
    pub fn settings_by_layer(&self) -> Result<Vec<Setting>, StoreError> {
        self.layers(true)
    }

    fn layers(&self, overridden: bool) -> Result<Vec<Setting>, StoreError> {
        let repo = Setting::tagged(
            self.db.config_list()?,
            &Origin::Repo(self.db.path().to_path_buf()),
        );
        Ok(layered(repo, self.global_config()?.settings()?, overridden))
    }

    /// Makes this handle read `global` as the user's global file, instead of the one
    /// at [`GlobalConfig::default_path`], unless a setting was already read.
    pub fn use_global_config(&self, global: GlobalConfig) {
        let _ = self.global.set(global);
    }

    fn global_config(&self) -> Result<&GlobalConfig, StoreError> {
        if let Some(g) = self.global.get() {
            return Ok(g);
        }
        let loaded = GlobalConfig::load_default()?;
        Ok(self.global.get_or_init(|| loaded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(super::super::config::GLOBAL_FILE);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn the_repository_overrides_the_global_file_and_both_layers_are_listed() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::init(
            &d.path().join(".gadn"),
            crate::store::chunker::ChunkParams::DEFAULT,
        )
        .unwrap();
        let (_g, p) = file("[user]\nname = \"Global Ada\"\nemail = \"g@example.org\"\n");
        store.use_global_config(GlobalConfig::load(&p).unwrap());
        store.db().config_set("user.name", "Repo Ada").unwrap();
        assert_eq!(
            store.setting("user.name").unwrap().as_deref(),
            Some("Repo Ada")
        );
        assert_eq!(
            store.setting("user.email").unwrap().as_deref(),
            Some("g@example.org")
        );
        assert_eq!(store.setting("user.none").unwrap(), None);
        let effective: Vec<(String, String)> = store
            .settings()
            .unwrap()
            .into_iter()
            .filter(|s| s.key.starts_with("user."))
            .map(|s| (s.key, s.value))
            .collect();
        assert_eq!(
            effective,
            vec![
                ("user.email".into(), "g@example.org".into()),
                ("user.name".into(), "Repo Ada".into())
            ]
        );
        let layers: Vec<String> = store
            .settings_by_layer()
            .unwrap()
            .into_iter()
            .filter(|s| s.key == "user.name")
            .map(|s| format!("{}={}", s.origin, s.value))
            .collect();
        assert_eq!(layers.len(), 2);
        assert!(
            layers[0].starts_with("repo:") && layers[0].ends_with("=Repo Ada"),
            "{layers:?}"
        );
        assert!(layers[1].starts_with("global:") && layers[1].ends_with("=Global Ada"));
    }
}
