//! `gadn config`: read and write the repository's settings.

use std::process::ExitCode;

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Print a setting's value (exit 1 when unset).
    Get {
        /// The key, e.g. preview.on-commit.
        key: String,
        /// Print `{"key": …, "value": …}` (`value` null when unset, still exit 1).
        #[arg(long)]
        json: bool,
    },
    /// Set a setting.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove a setting.
    Unset {
        /// The key.
        key: String,
    },
    /// List every setting.
    List {
        /// Print a JSON object of every key and its value.
        #[arg(long)]
        json: bool,
    },
}

/// Keys gadn reads, with a check of their values. Others are refused, so a typo
/// does not silently do nothing.
fn check(key: &str, value: &str) -> anyhow::Result<()> {
    let known = [
        "user.name",
        "user.email",
        "sync.default-peer",
        "preview.on-commit",
        "preview.levels",
        "preview.timeout",
        "preview.jobs",
        "preview.max-input",
    ];
    if !known.contains(&key) && !key.starts_with("preview.tool.") && !key.starts_with("x-") {
        anyhow::bail!(
            "unknown key '{key}' (known: {}, preview.tool.TYPE; keys starting x- are free)",
            known.join(", ")
        );
    }
    if key.starts_with("preview.") {
        gadn::preview::settings::Settings::default().apply(key, value)?;
    }
    Ok(())
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let db = repo.store().db();
    match a.command {
        Sub::Get { key, json } => {
            let value = db.config_get(&key)?;
            if json {
                print_json(&serde_json::json!({ "key": key, "value": value }))?;
            } else if let Some(v) = &value {
                println!("{v}");
            }
            if value.is_none() {
                return Ok(ExitCode::from(super::exit::FAILED));
            }
        }
        Sub::Set { key, value } => {
            check(&key, &value)?;
            db.config_set(&key, &value)?;
        }
        Sub::Unset { key } => {
            if !db.config_unset(&key)? {
                anyhow::bail!("'{key}' is not set");
            }
        }
        Sub::List { json } => {
            let all = db.config_list()?;
            if json {
                let map: serde_json::Map<String, serde_json::Value> = all
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                print_json(&map)?;
            } else {
                for (k, v) in all {
                    println!("{k}={v}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
