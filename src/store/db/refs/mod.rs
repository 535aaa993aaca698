//! Refs with git semantics: direct and symbolic refs, compare-and-swap updates,
//! and a reflog.
//!
//! A ref holds an id ([`RefTarget::Id`]) or the name of another ref
//! ([`RefTarget::Symbolic`], like `HEAD` → `refs/heads/main`). Updates follow
//! symbolic refs unless they say otherwise, check the current value against an
//! [`Expect`]ation, write, and append to the reflog of every ref involved — all in
//! one transaction. Reflog rows outlive a deleted ref (so a deleted branch can be
//! recovered from them) until [`Db::expire_reflog`] removes them.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension};

use super::error::{bad_value, stored_id};
use super::expect::{Expect, MAX_SYMREF_DEPTH};
use super::refname::check_ref_name;
use super::{Db, DbError, Tx};
use crate::store::ObjectId;

/// What a ref holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTarget {
    /// An object id (a commit, or a tag object).
    Id(ObjectId),
    /// The full name of another ref.
    Symbolic(String),
}

/// Who changed a ref, when and why: recorded with each reflog row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflogInfo {
    /// Identity of the person or program, e.g. `Ada <ada@example.com>`.
    pub who: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Their time zone's offset from UTC, in minutes.
    pub tz_offset_min: i16,
    /// What happened, e.g. `commit: fix the door`.
    pub message: String,
}

impl ReflogInfo {
    /// An entry stamped with the current time, in UTC.
    pub fn now(who: impl Into<String>, message: impl Into<String>) -> Self {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        ReflogInfo {
            who: who.into(),
            time,
            tz_offset_min: 0,
            message: message.into(),
        }
    }
}

/// One reflog row: a ref moved from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReflogEntry {
    /// The row's number: increasing with every change to any ref, never reused.
    pub seq: i64,
    /// Value before (`None`: the ref did not exist or was unborn).
    pub old: Option<ObjectId>,
    /// Value after (`None`: the ref was deleted, or now points at an unborn ref).
    pub new: Option<ObjectId>,
    /// Who made the change.
    pub who: String,
    /// When, in seconds since the Unix epoch.
    pub time: i64,
    /// Their time zone's offset from UTC, in minutes.
    pub tz_offset_min: i16,
    /// Why.
    pub message: String,
}

/// Where following a ref's symbolic links ends.
struct Followed {
    /// Symbolic refs passed through, starting with the name asked for if it is one.
    symbolic: Vec<String>,
    /// The last name reached: a direct ref, or one that does not exist.
    target: String,
    /// The target's id; `None` if it does not exist.
    id: Option<ObjectId>,
}

impl Followed {
    /// True if the name asked for exists (as a direct or symbolic ref).
    fn exists(&self) -> bool {
        !self.symbolic.is_empty() || self.id.is_some()
    }
}

const TABLE: &str = "refs";

