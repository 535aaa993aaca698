//! The repository's member list as stored: read it, change it, accept one from a
//! peer (`store-format.md` § *Members*).
//!
//! The current list is a [`Members`] object named by the ref [`MEMBERS_REF`]. It
//! is created by the first [`add`] (the caller becomes the founder) and changed
//! only by owners. Lists from peers are merged in by [`accept`]: the merge is the
//! total-order merge of [`merge_members`], so every peer that has seen the same
//! entries holds the same list, and a list is stored only if it is valid
//! ([`Members::verify`]): every entry signed, by an authorized owner.
//!
//! Writes need the store's write lock. [`add`], [`remove`] and [`accept`] take it
//! themselves (like `vcs::lock` does); a caller that already holds it — a server
//! storing what a peer sent — uses the `*_locked` forms with its [`StoreLock`]
//! (taking the lock twice in one process would wait on itself). The ref moves by
//! compare-and-swap, so a list changed concurrently by another process is reported,
//! never overwritten.
//!
//! Removing or demoting an owner also re-signs, as the acting owner, every entry
//! the former owner had signed, so the list stays valid (an entry is valid only if
//! its signer is an owner now).

use crate::identity::{MachineKey, PublicKey};
use crate::store::db::{DbError, Expect, ReflogInfo};
use crate::store::object::{
    member_name_problem, merge_members, MemberEntry, Members, ObjectError, Role,
};
use crate::store::{ObjectId, ObjectKind, Store, StoreError, StoreLock};

use crate::store::members::MemberListError;
pub use crate::store::members::MEMBERS_REF;

/// Returned by the functions of this module.
#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the state database failed (e.g. the ref moved meanwhile).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A list or entry could not be encoded (a bug) or a name is malformed.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// The stored list is damaged or another repository's, or `MEMBERS_REF` is
    /// symbolic: reading the list is the store's ([`Store::members`]). Boxed: it is
    /// rare, and this error travels inside every operation's error.
    #[error(transparent)]
    List(Box<MemberListError>),
    /// The acting key is not a current owner.
    #[error("this machine's key {key} is not an owner of this repository\nhint: ask an owner to run `gadn peer add NAME {key} --role owner`")]
    NotAnOwner {
        /// The acting key.
        key: PublicKey,
    },
    /// A member name breaks the naming rules.
    #[error("'{name}' cannot be a member name: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// The rule broken.
        reason: String,
    },
    /// Another current member already has the name.
    #[error("the name '{name}' is already used by {key}\nhint: pick another name, or remove that member first")]
    DuplicateName {
        /// The name.
        name: String,
        /// Who has it.
        key: PublicKey,
    },
    /// No current member has this name or key.
    #[error("'{what}' is not a current member\nhint: `gadn peer list` shows the members")]
    UnknownMember {
        /// The name or key given.
        what: String,
    },
    /// Several current members share the name (after concurrent additions).
    #[error("several members are called '{name}' ({}); name the one you mean by its key", keys.iter().map(|k| k.short()).collect::<Vec<_>>().join(", "))]
    AmbiguousName {
        /// The name.
        name: String,
        /// Their keys.
        keys: Vec<PublicKey>,
    },
    /// The change would leave no owner.
    #[error("cannot remove or demote {name}: it is the last owner of this repository\nhint: make someone else an owner first")]
    LastOwner {
        /// The owner's name.
        name: String,
    },
    /// The change targets the founder, whose entry only the founder changes and who
    /// stays an owner.
    #[error("{name} founded this repository: only the founder changes that entry, and the founder stays an owner")]
    Founder {
        /// The founder's name.
        name: String,
    },
    /// A non-founder tried to sign a change of their own entry, or a change that
    /// would need their own entry re-signed.
    #[error("{what}: an owner cannot sign their own entry\nhint: ask another owner (the founder can always do it)")]
    OwnEntry {
        /// What was attempted.
        what: String,
    },
    /// A list received from a peer is not valid, or does not merge with ours.
    #[error("refused the member list from the peer: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// A list received from a peer belongs to another repository.
    #[error(
        "refused the member list from the peer: it is for repository {theirs}, this is {ours}"
    )]
    WrongRepository {
        /// Our repository id.
        ours: String,
        /// The list's.
        theirs: String,
    },
    /// We have no list and the received one does not include the peer we trust.
    #[error("refused the member list from the peer: {}", match key {
        Some(k) => format!("the peer's key {k} is not a member in it"),
        None => "there is no list here yet and no trusted peer key to check it against".to_string(),
    })]
    Untrusted {
        /// The pinned key, if any.
        key: Option<PublicKey>,
    },
}

