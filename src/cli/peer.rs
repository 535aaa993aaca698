//! `gadn peer add|list|remove|addr`: parses, calls `gadn::ops::peer_*`, prints.
//! Membership is the signed member list; addresses are this store's local
//! knowledge (see `gadn::ops::peer_add`).

use std::process::ExitCode;

use anyhow::Context;
use gadn::identity::{MachineKey, PublicKey};
use gadn::ops::{self, PeerAddOptions, PeerChange};
use gadn::Role;

use super::output::{print_json, print_table};
use super::Ctx;

/// Arguments of `gadn peer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Add a member (or change a member's name or role); the first add founds the
    /// member list with you as its owner.
    Add {
        /// The member's name (letters, digits, '-', '_', '.'); also names their
        /// remote-tracking refs.
        name: String,
        /// Their public key, as printed by `gadn id` on their machine.
        key: String,
        /// Where they serve: HOST:PORT.
        addr: Option<String>,
        /// owner (manages members), member (fetch, push, lock) or reader (fetch only).
        #[arg(long, default_value = "member")]
        role: Role,
    },
    /// List the members, their roles and addresses.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Remove a member, by name or key.
    Remove {
        /// The member's name or full key.
        who: String,
    },
    /// Set the address where a member serves (replaces the known ones).
    Addr {
        /// The member's name or full key.
        who: String,
        /// HOST:PORT.
        addr: String,
    },
}

/// Runs a `gadn peer` subcommand.
pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    match a.cmd {
        Cmd::Add {
            name,
            key,
            addr,
            role,
        } => add(ctx, &name, &key, addr.as_deref(), role),
        Cmd::List { json } => list(ctx, json),
        Cmd::Remove { who } => remove(ctx, &who),
        Cmd::Addr { who, addr } => set_addr(ctx, &who, &addr),
    }
}

fn add(
    ctx: &Ctx,
    name: &str,
    key: &str,
    addr: Option<&str>,
    role: Role,
) -> anyhow::Result<ExitCode> {
    let key = PublicKey::parse(key).context("the KEY argument is not a gadn public key (copy it from `gadn id` on the member's machine)")?;
    if let Some(a) = addr {
        ops::check_addr(a)?;
    }
    let mut repo = ctx.repo()?;
    let me = MachineKey::from_env()?;
    let opts = PeerAddOptions {
        name: name.into(),
        key,
        addr: addr.map(str::to_string),
        role,
    };
    let r = ops::peer_add(&mut repo, &me, &opts)?;
    if !ctx.quiet {
        if let Some(my_name) = &r.founded_as {
            println!(
                "Founded the member list with you ({my_name}, {}) as owner",
                r.me.short()
            );
        }
        let short = r.key.short();
        match r.change {
            PeerChange::Unchanged => println!("{name} ({short}) is already a {role}"),
            PeerChange::Updated => println!("Updated {name} ({short}): {role}"),
            PeerChange::Added => println!("Added {name} ({short}) as {role}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let me = MachineKey::existing_from_env()
        .ok()
        .flatten()
        .map(|k| k.public());
    let out = ops::peer_list(&repo, me)?;
    if json {
        print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if out.is_empty() {
        if !ctx.quiet {
            eprintln!("No members yet.\nhint: `gadn peer add NAME KEY [HOST:PORT]` founds the member list with you as its owner");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = out
        .iter()
        .map(|p| {
            let you = if p.you { " (you)" } else { "" };
            [
                format!("{}{you}", p.name),
                p.role.to_string(),
                p.key.short(),
                if p.addrs.is_empty() {
                    "-".into()
                } else {
                    p.addrs.join(",")
                },
                p.last_seen
                    .map_or_else(|| "never".into(), |t| gadn::vcs::format_time(t, 0)),
            ]
        })
        .collect();
    print_table(
        ["NAME", "ROLE", "KEY", "ADDRESSES", "LAST SEEN"],
        &rows,
        &[],
    );
    Ok(ExitCode::SUCCESS)
}

fn remove(ctx: &Ctx, who: &str) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let me = MachineKey::from_env()?;
    if let Some(t) = ops::peer_remove(&mut repo, &me, who)? {
        if !ctx.quiet {
            println!("Removed {} ({})", t.name, t.key.short());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_addr(ctx: &Ctx, who: &str, addr: &str) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let r = ops::peer_set_addr(&repo, who, addr)?;
    if !ctx.quiet {
        println!("{} ({}) serves at {addr}", r.name, r.key.short());
    }
    Ok(ExitCode::SUCCESS)
}