impl Tx<'_> {
    /// See [`Db::read_ref`].
    pub fn read_ref(&self, name: &str) -> Result<Option<RefTarget>, DbError> {
        check_ref_name(name)?;
        self.read_ref_unchecked(name)
    }

    fn read_ref_unchecked(&self, name: &str) -> Result<Option<RefTarget>, DbError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT target, symbolic FROM refs WHERE name = ?1")
            .map_err(self.err("read ref"))?;
        let row: Option<(Value, Value)> = stmt
            .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(self.err("read ref"))?;
        let Some(row) = row else { return Ok(None) };
        match row {
            (Value::Blob(b), Value::Null) => {
                Ok(Some(RefTarget::Id(stored_id(self.path, TABLE, name, &b)?)))
            }
            (Value::Null, Value::Text(t)) => match check_ref_name(&t) {
                Ok(()) => Ok(Some(RefTarget::Symbolic(t))),
                Err(e) => Err(bad_value(self.path, TABLE, name, e.to_string())),
            },
            (id, target) => Err(bad_value(
                self.path,
                TABLE,
                name,
                format!(
                    "expected an id blob or a target name, found {:?} and {:?}",
                    id.data_type(),
                    target.data_type()
                ),
            )),
        }
    }

    fn follow(&self, name: &str) -> Result<Followed, DbError> {
        check_ref_name(name)?;
        let mut symbolic = Vec::new();
        let mut cur = name.to_string();
        loop {
            match self.read_ref_unchecked(&cur)? {
                None => {
                    return Ok(Followed {
                        symbolic,
                        target: cur,
                        id: None,
                    })
                }
                Some(RefTarget::Id(id)) => {
                    return Ok(Followed {
                        symbolic,
                        target: cur,
                        id: Some(id),
                    })
                }
                Some(RefTarget::Symbolic(next)) => {
                    symbolic.push(cur);
                    if symbolic.len() > MAX_SYMREF_DEPTH || symbolic.contains(&next) {
                        symbolic.push(next);
                        return Err(DbError::SymrefLoop {
                            name: name.to_string(),
                            chain: symbolic,
                        });
                    }
                    cur = next;
                }
            }
        }
    }

    /// See [`Db::resolve_ref`].
    pub fn resolve_ref(&self, name: &str) -> Result<Option<(String, Option<ObjectId>)>, DbError> {
        let f = self.follow(name)?;
        Ok(f.exists().then_some((f.target, f.id)))
    }

    /// See [`Db::update_ref`].
    pub fn update_ref(
        &self,
        name: &str,
        expect: Expect,
        new: ObjectId,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        let f = self.follow(name)?;
        if !expect.matches(f.id) {
            return Err(conflict(&f.target, expect, f.id));
        }
        self.put_ref(&f.target, &RefTarget::Id(new))?;
        self.append_log(&f.target, f.id, Some(new), log)?;
        for s in &f.symbolic {
            self.append_log(s, f.id, Some(new), log)?;
        }
        Ok(())
    }

    /// See [`Db::update_ref_no_deref`].
    pub fn update_ref_no_deref(
        &self,
        name: &str,
        expect: Expect,
        new: ObjectId,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        let current = self.current_no_deref(name, expect)?.1;
        if !expect.matches(current) {
            return Err(conflict(name, expect, current));
        }
        self.put_ref(name, &RefTarget::Id(new))?;
        self.append_log(name, current, Some(new), log)
    }

    /// See [`Db::detach_head`].
    pub fn detach_head(&self, new: ObjectId, log: &ReflogInfo) -> Result<(), DbError> {
        self.update_ref_no_deref("HEAD", Expect::Any, new, log)
    }

    /// See [`Db::delete_ref`].
    pub fn delete_ref(
        &self,
        name: &str,
        expect: Expect,
        log: &ReflogInfo,
    ) -> Result<bool, DbError> {
        let (exists, current) = self.current_no_deref(name, expect)?;
        if !expect.matches(current) {
            return Err(conflict(name, expect, current));
        }
        if !exists {
            return Ok(false);
        }
        self.conn()
            .prepare_cached("DELETE FROM refs WHERE name = ?1")
            .and_then(|mut s| s.execute([name]))
            .map_err(self.err("delete ref"))?;
        self.append_log(name, current, None, log)?;
        Ok(true)
    }

    /// Whether `name` itself exists, and the id it resolves to. A symbolic ref
    /// caught in a loop resolves to `None` when the caller expects nothing in
    /// particular, so a loop can always be overwritten or deleted.
    fn current_no_deref(
        &self,
        name: &str,
        expect: Expect,
    ) -> Result<(bool, Option<ObjectId>), DbError> {
        match self.follow(name) {
            Ok(f) => Ok((f.exists(), f.id)),
            Err(DbError::SymrefLoop { .. }) if expect == Expect::Any => Ok((true, None)),
            Err(e) => Err(e),
        }
    }

    /// See [`Db::set_symbolic`].
    pub fn set_symbolic(&self, name: &str, target: &str) -> Result<(), DbError> {
        self.set_symbolic_inner(name, target).map(|_| ())
    }

    /// See [`Db::set_symbolic_logged`].
    pub fn set_symbolic_logged(
        &self,
        name: &str,
        target: &str,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        let old = self.current_no_deref(name, Expect::Any)?.1;
        let new = self.set_symbolic_inner(name, target)?;
        self.append_log(name, old, new, log)
    }

    /// Writes the symbolic ref; returns the id it now resolves to.
    fn set_symbolic_inner(&self, name: &str, target: &str) -> Result<Option<ObjectId>, DbError> {
        check_ref_name(name)?;
        let f = self.follow(target)?;
        let loops = f.target == name || f.symbolic.iter().any(|s| s == name);
        if loops || f.symbolic.len() + 1 > MAX_SYMREF_DEPTH {
            let mut chain = vec![name.to_string()];
            chain.extend(f.symbolic);
            chain.push(f.target);
            return Err(DbError::SymrefLoop {
                name: name.to_string(),
                chain,
            });
        }
        self.put_ref(name, &RefTarget::Symbolic(target.to_string()))?;
        Ok(f.id)
    }

    fn put_ref(&self, name: &str, value: &RefTarget) -> Result<(), DbError> {
        let (target, symbolic) = match value {
            RefTarget::Id(id) => (Some(&id.as_bytes()[..]), None),
            RefTarget::Symbolic(t) => (None, Some(t.as_str())),
        };
        self.conn()
            .prepare_cached(
                "INSERT INTO refs (name, target, symbolic) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE
                 SET target = excluded.target, symbolic = excluded.symbolic",
            )
            .and_then(|mut s| s.execute(params![name, target, symbolic]))
            .map_err(self.err("write ref"))?;
        Ok(())
    }

    fn append_log(
        &self,
        name: &str,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        let old = old.as_ref().map(|i| &i.as_bytes()[..]);
        let new = new.as_ref().map(|i| &i.as_bytes()[..]);
        self.conn()
            .prepare_cached(
                "INSERT INTO reflog (name, old, new, who, time, tz_offset_min, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    name,
                    old,
                    new,
                    log.who,
                    log.time,
                    log.tz_offset_min,
                    log.message
                ])
            })
            .map_err(self.err("append to reflog"))?;
        Ok(())
    }

    /// See [`Db::list_refs`].
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>, DbError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT name, target FROM refs
                 WHERE target IS NOT NULL AND substr(name, 1, length(?1)) = ?1 ORDER BY name",
            )
            .map_err(self.err("list refs"))?;
        let mut rows = stmt.query([prefix]).map_err(self.err("list refs"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.err("list refs"))? {
            let (name, id) = (row.get_ref(0), row.get_ref(1));
            let name = name
                .and_then(|v| Ok(v.as_str()?.to_string()))
                .map_err(|e| bad_value(self.path, TABLE, "?", e.to_string()))?;
            let id = id
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(|e| bad_value(self.path, TABLE, &name, e.to_string()))?;
            let id = stored_id(self.path, TABLE, &name, id)?;
            out.push((name, id));
        }
        Ok(out)
    }

    /// See [`Db::reflog`].
    pub fn reflog(&self, name: &str) -> Result<Vec<ReflogEntry>, DbError> {
        check_ref_name(name)?;
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT seq, old, new, who, time, tz_offset_min, message FROM reflog
                 WHERE name = ?1 ORDER BY seq DESC",
            )
            .map_err(self.err("read reflog"))?;
        type Row = (i64, Value, Value, String, i64, i64, String);
        let rows: Vec<Row> = stmt
            .query_map([name], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(self.err("read reflog"))?;
        rows.into_iter()
            .map(|(seq, old, new, who, time, tz, message)| {
                let key = format!("{name}#{seq}");
                let tz_offset_min = i16::try_from(tz).map_err(|_| {
                    bad_value(self.path, "reflog", &key, format!("time zone offset {tz}"))
                })?;
                Ok(ReflogEntry {
                    seq,
                    old: self.log_id(&key, old)?,
                    new: self.log_id(&key, new)?,
                    who,
                    time,
                    tz_offset_min,
                    message,
                })
            })
            .collect()
    }

    fn log_id(&self, key: &str, v: Value) -> Result<Option<ObjectId>, DbError> {
        match v {
            Value::Null => Ok(None),
            Value::Blob(b) => stored_id(self.path, "reflog", key, &b).map(Some),
            other => Err(bad_value(
                self.path,
                "reflog",
                key,
                format!("expected an id blob, found {:?}", other.data_type()),
            )),
        }
    }

    /// See [`Db::reflog_ids`].
    pub fn reflog_ids(&self) -> Result<Vec<ObjectId>, DbError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT old FROM reflog WHERE old IS NOT NULL
                 UNION SELECT new FROM reflog WHERE new IS NOT NULL",
            )
            .map_err(self.err("list reflog ids"))?;
        let values: Vec<Value> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(self.err("list reflog ids"))?;
        let mut ids = Vec::with_capacity(values.len());
        for v in values {
            ids.extend(self.log_id("(any)", v)?);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// See [`Db::reflog_names`].
    pub fn reflog_names(&self) -> Result<Vec<String>, DbError> {
        self.conn()
            .prepare_cached("SELECT DISTINCT name FROM reflog ORDER BY name")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))
                    .and_then(|rows| rows.collect())
            })
            .map_err(self.err("list reflogs"))
    }

    /// See [`Db::delete_reflog_rows`].
    pub fn delete_reflog_rows(&self, seqs: &[i64]) -> Result<usize, DbError> {
        let mut stmt = self
            .conn()
            .prepare_cached("DELETE FROM reflog WHERE seq = ?1")
            .map_err(self.err("expire reflog"))?;
        let mut n = 0;
        for seq in seqs {
            n += stmt.execute([seq]).map_err(self.err("expire reflog"))?;
        }
        Ok(n)
    }

    /// See [`Db::expire_reflog`].
    pub fn expire_reflog(&self, before: i64) -> Result<usize, DbError> {
        self.conn()
            .prepare_cached("DELETE FROM reflog WHERE time < ?1")
            .and_then(|mut s| s.execute([before]))
            .map_err(self.err("expire reflog"))
    }
}

