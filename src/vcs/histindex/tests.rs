use super::*;
use crate::store::object::Person;
use crate::vcs::testutil::{commit_all, put, repo};
use crate::vcs::treeops::{build, FlatEntry};

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Paths a random history uses; `k` and `k/v` never coexist (file becomes directory).
const PATHS: [&str; 8] = ["a", "b", "d/x", "d/y", "d/e/z", "k", "k/v", "m.txt"];
/// Directory prefixes queried besides the files.
const DIRS: [&str; 4] = ["", "d", "d/e", "zz"];

fn entry(path: &str, content: u8, exec: bool, meta: bool) -> FlatEntry {
    FlatEntry {
        path: path.into(),
        kind: if exec {
            EntryKind::Executable
        } else {
            EntryKind::File
        },
        id: ObjectId::of_chunk(&[content]),
        size: u64::from(content),
        meta: meta.then(|| ObjectId::of_chunk(b"meta")),
    }
}

fn conflicts(files: &[FlatEntry], path: &str) -> bool {
    files.iter().any(|f| {
        f.path.starts_with(&format!("{path}/")) || path.starts_with(&format!("{}/", f.path))
    })
}

/// One random edit of a snapshot: add, modify, delete, rename, retype or re-meta.
fn mutate(rng: &mut Rng, files: &mut Vec<FlatEntry>) {
    let path = PATHS[rng.below(PATHS.len())];
    let content = 1 + rng.below(4) as u8;
    match (rng.below(6), files.iter().position(|f| f.path == path)) {
        (0 | 1, None) if !conflicts(files, path) => {
            files.push(entry(path, content, false, false));
        }
        (0 | 1, Some(i)) => files[i].id = ObjectId::of_chunk(&[content]),
        (2, Some(i)) => {
            files.remove(i);
        }
        (3, Some(i)) => {
            let to = PATHS[rng.below(PATHS.len())];
            if !files.iter().any(|f| f.path == to) {
                let mut moved = files.remove(i);
                if conflicts(files, to) {
                    files.insert(i, moved);
                } else {
                    moved.path = to.into();
                    files.push(moved);
                }
            }
        }
        (4, Some(i)) => {
            files[i].kind = if files[i].kind == EntryKind::File {
                EntryKind::Executable
            } else {
                EntryKind::File
            }
        }
        (5, Some(i)) => {
            files[i].meta = match files[i].meta {
                Some(_) => None,
                None => Some(ObjectId::of_chunk(b"meta")),
            }
        }
        _ => {}
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
}

/// Writes a random history of `n` commits with branches and merges; returns the
/// commits with their snapshots.
fn random_history(r: &mut Repo, seed: u64, n: usize) -> Vec<(ObjectId, Vec<FlatEntry>)> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (lock, _) = r.store_mut().lock().unwrap();
    let mut w = r.store_mut().writer(&lock);
    let mut made: Vec<(ObjectId, Vec<FlatEntry>)> = Vec::new();
    let authors = ["Ada", "Bob", "Ümit"];
    for k in 0..n {
        let (parents, mut files) = match (made.len(), rng.below(5)) {
            (0, _) => (vec![], vec![entry("a", 1, false, false)]),
            (len, 0) if len >= 2 => {
                let (x, y) = (rng.below(len), rng.below(len));
                // A merge: the first parent's files, some taken from the second.
                let mut files = made[x].1.clone();
                for f in &made[y].1 {
                    if rng.below(2) == 0 && !conflicts(&files, &f.path) {
                        files.retain(|g| g.path != f.path);
                        files.push(f.clone());
                    }
                }
                files.sort_by(|a, b| a.path.cmp(&b.path));
                (vec![made[x].0, made[y].0], files)
            }
            (len, _) => {
                // Mostly extend a recent commit; sometimes branch from an old one.
                let x = if rng.below(3) == 0 {
                    rng.below(len)
                } else {
                    len - 1
                };
                (vec![made[x].0], made[x].1.clone())
            }
        };
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut files);
        }
        let tree = build(&mut w, &files).unwrap();
        // Coarse, sometimes equal and sometimes going backwards (clock skew).
        let t = 1000 + (k as i64) * 10 - 15 * rng.below(3) as i64;
        let who = Person {
            name: authors[rng.below(3)].into(),
            email: "x@example.org".into(),
            time: t,
            tz_offset_min: 0,
        };
        let id = w
            .put_commit(&Commit {
                tree,
                parents,
                author: who.clone(),
                committer: who,
                message: format!("commit {k} {}", ["fix", "Art", "tune"][rng.below(3)]),
                notes: if rng.below(4) == 0 {
                    vec![("ticket".into(), format!("T-{k}"))]
                } else {
                    vec![]
                },
                signature: None,
            })
            .unwrap();
        made.push((id, files));
    }
    w.finish().unwrap();
    drop(lock);
    made
}

