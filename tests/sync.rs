//! Peer-to-peer sync through real `gadn serve` processes on 127.0.0.1 (issue 5).
//!
//! Every simulated peer has its own `GADN_HOME` (so its own identity key), its own
//! author name and its own repository directory. Every child process is bounded:
//! one-shot commands are killed after [`CMD_DEADLINE`], and `gadn serve` processes
//! live in a [`Server`] guard that kills them when the test ends (or panics).
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The longest any one-shot command may run before the test kills it and fails.
const CMD_DEADLINE: Duration = Duration::from_secs(90);
/// How long `gadn serve` may take to print its first line.
const SERVE_START: Duration = Duration::from_secs(30);
const MIB: usize = 1024 * 1024;

/// Fast, incompressible pseudo-random bytes (splitmix64), cheap even in debug
/// builds for tens of MiB.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    while out.len() < len {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads a pipe to its end on a thread.
fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Kills a child (SIGKILL) and reaps it, ignoring errors (it may be gone already).
fn kill_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` to exit, at most `limit`; `None` if it is still running.
fn wait_until(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(50)),
            _ => return None,
        }
    }
}

/// Sends a signal by name (`TERM`, `INT`, `KILL`) with the `kill` utility.
fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {} failed", child.id());
}

/// A child process that is killed when dropped (a clone running in the background).
struct Guard {
    child: Child,
    out: Option<thread::JoinHandle<Vec<u8>>>,
    err: Option<thread::JoinHandle<Vec<u8>>>,
}

impl Guard {
    fn spawn(mut cmd: Command) -> Guard {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gadn");
        let out = child.stdout.take().map(drain);
        let err = child.stderr.take().map(drain);
        Guard {
            child,
            out: Some(out.expect("stdout")),
            err: Some(err.expect("stderr")),
        }
    }

    /// Waits at most `limit` for the exit; panics (killing it) if it runs longer.
    fn finish(mut self, limit: Duration, what: &str) -> (Output, Duration) {
        let start = Instant::now();
        let status = match wait_until(&mut self.child, limit) {
            Some(st) => st,
            None => {
                kill_child(&mut self.child);
                panic!("{what} still running after {limit:?}");
            }
        };
        let took = start.elapsed();
        let stdout = self.out.take().expect("once").join().unwrap_or_default();
        let stderr = self.err.take().expect("once").join().unwrap_or_default();
        (
            Output {
                status,
                stdout,
                stderr,
            },
            took,
        )
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

/// Runs a command to completion within [`CMD_DEADLINE`].
fn output_of(cmd: Command, what: &str) -> Output {
    Guard::spawn(cmd).finish(CMD_DEADLINE, what).0
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A running `gadn serve`, stopped when dropped (SIGTERM, then SIGKILL after 5 s).
struct Server {
    child: Child,
    /// `127.0.0.1:PORT` it listens on.
    addr: String,
    /// Its public key (`gadn1…`).
    key: String,
    stderr_path: PathBuf,
}

impl Server {
    /// `KEY@HOST:PORT`, as `gadn clone` takes it.
    fn source(&self) -> String {
        format!("{}@{}", self.key, self.addr)
    }

    /// What it logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGKILL, as if the machine lost power.
    fn kill(&mut self) {
        kill_child(&mut self.child);
    }

    /// SIGTERM and wait at most `limit`; the exit status and how long it took.
    fn terminate(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        signal(&self.child, "TERM");
        match wait_until(&mut self.child, limit) {
            Some(st) => (st, start.elapsed()),
            None => {
                kill_child(&mut self.child);
                panic!(
                    "serve did not stop within {limit:?} of SIGTERM:\n{}",
                    self.log()
                );
            }
        }
    }
}

impl Drop for Server {
    /// Stops it as a user would (SIGTERM: a clean shutdown), and kills it if it
    /// has not exited within 5 s.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            if wait_until(&mut self.child, Duration::from_secs(5)).is_some() {
                return;
            }
        }
        kill_child(&mut self.child);
    }
}

/// One person: their own gadn home (identity key), author name, and a scratch
/// directory whose `repo/` is their repository.
struct Peer {
    name: &'static str,
    home: tempfile::TempDir,
    root: tempfile::TempDir,
}

impl Peer {
    fn new(name: &'static str) -> Peer {
        Peer {
            name,
            home: tempfile::tempdir().expect("tempdir"),
            root: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn repo(&self) -> PathBuf {
        self.root.path().join("repo")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.repo().join(rel)
    }

    fn write(&self, rel: &str, data: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, data).expect("write");
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("{}: read {rel}: {e}", self.name))
    }

    /// The command with this peer's environment, run in `dir`.
    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = std_cmd(args, dir);
        c.env("GADN_HOME", self.home.path().join("gadn"))
            .env("GADN_AUTHOR_NAME", self.name)
            .env("GADN_AUTHOR_EMAIL", format!("{}@example.org", self.name))
            .env("GADN_IDLE_TIMEOUT", "3")
            .env("GADN_LOCK_TIMEOUT", "20")
            .env_remove("RUST_LOG");
        c
    }

    fn output_in(&self, dir: &Path, args: &[&str]) -> Output {
        output_of(
            self.command(dir, args),
            &format!("{} gadn {args:?}", self.name),
        )
    }

    fn output(&self, args: &[&str]) -> Output {
        self.output_in(&self.repo(), args)
    }

    /// Runs in `dir` and asserts success; returns stdout.
    fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.output_in(dir, args);
        assert!(
            out.status.success(),
            "{} gadn {args:?} failed ({}): {}\n{}",
            self.name,
            out.status,
            text(&out.stderr),
            text(&out.stdout)
        );
        text(&out.stdout)
    }

    /// Runs in the repository and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_in(&self.repo(), args)
    }

    /// Runs in the repository and asserts exit status 1; returns stdout + stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{} gadn {args:?} should exit 1: {}\n{}",
            self.name,
            text(&out.stderr),
            text(&out.stdout)
        );
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let s = self.ok(args);
        serde_json::from_str(s.trim())
            .unwrap_or_else(|e| panic!("{} gadn {args:?}: not JSON ({e}): {s}", self.name))
    }

    /// This peer's public key (from `gadn id`, run outside any repository).
    fn key(&self) -> String {
        self.ok_in(self.home.path(), &["id"]).trim().to_string()
    }

    /// `gadn init repo`.
    fn init(&self) {
        self.ok_in(self.root.path(), &["init", "repo"]);
    }

    /// `gadn clone SOURCE repo --json`; the parsed JSON line.
    fn clone_from(&self, source: &str) -> serde_json::Value {
        let s = self.ok_in(self.root.path(), &["clone", source, "repo", "--json"]);
        // The files written as their chunks arrived were all taken by the checkout,
        // or removed.
        assert!(
            !self.path(".gadn/prefill").exists(),
            "clone left .gadn/prefill behind"
        );
        json_line(&s)
    }

    fn commit_all(&self, msg: &str) {
        self.ok(&["add", "."]);
        self.ok(&["commit", "-m", msg]);
    }

    /// The id of the commit `rev` names.
    fn head(&self, rev: &str) -> String {
        let v = self.json(&["log", "-n", "1", "--json", rev]);
        v[0]["id"].as_str().expect("commit id").to_string()
    }

    /// `gadn serve --listen 127.0.0.1:0 [--no-lan] EXTRA…`, once it printed its line.
    fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        if !extra.iter().any(|a| a.starts_with("--lan")) {
            args.push("--no-lan");
        }
        args.extend_from_slice(extra);
        let stderr_path = self.root.path().join(format!("serve-{}.log", serve_tag()));
        let log = std::fs::File::create(&stderr_path).expect("serve log");
        let mut child = self
            .command(&self.repo(), &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn gadn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let mut server = Server {
            child,
            addr: String::new(),
            key: String::new(),
            stderr_path,
        };
        let line = match rx.recv_timeout(SERVE_START) {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "{} serve printed no first line ({other:?}):\n{}",
                self.name,
                server.log()
            ),
        };
        // "Serving repository ID as KEY on 127.0.0.1:PORT"
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            words.len() == 7 && words[0] == "Serving" && words[3] == "as" && words[5] == "on",
            "unexpected serve line: {line}"
        );
        server.key = words[4].to_string();
        server.addr = words[6].to_string();
        assert!(server.addr.starts_with("127.0.0.1:"), "{line}");
        assert_eq!(server.key, self.key(), "serve announces the peer's own key");
        server
    }
}

/// A number to keep serve log file names distinct within one directory.
fn serve_tag() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The one JSON line in a command's stdout (other lines, if any, are ignored).
fn json_line(stdout: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON line in: {stdout}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e}): {line}"))
}

fn num(v: &serde_json::Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {field} in {v}"))
}

/// The member entry named `name` in `peer list --json`.
fn member<'v>(list: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
    list.as_array()
        .expect("peer list is an array")
        .iter()
        .find(|m| m["name"] == name)
}

fn addrs_of(list: &serde_json::Value, name: &str) -> Vec<String> {
    member(list, name).unwrap_or_else(|| panic!("no member {name} in {list}"))["addrs"]
        .as_array()
        .expect("addrs")
        .iter()
        .map(|a| a.as_str().expect("addr").to_string())
        .collect()
}

/// The total size of the files directly under `dir` (0 if it does not exist).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A UDP port that was free a moment ago on 127.0.0.1.
fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.local_addr().expect("local addr").port()
}

/// Alice's starting content: a 20 MiB random file and small files in subdirectories.
fn alice_files(alice: &Peer) {
    alice.write("art/big.bin", &random_bytes(20 * MIB, 1));
    alice.write("README.txt", b"hello from alice\n");
    alice.write("art/tex/small.txt", b"a small texture note\n");
    alice.write("levels/one/layout.dat", &random_bytes(3000, 2));
}

/// Alice founds a repository with two commits and adds `members` as members.
fn alice_repo(alice: &Peer, members: &[&Peer]) {
    alice.init();
    alice.write("README.txt", b"hello\n");
    alice.commit_all("first commit");
    alice_files(alice);
    alice.commit_all("add the art");
    for m in members {
        alice.ok(&["peer", "add", m.name, &m.key()]);
    }
}

/// Alice serving a two-commit repository and Bob holding a clone of it.
fn alice_and_bob() -> (Peer, Peer, Server) {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    alice_repo(&alice, &[&bob]);
    let server = alice.serve(&[]);
    bob.clone_from(&server.source());
    (alice, bob, server)
}

// 1
#[test]
fn clone_copies_files_history_and_address() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    alice_repo(&alice, &[&bob]);
    // Previews made on alice's side travel with the clone.
    alice.ok(&["preview", "--all"]);
    let server = alice.serve(&[]);

    let moved = bob.clone_from(&server.source());
    assert!(
        num(&moved, "chunk_bytes") >= (20 * MIB) as u64,
        "the big file's chunks moved: {moved}"
    );
    assert_eq!(moved["peer"], "alice", "{moved}");
    assert!(
        moved["refs"]
            .as_array()
            .expect("refs")
            .iter()
            .any(|r| r["ref"] == "refs/remotes/alice/main"),
        "{moved}"
    );

    for f in [
        "README.txt",
        "art/big.bin",
        "art/tex/small.txt",
        "levels/one/layout.dat",
    ] {
        assert!(alice.read(f) == bob.read(f), "{f} differs after clone");
    }
    bob.ok(&["fsck"]);
    let status = bob.ok(&["status"]);
    assert!(status.contains("nothing to commit"), "status: {status}");
    let log = bob.ok(&["log"]);
    assert!(
        log.contains("first commit") && log.contains("add the art"),
        "log: {log}"
    );
    assert_eq!(bob.head("HEAD"), alice.head("HEAD"));
    let list = bob.json(&["peer", "list", "--json"]);
    assert_eq!(addrs_of(&list, "alice"), vec![server.addr.clone()]);
    assert_eq!(member(&list, "bob").expect("bob")["you"], true);
    let theirs = alice.json(&["preview", "art/big.bin", "--cached", "--json"]);
    let ours = bob.json(&["preview", "art/big.bin", "--cached", "--json"]);
    assert_eq!(ours["id"], theirs["id"], "the preview came with the clone");
    assert_eq!(ours["generator"], "card");
}

// 2
#[test]
fn incremental_fetch_moves_only_new_chunks() {
    let (alice, bob, _server) = alice_and_bob();
    let mut big = alice.read("art/big.bin");
    let mid = big.len() / 2;
    for (i, b) in big[mid..mid + 100].iter_mut().enumerate() {
        *b = !*b ^ (i as u8);
    }
    alice.write("art/big.bin", &big);
    alice.ok(&["commit", "-a", "-m", "touch the middle"]);

    let moved = json_line(&bob.ok(&["fetch", "--json"]));
    let chunk_bytes = num(&moved, "chunk_bytes");
    let wire = num(&moved, "wire_bytes");
    assert!(num(&moved, "chunks") > 0, "{moved}");
    assert!(chunk_bytes < MIB as u64, "only the edited chunks: {moved}");
    assert!(
        wire < chunk_bytes + chunk_bytes / 10 + 128 * 1024,
        "wire overhead too big: {moved}"
    );
    let log = bob.ok(&["log", "alice/main"]);
    assert!(log.contains("touch the middle"), "{log}");
    assert_eq!(bob.head("alice/main"), alice.head("HEAD"));

    let again = json_line(&bob.ok(&["fetch", "--json"]));
    assert_eq!(num(&again, "chunks"), 0, "{again}");
    assert_eq!(num(&again, "chunk_bytes"), 0, "{again}");
    assert_eq!(num(&again, "objects"), 0, "{again}");

    bob.ok(&["pull"]);
    assert!(bob.read("art/big.bin") == big, "pull checked out the edit");
    bob.ok(&["fsck"]);
}

// 3
#[test]
fn push_to_another_branch_refuses_checked_out_and_non_fast_forward() {
    let (alice, bob, _server) = alice_and_bob();
    bob.write("bob/notes.txt", b"bob was here\n");
    bob.commit_all("bob's commit");
    bob.ok(&["push", "alice", "main:bob-main"]);
    let log = alice.ok(&["log", "bob-main"]);
    assert!(log.contains("bob's commit"), "{log}");
    assert_eq!(alice.head("bob-main"), bob.head("HEAD"));

    // Alice's checked-out branch is refused, and her main does not move.
    let alice_main = alice.head("main");
    let msg = bob.fails(&["push", "alice", "main"]);
    assert!(msg.contains("checked out"), "{msg}");
    assert_eq!(alice.head("main"), alice_main);

    // Alice's `side` has a commit bob does not have: not a fast-forward.
    alice.write("alice/side.txt", b"alice on main\n");
    alice.commit_all("alice moves on");
    alice.ok(&["branch", "side"]);
    let side = alice.head("side");
    let msg = bob.fails(&["push", "alice", "main:side"]);
    assert!(
        msg.contains("fast-forward") || msg.contains("fast forward") || msg.contains("--force"),
        "{msg}"
    );
    assert_eq!(alice.head("side"), side, "refused push left side alone");
    bob.ok(&["push", "--force", "alice", "main:side"]);
    assert_eq!(alice.head("side"), bob.head("HEAD"));

    // A pushed large file arrives whole (the receiver fetches its chunks back).
    let asset = random_bytes(3 * MIB, 33);
    bob.write("bob/asset.bin", &asset);
    bob.commit_all("bob's asset");
    bob.ok(&["push", "alice", "main:bob-main"]);
    alice.ok(&["fsck"]);
    alice.ok(&["switch", "bob-main"]);
    assert!(alice.read("bob/asset.bin") == asset, "pushed asset differs");
    assert!(alice.read("bob/notes.txt") == b"bob was here\n");
}

// 4
#[test]
fn three_peers_pass_a_change_around() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    let carol = Peer::new("carol");
    alice.init();
    alice.write("scene/a.txt", b"alice's scene\n");
    alice.write("scene/mesh.bin", &random_bytes(300_000, 4));
    alice.commit_all("alice starts");
    alice.ok(&["peer", "add", "bob", &bob.key()]);
    alice.ok(&["peer", "add", "carol", &carol.key()]);
    let alice_srv = alice.serve(&[]);

    bob.clone_from(&alice_srv.source());
    let bob_srv = bob.serve(&[]);
    carol.clone_from(&bob_srv.source());
    assert!(carol.read("scene/mesh.bin") == alice.read("scene/mesh.bin"));

    carol.write("scene/carol.txt", b"carol's addition\n");
    carol.commit_all("carol adds");
    let carol_srv = carol.serve(&[]);

    bob.ok(&["peer", "addr", "carol", &carol_srv.addr]);
    bob.ok(&["pull", "carol"]);
    alice.ok(&["peer", "addr", "bob", &bob_srv.addr]);
    alice.ok(&["pull", "bob"]);

    let id = carol.head("main");
    assert_eq!(bob.head("main"), id, "bob has carol's commit");
    assert_eq!(alice.head("main"), id, "alice has carol's commit");
    for p in [&alice, &bob] {
        assert!(p.read("scene/carol.txt") == carol.read("scene/carol.txt"));
        assert!(p.read("scene/mesh.bin") == carol.read("scene/mesh.bin"));
        let st = p.ok(&["status"]);
        assert!(st.contains("nothing to commit"), "{}: {st}", p.name);
        p.ok(&["fsck"]);
    }
}

// 5
#[test]
fn killed_server_mid_clone_then_resume() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    alice.init();
    let size = 64 * MIB;
    let huge = random_bytes(size, 5);
    alice.write("huge.bin", &huge);
    alice.write("small.txt", b"small\n");
    alice.commit_all("huge");
    alice.ok(&["peer", "add", "bob", &bob.key()]);
    let mut server = alice.serve(&["--max-rate", "16M"]);

    let clone_args = ["clone", &server.source(), "repo", "--json"];
    let first = Guard::spawn(bob.command(bob.root.path(), &clone_args));
    let packs = bob.path(".gadn/packs");
    let end = Instant::now() + Duration::from_secs(40);
    while dir_bytes(&packs) <= 8 * MIB as u64 {
        assert!(
            Instant::now() < end,
            "bob's packs never passed 8 MiB ({} B)",
            dir_bytes(&packs)
        );
        thread::sleep(Duration::from_millis(50));
    }
    server.kill();
    let (out, took) = first.finish(Duration::from_secs(20), "interrupted clone");
    assert!(!out.status.success(), "the clone cannot have finished");
    assert!(
        took < Duration::from_secs(12),
        "the clone noticed the dead peer only after {took:?}"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("kept") && err.contains("again"),
        "the message says what arrived is kept: {err}"
    );
    let kept = dir_bytes(&packs);
    assert!(kept > 8 * MIB as u64, "kept {kept} B");
    let st = bob.ok(&["status"]);
    assert!(
        st.contains("this clone was interrupted: run `gadn clone"),
        "the directory says how to resume: {st}"
    );

    let server = alice.serve(&["--max-rate", "16M"]);
    let moved = bob.clone_from(&server.source());
    assert!(bob.read("huge.bin") == huge, "huge.bin byte-identical");
    assert!(bob.read("small.txt") == b"small\n");
    let chunk_bytes = num(&moved, "chunk_bytes");
    assert!(
        chunk_bytes < (size - 4 * MIB) as u64,
        "the resumed clone fetched {chunk_bytes} B of {size}: {moved}"
    );
    bob.ok(&["fsck"]);
    let st = bob.ok(&["status"]);
    assert!(st.contains("nothing to commit"), "{st}");
    assert!(
        !st.contains("interrupted"),
        "the completed clone is unmarked: {st}"
    );
}

