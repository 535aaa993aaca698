//! The `gadn` command line: a thin clap layer over the library. One module per
//! command; `anyhow` only here, at the edge.

mod add;
mod branch;
mod cat;
mod checkout;
mod clone;
mod commit;
mod completions;
mod config;
mod diff;
mod exit;
mod fetch;
mod find;
mod fsck;
mod gc;
mod git;
mod history;
mod id;
mod init;
mod lock;
mod log;
mod merge;
mod meta;
mod mv;
mod net;
mod output;
mod peer;
mod preview;
mod pull;
mod push;
mod reflog;
mod resolve;
mod restore;
mod rm;
mod serve;
mod show;
mod stats;
mod status;
mod switch;
mod sync;
mod tag;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// gadn — a serverless, content-addressed store for large files.
#[derive(Debug, Parser)]
#[command(name = "gadn", version, about, propagate_version = true)]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    chdir: Option<PathBuf>,
    /// No progress bars or informational messages.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Colour in terminal output: auto (when stderr is a terminal and NO_COLOR is
    /// unset or empty), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a repository.
    Init(init::Args),
    /// Stage files (new, modified or deleted) for the next commit.
    Add(add::Args),
    /// Record the staged snapshot.
    Commit(commit::Args),
    /// Show staged, unstaged and untracked changes.
    Status(status::Args),
    /// Show history.
    Log(log::Args),
    /// Show a commit, or the entry at REV:PATH.
    Show(show::Args),
    /// Write a file's content (REV:PATH) to standard output.
    Cat(cat::Args),
    /// Switch the working tree to a revision, or restore paths from it.
    Checkout(checkout::Args),
    /// Verify every chunk and object and every reference.
    Fsck(fsck::Args),
    /// Expire old reflog entries, then remove what nothing reaches (--dry-run, --prune).
    Gc(gc::Args),
    /// Show where refs have been (to recover deleted branches and reset commits).
    Reflog(reflog::Args),
    /// Show storage statistics: logical and stored bytes, dedup ratio.
    Stats(stats::Args),
    /// List, create, delete or rename branches.
    Branch(branch::Args),
    /// Switch the working tree to a branch.
    Switch(switch::Args),
    /// Create, list or delete version tags.
    Tag(tag::Args),
    /// Remove files from the working tree and the index.
    Rm(rm::Args),
    /// Move or rename a file (and its engine sidecar).
    Mv(mv::Args),
    /// Restore files from the index or a revision.
    Restore(restore::Args),
    /// Show changes between the working tree, the index and revisions.
    Diff(diff::Args),
    /// Every revision of one asset, following renames.
    History(history::Args),
    /// Join another branch's history into the current branch.
    Merge(merge::Args),
    /// Resolve a merge conflict: --ours, --theirs or --both.
    Resolve(resolve::Args),
    /// Show or edit an asset's creative metadata.
    Meta(meta::Args),
    /// Find assets by type, size, author, tag or modification date.
    Find(find::Args),
    /// Show or write an asset's previews (thumbnails, waveform, clip, low-poly mesh).
    Preview(preview::Args),
    /// Read and write repository settings (preview.*, user.*, sync.*).
    Config(config::Args),
    /// Take an advisory lock on a file.
    Lock(lock::LockArgs),
    /// Release an advisory lock.
    Unlock(lock::UnlockArgs),
    /// List advisory locks.
    Locks(lock::LocksArgs),
    /// Carry a Git repository's large files through gadn (filter, pointers, LFS agent).
    Git(git::Args),
    /// Print this machine's public key (creating the identity on first use).
    Id(id::Args),
    /// Manage the repository's members and their addresses.
    Peer(peer::Args),
    /// Serve this repository to its members over QUIC.
    Serve(serve::Args),
    /// Copy a repository from a serving peer: KEY@HOST:PORT DIR.
    Clone(clone::Args),
    /// Download objects and refs from a peer into remote-tracking refs.
    Fetch(fetch::Args),
    /// Fetch from a peer and merge its branch into the current one.
    Pull(pull::Args),
    /// Send a branch to a peer, which fast-forwards it (unless forced).
    Push(push::Args),
    /// Fetch from every reachable member.
    Sync(sync::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Print the man page, or write every page with --out DIR.
    Man(completions::ManArgs),
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour stderr: `auto` follows <https://no-color.org> (a non-empty
    /// `NO_COLOR` turns colour off) and whether stderr is a terminal.
    fn stderr(self, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                no_color.is_none_or(|v| v.is_empty())
                    && std::io::IsTerminal::is_terminal(&std::io::stderr())
            }
        }
    }
}