fn conflict(name: &str, expected: Expect, actual: Option<ObjectId>) -> DbError {
    DbError::RefConflict {
        name: name.to_string(),
        expected,
        actual,
    }
}

impl Db {
    /// What `name` holds, without following symbolic refs; `None` if it does not
    /// exist.
    pub fn read_ref(&self, name: &str) -> Result<Option<RefTarget>, DbError> {
        self.read(|tx| tx.read_ref(name))
    }

    /// Follows symbolic refs from `name` (at most [`MAX_SYMREF_DEPTH`]) to the
    /// direct ref at the end: its full name and its id.
    ///
    /// `None` if `name` does not exist. An unborn branch — `HEAD` pointing at a
    /// `refs/heads/main` that does not exist yet — gives
    /// `Some(("refs/heads/main", None))`. A detached `HEAD` gives `("HEAD", id)`.
    pub fn resolve_ref(&self, name: &str) -> Result<Option<(String, Option<ObjectId>)>, DbError> {
        self.read(|tx| tx.resolve_ref(name))
    }

    /// Compare-and-swap: sets the ref `name` resolves to (following symbolic refs,
    /// creating it if unborn) to `new`, provided its current value matches
    /// `expect`; otherwise fails with [`DbError::RefConflict`] and writes nothing.
    ///
    /// Appends a reflog row (`old` → `new`, with `log`) to the ref written and to
    /// every symbolic ref passed through (so `HEAD` has a history, as in git).
    pub fn update_ref(
        &self,
        name: &str,
        expect: Expect,
        new: ObjectId,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        self.write("update ref", |tx| tx.update_ref(name, expect, new, log))
    }

