//! `gadn merge`.

use std::process::ExitCode;

use gadn::vcs::MergeOutcome;

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The branch (or revision) to merge into the current branch.
    #[arg(required_unless_present = "abort", conflicts_with = "abort")]
    branch: Option<String>,
    /// Abandon the merge in progress: the working tree and index go back to HEAD.
    #[arg(long)]
    abort: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    if a.abort {
        repo.merge_abort()?;
        if !ctx.quiet {
            println!("Merge aborted; the working tree is back at HEAD");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rev = a.branch.unwrap_or_default();
    let outcome = repo.merge(&rev)?;
    if a.json {
        print_json(&outcome)?;
        // Stopping on conflicts is a problem to report, in JSON as in text.
        return Ok(match outcome {
            MergeOutcome::Conflicts { .. } => ExitCode::from(super::exit::CONFLICTS),
            _ => ExitCode::SUCCESS,
        });
    }
    Ok(report(ctx, &rev, &outcome))
}

/// Prints what a merge of `rev` did; the exit status (a problem when it stopped on
/// conflicts).
pub(super) fn report(ctx: &Ctx, rev: &str, outcome: &MergeOutcome) -> ExitCode {
    match outcome {
        MergeOutcome::UpToDate => println!("Already up to date."),
        MergeOutcome::FastForward { commit } => {
            if !ctx.quiet {
                println!("Fast-forward to {}", &commit[..12]);
            }
        }
        MergeOutcome::Merged { commit } => {
            if !ctx.quiet {
                println!("Merge made: {} merges '{rev}' into HEAD", &commit[..12]);
            }
        }
        MergeOutcome::Conflicts { conflicts } => {
            println!("Merge of '{rev}' stopped on conflicts:");
            for c in conflicts {
                println!("  {}", c.describe());
            }
            println!(
                "Resolve each with `gadn resolve PATH --ours|--theirs|--both` (a text file: edit it,\nthen `gadn resolve PATH --merged`), then `gadn commit`; or `gadn merge --abort`."
            );
            return ExitCode::from(super::exit::CONFLICTS);
        }
    }
    ExitCode::SUCCESS
}
