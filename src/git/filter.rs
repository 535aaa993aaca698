//! Git's long-running filter process, protocol version 2 (gitattributes(5),
//! "Long Running Filter Process"; `store-format.md` § *Git pointer files and the
//! filter process*).
//!
//! * `clean`: the content streams into the gadn store (SHA-256 computed on the way,
//!   never a second pass), `lfs_objects` records sha256 → file id, and Git gets the
//!   pointer. Content that already is a valid pointer passes through unchanged (so a
//!   dropped file stays clean). The store lock is held for one file at a time.
//! * `smudge`: a pointer becomes its content, streamed from the store and checked
//!   against the pointer's SHA-256 and size as it goes. Anything that is not a pointer
//!   passes through unchanged (like git-lfs); a file the partial-smudge rules do not
//!   want stays a pointer; a corrupt pointer or content missing from the store is
//!   reported on stderr and checked out as the pointer file itself (Git dies on the
//!   first `status=error` of a required filter, which would kill the whole checkout).
//!   `status=error` is kept for failures after content started (the store's content
//!   is damaged or does not match the pointer), store write failures on clean, and
//!   unknown commands.
//! * `delay`: with `can-delay=1`, content that is not local is answered
//!   `status=delayed` and served after `list_available_blobs`. With no sync yet, local
//!   content is never delayed unless `GADN_FILTER_DELAY=1` forces it (tests).
//!
//! Framing or handshake errors end the process with a message (Git reports the
//! filter as failed); everything else is answered per file. Memory stays bounded:
//! content moves one packet (64 KiB) or one ingest batch at a time, and pass-through
//! content larger than a pointer is spooled to a temporary file.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;

use sha2::Digest;

use super::content::{store_content, ContentError, Stored};
use super::pktline::{PktReader, PktWriter};
use super::pointer::{looks_like_pointer, Pointer, MAX_POINTER_LEN};
use super::rules::Rules;
use super::sources::Sources;
use super::GitError;
use crate::store::{ObjectId, Sha256, Store, StoreError};

/// Environment variable that makes the filter delay every smudge Git allows it to
/// (`can-delay=1`), to exercise the delay protocol without a network.
pub const FORCE_DELAY_ENV: &str = "GADN_FILTER_DELAY";

/// Capabilities this filter implements.
const CAPABILITIES: [&str; 3] = ["clean", "smudge", "delay"];

/// Settings of one filter process.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// The Git directory (the store is [`super::store_dir`] of it).
    pub git_dir: PathBuf,
    /// Delay every smudge Git allows to be delayed.
    pub force_delay: bool,
}

impl FilterConfig {
    /// The configuration for the repository whose Git directory is `git_dir`, with
    /// [`FORCE_DELAY_ENV`] read from the environment.
    pub fn from_env(git_dir: PathBuf) -> FilterConfig {
        FilterConfig {
            git_dir,
            force_delay: std::env::var(FORCE_DELAY_ENV).is_ok_and(|v| v == "1"),
        }
    }
}

fn protocol(reason: impl Into<String>) -> GitError {
    GitError::FilterProtocol {
        reason: reason.into(),
    }
}

fn io_err(what: &str) -> impl Fn(io::Error) -> GitError + '_ {
    move |e| protocol(format!("{what}: {e}"))
}

/// What one command's answer is.
enum Outcome {
    /// `status=success` with this content already sent.
    Done,
    /// `status=error`: this file failed; the message goes to stderr.
    Error(String),
}

/// The server state of one filter process.
struct Server {
    config: FilterConfig,
    store: Result<Store, String>,
    rules: Result<Rules, String>,
    can_delay: bool,
    /// Paths answered `status=delayed`, with their pointers, until Git asks again.
    delayed: BTreeMap<String, Pointer>,
    /// Delayed paths not yet announced by `list_available_blobs`.
    unannounced: Vec<String>,
    /// Other stores missing content is copied from; discovered on first need.
    sources: Option<Sources>,
}

/// Runs the filter protocol on `input`/`output` (Git's pipes) until Git closes
/// `input`. Errors on stderr are per file; a returned error means the session broke.
pub fn serve<R: Read + Send, W: Write>(
    config: FilterConfig,
    input: R,
    output: W,
) -> Result<(), GitError> {
    let mut rd = PktReader::new(io::BufReader::with_capacity(1 << 16, input));
    let mut wr = PktWriter::new(io::BufWriter::with_capacity(1 << 16, output));
    let caps = handshake(&mut rd, &mut wr)?;
    let store_dir = super::store_dir(&config.git_dir);
    let store = open_or_create(&store_dir);
    let rules = Rules::load(&config.git_dir).map_err(|e| e.to_string());
    let mut server = Server {
        config,
        store,
        rules,
        can_delay: caps.iter().any(|c| c == "delay"),
        delayed: BTreeMap::new(),
        unannounced: Vec::new(),
        sources: None,
    };
    while let Some(header) = rd.read_text_list().map_err(io_err("reading a command"))? {
        server.command(&header, &mut rd, &mut wr)?;
    }
    Ok(())
}

