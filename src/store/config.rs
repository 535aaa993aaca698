//! Settings in two layers: the user's global file, `$GADN_HOME/config.toml`, and the
//! repository's own rows (`config` table of `gadn.db`), which override it.
//!
//! The global file is TOML. A key `a.b` is the value `b` of table `[a]` (a key with
//! more dots, such as `preview.tool.png`, is the nested table `[preview.tool]`'s
//! `png`). Values are strings, integers, floats or booleans, all read as their text;
//! arrays and inline tables are refused with the key's name. Writes go through
//! `toml_edit`, so comments and layout a user wrote survive `gadn config set
//! --global`, and replace the file atomically (a temporary file renamed over it).
//!
//! Store-internal keys (chunking parameters, the repository id, format versions) are
//! read from the repository's rows only, never from this file: see
//! `Store::setting` (in `settings.rs`) for the user-facing lookup.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, Value};

use super::error::StoreError;

/// Name of the global settings file inside the gadn home directory.
pub const GLOBAL_FILE: &str = "config.toml";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "scope", content = "file")]
pub enum Origin {
    /// The repository's own settings (its state database).
    Repo(PathBuf),
    /// The user's global file.
    Global(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Repo(p) => write!(f, "repo:{}", p.display()),
            Origin::Global(p) => write!(f, "global:{}", p.display()),
        }
    }
}

/// One setting as found in one layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// The key, e.g. `user.name`.
    pub key: String,
    /// Its value, as text.
    pub value: String,
    /// The layer it is set in.
    pub origin: Origin,
}

impl Setting {
    /// The `(key, value)` rows of one layer, each tagged with `origin`.
    pub fn tagged(rows: Vec<(String, String)>, origin: &Origin) -> Vec<Setting> {
        rows.into_iter()
            .map(|(key, value)| Setting {
                key,
                value,
                origin: origin.clone(),
            })
            .collect()
    }
}

/// The two layers as one list sorted by key, the repository's value of a key before
/// the global one; with `overridden` false, only the value in force of each key.
pub fn layered(repo: Vec<Setting>, global: Vec<Setting>, overridden: bool) -> Vec<Setting> {
    let mut all = repo;
    all.extend(global);
    // Stable: for each key the repository's value stays first.
    all.sort_by(|a, b| a.key.cmp(&b.key));
    if !overridden {
        all.dedup_by(|later, first| later.key == first.key);
    }
    all
}

/// The user's global settings file, parsed (or empty when it does not exist).
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    path: PathBuf,
    doc: DocumentMut,
}

fn bad(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::GlobalConfig {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl GlobalConfig {
    /// The global file's path: `$GADN_HOME/config.toml` (see
    /// [`crate::identity::home_dir`]); `None` when no home directory is known.
    pub fn default_path() -> Option<PathBuf> {
        crate::identity::home_dir()
            .ok()
            .map(|h| h.join(GLOBAL_FILE))
    }

    /// The global file at its default place, empty when there is no home or no file.
    pub fn load_default() -> Result<GlobalConfig, StoreError> {
        match Self::default_path() {
            Some(p) => Self::load(&p),
            None => Ok(GlobalConfig {
                path: PathBuf::from(GLOBAL_FILE),
                doc: DocumentMut::new(),
            }),
        }
    }

    /// Reads and parses `path`; a missing file is an empty configuration. A file
    /// that is not valid TOML, or holds a value that is not a string, number or
    /// boolean, fails with the file, the line and the key.
    pub fn load(path: &Path) -> Result<GlobalConfig, StoreError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(bad(path, e.to_string())),
        };
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| bad(path, e.to_string().trim_end().to_string()))?;
        let cfg = GlobalConfig {
            path: path.to_path_buf(),
            doc,
        };
        cfg.entries()?;
        Ok(cfg)
    }

    /// The file this configuration is read from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every `(key, value)` of the file, sorted by key.
    pub fn entries(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        flatten(&self.path, "", self.doc.as_table(), &mut out)?;
        out.sort();
        Ok(out)
    }

    /// [`entries`](Self::entries) as settings from this file.
    pub fn settings(&self) -> Result<Vec<Setting>, StoreError> {
        Ok(Setting::tagged(
            self.entries()?,
            &Origin::Global(self.path.clone()),
        ))
    }

    /// The value of `key`, when the file sets it.
    pub fn get(&self, key: &str) -> Option<String> {
        let mut parts = key.split('.');
        let first = parts.next()?;
        let mut item = self.doc.get(first)?;
        for p in parts {
            item = item.get(p)?;
        }
        item.as_value().map(value_text)
    }

    /// Sets `key` to `value` (kept as a TOML string) in memory; [`save`](Self::save)
    /// writes it. Fails when a part of the key is already a plain value (`user` set
    /// while `user.name` is asked for).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let (path, last) = split_key(&self.path, key)?;
        let mut table = self.doc.as_table_mut();
        for part in path {
            let entry = table.entry(part).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            table = entry.as_table_mut().ok_or_else(|| {
                bad(
                    &self.path,
                    format!("cannot set {key}: {part} holds a value, not a table"),
                )
            })?;
        }
        table.insert(last, toml_edit::value(value));
        Ok(())
    }

    /// Removes `key`; true if it was set. Tables left empty are removed too.
    pub fn unset(&mut self, key: &str) -> Result<bool, StoreError> {
        let (path, last) = split_key(&self.path, key)?;
        Ok(remove(self.doc.as_table_mut(), &path, last))
    }

    /// Writes the file: a temporary file beside it, synced, then renamed over it, so
    /// a reader sees the old file or the new one. Creates the home directory when
    /// missing.
    pub fn save(&self) -> Result<(), StoreError> {
        let io = |e: std::io::Error| bad(&self.path, e.to_string());
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("toml.tmp");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(self.doc.to_string().as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// The text of a scalar: strings unquoted, other values as TOML writes them.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        other => other.clone().decorated("", "").to_string(),
    }
}

