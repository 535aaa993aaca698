//! The repository's members and where to reach them: [`peer_add`], [`peer_list`],
//! [`peer_remove`], [`peer_set_addr`].
//!
//! Membership lives in the signed member list (`refs/gadn/members`, changed through
//! [`members`]); addresses live in this store's `peers` table and are local
//! knowledge. The first [`peer_add`] founds the list with this machine's key as its
//! owner, named by [`founder_name`].

use std::net::SocketAddr;

use serde::Serialize;

use super::Error;
use crate::identity::{MachineKey, PublicKey};
use crate::store::db::PeerSource;
use crate::store::object::{validate_member_name, Role};
use crate::store::Store;
use crate::sync::members::{self, MembersError};
use crate::vcs::Repo;

/// What [`peer_add`] adds or changes.
#[derive(Debug, Clone)]
pub struct PeerAddOptions {
    /// The member's name; also names their remote-tracking refs.
    pub name: String,
    /// Their public key.
    pub key: PublicKey,
    /// Where they serve (`HOST:PORT`, checked by [`check_addr`]); replaces the
    /// addresses known for them.
    pub addr: Option<String>,
    /// Their role.
    pub role: Role,
}

/// What [`peer_add`] did to the member's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerChange {
    /// The key was not a current member and now is.
    Added,
    /// The key was a member; its name or role changed.
    Updated,
    /// The key already had this name and role: the list did not change.
    Unchanged,
}

/// What [`peer_add`] reports.
#[derive(Debug, Clone, Serialize)]
pub struct PeerAddReport {
    /// The member's name.
    pub name: String,
    /// Their key.
    pub key: PublicKey,
    /// Their role now.
    pub role: Role,
    /// What happened to their entry.
    pub change: PeerChange,
    /// Set when this call founded the member list: the name this machine's key
    /// was given as its owner.
    pub founded_as: Option<String>,
    /// This machine's key (the owner who signed the change).
    pub me: PublicKey,
}

/// One current member, as [`peer_list`] reports them.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    /// The member's name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Their key, in full.
    pub key: PublicKey,
    /// Where they serve, as known here.
    pub addrs: Vec<String>,
    /// When this machine last reached them (Unix seconds); `None` if never.
    pub last_seen: Option<i64>,
    /// Whether the key is this machine's.
    pub you: bool,
    /// Whether they founded the list.
    pub founder: bool,
}

/// A member [`peer_remove`] removed.
#[derive(Debug, Clone, Serialize)]
pub struct PeerRemoved {
    /// Their name.
    pub name: String,
    /// Their key.
    pub key: PublicKey,
}

/// What [`peer_set_addr`] reports.
#[derive(Debug, Clone, Serialize)]
pub struct PeerAddrReport {
    /// The member's name.
    pub name: String,
    /// Their key.
    pub key: PublicKey,
    /// The address now known for them.
    pub addr: String,
}

/// Adds a member, or changes a current member's name or role, signed by `me`
/// (an owner; on a repository without a member list, `me` founds one as its
/// owner). A given address replaces the ones known for the member.
pub fn peer_add(
    repo: &mut Repo,
    me: &MachineKey,
    opts: &PeerAddOptions,
) -> Result<PeerAddReport, Error> {
    if let Some(a) = &opts.addr {
        check_addr(a)?;
    }
    let cur = members::current(repo.store())?;
    let before = cur.as_ref().map(|(id, _)| *id);
    let existed = cur
        .as_ref()
        .and_then(|(_, l)| l.get(&opts.key))
        .is_some_and(|e| e.is_current());
    let my_name = founder_name(repo.store());
    let id = members::add(
        repo.store_mut(),
        me,
        &my_name,
        &opts.name,
        opts.key,
        opts.role,
    )?;
    let db = repo.store().db();
    if let Some(a) = &opts.addr {
        db.peer_set_addrs(&opts.key, std::slice::from_ref(a), PeerSource::Config)?;
    }
    if opts.addr.is_some() || db.peer_get(&opts.key)?.is_some() {
        db.peer_upsert(&opts.key, Some(&opts.name), PeerSource::Config)?;
    }
    let change = if before == Some(id) {
        PeerChange::Unchanged
    } else if existed {
        PeerChange::Updated
    } else {
        PeerChange::Added
    };
    Ok(PeerAddReport {
        name: opts.name.clone(),
        key: opts.key,
        role: opts.role,
        change,
        founded_as: before.is_none().then_some(my_name),
        me: me.public(),
    })
}

