//! `gadn show`.

use std::process::ExitCode;

use gadn::vcs::{EntryKind, Resolved};

use super::log::{print_commit, CommitJson};
use super::output::{change_line, human_bytes, print_json, quoted};
use super::Ctx;

/// Arguments of `gadn show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A revision (commit) or REV:PATH.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    match repo.resolve(&a.rev)? {
        Resolved::Commit(id) => {
            let c = repo.store().commit(&id)?;
            let changes = repo.commit_changes(&id)?;
            if a.json {
                #[derive(serde::Serialize)]
                struct Out<'a> {
                    #[serde(flatten)]
                    commit: CommitJson<'a>,
                    signature: gadn::vcs::SignatureCheck,
                    changes: &'a [gadn::vcs::Change],
                }
                print_json(&Out {
                    commit: CommitJson::new(&id, &c),
                    signature: gadn::vcs::verify_commit(&c),
                    changes: &changes,
                })?;
            } else {
                print_commit(&id, &c);
                match gadn::vcs::verify_commit(&c) {
                    gadn::vcs::SignatureCheck::Unsigned => {}
                    gadn::vcs::SignatureCheck::Good { key } => {
                        println!("Signed-by: {key} (good signature)")
                    }
                    gadn::vcs::SignatureCheck::Bad { reason } => {
                        println!("Signed-by: BAD SIGNATURE: {reason}")
                    }
                }
                println!();
                for ch in &changes {
                    println!(" {}", change_line(ch, " "));
                }
            }
        }
        Resolved::Entry {
            commit,
            path,
            entry,
        } => {
            #[derive(serde::Serialize)]
            struct Item {
                name: String,
                kind: &'static str,
                id: String,
                size: u64,
            }
            let mut items = Vec::new();
            let mut chunks = None;
            let mut size = entry.size;
            if entry.kind == EntryKind::Dir {
                for e in repo.store().tree(&entry.id)?.entries {
                    items.push(Item {
                        name: e.name,
                        kind: e.kind.name(),
                        id: e.id.to_hex(),
                        size: e.size,
                    });
                }
                if path.is_empty() {
                    // The root has no entry of its own to record its size.
                    size = items.iter().map(|i| i.size).sum();
                }
            } else {
                let f = repo.store().file(&entry.id)?;
                chunks = Some(repo.store().file_chunks(&entry.id, &f).count());
            }
            if a.json {
                #[derive(serde::Serialize)]
                struct Out {
                    commit: String,
                    path: String,
                    kind: &'static str,
                    id: String,
                    size: u64,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    chunks: Option<usize>,
                    #[serde(skip_serializing_if = "Vec::is_empty")]
                    entries: Vec<Item>,
                }
                print_json(&Out {
                    commit: commit.to_hex(),
                    path,
                    kind: entry.kind.name(),
                    id: entry.id.to_hex(),
                    size,
                    chunks,
                    entries: items,
                })?;
            } else {
                println!(
                    "{} {} {} ({})",
                    entry.kind.name(),
                    entry.id,
                    if path.is_empty() {
                        "/".into()
                    } else {
                        quoted(&path)
                    },
                    human_bytes(size)
                );
                if let Some(n) = chunks {
                    println!("{n} chunk(s)");
                }
                for i in items {
                    println!(
                        "{:7} {} {:>10}  {}",
                        i.kind,
                        &i.id[..12],
                        human_bytes(i.size),
                        quoted(&i.name)
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
