//! [`Lock`]: a signed advisory lock record (`store-format.md` § *Lock*).
//!
//! A record says "this key holds (or released) the lock on this path". Records are
//! immutable objects; the current state of a path is the [`merge`] of every record
//! seen for it, so records arriving from peers in any order converge.
//!
//! Invariants of a valid record (checked by [`Lock::decode`], which also insists on
//! the canonical encoding):
//!
//! * `path` is a `/`-separated repository path whose components obey the tree-entry
//!   name rules ([`validate_name`]);
//! * `counter` ≥ 1; a hold has `ends = None`, a release names the hold it ends and
//!   carries that hold's counter;
//! * the signature is 64 bytes. Whether it verifies against `owner` is checked by
//!   [`Lock::verify`] (and [`Lock::decode_verified`]), separately, so a damaged
//!   record can still be decoded and reported.
//!
//! The signature covers the context string `gadn 2026-11 object lock`, a zero byte,
//! and the canonical encoding of every field but the signature ([`Lock::signed_message`]).

use super::{check_version, decode, encode, validate_name, Bytes, ObjectError, FORMAT_VERSION};
use crate::identity::{MachineKey, PublicKey};
use crate::store::id::{ObjectId, ObjectKind};

/// Domain-separation prefix of the signed message (also the id context).
const SIGNING_CONTEXT: &[u8] = b"gadn 2026-11 object lock";

/// Whether a record takes or gives back a lock. The byte is part of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockState {
    /// The owner holds the lock.
    Held = 0,
    /// The lock named by `ends` was released (by its owner, or forced by `owner`).
    Released = 1,
}

/// A signed advisory lock record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// Repository path of the locked file.
    pub path: String,
    /// Held or released.
    pub state: LockState,
    /// Who signed the record: the holder, or whoever released.
    pub owner: PublicKey,
    /// The signer's display name (informational; the key is what counts).
    pub owner_name: String,
    /// The signer's e-mail address (may be empty).
    pub owner_email: String,
    /// Branch the lock was taken on (short name, e.g. `main`).
    pub branch: String,
    /// Commit the lock was taken on.
    pub revision: ObjectId,
    /// The file object at `path` in `revision`.
    pub file: ObjectId,
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
    /// The signer's UTC offset in minutes, east positive.
    pub tz_offset_min: i16,
    /// Lamport counter for this path: a hold takes one more than the largest seen
    /// for the path; a release carries the counter of the hold it ends.
    pub counter: u64,
    /// For a release, the id of the hold it ends; `None` for a hold.
    pub ends: Option<ObjectId>,
    /// ed25519 signature by `owner` over [`Lock::signed_message`].
    pub signature: [u8; 64],
}

type Unsigned = (
    u8,
    String,
    u8,
    Bytes,
    String,
    String,
    String,
    ObjectId,
    ObjectId,
    i64,
    i16,
    u64,
    Option<ObjectId>,
);

type Repr = (
    u8,
    String,
    u8,
    Bytes,
    String,
    String,
    String,
    ObjectId,
    ObjectId,
    i64,
    i16,
    u64,
    Option<ObjectId>,
    Bytes,
);

fn invalid(reason: impl Into<String>) -> ObjectError {
    ObjectError::Invalid {
        kind: ObjectKind::Lock,
        reason: reason.into(),
    }
}

/// Checks a lock path: non-empty components separated by single `/`, each a valid
/// tree-entry name.
pub fn validate_lock_path(path: &str) -> Result<(), ObjectError> {
    if path.is_empty() {
        return Err(invalid("empty path"));
    }
    path.split('/').try_for_each(validate_name)
}

/// The order in which [`merge`] picks records, highest wins: `(counter, chain, is
/// release, own id)`, where `chain` is a hold's own id and a release's `ends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Precedence {
    counter: u64,
    chain: ObjectId,
    release: bool,
    id: ObjectId,
}

impl Lock {
    /// A new unsigned hold; call [`Lock::sign`] before storing it.
    pub fn hold(
        path: String,
        who: &crate::store::object::Person,
        branch: String,
        revision: ObjectId,
        file: ObjectId,
        counter: u64,
    ) -> Lock {
        Lock {
            path,
            state: LockState::Held,
            owner: PublicKey([0; 32]),
            owner_name: who.name.clone(),
            owner_email: who.email.clone(),
            branch,
            revision,
            file,
            time: who.time,
            tz_offset_min: who.tz_offset_min,
            counter,
            ends: None,
            signature: [0; 64],
        }
    }

    /// A new unsigned release of `self` (a hold whose id is `hold_id`) by `who`.
    pub fn release(&self, hold_id: ObjectId, who: &crate::store::object::Person) -> Lock {
        Lock {
            state: LockState::Released,
            owner_name: who.name.clone(),
            owner_email: who.email.clone(),
            time: who.time,
            tz_offset_min: who.tz_offset_min,
            ends: Some(hold_id),
            signature: [0; 64],
            ..self.clone()
        }
    }