/// What [`accept`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptOutcome {
    /// The id of the list now current.
    pub id: ObjectId,
    /// True if the current list changed.
    pub changed: bool,
}

/// The current list and its id, checked: it decodes, verifies
/// ([`Members::verify`]) and belongs to this repository. `None` if there is none.
/// ([`Store::members`], with this module's errors.)
pub fn current(store: &Store) -> Result<Option<(ObjectId, Members)>, MembersError> {
    store.members().map_err(|e| match e {
        MemberListError::Store(e) => MembersError::Store(e),
        MemberListError::Db(e) => MembersError::Db(e),
        list => MembersError::List(Box::new(list)),
    })
}

/// The role of `key` in the current list; `None` if there is no list, or `key` is
/// not a current member.
pub fn role_of(store: &Store, key: &PublicKey) -> Result<Option<Role>, MembersError> {
    Ok(current(store)?.and_then(|(_, m)| m.role_of(key)))
}

/// Adds `key` as `name` with `role`, or changes the name or role of an existing
/// member (a removed one comes back). With no list yet, first founds one with `me`
/// as owner named `my_name`. Returns the id of the list now current (unchanged if
/// the member already had this name and role). Takes the store lock.
///
/// Refused if `me` is not an owner, if a name is malformed or taken by another
/// current member, if the change targets the founder (unless `me` is the founder)
/// or `me`'s own entry (unless `me` is the founder), or if it would demote the last
/// owner.
pub fn add(
    store: &mut Store,
    me: &MachineKey,
    my_name: &str,
    name: &str,
    key: PublicKey,
    role: Role,
) -> Result<ObjectId, MembersError> {
    let (lock, _) = store.lock()?;
    add_locked(store, &lock, me, my_name, name, key, role)
}

/// [`add`] for a caller holding the store lock.
pub fn add_locked(
    store: &mut Store,
    lock: &StoreLock,
    me: &MachineKey,
    my_name: &str,
    name: &str,
    key: PublicKey,
    role: Role,
) -> Result<ObjectId, MembersError> {
    check_name(name)?;
    let repo = store.repository_id()?;
    let cur = current(store)?;
    let old_id = cur.as_ref().map(|(id, _)| *id);
    let mut list = match cur {
        Some((_, l)) => l,
        None => {
            check_name(my_name)?;
            Members::found(&repo, me, my_name)?
        }
    };
    let me_pub = me.public();
    if list.role_of(&me_pub) != Some(Role::Owner) {
        return Err(MembersError::NotAnOwner { key: me_pub });
    }
    if let Some(other) = list.current().find(|e| e.name == name && e.key != key) {
        return Err(MembersError::DuplicateName {
            name: name.into(),
            key: other.key,
        });
    }
    let old = list.get(&key).cloned();
    if let Some(o) = &old {
        if o.is_current() && o.name == name && o.role == role {
            // Nothing to change; a founding list is still worth storing.
            return match old_id {
                Some(id) => Ok(id),
                None => store_list(store, lock, &list, None, &me_pub, "found member list"),
            };
        }
    }
    check_target(&list, &me_pub, &key)?;
    let was_owner = old
        .as_ref()
        .is_some_and(|o| o.is_current() && o.role == Role::Owner);
    if was_owner && role != Role::Owner && list.owners() == 1 {
        return Err(MembersError::LastOwner { name: name.into() });
    }
    if key == list.founder && role != Role::Owner {
        return Err(MembersError::Founder { name: name.into() });
    }
    let mut e = MemberEntry::new(key, name.into(), role, old.map_or(1, |o| o.clock + 1));
    e.sign(&repo, me)?;
    list.put(e);
    if was_owner && role != Role::Owner {
        resign_signed_by(&mut list, &repo, me, &key)?;
    }
    let what = match old_id {
        None => format!("found member list; add {name} as {role}"),
        Some(_) => format!("set {name} ({}) as {role}", key.short()),
    };
    store_list(store, lock, &list, old_id, &me_pub, &what)
}

