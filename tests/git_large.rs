//! A 1 GiB file (512 MiB where the disk is short, see `big_size`) through Git's long-running filter process: `git add` + `git commit`
//! clean it into the gadn store (the Git blob is an LFS pointer), `git checkout --`
//! smudges it back byte-identical, `git status` is clean afterwards, and the gadn
//! filter process's peak RSS stays under [`RSS_BOUND_KIB`] in both directions.
//!
//! The peak RSS is measured by GNU time (`/usr/bin/time -f %M`, package `time`,
//! installed by `tools/test.sh`) wrapped around the filter command that
//! `gadn git install` configured: Git waits for its filter process to exit before it
//! exits itself, so time's report is complete when the Git command returns.
//!
//! The input is generated in 1 MiB blocks and never held in memory by the test;
//! hashes (BLAKE3 for the comparison, SHA-256 for the pointer's oid) are computed
//! while writing and while reading back.
#![cfg(feature = "cli")]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

/// Size of the big file: 1 GiB where the disk has room for it (see [`big_size`]).
const BIG: u64 = 1 << 30;
/// The smallest big file the test runs with: still well above [`RSS_BOUND_KIB`], so a
/// filter that held the file in memory would fail the bound.
const BIG_MIN: u64 = 512 << 20;
/// Generation / verification block, bytes.
const BLOCK: usize = 1 << 20;
/// Bound on the gadn filter process's peak resident set, KiB (200 MiB).
const RSS_BOUND_KIB: u64 = 200 * 1024;
/// Bound on each Git command (debug binary, 2 cores, 1 GiB through the filter).
const GIT_TIMEOUT: Duration = Duration::from_secs(600);
/// GNU time, which reports a child's peak RSS (`%M`, KiB).
const GNU_TIME: &str = "/usr/bin/time";

/// A Git repository in a temporary directory with an isolated Git configuration.
struct GitRepo {
    dir: tempfile::TempDir,
}

/// Free bytes on the filesystem holding `dir` (POSIX `df -Pk`).
fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df")
        .arg("-Pk")
        .arg(dir)
        .output()
        .expect("run df");
    let text = String::from_utf8_lossy(&out.stdout);
    let avail_kib = text
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("cannot read df's output for {}: {text}", dir.display()));
    avail_kib * 1024
}

/// Where the test repository goes: the system temporary directory or Cargo's
/// per-target temporary directory, whichever filesystem has more room (CI's `/tmp`
/// may be small while the target directory's disk is not).
fn roomiest_temp_root() -> (PathBuf, u64) {
    let candidates = [
        std::env::temp_dir(),
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    ];
    candidates
        .into_iter()
        .filter(|d| std::fs::create_dir_all(d).is_ok())
        .map(|d| {
            let free = free_bytes(&d);
            (d, free)
        })
        .max_by_key(|(_, free)| *free)
        .expect("a temporary directory")
}

/// The big file's size for `free` bytes of disk: the working file, its chunks in the
/// store (compressed, at most the file's size) and slack need `2 × size + 256 MiB`.
/// 1 GiB when that fits, else the largest power of two that fits, down to
/// [`BIG_MIN`]; below that the test cannot show bounded memory and says so.
fn big_size(free: u64) -> u64 {
    let need = |size: u64| 2 * size + (256 << 20);
    let mut size = BIG;
    while size > BIG_MIN && need(size) > free {
        size /= 2;
    }
    assert!(
        need(size) <= free,
        "this test needs {} MiB of free disk for a {} MiB file and has {} MiB",
        need(size) >> 20,
        size >> 20,
        free >> 20
    );
    size
}

impl GitRepo {
    fn new(root: &Path) -> GitRepo {
        let dir = tempfile::tempdir_in(root).expect("tempdir");
        std::fs::write(
            dir.path().join("gitconfig"),
            "[user]\n\tname = Test Artist\n\temail = test@example.org\n\
             [init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n\
             [maintenance]\n\tauto = false\n[core]\n\tautocrlf = false\n",
        )
        .expect("write gitconfig");
        std::fs::create_dir(dir.path().join("repo")).expect("mkdir repo");
        let r = GitRepo { dir };
        r.git(&["init", "-q"]);
        r
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// Environment shared by `git` and `gadn`: isolated config, gadn's test identity,
    /// the gadn binary's directory first on PATH (for a filter command named `gadn`).
    fn env(&self, c: &mut Command) {
        let bin = assert_cmd::cargo::cargo_bin("gadn");
        let bin_dir = bin.parent().expect("binary dir").to_path_buf();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin_dir];
        dirs.extend(std::env::split_paths(&path));
        c.current_dir(self.work())
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.dir.path().join("gitconfig"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GADN_AUTHOR_NAME", "Test Artist")
            .env("GADN_AUTHOR_EMAIL", "test@example.org")
            .env("GADN_LOCK_TIMEOUT", "5")
            .env("GADN_HOME", self.dir.path().join("gadn-home"));
    }

    /// Runs `git ARGS` in the work tree, asserts success within [`GIT_TIMEOUT`];
    /// returns stdout.
    fn git(&self, args: &[&str]) -> Vec<u8> {
        let mut c = Command::new("git");
        c.args(args);
        self.env(&mut c);
        self.run(c, &format!("git {args:?}"))
    }

    fn gadn(&self, args: &[&str]) -> Vec<u8> {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("gadn"));
        c.args(args);
        self.env(&mut c);
        self.run(c, &format!("gadn {args:?}"))
    }

