//! `gadn config`: settings in two layers, the repository's over the user's global
//! file (`$GADN_HOME/config.toml`; see [`crate::store::config`]).
//!
//! Reads without a scope see the setting in force: the repository's value, else the
//! global one. Writes go to the repository unless [`Scope::Global`] is asked for, as
//! in git. Keys are checked before anything is written, so a typo is refused rather
//! than silently doing nothing.

use serde::Serialize;

use super::Error;
use crate::store::config::layered;
use crate::store::{GlobalConfig, Setting, SettingOrigin};
use crate::vcs::Repo;

/// Which layer a `config` command reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The repository's own settings.
    Repo,
    /// The user's global file.
    Global,
}

/// Keys gadn reads. Others are refused, except `preview.tool.TYPE` and keys that
/// start with `x-` (free for scripts).
pub const KNOWN_KEYS: &[&str] = &[
    "user.name",
    "user.email",
    "sync.default-peer",
    "preview.on-commit",
    "preview.levels",
    "preview.timeout",
    "preview.jobs",
    "preview.max-input",
];

/// Fails unless `key` is one gadn reads and `value` suits it.
pub fn check_setting(key: &str, value: &str) -> Result<(), Error> {
    if !KNOWN_KEYS.contains(&key) && !key.starts_with("preview.tool.") && !key.starts_with("x-") {
        return Err(Error::UnknownSetting {
            key: key.to_string(),
            known: format!("{}, preview.tool.TYPE", KNOWN_KEYS.join(", ")),
        });
    }
    #[cfg(feature = "preview")]
    if key.starts_with("preview.") {
        crate::preview::settings::Settings::default().apply(key, value)?;
    }
    #[cfg(not(feature = "preview"))]
    let _ = value;
    Ok(())
}

/// What [`config_get`] found: `value` is `None` when the key is unset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigValue {
    /// The key asked for.
    pub key: String,
    /// Its value in force (or in the scope asked for).
    pub value: Option<String>,
    /// Where the value came from; `None` when unset.
    pub origin: Option<SettingOrigin>,
}

/// The layers a `config` command sees: the repository (when run inside one) and
/// the global file.
#[derive(Debug, Clone, Copy)]
pub struct Layers<'a> {
    /// The repository, when there is one.
    pub repo: Option<&'a Repo>,
    /// The global file ([`GlobalConfig::default_path`] unless a caller names
    /// another); `None` when no home directory is known.
    pub global: Option<&'a std::path::Path>,
}

/// The value of `key`: in `scope`, or (`None`) the one in force.
pub fn config_get(at: Layers<'_>, scope: Option<Scope>, key: &str) -> Result<ConfigValue, Error> {
    let found = config_list(at, scope, false)?
        .into_iter()
        .find(|s| s.key == key);
    Ok(ConfigValue {
        key: key.to_string(),
        value: found.as_ref().map(|s| s.value.clone()),
        origin: found.map(|s| s.origin),
    })
}

/// Sets `key` to `value` in `scope`, after [`check_setting`].
pub fn config_set(at: Layers<'_>, scope: Scope, key: &str, value: &str) -> Result<(), Error> {
    check_setting(key, value)?;
    match scope {
        Scope::Repo => Ok(need_repo(at)?.store().db().config_set(key, value)?),
        Scope::Global => {
            let mut g = global(at)?;
            g.set(key, value)?;
            Ok(g.save()?)
        }
    }
}

/// Removes `key` from `scope`; fails with [`Error::SettingNotSet`] when it was not
/// set there.
pub fn config_unset(at: Layers<'_>, scope: Scope, key: &str) -> Result<(), Error> {
    let removed = match scope {
        Scope::Repo => need_repo(at)?.store().db().config_unset(key)?,
        Scope::Global => {
            let mut g = global(at)?;
            let removed = g.unset(key)?;
            if removed {
                g.save()?;
            }
            removed
        }
    };
    if removed {
        Ok(())
    } else {
        Err(Error::SettingNotSet(key.to_string()))
    }
}

/// The settings of `scope`, or (`None`) those in force, sorted by key. With
/// `overridden`, a global value the repository overrides is listed too, right after
/// the repository's (`config list --show-origin`).
pub fn config_list(
    at: Layers<'_>,
    scope: Option<Scope>,
    overridden: bool,
) -> Result<Vec<Setting>, Error> {
    let repo_rows = |repo: &Repo| -> Result<Vec<Setting>, Error> {
        let db = repo.store().db();
        let origin = SettingOrigin::Repo(db.path().to_path_buf());
        Ok(Setting::tagged(db.config_list()?, &origin))
    };
    let global_rows = || -> Result<Vec<Setting>, Error> {
        match at.global {
            Some(path) => Ok(GlobalConfig::load(path)?.settings()?),
            None => Ok(Vec::new()),
        }
    };
    match scope {
        Some(Scope::Global) => global_rows(),
        Some(Scope::Repo) => repo_rows(need_repo(at)?),
        None => {
            let repo = match at.repo {
                Some(repo) => repo_rows(repo)?,
                None => Vec::new(),
            };
            Ok(layered(repo, global_rows()?, overridden))
        }
    }
}

