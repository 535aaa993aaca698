//! `gadn peer add|list|remove|addr`: the repository's members and where to reach
//! them.
//!
//! Membership lives in the signed member list (`refs/gadn/members`, changed through
//! `gadn::sync::members`); addresses live in this store's `peers` table and are
//! local knowledge. The first `peer add` founds the list with this machine's key as
//! its owner, named after `GADN_AUTHOR_NAME`, the `user.name` config, `$USER` or
//! `me` (made a valid member name).

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use gadn::identity::{MachineKey, PublicKey};
use gadn::store::db::PeerSource;
use gadn::store::object::{validate_member_name, Role};
use gadn::store::Store;
use gadn::sync::members;

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
        /// owner (manages members), member (fetch and push) or reader (fetch only).
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

/// One member as listed.
#[derive(Debug, serde::Serialize)]
struct PeerJson {
    name: String,
    role: Role,
    key: String,
    addrs: Vec<String>,
    /// Unix seconds; `null` if never seen.
    last_seen: Option<i64>,
    you: bool,
    founder: bool,
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
        check_addr(a)?;
    }
    let mut repo = ctx.repo()?;
    let me = MachineKey::from_env()?;
    let cur = members::current(repo.store())?;
    let before = cur.as_ref().map(|(id, _)| *id);
    let existed = cur
        .as_ref()
        .and_then(|(_, l)| l.get(&key))
        .is_some_and(|e| e.is_current());
    let my_name = founder_name(repo.store());
    let id = members::add(repo.store_mut(), &me, &my_name, name, key, role)?;
    let store = repo.store();
    let db = store.db();
    if let Some(a) = addr {
        db.peer_set_addrs(&key, &[a.to_string()], PeerSource::Config)?;
    }
    if addr.is_some() || db.peer_get(&key)?.is_some() {
        db.peer_upsert(&key, Some(name), PeerSource::Config)?;
    }
    if !ctx.quiet {
        if before.is_none() {
            println!(
                "Founded the member list with you ({my_name}, {}) as owner",
                me.public().short()
            );
        }
        if before == Some(id) {
            println!("{name} ({}) is already a {role}", key.short());
        } else if existed {
            println!("Updated {name} ({}): {role}", key.short());
        } else {
            println!("Added {name} ({}) as {role}", key.short());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let store = repo.store();
    let me = MachineKey::existing_from_env()
        .ok()
        .flatten()
        .map(|k| k.public());
    let Some((_, list)) = members::current(store)? else {
        if json {
            print_json(&Vec::<PeerJson>::new())?;
        } else if !ctx.quiet {
            eprintln!("No members yet.\nhint: `gadn peer add NAME KEY [HOST:PORT]` founds the member list with you as its owner");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = Vec::new();
    for e in list.current() {
        let row = store.db().peer_get(&e.key)?;
        let (addrs, last_seen) = row.map_or((Vec::new(), None), |r| (r.addrs, r.last_seen));
        out.push(PeerJson {
            name: e.name.clone(),
            role: e.role,
            key: e.key.to_text(),
            addrs,
            last_seen,
            you: Some(e.key) == me,
            founder: e.key == list.founder,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.key.cmp(&b.key)));
    if json {
        print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = out
        .iter()
        .map(|p| {
            let you = if p.you { " (you)" } else { "" };
            let key = PublicKey::parse(&p.key).map_or_else(|_| p.key.clone(), |k| k.short());
            [
                format!("{}{you}", p.name),
                p.role.to_string(),
                key,
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
    let target = match members::current(repo.store())? {
        Some((_, list)) => members::find_member(&list, who)?.cloned(),
        None => None,
    };
    members::remove(repo.store_mut(), &me, who)?;
    if let Some(t) = target {
        repo.store().db().peer_remove(&t.key)?;
        if !ctx.quiet {
            println!("Removed {} ({})", t.name, t.key.short());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_addr(ctx: &Ctx, who: &str, addr: &str) -> anyhow::Result<ExitCode> {
    check_addr(addr)?;
    let repo = ctx.repo()?;
    let store = repo.store();
    let unknown = || members::MembersError::UnknownMember { what: who.into() };
    let (_, list) = members::current(store)?.ok_or_else(unknown)?;
    let e = members::find_member(&list, who)?.ok_or_else(unknown)?;
    store
        .db()
        .peer_set_addrs(&e.key, &[addr.to_string()], PeerSource::Config)?;
    store
        .db()
        .peer_upsert(&e.key, Some(&e.name), PeerSource::Config)?;
    if !ctx.quiet {
        println!("{} ({}) serves at {addr}", e.name, e.key.short());
    }
    Ok(ExitCode::SUCCESS)
}

/// Accepts `IP:PORT`, `[IPv6]:PORT` and `HOSTNAME:PORT` (letters, digits, `-`, `.`).
fn check_addr(addr: &str) -> anyhow::Result<()> {
    if addr.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = |why: &str| {
        anyhow::anyhow!("'{addr}' is not a HOST:PORT address: {why} (e.g. 192.168.1.20:7420 or studio-pc.local:7420)")
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no ':PORT'"))?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(bad("the port must be a number from 1 to 65535")),
    }
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !host.starts_with(['-', '.']);
    if !host_ok {
        return Err(bad("the host must be an IP address or a host name"));
    }
    Ok(())
}

/// The founder's member name: `GADN_AUTHOR_NAME`, else the store's `user.name`,
/// else `$USER` (the sources commits use), else `me`; characters not allowed in
/// member names become `-`.
fn founder_name(store: &Store) -> String {
    let cfg = store.db().config_get("user.name").ok().flatten();
    let raw = std::env::var("GADN_AUTHOR_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or(cfg)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let mut name = String::new();
    for c in raw.trim().chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            c
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name: String = name
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(64)
        .collect();
    if validate_member_name(&name).is_ok() {
        name
    } else {
        "me".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "127.0.0.1:7420",
            "[::1]:1",
            "studio-pc.local:7420",
            "h:65535",
        ] {
            check_addr(good).unwrap();
        }
        for bad in [
            "127.0.0.1",
            "h:0",
            "h:70000",
            ":80",
            "a b:1",
            "-x:1",
            "h:port",
        ] {
            assert!(check_addr(bad).is_err(), "{bad}");
        }
    }
}
