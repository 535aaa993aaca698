//! Helpers shared by the version-control unit tests.

use std::path::PathBuf;

use super::{CommitOptions, Repo};
use crate::store::chunker::ChunkParams;
use crate::store::ObjectId;

/// A new repository in a temporary directory (working tree `w/`).
pub(crate) fn repo() -> (tempfile::TempDir, Repo) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::init(&dir.path().join("w"), ChunkParams::DEFAULT).unwrap();
    (dir, repo)
}

/// Writes a working-tree file, creating its directories.
pub(crate) fn put(repo: &Repo, rel: &str, data: &[u8]) {
    let p = repo.root().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// Stages everything and commits it.
pub(crate) fn commit_all(repo: &mut Repo, msg: &str) -> ObjectId {
    let root = repo.root().to_path_buf();
    repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
        .unwrap();
    repo.commit(&CommitOptions {
        message: msg.into(),
        ..Default::default()
    })
    .unwrap()
}