fn flatten(
    path: &Path,
    prefix: &str,
    table: &Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), StoreError> {
    for (k, item) in table.iter() {
        let key = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        match item {
            Item::Table(t) => flatten(path, &key, t, out)?,
            Item::Value(Value::InlineTable(t)) => {
                let t = t.clone().into_table();
                flatten(path, &key, &t, out)?;
            }
            Item::Value(Value::Array(_)) | Item::ArrayOfTables(_) => {
                return Err(bad(
                    path,
                    format!("{key}: an array; settings are strings, numbers or booleans"),
                ))
            }
            Item::Value(v) => out.push((key, value_text(v))),
            Item::None => {}
        }
    }
    Ok(())
}

fn split_key<'k>(path: &Path, key: &'k str) -> Result<(Vec<&'k str>, &'k str), StoreError> {
    let parts: Vec<&str> = key.split('.').collect();
    let well_formed = parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !well_formed {
        return Err(bad(
            path,
            format!("'{key}' is not a key: use SECTION.NAME, with letters, digits, - and _"),
        ));
    }
    let (last, path) = parts.split_last().expect("two parts at least");
    Ok((path.to_vec(), last))
}

fn remove(table: &mut Table, path: &[&str], last: &str) -> bool {
    match path.split_first() {
        None => table.remove(last).is_some(),
        Some((first, rest)) => {
            let Some(sub) = table.get_mut(first).and_then(Item::as_table_mut) else {
                return false;
            };
            let removed = remove(sub, rest, last);
            if removed && sub.is_empty() {
                table.remove(first);
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(GLOBAL_FILE);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn tables_flatten_to_dotted_keys_and_scalars_read_as_text() {
        let (_d, p) = file(
            "# mine\n[user]\nname = \"Ada\"\nemail = 'ada@example.org'\n\n[preview]\njobs = 4\ntool.png = \"convert\"\n[x]\nflag = true\n",
        );
        let g = GlobalConfig::load(&p).unwrap();
        assert_eq!(
            g.entries().unwrap(),
            vec![
                ("preview.jobs".into(), "4".into()),
                ("preview.tool.png".into(), "convert".into()),
                ("user.email".into(), "ada@example.org".into()),
                ("user.name".into(), "Ada".into()),
                ("x.flag".into(), "true".into()),
            ]
        );
        assert_eq!(g.get("preview.tool.png").as_deref(), Some("convert"));
        assert_eq!(g.get("user.nope"), None);
        assert_eq!(g.get("user"), None, "a table is not a value");
    }

    #[test]
    fn a_missing_file_is_empty_and_set_creates_it_keeping_comments_on_rewrite() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("home").join(GLOBAL_FILE);
        let mut g = GlobalConfig::load(&p).unwrap();
        assert!(g.entries().unwrap().is_empty());
        g.set("user.name", "Ada").unwrap();
        g.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("# my settings\n{text}")).unwrap();
        let mut g = GlobalConfig::load(&p).unwrap();
        g.set("user.email", "ada@example.org").unwrap();
        g.set("preview.tool.png", "convert").unwrap();
        g.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("# my settings\n"), "{text}");
        let g = GlobalConfig::load(&p).unwrap();
        assert_eq!(g.get("user.email").as_deref(), Some("ada@example.org"));
        assert_eq!(g.get("preview.tool.png").as_deref(), Some("convert"));
        assert!(!p.with_extension("toml.tmp").exists());
    }

    #[test]
    fn unset_removes_the_key_and_tables_it_leaves_empty() {
        let (_d, p) = file("[user]\nname = \"Ada\"\n[preview.tool]\npng = \"x\"\n");
        let mut g = GlobalConfig::load(&p).unwrap();
        assert!(g.unset("preview.tool.png").unwrap());
        assert!(!g.unset("preview.tool.png").unwrap());
        assert!(!g.unset("nope.key").unwrap());
        assert!(!g.unset("user.name.deeper").unwrap());
        assert_eq!(
            g.entries().unwrap(),
            vec![("user.name".into(), "Ada".into())]
        );
        g.save().unwrap();
        assert!(!std::fs::read_to_string(&p).unwrap().contains("preview"));
    }

    #[test]
    fn bad_files_and_keys_are_refused_with_the_file_and_the_key() {
        let (_d, p) = file("[user\nname = 1\n");
        let e = GlobalConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains(GLOBAL_FILE) && e.contains("line 1"), "{e}");
        let (_d, p) = file("[user]\nname = [\"a\", \"b\"]\n");
        let e = GlobalConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("user.name") && e.contains("array"), "{e}");
        let (_d, p) = file("user = \"flat\"\n");
        let mut g = GlobalConfig::load(&p).unwrap();
        let e = g.set("user.name", "Ada").unwrap_err().to_string();
        assert!(e.contains("user holds a value"), "{e}");
        for key in ["user", "user..name", ".user", "user.na me", "üser.name"] {
            let e = g.set(key, "v").unwrap_err().to_string();
            assert!(e.contains("is not a key"), "{key}: {e}");
            assert!(g.unset(key).is_err(), "{key}");
        }
        let d = tempfile::tempdir().unwrap();
        let e = GlobalConfig::load(d.path()).unwrap_err().to_string();
        assert!(
            e.contains(&d.path().display().to_string()),
            "a directory: {e}"
        );
    }
}
