//! `gadn config`: read and write settings, the repository's over the user's global
//! file (`$GADN_HOME/config.toml`).

use std::process::ExitCode;

use gadn::ops::{GlobalConfig, Layers, Scope, Setting};

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

/// Which layer to read or write.
#[derive(Debug, Clone, Copy, clap::Args)]
struct Where {
    /// The user's global file ($GADN_HOME/config.toml), usable outside a repository.
    #[arg(long, conflicts_with = "local")]
    global: bool,
    /// The repository's own settings only (the default for set and unset).
    #[arg(long)]
    local: bool,
}

impl Where {
    /// The scope to read: `None` is the value in force.
    fn read(self) -> Option<Scope> {
        if self.global {
            Some(Scope::Global)
        } else if self.local {
            Some(Scope::Repo)
        } else {
            None
        }
    }

    fn write(self) -> Scope {
        if self.global {
            Scope::Global
        } else {
            Scope::Repo
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Print a setting's value in force (exit 1 when unset).
    Get {
        /// The key, e.g. preview.on-commit.
        key: String,
        #[command(flatten)]
        scope: Where,
        /// Print `{"key": …, "value": …, "origin": …}` (`value` null when unset,
        /// still exit 1).
        #[arg(long)]
        json: bool,
    },
    /// Set a setting (in the repository, or with --global in the global file).
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
        #[command(flatten)]
        scope: Where,
    },
    /// Remove a setting.
    Unset {
        /// The key.
        key: String,
        #[command(flatten)]
        scope: Where,
    },
    /// List the settings in force.
    List {
        #[command(flatten)]
        scope: Where,
        /// Say where each value comes from (`repo:FILE` or `global:FILE`), and list
        /// global values the repository overrides too, after its own.
        #[arg(long)]
        show_origin: bool,
        /// Print a JSON object of every key and its value; with --show-origin, an
        /// array of {key, value, origin}.
        #[arg(long)]
        json: bool,
    },
}

impl Sub {
    /// True when the command can run outside a repository.
    fn global_only(&self) -> bool {
        match self {
            Sub::Get { scope, .. }
            | Sub::Set { scope, .. }
            | Sub::Unset { scope, .. }
            | Sub::List { scope, .. } => scope.global,
        }
    }
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = if a.command.global_only() {
        None
    } else {
        Some(ctx.repo()?)
    };
    let global = GlobalConfig::default_path();
    let at = Layers::of(repo.as_ref(), global.as_deref());
    match a.command {
        Sub::Get { key, scope, json } => {
            let got = gadn::ops::config_get(at, scope.read(), &key)?;
            if json {
                print_json(&got)?;
            } else if let Some(v) = &got.value {
                println!("{v}");
            }
            if got.value.is_none() {
                return Ok(ExitCode::from(super::exit::FAILED));
            }
        }
        Sub::Set { key, value, scope } => gadn::ops::config_set(at, scope.write(), &key, &value)?,
        Sub::Unset { key, scope } => gadn::ops::config_unset(at, scope.write(), &key)?,
        Sub::List {
            scope,
            show_origin,
            json,
        } => {
            let all = gadn::ops::config_list(at, scope.read(), show_origin)?;
            print_list(&all, show_origin, json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(all: &[Setting], show_origin: bool, json: bool) -> anyhow::Result<()> {
    if json && show_origin {
        print_json(&all)?;
    } else if json {
        let map: serde_json::Map<String, serde_json::Value> = all
            .iter()
            .map(|s| (s.key.clone(), serde_json::Value::String(s.value.clone())))
            .collect();
        print_json(&map)?;
    } else {
        for s in all {
            if show_origin {
                println!("{}\t{}={}", s.origin, s.key, s.value);
            } else {
                println!("{}={}", s.key, s.value);
            }
        }
    }
    Ok(())
}
