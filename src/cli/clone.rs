//! `gadn clone KEY@HOST:PORT DIR`: copy a repository from a serving peer, pinning
//! its key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use gadn::store::chunker::ChunkParams;
use gadn::store::db::PeerSource;
use gadn::store::keys;
use gadn::sync::client::{self, FetchOptions};
use gadn::sync::remote::{client_endpoint, parse_key_at, socket_addrs, DEFAULT_PEER_KEY};
use gadn::vcs::Repo;

use super::net::{fetch_json, identity, print_fetch, runtime, transfer_bar};
use super::Ctx;

/// Arguments of `gadn clone`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The serving peer: its public key (as `gadn id` prints it) @ HOST:PORT.
    source: String,
    /// The directory to create (or an interrupted clone of the same repository to
    /// resume).
    dir: PathBuf,
    /// Print what moved as JSON (as `gadn fetch --json`), one line, before checkout.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let (key, addr_text) = parse_key_at(&a.source)?;
    let dir = ctx.cwd.join(&a.dir);
    let me = identity()?;
    let addrs = socket_addrs(std::slice::from_ref(&addr_text));
    anyhow::ensure!(!addrs.is_empty(), "cannot resolve {addr_text}");
    let rt = runtime()?;
    rt.block_on(async {
        let endpoint = client_endpoint(&me, &addrs)?;
        let conn = client::connect(&endpoint, key, &addrs).await?;
        let welcome = client::hello(&conn, "origin", None, Vec::new()).await?;
        let store_dir = open_target(&dir, &welcome.repo, welcome.chunking)?
            .store()
            .dir()
            .to_path_buf();
        // Prefilled files of an earlier, interrupted attempt are not trusted.
        gadn::store::prefill::clear(&store_dir)
            .with_context(|| format!("cannot clear {}", store_dir.display()))?;
        let (bar, progress) = transfer_bar(ctx.quiet || a.json, "receiving");
        let report = client::fetch(
            &conn,
            "origin",
            &store_dir,
            FetchOptions {
                trust_peer: true,
                progress: Some(progress),
                prefill_checkout: true,
            },
        )
        .await;
        bar.finish_and_clear();
        let report = report.with_context(|| {
            format!(
                "the clone stopped; what arrived is kept: run the same command again to resume ({})",
                dir.display()
            )
        })?;
        conn.close(0, b"");
        if a.json {
            println!("{}", fetch_json(&report));
        } else {
            print_fetch(&report, ctx.quiet);
        }
        // Reopen: the fetch added packs this handle has not seen.
        let mut repo = Repo::open(&dir)?;
        let db = repo.store().db();
        db.peer_upsert(&key, Some(&report.peer), PeerSource::Config)?;
        db.peer_add_addr(&key, &addr_text, PeerSource::Config, Some(chrono::Utc::now().timestamp()))?;
        db.config_set(DEFAULT_PEER_KEY, &report.peer)?;
        let branch = report.remote.checkout_branch().map(|(b, _)| b);
        let checked_out = match branch {
            Some(b) => {
                if repo.store().db().resolve_ref(&format!("refs/heads/{b}"))?.and_then(|(_, id)| id).is_none() {
                    repo.create_branch(&b, Some(&format!("{}/{b}", report.peer)))?;
                }
                repo.switch(&b, false, true).map(|_| Some(b))
            }
            None => Ok(None),
        };
        // What the checkout did not take (or all of it, if it failed) goes.
        let _ = gadn::store::prefill::clear(&store_dir);
        match checked_out? {
            Some(b) if !ctx.quiet && !a.json => {
                println!("Cloned into {} (branch {b}, from {})", dir.display(), report.peer)
            }
            Some(_) => {}
            None => eprintln!("warning: {} has no branches yet; nothing checked out", report.peer),
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The repository to clone into: a new one at `dir` (which must not exist or be
/// empty) with the peer's repository id and chunking, or an interrupted clone of the
/// same repository there (resumed).
fn open_target(
    dir: &Path,
    repo_id: &str,
    chunking: Option<(u32, u32, u32)>,
) -> anyhow::Result<Repo> {
    if dir.join(gadn::store::STORE_DIR).is_dir() {
        let repo = Repo::open(dir)?;
        let id = repo.store().repository_id()?;
        anyhow::ensure!(
            id == repo_id,
            "{} holds another repository ({id}); clone into a new directory",
            dir.display()
        );
        anyhow::ensure!(
            repo.store()
                .db()
                .resolve_ref("HEAD")?
                .and_then(|(_, id)| id)
                .is_none(),
            "{} is already a clone with commits; use `gadn fetch` there",
            dir.display()
        );
        return Ok(repo);
    }
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        anyhow::ensure!(empty, "{} exists and is not empty", dir.display());
    }
    let params = match chunking {
        Some((min, avg, max)) => ChunkParams::new(min, avg, max)
            .map_err(|e| anyhow::anyhow!("the peer's chunking parameters are unusable: {e}"))?,
        None => ChunkParams::DEFAULT,
    };
    let repo = Repo::init(dir, params)?;
    repo.store().db().config_set(keys::REPO_ID, repo_id)?;
    Ok(repo)
}