    /// Runs `c` with stdout/stderr in files (no pipe can fill up), killing it after
    /// [`GIT_TIMEOUT`].
    fn run(&self, mut c: Command, what: &str) -> Vec<u8> {
        let out_path = self.dir.path().join("cmd.out");
        let err_path = self.dir.path().join("cmd.err");
        let out = std::fs::File::create(&out_path).expect("stdout file");
        let err = std::fs::File::create(&err_path).expect("stderr file");
        c.stdin(Stdio::null()).stdout(out).stderr(err);
        let t0 = Instant::now();
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start ({e}); is it installed?"));
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if t0.elapsed() > GIT_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: still running after {GIT_TIMEOUT:?}, killed");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = std::fs::read(&out_path).expect("read stdout");
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert!(
            status.success(),
            "{what} failed ({status}) after {:.1}s:\n{stderr}\n{}",
            t0.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&stdout)
        );
        eprintln!("{what}: {:.1}s", t0.elapsed().as_secs_f64());
        stdout
    }
}

/// Hashes of a file's content.
#[derive(Debug, PartialEq, Eq)]
struct Digests {
    blake3: [u8; 32],
    sha256: [u8; 32],
    len: u64,
}

/// Writes `len` bytes of deterministic mixed content to `path` in [`BLOCK`]-sized
/// blocks (never more than one block in memory): runs of incompressible blocks
/// alternate with compressible, asset-like blocks (a fixed 48-byte record followed by
/// 16 noise bytes, so zstd gets roughly 3×, and every chunk is still unique).
fn generate(path: &Path, len: u64, seed: u64) -> Digests {
    let mut f = std::io::BufWriter::with_capacity(BLOCK, std::fs::File::create(path).unwrap());
    let mut b3 = blake3::Hasher::new();
    let mut sha = sha2::Sha256::new();
    let mut block = vec![0u8; BLOCK];
    const RECORD: &[u8; 48] = b"v 0.125 -1.5 2.0 n 0 1 0 uv 0.5 0.25 mat=stone;\n";
    let mut written = 0u64;
    let mut i = 0u64;
    while written < len {
        let mut xof = blake3::Hasher::new();
        xof.update(&seed.to_le_bytes()).update(&i.to_le_bytes());
        xof.finalize_xof().fill(&mut block);
        // Extents of 4 blocks; about 60 % of them asset-like, the rest noise.
        let extent = i / 4;
        let asset_like = extent % 2 == 1 || (extent * 7 + seed).is_multiple_of(5);
        if asset_like {
            for rec in block.chunks_exact_mut(64) {
                rec[..48].copy_from_slice(RECORD);
            }
        }
        let n = BLOCK.min((len - written) as usize);
        f.write_all(&block[..n]).unwrap();
        b3.update(&block[..n]);
        sha.update(&block[..n]);
        written += n as u64;
        i += 1;
    }
    f.into_inner().unwrap().sync_all().unwrap();
    Digests {
        blake3: *b3.finalize().as_bytes(),
        sha256: sha.finalize().into(),
        len: written,
    }
}

/// Streams `path` through BLAKE3 and SHA-256.
fn digest_file(path: &Path) -> Digests {
    let mut f = std::fs::File::open(path).unwrap();
    let mut b3 = blake3::Hasher::new();
    let mut sha = sha2::Sha256::new();
    let mut block = vec![0u8; BLOCK];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut block).unwrap();
        if n == 0 {
            break;
        }
        b3.update(&block[..n]);
        sha.update(&block[..n]);
        len += n as u64;
    }
    Digests {
        blake3: *b3.finalize().as_bytes(),
        sha256: sha.finalize().into(),
        len,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Peak RSS values (KiB) GNU time appended to `log`, one per filter process that
/// exited (lines such as "Command exited with non-zero status 1" are kept as text in
/// the panic message: a filter that failed must not pass as a measurement).
fn rss_log(log: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            l.trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("filter process did not end cleanly: {text}"))
        })
        .collect()
}

