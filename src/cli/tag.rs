//! `gadn tag`.

use std::process::ExitCode;

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn tag`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tag to create (with --delete: to delete). Without a name, tags are listed.
    name: Option<String>,
    /// The revision to tag (default HEAD).
    rev: Option<String>,
    /// Make an annotated tag with this message.
    #[arg(short, long, conflicts_with_all = ["list", "delete"])]
    message: Option<String>,
    /// List tags.
    #[arg(short, long, conflicts_with_all = ["name", "delete"])]
    list: bool,
    /// Delete the tag NAME.
    #[arg(short, long, requires = "name", conflicts_with = "rev")]
    delete: bool,
    /// Machine-readable list.
    #[arg(long, conflicts_with_all = ["name", "delete", "message"])]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    match a.name {
        Some(name) if a.delete => {
            let was = repo.delete_tag(&name)?;
            if !ctx.quiet {
                println!("Deleted tag {name} (was {})", was.short());
            }
        }
        Some(name) => {
            let id = repo.create_tag(&name, a.rev.as_deref(), a.message.as_deref())?;
            if !ctx.quiet {
                let kind = if a.message.is_some() {
                    "annotated tag"
                } else {
                    "tag"
                };
                println!("Created {kind} {name} ({})", id.short());
            }
        }
        None => {
            let tags = repo.tags()?;
            if a.json {
                print_json(&tags)?;
            } else {
                for t in &tags {
                    match &t.message {
                        Some(m) => println!(
                            "{}  {}  {}",
                            t.name,
                            t.target_commit.short(),
                            m.lines().next().unwrap_or("")
                        ),
                        None => println!("{}  {}", t.name, t.target_commit.short()),
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