// 6
#[test]
fn partition_heals() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    let carol = Peer::new("carol");
    alice_repo(&alice, &[&bob, &carol]);
    let mut server = alice.serve(&[]);
    bob.clone_from(&server.source());
    // Carol never comes online: her known address is dead.
    bob.ok(&["peer", "addr", "carol", "127.0.0.1:1"]);
    server.terminate(Duration::from_secs(10));
    alice.write("offline.txt", b"written while apart\n");
    alice.commit_all("made offline");

    let start = Instant::now();
    let msg = bob.fails(&["sync"]);
    assert!(msg.contains("unreachable"), "{msg}");
    assert!(msg.contains("alice") && msg.contains("carol"), "{msg}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "sync took {:?} to give up",
        start.elapsed()
    );

    let server = alice.serve(&[]);
    bob.ok(&["peer", "addr", "alice", &server.addr]);
    // One member reached is success; the other is still reported.
    let out = bob.output(&["sync"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "sync with alice back: {all}");
    assert!(
        all.contains("unreachable") && all.contains("carol"),
        "{all}"
    );
    let log = bob.ok(&["log", "alice/main"]);
    assert!(log.contains("made offline"), "{log}");
    assert_eq!(bob.head("alice/main"), alice.head("HEAD"));
}

// 7
#[test]
fn strangers_learn_nothing() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    let mallory = Peer::new("mallory");
    alice_repo(&alice, &[&bob]);
    let server = alice.serve(&[]);

    let mkey = mallory.key();
    let out = mallory.output_in(mallory.root.path(), &["clone", &server.source(), "repo"]);
    assert!(
        !out.status.success(),
        "mallory cloned: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&mkey) || err.contains("ask a member"),
        "the message names mallory's key or says to ask a member: {err}"
    );
    assert!(
        !mallory.path(".gadn/refs").exists() || walk_files(&mallory.path(".gadn/refs")).is_empty(),
        "mallory has refs: {:?}",
        walk_files(&mallory.path(".gadn/refs"))
    );
    assert!(
        !mallory.path("art/big.bin").exists(),
        "mallory got alice's files"
    );

    // Bob pins the wrong key (mallory's) for alice's address.
    let wrong = format!("{mkey}@{}", server.addr);
    let out = bob.output_in(bob.root.path(), &["clone", &wrong, "repo"]);
    assert!(
        !out.status.success(),
        "clone with a wrong pinned key succeeded"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&mkey) && err.contains(&server.key),
        "the message names both keys: {err}"
    );
    assert!(!bob.path("art/big.bin").exists());
}

