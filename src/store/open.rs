//! [`Store`]: a `.gadn` directory opened for use (`store-format.md` § *Directory layout*).

use std::path::{Path, PathBuf};

use super::chunker::ChunkParams;
use super::db::Db;
use super::error::StoreError;
use super::lock::StoreLock;
use super::pack::{PackSet, RecoveryReport};

/// Name of the store directory inside a working tree.
pub const STORE_DIR: &str = ".gadn";
/// SQLite database file inside the store directory.
pub const DB_FILE: &str = "gadn.db";
/// Pack directory inside the store directory.
pub const PACK_DIR: &str = "packs";
/// Store format version recorded in the config at init.
pub const STORE_VERSION: u32 = 1;
/// Default zstd level for chunks and objects.
pub const DEFAULT_COMPRESSION_LEVEL: i32 = 1;

/// Config keys (`store-format.md` § *Config*).
pub mod keys {
    /// Store format version.
    pub const VERSION: &str = "store.version";
    /// Random id of the repository, shared by every clone.
    pub const REPO_ID: &str = "store.repository-id";
    /// Chunker minimum size, bytes.
    pub const CHUNK_MIN: &str = "chunk.min";
    /// Chunker average size, bytes.
    pub const CHUNK_AVG: &str = "chunk.avg";
    /// Chunker maximum size, bytes.
    pub const CHUNK_MAX: &str = "chunk.max";
    /// zstd level.
    pub const COMPRESSION: &str = "core.compression-level";
}

