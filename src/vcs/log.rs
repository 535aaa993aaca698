//! `log`: walking history newest first.

use std::collections::{BinaryHeap, HashMap, HashSet};

use super::treeops::lookup;
use super::{Repo, VcsError};
use crate::store::object::{Commit, EntryKind};
use crate::store::ObjectId;

/// One commit of a history listing.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Its id.
    pub id: ObjectId,
    /// The commit.
    pub commit: Commit,
}

/// Which commits [`Repo::log_filtered`] keeps; every field set must match (AND).
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only commits that changed this repository path or anything below it, compared
    /// with the first parent (a root commit: that added it). `""` is the whole tree.
    pub path: Option<String>,
    /// Case-insensitive substring of the author's name or e-mail.
    pub author: Option<String>,
    /// Committed at or after this Unix time.
    pub since: Option<i64>,
    /// Committed at or before this Unix time.
    pub until: Option<i64>,
    /// Case-insensitive substring of the message or of a note (`key` or `value`).
    pub grep: Option<String>,
}

impl LogFilter {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.path.is_none()
            && self.author.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.grep.is_none()
    }

    /// The checks that need only the commit itself.
    pub(crate) fn matches_commit(&self, c: &Commit) -> bool {
        if self.since.is_some_and(|t| c.committer.time < t) {
            return false;
        }
        if self.until.is_some_and(|t| c.committer.time > t) {
            return false;
        }
        if let Some(a) = &self.author {
            let a = a.to_lowercase();
            if !c.author.name.to_lowercase().contains(&a)
                && !c.author.email.to_lowercase().contains(&a)
            {
                return false;
            }
        }
        if let Some(g) = &self.grep {
            let g = g.to_lowercase();
            let hit = c.message.to_lowercase().contains(&g)
                || c.notes
                    .iter()
                    .any(|(k, v)| k.to_lowercase().contains(&g) || v.to_lowercase().contains(&g));
            if !hit {
                return false;
            }
        }
        true
    }
}

/// The entry at `path` in a commit's tree, compared by kind, content and metadata.
fn path_state(
    repo: &Repo,
    tree: &ObjectId,
    path: &str,
) -> Result<Option<(EntryKind, ObjectId, Option<ObjectId>)>, VcsError> {
    Ok(lookup(repo.store(), tree, path)?.map(|e| (e.kind, e.id, e.meta)))
}

impl Repo {
    /// Commits reachable from `start`, newest (by committer time) first, at most `limit`.
    pub fn log(&self, start: ObjectId, limit: Option<usize>) -> Result<Vec<LogEntry>, VcsError> {
        self.log_filtered(start, &LogFilter::default(), limit)
    }

    /// True if commit `c` changed `path` (or anything below it) relative to its first
    /// parent; for a root commit, if `path` exists in it. Only the entries along the
    /// path are read (directory ids are compared, not flattened trees).
    pub fn commit_touches(&self, c: &Commit, path: &str) -> Result<bool, VcsError> {
        let new = path_state(self, &c.tree, path)?;
        let old = match c.parents.first() {
            Some(p) => path_state(self, &self.store().commit(p)?.tree, path)?,
            None => None,
        };
        Ok(new != old)
    }

    /// Like [`Repo::log`], keeping only commits `filter` accepts; `limit` counts the
    /// commits kept. A filter is answered from the history index (brought up to date
    /// first); an empty one walks the commits.
    pub fn log_filtered(
        &self,
        start: ObjectId,
        filter: &LogFilter,
        limit: Option<usize>,
    ) -> Result<Vec<LogEntry>, VcsError> {
        if filter.is_empty() {
            self.log_walk(start, filter, limit)
        } else {
            self.log_indexed(start, filter, limit)
        }
    }