    /// Like [`Db::update_ref`] but writes `name` itself, replacing a symbolic ref
    /// with a direct one. `expect` is checked against the id `name` currently
    /// resolves to; only `name`'s reflog gets a row.
    pub fn update_ref_no_deref(
        &self,
        name: &str,
        expect: Expect,
        new: ObjectId,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        self.write("update ref", |tx| {
            tx.update_ref_no_deref(name, expect, new, log)
        })
    }

    /// Points `HEAD` directly at `new` (a detached `HEAD`), whatever it held.
    pub fn detach_head(&self, new: ObjectId, log: &ReflogInfo) -> Result<(), DbError> {
        self.write("detach HEAD", |tx| tx.detach_head(new, log))
    }

    /// Deletes the ref `name` itself (a symbolic ref is removed, not its target)
    /// if the id it resolves to matches `expect`. Returns whether it existed.
    ///
    /// Appends a reflog row (`old` → none); earlier rows are kept until
    /// [`Db::expire_reflog`], so a deleted branch stays recoverable and reachable.
    pub fn delete_ref(
        &self,
        name: &str,
        expect: Expect,
        log: &ReflogInfo,
    ) -> Result<bool, DbError> {
        self.write("delete ref", |tx| tx.delete_ref(name, expect, log))
    }