/// An open store: the SQLite state, the pack set and the fixed chunking parameters.
///
/// Reading needs no lock. Writing needs a [`StoreLock`] from [`Store::lock`], which also
/// recovers packs left unsealed by a crashed writer.
pub struct Store {
    dir: PathBuf,
    pub(crate) db: Db,
    pub(crate) packs: PackSet,
    params: ChunkParams,
    level: i32,
    /// The user's global settings, read at the first [`Store::setting`].
    pub(crate) global: std::sync::OnceLock<super::config::GlobalConfig>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

fn random_hex16() -> String {
    let mut buf = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .is_ok();
    if !ok {
        let mut h = blake3::Hasher::new();
        h.update(&std::process::id().to_le_bytes());
        h.update(format!("{:?}", std::time::SystemTime::now()).as_bytes());
        buf.copy_from_slice(&h.finalize().as_bytes()[..16]);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Creates a new store in `dir` (the `.gadn` directory itself) with these chunking
    /// parameters, which are fixed for the life of the repository.
    pub fn init(dir: &Path, params: ChunkParams) -> Result<Store, StoreError> {
        if dir.join(DB_FILE).exists() {
            return Err(StoreError::AlreadyExists {
                path: dir.to_path_buf(),
            });
        }
        std::fs::create_dir_all(dir.join(PACK_DIR)).map_err(StoreError::io(dir))?;
        let _lock = StoreLock::acquire(dir, StoreLock::configured_wait())?;
        let db = Db::open(&dir.join(DB_FILE))?;
        let settings = [
            (keys::VERSION, STORE_VERSION.to_string()),
            (keys::REPO_ID, random_hex16()),
            (keys::CHUNK_MIN, params.min.to_string()),
            (keys::CHUNK_AVG, params.avg.to_string()),
            (keys::CHUNK_MAX, params.max.to_string()),
            (keys::COMPRESSION, DEFAULT_COMPRESSION_LEVEL.to_string()),
        ];
        for (k, v) in settings {
            db.config_set(k, &v)?;
        }
        db.set_symbolic("HEAD", "refs/heads/main")?;
        drop(db);
        Store::open(dir)
    }

    /// Opens the store in `dir` (the `.gadn` directory).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db_path = dir.join(DB_FILE);
        if !db_path.is_file() {
            return Err(StoreError::NotAStore {
                path: dir.to_path_buf(),
            });
        }
        let db = Db::open(&db_path)?;
        let get = |key: &str| -> Result<String, StoreError> {
            db.config_get(key)?.ok_or_else(|| StoreError::BadConfig {
                key: key.into(),
                value: String::new(),
                reason: "missing".into(),
            })
        };
        let num = |key: &str| -> Result<u32, StoreError> {
            let v = get(key)?;
            v.parse().map_err(|_| StoreError::BadConfig {
                key: key.into(),
                value: v.clone(),
                reason: "not a number".into(),
            })
        };
        let version = num(keys::VERSION)?;
        if version != STORE_VERSION {
            return Err(StoreError::BadConfig {
                key: keys::VERSION.into(),
                value: version.to_string(),
                reason: format!("this gadn reads store version {STORE_VERSION}"),
            });
        }
        let (min, avg, max) = (
            num(keys::CHUNK_MIN)?,
            num(keys::CHUNK_AVG)?,
            num(keys::CHUNK_MAX)?,
        );
        let params = ChunkParams::new(min, avg, max).map_err(|e| StoreError::BadConfig {
            key: "chunk.min/avg/max".into(),
            value: format!("{min}/{avg}/{max}"),
            reason: e.to_string(),
        })?;
        let level = get(keys::COMPRESSION)?;
        let level: i32 = level
            .parse()
            .ok()
            .filter(|l| zstd::compression_level_range().contains(l))
            .ok_or_else(|| StoreError::BadConfig {
                key: keys::COMPRESSION.into(),
                value: level.clone(),
                reason: "not a zstd level".into(),
            })?;
        let packs = PackSet::open(&dir.join(PACK_DIR))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            db,
            packs,
            params,
            level,
            global: std::sync::OnceLock::new(),
        })
    }

    /// The `.gadn` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The chunking parameters fixed at init.
    pub fn params(&self) -> ChunkParams {
        self.params
    }

    /// The zstd level used for new records.
    pub fn compression_level(&self) -> i32 {
        self.level
    }

    /// The SQLite state.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The SQLite state, mutably (transactions).
    pub fn db_mut(&mut self) -> &mut Db {
        &mut self.db
    }

    /// The pack set.
    pub fn packs(&self) -> &PackSet {
        &self.packs
    }

    /// The repository id fixed at init.
    pub fn repository_id(&self) -> Result<String, StoreError> {
        Ok(self.db.config_get(keys::REPO_ID)?.unwrap_or_default())
    }

    /// Takes the write lock, then seals any pack a crashed writer left unsealed (keeping
    /// its complete records, dropping a torn tail) and picks up packs sealed by other
    /// processes since this store was opened.
    pub fn lock(&mut self) -> Result<(StoreLock, RecoveryReport), StoreError> {
        let lock = StoreLock::acquire(&self.dir, StoreLock::configured_wait())?;
        self.packs = PackSet::open(&self.dir.join(PACK_DIR))?;
        let report = self.packs.recover_unsealed()?;
        Ok((lock, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ChunkParams {
        ChunkParams::new(1024, 4096, 16384).unwrap()
    }

    #[test]
    fn init_records_the_config_and_open_reads_it_back() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join(STORE_DIR);
        let store = Store::init(&dir, params()).unwrap();
        let id = store.repository_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert!(format!("{store:?}").contains(&format!("{:?}", dir)));
        drop(store);
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.params(), params());
        assert_eq!(store.compression_level(), DEFAULT_COMPRESSION_LEVEL);
        assert_eq!(store.repository_id().unwrap(), id);
        assert_eq!(store.dir(), dir);
        assert_eq!(
            store.db().read_ref("HEAD").unwrap(),
            Some(super::super::db::RefTarget::Symbolic(
                "refs/heads/main".into()
            ))
        );
        let other = Store::init(&d.path().join("other"), params()).unwrap();
        assert_ne!(other.repository_id().unwrap(), id);

        let err = Store::init(&dir, ChunkParams::DEFAULT).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("a gadn store already exists at {}", dir.display())
        );
        // The existing store is untouched.
        assert_eq!(Store::open(&dir).unwrap().params(), params());
    }

    #[test]
    fn a_directory_without_a_database_is_not_a_store() {
        let d = tempfile::tempdir().unwrap();
        let err = Store::open(d.path()).unwrap_err();
        assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "no gadn store at {} (run `gadn init` first)",
                d.path().display()
            )
        );
        // A directory where the database file should be.
        std::fs::create_dir(d.path().join(DB_FILE)).unwrap();
        assert!(matches!(
            Store::open(d.path()),
            Err(StoreError::NotAStore { .. })
        ));
    }

    #[test]
    fn unusable_config_values_are_refused_with_the_key_and_value() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join(STORE_DIR);
        drop(Store::init(&dir, params()).unwrap());
        let cases: &[(&str, Option<&str>, &str)] = &[
            (keys::VERSION, None, r#"store.version="": missing"#),
            (
                keys::VERSION,
                Some("one"),
                r#"store.version="one": not a number"#,
            ),
            (
                keys::VERSION,
                Some("2"),
                r#"store.version="2": this gadn reads store version 1"#,
            ),
            (keys::CHUNK_MIN, None, r#"chunk.min="": missing"#),
            (
                keys::CHUNK_AVG,
                Some("64KiB"),
                r#"chunk.avg="64KiB": not a number"#,
            ),
            (
                keys::CHUNK_MAX,
                Some("-1"),
                r#"chunk.max="-1": not a number"#,
            ),
            (
                keys::CHUNK_MIN,
                Some("8"),
                r#"chunk.min/avg/max="8/4096/16384": minimum chunk size 8 is out of range"#,
            ),
            (
                keys::CHUNK_AVG,
                Some("512"),
                r#"chunk.min/avg/max="1024/512/16384": chunk sizes must satisfy min < avg < max"#,
            ),
            (
                keys::COMPRESSION,
                None,
                r#"core.compression-level="": missing"#,
            ),
            (
                keys::COMPRESSION,
                Some("fast"),
                r#"core.compression-level="fast": not a zstd level"#,
            ),
            (
                keys::COMPRESSION,
                Some("99"),
                r#"core.compression-level="99": not a zstd level"#,
            ),
        ];
        for (key, value, want) in cases {
            let store = Store::open(&dir).unwrap();
            let good = store.db().config_get(key).unwrap().unwrap();
            match value {
                Some(v) => store.db().config_set(key, v).unwrap(),
                None => assert!(store.db().config_unset(key).unwrap()),
            }
            drop(store);
            let err = Store::open(&dir).unwrap_err();
            assert!(matches!(err, StoreError::BadConfig { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("bad store config {want}")),
                "{key}={value:?}: {msg}"
            );
            // Put the good value back through the database alone.
            let db = super::super::db::Db::open(&dir.join(DB_FILE)).unwrap();
            db.config_set(key, &good).unwrap();
        }
        // Any level zstd accepts is usable, negative ones included.
        let store = Store::open(&dir).unwrap();
        store.db().config_set(keys::COMPRESSION, "-5").unwrap();
        drop(store);
        assert_eq!(Store::open(&dir).unwrap().compression_level(), -5);
    }
}
