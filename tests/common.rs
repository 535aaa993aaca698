//! Shared helpers for integration tests: each test gets its own temporary directory
//! and drives the real `gadn` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A scratch directory holding one repository under `repo/`.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh repository.
    pub fn init() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        s.ok(&["init", "repo"], s.dir.path());
        s
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.repo().join(rel)
    }

    pub fn write(&self, rel: &str, data: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, data).expect("write");
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        cmd_in(args, &self.repo())
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str], dir: &Path) -> String {
        let out = cmd_in(args, dir).output().expect("run gadn");
        assert!(
            out.status.success(),
            "gadn {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs in the repository and asserts success.
    pub fn run(&self, args: &[&str]) -> String {
        self.ok(args, &self.repo())
    }

    /// Runs in the repository and asserts failure; returns stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run gadn");
        assert!(
            !out.status.success(),
            "gadn {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn std(&self, args: &[&str]) -> std::process::Command {
        std_cmd(args, &self.repo())
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run gadn")
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.run(args)).expect("valid JSON")
    }

    /// `status --json` and the paths of its staged changes, in order.
    pub fn status_staged(&self) -> (serde_json::Value, Vec<String>) {
        let st = self.json(&["status", "--json"]);
        let staged = st["staged"]
            .as_array()
            .expect("staged is a list")
            .iter()
            .map(|c| c["path"].as_str().expect("a path").to_string())
            .collect();
        (st, staged)
    }

    /// The largest pack (the one holding the chunks of a test's big file).
    pub fn biggest_pack(&self) -> PathBuf {
        self.pack_files("pack")
            .into_iter()
            .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .expect("a pack")
    }

    pub fn pack_files(&self, ext: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.path(".gadn/packs"))
            .expect("pack dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        v.sort();
        v
    }
}

/// A plain `std` command for the binary (for spawning and killing).
pub fn std_cmd(args: &[&str], dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("gadn"));
    c.args(args)
        .current_dir(dir)
        .env("GADN_AUTHOR_NAME", "Test Artist")
        .env("GADN_AUTHOR_EMAIL", "test@example.org")
        .env("GADN_LOCK_TIMEOUT", "5")
        // No background preview process racing the test; preview tests opt in.
        .env("GADN_PREVIEW_ON_COMMIT", "off")
        // Never the developer's own identity key; tests that need one set their own.
        .env(
            "GADN_HOME",
            std::env::temp_dir().join(format!("gadn-test-home-{}", std::process::id())),
        );
    c
}

pub fn cmd_in(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::from_std(std_cmd(args, dir));
    c.timeout(std::time::Duration::from_secs(120));
    c
}

/// Deterministic pseudo-random bytes (incompressible).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut ctr = 0u64;
    while out.len() < len {
        let mut h = blake3::Hasher::new();
        h.update(&seed.to_le_bytes());
        h.update(&ctr.to_le_bytes());
        out.extend_from_slice(h.finalize().as_bytes());
        ctr += 1;
    }
    out.truncate(len);
    out
}

/// Isolates a `git` (or `gadn`, which runs git) command from the machine's Git
/// configuration: `HOME` is `home` (so no user config), no system config, no
/// terminal prompts, and a fixed Git identity.
pub fn isolate_git<'c>(
    c: &'c mut std::process::Command,
    home: &Path,
) -> &'c mut std::process::Command {
    c.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test Artist")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test Artist")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
}

/// One person at the shared machine: their own gadn home (hence identity key) and
/// author identity.
pub struct User {
    pub home: tempfile::TempDir,
    pub name: &'static str,
}

impl User {
    pub fn new(name: &'static str) -> User {
        User {
            home: tempfile::tempdir().expect("tempdir"),
            name,
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.home.path().join("gadn/identity.key")
    }

    pub fn output_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = std_cmd(args, dir);
        c.env("GADN_HOME", self.home.path().join("gadn"))
            .env("GADN_AUTHOR_NAME", self.name)
            .env(
                "GADN_AUTHOR_EMAIL",
                format!("{}@example.org", self.name.to_lowercase()),
            );
        c.output().expect("run gadn")
    }

    /// Runs in `dir` and asserts success; returns stdout.
    pub fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.output_in(dir, args);
        assert!(
            out.status.success(),
            "{} gadn {args:?} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs in the repository and asserts success; returns stdout.
    pub fn ok(&self, s: &Scratch, args: &[&str]) -> String {
        self.ok_in(&s.repo(), args)
    }

    /// Runs in the repository and asserts a documented failure status (1 failed,
    /// 3 damage, 4 conflicts, 10 not a repository, 11 lock held: never a panic's
    /// 101 or a usage error's 2); returns stderr.
    pub fn fails(&self, s: &Scratch, args: &[&str]) -> String {
        let out = self.output_in(&s.repo(), args);
        assert!(
            matches!(out.status.code(), Some(1 | 3 | 4 | 10 | 11)),
            "{} gadn {args:?} exited {:?}: {}\n{}",
            self.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs in the repository and asserts exit status `code`; returns stderr.
    pub fn fails_with(&self, s: &Scratch, args: &[&str], code: i32) -> String {
        let out = self.output_in(&s.repo(), args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{} gadn {args:?}: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn json(&self, s: &Scratch, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(s, args)).expect("valid JSON")
    }

    /// This user's public key, from `gadn id` (run outside any repository).
    pub fn key(&self) -> String {
        self.ok_in(self.home.path(), &["id"]).trim().to_string()
    }
}

/// A `gadn serve` child, killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    /// `KEY@127.0.0.1:PORT`, as `gadn clone` takes it.
    pub source: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` (a `gadn serve --listen 127.0.0.1:0 …` command with its environment
/// set) and waits up to 30 s for its first line, "Serving repository ID as KEY on
/// ADDR"; its other output is drained so it never blocks.
pub fn spawn_serve(mut cmd: std::process::Command) -> Served {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gadn serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let mut served = Served {
        child,
        source: String::new(),
    };
    let line = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(Some(Ok(line))) => line,
        other => panic!("serve printed no first line: {other:?}"),
    };
    let w: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(w.len(), 7, "unexpected serve line: {line}");
    served.source = format!("{}@{}", w[4], w[6]);
    served
}