#[test]
fn one_gib_file_cleans_and_smudges_through_gadn_in_bounded_memory() {
    assert!(
        Path::new(GNU_TIME).is_file(),
        "{GNU_TIME} (GNU time) is needed to measure the filter's peak RSS: apt-get install time \
         (tools/test.sh does)"
    );
    let (root, free) = roomiest_temp_root();
    let big_len = big_size(free);
    eprintln!(
        "test repository under {} ({} MiB free): a {} MiB file",
        root.display(),
        free >> 20,
        big_len >> 20
    );
    let r = GitRepo::new(&root);
    let t_total = Instant::now();
    r.gadn(&["git", "install"]);

    // Wrap the configured filter command in GNU time; every filter process that Git
    // starts appends its peak RSS to rss.log when it exits.
    let configured = r.git(&["config", "--local", "filter.gadn.process"]);
    let configured = String::from_utf8(configured).expect("utf-8 filter command");
    let configured = configured.trim();
    assert!(
        configured.contains("filter-process"),
        "filter.gadn.process = {configured:?}"
    );
    let log = r.dir.path().join("rss.log");
    let wrapped = format!("{GNU_TIME} -f %M -a -o '{}' {configured}", log.display());
    r.git(&["config", "--local", "filter.gadn.process", &wrapped]);
    assert_eq!(
        r.git(&["config", "--local", "filter.gadn.required"]),
        b"true\n"
    );
    let attr = r.git(&["check-attr", "filter", "--", "big.psd"]);
    assert_eq!(
        attr, b"big.psd: filter: gadn\n",
        "default patterns cover .psd"
    );
    r.git(&["add", ".gitattributes"]);
    r.git(&["commit", "-qm", "gadn attributes"]);

    let big = r.work().join("big.psd");
    let t0 = Instant::now();
    let want = generate(&big, big_len, 7);
    eprintln!(
        "generated {} MiB: {:.1}s",
        big_len >> 20,
        t0.elapsed().as_secs_f64()
    );

    // Clean: git add + commit.
    r.git(&["add", "big.psd"]);
    r.git(&["commit", "-qm", "big"]);
    let clean_rss = rss_log(&log);
    assert!(
        !clean_rss.is_empty(),
        "git add did not run the gadn filter process"
    );

    // The blob Git stored is an LFS pointer to exactly this content.
    let blob = r.git(&["cat-file", "blob", "HEAD:big.psd"]);
    assert!(
        blob.len() < 1024,
        "Git stored {} bytes, not a pointer",
        blob.len()
    );
    let text = String::from_utf8(blob).expect("pointer is text");
    assert!(
        text.starts_with("version https://git-lfs.github.com/spec/v1\n"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == format!("oid sha256:{}", hex(&want.sha256))),
        "pointer oid is not the content's SHA-256 {}:\n{text}",
        hex(&want.sha256)
    );
    assert!(
        text.lines().any(|l| l == format!("size {big_len}")),
        "{text}"
    );

    // Smudge: delete the working file and check it out again.
    std::fs::remove_file(&big).unwrap();
    r.git(&["checkout", "--", "big.psd"]);
    let all_rss = rss_log(&log);
    assert!(
        all_rss.len() > clean_rss.len(),
        "git checkout did not run the gadn filter process"
    );
    let got = digest_file(&big);
    assert_eq!(got.len, big_len, "checked-out size");
    assert!(
        got == want,
        "checked-out content differs from the committed content"
    );
    let status = r.git(&["status", "--porcelain"]);
    assert!(
        status.is_empty(),
        "git status not clean after checkout:\n{}",
        String::from_utf8_lossy(&status)
    );

    // The gadn store of the repository knows the content by its SHA-256 and is whole.
    let git_dir = gadn::git::git_dir(&r.work()).expect("git dir");
    let store = gadn::store::Store::open(&gadn::git::store_dir(&git_dir)).expect("open store");
    let (_, size) = store
        .db()
        .lfs_get(&gadn::store::Sha256(want.sha256))
        .expect("lfs_objects readable")
        .expect("the content's SHA-256 is recorded in lfs_objects");
    assert_eq!(size, big_len);
    let report = store.fsck(&mut |_| {}).expect("fsck runs");
    assert!(report.is_ok(), "gadn store not fsck-clean: {report:?}");

    // Every filter process so far, including one `git status` may have started to
    // re-clean the racily clean file.
    let all_rss = rss_log(&log);
    let peak = *all_rss.iter().max().unwrap();
    eprintln!(
        "gadn filter peak RSS: clean {:?} KiB, checkout and status {:?} KiB (bound {RSS_BOUND_KIB} KiB); total {:.1}s",
        clean_rss,
        &all_rss[clean_rss.len()..],
        t_total.elapsed().as_secs_f64()
    );
    assert!(
        peak < RSS_BOUND_KIB,
        "gadn filter process peak RSS {peak} KiB >= {RSS_BOUND_KIB} KiB (all: {all_rss:?})"
    );
}