/// Removes the current member named `name_or_key` (a member name or a full
/// `gadn1…` key): writes a tombstone signed by `me`. Refused if `me` is not an
/// owner, for the founder, for `me` itself (unless `me` is the founder), and for
/// the last owner. Takes the store lock.
pub fn remove(
    store: &mut Store,
    me: &MachineKey,
    name_or_key: &str,
) -> Result<ObjectId, MembersError> {
    let (lock, _) = store.lock()?;
    remove_locked(store, &lock, me, name_or_key)
}

/// [`remove`] for a caller holding the store lock.
pub fn remove_locked(
    store: &mut Store,
    lock: &StoreLock,
    me: &MachineKey,
    name_or_key: &str,
) -> Result<ObjectId, MembersError> {
    let unknown = || MembersError::UnknownMember {
        what: name_or_key.into(),
    };
    let Some((old_id, mut list)) = current(store)? else {
        return Err(unknown());
    };
    let target = find_member(&list, name_or_key)?
        .ok_or_else(unknown)?
        .clone();
    let me_pub = me.public();
    if list.role_of(&me_pub) != Some(Role::Owner) {
        return Err(MembersError::NotAnOwner { key: me_pub });
    }
    if target.role == Role::Owner && list.owners() == 1 {
        return Err(MembersError::LastOwner { name: target.name });
    }
    if target.key == list.founder {
        return Err(MembersError::Founder { name: target.name });
    }
    check_target(&list, &me_pub, &target.key)?;
    let repo = list.repo.clone();
    let mut t = MemberEntry::new(
        target.key,
        target.name.clone(),
        target.role,
        target.clock + 1,
    );
    t.removed = true;
    t.sign(&repo, me)?;
    list.put(t);
    if target.role == Role::Owner {
        resign_signed_by(&mut list, &repo, me, &target.key)?;
    }
    let what = format!("remove {} ({})", target.name, target.key.short());
    store_list(store, lock, &list, Some(old_id), &me_pub, &what)
}

/// Takes in a list received from a peer. The list must be valid and of this
/// repository. With a list here, the two are merged and the result must be valid
/// too; with none (a clone), the list is taken as it is only if `trusted` — the
/// key pinned for the peer it came from — is a current member of it. Stores the
/// result and moves [`MEMBERS_REF`] (compare-and-swap). Nothing changes when it is
/// refused. Takes the store lock.
pub fn accept(
    store: &mut Store,
    incoming: &Members,
    trusted: Option<&PublicKey>,
) -> Result<AcceptOutcome, MembersError> {
    let (lock, _) = store.lock()?;
    accept_locked(store, &lock, incoming, trusted)
}

/// [`accept`] for a caller holding the store lock.
pub fn accept_locked(
    store: &mut Store,
    lock: &StoreLock,
    incoming: &Members,
    trusted: Option<&PublicKey>,
) -> Result<AcceptOutcome, MembersError> {
    let invalid = |e: ObjectError| MembersError::Invalid {
        reason: e.to_string(),
    };
    incoming.verify().map_err(invalid)?;
    let ours = store.repository_id()?;
    if incoming.repo != ours {
        return Err(MembersError::WrongRepository {
            ours,
            theirs: incoming.repo.clone(),
        });
    }
    let who = "sync".to_string();
    match current(store)? {
        Some((id, mine)) => {
            let merged = merge_members(&mine, incoming).map_err(invalid)?;
            if merged == mine {
                return Ok(AcceptOutcome { id, changed: false });
            }
            merged.verify().map_err(|e| MembersError::Invalid {
                reason: format!("merged with ours it is not valid: {e}"),
            })?;
            let new = write_list(store, lock, &merged, Some(id), &who, "merge member list")?;
            refresh_peer_names(store, &merged)?;
            Ok(AcceptOutcome {
                id: new,
                changed: true,
            })
        }
        None => {
            let Some(k) = trusted.filter(|k| incoming.role_of(k).is_some()) else {
                return Err(MembersError::Untrusted {
                    key: trusted.copied(),
                });
            };
            let what = format!("member list from {}", k.short());
            let new = write_list(store, lock, incoming, None, &who, &what)?;
            refresh_peer_names(store, incoming)?;
            Ok(AcceptOutcome {
                id: new,
                changed: true,
            })
        }
    }
}