/// Context every command receives.
pub struct Ctx {
    /// Working directory (after `-C`).
    pub cwd: PathBuf,
    /// Suppress progress and chatter.
    pub quiet: bool,
    /// Colour on stderr (logs), from `--color` and `NO_COLOR`.
    pub color: bool,
}

impl Ctx {
    fn repo(&self) -> anyhow::Result<gadn::vcs::Repo> {
        Ok(gadn::vcs::Repo::discover(&self.cwd)?)
    }

    /// Paths given on the command line (relative to the working directory) as
    /// repository paths.
    fn repo_paths(&self, repo: &gadn::vcs::Repo, paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
        let root = repo.root();
        Ok(paths
            .iter()
            .map(|p| gadn::vcs::to_repo_path(root, &self.cwd, p))
            .collect::<Result<Vec<_>, _>>()?)
    }
}

/// The directory commands run in: `-C DIR` (relative to the current directory) or the
/// current directory, made absolute and canonical so paths given relative to it can
/// be compared with the repository root.
fn working_dir(chdir: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    let cur = std::env::current_dir()
        .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?;
    let dir = match chdir {
        Some(d) => cur.join(d),
        None => cur,
    };
    dir.canonicalize()
        .map_err(|e| anyhow::anyhow!("cannot use directory {}: {e}", dir.display()))
}

/// Parses arguments, runs the command, maps errors to exit codes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let cwd = match working_dir(cli.chdir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let ctx = Ctx {
        cwd,
        quiet: cli.quiet,
        color: cli.color.stderr(std::env::var_os("NO_COLOR").as_deref()),
    };
    let result = match cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::Add(a) => add::run(&ctx, a),
        Command::Commit(a) => commit::run(&ctx, a),
        Command::Status(a) => status::run(&ctx, a),
        Command::Log(a) => log::run(&ctx, a),
        Command::Show(a) => show::run(&ctx, a),
        Command::Cat(a) => cat::run(&ctx, a),
        Command::Checkout(a) => checkout::run(&ctx, a),
        Command::Fsck(a) => fsck::run(&ctx, a),
        Command::Gc(a) => gc::run(&ctx, a),
        Command::Reflog(a) => reflog::run(&ctx, a),
        Command::Stats(a) => stats::run(&ctx, a),
        Command::Branch(a) => branch::run(&ctx, a),
        Command::Switch(a) => switch::run(&ctx, a),
        Command::Tag(a) => tag::run(&ctx, a),
        Command::Rm(a) => rm::run(&ctx, a),
        Command::Mv(a) => mv::run(&ctx, a),
        Command::Restore(a) => restore::run(&ctx, a),
        Command::Diff(a) => diff::run(&ctx, a),
        Command::History(a) => history::run(&ctx, a),
        Command::Merge(a) => merge::run(&ctx, a),
        Command::Resolve(a) => resolve::run(&ctx, a),
        Command::Meta(a) => meta::run(&ctx, a),
        Command::Preview(a) => preview::run(&ctx, a),
        Command::Config(a) => config::run(&ctx, a),
        Command::Find(a) => find::run(&ctx, a),
        Command::Lock(a) => lock::run_lock(&ctx, a),
        Command::Unlock(a) => lock::run_unlock(&ctx, a),
        Command::Locks(a) => lock::run_locks(&ctx, a),
        Command::Git(a) => git::run(&ctx, a),
        Command::Id(a) => id::run(&ctx, a),
        Command::Peer(a) => peer::run(&ctx, a),
        Command::Serve(a) => serve::run(&ctx, a),
        Command::Clone(a) => clone::run(&ctx, a),
        Command::Fetch(a) => fetch::run(&ctx, a),
        Command::Pull(a) => pull::run(&ctx, a),
        Command::Push(a) => push::run(&ctx, a),
        Command::Sync(a) => sync::run(&ctx, a),
        Command::Completions(a) => completions::run_completions(&ctx, a),
        Command::Man(a) => completions::run_man(&ctx, a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if output::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            exit::for_error(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ColorChoice;

    #[test]
    fn no_color_and_the_flag_decide_colour() {
        let set = Some(std::ffi::OsStr::new("1"));
        let empty = Some(std::ffi::OsStr::new(""));
        assert!(ColorChoice::Always.stderr(set));
        assert!(!ColorChoice::Never.stderr(None));
        assert!(
            !ColorChoice::Auto.stderr(set),
            "NO_COLOR=1 turns colour off"
        );
        // An empty NO_COLOR does not; the terminal test decides (not one under test).
        assert_eq!(
            ColorChoice::Auto.stderr(empty),
            std::io::IsTerminal::is_terminal(&std::io::stderr())
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