    fn unsigned(&self) -> Unsigned {
        (
            FORMAT_VERSION,
            self.path.clone(),
            self.state as u8,
            Bytes(self.owner.0.to_vec()),
            self.owner_name.clone(),
            self.owner_email.clone(),
            self.branch.clone(),
            self.revision,
            self.file,
            self.time,
            self.tz_offset_min,
            self.counter,
            self.ends,
        )
    }

    fn check(&self) -> Result<(), ObjectError> {
        validate_lock_path(&self.path)?;
        if self.counter == 0 {
            return Err(invalid("counter 0 (counters start at 1)"));
        }
        match (self.state, self.ends) {
            (LockState::Held, Some(_)) => Err(invalid("a hold cannot end another record")),
            (LockState::Released, None) => Err(invalid("a release must name the hold it ends")),
            _ => Ok(()),
        }
    }

    /// The bytes the signature covers: the context, a zero byte, and the canonical
    /// encoding of every field but the signature.
    pub fn signed_message(&self) -> Result<Vec<u8>, ObjectError> {
        let mut msg = SIGNING_CONTEXT.to_vec();
        msg.push(0);
        msg.extend(encode(ObjectKind::Lock, &self.unsigned())?);
        Ok(msg)
    }

    /// Sets `owner` to `key`'s public key and signs the record.
    pub fn sign(&mut self, key: &MachineKey) -> Result<(), ObjectError> {
        self.check()?;
        self.owner = key.public();
        self.signature = key.sign(&self.signed_message()?);
        Ok(())
    }

    /// Refuses a record whose signature is not `owner`'s over its content.
    pub fn verify(&self) -> Result<(), ObjectError> {
        if self.owner.verify(&self.signed_message()?, &self.signature) {
            Ok(())
        } else {
            Err(invalid(format!(
                "the signature on the lock of '{}' does not verify: the record was forged or altered",
                self.path
            )))
        }
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        self.check()?;
        let u = self.unsigned();
        let repr: Repr = (
            u.0,
            u.1,
            u.2,
            u.3,
            u.4,
            u.5,
            u.6,
            u.7,
            u.8,
            u.9,
            u.10,
            u.11,
            u.12,
            Bytes(self.signature.to_vec()),
        );
        encode(ObjectKind::Lock, &repr)
    }

    /// Decodes and validates a canonical encoding (not the signature: see
    /// [`Lock::decode_verified`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let r: Repr = decode(ObjectKind::Lock, bytes)?;
        check_version(ObjectKind::Lock, r.0)?;
        let state = match r.2 {
            0 => LockState::Held,
            1 => LockState::Released,
            n => return Err(invalid(format!("unknown state {n}"))),
        };
        let owner: [u8; 32] =
            r.3 .0.as_slice().try_into().map_err(|_| {
                invalid(format!("owner key of {} bytes, expected 32", r.3 .0.len()))
            })?;
        let signature: [u8; 64] =
            r.13 .0.as_slice().try_into().map_err(|_| {
                invalid(format!("signature of {} bytes, expected 64", r.13 .0.len()))
            })?;
        let lock = Lock {
            path: r.1,
            state,
            owner: PublicKey(owner),
            owner_name: r.4,
            owner_email: r.5,
            branch: r.6,
            revision: r.7,
            file: r.8,
            time: r.9,
            tz_offset_min: r.10,
            counter: r.11,
            ends: r.12,
            signature,
        };
        lock.check()?;
        Ok(lock)
    }

    /// [`Lock::decode`], then [`Lock::verify`].
    pub fn decode_verified(bytes: &[u8]) -> Result<Self, ObjectError> {
        let lock = Lock::decode(bytes)?;
        lock.verify()?;
        Ok(lock)
    }

    /// The id of this record.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::Lock, &self.encode()?))
    }

    /// Where this record stands in [`merge`]'s order.
    pub fn precedence(&self) -> Result<Precedence, ObjectError> {
        let id = self.id()?;
        Ok(Precedence {
            counter: self.counter,
            chain: self.ends.unwrap_or(id),
            release: self.state == LockState::Released,
            id,
        })
    }

    /// True for a hold.
    pub fn is_held(&self) -> bool {
        self.state == LockState::Held
    }
}

