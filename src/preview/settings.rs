//! Preview settings, read from the repository's config (`gadn config set KEY VALUE`).
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `preview.on-commit` (env `GADN_PREVIEW_ON_COMMIT` overrides) | `background` (a detached `gadn preview --all` after each commit), `wait` (generate before `commit` returns), `off` | `background` |
//! | `preview.levels` | thumbnail levels, comma-separated px | `64,256,1024` |
//! | `preview.timeout` | seconds one generation may take | `60` |
//! | `preview.jobs` | generations run in parallel | cores |
//! | `preview.max-input` | largest file decoded in memory, bytes | `1073741824` |
//! | `preview.tool.TYPE` | external command for content type `TYPE` (see [`super::external`]) | none |

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Ctx, PreviewError};
use crate::store::Store;

/// When previews are made for the files of a new commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCommit {
    /// A detached background process makes them after `commit` returns.
    Background,
    /// `commit` makes them before it returns.
    Wait,
    /// Only on demand (`gadn preview`).
    Off,
}

/// Preview settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// When previews are made for committed files.
    pub on_commit: OnCommit,
    /// Thumbnail levels, ascending, px.
    pub levels: Vec<u32>,
    /// Time limit of one generation.
    pub timeout: Duration,
    /// Generations in parallel (≥ 1).
    pub jobs: usize,
    /// Largest file decoded in memory, bytes.
    pub max_input_bytes: u64,
    /// External command templates by content type.
    pub tools: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            on_commit: OnCommit::Background,
            levels: super::thumbs::LEVELS.to_vec(),
            timeout: Ctx::DEFAULT_TIMEOUT,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_input_bytes: Ctx::default().max_input_bytes,
            tools: BTreeMap::new(),
        }
    }
}

/// Environment variable overriding `preview.on-commit` (same values), e.g. for
/// scripts and test suites that commit many times and want no background work.
pub const ON_COMMIT_ENV: &str = "GADN_PREVIEW_ON_COMMIT";

/// Largest thumbnail level accepted, px.
pub const MAX_LEVEL: u32 = 4096;

fn bad(key: &str, value: &str, why: &str) -> PreviewError {
    PreviewError::Config {
        key: key.to_string(),
        value: value.to_string(),
        reason: why.to_string(),
    }
}

impl Settings {
    /// Reads the settings from `store`'s settings (`preview.*` keys, the repository's
    /// over the global file's: [`Store::settings`]; the environment's
    /// `GADN_PREVIEW_ON_COMMIT` overrides `preview.on-commit`); a malformed value is
    /// an error naming the key.
    pub fn load(store: &Store) -> Result<Settings, PreviewError> {
        let mut s = Settings::default();
        // The repository's settings over the user's global file.
        for setting in store.settings()? {
            s.apply(&setting.key, &setting.value)?;
        }
        if let Ok(v) = std::env::var(ON_COMMIT_ENV) {
            if !v.is_empty() {
                s.apply("preview.on-commit", &v)?;
            }
        }
        Ok(s)
    }

    /// Sets the one setting `key` (a `preview.*` config key) from `value`, or says
    /// why the value is malformed; keys outside `preview.` are ignored. `gadn config
    /// set` checks values with this before storing them.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<(), PreviewError> {
        let v = value;
        match key {
            "preview.on-commit" => {
                self.on_commit = match v {
                    "background" => OnCommit::Background,
                    "wait" => OnCommit::Wait,
                    "off" => OnCommit::Off,
                    _ => return Err(bad(key, v, "expected background, wait or off")),
                }
            }
            "preview.levels" => {
                self.levels = parse_levels(v).ok_or_else(|| {
                    bad(
                        key,
                        v,
                        &format!("expected comma-separated sizes from 1 to {MAX_LEVEL} px"),
                    )
                })?
            }
            "preview.timeout" => {
                let secs: u64 = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0 && n <= 24 * 3600)
                    .ok_or_else(|| bad(key, v, "expected seconds, 1 to 86400"))?;
                self.timeout = Duration::from_secs(secs);
            }
            "preview.jobs" => {
                self.jobs = v
                    .parse()
                    .ok()
                    .filter(|&n| (1..=256).contains(&n))
                    .ok_or_else(|| bad(key, v, "expected 1 to 256"))?
            }
            "preview.max-input" => {
                self.max_input_bytes = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(key, v, "expected a byte count"))?
            }
            _ => {
                if let Some(kind) = key.strip_prefix("preview.tool.") {
                    super::external::Template::parse(v).map_err(|e| bad(key, v, &e))?;
                    self.tools.insert(kind.to_string(), v.to_string());
                }
            }
        }
        Ok(())
    }

    /// A generation context with these limits, its deadline starting now.
    pub fn ctx(&self) -> Ctx {
        Ctx {
            levels: self.levels.clone(),
            max_input_bytes: self.max_input_bytes,
            ..Ctx::with_timeout(self.timeout)
        }
    }
}

/// `64,256,1024` → ascending, deduplicated levels; `None` when malformed.
pub fn parse_levels(text: &str) -> Option<Vec<u32>> {
    let mut levels = text
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| (1..=MAX_LEVEL).contains(&n))
        })
        .collect::<Option<Vec<u32>>>()?;
    levels.sort_unstable();
    levels.dedup();
    Some(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(parse_levels("256, 64,64"), Some(vec![64, 256]));
        assert_eq!(parse_levels("0"), None);
        assert_eq!(parse_levels("9000"), None);
        assert_eq!(parse_levels("a"), None);
        assert_eq!(parse_levels(""), None);
    }

    #[test]
    fn settings_load_from_config_and_refuse_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(&dir.path().join("s"), Default::default()).unwrap();
        let s = Settings::load(&store).unwrap();
        assert_eq!(s.on_commit, OnCommit::Background);
        assert_eq!(s.levels, vec![64, 256, 1024]);
        let db = store.db();
        db.config_set("preview.on-commit", "wait").unwrap();
        db.config_set("preview.levels", "32,128").unwrap();
        db.config_set("preview.timeout", "5").unwrap();
        db.config_set("preview.jobs", "3").unwrap();
        db.config_set("preview.max-input", "1000").unwrap();
        db.config_set("preview.tool.blend", "blender -b {input} -o {output}")
            .unwrap();
        let s = Settings::load(&store).unwrap();
        assert_eq!(s.on_commit, OnCommit::Wait);
        assert_eq!(s.levels, vec![32, 128]);
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!((s.jobs, s.max_input_bytes), (3, 1000));
        assert_eq!(s.tools.len(), 1);
        let ctx = s.ctx();
        assert_eq!(
            (ctx.levels.clone(), ctx.max_input_bytes),
            (vec![32, 128], 1000)
        );
        for (key, value) in [
            ("preview.on-commit", "sometimes"),
            ("preview.levels", "x"),
            ("preview.timeout", "0"),
            ("preview.jobs", "0"),
            ("preview.max-input", "-1"),
            ("preview.tool.png", "convert {input}"),
        ] {
            let store2 = Store::open(&dir.path().join("s")).unwrap();
            store2.db().config_set(key, value).unwrap();
            let e = Settings::load(&store2).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
            store2.db().config_unset(key).unwrap();
        }
        db.config_set("preview.on-commit", "off").unwrap();
        assert_eq!(Settings::load(&store).unwrap().on_commit, OnCommit::Off);
    }
}