    /// [`Repo::log_filtered`] by walking commits and trees (no index): the plain
    /// listing, and the oracle the index is tested against.
    pub(crate) fn log_walk(
        &self,
        start: ObjectId,
        filter: &LogFilter,
        limit: Option<usize>,
    ) -> Result<Vec<LogEntry>, VcsError> {
        let mut heap = BinaryHeap::new();
        let mut seen = HashSet::new();
        let mut loaded = HashMap::new();
        // Newest committer time first; equal times in the order first seen, so a
        // child still comes before its parents when a history shares one second.
        let mut seq = 0u64;
        let first = self.store().commit(&start)?;
        heap.push((first.committer.time, std::cmp::Reverse(seq), start));
        loaded.insert(start, first);
        seen.insert(start);
        let mut out = Vec::new();
        while let Some((_, _, id)) = heap.pop() {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let Some(commit) = loaded.remove(&id) else {
                continue;
            };
            for p in &commit.parents {
                if seen.insert(*p) {
                    let c = self.store().commit(p)?;
                    seq += 1;
                    heap.push((c.committer.time, std::cmp::Reverse(seq), *p));
                    loaded.insert(*p, c);
                }
            }
            if !filter.matches_commit(&commit) {
                continue;
            }
            if let Some(path) = &filter.path {
                if !self.commit_touches(&commit, path)? {
                    continue;
                }
            }
            out.push(LogEntry { id, commit });
        }
        Ok(out)
    }
}

