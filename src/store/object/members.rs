//! [`Members`]: the repository's signed member list (`store-format.md` § *Members*).
//!
//! The list says who may talk to this repository and what they may do: one
//! [`MemberEntry`] per public key, with a display name (also the name of the
//! member's remote-tracking refs, `refs/remotes/NAME/…`), a [`Role`], a tombstone
//! flag and a per-key Lamport clock. Each entry is signed on its own by the owner
//! who made that change (`by`), so two lists merge without re-signing and a forged
//! entry is found alone.
//!
//! Invariants of a decoded list ([`Members::decode`], which insists on the canonical
//! encoding):
//!
//! * entries are sorted strictly by key (so one entry per key), at most
//!   [`MAX_MEMBERS`];
//! * every name obeys [`validate_member_name`], every clock is ≥ 1, keys and `by`
//!   are 32 bytes, signatures 64 bytes;
//! * the founder (named in the header) has an entry.
//!
//! Whether the list is *valid* — every signature verifies and every entry is
//! authorized — is checked separately by [`Members::verify`] (and
//! [`Members::decode_verified`]), so a damaged list can still be decoded and shown.
//! The authorization rule:
//!
//! * the founder's entry is signed by the founder, has the role owner and is not
//!   removed: the founder is the repository's permanent root of trust;
//! * every other entry is signed by someone other than its own key, who is an
//!   authorized, current (not removed) owner in the same list. Authority is
//!   computed from the founder outwards, so owners cannot vouch for each other in
//!   a circle and nobody can grant themselves a role.
//!
//! The list is judged as it stands, without history: an entry is valid if its
//! signer is an owner *now*. So when an owner is removed or demoted, the owner
//! doing it re-signs the entries the former owner had signed (see
//! `sync::members`); an entry the former owner signed concurrently, elsewhere,
//! makes the merged list invalid until an owner overrides that entry.
//!
//! Each signature covers the context string `gadn 2026-11 object members`, a zero
//! byte, and the canonical encoding of the repository id and every field of the
//! entry but the signature ([`MemberEntry::signed_message`]): an entry signed for
//! one repository cannot be replayed into another.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{check_version, decode, encode, Bytes, ObjectError, FORMAT_VERSION};
use crate::identity::{MachineKey, PublicKey};
use crate::store::id::{ObjectId, ObjectKind};

/// Domain-separation prefix of the signed message (also the id context).
const SIGNING_CONTEXT: &[u8] = b"gadn 2026-11 object members";

/// Most entries a list may hold (live members and tombstones together): bounds the
/// work of verifying a list received from a peer (one signature check per entry).
pub const MAX_MEMBERS: usize = 4096;

/// Longest member name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Longest repository id accepted in a list header, in bytes.
const MAX_REPO_LEN: usize = 256;

/// What a member may do. Encoded as the text `owner`, `member` or `reader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May fetch and push, and add, remove and change members.
    Owner,
    /// May fetch and push.
    Member,
    /// May fetch only.
    Reader,
}

impl Role {
    /// The encoded (and displayed) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
            Role::Reader => "reader",
        }
    }

    /// The role named `s` (exactly as [`Role::as_str`] writes it), `None` otherwise.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "member" => Some(Role::Member),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }

    /// True for roles that may write: push branches and take or release locks
    /// (owners and members). The one role rule; `store::members::may_write` applies
    /// it to a key and a member list.
    pub fn can_write(self) -> bool {
        self != Role::Reader
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::parse(s)
            .ok_or_else(|| format!("unknown role '{s}' (expected owner, member or reader)"))
    }
}

/// Checks a member name: 1 to [`MAX_NAME_LEN`] bytes of ASCII letters, digits,
/// `-`, `_` and `.`, not starting or ending with `.`, without `..` and not ending in
/// `.lock` — so that `refs/remotes/NAME/…` is a valid ref name.
pub fn validate_member_name(name: &str) -> Result<(), ObjectError> {
    match member_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(invalid(format!("bad member name {name:?}: {reason}"))),
    }
}

