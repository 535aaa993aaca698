//! `gadn push [PEER] [BRANCH…] [--force]`: ask a peer to take branches; it fetches
//! them from here and moves its refs as fast-forwards only, unless forced.

use std::process::ExitCode;

use gadn::store::db::{Expect, ReflogInfo};
use gadn::sync::client;
use gadn::sync::wire::RefUpdate;

use super::net::{identity, remote_for, runtime};
use super::Ctx;

/// Arguments of `gadn push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The member to push to (name or key); default as for `gadn fetch`.
    peer: Option<String>,
    /// Branches to push (default: the current one). `SRC:DST` pushes local SRC as
    /// their DST.
    branches: Vec<String>,
    /// Move their branch even if it is not a fast-forward (their commits not here
    /// are dropped from it).
    #[arg(short, long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let me = identity()?;
    let remote = remote_for(repo.store(), &me, a.peer.as_deref())?;
    let dir = repo.store().dir().to_path_buf();
    let db = repo.store().db();
    let specs = if a.branches.is_empty() {
        match db.resolve_ref("HEAD")? {
            Some((name, Some(_))) if name.starts_with("refs/heads/") => {
                vec![name.trim_start_matches("refs/heads/").to_string()]
            }
            _ => anyhow::bail!("no current branch with commits: name the branch to push"),
        }
    } else {
        a.branches.clone()
    };
    let mut wanted = Vec::new();
    for spec in &specs {
        let (src, dst) = spec.split_once(':').unwrap_or((spec, spec));
        let id = db
            .resolve_ref(&format!("refs/heads/{src}"))?
            .and_then(|(_, id)| id)
            .ok_or_else(|| anyhow::anyhow!("no branch '{src}' here"))?;
        wanted.push((format!("refs/heads/{dst}"), dst.to_string(), id));
    }
    drop(repo);
    let rt = runtime()?;
    let results = rt.block_on(async {
        let session = gadn::sync::remote::open(&me, &remote, &dir).await?;
        let theirs = client::list_refs(&session.conn, &remote.name).await?;
        let updates: Vec<RefUpdate> = wanted
            .iter()
            .map(|(name, _, id)| RefUpdate {
                name: name.clone(),
                old: theirs
                    .refs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, id)| *id),
                new: *id,
                force: a.force,
            })
            .collect();
        let r = client::push(&session.conn, &remote.name, &dir, updates).await;
        session.conn.close(0, b"");
        Ok::<_, anyhow::Error>(r?)
    })?;
    // Their branches as they now are, for the next merge or push.
    let repo = ctx.repo()?;
    let log = ReflogInfo {
        who: "gadn push".into(),
        time: chrono::Utc::now().timestamp(),
        tz_offset_min: 0,
        message: format!("push to {}", remote.name),
    };
    let mut failed = false;
    for (name, why) in &results {
        match why {
            None => {
                if let Some((_, dst, id)) = wanted.iter().find(|(n, _, _)| n == name) {
                    let tracking = format!("refs/remotes/{}/{dst}", remote.name);
                    repo.store()
                        .db()
                        .update_ref(&tracking, Expect::Any, *id, &log)?;
                }
                if !ctx.quiet {
                    println!("{}: {name} updated", remote.name);
                }
            }
            Some(why) => {
                failed = true;
                eprintln!("{}: {name} refused: {why}", remote.name);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(super::EXIT_PROBLEM)
    } else {
        ExitCode::SUCCESS
    })
}