type HistKey = (ObjectId, String, ChangeKind, Option<String>, ObjectId, u64);

fn hist_keys(h: Vec<HistoryEntry>) -> Vec<HistKey> {
    h.into_iter()
        .map(|e| (e.id, e.path, e.change, e.renamed_from, e.file, e.size))
        .collect()
}

fn log_ids(l: Vec<LogEntry>) -> Vec<ObjectId> {
    l.into_iter().map(|e| e.id).collect()
}

#[test]
fn indexed_answers_equal_the_tree_walk_on_random_histories() {
    for seed in 1..=12u64 {
        let (_d, mut r) = repo();
        let made = random_history(&mut r, seed, 24);
        for (c, files) in &made {
            for f in files {
                assert_eq!(
                    hist_keys(r.history(*c, &f.path).unwrap()),
                    hist_keys(r.history_walk(*c, &f.path).unwrap()),
                    "seed {seed}, history of {} at {c}",
                    f.path
                );
            }
            for p in PATHS.iter().chain(DIRS.iter()) {
                let filter = LogFilter {
                    path: Some(p.to_string()),
                    ..Default::default()
                };
                assert_eq!(
                    log_ids(r.log_indexed(*c, &filter, None).unwrap()),
                    log_ids(r.log_walk(*c, &filter, None).unwrap()),
                    "seed {seed}, log --path {p:?} at {c}"
                );
            }
        }
        let (tip, _) = made[made.len() - 1];
        let filters = [
            LogFilter {
                author: Some("ada".into()),
                ..Default::default()
            },
            LogFilter {
                author: Some("ÜMIT".into()),
                grep: Some("art".into()),
                ..Default::default()
            },
            LogFilter {
                grep: Some("t-1".into()),
                since: Some(1050),
                until: Some(1200),
                ..Default::default()
            },
            LogFilter {
                path: Some("d".into()),
                author: Some("bob".into()),
                ..Default::default()
            },
        ];
        for f in &filters {
            for limit in [None, Some(2)] {
                assert_eq!(
                    log_ids(r.log_indexed(tip, f, limit).unwrap()),
                    log_ids(r.log_walk(tip, f, limit).unwrap()),
                    "seed {seed}, {f:?}"
                );
            }
        }
    }
}

#[test]
fn catch_up_indexes_only_new_commits() {
    let (_d, mut r) = repo();
    put(&r, "a.txt", b"one");
    let c1 = commit_all(&mut r, "one");
    assert_eq!(r.hist_catch_up(&[]).unwrap(), 1);
    assert_eq!(r.hist_catch_up(&[]).unwrap(), 0);
    put(&r, "a.txt", b"two");
    put(&r, "dir/b.txt", b"b");
    let c2 = commit_all(&mut r, "two");
    assert_eq!(r.hist_catch_up(&[c1]).unwrap(), 1);
    let db = r.store().db();
    let key = db.hist_key(&c2).unwrap().unwrap();
    assert!(db.hist_key(&c1).unwrap().unwrap() < key);
    let mut at: Vec<(String, u8)> = ["a.txt", "dir/b.txt"]
        .iter()
        .flat_map(|p| db.hist_changes_at(p).unwrap())
        .filter(|(k, _)| *k == key)
        .map(|(_, c)| (c.path, c.kind))
        .collect();
    at.sort();
    assert_eq!(at, vec![("a.txt".into(), b'M'), ("dir/b.txt".into(), b'A')]);
    // Something that is not a commit is not a tip.
    let tree = r.store().commit(&c2).unwrap().tree;
    assert_eq!(r.peel_commit(tree).unwrap(), None);
    assert!(r.hist_catch_up(&[ObjectId::of_chunk(b"missing")]).is_err());
}