/// Why `name` is not a valid member name ([`validate_member_name`]); `None` if it is.
pub fn member_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!(
            "it is {} bytes long, more than {MAX_NAME_LEN}",
            name.len()
        ))
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(format!(
            "it contains {c:?} (use letters, digits, '-', '_' and '.')"
        ))
    } else if name.starts_with('.') || name.ends_with('.') {
        Some("it starts or ends with '.'".into())
    } else if name.contains("..") {
        Some("it contains '..'".into())
    } else if name.ends_with(".lock") {
        Some("it ends in '.lock'".into())
    } else {
        None
    }
}

/// One member's current state, signed by whoever made the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntry {
    /// The member's public key.
    pub key: PublicKey,
    /// Display name, unique among current members when written
    /// ([`validate_member_name`]).
    pub name: String,
    /// What the member may do.
    pub role: Role,
    /// True for a tombstone: the key was removed from the repository.
    pub removed: bool,
    /// Lamport clock of this key's entry: each change takes one more than the
    /// entry it replaces; the first entry of a key has 1.
    pub clock: u64,
    /// Who made this change and signed it (an owner, or the founder).
    pub by: PublicKey,
    /// ed25519 signature by `by` over [`MemberEntry::signed_message`].
    pub sig: [u8; 64],
}

/// An entry as encoded: key, name, role, removed, clock, by, sig.
type EntryRepr = (Bytes, String, String, bool, u64, Bytes, Bytes);

/// What an entry's signature covers: version, repository id, then the entry's
/// fields but the signature.
type SignedRepr = (u8, String, Bytes, String, String, bool, u64, Bytes);

/// The object as encoded: version, repository id, founder, entries.
type Repr = (u8, String, Bytes, Vec<EntryRepr>);

fn invalid(reason: impl Into<String>) -> ObjectError {
    ObjectError::Invalid {
        kind: ObjectKind::Members,
        reason: reason.into(),
    }
}

fn key32(what: &str, b: &Bytes) -> Result<PublicKey, ObjectError> {
    let k: [u8; 32] =
        b.0.as_slice()
            .try_into()
            .map_err(|_| invalid(format!("{what} of {} bytes, expected 32", b.0.len())))?;
    Ok(PublicKey(k))
}

impl MemberEntry {
    /// A new unsigned entry with clock `clock`; call [`MemberEntry::sign`] before
    /// storing it.
    pub fn new(key: PublicKey, name: String, role: Role, clock: u64) -> MemberEntry {
        MemberEntry {
            key,
            name,
            role,
            removed: false,
            clock,
            by: PublicKey([0; 32]),
            sig: [0; 64],
        }
    }

    fn check(&self) -> Result<(), ObjectError> {
        validate_member_name(&self.name)?;
        if self.clock == 0 {
            return Err(invalid(format!(
                "the entry of {} has clock 0 (clocks start at 1)",
                self.name
            )));
        }
        Ok(())
    }

    fn repr(&self) -> EntryRepr {
        (
            Bytes(self.key.0.to_vec()),
            self.name.clone(),
            self.role.as_str().to_string(),
            self.removed,
            self.clock,
            Bytes(self.by.0.to_vec()),
            Bytes(self.sig.to_vec()),
        )
    }

    fn from_repr(r: EntryRepr) -> Result<MemberEntry, ObjectError> {
        let key = key32("member key", &r.0)?;
        let role = Role::parse(&r.2)
            .ok_or_else(|| invalid(format!("unknown role {:?} for {}", r.2, r.1)))?;
        let by = key32("signer key", &r.5)?;
        let sig: [u8; 64] =
            r.6 .0.as_slice().try_into().map_err(|_| {
                invalid(format!("signature of {} bytes, expected 64", r.6 .0.len()))
            })?;
        let e = MemberEntry {
            key,
            name: r.1,
            role,
            removed: r.3,
            clock: r.4,
            by,
            sig,
        };
        e.check()?;
        Ok(e)
    }