/// The repository's store, created on first use: Git runs this filter because the
/// repository's attributes say so (a global install, a fresh clone), and a missing
/// store must not fail the checkout. A store that cannot be opened or created fails
/// each file with the reason.
fn open_or_create(store_dir: &std::path::Path) -> Result<Store, String> {
    if store_dir.join(crate::store::DB_FILE).is_file() {
        return Store::open(store_dir).map_err(|e| e.to_string());
    }
    match Store::init(store_dir, crate::store::chunker::ChunkParams::DEFAULT) {
        Ok(s) => Ok(s),
        // Another filter process (a second worktree) created it first.
        Err(_) if store_dir.join(crate::store::DB_FILE).is_file() => {
            Store::open(store_dir).map_err(|e| e.to_string())
        }
        Err(e) => Err(format!(
            "no gadn store at {} and it cannot be created: {e}",
            store_dir.display()
        )),
    }
}

/// Exchanges the welcome and capabilities; returns the capabilities agreed.
fn handshake<R: Read, W: Write>(
    rd: &mut PktReader<R>,
    wr: &mut PktWriter<W>,
) -> Result<Vec<String>, GitError> {
    let hello = rd
        .read_text_list()
        .map_err(io_err("reading the welcome"))?
        .ok_or_else(|| protocol("input ended before the welcome"))?;
    if hello.first().map(String::as_str) != Some("git-filter-client") {
        return Err(protocol(format!(
            "expected git-filter-client, got {:?}",
            hello.first()
        )));
    }
    if !hello.iter().any(|l| l == "version=2") {
        return Err(protocol(format!(
            "Git offers versions {:?}; this filter speaks version=2 only",
            &hello[1..]
        )));
    }
    wr.write_text_list(&["git-filter-server", "version=2"])
        .map_err(io_err("writing the welcome"))?;
    let offered = rd
        .read_text_list()
        .map_err(io_err("reading capabilities"))?
        .ok_or_else(|| protocol("input ended before the capabilities"))?;
    // Unknown capabilities are ignored, per protocol; answer only those offered.
    let agreed: Vec<String> = offered
        .iter()
        .filter_map(|l| l.strip_prefix("capability="))
        .filter(|c| CAPABILITIES.contains(c))
        .map(str::to_string)
        .collect();
    let lines: Vec<String> = agreed.iter().map(|c| format!("capability={c}")).collect();
    wr.write_text_list(&lines)
        .map_err(io_err("writing capabilities"))?;
    Ok(agreed)
}

/// `key=value` lookup in a command header.
fn field<'a>(header: &'a [String], key: &str) -> Option<&'a str> {
    header
        .iter()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

/// Reports a per-file failure on stderr, prefixed so Git's own message has context.
fn report(path: &str, msg: &str) {
    eprintln!("gadn filter: {path}: {msg}");
}

/// Reads up to `MAX_POINTER_LEN + 1` bytes: enough to know whether content can be
/// a pointer.
fn read_head(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(MAX_POINTER_LEN + 1);
    r.take(MAX_POINTER_LEN as u64 + 1).read_to_end(&mut head)?;
    Ok(head)
}

/// A writer that counts what passes through and, when enabled, hashes it with SHA-256
/// on a second thread, so a smudge's verification overlaps reading and decompressing
/// the next chunk instead of adding to it. At most [`SHA_QUEUE`] buffers are in flight.
struct ParallelSha<W> {
    inner: W,
    bytes: u64,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    worker: Option<std::thread::JoinHandle<Sha256>>,
}

/// Buffers queued for the hashing thread (each one write, typically a chunk).
const SHA_QUEUE: usize = 16;