    /// Makes `name` a symbolic ref to `target` (which need not exist yet: an
    /// unborn branch). Refuses with [`DbError::SymrefLoop`] if that would make a
    /// loop or a chain deeper than [`MAX_SYMREF_DEPTH`]. Writes no reflog row.
    pub fn set_symbolic(&self, name: &str, target: &str) -> Result<(), DbError> {
        self.write("set symbolic ref", |tx| tx.set_symbolic(name, target))
    }

    /// [`Db::set_symbolic`], recording in `name`'s reflog the move from the id it
    /// resolved to before to the one it resolves to now (git's
    /// `checkout: moving from main to topic` rows).
    pub fn set_symbolic_logged(
        &self,
        name: &str,
        target: &str,
        log: &ReflogInfo,
    ) -> Result<(), DbError> {
        self.write("set symbolic ref", |tx| {
            tx.set_symbolic_logged(name, target, log)
        })
    }

    /// Direct refs whose name starts with `prefix` (`""` for all), sorted bytewise
    /// by name. Symbolic refs are not listed.
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>, DbError> {
        self.read(|tx| tx.list_refs(prefix))
    }

    /// The reflog of `name`, newest first.
    pub fn reflog(&self, name: &str) -> Result<Vec<ReflogEntry>, DbError> {
        self.read(|tx| tx.reflog(name))
    }

    /// Every id named as old or new value in any reflog (deleted refs included),
    /// sorted and deduplicated: roots for gc reachability.
    pub fn reflog_ids(&self) -> Result<Vec<ObjectId>, DbError> {
        self.read(|tx| tx.reflog_ids())
    }

    /// Deletes every reflog row older than `before` (seconds since the Unix epoch)
    /// and returns how many went.
    pub fn expire_reflog(&self, before: i64) -> Result<usize, DbError> {
        self.write("expire reflog", |tx| tx.expire_reflog(before))
    }

    /// The names of every ref with a reflog (deleted refs included), sorted.
    pub fn reflog_names(&self) -> Result<Vec<String>, DbError> {
        self.read(|tx| tx.reflog_names())
    }

    /// Deletes the reflog rows numbered `seqs` ([`ReflogEntry::seq`]), in one
    /// transaction; returns how many there were.
    pub fn delete_reflog_rows(&self, seqs: &[i64]) -> Result<usize, DbError> {
        self.write("expire reflog", |tx| tx.delete_reflog_rows(seqs))
    }
}

#[cfg(test)]
mod tests;