    /// The bytes the signature covers: the context, a zero byte, and the canonical
    /// encoding of `[1, repo, key, name, role, removed, clock, by]`.
    pub fn signed_message(&self, repo: &str) -> Result<Vec<u8>, ObjectError> {
        let u: SignedRepr = (
            FORMAT_VERSION,
            repo.to_string(),
            Bytes(self.key.0.to_vec()),
            self.name.clone(),
            self.role.as_str().to_string(),
            self.removed,
            self.clock,
            Bytes(self.by.0.to_vec()),
        );
        let mut msg = SIGNING_CONTEXT.to_vec();
        msg.push(0);
        msg.extend(encode(ObjectKind::Members, &u)?);
        Ok(msg)
    }

    /// Sets `by` to `signer`'s public key and signs the entry for repository `repo`.
    pub fn sign(&mut self, repo: &str, signer: &MachineKey) -> Result<(), ObjectError> {
        self.check()?;
        self.by = signer.public();
        self.sig = signer.sign(&self.signed_message(repo)?);
        Ok(())
    }

    /// Refuses an entry whose signature is not `by`'s over its content in `repo`.
    pub fn verify_signature(&self, repo: &str) -> Result<(), ObjectError> {
        if self.by.verify(&self.signed_message(repo)?, &self.sig) {
            Ok(())
        } else {
            Err(invalid(format!(
                "the signature on the entry of {} ({}) does not verify: it was forged or altered",
                self.name,
                self.key.short()
            )))
        }
    }

    /// The canonical encoding of this entry alone (the tie-breaker of [`merge`]).
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        self.check()?;
        encode(ObjectKind::Members, &self.repr())
    }

    /// True if the entry is a current member (not a tombstone).
    pub fn is_current(&self) -> bool {
        !self.removed
    }

    /// Where this entry stands in [`merge`]'s order: `(clock, removed, encoding)`,
    /// highest wins.
    pub fn precedence(&self) -> Result<(u64, bool, Vec<u8>), ObjectError> {
        Ok((self.clock, self.removed, self.encode()?))
    }
}

/// The repository's member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// The repository id (`store.repository-id`) every signature is bound to.
    pub repo: String,
    /// The founder's key: the root of trust.
    pub founder: PublicKey,
    /// One entry per key, sorted by key.
    pub entries: Vec<MemberEntry>,
}

impl Members {
    /// A new list for repository `repo` holding only the founder's entry (role
    /// owner, clock 1), signed by `founder`.
    pub fn found(repo: &str, founder: &MachineKey, name: &str) -> Result<Members, ObjectError> {
        let mut e = MemberEntry::new(founder.public(), name.to_string(), Role::Owner, 1);
        e.sign(repo, founder)?;
        let m = Members {
            repo: repo.to_string(),
            founder: founder.public(),
            entries: vec![e],
        };
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), ObjectError> {
        if self.repo.is_empty() || self.repo.len() > MAX_REPO_LEN {
            return Err(invalid(format!(
                "repository id of {} bytes (expected 1 to {MAX_REPO_LEN})",
                self.repo.len()
            )));
        }
        if self.entries.len() > MAX_MEMBERS {
            return Err(invalid(format!(
                "{} entries, more than {MAX_MEMBERS}",
                self.entries.len()
            )));
        }
        for w in self.entries.windows(2) {
            if w[0].key >= w[1].key {
                return Err(invalid(format!(
                    "entries not sorted strictly by key ({} before {})",
                    w[0].key.short(),
                    w[1].key.short()
                )));
            }
        }
        for e in &self.entries {
            e.check()?;
        }
        if self.get(&self.founder).is_none() {
            return Err(invalid(format!(
                "the founder {} has no entry",
                self.founder.short()
            )));
        }
        Ok(())
    }