impl<W: Write> ParallelSha<W> {
    fn new(inner: W, enabled: bool) -> Self {
        if !enabled {
            return ParallelSha {
                inner,
                bytes: 0,
                tx: None,
                worker: None,
            };
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(SHA_QUEUE);
        let worker = std::thread::spawn(move || {
            let mut sha = sha2::Sha256::new();
            for buf in rx {
                sha.update(&buf);
            }
            Sha256(sha.finalize().into())
        });
        ParallelSha {
            inner,
            bytes: 0,
            tx: Some(tx),
            worker: Some(worker),
        }
    }

    /// The SHA-256 of everything written (`None` when not enabled) and its length;
    /// `None` if the hashing thread died (it cannot, short of a bug).
    fn finish(mut self) -> Option<(Option<Sha256>, u64)> {
        drop(self.tx.take());
        match self.worker.take() {
            None => Some((None, self.bytes)),
            Some(w) => Some((Some(w.join().ok()?), self.bytes)),
        }
    }
}

impl<W: Write> Write for ParallelSha<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(tx) = &self.tx {
            if tx.send(buf[..n].to_vec()).is_err() {
                return Err(io::Error::other("the SHA-256 thread stopped"));
            }
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Server {
    fn command<R: Read + Send, W: Write>(
        &mut self,
        header: &[String],
        rd: &mut PktReader<R>,
        wr: &mut PktWriter<W>,
    ) -> Result<(), GitError> {
        let command = field(header, "command").unwrap_or("");
        let path = field(header, "pathname").unwrap_or("").to_string();
        match command {
            "clean" => {
                let outcome = self.clean(&path, rd, wr)?;
                self.finish(&path, outcome, wr)
            }
            "smudge" => {
                let can_delay = self.can_delay && field(header, "can-delay") == Some("1");
                let outcome = self.smudge(&path, can_delay, rd, wr)?;
                self.finish(&path, outcome, wr)
            }
            "list_available_blobs" if self.can_delay => {
                let lines: Vec<String> = std::mem::take(&mut self.unannounced)
                    .into_iter()
                    .map(|p| format!("pathname={p}"))
                    .collect();
                wr.write_text_list(&lines)
                    .map_err(io_err("writing available blobs"))?;
                wr.write_text_list(&["status=success"])
                    .map_err(io_err("writing status"))
            }
            other => {
                report(&path, &format!("unknown command {other:?}"));
                wr.write_text_list(&["status=error"])
                    .map_err(io_err("writing status"))
            }
        }
    }

    /// Sends the status for an outcome where no content was sent yet (errors), or
    /// the closing status list after content.
    fn finish<W: Write>(
        &self,
        path: &str,
        outcome: Outcome,
        wr: &mut PktWriter<W>,
    ) -> Result<(), GitError> {
        match outcome {
            Outcome::Done => Ok(()),
            Outcome::Error(msg) => {
                report(path, &msg);
                wr.write_text_list(&["status=error"])
                    .map_err(io_err("writing status"))
            }
        }
    }

    fn store(&mut self) -> Result<&mut Store, String> {
        self.store.as_mut().map_err(|e| e.clone())
    }

    /// Sends `status=success`, `content` (bytes then the rest of `rest`), flush, and
    /// an empty status list (the status stays success).
    fn send_content<W: Write>(
        wr: &mut PktWriter<W>,
        content: &[u8],
        rest: Option<&mut dyn Read>,
    ) -> Result<(), GitError> {
        wr.write_text_list(&["status=success"])
            .map_err(io_err("writing status"))?;
        let mut dw = wr.data_writer();
        dw.write_all(content).map_err(io_err("writing content"))?;
        if let Some(r) = rest {
            io::copy(r, &mut dw).map_err(io_err("writing content"))?;
        }
        dw.finish().map_err(io_err("writing content"))?;
        wr.flush_pkt().map_err(io_err("writing content"))?;
        wr.flush_pkt().map_err(io_err("writing status"))
    }

    fn clean<R: Read + Send, W: Write>(
        &mut self,
        path: &str,
        rd: &mut PktReader<R>,
        wr: &mut PktWriter<W>,
    ) -> Result<Outcome, GitError> {
        let mut input = rd.data_reader();
        let head = read_head(&mut input).map_err(io_err("reading content"))?;
        if head.len() <= MAX_POINTER_LEN && Pointer::parse(&head).is_ok() {
            // Already a pointer (a dropped file): it is what Git should store.
            input.drain().map_err(io_err("reading content"))?;
            Self::send_content(wr, &head, None)?;
            return Ok(Outcome::Done);
        }
        let store = match self.store() {
            Ok(s) => s,
            Err(msg) => {
                input.drain().map_err(io_err("reading content"))?;
                return Ok(Outcome::Error(msg));
            }
        };
        let result = (|| -> Result<Stored, ContentError> {
            let (lock, _) = store.lock()?;
            let reader = io::Cursor::new(&head).chain(&mut input);
            let stored = store_content(store, &lock, reader, None)?;
            drop(lock);
            Ok(stored)
        })();
        match result {
            Ok(stored) => {
                let plain = match self.store() {
                    Ok(s) => matches!(
                        s.db().state_get(&plain_form_key(&stored.sha256, path)),
                        Ok(Some(_))
                    ),
                    Err(_) => false,
                };
                let pointer = Pointer {
                    sha256: stored.sha256,
                    size: stored.size,
                    gadn: (!plain).then_some(stored.id),
                };
                Self::send_content(wr, &pointer.encode(), None)?;
                Ok(Outcome::Done)
            }
            Err(ContentError::Read(e)) => Err(protocol(format!("reading content of {path}: {e}"))),
            Err(e) => {
                input.drain().map_err(io_err("reading content"))?;
                Ok(Outcome::Error(format!("cannot store the content: {e}")))
            }
        }
    }

    fn smudge<R: Read + Send, W: Write>(
        &mut self,
        path: &str,
        can_delay: bool,
        rd: &mut PktReader<R>,
        wr: &mut PktWriter<W>,
    ) -> Result<Outcome, GitError> {
        let mut input = rd.data_reader();
        let head = read_head(&mut input).map_err(io_err("reading content"))?;
        if head.len() > MAX_POINTER_LEN {
            // Not a pointer: pass through. Git sends all content before reading the
            // answer, so spool it (bounded memory) before answering.
            let spool = self
                .store
                .as_ref()
                .map(|s| s.dir().to_path_buf())
                .unwrap_or_else(|_| self.config.git_dir.clone());
            let mut tmp = match tempfile::tempfile_in(&spool) {
                Ok(t) => t,
                Err(e) => {
                    input.drain().map_err(io_err("reading content"))?;
                    return Ok(Outcome::Error(format!("cannot spool content: {e}")));
                }
            };
            let copied = io::copy(&mut input, &mut tmp);
            if let Err(e) = copied {
                if input.finished() {
                    return Ok(Outcome::Error(format!("cannot spool content: {e}")));
                }
                // Either Git's pipe or the disk failed; drain tells which.
                input.drain().map_err(io_err("reading content"))?;
                return Ok(Outcome::Error(format!("cannot spool content: {e}")));
            }
            if let Err(e) = tmp.rewind() {
                return Ok(Outcome::Error(format!("cannot spool content: {e}")));
            }
            Self::send_content(wr, &head, Some(&mut tmp))?;
            return Ok(Outcome::Done);
        }
        input.drain().map_err(io_err("reading content"))?;
        let redelivery = head.is_empty() && self.delayed.contains_key(path);
        let pointer = if head.is_empty() {
            match self.delayed.remove(path) {
                // Git asks again, with empty content, for a blob it was told was delayed.
                Some(p) => p,
                None => {
                    Self::send_content(wr, &head, None)?;
                    return Ok(Outcome::Done);
                }
            }
        } else {
            match Pointer::parse(&head) {
                Ok(p) => p,
                Err(e) if looks_like_pointer(&head) => {
                    return Self::keep_pointer(wr, path, &head, &e.to_string());
                }
                Err(_) => {
                    Self::send_content(wr, &head, None)?;
                    return Ok(Outcome::Done);
                }
            }
        };
        let wanted = match &self.rules {
            Ok(rules) => rules.wants(path, pointer.size),
            Err(msg) => return Ok(Outcome::Error(msg.clone())),
        };
        if !wanted {
            // Partial smudge: the file stays a pointer (`gadn git get` fetches it).
            let text = if head.is_empty() {
                pointer.encode()
            } else {
                head
            };
            Self::send_content(wr, &text, None)?;
            return Ok(Outcome::Done);
        }
        let git_dir = self.config.git_dir.clone();
        let sources = &mut self.sources;
        let store = match self.store.as_mut() {
            Ok(s) => s,
            Err(msg) => return Ok(Outcome::Error(msg.clone())),
        };
        let found = match locate(store, &pointer) {
            Ok(id) => Ok(id),
            Err(msg) => {
                // Not here: copy it from another store on this machine (the origin
                // of a local clone, a configured shared store) if one has it.
                let sources = sources.get_or_insert_with(|| Sources::discover(&git_dir));
                match sources.fetch(&pointer, store) {
                    Ok(Some(f)) => Ok(f.id),
                    Ok(None) => Err(msg),
                    Err(e) => Err(format!("{msg}; copying it from another store failed: {e}")),
                }
            }
        };
        let store = &*store;
        let id = match found {
            Ok(id) => id,
            Err(msg) => {
                let text = if head.is_empty() {
                    pointer.encode()
                } else {
                    head
                };
                return Self::keep_pointer(wr, path, &text, &msg);
            }
        };
        // The pointer names the same gadn file the store recorded for its SHA-256
        // (hashed when it was stored): reading verifies every chunk and node against
        // that BLAKE3 Merkle root, so a second, SHA-256 pass adds nothing but time.
        // Otherwise the SHA-256 is checked while streaming.
        let check_sha = pointer.gadn != Some(id) || !recorded_for(store, &pointer, &id);
        if pointer.gadn.is_none() {
            // A git-lfs style pointer: clean must give the same bytes back, or Git
            // would see the smudged file as modified.
            if let Err(e) = store
                .db()
                .state_set(&plain_form_key(&pointer.sha256, path), "plain")
            {
                report(
                    path,
                    &format!("warning: cannot record the pointer form: {e}"),
                );
            }
        }
        if can_delay && self.config.force_delay && !redelivery {
            self.delayed.insert(path.to_string(), pointer);
            self.unannounced.push(path.to_string());
            wr.write_text_list(&["status=delayed"])
                .map_err(io_err("writing status"))?;
            return Ok(Outcome::Done);
        }
        Self::stream(
            self.store.as_ref().map_err(|e| protocol(e.clone()))?,
            &id,
            &pointer,
            path,
            wr,
            check_sha,
        )
    }

    /// A pointer that cannot be materialised (corrupt, or its content is not in the
    /// store) is checked out as the pointer file itself, with the reason on stderr.
    /// `status=error` would make Git die on the first such file (the filter is
    /// `required`), killing the whole checkout; a pointer file keeps the work tree
    /// consistent (it cleans to itself, so `git status` stays clean) and
    /// `gadn git get` materialises it once the content is available.
    fn keep_pointer<W: Write>(
        wr: &mut PktWriter<W>,
        path: &str,
        pointer: &[u8],
        msg: &str,
    ) -> Result<Outcome, GitError> {
        report(path, &format!("error: {msg}; left as a pointer file"));
        Self::send_content(wr, pointer, None)?;
        Ok(Outcome::Done)
    }

    /// Streams file `id` as the answer, verifying it against the pointer; a failure
    /// after content started is reported with a trailing `status=error`.
    fn stream<W: Write>(
        store: &Store,
        id: &ObjectId,
        pointer: &Pointer,
        path: &str,
        wr: &mut PktWriter<W>,
        check_sha: bool,
    ) -> Result<Outcome, GitError> {
        wr.write_text_list(&["status=success"])
            .map_err(io_err("writing status"))?;
        let mut dw = wr.data_writer();
        let mut tee = ParallelSha::new(&mut dw, check_sha);
        let result = store.write_file(id, &mut tee);
        let hashed = tee.finish();
        dw.finish().map_err(io_err("writing content"))?;
        wr.flush_pkt().map_err(io_err("writing content"))?;
        let problem = match result {
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => {
                return Err(protocol(format!("writing content of {path}: {source}")))
            }
            Err(e) => Some(format!("cannot read the content from the store: {e}")),
            Ok(_) => {
                let (got, bytes) = match hashed {
                    Some((Some(got), bytes)) => (got, bytes),
                    // Not hashed: verified chunk by chunk against the gadn id.
                    Some((None, bytes)) => (pointer.sha256, bytes),
                    None => (Sha256([0; 32]), u64::MAX),
                };
                if got != pointer.sha256 || bytes != pointer.size {
                    Some(format!(
                        "the store's content ({bytes} bytes, sha256 {}) does not match the pointer ({} bytes, sha256 {})",
                        got,
                        pointer.size,
                        pointer.sha256
                    ))
                } else {
                    None
                }
            }
        };
        match problem {
            None => wr.flush_pkt().map_err(io_err("writing status"))?,
            Some(msg) => {
                report(path, &msg);
                wr.write_text_list(&["status=error"])
                    .map_err(io_err("writing status"))?;
            }
        }
        Ok(Outcome::Done)
    }
}

/// State key marking that the pointer Git holds for this content at this path has
/// no gadn key (it was written by git-lfs): clean then writes the plain form again,
/// byte-identical, so the smudged file is not seen as modified. Keyed by path too:
/// the same content may be held in both forms at different paths.
pub fn plain_form_key(sha256: &Sha256, path: &str) -> String {
    format!("git.plain-pointer.{sha256}.{path}")
}

/// The gadn file holding the pointer's content: the `lfs_objects` record for its
/// SHA-256, else the gadn id the pointer names when the store has it.
/// True if the store recorded `id` for the pointer's SHA-256 (so the SHA-256 was
/// computed over exactly this file's content when it was stored).
fn recorded_for(store: &Store, pointer: &Pointer, id: &ObjectId) -> bool {
    matches!(store.db().lfs_get(&pointer.sha256), Ok(Some((rec, size))) if rec == *id && size == pointer.size)
}

fn locate(store: &Store, pointer: &Pointer) -> Result<ObjectId, String> {
    match store.db().lfs_get(&pointer.sha256) {
        Ok(Some((id, _))) => return Ok(id),
        Ok(None) => {}
        Err(e) => return Err(format!("cannot look up the content: {e}")),
    }
    if let Some(id) = pointer.gadn.filter(|id| store.contains(id)) {
        return Ok(id);
    }
    Err(format!(
        "content sha256:{} ({} bytes) is not in the gadn store at {} (fetch it, or restore it from a store that has it)",
        pointer.sha256,
        pointer.size,
        store.dir().display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;

    fn pkt(s: &str) -> Vec<u8> {
        let mut v = format!("{:04x}", s.len() + 5).into_bytes();
        v.extend_from_slice(s.as_bytes());
        v.push(b'\n');
        v
    }

    fn data(d: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for c in d.chunks(65516) {
            v.extend_from_slice(format!("{:04x}", c.len() + 4).as_bytes());
            v.extend_from_slice(c);
        }
        v.extend_from_slice(b"0000");
        v
    }

    fn hello(caps: &[&str]) -> Vec<u8> {
        let mut v = [pkt("git-filter-client"), pkt("version=2"), b"0000".to_vec()].concat();
        for c in caps {
            v.extend(pkt(&format!("capability={c}")));
        }
        v.extend_from_slice(b"0000");
        v
    }

    fn command(cmd: &str, path: &str, content: &[u8]) -> Vec<u8> {
        let mut v = [
            pkt(&format!("command={cmd}")),
            pkt(&format!("pathname={path}")),
        ]
        .concat();
        v.extend_from_slice(b"0000");
        v.extend(data(content));
        v
    }

    /// The answer packets as text (`<flush>` for flush), the handshake left out.
    fn answers(out: &[u8]) -> Vec<String> {
        let mut rd = PktReader::new(out);
        let mut v = Vec::new();
        while let Some(p) = rd.read_packet().unwrap() {
            v.push(match p {
                super::super::pktline::Packet::Flush => "<flush>".to_string(),
                super::super::pktline::Packet::Data(d) => {
                    String::from_utf8_lossy(&d).trim_end().to_string()
                }
            });
        }
        let end = v.iter().filter(|t| *t == "<flush>").take(2).count();
        assert_eq!(end, 2);
        let second = v
            .iter()
            .enumerate()
            .filter(|(_, t)| *t == "<flush>")
            .nth(1)
            .unwrap()
            .0;
        v.split_off(second + 1)
    }

    fn run(git_dir: &std::path::Path, input: &[u8]) -> (Result<(), GitError>, Vec<String>) {
        let mut out = Vec::new();
        let cfg = FilterConfig {
            git_dir: git_dir.to_path_buf(),
            force_delay: false,
        };
        let r = serve(cfg, input, &mut out);
        let a = if out.is_empty() {
            Vec::new()
        } else {
            answers(&out)
        };
        (r, a)
    }

    fn with_store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::init(&super::super::store_dir(d.path()), ChunkParams::DEFAULT).unwrap();
        (d, s)
    }

    fn sha(d: &[u8]) -> Sha256 {
        Sha256::of(d)
    }

    /// Stores `content` without an `lfs_objects` record; returns its gadn id.
    fn ingest(store: &mut Store, content: &[u8]) -> ObjectId {
        store.ingest_one(content).unwrap().id
    }

    #[test]
    fn handshake_violations_end_the_session() {
        let d = tempfile::tempdir().unwrap();
        for (input, needle) in [
            (Vec::new(), "input ended before the welcome"),
            (
                [pkt("git-filter-client"), pkt("version=3"), b"0000".to_vec()].concat(),
                "this filter speaks version=2 only",
            ),
            (
                [pkt("git-filter-client"), pkt("version=2"), b"0000".to_vec()].concat(),
                "input ended before the capabilities",
            ),
            (
                [pkt("git-filter-client"), pkt("version=2"), b"00".to_vec()].concat(),
                "reading the welcome",
            ),
        ] {
            let mut out = Vec::new();
            let cfg = FilterConfig {
                git_dir: d.path().to_path_buf(),
                force_delay: false,
            };
            let e = serve(cfg, &input[..], &mut out).unwrap_err();
            assert!(matches!(e, GitError::FilterProtocol { .. }), "{e}");
            assert!(e.to_string().contains(needle), "{e} (wanted {needle})");
        }
    }

    #[test]
    fn a_store_that_cannot_be_created_fails_per_file_and_the_session_goes_on() {
        let d = tempfile::tempdir().unwrap();
        // The Git directory is under a regular file: no store can be created there.
        std::fs::write(d.path().join("file"), b"").unwrap();
        let git_dir = d.path().join("file/git");
        let pointer = Pointer {
            sha256: Sha256([7; 32]),
            size: 3,
            gadn: None,
        }
        .encode();
        let mut input = hello(&["clean", "smudge"]);
        input.extend(command("clean", "a.bin", b"some content"));
        input.extend(command("smudge", "b.bin", &pointer));
        // A pointer given to clean is its own clean form, store or not.
        input.extend(command("clean", "c.bin", &pointer));
        let (r, a) = run(&git_dir, &input);
        r.unwrap();
        let p = String::from_utf8_lossy(&pointer).trim_end().to_string();
        assert_eq!(
            a,
            [
                "status=error",
                "<flush>",
                "status=error",
                "<flush>",
                "status=success",
                "<flush>",
                &p,
                "<flush>",
                "<flush>"
            ]
        );
    }

    #[test]
    fn the_store_is_created_on_first_use() {
        let d = tempfile::tempdir().unwrap();
        let mut input = hello(&["clean"]);
        input.extend(command("clean", "a.bin", b"some content"));
        let (r, a) = run(d.path(), &input);
        r.unwrap();
        assert_eq!(a[0], "status=success");
        let p = Pointer::parse(a[2].as_bytes()).unwrap();
        let store = Store::open(&crate::git::store_dir(d.path())).unwrap();
        assert_eq!(
            store.read_file_bytes(&p.gadn.unwrap()).unwrap(),
            b"some content"
        );
    }

    /// The clean filter, the LFS agent's upload, a copy from another store and
    /// `store_content` itself all end in the same file id and `lfs_objects` record.
    #[test]
    fn every_git_way_in_stores_the_same_object() {
        let d = tempfile::tempdir().unwrap();
        let content = crate::store::pack::testutil::random_bytes(5, 300_000);
        let want = sha(&content);
        let size = content.len() as u64;

        // The clean filter.
        let by_filter = d.path().join("filter");
        let mut input = hello(&["clean"]);
        input.extend(command("clean", "a.bin", &content));
        let (r, a) = run(&by_filter, &input);
        r.unwrap();
        let pointer = Pointer::parse(a[2].as_bytes()).unwrap();
        assert_eq!((pointer.sha256, pointer.size), (want, size));
        let filter_dir = super::super::store_dir(&by_filter);
        let filter_store = Store::open(&filter_dir).unwrap();
        let (id, recorded) = filter_store.db().lfs_get(&want).unwrap().unwrap();
        assert_eq!((pointer.gadn, recorded), (Some(id), size));

        // The LFS agent's upload.
        let cfg = super::super::agent::AgentConfig {
            store_dir: d.path().join("agent"),
            tmp_dir: d.path().join("tmp"),
        };
        let src = d.path().join("upload.bin");
        std::fs::write(&src, &content).unwrap();
        let lines = [
            serde_json::json!({"event":"init","operation":"upload"}),
            serde_json::json!({"event":"upload","oid":want.to_string(),"size":size,"path":src}),
        ];
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut out = Vec::new();
        super::super::agent::serve(input.as_bytes(), &mut out, &cfg).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("error"), "{out}");
        let agent_store = Store::open(&cfg.store_dir).unwrap();
        assert_eq!(agent_store.db().lfs_get(&want).unwrap(), Some((id, size)));

        // A copy from the filter's store.
        let (_c, mut copied) = with_store();
        let own = copied.dir().to_path_buf();
        let mut sources = Sources::from_dirs(vec![filter_dir], own);
        let fetched = sources.fetch(&pointer, &mut copied).unwrap().unwrap();
        assert_eq!(fetched.id, id);
        assert_eq!(copied.db().lfs_get(&want).unwrap(), Some((id, size)));

        // The routine they share, and the id `status` computes.
        let (_s, mut direct) = with_store();
        let (lock, _) = direct.lock().unwrap();
        let stored =
            super::super::content::store_content(&mut direct, &lock, &content[..], None).unwrap();
        drop(lock);
        assert_eq!((stored.id, stored.sha256, stored.size), (id, want, size));
        assert_eq!(direct.db().lfs_get(&want).unwrap(), Some((id, size)));
        let params = direct.params();
        assert_eq!(crate::store::hash_file(params, &content[..]).unwrap(), id);
        for s in [&filter_store, &agent_store, &copied, &direct] {
            assert_eq!(s.read_file_bytes(&id).unwrap(), content);
        }
    }

    #[test]
    fn small_non_pointers_and_empty_content_pass_through_smudge() {
        let (d, _s) = with_store();
        let mut input = hello(&["smudge"]);
        input.extend(command("smudge", "empty.bin", b""));
        input.extend(command("smudge", "tiny.bin", b"just text"));
        let (r, a) = run(d.path(), &input);
        r.unwrap();
        assert_eq!(
            a,
            [
                "status=success",
                "<flush>",
                "<flush>",
                "<flush>",
                "status=success",
                "<flush>",
                "just text",
                "<flush>",
                "<flush>"
            ]
        );
    }

    #[test]
    fn large_pass_through_without_a_spool_directory_fails_per_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("file"), b"").unwrap();
        let gone = d.path().join("file/no-such-git-dir");
        let big = vec![b'x'; MAX_POINTER_LEN * 3];
        let mut input = hello(&["smudge"]);
        input.extend(command("smudge", "big.bin", &big));
        input.extend(command("smudge", "tiny.bin", b"ok"));
        let (r, a) = run(&gone, &input);
        r.unwrap();
        assert_eq!(
            a,
            [
                "status=error",
                "<flush>",
                "status=success",
                "<flush>",
                "ok",
                "<flush>",
                "<flush>"
            ]
        );
    }