impl<'a> Layers<'a> {
    /// `repo` (when given) and the global file at `global` (usually
    /// [`GlobalConfig::default_path`]).
    pub fn of(repo: Option<&'a Repo>, global: Option<&'a std::path::Path>) -> Layers<'a> {
        Layers { repo, global }
    }
}

fn global(at: Layers<'_>) -> Result<GlobalConfig, Error> {
    let path = at.global.ok_or(Error::NoGlobalConfig)?;
    Ok(GlobalConfig::load(path)?)
}

fn need_repo<'a>(at: Layers<'a>) -> Result<&'a Repo, Error> {
    at.repo.ok_or(Error::NeedsRepository)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;

    #[test]
    fn global_settings_apply_until_the_repository_overrides_them() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("config.toml");
        let global = Layers::of(None, Some(&file));
        config_set(global, Scope::Global, "user.name", "Global Ada").unwrap();
        config_set(global, Scope::Global, "user.email", "g@example.org").unwrap();
        assert!(file.is_file());
        let d = tempfile::tempdir().unwrap();
        let repo = Repo::init(d.path(), ChunkParams::DEFAULT).unwrap();
        // The store reads the same file for the commands that use settings.
        repo.store()
            .use_global_config(GlobalConfig::load(&file).unwrap());
        let at = Layers::of(Some(&repo), Some(&file));
        let got = config_get(at, None, "user.name").unwrap();
        assert_eq!(got.value.as_deref(), Some("Global Ada"));
        assert!(matches!(got.origin, Some(SettingOrigin::Global(_))));
        config_set(at, Scope::Repo, "user.name", "Repo Ada").unwrap();
        let got = config_get(at, None, "user.name").unwrap();
        assert_eq!(got.value.as_deref(), Some("Repo Ada"));
        assert!(matches!(got.origin, Some(SettingOrigin::Repo(_))));
        // The global value is still there, and listed after the repository's.
        let g = config_get(at, Some(Scope::Global), "user.name").unwrap();
        assert_eq!(g.value.as_deref(), Some("Global Ada"));
        let shown: Vec<String> = config_list(at, None, true)
            .unwrap()
            .into_iter()
            .filter(|s| s.key == "user.name")
            .map(|s| s.value)
            .collect();
        assert_eq!(shown, ["Repo Ada", "Global Ada"]);
        let in_force = config_list(at, None, false).unwrap();
        assert_eq!(in_force.iter().filter(|s| s.key == "user.name").count(), 1);
        assert_eq!(
            config_list(at, Some(Scope::Repo), false)
                .unwrap()
                .iter()
                .filter(|s| s.key.starts_with("user."))
                .count(),
            1
        );
        // Commits take the identity from both layers.
        let who = crate::vcs::Identity::configured(repo.store()).unwrap();
        assert_eq!(
            (who.name.as_str(), who.email.as_str()),
            ("Repo Ada", "g@example.org")
        );
        config_unset(at, Scope::Global, "user.email").unwrap();
        let e = config_unset(at, Scope::Global, "user.email").unwrap_err();
        assert!(matches!(e, Error::SettingNotSet(_)), "{e}");
        config_unset(at, Scope::Repo, "user.name").unwrap();
        assert_eq!(config_get(at, None, "user.email").unwrap().value, None);
        assert_eq!(
            config_get(at, None, "user.name").unwrap().value.as_deref(),
            Some("Global Ada")
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_before_anything_is_written() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("config.toml");
        let at = Layers::of(None, Some(&file));
        let e = config_set(at, Scope::Global, "user.nmae", "x").unwrap_err();
        assert!(
            e.to_string().contains("user.name"),
            "lists the known keys: {e}"
        );
        // Values of preview settings are checked by the preview layer.
        #[cfg(feature = "preview")]
        assert!(config_set(at, Scope::Global, "preview.jobs", "many").is_err());
        assert!(!file.exists());
        config_set(at, Scope::Global, "x-team.channel", "#art").unwrap();
        let e = config_set(at, Scope::Repo, "user.name", "x").unwrap_err();
        assert!(matches!(e, Error::NeedsRepository), "{e}");
        let nowhere = Layers::of(None, None);
        let e = config_set(nowhere, Scope::Global, "user.name", "x").unwrap_err();
        assert!(matches!(e, Error::NoGlobalConfig), "{e}");
        assert!(config_list(nowhere, None, false).unwrap().is_empty());
    }
}