/// Copies the names of `list`'s current members into the `peers` table's name
/// cache, for rows that exist (no row is created). Call after the list changes.
pub fn refresh_peer_names(store: &Store, list: &Members) -> Result<(), MembersError> {
    for row in store.db().peer_list()? {
        if let Some(e) = list.get(&row.key).filter(|e| e.is_current()) {
            if row.name.as_deref() != Some(e.name.as_str()) {
                store.db().peer_upsert(&e.key, Some(&e.name), row.source)?;
            }
        }
    }
    Ok(())
}

/// The current member named by `name_or_key`: a full key, else a name; `None` if
/// there is none, an error if the name is shared.
pub fn find_member<'m>(
    list: &'m Members,
    name_or_key: &str,
) -> Result<Option<&'m MemberEntry>, MembersError> {
    if let Ok(k) = PublicKey::parse(name_or_key) {
        return Ok(list.get(&k).filter(|e| e.is_current()));
    }
    let named = list.by_name(name_or_key);
    match named.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(MembersError::AmbiguousName {
            name: name_or_key.into(),
            keys: many.iter().map(|e| e.key).collect(),
        }),
    }
}

fn check_name(name: &str) -> Result<(), MembersError> {
    match member_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(MembersError::BadName {
            name: name.into(),
            reason,
        }),
    }
}

/// Refuses changes to the founder's entry by anyone else, and changes to one's own
/// entry by a non-founder (an entry cannot authorize itself).
fn check_target(list: &Members, me: &PublicKey, key: &PublicKey) -> Result<(), MembersError> {
    let name = || {
        list.get(key)
            .map_or_else(|| key.short(), |e| e.name.clone())
    };
    if *key == list.founder && *me != list.founder {
        return Err(MembersError::Founder { name: name() });
    }
    if key == me && *me != list.founder {
        return Err(MembersError::OwnEntry {
            what: format!("changing {}", name()),
        });
    }
    Ok(())
}

/// Re-signs, as `me` with the clock one higher, every entry `former` signed for
/// another key, so they stay valid once `former` is no longer an owner.
fn resign_signed_by(
    list: &mut Members,
    repo: &str,
    me: &MachineKey,
    former: &PublicKey,
) -> Result<(), MembersError> {
    let me_pub = me.public();
    let dependents: Vec<MemberEntry> = list
        .entries
        .iter()
        .filter(|e| e.by == *former && e.key != *former)
        .cloned()
        .collect();
    for mut e in dependents {
        if e.key == me_pub && me_pub != list.founder {
            return Err(MembersError::OwnEntry {
                what: format!(
                    "your own entry was signed by {}, so it would need re-signing",
                    former.short()
                ),
            });
        }
        e.clock += 1;
        e.sign(repo, me)?;
        list.put(e);
    }
    Ok(())
}

fn store_list(
    store: &mut Store,
    lock: &StoreLock,
    list: &Members,
    old: Option<ObjectId>,
    me: &PublicKey,
    what: &str,
) -> Result<ObjectId, MembersError> {
    // Our own change must leave a valid list; anything else is a bug caught here.
    list.verify()?;
    write_list(store, lock, list, old, &me.to_text(), what)
}