    /// The entry of `key`, current or removed.
    pub fn get(&self, key: &PublicKey) -> Option<&MemberEntry> {
        self.entries
            .binary_search_by(|e| e.key.cmp(key))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Replaces (or adds) the entry of `entry.key`, keeping the entries sorted.
    pub fn put(&mut self, entry: MemberEntry) {
        match self.entries.binary_search_by(|e| e.key.cmp(&entry.key)) {
            Ok(i) => self.entries[i] = entry,
            Err(i) => self.entries.insert(i, entry),
        }
    }

    /// The entries of current (not removed) members, by key.
    pub fn current(&self) -> impl Iterator<Item = &MemberEntry> {
        self.entries.iter().filter(|e| e.is_current())
    }

    /// The role of `key` if it is a current member; `None` if it is not, or was
    /// removed.
    pub fn role_of(&self, key: &PublicKey) -> Option<Role> {
        self.get(key).filter(|e| e.is_current()).map(|e| e.role)
    }

    /// Current members called `name` (normally at most one; two after concurrent
    /// additions under one name were merged).
    pub fn by_name(&self, name: &str) -> Vec<&MemberEntry> {
        self.current().filter(|e| e.name == name).collect()
    }

    /// Number of current owners.
    pub fn owners(&self) -> usize {
        self.current().filter(|e| e.role == Role::Owner).count()
    }

    /// Checks that the list is valid: every signature verifies and every entry is
    /// authorized (see the module docs). The error names the first entry that fails.
    pub fn verify(&self) -> Result<(), ObjectError> {
        self.check()?;
        for e in &self.entries {
            e.verify_signature(&self.repo)?;
        }
        let founder = self
            .get(&self.founder)
            .ok_or_else(|| invalid("no founder"))?;
        if founder.by != self.founder {
            return Err(invalid(format!(
                "the founder's entry ({}) is signed by {}; only the founder may sign it",
                founder.name,
                founder.by.short()
            )));
        }
        if founder.removed || founder.role != Role::Owner {
            return Err(invalid(format!(
                "the founder {} is not a current owner",
                founder.name
            )));
        }
        // Authority spreads from the founder along `by` links through current
        // owners; an entry never authorizes itself.
        let mut signed_by: HashMap<PublicKey, Vec<&MemberEntry>> = HashMap::new();
        for e in &self.entries {
            if e.key != self.founder {
                signed_by.entry(e.by).or_default().push(e);
            }
        }
        let mut authorized: HashSet<PublicKey> = HashSet::from([self.founder]);
        let mut queue = vec![self.founder];
        while let Some(owner) = queue.pop() {
            for e in signed_by.get(&owner).into_iter().flatten() {
                if e.key != e.by
                    && authorized.insert(e.key)
                    && e.is_current()
                    && e.role == Role::Owner
                {
                    queue.push(e.key);
                }
            }
        }
        match self.entries.iter().find(|e| !authorized.contains(&e.key)) {
            None => Ok(()),
            Some(e) => {
                let why = if e.by == e.key {
                    "signed by its own key; only the founder's entry may be".to_string()
                } else {
                    match self.get(&e.by) {
                        None => format!("signed by {}, who is not in the list", e.by.short()),
                        Some(s) => format!(
                            "signed by {} ({}), who is not an authorized current owner",
                            s.name,
                            s.key.short()
                        ),
                    }
                };
                Err(invalid(format!(
                    "the entry of {} ({}) is {why}",
                    e.name,
                    e.key.short()
                )))
            }
        }
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        self.check()?;
        let repr: Repr = (
            FORMAT_VERSION,
            self.repo.clone(),
            Bytes(self.founder.0.to_vec()),
            self.entries.iter().map(MemberEntry::repr).collect(),
        );
        encode(ObjectKind::Members, &repr)
    }

    /// Decodes and checks the structure of a canonical encoding (not the
    /// signatures: see [`Members::decode_verified`]).
    pub fn decode(bytes: &[u8]) -> Result<Members, ObjectError> {
        let r: Repr = decode(ObjectKind::Members, bytes)?;
        check_version(ObjectKind::Members, r.0)?;
        if r.3.len() > MAX_MEMBERS {
            return Err(invalid(format!(
                "{} entries, more than {MAX_MEMBERS}",
                r.3.len()
            )));
        }
        let m = Members {
            repo: r.1,
            founder: key32("founder key", &r.2)?,
            entries: r
                .3
                .into_iter()
                .map(MemberEntry::from_repr)
                .collect::<Result<_, _>>()?,
        };
        m.check()?;
        Ok(m)
    }

    /// [`Members::decode`], then [`Members::verify`].
    pub fn decode_verified(bytes: &[u8]) -> Result<Members, ObjectError> {
        let m = Members::decode(bytes)?;
        m.verify()?;
        Ok(m)
    }

    /// The id of this list.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::Members, &self.encode()?))
    }
}