    #[test]
    fn git_dying_mid_clean_is_a_protocol_error_and_records_nothing() {
        let (d, _s) = with_store();
        let content = vec![b'y'; 200_000];
        let mut input = hello(&["clean"]);
        input.extend(command("clean", "a.bin", &content));
        // Cut inside the second data packet: the pipe ends mid-stream.
        input.truncate(input.len() - 100_000);
        let (r, _) = run(d.path(), &input);
        let e = r.unwrap_err();
        assert!(matches!(e, GitError::FilterProtocol { .. }), "{e}");
        assert!(e.to_string().contains("reading content of a.bin"), "{e}");
        let store = Store::open(&super::super::store_dir(d.path())).unwrap();
        assert_eq!(store.db().lfs_get(&sha(&content)).unwrap(), None);
    }

    #[test]
    fn smudge_finds_content_by_the_pointers_gadn_id() {
        let (d, mut s) = with_store();
        let content = b"stored without an lfs record".to_vec();
        let id = ingest(&mut s, &content);
        drop(s);
        let pointer = Pointer {
            sha256: sha(&content),
            size: content.len() as u64,
            gadn: Some(id),
        }
        .encode();
        let mut input = hello(&["smudge"]);
        input.extend(command("smudge", "a.bin", &pointer));
        let (r, a) = run(d.path(), &input);
        r.unwrap();
        assert_eq!(
            a,
            [
                "status=success",
                "<flush>",
                "stored without an lfs record",
                "<flush>",
                "<flush>"
            ]
        );
    }

