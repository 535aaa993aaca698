//! Commit a file, serve the repository with [`gadn::ops::Server`] on loopback,
//! clone it with [`gadn::ops::clone`] into a second directory in the same
//! process, and read the file back.
//!
//! `cargo run --example commit_and_clone`; `tests/examples.rs` runs [`run`] too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gadn::identity::MachineKey;
use gadn::ops::{self, CloneOptions, Server};
use gadn::vcs::{CommitOptions, Repo};
use gadn::{ChunkParams, Role};

/// Commits `hello.txt` holding `content` in `dir/alice`, clones it into `dir/bob`
/// over QUIC on 127.0.0.1 and returns the clone's `hello.txt`.
pub fn run(dir: &Path, content: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    // Two machines: alice serves, bob clones. Keys from fixed seeds keep the
    // example away from the user's own identity.
    let alice = Arc::new(MachineKey::from_seed([1; 32]));
    let bob = Arc::new(MachineKey::from_seed([2; 32]));

    let mut repo = Repo::init(&dir.join("alice"), ChunkParams::DEFAULT)?;
    std::fs::write(repo.root().join("hello.txt"), content)?;
    let root = repo.root().to_path_buf();
    repo.add(&root, &[PathBuf::from("hello.txt")], false, &|_, _| {})?;
    // The author also commits, as no `user.name`/`user.email` is configured here.
    repo.commit(&CommitOptions {
        message: "hello".into(),
        author: Some(gadn::vcs::parse_ident("Alice <alice@example.org>")?),
        ..Default::default()
    })?;
    // Only members may connect: alice founds the member list and adds bob.
    gadn::sync::members::add(
        repo.store_mut(),
        &alice,
        "alice",
        "bob",
        bob.public(),
        Role::Member,
    )?;
    drop(repo);

    let server = Server::new(&root, alice.clone())
        .listen("127.0.0.1:0".parse()?)
        .lan(None)
        .start()?;
    let source = format!("{}@{}", alice.public().to_text(), server.local_addr());
    let cloned = ops::clone(&CloneOptions::new(bob, &source, &dir.join("bob")));
    server.shutdown()?;
    let cloned = cloned?;
    Ok(std::fs::read(cloned.dir.join("hello.txt"))?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let d = tempfile::tempdir()?;
    let got = run(d.path(), b"hello from alice\n")?;
    assert_eq!(got, b"hello from alice\n");
    println!(
        "cloned and read back: {}",
        String::from_utf8_lossy(&got).trim()
    );
    Ok(())
}