/// Every file under `dir`, recursively.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

// 8
#[test]
fn members_and_locks_propagate() {
    let (alice, bob, _server) = alice_and_bob();
    let carol = Peer::new("carol");
    let ckey = carol.key();
    alice.ok(&["peer", "add", "carol", &ckey]);
    alice.ok(&["lock", "art/tex/small.txt"]);

    let moved = json_line(&bob.ok(&["fetch", "--json"]));
    assert_eq!(moved["members_changed"], true, "{moved}");
    let list = bob.json(&["peer", "list", "--json"]);
    let c = member(&list, "carol").unwrap_or_else(|| panic!("no carol on bob: {list}"));
    assert_eq!(c["key"], ckey.as_str());
    assert_eq!(c["role"], "member");

    let locks = bob.json(&["locks", "--json"]);
    let locks = locks.as_array().expect("locks array");
    let l = locks
        .iter()
        .find(|l| l["path"] == "art/tex/small.txt")
        .unwrap_or_else(|| panic!("alice's lock not on bob: {locks:?}"));
    assert_eq!(l["owner"], "alice");
    assert_eq!(l["key"], alice.key().as_str());
    assert_eq!(l["mine"], false);
}

// Issue 15, item 5: a lock taken before `push` reached the receiver only when the
// receiver fetched from the pusher.
#[test]
fn push_carries_locks_and_their_release() {
    let (alice, bob, _server) = alice_and_bob();
    bob.ok(&["lock", "art/tex/small.txt"]);
    bob.ok(&["push", "alice", "main:bob-main"]);
    let locks = alice.json(&["locks", "--json"]);
    let locks = locks.as_array().expect("locks array");
    assert_eq!(locks.len(), 1, "bob's lock not on alice: {locks:?}");
    assert_eq!(locks[0]["path"], "art/tex/small.txt");
    assert_eq!(locks[0]["owner"], "bob");
    assert_eq!(locks[0]["key"], bob.key().as_str());
    // Alice's commit of the file bob holds is refused.
    alice.write("art/tex/small.txt", b"alice edits\n");
    let out = alice.output(&["commit", "-a", "-m", "alice edits"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out.stderr));
    // The release travels too, also on a push whose only ref is refused (alice
    // has main checked out).
    bob.ok(&["unlock", "art/tex/small.txt"]);
    let msg = bob.fails(&["push", "alice", "main"]);
    assert!(msg.contains("checked out"), "{msg}");
    assert_eq!(alice.json(&["locks", "--json"]), serde_json::json!([]));
    alice.ok(&["commit", "-a", "-m", "alice edits"]);
}