/// The current members, sorted by name then key, with the addresses known here;
/// empty when the repository has no member list. `me` marks this machine's entry.
pub fn peer_list(repo: &Repo, me: Option<PublicKey>) -> Result<Vec<PeerInfo>, Error> {
    let store = repo.store();
    let Some((_, list)) = members::current(store)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in list.current() {
        let row = store.db().peer_get(&e.key)?;
        let (addrs, last_seen) = row.map_or((Vec::new(), None), |r| (r.addrs, r.last_seen));
        out.push(PeerInfo {
            name: e.name.clone(),
            role: e.role,
            key: e.key,
            addrs,
            last_seen,
            you: Some(e.key) == me,
            founder: e.key == list.founder,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.key.cmp(&b.key)));
    Ok(out)
}

/// Removes the member named by `who` (a name or a full key), signed by `me`, and
/// forgets their addresses. `None` when the repository has no member list yet
/// (nothing to remove; [`members::remove`] has already refused an unknown name).
pub fn peer_remove(
    repo: &mut Repo,
    me: &MachineKey,
    who: &str,
) -> Result<Option<PeerRemoved>, Error> {
    let target = match members::current(repo.store())? {
        Some((_, list)) => members::find_member(&list, who)?.cloned(),
        None => None,
    };
    members::remove(repo.store_mut(), me, who)?;
    let Some(t) = target else {
        return Ok(None);
    };
    repo.store().db().peer_remove(&t.key)?;
    Ok(Some(PeerRemoved {
        name: t.name,
        key: t.key,
    }))
}

/// Sets the address where the current member `who` (a name or a full key) serves,
/// replacing the ones known here.
pub fn peer_set_addr(repo: &Repo, who: &str, addr: &str) -> Result<PeerAddrReport, Error> {
    check_addr(addr)?;
    let store = repo.store();
    let unknown = || MembersError::UnknownMember { what: who.into() };
    let (_, list) = members::current(store)?.ok_or_else(unknown)?;
    let e = members::find_member(&list, who)?.ok_or_else(unknown)?;
    let db = store.db();
    db.peer_set_addrs(&e.key, &[addr.to_string()], PeerSource::Config)?;
    db.peer_upsert(&e.key, Some(&e.name), PeerSource::Config)?;
    Ok(PeerAddrReport {
        name: e.name.clone(),
        key: e.key,
        addr: addr.to_string(),
    })
}

/// Accepts `IP:PORT`, `[IPv6]:PORT` and `HOSTNAME:PORT` (letters, digits, `-`, `.`;
/// port 1–65535); anything else is [`Error::BadAddress`].
pub fn check_addr(addr: &str) -> Result<(), Error> {
    if addr.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = |why: &'static str| Error::BadAddress {
        addr: addr.into(),
        why,
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
pub fn founder_name(store: &Store) -> String {
    let cfg = store.setting("user.name").ok().flatten();
    let raw = std::env::var("GADN_AUTHOR_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or(cfg)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    member_name_from(&raw)
}

/// `raw` made a valid member name: disallowed characters become one `-`, leading
/// and trailing `-`/`.` go, at most 64 characters; `me` if nothing valid is left.
fn member_name_from(raw: &str) -> String {
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
    use crate::store::chunker::ChunkParams;

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
            let err = check_addr(bad).unwrap_err();
            assert!(matches!(err, Error::BadAddress { .. }), "{bad}: {err:?}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn member_names_are_made_valid() {
        assert_eq!(member_name_from("Ada Lovelace"), "Ada-Lovelace");
        assert_eq!(member_name_from("  --x..  "), "x");
        assert_eq!(member_name_from("a  /  b"), "a-b");
        assert_eq!(member_name_from(""), "me");
        assert_eq!(member_name_from("ééé"), "me");
        assert_eq!(member_name_from(&"z".repeat(100)).len(), 64);
    }

    #[test]
    fn add_list_set_addr_remove() {
        let d = tempfile::tempdir().unwrap();
        let mut repo = Repo::init(d.path(), ChunkParams::DEFAULT).unwrap();
        let me = MachineKey::from_seed([1; 32]);
        let bob = MachineKey::from_seed([2; 32]).public();
        let opts = PeerAddOptions {
            name: "bob".into(),
            key: bob,
            addr: Some("127.0.0.1:7420".into()),
            role: Role::Member,
        };
        let first = peer_add(&mut repo, &me, &opts).unwrap();
        assert_eq!(first.change, PeerChange::Added);
        assert!(first.founded_as.is_some());
        let again = peer_add(&mut repo, &me, &opts).unwrap();
        assert_eq!(again.change, PeerChange::Unchanged);
        assert_eq!(again.founded_as, None);
        let reader = PeerAddOptions {
            role: Role::Reader,
            addr: None,
            ..opts.clone()
        };
        assert_eq!(
            peer_add(&mut repo, &me, &reader).unwrap().change,
            PeerChange::Updated
        );

        let list = peer_list(&repo, Some(me.public())).unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        let b = list.iter().find(|p| p.key == bob).unwrap();
        assert_eq!((b.role, b.you, b.founder), (Role::Reader, false, false));
        assert_eq!(b.addrs, ["127.0.0.1:7420"]);
        let owner = list.iter().find(|p| p.key == me.public()).unwrap();
        assert!(owner.you && owner.founder && owner.role == Role::Owner);

        let set = peer_set_addr(&repo, "bob", "studio-pc.local:7421").unwrap();
        assert_eq!(set.key, bob);
        let list = peer_list(&repo, None).unwrap();
        let b = list.iter().find(|p| p.key == bob).unwrap();
        assert_eq!(b.addrs, ["studio-pc.local:7421"]);
        assert!(list.iter().all(|p| !p.you));
        assert!(matches!(
            peer_set_addr(&repo, "bob", "nowhere"),
            Err(Error::BadAddress { .. })
        ));
        assert!(matches!(
            peer_set_addr(&repo, "carol", "h:1"),
            Err(Error::Members(MembersError::UnknownMember { .. }))
        ));

        let gone = peer_remove(&mut repo, &me, "bob").unwrap().unwrap();
        assert_eq!((gone.name.as_str(), gone.key), ("bob", bob));
        assert!(repo.store().db().peer_get(&bob).unwrap().is_none());
        assert_eq!(peer_list(&repo, None).unwrap().len(), 1);
    }

    #[test]
    fn a_repository_without_members_lists_none_and_has_no_addresses_to_set() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repo::init(d.path(), ChunkParams::DEFAULT).unwrap();
        assert!(peer_list(&repo, None).unwrap().is_empty());
        assert!(matches!(
            peer_set_addr(&repo, "bob", "h:1"),
            Err(Error::Members(MembersError::UnknownMember { .. }))
        ));
    }

    #[test]
    fn only_an_owner_adds() {
        let d = tempfile::tempdir().unwrap();
        let mut repo = Repo::init(d.path(), ChunkParams::DEFAULT).unwrap();
        let me = MachineKey::from_seed([1; 32]);
        let other = MachineKey::from_seed([3; 32]);
        let add = |name: &str, key| PeerAddOptions {
            name: name.into(),
            key,
            addr: None,
            role: Role::Member,
        };
        peer_add(&mut repo, &me, &add("other", other.public())).unwrap();
        let third = MachineKey::from_seed([4; 32]).public();
        let err = peer_add(&mut repo, &other, &add("third", third)).unwrap_err();
        assert!(
            matches!(err, Error::Members(MembersError::NotAnOwner { .. })),
            "{err:?}"
        );
    }
}