    #[test]
    fn store_content_not_matching_the_pointer_ends_in_status_error() {
        let (d, mut s) = with_store();
        let content = b"the bytes the store really has".to_vec();
        let id = ingest(&mut s, &content);
        // A wrong record: another SHA-256 (same size) maps to this file.
        let claimed = sha(b"the bytes the pointer promised");
        s.db().lfs_put(&claimed, &id, content.len() as u64).unwrap();
        drop(s);
        let pointer = Pointer {
            sha256: claimed,
            size: content.len() as u64,
            gadn: None,
        }
        .encode();
        let mut input = hello(&["smudge"]);
        input.extend(command("smudge", "a.bin", &pointer));
        input.extend(command("smudge", "b.bin", b"next"));
        let (r, a) = run(d.path(), &input);
        r.unwrap();
        assert_eq!(
            a,
            [
                "status=success",
                "<flush>",
                "the bytes the store really has",
                "<flush>",
                "status=error",
                "<flush>",
                "status=success",
                "<flush>",
                "next",
                "<flush>",
                "<flush>"
            ]
        );
    }

    #[test]
    fn unreadable_rules_fail_smudge_of_pointers_only() {
        let (d, _s) = with_store();
        // The rules file is a directory: loading it fails.
        std::fs::create_dir_all(super::super::rules::rules_path(d.path())).unwrap();
        let pointer = Pointer {
            sha256: Sha256([1; 32]),
            size: 5,
            gadn: None,
        }
        .encode();
        let mut input = hello(&["smudge"]);
        input.extend(command("smudge", "a.bin", &pointer));
        input.extend(command("smudge", "b.bin", b"plain"));
        let (r, a) = run(d.path(), &input);
        r.unwrap();
        assert_eq!(
            a,
            [
                "status=error",
                "<flush>",
                "status=success",
                "<flush>",
                "plain",
                "<flush>",
                "<flush>"
            ]
        );
    }
}
