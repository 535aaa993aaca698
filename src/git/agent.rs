//! The git-lfs custom transfer agent (`gadn git lfs-agent`): git-lfs hands every
//! object it uploads or downloads to gadn, keyed by the LFS oid (SHA-256), so an
//! existing git-lfs repository gains chunk dedup (and peer transfer once sync exists).
//!
//! Protocol (git-lfs `docs/custom-transfers.md`): one JSON object per line on stdin,
//! one per line on stdout.
//!
//! * `{"event":"init","operation":"upload"|"download",…}` → `{}`, or
//!   `{"error":{"code":…,"message":…}}` when the store cannot be opened.
//! * `{"event":"upload","oid":…,"size":…,"path":…}` → progress events, then
//!   `{"event":"complete","oid":…}`. The file at `path` is streamed into the store
//!   once; its SHA-256 and size are checked against `oid`/`size` while streaming, and
//!   only a match is recorded (`lfs_objects`).
//! * `{"event":"download","oid":…,"size":…}` → progress events, then
//!   `{"event":"complete","oid":…,"path":…}`: the content streamed from the store into
//!   a temporary file that git-lfs moves into place; SHA-256 and size are verified
//!   before answering. An object the store does not have answers with
//!   `"error":{"code":404,…}`.
//! * `{"event":"terminate"}` → exit 0 (end of input too).
//!
//! Per-object failures go in the `complete` message, so one bad object never stops
//! the others; malformed JSON, an unknown event or a transfer before `init` end the
//! agent with [`GitError::AgentProtocol`]. Memory stays bounded: content is streamed.
//!
//! git-lfs may run several agents at once (`concurrent`); they share the store, each
//! taking its write lock only while ingesting one object.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::content::{store_content, ContentError, ShaTee};
use super::GitError;
use crate::store::chunker::ChunkParams;
use crate::store::{ObjectId, Sha256, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

/// Bytes between two progress events (plus one at the end).
pub const PROGRESS_STEP: u64 = 4 << 20;

/// How long an upload waits for another agent holding the store's write lock.
pub const LOCK_PATIENCE: Duration = Duration::from_secs(600);

/// Where the agent keeps content and temporary files.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The gadn store (created on `init` if it does not exist).
    pub store_dir: PathBuf,
    /// Directory for downloaded files before git-lfs moves them; it should be on the
    /// same file system as `.git/lfs/objects` (the repository's `.git/lfs/tmp`).
    pub tmp_dir: PathBuf,
}

/// One request line.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Request {
    Init {
        operation: String,
    },
    Upload {
        oid: String,
        size: u64,
        path: PathBuf,
    },
    Download {
        oid: String,
        size: u64,
    },
    Terminate,
}

/// A per-object failure, reported in the `complete` message.
struct ObjectError {
    /// HTTP-like code git-lfs shows (404 missing, 400 bad request, 500 store failure).
    code: u16,
    message: String,
}