#[test]
fn tree_changes_pair_renames_like_treeops() {
    let (_d, mut r) = repo();
    let (lock, _) = r.store_mut().lock().unwrap();
    let mut w = r.store_mut().writer(&lock);
    let old = build(
        &mut w,
        &[
            entry("a", 1, false, false),
            entry("d/x", 2, false, false),
            entry("d/y", 2, false, false),
            entry("k", 3, false, false),
            entry("same/s", 4, false, false),
        ],
    )
    .unwrap();
    let new = build(
        &mut w,
        &[
            entry("a", 1, true, false),
            entry("b", 2, false, false),
            entry("k/v", 3, false, false),
            entry("same/s", 4, false, false),
        ],
    )
    .unwrap();
    w.finish().unwrap();
    drop(lock);
    let got: Vec<(String, u8, Option<String>)> = tree_changes(r.store(), Some(old), new, 1)
        .unwrap()
        .into_iter()
        .map(|c| {
            assert_eq!(c.parent, 1);
            (c.path, c.kind, c.src)
        })
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        got,
        vec![
            (s("a"), b'T', None),
            (s("b"), b'R', Some(s("d/y"))),
            (s("d/x"), b'D', None),
            (s("d/y"), b'D', None),
            (s("k"), b'D', None),
            (s("k/v"), b'R', Some(s("k"))),
        ]
    );
    let root = tree_changes(r.store(), None, new, 0).unwrap();
    assert_eq!(root.len(), 4);
    assert!(root.iter().all(|c| c.kind == b'A'));
}

