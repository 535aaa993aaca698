//! `gadn id`: this machine's public key, created on first use.
//!
//! Standard output holds the key alone (`gadn1…`), so it can be copied or captured
//! (`KEY=$(gadn id)`); whether it was just created is said on standard error.
//! Works outside a repository.

use std::process::ExitCode;

use gadn::identity::{home_dir, MachineKey, KEY_FILE};

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn id`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output: `{"key", "file", "created"}`.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct IdJson {
    key: String,
    file: String,
    created: bool,
}

/// Prints the key, creating the identity if there is none.
pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let home = home_dir()?;
    let existed = MachineKey::load(&home)?.is_some();
    let key = MachineKey::load_or_create(&home)?.public();
    let file = home.join(KEY_FILE);
    if a.json {
        print_json(&IdJson {
            key: key.to_text(),
            file: file.display().to_string(),
            created: !existed,
        })?;
    } else {
        println!("{key}");
    }
    if !existed && !ctx.quiet {
        eprintln!(
            "Created a new identity in {}\nhint: give the key above to an owner of a repository: `gadn peer add NAME KEY`",
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