// 9
#[test]
fn lan_discovery_finds_a_member() {
    let (alice, bob, server) = alice_and_bob();
    drop(server);
    let group = format!("239.255.71.68:{}", free_udp_port());
    let server = alice.serve(&[
        "--lan-group",
        &group,
        "--lan-interface",
        "127.0.0.1",
        "--lan-interval",
        "1",
    ]);
    alice.write("lan.txt", b"found on the LAN\n");
    alice.commit_all("lan commit");
    bob.ok(&["peer", "addr", "alice", "127.0.0.1:1"]);

    let out = bob.ok(&[
        "sync",
        "--discover",
        "3",
        "--lan-group",
        &group,
        "--lan-interface",
        "127.0.0.1",
    ]);
    assert!(!out.contains("unreachable: alice"), "{out}");
    let log = bob.ok(&["log", "alice/main"]);
    assert!(log.contains("lan commit"), "{log}");
    let list = bob.json(&["peer", "list", "--json"]);
    assert!(
        addrs_of(&list, "alice").contains(&server.addr),
        "bob learned alice's address: {list}"
    );
}

// 10
#[test]
fn sigterm_stops_serve_cleanly() {
    let alice = Peer::new("alice");
    alice.init();
    alice.write("a.txt", b"a\n");
    alice.commit_all("one");
    let mut server = alice.serve(&[]);
    let (st, took) = server.terminate(Duration::from_secs(5));
    assert_eq!(
        st.code(),
        Some(0),
        "serve exit status: {st}\n{}",
        server.log()
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(server.log().contains("stopped"), "{}", server.log());

    let mut server = alice.serve(&[]);
    signal(&server.child, "INT");
    let st = wait_until(&mut server.child, Duration::from_secs(5)).expect("SIGINT stops serve");
    assert_eq!(st.code(), Some(0), "after SIGINT: {}", server.log());
    assert!(server.log().contains("stopped"), "{}", server.log());
}

// A member removed from the list is refused by a running serve at once (membership
// is checked on every request), and a reader may fetch but not push.
#[test]
fn removed_member_refused_and_reader_cannot_push() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    let rita = Peer::new("rita");
    alice_repo(&alice, &[&bob]);
    alice.ok(&["peer", "add", "rita", &rita.key(), "--role", "reader"]);
    let server = alice.serve(&[]);
    bob.clone_from(&server.source());
    rita.clone_from(&server.source());

    rita.write("rita.txt", b"rita\n");
    rita.commit_all("rita's commit");
    let msg = rita.fails(&["push", "alice", "main:rita-main"]);
    assert!(msg.contains("role") || msg.contains("reader"), "{msg}");
    let refs = alice.ok(&["branch"]);
    assert!(!refs.contains("rita-main"), "{refs}");

    alice.ok(&["peer", "remove", "bob"]);
    let out = bob.output(&["fetch"]);
    assert!(!out.status.success(), "a removed member fetched");
    let err = text(&out.stderr);
    assert!(err.contains("not a member"), "{err}");
}