/// Merges two records for the same path into the one that describes its state.
///
/// The rule (`store-format.md` § *Lock*): the record with the higher
/// [`Precedence`] wins — the higher counter; on equal counters, the higher chain id
/// (a hold's own id, the id of the hold a release ends), then a release over the hold
/// it ends, then the higher record id. So a release outranks exactly the hold it
/// follows and ranks below whatever that hold ranks below: it never cancels a
/// concurrent hold by someone else. The order is total, so `merge` is commutative,
/// associative and idempotent, and every peer that has seen the same records agrees.
///
/// Records for different paths are refused.
pub fn merge<'a>(a: &'a Lock, b: &'a Lock) -> Result<&'a Lock, ObjectError> {
    if a.path != b.path {
        return Err(invalid(format!(
            "cannot merge locks of different paths '{}' and '{}'",
            a.path, b.path
        )));
    }
    Ok(if b.precedence()? > a.precedence()? {
        b
    } else {
        a
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::object::Person;
    use proptest::prelude::*;

    fn who(name: &str, time: i64) -> Person {
        Person {
            name: name.into(),
            email: format!("{name}@example.org"),
            time,
            tz_offset_min: 60,
        }
    }

    fn hold(key: &MachineKey, path: &str, counter: u64) -> Lock {
        let mut l = Lock::hold(
            path.into(),
            &who("ada", 1_700_000_000 + counter as i64),
            "main".into(),
            ObjectId::of_chunk(b"rev"),
            ObjectId::of_chunk(b"file"),
            counter,
        );
        l.sign(key).unwrap();
        l
    }

    fn released(key: &MachineKey, h: &Lock) -> Lock {
        let mut r = h.release(h.id().unwrap(), &who("bo", 1_800_000_000));
        r.sign(key).unwrap();
        r
    }

    #[test]
    fn round_trip_sign_and_verify() {
        let k = MachineKey::from_seed([3; 32]);
        let h = hold(&k, "art/hero.psd", 1);
        assert_eq!(h.owner, k.public());
        assert!(h.is_held());
        let bytes = h.encode().unwrap();
        assert_eq!(Lock::decode(&bytes).unwrap(), h);
        assert_eq!(Lock::decode_verified(&bytes).unwrap(), h);
        assert_eq!(h.id().unwrap(), ObjectId::compute(ObjectKind::Lock, &bytes));
        let r = released(&k, &h);
        assert!(!r.is_held());
        assert_eq!(r.ends, Some(h.id().unwrap()));
        assert_eq!(r.counter, h.counter);
        assert_eq!(Lock::decode_verified(&r.encode().unwrap()).unwrap(), r);
        // The message starts with the context and a zero byte.
        let msg = h.signed_message().unwrap();
        assert!(msg.starts_with(b"gadn 2026-11 object lock\0"));
    }

    #[test]
    fn altered_or_forged_records_do_not_verify() {
        let k = MachineKey::from_seed([3; 32]);
        let mallory = MachineKey::from_seed([4; 32]);
        let h = hold(&k, "a.bin", 2);
        // Any field changed after signing breaks the signature.
        let mut changed = h.clone();
        changed.owner_name = "someone else".into();
        let err = Lock::decode_verified(&changed.encode().unwrap()).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        assert!(err.to_string().contains("'a.bin'"), "{err}");
        // Claiming someone else's key with one's own signature.
        let mut forged = hold(&mallory, "a.bin", 2);
        forged.owner = k.public();
        assert!(forged.verify().is_err());
        // A flipped signature bit.
        let mut flipped = h.clone();
        flipped.signature[10] ^= 0x40;
        assert!(flipped.verify().is_err());
        // Decoding alone does not check the signature (so damage can be reported).
        assert_eq!(Lock::decode(&changed.encode().unwrap()).unwrap(), changed);
    }

    #[test]
    fn structural_rules_are_enforced_on_encode_and_decode() {
        let k = MachineKey::from_seed([5; 32]);
        let h = hold(&k, "dir/file.png", 1);
        for (bad, why) in [
            (
                Lock {
                    path: String::new(),
                    ..h.clone()
                },
                "empty path",
            ),
            (
                Lock {
                    path: "a//b".into(),
                    ..h.clone()
                },
                "empty name",
            ),
            (
                Lock {
                    path: "../x".into(),
                    ..h.clone()
                },
                "'.' and '..'",
            ),
            (
                Lock {
                    path: ".gadn/db".into(),
                    ..h.clone()
                },
                "store directory",
            ),
            (
                Lock {
                    counter: 0,
                    ..h.clone()
                },
                "counter 0",
            ),
            (
                Lock {
                    ends: Some(ObjectId::of_chunk(b"x")),
                    ..h.clone()
                },
                "cannot end",
            ),
            (
                Lock {
                    state: LockState::Released,
                    ..h.clone()
                },
                "must name the hold",
            ),
        ] {
            let err = bad.encode().unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
            let mut signed = bad.clone();
            assert!(signed.sign(&k).is_err());
        }
        // Hand-made encodings breaking the rules are refused on decode.
        let u = h.unsigned();
        let with = |state: u8, owner: Vec<u8>, sig: Vec<u8>, counter: u64| {
            let r: Repr = (
                u.0,
                u.1.clone(),
                state,
                Bytes(owner),
                u.4.clone(),
                u.5.clone(),
                u.6.clone(),
                u.7,
                u.8,
                u.9,
                u.10,
                counter,
                u.12,
                Bytes(sig),
            );
            encode(ObjectKind::Lock, &r).unwrap()
        };
        let ok = with(0, h.owner.0.to_vec(), h.signature.to_vec(), 1);
        assert_eq!(Lock::decode(&ok).unwrap(), h);
        for (bytes, why) in [
            (
                with(2, h.owner.0.to_vec(), h.signature.to_vec(), 1),
                "unknown state 2",
            ),
            (
                with(0, vec![1; 31], h.signature.to_vec(), 1),
                "owner key of 31 bytes",
            ),
            (
                with(0, h.owner.0.to_vec(), vec![1; 63], 1),
                "signature of 63 bytes",
            ),
            (
                with(0, h.owner.0.to_vec(), h.signature.to_vec(), 0),
                "counter 0",
            ),
            (
                with(1, h.owner.0.to_vec(), h.signature.to_vec(), 1),
                "must name the hold",
            ),
        ] {
            let err = Lock::decode(&bytes).unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
        assert!(Lock::decode(&[0x81, 0x01]).is_err());
        assert!(Lock::decode_verified(&[0x81, 0x01]).is_err());
    }

    #[test]
    fn a_release_ends_only_the_hold_it_follows() {
        let a = MachineKey::from_seed([1; 32]);
        let b = MachineKey::from_seed([2; 32]);
        // Two concurrent holds with equal counters: one wins, deterministically.
        let ha = hold(&a, "p", 1);
        let hb = hold(&b, "p", 1);
        let winner = merge(&ha, &hb).unwrap().clone();
        assert_eq!(&winner, merge(&hb, &ha).unwrap());
        let loser = if winner == ha { hb.clone() } else { ha.clone() };
        // The loser's release does not cancel the winner's hold.
        let loser_key = if winner == ha { &b } else { &a };
        let rl = released(loser_key, &loser);
        assert_eq!(merge(&winner, &rl).unwrap(), &winner);
        assert_eq!(merge(&rl, &winner).unwrap(), &winner);
        // The winner's release ends it.
        let winner_key = if winner == ha { &a } else { &b };
        let rw = released(winner_key, &winner);
        assert_eq!(merge(&winner, &rw).unwrap(), &rw);
        // A later hold (higher counter) beats every release before it.
        let h2 = hold(&b, "p", 2);
        assert_eq!(merge(&rw, &h2).unwrap(), &h2);
        assert_eq!(merge(&h2, &rl).unwrap(), &h2);
        // Records of different paths do not merge.
        let other = hold(&a, "q", 5);
        let err = merge(&h2, &other).unwrap_err();
        assert!(err.to_string().contains("different paths"), "{err}");
    }

    /// A small universe of records for one path: holds by three keys with counters
    /// 1..=3, and releases of some of them by any key.
    fn universe() -> Vec<Lock> {
        let keys: Vec<MachineKey> = (1..=3).map(|s| MachineKey::from_seed([s; 32])).collect();
        let mut out = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            for c in 1..=3 {
                let h = hold(k, "p", c);
                out.push(released(&keys[(i + c as usize) % 3], &h));
                out.push(h);
            }
        }
        out
    }

    fn fold(records: &[Lock]) -> Lock {
        let mut cur = records[0].clone();
        for r in &records[1..] {
            cur = merge(&cur, r).unwrap().clone();
        }
        cur
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn merge_is_commutative_associative_and_idempotent(
            picks in proptest::collection::vec(0usize..18, 1..12),
            shuffle in any::<u64>(),
        ) {
            let all = universe();
            let a = &all[picks[0]];
            let b = &all[picks[picks.len() / 2]];
            let c = &all[picks[picks.len() - 1]];
            prop_assert_eq!(merge(a, b).unwrap(), merge(b, a).unwrap());
            prop_assert_eq!(merge(a, a).unwrap(), a);
            let left = merge(merge(a, b).unwrap(), c).unwrap();
            let right = merge(a, merge(b, c).unwrap()).unwrap();
            prop_assert_eq!(left, right);
            // Any order of arrival, with duplicates, converges on one record.
            let records: Vec<Lock> = picks.iter().map(|&i| all[i].clone()).collect();
            let mut shuffled = records.clone();
            let mut s = shuffle;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            shuffled.extend(records.iter().take(2).cloned());
            prop_assert_eq!(fold(&records), fold(&shuffled));
        }
    }
}