/// Stores `list` and moves the ref from `old` to it.
fn write_list(
    store: &mut Store,
    lock: &StoreLock,
    list: &Members,
    old: Option<ObjectId>,
    who: &str,
    what: &str,
) -> Result<ObjectId, MembersError> {
    let mut w = store.writer(lock);
    let id = w.put_object(ObjectKind::Members, list.encode()?)?;
    w.finish()?;
    let log = ReflogInfo::now(who, format!("members: {what}"));
    store
        .db()
        .update_ref(MEMBERS_REF, Expect::from(old), id, &log)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;

    fn new_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(&dir.path().join(".gadn"), ChunkParams::DEFAULT).unwrap();
        (dir, store)
    }

    fn key(seed: u8) -> MachineKey {
        MachineKey::from_seed([seed; 32])
    }

    /// A second store with the same repository id (a clone).
    fn clone_of(store: &Store) -> (tempfile::TempDir, Store) {
        let (d, s) = new_store();
        s.db()
            .config_set(crate::store::keys::REPO_ID, &store.repository_id().unwrap())
            .unwrap();
        (d, s)
    }

    #[test]
    fn add_founds_the_list_then_changes_it() {
        let (_d, mut store) = new_store();
        let (ada, bo, cy) = (key(1), key(2), key(3));
        assert!(current(&store).unwrap().is_none());
        assert_eq!(role_of(&store, &ada.public()).unwrap(), None);
        let id1 = add(&mut store, &ada, "ada", "bo", bo.public(), Role::Member).unwrap();
        let (id, list) = current(&store).unwrap().unwrap();
        assert_eq!(id, id1);
        assert_eq!(list.founder, ada.public());
        assert_eq!(list.entries.len(), 2);
        assert_eq!(role_of(&store, &ada.public()).unwrap(), Some(Role::Owner));
        assert_eq!(role_of(&store, &bo.public()).unwrap(), Some(Role::Member));
        // The same again changes nothing; a new role bumps the clock.
        assert_eq!(
            add(&mut store, &ada, "ada", "bo", bo.public(), Role::Member).unwrap(),
            id1
        );
        add(&mut store, &ada, "ada", "bo", bo.public(), Role::Owner).unwrap();
        let (_, list) = current(&store).unwrap().unwrap();
        assert_eq!(list.get(&bo.public()).unwrap().clock, 2);
        // bo, now an owner, adds cy; names must be unique and well formed.
        add(&mut store, &bo, "bo", "cy", cy.public(), Role::Reader).unwrap();
        let err = add(&mut store, &ada, "ada", "cy", key(4).public(), Role::Member).unwrap_err();
        assert!(matches!(err, MembersError::DuplicateName { .. }), "{err}");
        let err = add(
            &mut store,
            &ada,
            "ada",
            "c y",
            key(4).public(),
            Role::Member,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot be a member name"), "{err}");
        // Not an owner.
        let err = add(&mut store, &cy, "cy", "dee", key(4).public(), Role::Member).unwrap_err();
        assert!(matches!(err, MembersError::NotAnOwner { .. }), "{err}");
        assert!(err.to_string().contains(&cy.public().to_text()), "{err}");
        // Owners cannot touch the founder or promote themselves.
        let err = add(&mut store, &bo, "bo", "ada", ada.public(), Role::Reader).unwrap_err();
        assert!(matches!(err, MembersError::Founder { .. }), "{err}");
        let err = add(&mut store, &bo, "bo", "bobby", bo.public(), Role::Owner).unwrap_err();
        assert!(matches!(err, MembersError::OwnEntry { .. }), "{err}");
        // The founder renames itself.
        add(&mut store, &ada, "ada", "ada2", ada.public(), Role::Owner).unwrap();
        let (_, list) = current(&store).unwrap().unwrap();
        assert_eq!(list.get(&ada.public()).unwrap().name, "ada2");
        // Everything written was verified; gc and fsck see the list through the ref.
        let reach = crate::store::walk::reachable(&store).unwrap();
        assert!(reach.problems.is_empty(), "{:?}", reach.problems);
    }

    #[test]
    fn remove_writes_tombstones_and_keeps_the_list_valid() {
        let (_d, mut store) = new_store();
        let (ada, bo, cy) = (key(1), key(2), key(3));
        let err = remove(&mut store, &ada, "bo").unwrap_err();
        assert!(matches!(err, MembersError::UnknownMember { .. }), "{err}");
        add(&mut store, &ada, "ada", "bo", bo.public(), Role::Owner).unwrap();
        add(&mut store, &bo, "bo", "cy", cy.public(), Role::Member).unwrap();
        // The last owner cannot go; the founder cannot be removed by others.
        let err = remove(&mut store, &bo, "ada").unwrap_err();
        assert!(matches!(err, MembersError::Founder { .. }), "{err}");
        let err = remove(&mut store, &bo, "bo").unwrap_err();
        assert!(matches!(err, MembersError::OwnEntry { .. }), "{err}");
        // Removing bo re-signs cy's entry (signed by bo) as ada.
        remove(&mut store, &ada, &bo.public().to_text()).unwrap();
        let (_, list) = current(&store).unwrap().unwrap();
        assert_eq!(list.role_of(&bo.public()), None);
        let cy_e = list.get(&cy.public()).unwrap();
        assert_eq!((cy_e.by, cy_e.clock), (ada.public(), 2));
        let err = remove(&mut store, &ada, "bo").unwrap_err();
        assert!(matches!(err, MembersError::UnknownMember { .. }), "{err}");
        let err = remove(&mut store, &ada, "ada").unwrap_err();
        assert!(matches!(err, MembersError::LastOwner { .. }), "{err}");
        // bo may come back, with a higher clock.
        add(&mut store, &ada, "ada", "bo", bo.public(), Role::Reader).unwrap();
        let (_, list) = current(&store).unwrap().unwrap();
        assert_eq!(list.get(&bo.public()).unwrap().clock, 3);
        assert_eq!(list.role_of(&bo.public()), Some(Role::Reader));
        // Demoting the last owner is refused too.
        let err = add(&mut store, &ada, "ada", "ada", ada.public(), Role::Member).unwrap_err();
        assert!(matches!(err, MembersError::LastOwner { .. }), "{err}");
        // With another owner, the founder still cannot leave or step down.
        add(&mut store, &ada, "ada", "bo", bo.public(), Role::Owner).unwrap();
        let err = add(&mut store, &ada, "ada", "ada", ada.public(), Role::Member).unwrap_err();
        assert!(matches!(err, MembersError::Founder { .. }), "{err}");
        let err = remove(&mut store, &ada, "ada").unwrap_err();
        assert!(matches!(err, MembersError::Founder { .. }), "{err}");
        assert!(
            err.to_string().contains("the founder stays an owner"),
            "{err}"
        );
    }

    #[test]
    fn accept_clones_merges_and_refuses() {
        let (_d, mut a) = new_store();
        let (ada, bo, cy, mallory) = (key(1), key(2), key(3), key(9));
        add(&mut a, &ada, "ada", "bo", bo.public(), Role::Owner).unwrap();
        let (a_id, a_list) = current(&a).unwrap().unwrap();

        // A clone without a trusted key, or trusting a non-member, takes nothing.
        let (_e, mut b) = clone_of(&a);
        let err = accept(&mut b, &a_list, None).unwrap_err();
        assert!(
            matches!(err, MembersError::Untrusted { key: None }),
            "{err}"
        );
        let err = accept(&mut b, &a_list, Some(&mallory.public())).unwrap_err();
        assert!(err.to_string().contains("is not a member"), "{err}");
        assert!(current(&b).unwrap().is_none());
        // Trusting the serving peer's key, it takes the list as it is.
        let out = accept(&mut b, &a_list, Some(&ada.public())).unwrap();
        assert_eq!(
            out,
            AcceptOutcome {
                id: a_id,
                changed: true
            }
        );
        let out = accept(&mut b, &a_list, None).unwrap();
        assert_eq!(
            out,
            AcceptOutcome {
                id: a_id,
                changed: false
            }
        );

        // Concurrent changes on both sides merge to the same list.
        add(&mut a, &ada, "ada", "cy", cy.public(), Role::Member).unwrap();
        add(&mut b, &bo, "bo", "dee", key(4).public(), Role::Reader).unwrap();
        let (_, a_list) = current(&a).unwrap().unwrap();
        let (_, b_list) = current(&b).unwrap().unwrap();
        // A known peer's cached name follows the list.
        b.db()
            .peer_add_addr(
                &cy.public(),
                "10.0.0.3:1",
                crate::store::db::PeerSource::Lan,
                None,
            )
            .unwrap();
        let into_a = accept(&mut a, &b_list, None).unwrap();
        let into_b = accept(&mut b, &a_list, None).unwrap();
        assert!(into_a.changed && into_b.changed);
        assert_eq!(into_a.id, into_b.id);
        assert_eq!(role_of(&a, &key(4).public()).unwrap(), Some(Role::Reader));
        assert_eq!(role_of(&b, &cy.public()).unwrap(), Some(Role::Member));
        let row = b.db().peer_get(&cy.public()).unwrap().unwrap();
        assert_eq!(row.name.as_deref(), Some("cy"));

        // Invalid lists change nothing.
        let before = current(&a).unwrap().unwrap();
        let mut forged = before.1.clone();
        forged.put({
            let mut e = MemberEntry::new(mallory.public(), "mal".into(), Role::Owner, 1);
            e.sign(&forged.repo, &mallory).unwrap();
            e
        });
        let err = accept(&mut a, &forged, Some(&ada.public())).unwrap_err();
        assert!(matches!(err, MembersError::Invalid { .. }), "{err}");
        let mut tampered = before.1.clone();
        tampered.entries[0].name = "someone".into();
        let err = accept(&mut a, &tampered, None).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        // Another repository's list, or another founder's.
        let (_f, other) = new_store();
        let foreign = Members::found(&other.repository_id().unwrap(), &ada, "ada").unwrap();
        let err = accept(&mut a, &foreign, None).unwrap_err();
        assert!(matches!(err, MembersError::WrongRepository { .. }), "{err}");
        let usurper = Members::found(&a.repository_id().unwrap(), &mallory, "mal").unwrap();
        let err = accept(&mut a, &usurper, None).unwrap_err();
        assert!(err.to_string().contains("different founders"), "{err}");
        // A list valid alone that is invalid once merged: bo was removed here, but
        // elsewhere bo added someone.
        remove(&mut a, &ada, "bo").unwrap();
        let before = current(&a).unwrap().unwrap();
        let mut elsewhere = b_list.clone();
        let mut e = MemberEntry::new(key(5).public(), "eve".into(), Role::Member, 1);
        e.sign(&elsewhere.repo, &bo).unwrap();
        elsewhere.put(e);
        let err = accept(&mut a, &elsewhere, None).unwrap_err();
        assert!(err.to_string().contains("merged with ours"), "{err}");
        assert_eq!(current(&a).unwrap().unwrap(), before);
    }

    #[test]
    fn a_damaged_or_foreign_stored_list_is_reported() {
        let (_d, mut store) = new_store();
        let ada = key(1);
        add(&mut store, &ada, "ada", "bo", key(2).public(), Role::Member).unwrap();
        // A list of another repository under the ref.
        let foreign = Members::found("someone-else", &ada, "ada").unwrap();
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let fid = w
            .put_object(ObjectKind::Members, foreign.encode().unwrap())
            .unwrap();
        w.finish().unwrap();
        drop(lock);
        let log = ReflogInfo::now("test", "test");
        store
            .db()
            .update_ref(MEMBERS_REF, Expect::Any, fid, &log)
            .unwrap();
        let err = current(&store).unwrap_err();
        assert!(
            matches!(&err, MembersError::List(l) if matches!(**l, MemberListError::Damaged { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("someone-else"), "{err}");
        store
            .db()
            .set_symbolic(MEMBERS_REF, "refs/heads/main")
            .unwrap();
        let err = current(&store).unwrap_err();
        assert!(
            matches!(&err, MembersError::List(l) if matches!(**l, MemberListError::Symbolic { .. })),
            "{err}"
        );
    }
}