impl ObjectError {
    fn new(code: u16, message: impl Into<String>) -> ObjectError {
        ObjectError {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ObjectError {
    fn from(e: StoreError) -> ObjectError {
        ObjectError::new(500, format!("gadn store: {e}"))
    }
}

/// Runs the agent until `terminate` or end of input.
pub fn serve(
    input: impl BufRead,
    output: &mut (impl Write + Send),
    cfg: &AgentConfig,
) -> Result<(), GitError> {
    let mut store: Option<Store> = None;
    for line in input.lines() {
        let line = line.map_err(|source| GitError::Io {
            path: "<stdin>".into(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let req: Request = serde_json::from_str(&line).map_err(|e| GitError::AgentProtocol {
            // serde quotes an unknown event name whole: clip its message too.
            reason: format!("bad request `{}`: {}", clip(&line), clip(&e.to_string())),
        })?;
        match req {
            Request::Init { operation } => {
                let reply = if operation != "upload" && operation != "download" {
                    json!({"error": {"code": 32, "message":
                        format!("unknown operation `{operation}` (expected upload or download)")}})
                } else {
                    match open_or_init(&cfg.store_dir) {
                        Ok(s) => {
                            store = Some(s);
                            json!({})
                        }
                        Err(e) => json!({"error": {"code": 32, "message":
                            format!("cannot open gadn store {}: {e}", cfg.store_dir.display())}}),
                    }
                };
                send(output, &reply)?;
            }
            Request::Upload { oid, size, path } => {
                let s = store.as_mut().ok_or_else(before_init)?;
                let result =
                    parse_oid(&oid).and_then(|sha| upload(s, &sha, &oid, size, &path, output));
                complete(output, &oid, result.map(|()| None))?;
            }
            Request::Download { oid, size } => {
                let s = store.as_mut().ok_or_else(before_init)?;
                let result = parse_oid(&oid).and_then(|sha| {
                    download(s, &cfg.store_dir, &cfg.tmp_dir, &sha, &oid, size, output)
                });
                complete(output, &oid, result.map(Some))?;
            }
            Request::Terminate => return Ok(()),
        }
    }
    Ok(())
}

fn before_init() -> GitError {
    GitError::AgentProtocol {
        reason: "transfer request before init".into(),
    }
}

/// At most 200 characters of peer-controlled text, for error messages.
fn clip(line: &str) -> String {
    let mut s: String = line.chars().take(200).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

/// Opens the store, creating it when `dir` holds none (a concurrent agent may win the
/// race to create it; then this one opens it).
pub fn open_or_init(dir: &Path) -> Result<Store, StoreError> {
    match Store::open(dir) {
        Err(StoreError::NotAStore { .. }) => match Store::init(dir, ChunkParams::DEFAULT) {
            Err(StoreError::AlreadyExists { .. }) => Store::open(dir),
            other => other,
        },
        other => other,
    }
}

fn parse_oid(oid: &str) -> Result<Sha256, ObjectError> {
    let bad = || {
        ObjectError::new(
            400,
            format!("invalid oid `{oid}`: expected 64 lowercase hex digits (SHA-256)"),
        )
    };
    // Exactly 64 lowercase hex digits, as the LFS spec writes oids: a per-pair
    // `u8::from_str_radix` also took a sign ("+f") and upper case, so such an oid
    // named stored content yet never matched its hash (a download then reported the
    // store as corrupt).
    oid.parse().map_err(|_| bad())
}

fn send(output: &mut impl Write, v: &Value) -> Result<(), GitError> {
    let io = |source| GitError::Io {
        path: "<stdout>".into(),
        source,
    };
    serde_json::to_writer(&mut *output, v).map_err(|e| io(e.into()))?;
    output.write_all(b"\n").map_err(io)?;
    output.flush().map_err(io)
}

fn complete(
    output: &mut impl Write,
    oid: &str,
    result: Result<Option<PathBuf>, ObjectError>,
) -> Result<(), GitError> {
    let msg = match result {
        Ok(None) => json!({"event": "complete", "oid": oid}),
        Ok(Some(path)) => json!({"event": "complete", "oid": oid, "path": path}),
        Err(e) => json!({"event": "complete", "oid": oid,
                         "error": {"code": e.code, "message": e.message}}),
    };
    send(output, &msg)
}

/// Emits progress events for one object as bytes pass, at most every
/// [`PROGRESS_STEP`] bytes.
struct Progress<'o, W: Write> {
    output: &'o mut W,
    oid: &'o str,
    so_far: u64,
    reported: u64,
}

impl<W: Write> Progress<'_, W> {
    fn advance(&mut self, n: u64) -> std::io::Result<()> {
        self.so_far += n;
        if self.so_far - self.reported >= PROGRESS_STEP {
            self.flush_event()?;
        }
        Ok(())
    }

    fn flush_event(&mut self) -> std::io::Result<()> {
        if self.so_far == self.reported {
            return Ok(());
        }
        let v = json!({"event": "progress", "oid": self.oid,
                       "bytesSoFar": self.so_far, "bytesSinceLast": self.so_far - self.reported});
        self.reported = self.so_far;
        serde_json::to_writer(&mut *self.output, &v)?;
        self.output.write_all(b"\n")?;
        self.output.flush()
    }
}

/// Reports progress as bytes pass through `inner` (read by the store's ingest, or
/// written as content is restored).
struct WithProgress<'o, T, W: Write> {
    inner: T,
    progress: Progress<'o, W>,
}

impl<R: Read, W: Write> Read for WithProgress<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64)?;
        Ok(n)
    }
}

impl<F: Write, W: Write> Write for WithProgress<'_, F, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.advance(n as u64)?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Takes the store's write lock, waiting up to [`LOCK_PATIENCE`] for other agents.
fn lock_patiently(store: &mut Store) -> Result<crate::store::StoreLock, StoreError> {
    let start = Instant::now();
    loop {
        match store.lock() {
            Ok((lock, _)) => return Ok(lock),
            Err(StoreError::Lock(crate::store::lock::LockError::Busy { .. }))
                if start.elapsed() < LOCK_PATIENCE => {}
            Err(e) => return Err(e),
        }
    }
}

/// The file and size recorded for `sha256`, when its file is in the store (the pack
/// set looks again on a miss, so packs another agent sealed meanwhile count).
fn stored(store: &Store, sha256: &Sha256) -> Result<Option<(ObjectId, u64)>, StoreError> {
    let Some((id, size)) = store.db().lfs_get(sha256)? else {
        return Ok(None);
    };
    Ok(store.contains(&id).then_some((id, size)))
}

fn upload(
    store: &mut Store,
    sha256: &Sha256,
    oid: &str,
    size: u64,
    path: &Path,
    output: &mut (impl Write + Send),
) -> Result<(), ObjectError> {
    if let Some((_, have)) = stored(store, sha256)? {
        if have == size {
            return Ok(());
        }
    }
    let file = std::fs::File::open(path)
        .map_err(|e| ObjectError::new(400, format!("cannot read {}: {e}", path.display())))?;
    let lock = lock_patiently(store)?;
    let mut reader = WithProgress {
        inner: std::io::BufReader::with_capacity(1 << 20, file),
        progress: Progress {
            output,
            oid,
            so_far: 0,
            reported: 0,
        },
    };
    let stored = store_content(store, &lock, &mut reader, Some((*sha256, size)));
    drop(lock);
    reader
        .progress
        .flush_event()
        .map_err(|e| ObjectError::new(500, format!("cannot report progress: {e}")))?;
    match stored {
        Ok(_) => Ok(()),
        Err(ContentError::Mismatch { got, got_size, .. }) => Err(ObjectError::new(
            400,
            format!(
                "content of {} does not match: expected sha256 {oid} ({size} bytes), got {got} ({got_size} bytes); nothing recorded",
                path.display()
            ),
        )),
        Err(ContentError::Read(e) | ContentError::Store(e)) => Err(e.into()),
    }
}

fn download(
    store: &mut Store,
    dir: &Path,
    tmp_dir: &Path,
    sha256: &Sha256,
    oid: &str,
    size: u64,
    output: &mut (impl Write + Send),
) -> Result<PathBuf, ObjectError> {
    let Some((id, have)) = stored(store, sha256)? else {
        return Err(ObjectError::new(
            404,
            format!("object {oid} is not in the gadn store {}", dir.display()),
        ));
    };
    if have != size {
        return Err(ObjectError::new(
            500,
            format!("object {oid}: gadn store records {have} bytes, git-lfs expects {size}"),
        ));
    }
    std::fs::create_dir_all(tmp_dir)
        .map_err(|e| ObjectError::new(500, format!("cannot create {}: {e}", tmp_dir.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix("gadn-download-")
        .tempfile_in(tmp_dir)
        .map_err(|e| {
            ObjectError::new(
                500,
                format!("cannot create a file in {}: {e}", tmp_dir.display()),
            )
        })?;
    let file = tmp.as_file().try_clone().map_err(|e| {
        ObjectError::new(500, format!("cannot write {}: {e}", tmp.path().display()))
    })?;
    let mut w = ShaTee::new(WithProgress {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        progress: Progress {
            output,
            oid,
            so_far: 0,
            reported: 0,
        },
    });
    store.write_file(&id, &mut w)?;
    w.flush().map_err(|e| {
        ObjectError::new(500, format!("cannot write {}: {e}", tmp.path().display()))
    })?;
    w.get_mut()
        .progress
        .flush_event()
        .map_err(|e| ObjectError::new(500, format!("cannot report progress: {e}")))?;
    let (got, got_size) = (w.digest(), w.size());
    if got != *sha256 || got_size != size {
        // `tmp` is removed on drop.
        return Err(ObjectError::new(
            500,
            format!(
                "gadn store content for {oid} is corrupt: it hashes to {got} ({got_size} bytes)"
            ),
        ));
    }
    tmp.into_temp_path()
        .keep()
        .map_err(|e| ObjectError::new(500, format!("cannot keep the downloaded file: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_hex(data: &[u8]) -> String {
        Sha256::of(data).to_string()
    }

    fn run(cfg: &AgentConfig, lines: &[Value]) -> (Result<(), GitError>, Vec<Value>) {
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut out = Vec::new();
        let r = serve(input.as_bytes(), &mut out, cfg);
        let replies = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (r, replies)
    }

    fn cfg(d: &Path) -> AgentConfig {
        AgentConfig {
            store_dir: d.join("store"),
            tmp_dir: d.join("tmp"),
        }
    }

    #[test]
    fn upload_then_download_round_trips_with_progress() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        let data: Vec<u8> = (0..(9u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        let src = d.path().join("src.bin");
        std::fs::write(&src, &data).unwrap();
        let oid = sha_hex(&data);
        let size = data.len() as u64;
        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"upload","remote":"origin","concurrent":true,"concurrenttransfers":3}),
                json!({"event":"upload","oid":oid,"size":size,"path":src,"action":null}),
                json!({"event":"terminate"}),
            ],
        );
        r.unwrap();
        assert_eq!(replies[0], json!({}));
        let progress: Vec<&Value> = replies
            .iter()
            .filter(|v| v["event"] == "progress")
            .collect();
        assert!(progress.len() >= 2, "{replies:?}");
        assert_eq!(progress.last().unwrap()["bytesSoFar"], json!(size));
        let total: u64 = progress
            .iter()
            .map(|p| p["bytesSinceLast"].as_u64().unwrap())
            .sum();
        assert_eq!(total, size);
        assert_eq!(
            replies.last().unwrap(),
            &json!({"event":"complete","oid":oid})
        );

        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"download","remote":"origin","concurrent":false}),
                json!({"event":"download","oid":oid,"size":size}),
            ],
        );
        r.unwrap();
        let done = replies.last().unwrap();
        assert_eq!(done["event"], "complete");
        assert!(done.get("error").is_none(), "{done}");
        let path = PathBuf::from(done["path"].as_str().unwrap());
        assert!(path.starts_with(&cfg.tmp_dir));
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn per_object_errors_go_in_complete_and_record_nothing() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        let src = d.path().join("a");
        std::fs::write(&src, b"hello").unwrap();
        let wrong = sha_hex(b"other");
        let missing = sha_hex(b"never uploaded");
        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"upload"}),
                json!({"event":"upload","oid":wrong,"size":5,"path":src}),
                json!({"event":"upload","oid":"xyz","size":5,"path":src}),
                json!({"event":"upload","oid":sha_hex(b"hello"),"size":5,"path":d.path().join("nope")}),
                json!({"event":"download","oid":missing,"size":3}),
                json!({"event":"terminate"}),
            ],
        );
        r.unwrap();
        let completes: Vec<&Value> = replies
            .iter()
            .filter(|v| v["event"] == "complete")
            .collect();
        assert_eq!(completes.len(), 4);
        let msg = |v: &Value| v["error"]["message"].as_str().unwrap().to_string();
        assert_eq!(completes[0]["error"]["code"], 400);
        assert!(
            msg(completes[0]).contains("does not match"),
            "{}",
            completes[0]
        );
        assert!(msg(completes[1]).contains("invalid oid"));
        assert!(msg(completes[2]).contains("cannot read"));
        assert_eq!(completes[3]["error"]["code"], 404);
        let store = Store::open(&cfg.store_dir).unwrap();
        let sha = Sha256::of(b"other");
        assert_eq!(store.db().lfs_get(&sha).unwrap(), None);
        assert!(store.db().lfs_roots().unwrap().is_empty());
    }

    #[test]
    fn protocol_violations_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        for (input, needle) in [
            ("not json\n", "bad request"),
            ("{\"event\":\"dance\"}\n", "bad request"),
            (
                "{\"event\":\"download\",\"oid\":\"ab\",\"size\":1}\n",
                "before init",
            ),
        ] {
            let mut out = Vec::new();
            let e = serve(input.as_bytes(), &mut out, &cfg).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        let (r, replies) = run(&cfg, &[json!({"event":"init","operation":"sideways"})]);
        r.unwrap();
        assert!(replies[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown operation"));
    }

    /// Puts `data` in the store under its own SHA-256 via the agent; returns the oid.
    fn upload_via_agent(cfg: &AgentConfig, data: &[u8]) -> String {
        let src = cfg.tmp_dir.with_extension("src");
        std::fs::write(&src, data).unwrap();
        let oid = sha_hex(data);
        let (r, replies) = run(
            cfg,
            &[
                json!({"event":"init","operation":"upload"}),
                json!({"event":"upload","oid":oid,"size":data.len(),"path":src}),
            ],
        );
        r.unwrap();
        assert_eq!(
            replies.last().unwrap(),
            &json!({"event":"complete","oid":oid})
        );
        oid
    }

    #[test]
    fn oids_must_be_64_lowercase_hex_digits() {
        let good = sha_hex(b"x");
        assert!(parse_oid(&good).is_ok());
        // `u8::from_str_radix` accepts a sign; an oid is digits only.
        let signed = format!("+{}", &good[1..]);
        assert_eq!(signed.len(), 64);
        let upper = good.to_uppercase();
        let multibyte = format!("é{}", &good[2..]);
        for bad in [signed.as_str(), &upper, &multibyte, &good[..63], ""] {
            let Err(e) = parse_oid(bad) else {
                panic!("{bad} accepted")
            };
            assert_eq!(e.code, 400, "{bad}");
            assert!(e.message.contains("invalid oid"), "{}", e.message);
        }
    }

    #[test]
    fn a_signed_oid_naming_stored_content_is_refused_not_called_corrupt() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        // An oid whose first byte is 0x0? ("0f…") read the same as "+f…" before.
        let data = (0u32..)
            .map(|i| i.to_le_bytes().to_vec())
            .find(|c| sha_hex(c).starts_with('0'))
            .unwrap();
        let oid = upload_via_agent(&cfg, &data);
        let signed = format!("+{}", &oid[1..]);
        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"download"}),
                json!({"event":"download","oid":signed,"size":data.len()}),
            ],
        );
        r.unwrap();
        let done = replies.last().unwrap();
        assert_eq!(done["error"]["code"], 400, "{done}");
        assert!(done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid oid"));
        assert!(!cfg.tmp_dir.exists() || std::fs::read_dir(&cfg.tmp_dir).unwrap().count() == 0);
    }

    #[test]
    fn uploading_stored_content_again_is_a_no_op() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        let data = b"already here".to_vec();
        let oid = upload_via_agent(&cfg, &data);
        let packs = |d: &Path| std::fs::read_dir(d.join("store")).unwrap().count();
        let before = packs(d.path());
        // The second upload names a path that does not exist: it must not be read.
        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"upload"}),
                json!({"event":"upload","oid":oid,"size":data.len(),"path":d.path().join("gone")}),
            ],
        );
        r.unwrap();
        assert_eq!(
            replies,
            vec![json!({}), json!({"event":"complete","oid":oid})]
        );
        assert_eq!(packs(d.path()), before);
    }

    #[test]
    fn download_refuses_wrong_size_and_corrupt_records_leaving_no_file() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        let data = b"twelve bytes".to_vec();
        let oid = upload_via_agent(&cfg, &data);
        // Record another oid for this content: the store's bytes hash differently.
        let other = sha_hex(b"different content");
        {
            let store = Store::open(&cfg.store_dir).unwrap();
            let (id, _) = store.db().lfs_get(&Sha256::of(&data)).unwrap().unwrap();
            let sha = Sha256::of(b"different content");
            store.db().lfs_put(&sha, &id, data.len() as u64).unwrap();
        }
        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"download"}),
                json!({"event":"download","oid":oid,"size":data.len() + 1}),
                json!({"event":"download","oid":other,"size":data.len()}),
            ],
        );
        r.unwrap();
        let completes: Vec<&Value> = replies
            .iter()
            .filter(|v| v["event"] == "complete")
            .collect();
        assert_eq!(completes.len(), 2, "{replies:?}");
        let msg = |v: &Value| v["error"]["message"].as_str().unwrap().to_string();
        assert_eq!(completes[0]["error"]["code"], 500);
        assert!(msg(completes[0]).contains("records 12 bytes, git-lfs expects 13"));
        assert_eq!(completes[1]["error"]["code"], 500);
        assert!(msg(completes[1]).contains("is corrupt"), "{}", completes[1]);
        assert!(completes[1].get("path").is_none());
        let left: Vec<_> = std::fs::read_dir(&cfg.tmp_dir).unwrap().collect();
        assert!(left.is_empty(), "temporary file removed: {left:?}");
    }

    #[test]
    fn unusable_store_or_tmp_dir_are_reported_not_fatal() {
        let d = tempfile::tempdir().unwrap();
        // The store path is a regular file: init answers an error, transfers then
        // are protocol violations (git-lfs stops after a failed init).
        let blocked = AgentConfig {
            store_dir: d.path().join("file"),
            tmp_dir: d.path().join("tmp"),
        };
        std::fs::write(&blocked.store_dir, b"not a store").unwrap();
        let (r, replies) = run(&blocked, &[json!({"event":"init","operation":"upload"})]);
        r.unwrap();
        assert_eq!(replies[0]["error"]["code"], 32);
        assert!(replies[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot open gadn store"));

        // A tmp dir that cannot be created fails the download, not the agent.
        let mut cfg = cfg(d.path());
        let oid = upload_via_agent(&cfg, b"content");
        cfg.tmp_dir = blocked.store_dir.join("tmp");
        let (r, replies) = run(
            &cfg,
            &[
                json!({"event":"init","operation":"download"}),
                json!({"event":"download","oid":oid,"size":7}),
                json!({"event":"terminate"}),
                json!({"event":"download","oid":oid,"size":7}),
            ],
        );
        r.unwrap();
        assert_eq!(
            replies.len(),
            2,
            "nothing served after terminate: {replies:?}"
        );
        assert_eq!(replies[1]["error"]["code"], 500);
        assert!(replies[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot create"));
    }

    #[test]
    fn blank_lines_are_skipped_and_long_garbage_is_clipped() {
        let d = tempfile::tempdir().unwrap();
        let cfg = cfg(d.path());
        let mut out = Vec::new();
        serve(&b"\n  \n{\"event\":\"terminate\"}\n"[..], &mut out, &cfg).unwrap();
        assert!(out.is_empty());
        let long = format!("{{\"event\":\"{}\"}}\n", "x".repeat(500));
        let e = serve(long.as_bytes(), &mut out, &cfg).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, GitError::AgentProtocol { .. }), "{e}");
        assert!(msg.contains('…') && msg.len() < 600, "{msg}");
        assert!(msg.contains("unknown variant"), "{msg}");
        // Input that is not UTF-8 is an I/O error on stdin.
        let e = serve(&b"\xff\xfe\n"[..], &mut out, &cfg).unwrap_err();
        assert!(e.to_string().contains("<stdin>"), "{e}");
    }
}