/// Runs SQL on the repository's state database through a second connection, as a
/// user editing it by hand would.
fn tamper(r: &Repo, sql: &str) {
    let conn = rusqlite::Connection::open(r.store().db().path()).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn a_damaged_index_is_rebuilt_and_answers_stay_right() {
    let (_d, mut r) = repo();
    let made = random_history(&mut r, 99, 20);
    let (tip, files) = made[made.len() - 1].clone();
    let path = files[0].path.clone();
    let want = hist_keys(r.history_walk(tip, &path).unwrap());
    let filter = LogFilter {
        path: Some(path.clone()),
        ..Default::default()
    };
    let want_log = log_ids(r.log_walk(tip, &filter, None).unwrap());
    let check = |r: &Repo| {
        assert_eq!(hist_keys(r.history(tip, &path).unwrap()), want);
        assert_eq!(
            log_ids(r.log_indexed(tip, &filter, None).unwrap()),
            want_log
        );
    };
    check(&r);
    for sql in [
        // Rows gone: counts disagree with hist_meta.
        "DELETE FROM hist_changes WHERE path = (SELECT min(path) FROM hist_changes)",
        "DELETE FROM hist_changes WHERE commit_key = (SELECT max(key) FROM hist_commits)",
        "DELETE FROM hist_meta",
        "DELETE FROM hist_commits WHERE key = (SELECT min(key) FROM hist_commits)",
        // Same counts, wrong content: found by the queries themselves.
        "UPDATE hist_changes SET kind = 'D', file = NULL, size = NULL",
        "UPDATE hist_changes SET kind = 'M'",
        "UPDATE hist_commits SET parents = x'2a00000000000000' WHERE key = (SELECT max(key) FROM hist_commits)",
        "UPDATE hist_commits SET parents = x'01'",
        "UPDATE hist_changes SET size = -1",
        "UPDATE hist_commits SET id = zeroblob(32) WHERE key = (SELECT min(key) FROM hist_commits)",
    ] {
        tamper(&r, sql);
        check(&r);
    }
    // A row-less index of commits that all exist (changes deleted, counts forged).
    tamper(
        &r,
        "DELETE FROM hist_changes; UPDATE hist_meta SET changes = 0;",
    );
    check(&r);
}

#[test]
fn a_commit_outside_every_ref_is_indexed_when_asked_for() {
    let (_d, mut r) = repo();
    let made = random_history(&mut r, 7, 5);
    // No refs point anywhere: the start itself is the tip.
    let (c, files) = &made[4];
    let h = r.history(*c, &files[0].path).unwrap();
    assert!(!h.is_empty());
    assert!(r.store().db().hist_key(c).unwrap().is_some());
}

#[test]
fn plain_ref_names_resolve_without_reading_objects_and_others_fall_back() {
    let (_d, mut r) = repo();
    put(&r, "a.txt", b"1");
    let c1 = commit_all(&mut r, "one");
    put(&r, "a.txt", b"2");
    let c2 = commit_all(&mut r, "two");
    r.create_tag("v1", Some("HEAD~1"), None).unwrap();
    // Not indexed yet: the ordinary resolver answers.
    assert_eq!(r.resolve_commit_indexed("HEAD").unwrap(), c2);
    r.hist_catch_up(&[]).unwrap();
    for (rev, want) in [
        ("HEAD", c2),
        ("@", c2),
        ("main", c2),
        ("refs/heads/main", c2),
        ("v1", c1),
        ("HEAD~1", c1),
        ("main^", c1),
    ] {
        assert_eq!(r.resolve_commit_indexed(rev).unwrap(), want, "{rev}");
        assert_eq!(r.resolve_commit(rev).unwrap(), want, "{rev}");
    }
    assert_eq!(r.resolve_commit_indexed(&c1.to_hex()[..12]).unwrap(), c1);
    for bad in ["nope", "HEAD~5", "", "a..b"] {
        assert!(r.resolve_commit_indexed(bad).is_err(), "{bad}");
    }
}

#[test]
fn history_reports_missing_paths_and_directories_from_the_tree() {
    let (_d, mut r) = repo();
    put(&r, "k", b"file");
    put(&r, "gone.txt", b"x");
    put(&r, "keep.txt", b"k");
    commit_all(&mut r, "one");
    std::fs::remove_file(r.root().join("k")).unwrap();
    std::fs::remove_file(r.root().join("gone.txt")).unwrap();
    put(&r, "k/v", b"now a directory");
    let c2 = commit_all(&mut r, "two");
    assert!(matches!(
        r.history(c2, "gone.txt"),
        Err(VcsError::PathNotFound { .. })
    ));
    assert!(matches!(
        r.history(c2, "never.txt"),
        Err(VcsError::PathNotFound { .. })
    ));
    assert!(matches!(r.history(c2, "k"), Err(VcsError::BadPath { .. })));
    assert_eq!(r.history(c2, "k/v").unwrap().len(), 1);
    assert_eq!(r.history_limited(c2, "keep.txt", Some(0)).unwrap().len(), 0);
    assert!(matches!(
        r.history_limited(c2, "gone.txt", Some(0)),
        Err(VcsError::PathNotFound { .. })
    ));
    // A forged deletion of a file the tree holds: found out, rebuilt, answered.
    let db_path = r.store().db().path().to_path_buf();
    rusqlite::Connection::open(db_path)
        .unwrap()
        .execute_batch(
            "UPDATE hist_changes SET kind = 'D', file = NULL, size = NULL WHERE path = 'keep.txt'",
        )
        .unwrap();
    assert_eq!(r.history(c2, "keep.txt").unwrap().len(), 1);
}