// Regression: a fetch that changes nothing reports no ref as updated
// (src/sync/client.rs `tracking_changes` re-sets every remote-tracking ref).
#[test]
fn noop_fetch_reports_no_updated_ref() {
    let alice = Peer::new("alice");
    let bob = Peer::new("bob");
    alice.init();
    alice.write("a.txt", b"a\n");
    alice.commit_all("one");
    alice.ok(&["peer", "add", "bob", &bob.key()]);
    let server = alice.serve(&[]);
    bob.clone_from(&server.source());
    let out = bob.ok(&["fetch"]);
    assert!(
        !out.contains("updated alice/main"),
        "nothing changed, yet: {out}"
    );
}

#[test]
fn serve_logs_are_coloured_only_when_asked() {
    let (alice, _bob, plain) = alice_and_bob();
    let log_of = |server: &Server| {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let log = server.log();
            if log.contains("serving") || Instant::now() > end {
                return log;
            }
            thread::sleep(Duration::from_millis(50));
        }
    };
    let text = log_of(&plain);
    assert!(text.contains("serving"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour off a terminal by default: {text:?}"
    );
    drop(plain);
    let coloured = alice.serve(&["--color", "always"]);
    let text = log_of(&coloured);
    assert!(
        text.contains("\x1b["),
        "--color always colours the log: {text:?}"
    );
    drop(coloured);
    let never = alice.serve(&["--color", "never"]);
    let text = log_of(&never);
    assert!(
        text.contains("serving") && !text.contains('\x1b'),
        "{text:?}"
    );
}

