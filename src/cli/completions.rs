//! `gadn completions SHELL` and `gadn man`: generated from the clap definitions, so
//! they never drift from the commands.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory;

use super::{Cli, Ctx};

/// Arguments of `gadn completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    shell: clap_complete::Shell,
}

/// Arguments of `gadn man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `gadn.1` and one `gadn-COMMAND.1` per command into this directory
    /// (created if missing) instead of printing `gadn.1` on standard output.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Prints the completion script for `a.shell` on standard output, e.g.
/// `gadn completions bash > ~/.local/share/bash-completion/completions/gadn`.
pub fn run_completions(_ctx: &Ctx, a: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics when its writer fails, and a closed
    // pipe must end the command quietly like every other output.
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "gadn", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `gadn.1`, or writes every page into `--out DIR`.
pub fn run_man(ctx: &Ctx, a: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    let Some(dir) = a.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page)?;
        std::io::stdout().lock().write_all(&page)?;
        return Ok(ExitCode::SUCCESS);
    };
    let dir = ctx.cwd.join(dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = write_pages(cmd, &dir)?;
    if !ctx.quiet {
        println!("wrote {pages} man pages to {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `cmd` and of every subcommand, recursively (`gadn-git-install.1`
/// for `gadn git install`, as clap_mangen names them); returns how many.
fn write_pages(cmd: clap::Command, dir: &std::path::Path) -> anyhow::Result<usize> {
    let mut built = cmd.clone().disable_help_subcommand(true);
    built.build();
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    Ok(pages(&built))
}

/// The pages clap_mangen writes for `cmd`: its own and, recursively, one per
/// visible subcommand.
fn pages(cmd: &clap::Command) -> usize {
    1 + cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(pages)
        .sum::<usize>()
}
