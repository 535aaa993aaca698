//! The content-addressed store: everything below version control.
//!
//! A store is a `.gadn` directory (`store-format.md` § *Directory layout*): pack files
//! holding chunks and objects, and a SQLite database holding config, refs, reflogs and
//! the index. [`Store`] ties them together; [`ObjectWriter`] adds records under the
//! [`StoreLock`].

pub mod chunker;
pub mod config;
pub mod db;
pub mod direct_io;
mod error;
pub mod flat;
mod fsck;
mod gc;
pub mod id;
pub mod lock;
pub mod members;
pub mod object;
mod open;
pub mod pack;
mod pool;
pub mod prefill;
pub mod raw;
mod read;
pub mod repair;
mod settings;
pub mod sha256;
pub mod size;
pub mod sniff;
mod stats;
pub mod walk;
mod write;

pub use config::{GlobalConfig, Origin as SettingOrigin, Setting, GLOBAL_FILE};
pub use error::StoreError;
pub use fsck::{DamagedRecord, FsckReport};
pub use gc::{GcOptions, GcRefused, GcReport, REFLOG_EXPIRE_DAYS, REFLOG_EXPIRE_UNREACHABLE_DAYS};
pub use id::{IdPrefix, ObjectId, ObjectKind};
pub use lock::StoreLock;
pub use open::{keys, Store, DB_FILE, PACK_DIR, STORE_DIR};
pub use read::FileChunks;
pub use sha256::Sha256;
pub use stats::StoreStats;
pub use write::{hash_file, Ingested, ObjectWriter, PreparedFile, WriteStats};