#[test]
fn push_pull_and_sync_report_json() {
    let (alice, bob, _server) = alice_and_bob();
    bob.write("bob/notes.txt", b"bob was here\n");
    bob.commit_all("bob's commit");
    let pushed = json_line(&bob.ok(&["push", "--json", "alice", "main:bob-main"]));
    assert_eq!(pushed["peer"], "alice", "{pushed}");
    assert_eq!(pushed["refs"][0]["ref"], "refs/heads/bob-main", "{pushed}");
    assert!(pushed["refs"][0]["refused"].is_null(), "{pushed}");
    // A refused ref is in the JSON too, and the status is 1.
    let out = bob.output(&["push", "--json", "alice", "main"]);
    assert_eq!(out.status.code(), Some(1));
    let refused = json_line(&text(&out.stdout));
    assert!(
        refused["refs"][0]["refused"]
            .as_str()
            .unwrap()
            .contains("checked out"),
        "{refused}"
    );

    alice.write("alice/more.txt", b"more\n");
    alice.commit_all("alice adds more");
    let pulled = json_line(&bob.ok(&["pull", "--json"]));
    assert_eq!(pulled["theirs"], "alice/main", "{pulled}");
    assert!(num(&pulled["fetch"], "objects") > 0, "{pulled}");
    assert!(pulled["merge"].is_object(), "{pulled}");
    assert!(bob.read("alice/more.txt") == b"more\n");

    let synced = json_line(&bob.ok(&["sync", "--json"]));
    assert_eq!(synced["fetched"].as_array().unwrap().len(), 1, "{synced}");
    assert!(synced["failed"].as_array().unwrap().is_empty(), "{synced}");
}