/// Merges two lists of the same repository and founder: per key, the entry with
/// the highest `(clock, removed, encoding bytes)` wins ([`MemberEntry::precedence`]).
///
/// The order is total over entries (distinct entries have distinct encodings), so
/// `merge` is commutative, associative and idempotent: every peer that has seen the
/// same entries holds the same list. It checks no signature; the caller verifies
/// the result ([`Members::verify`]). Lists of different repositories or founders
/// are refused.
pub fn merge(a: &Members, b: &Members) -> Result<Members, ObjectError> {
    if a.repo != b.repo {
        return Err(invalid(format!(
            "cannot merge the member lists of different repositories ({} and {})",
            a.repo, b.repo
        )));
    }
    if a.founder != b.founder {
        return Err(invalid(format!(
            "cannot merge member lists with different founders ({} and {})",
            a.founder.short(),
            b.founder.short()
        )));
    }
    let mut out: BTreeMap<PublicKey, &MemberEntry> = BTreeMap::new();
    for e in a.entries.iter().chain(&b.entries) {
        match out.get(&e.key) {
            Some(cur) if cur.precedence()? >= e.precedence()? => {}
            _ => {
                out.insert(e.key, e);
            }
        }
    }
    Ok(Members {
        repo: a.repo.clone(),
        founder: a.founder,
        entries: out.into_values().cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REPO: &str = "0123456789abcdef0123456789abcdef";

    fn key(seed: u8) -> MachineKey {
        MachineKey::from_seed([seed; 32])
    }

    fn entry(who: &MachineKey, name: &str, role: Role, clock: u64, by: &MachineKey) -> MemberEntry {
        let mut e = MemberEntry::new(who.public(), name.into(), role, clock);
        e.sign(REPO, by).unwrap();
        e
    }

    /// Founder `ada` (seed 1) adds `bo` (2, owner) and `cy` (3, member).
    fn team() -> Members {
        let (ada, bo, cy) = (key(1), key(2), key(3));
        let mut m = Members::found(REPO, &ada, "ada").unwrap();
        m.put(entry(&bo, "bo", Role::Owner, 1, &ada));
        m.put(entry(&cy, "cy", Role::Member, 1, &bo));
        m
    }

    #[test]
    fn round_trip_and_lookups() {
        let m = team();
        m.verify().unwrap();
        let bytes = m.encode().unwrap();
        assert_eq!(Members::decode(&bytes).unwrap(), m);
        assert_eq!(Members::decode_verified(&bytes).unwrap(), m);
        assert_eq!(
            m.id().unwrap(),
            ObjectId::compute(ObjectKind::Members, &bytes)
        );
        assert_eq!(m.role_of(&key(1).public()), Some(Role::Owner));
        assert_eq!(m.role_of(&key(3).public()), Some(Role::Member));
        assert_eq!(m.role_of(&key(4).public()), None);
        assert_eq!(m.by_name("bo").len(), 1);
        assert_eq!(m.owners(), 2);
        // The signed message starts with the context and a zero byte.
        let msg = m.entries[0].signed_message(REPO).unwrap();
        assert!(msg.starts_with(b"gadn 2026-11 object members\0"));
        // Entries are sorted by key whatever the order of insertion.
        assert!(m.entries.windows(2).all(|w| w[0].key < w[1].key));
        // A tombstone is no longer a member.
        let mut gone = m.clone();
        let mut t = gone.get(&key(3).public()).unwrap().clone();
        t.removed = true;
        t.clock = 2;
        t.sign(REPO, &key(1)).unwrap();
        gone.put(t);
        gone.verify().unwrap();
        assert_eq!(gone.role_of(&key(3).public()), None);
        assert!(gone.by_name("cy").is_empty());
    }

    #[test]
    fn roles_and_names() {
        for r in [Role::Owner, Role::Member, Role::Reader] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string().parse::<Role>().unwrap(), r);
        }
        assert!(Role::Member.can_write() && !Role::Reader.can_write());
        let err = "admin".parse::<Role>().unwrap_err();
        assert!(err.contains("owner, member or reader"), "{err}");
        for good in ["ada", "Bo-2", "c_y", "d.e", "x", &"a".repeat(64)] {
            validate_member_name(good).unwrap();
            crate::store::db::check_ref_name(&format!("refs/remotes/{good}/main")).unwrap();
        }
        for (bad, why) in [
            ("", "empty"),
            (&"a".repeat(65) as &str, "more than 64"),
            ("a b", "contains ' '"),
            ("a/b", "contains '/'"),
            ("é", "contains"),
            (".x", "starts or ends"),
            ("x.", "starts or ends"),
            ("a..b", "'..'"),
            ("main.lock", ".lock"),
        ] {
            let err = validate_member_name(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn forged_and_unauthorized_entries_are_found() {
        let (ada, bo, cy, mallory) = (key(1), key(2), key(3), key(9));
        let m = team();
        // A field changed after signing.
        let mut tampered = m.clone();
        let i = tampered
            .entries
            .iter()
            .position(|e| e.name == "cy")
            .unwrap();
        tampered.entries[i].role = Role::Owner;
        let err = tampered.verify().unwrap_err().to_string();
        assert!(
            err.contains("entry of cy") && err.contains("does not verify"),
            "{err}"
        );
        // A flipped signature bit.
        let mut flipped = m.clone();
        flipped.entries[0].sig[5] ^= 1;
        assert!(flipped.verify().is_err());
        // An entry signed for another repository.
        let mut replayed = m.clone();
        let mut e = MemberEntry::new(mallory.public(), "mal".into(), Role::Owner, 1);
        e.sign("another-repository", &ada).unwrap();
        replayed.put(e);
        assert!(replayed
            .verify()
            .unwrap_err()
            .to_string()
            .contains("does not verify"));
        // Signed by a non-member, by a mere member, and by itself.
        for (signer, want) in [
            (&mallory, "not in the list"),
            (&cy, "not an authorized current owner"),
        ] {
            let mut bad = m.clone();
            bad.put(entry(&key(7), "newbie", Role::Member, 1, signer));
            let err = bad.verify().unwrap_err().to_string();
            assert!(
                err.contains("entry of newbie") && err.contains(want),
                "{err}"
            );
        }
        let mut selfish = m.clone();
        selfish.put(entry(&mallory, "mal", Role::Owner, 1, &mallory));
        let err = selfish.verify().unwrap_err().to_string();
        assert!(err.contains("its own key"), "{err}");
        // Promoting oneself is refused the same way.
        let mut promoted = m.clone();
        promoted.put(entry(&cy, "cy", Role::Owner, 2, &cy));
        assert!(promoted.verify().is_err());
        // Owners vouching for each other in a circle, detached from the founder.
        let (x, y) = (key(20), key(21));
        let mut circle = m.clone();
        circle.put(entry(&x, "x", Role::Owner, 1, &y));
        circle.put(entry(&y, "y", Role::Owner, 1, &x));
        assert!(circle.verify().is_err());
        // Only the founder signs the founder's entry, and the founder stays an owner.
        let mut demoted = m.clone();
        demoted.put(entry(&ada, "ada", Role::Member, 2, &bo));
        let err = demoted.verify().unwrap_err().to_string();
        assert!(err.contains("only the founder may sign it"), "{err}");
        let mut left = m.clone();
        left.put(entry(&ada, "ada", Role::Member, 2, &ada));
        assert!(left
            .verify()
            .unwrap_err()
            .to_string()
            .contains("not a current owner"));
        // A removed owner no longer authorizes: cy's entry was signed by bo.
        let mut bo_gone = m.clone();
        let mut t = entry(&bo, "bo", Role::Owner, 2, &ada);
        t.removed = true;
        t.sign(REPO, &ada).unwrap();
        bo_gone.put(t);
        let err = bo_gone.verify().unwrap_err().to_string();
        assert!(err.contains("entry of cy"), "{err}");
        // ... until an authorized owner re-signs it.
        bo_gone.put(entry(&cy, "cy", Role::Member, 2, &ada));
        bo_gone.verify().unwrap();
    }

    #[test]
    fn structural_rules_are_enforced() {
        let m = team();
        let mut zero = m.clone();
        zero.entries[1].clock = 0;
        assert!(zero.encode().unwrap_err().to_string().contains("clock 0"));
        let mut unsorted = m.clone();
        unsorted.entries.swap(0, 1);
        assert!(unsorted
            .encode()
            .unwrap_err()
            .to_string()
            .contains("sorted"));
        let mut dup = m.clone();
        dup.entries.push(dup.entries[2].clone());
        assert!(dup.encode().is_err());
        let mut orphan = m.clone();
        orphan.founder = key(9).public();
        assert!(orphan
            .encode()
            .unwrap_err()
            .to_string()
            .contains("no entry"));
        let mut norepo = m.clone();
        norepo.repo.clear();
        assert!(norepo.encode().is_err());
        let mut badname = m.clone();
        badname.entries[0].name = "a b".into();
        assert!(badname.encode().is_err());
        // Hand-made encodings breaking the rules are refused on decode.
        let good: Repr = (
            FORMAT_VERSION,
            m.repo.clone(),
            Bytes(m.founder.0.to_vec()),
            m.entries.iter().map(MemberEntry::repr).collect(),
        );
        let with = |f: &dyn Fn(&mut Repr)| {
            let mut r = good.clone();
            f(&mut r);
            encode(ObjectKind::Members, &r).unwrap()
        };
        assert_eq!(Members::decode(&with(&|_| {})).unwrap(), m);
        for (bytes, why) in [
            (
                with(&|r| r.2 = Bytes(vec![1; 31])),
                "founder key of 31 bytes",
            ),
            (
                with(&|r| r.3[0].0 = Bytes(vec![1; 33])),
                "member key of 33 bytes",
            ),
            (with(&|r| r.3[0].5 = Bytes(vec![])), "signer key of 0 bytes"),
            (
                with(&|r| r.3[0].6 = Bytes(vec![0; 63])),
                "signature of 63 bytes",
            ),
            (with(&|r| r.3[0].2 = "admin".into()), "unknown role"),
            (with(&|r| r.3.reverse()), "sorted"),
        ] {
            let err = Members::decode(&bytes).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        assert!(Members::decode(&[0x81, 0x01]).is_err());
        assert!(Members::decode_verified(&[0x81, 0x01]).is_err());
    }

    #[test]
    fn too_many_entries_are_refused() {
        let ada = key(1);
        let mut m = Members::found(REPO, &ada, "ada").unwrap();
        let template = m.entries[0].clone();
        for i in 0..MAX_MEMBERS as u32 {
            let mut e = template.clone();
            let mut k = [0xffu8; 32];
            k[..4].copy_from_slice(&i.to_be_bytes());
            e.key = PublicKey(k);
            m.entries.push(e);
        }
        let err = m.encode().unwrap_err().to_string();
        assert!(err.contains("more than 4096"), "{err}");
    }

    #[test]
    fn merge_keeps_the_latest_entry_per_key() {
        let (ada, bo, cy, dee) = (key(1), key(2), key(3), key(4));
        let base = team();
        let mut left = base.clone();
        left.put(entry(&cy, "cy", Role::Reader, 2, &ada));
        let mut right = base.clone();
        right.put(entry(&dee, "dee", Role::Member, 1, &bo));
        let merged = merge(&left, &right).unwrap();
        merged.verify().unwrap();
        assert_eq!(merged.role_of(&cy.public()), Some(Role::Reader));
        assert_eq!(merged.role_of(&dee.public()), Some(Role::Member));
        assert_eq!(merged, merge(&right, &left).unwrap());
        // On equal clocks a removal wins.
        let mut t = entry(&cy, "cy", Role::Reader, 2, &bo);
        t.removed = true;
        t.sign(REPO, &bo).unwrap();
        let mut removed = base.clone();
        removed.put(t);
        let m = merge(&left, &removed).unwrap();
        assert_eq!(m.role_of(&cy.public()), None);
        // Different repositories or founders do not merge.
        let other = Members::found("other", &ada, "ada").unwrap();
        assert!(merge(&base, &other)
            .unwrap_err()
            .to_string()
            .contains("different repositories"));
        let other = Members::found(REPO, &bo, "bo").unwrap();
        assert!(merge(&base, &other)
            .unwrap_err()
            .to_string()
            .contains("different founders"));
    }

    /// A small universe of lists over one repository and founder: entries for four
    /// keys with clocks 1..=2, live or removed, under two names and two roles.
    fn universe() -> Vec<MemberEntry> {
        let ada = key(1);
        let mut out = Vec::new();
        for seed in 1..=4u8 {
            let k = key(seed);
            for clock in 1..=2 {
                for removed in [false, true] {
                    for (name, role) in [("a", Role::Owner), ("b", Role::Reader)] {
                        let mut e = MemberEntry::new(k.public(), name.into(), role, clock);
                        e.removed = removed;
                        e.sign(REPO, &ada).unwrap();
                        out.push(e);
                    }
                }
            }
        }
        out
    }

    fn list(all: &[MemberEntry], picks: &[usize]) -> Members {
        let mut m = Members::found(REPO, &key(1), "a").unwrap();
        for &i in picks {
            m.put(all[i].clone());
        }
        m
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn merge_is_commutative_associative_and_idempotent(
            pa in proptest::collection::vec(0usize..32, 0..6),
            pb in proptest::collection::vec(0usize..32, 0..6),
            pc in proptest::collection::vec(0usize..32, 0..6),
        ) {
            let all = universe();
            let (a, b, c) = (list(&all, &pa), list(&all, &pb), list(&all, &pc));
            prop_assert_eq!(merge(&a, &b).unwrap(), merge(&b, &a).unwrap());
            prop_assert_eq!(&merge(&a, &a).unwrap(), &a);
            let left = merge(&merge(&a, &b).unwrap(), &c).unwrap();
            let right = merge(&a, &merge(&b, &c).unwrap()).unwrap();
            prop_assert_eq!(&left, &right);
            // The merge of valid-structure lists encodes and decodes.
            prop_assert_eq!(Members::decode(&left.encode().unwrap()).unwrap(), left);
        }
    }
}
