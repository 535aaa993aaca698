//! The programs in `examples/`, run as tests.
#![cfg(feature = "cli")]

#[path = "../examples/commit_and_clone.rs"]
#[allow(dead_code)]
mod commit_and_clone;

#[test]
fn example_commit_and_clone_reads_back_the_committed_file() {
    let d = tempfile::tempdir().expect("tmp");
    let got = commit_and_clone::run(d.path(), b"the same bytes").expect("example runs");
    assert_eq!(got, b"the same bytes");
}