/// Parses a date for `--since`/`--until`: `YYYY-MM-DD` (local time; the start of the
/// day, or its last second when `end_of_day`), `YYYY-MM-DDTHH:MM[:SS]` (also with a
/// space instead of `T`) with an optional offset (`Z`, `+01:00`, `+0100`; local time
/// without one), `N days ago` (also seconds, minutes, hours, weeks), `now`, `today`,
/// `yesterday`, or `@UNIXTIME`. `now` is the current Unix time.
pub fn parse_date(text: &str, now: i64, end_of_day: bool) -> Result<i64, VcsError> {
    use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
    let bad = |reason: &str| VcsError::BadDate {
        text: text.into(),
        reason: reason.into(),
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    if let Some(n) = t.strip_prefix('@') {
        return n.parse().map_err(|_| bad("expected @ and a Unix time"));
    }
    let local = |naive: NaiveDateTime| -> Result<i64, VcsError> {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.timestamp())
            .ok_or_else(|| bad("that local time does not exist"))
    };
    let day = |d: NaiveDate| -> Result<i64, VcsError> {
        let time = if end_of_day {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        local(time.ok_or_else(|| bad("bad time"))?)
    };
    let lower = t.to_lowercase();
    match lower.as_str() {
        "now" => return Ok(now),
        "today" | "yesterday" => {
            let today = DateTime::from_timestamp(now, 0)
                .ok_or_else(|| bad("the clock is out of range"))?
                .with_timezone(&Local)
                .date_naive();
            let d = if lower == "today" {
                today
            } else {
                today.pred_opt().ok_or_else(|| bad("out of range"))?
            };
            return day(d);
        }
        _ => {}
    }
    if let Some(rest) = lower.strip_suffix(" ago") {
        let mut words = rest.split_whitespace();
        let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad(
                "expected 'N days ago' (or seconds, minutes, hours, weeks, months, years)",
            ));
        };
        let n: i64 = n
            .parse()
            .map_err(|_| bad("expected a number before the unit"))?;
        let secs = match unit.trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            "week" => 7 * 86_400,
            // As git approximates them: 30 days, 365 days.
            "month" => 30 * 86_400,
            "year" => 365 * 86_400,
            _ => {
                return Err(bad(
                    "unknown unit (use seconds, minutes, hours, days, weeks, months or years)",
                ))
            }
        };
        return n
            .checked_mul(secs)
            .and_then(|d| now.checked_sub(d))
            .ok_or_else(|| bad("out of range"));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return day(d);
    }
    let normal = t.replacen(' ', "T", 1);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%:z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&normal, fmt) {
            return Ok(d.timestamp());
        }
    }
    if let Some(z) = normal.strip_suffix(['Z', 'z']) {
        for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
            if let Ok(d) = NaiveDateTime::parse_from_str(z, fmt) {
                return Ok(d.and_utc().timestamp());
            }
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(&normal, fmt) {
            return local(d);
        }
    }
    Err(bad(
        "expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[+HH:MM], 'N days ago' or @UNIXTIME",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::object::{Person, Tree};

    fn person(time: i64) -> Person {
        Person {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            time,
            tz_offset_min: 0,
        }
    }

    #[test]
    fn history_is_newest_first_each_commit_once_and_limited() {
        let dir = tempfile::tempdir().unwrap();
        let mut repo = Repo::init(dir.path(), ChunkParams::DEFAULT).unwrap();
        let (lock, _) = repo.store_mut().lock().unwrap();
        let mut w = repo.store_mut().writer(&lock);
        let tree = w.put_tree(&Tree { entries: vec![] }).unwrap();
        let mut put = |parents: Vec<ObjectId>, msg: &str, t: i64| {
            w.put_commit(&Commit {
                tree,
                parents,
                author: person(t),
                committer: person(t),
                message: msg.into(),
                notes: Vec::new(),
                signature: None,
            })
            .unwrap()
        };
        // A diamond: both sides reach the root, which is listed once; the newer
        // side comes first although it is the second parent.
        let a = put(vec![], "A", 100);
        let b = put(vec![a], "B", 200);
        let c = put(vec![a], "C", 300);
        let m = put(vec![b, c], "M", 400);
        // The same shape made within one second: children still before parents,
        // the first parent's line first.
        let sa = put(vec![], "sA", 500);
        let sb = put(vec![sa], "sB", 500);
        let sc = put(vec![sb], "sC", 500);
        let sd = put(vec![sa], "sD", 500);
        let sm = put(vec![sc, sd], "sM", 500);
        w.finish().unwrap();
        drop(lock);
        let ids = |start, limit| -> Vec<ObjectId> {
            repo.log(start, limit)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(ids(m, None), vec![m, c, b, a]);
        assert_eq!(ids(sm, None), vec![sm, sc, sd, sb, sa]);
        let indexed: Vec<ObjectId> = repo
            .log_filtered(
                sm,
                &LogFilter {
                    author: Some("ada".into()),
                    ..LogFilter::default()
                },
                None,
            )
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(indexed, vec![sm, sc, sd, sb, sa]);
        assert_eq!(ids(m, Some(2)), vec![m, c]);
        assert_eq!(ids(m, Some(0)), Vec::<ObjectId>::new());
        assert_eq!(ids(b, None), vec![b, a]);
        let log = repo.log(c, None).unwrap();
        assert_eq!(log[0].commit.message, "C");
        assert_eq!(log[1].commit.parents, Vec::<ObjectId>::new());
        assert!(matches!(
            repo.log(ObjectId::of_chunk(b"nothing"), None),
            Err(VcsError::Store(_))
        ));
    }

    fn commit_all(r: &mut Repo, msg: &str, notes: &[(&str, &str)]) -> ObjectId {
        let root = r.root().to_path_buf();
        r.add(&root, std::slice::from_ref(&root), false, &|_, _| {})
            .unwrap();
        r.commit(&crate::vcs::CommitOptions {
            message: msg.into(),
            notes: notes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn filters_by_path_message_and_notes() {
        use crate::vcs::testutil::{put, repo};
        let (_d, mut r) = repo();
        put(&r, "art/a.png", b"a");
        put(&r, "b.txt", b"b");
        let c1 = commit_all(&mut r, "Initial import", &[]);
        put(&r, "art/sub/c.png", b"c");
        let c2 = commit_all(&mut r, "more art", &[("ticket", "ART-7")]);
        put(&r, "b.txt", b"bb");
        let c3 = commit_all(&mut r, "text only", &[]);
        let ids = |f: &LogFilter, limit| -> Vec<ObjectId> {
            r.log_filtered(c3, f, limit)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        let path = |p: &str| LogFilter {
            path: Some(p.into()),
            ..Default::default()
        };
        assert_eq!(ids(&path("art"), None), vec![c2, c1]);
        assert_eq!(ids(&path("art/sub"), None), vec![c2]);
        assert_eq!(ids(&path("art/a.png"), None), vec![c1]);
        assert_eq!(ids(&path("b.txt"), None), vec![c3, c1]);
        assert_eq!(ids(&path("b.txt"), Some(1)), vec![c3]);
        assert_eq!(ids(&path("nope"), None), Vec::<ObjectId>::new());
        assert_eq!(ids(&path(""), None), vec![c3, c2, c1]);
        let grep = |g: &str| LogFilter {
            grep: Some(g.into()),
            ..Default::default()
        };
        assert_eq!(ids(&grep("IMPORT"), None), vec![c1]);
        assert_eq!(ids(&grep("art-7"), None), vec![c2]);
        assert_eq!(ids(&grep("ticket"), None), vec![c2]);
        let both = LogFilter {
            path: Some("art".into()),
            grep: Some("t".into()),
            ..Default::default()
        };
        // "text only" matches the text but not the path.
        assert_eq!(ids(&both, None), vec![c2, c1]);
        let who = r.log(c3, None).unwrap()[0].commit.author.clone();
        let author = |a: &str| LogFilter {
            author: Some(a.into()),
            ..Default::default()
        };
        assert_eq!(ids(&author(&who.name.to_uppercase()), None).len(), 3);
        assert_eq!(ids(&author("\u{1}no such person"), None).len(), 0);
        let t = who.time;
        let window = LogFilter {
            since: Some(t - 10),
            until: Some(t + 10),
            ..Default::default()
        };
        assert_eq!(ids(&window, None).len(), 3);
        let late = LogFilter {
            since: Some(t + 1_000_000),
            ..Default::default()
        };
        assert!(ids(&late, None).is_empty());
        assert!(LogFilter::default().is_empty() && !late.is_empty());
    }

    #[test]
    fn dates_parse_in_every_documented_form() {
        let now = 1_700_000_000;
        let p = |t: &str| parse_date(t, now, false);
        assert_eq!(p("3 days ago").unwrap(), now - 3 * 86_400);
        assert_eq!(p("1 day ago").unwrap(), now - 86_400);
        assert_eq!(p("2 hours ago").unwrap(), now - 7200);
        assert_eq!(p("2 months ago").unwrap(), now - 60 * 86_400);
        assert_eq!(p("1 year ago").unwrap(), now - 365 * 86_400);
        assert_eq!(p("2 Weeks Ago").unwrap(), now - 14 * 86_400);
        assert_eq!(p("now").unwrap(), now);
        assert_eq!(p("@42").unwrap(), 42);
        assert_eq!(p("2023-11-14T22:13:20Z").unwrap(), now);
        assert_eq!(p("2023-11-14T22:13:20+00:00").unwrap(), now);
        assert_eq!(p("2023-11-14T23:13:20+01:00").unwrap(), now);
        assert_eq!(p("2023-11-14 23:13:20 +0100").unwrap(), now);
        assert_eq!(p("2023-11-14 23:13:20+0100").unwrap(), now);
        // Without an offset: local time, so only the spacing of values is fixed.
        let day = p("2023-11-14").unwrap();
        let end = parse_date("2023-11-14", now, true).unwrap();
        assert_eq!(end - day, 86_399);
        let morning = p("2023-11-14T06:00:00").unwrap();
        assert_eq!(morning - day, 6 * 3600);
        assert_eq!(p("2023-11-14T06:00").unwrap(), morning);
        assert_eq!(p("today").unwrap() - p("yesterday").unwrap(), 86_400);
        for bad in [
            "",
            "soon",
            "2023-13-01",
            "3 fortnights ago",
            "x days ago",
            "@x",
            "2023-11-14T25:00:00",
        ] {
            let e = p(bad).unwrap_err();
            assert!(matches!(e, VcsError::BadDate { .. }), "{bad}: {e}");
            assert!(e.to_string().starts_with("cannot read date"), "{e}");
        }
    }
}
