//! `gadn clone KEY@HOST:PORT DIR`: copy a repository from a serving peer, pinning
//! its key.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use gadn::ops;

use super::net::{bars, identity, print_fetch, print_json_line};
use super::Ctx;

/// Arguments of `gadn clone`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The serving peer: its public key (as `gadn id` prints it) @ HOST:PORT.
    source: String,
    /// The directory to create (or an interrupted clone of the same repository to
    /// resume).
    dir: PathBuf,
    /// Another source of the chunks, KEY@HOST:PORT (repeatable): the chunks are
    /// fetched from all sources at once, rarest first, each in proportion to its
    /// measured rate.
    #[arg(long = "peer", value_name = "KEY@HOST:PORT")]
    extra_peers: Vec<String>,
    /// Use at most N sources, the first one included (default 8); hand-named
    /// peers first, then the members learnt by peer exchange or configured.
    #[arg(long, value_name = "N")]
    max_sources: Option<usize>,
    /// Serve the repository on this UDP address (port 0 picks one) while cloning
    /// and after: the chunks that landed go to the other members at once, so
    /// downloaders of one origin share its upload. Once cloned, serving goes on
    /// (as `gadn serve --no-lan`) until SIGINT or SIGTERM, or `--linger`.
    #[arg(long, value_name = "ADDR")]
    serve: Option<std::net::SocketAddr>,
    /// With `--serve`: stop serving this many seconds after the clone completes.
    #[arg(long, value_name = "SECONDS", requires = "serve")]
    linger: Option<u64>,
    /// Print what moved as JSON (as `gadn fetch --json`, with `dir` and `branch`),
    /// one line.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let opts = ops::CloneOptions {
        identity: identity()?,
        source: a.source,
        dir: ctx.cwd.join(&a.dir),
        progress: bars(ctx.quiet || a.json),
        peers: a.extra_peers,
        max_sources: a.max_sources,
    };
    let (r, serving) = match a.serve {
        Some(addr) => {
            let (r, handle) = ops::clone_and_serve(&opts, addr)?;
            (r, Some(handle))
        }
        None => (ops::clone(&opts)?, None),
    };
    if a.json {
        print_json_line(&r)?;
    } else {
        print_fetch(&r.fetch, ctx.quiet);
    }
    match &r.branch {
        Some(b) if !ctx.quiet && !a.json => println!(
            "Cloned into {} (branch {b}, from {})",
            r.dir.display(),
            r.fetch.peer
        ),
        Some(_) => {}
        None => eprintln!(
            "warning: {} has no branches yet; nothing checked out",
            r.fetch.peer
        ),
    }
    if let Some(handle) = serving {
        if !ctx.quiet && !a.json {
            println!("Serving on {}", handle.local_addr());
        }
        let _ = std::io::stdout().flush();
        handle.run_until_signal_or(a.linger.map(std::time::Duration::from_secs))?;
    }
    Ok(ExitCode::SUCCESS)
}
