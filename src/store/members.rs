//! The repository's current member list as stored, and the one rule for who may
//! change shared state (`store-format.md` § *Members*).
//!
//! The list is a [`Members`] object named by the ref [`MEMBERS_REF`]. Changing it,
//! and accepting one from a peer, is `sync::members`; reading it lives here, below
//! `vcs` and `sync`, because both enforce roles: `sync` for pushes and for lock
//! records received, `vcs` for `lock` and `unlock`.
//!
//! **The write rule** ([`may_write`]): with no member list, anyone may write (a
//! repository nobody shared yet); with one, only a current member whose role may
//! write ([`Role::can_write`]: owners and members, not readers). Pushes, locks
//! taken or released here, and lock records arriving from peers all ask
//! [`may_write`], so the three cannot drift apart.

use crate::identity::PublicKey;
use crate::store::db::{DbError, RefTarget};
use crate::store::object::{Members, ObjectError, Role};
use crate::store::{ObjectId, ObjectKind, Store, StoreError};

/// The ref naming the current member list. It is a root for `gc` and `fsck` like
/// every ref.
pub const MEMBERS_REF: &str = "refs/gadn/members";

/// Returned by [`Store::members`].
#[derive(Debug, thiserror::Error)]
pub enum MemberListError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the state database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The stored list does not decode, is not valid, or is another repository's.
    #[error("the member list {id} in {MEMBERS_REF} is damaged: {source}\nhint: run `gadn fsck`")]
    Damaged {
        /// The list's id.
        id: ObjectId,
        /// Why.
        #[source]
        source: ObjectError,
    },
    /// [`MEMBERS_REF`] is a symbolic ref.
    #[error("{MEMBERS_REF} is a symbolic ref (to {target}); it must name a member list")]
    Symbolic {
        /// What it points at.
        target: String,
    },
}

impl Store {
    /// The current member list and its id, checked: it decodes, verifies
    /// ([`Members::verify`]) and belongs to this repository. `None` if there is none.
    pub fn members(&self) -> Result<Option<(ObjectId, Members)>, MemberListError> {
        let id = match self.db().read_ref(MEMBERS_REF)? {
            None => return Ok(None),
            Some(RefTarget::Symbolic(target)) => return Err(MemberListError::Symbolic { target }),
            Some(RefTarget::Id(id)) => id,
        };
        let bytes = self.read_kind(&id, ObjectKind::Members)?;
        let damaged = |source| MemberListError::Damaged { id, source };
        let list = Members::decode_verified(&bytes).map_err(damaged)?;
        let repo = self.repository_id()?;
        if list.repo != repo {
            return Err(damaged(ObjectError::Invalid {
                kind: ObjectKind::Members,
                reason: format!("it is for repository {}, this is {repo}", list.repo),
            }));
        }
        Ok(Some((id, list)))
    }
}

/// The write rule (see the module docs): true if `key` may push, take or release
/// locks in a repository whose current member list is `list` (`None`: none).
pub fn may_write(list: Option<&Members>, key: &PublicKey) -> bool {
    match list {
        None => true,
        Some(m) => m.role_of(key).is_some_and(Role::can_write),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::MachineKey;
    use crate::store::object::MemberEntry;

    #[test]
    fn only_members_whose_role_writes_may_write_once_there_is_a_list() {
        let (ada, bo, cy, dee) = (
            MachineKey::from_seed([1; 32]),
            MachineKey::from_seed([2; 32]),
            MachineKey::from_seed([3; 32]),
            MachineKey::from_seed([4; 32]),
        );
        // No list: a repository nobody shared; anyone writes.
        assert!(may_write(None, &dee.public()));
        let mut list = Members::found("repo", &ada, "ada").unwrap();
        for (k, name, role) in [(&bo, "bo", Role::Member), (&cy, "cy", Role::Reader)] {
            let mut e = MemberEntry::new(k.public(), name.into(), role, 1);
            e.sign("repo", &ada).unwrap();
            list.put(e);
        }
        list.verify().unwrap();
        assert!(may_write(Some(&list), &ada.public()));
        assert!(may_write(Some(&list), &bo.public()));
        assert!(!may_write(Some(&list), &cy.public()), "a reader");
        assert!(!may_write(Some(&list), &dee.public()), "not a member");
    }
}
