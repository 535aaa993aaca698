//! Two small string tables: `config` (repository settings) and `state` (operation
//! state such as an in-progress merge).

use rusqlite::{params, OptionalExtension};

use super::{Db, DbError, Tx};

/// The two key/value tables. Names are fixed strings, never user input.
#[derive(Clone, Copy)]
enum Table {
    Config,
    State,
}

impl Table {
    fn get(self) -> &'static str {
        match self {
            Table::Config => "SELECT value FROM config WHERE key = ?1",
            Table::State => "SELECT value FROM state WHERE key = ?1",
        }
    }

    fn set(self) -> &'static str {
        match self {
            Table::Config => "INSERT OR REPLACE INTO config (key, value) VALUES (?1, ?2)",
            Table::State => "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)",
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Table::Config => "DELETE FROM config WHERE key = ?1",
            Table::State => "DELETE FROM state WHERE key = ?1",
        }
    }
}

impl Tx<'_> {
    fn kv_get(&self, t: Table, key: &str) -> Result<Option<String>, DbError> {
        self.conn()
            .prepare_cached(t.get())
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(self.err("read setting"))
    }

    fn kv_set(&self, t: Table, key: &str, value: &str) -> Result<(), DbError> {
        self.conn()
            .prepare_cached(t.set())
            .and_then(|mut s| s.execute(params![key, value]))
            .map_err(self.err("write setting"))?;
        Ok(())
    }

    fn kv_delete(&self, t: Table, key: &str) -> Result<bool, DbError> {
        self.conn()
            .prepare_cached(t.delete())
            .and_then(|mut s| s.execute([key]))
            .map(|n| n > 0)
            .map_err(self.err("delete setting"))
    }

    /// See [`Db::config_get`].
    pub fn config_get(&self, key: &str) -> Result<Option<String>, DbError> {
        self.kv_get(Table::Config, key)
    }

    /// See [`Db::config_set`].
    pub fn config_set(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.kv_set(Table::Config, key, value)
    }

    /// See [`Db::config_unset`].
    pub fn config_unset(&self, key: &str) -> Result<bool, DbError> {
        self.kv_delete(Table::Config, key)
    }

    /// See [`Db::config_list`].
    pub fn config_list(&self) -> Result<Vec<(String, String)>, DbError> {
        self.conn()
            .prepare_cached("SELECT key, value FROM config ORDER BY key")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(self.err("list config"))
    }

    /// See [`Db::state_get`].
    pub fn state_get(&self, key: &str) -> Result<Option<String>, DbError> {
        self.kv_get(Table::State, key)
    }

    /// See [`Db::state_set`].
    pub fn state_set(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.kv_set(Table::State, key, value)
    }

    /// See [`Db::state_delete`].
    pub fn state_delete(&self, key: &str) -> Result<bool, DbError> {
        self.kv_delete(Table::State, key)
    }
}

impl Db {
    /// The config value for `key`, `None` if unset.
    pub fn config_get(&self, key: &str) -> Result<Option<String>, DbError> {
        self.read(|tx| tx.config_get(key))
    }

    /// Sets the config value for `key`, replacing any earlier one.
    pub fn config_set(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.write("set config", |tx| tx.config_set(key, value))
    }

    /// Removes `key` from the config; returns whether it was set.
    pub fn config_unset(&self, key: &str) -> Result<bool, DbError> {
        self.write("unset config", |tx| tx.config_unset(key))
    }

    /// Every config key and value, sorted bytewise by key.
    pub fn config_list(&self) -> Result<Vec<(String, String)>, DbError> {
        self.read(|tx| tx.config_list())
    }

    /// The operation-state value for `key` (e.g. an in-progress merge), `None` if
    /// unset.
    pub fn state_get(&self, key: &str) -> Result<Option<String>, DbError> {
        self.read(|tx| tx.state_get(key))
    }

    /// Sets the operation-state value for `key`, replacing any earlier one.
    pub fn state_set(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.write("set state", |tx| tx.state_set(key, value))
    }

    /// Removes `key` from the operation state; returns whether it was set.
    pub fn state_delete(&self, key: &str) -> Result<bool, DbError> {
        self.write("delete state", |tx| tx.state_delete(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trip() {
        let db = Db::open_in_memory().unwrap();
        assert_eq!(db.config_get("core.x").unwrap(), None);
        db.config_set("chunk.avg", "65536").unwrap();
        db.config_set("a.first", "1").unwrap();
        db.config_set("chunk.avg", "1024").unwrap();
        assert_eq!(db.config_get("chunk.avg").unwrap().as_deref(), Some("1024"));
        assert_eq!(
            db.config_list().unwrap(),
            vec![
                ("a.first".to_string(), "1".to_string()),
                ("chunk.avg".to_string(), "1024".to_string())
            ]
        );
        assert!(db.config_unset("a.first").unwrap());
        assert!(!db.config_unset("a.first").unwrap());
        assert_eq!(db.config_list().unwrap().len(), 1);
    }

    #[test]
    fn state_round_trip_is_separate_from_config() {
        let db = Db::open_in_memory().unwrap();
        db.state_set("merge", "{\"theirs\":\"abc\"}").unwrap();
        assert_eq!(db.config_get("merge").unwrap(), None);
        assert_eq!(
            db.state_get("merge").unwrap().as_deref(),
            Some("{\"theirs\":\"abc\"}")
        );
        db.state_set("merge", "").unwrap();
        assert_eq!(db.state_get("merge").unwrap().as_deref(), Some(""));
        assert!(db.state_delete("merge").unwrap());
        assert_eq!(db.state_get("merge").unwrap(), None);
        assert!(!db.state_delete("merge").unwrap());
    }
}
