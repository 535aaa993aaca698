//! Commit signatures: a commit made on a machine that has an identity key carries
//! the committer's public key and an ed25519 signature (`store-format.md` § *Commit*).
//!
//! The `signature` field of a signed commit is 96 bytes: the signer's public key (32)
//! then the signature (64) over [`COMMIT_SIGNATURE_CONTEXT`] followed by the
//! canonical encoding of the same commit with `signature` absent. Commits are signed
//! only when a key already exists (`gadn lock` creates one; `gadn id` will): making a
//! commit never creates a key.

use crate::identity::{MachineKey, PublicKey};
use crate::store::object::{Commit, ObjectError};

/// Domain separation for commit signatures; part of the format, never changes.
pub const COMMIT_SIGNATURE_CONTEXT: &[u8] = b"gadn 2026-11 commit signature\0";

/// Length of a commit's `signature` field: public key then signature.
pub const COMMIT_SIGNATURE_LEN: usize = 32 + 64;

/// What a commit's signature says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SignatureCheck {
    /// No signature.
    Unsigned,
    /// Signed by this key, and the signature verifies.
    Good {
        /// The signer (`gadn1…`).
        key: String,
    },
    /// A signature is present but does not verify, or is malformed.
    Bad {
        /// Why.
        reason: String,
    },
}

fn signed_message(commit: &Commit) -> Result<Vec<u8>, ObjectError> {
    let mut unsigned = commit.clone();
    unsigned.signature = None;
    let mut msg = COMMIT_SIGNATURE_CONTEXT.to_vec();
    msg.extend_from_slice(&unsigned.encode()?);
    Ok(msg)
}

/// Signs `commit` in place with `key` (replacing any previous signature).
pub fn sign_commit(commit: &mut Commit, key: &MachineKey) -> Result<(), ObjectError> {
    let sig = key.sign(&signed_message(commit)?);
    let mut field = key.public().0.to_vec();
    field.extend_from_slice(&sig);
    commit.signature = Some(field);
    Ok(())
}

/// This machine's identity key if one exists (never created here); `None` also when
/// there is no home directory to look in.
pub fn existing_key() -> Result<Option<MachineKey>, crate::identity::IdentityError> {
    match crate::identity::home_dir() {
        Ok(home) => MachineKey::load(&home),
        Err(_) => Ok(None),
    }
}

/// Checks `commit`'s signature.
pub fn verify_commit(commit: &Commit) -> SignatureCheck {
    let Some(field) = &commit.signature else {
        return SignatureCheck::Unsigned;
    };
    let bad = |reason: &str| SignatureCheck::Bad {
        reason: reason.to_string(),
    };
    if field.len() != COMMIT_SIGNATURE_LEN {
        return bad("the signature field is not 96 bytes (key and signature)");
    }
    let (k, s) = field.split_at(32);
    let mut key = [0u8; 32];
    key.copy_from_slice(k);
    let mut sig = [0u8; 64];
    sig.copy_from_slice(s);
    let key = PublicKey(key);
    match signed_message(commit) {
        Ok(msg) if key.verify(&msg, &sig) => SignatureCheck::Good { key: key.to_text() },
        Ok(_) => bad("the signature does not match the commit"),
        Err(e) => SignatureCheck::Bad {
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::object::Person;
    use crate::store::ObjectId;

    fn commit() -> Commit {
        let who = Person {
            name: "Ana".into(),
            email: "ana@x".into(),
            time: 1_700_000_000,
            tz_offset_min: 60,
        };
        Commit {
            tree: ObjectId::of_chunk(b"tree"),
            parents: vec![],
            author: who.clone(),
            committer: who,
            message: "m".into(),
            notes: vec![("k".into(), "v".into())],
            signature: None,
        }
    }

    #[test]
    fn signed_commits_verify_and_any_change_breaks_them() {
        let key = MachineKey::from_seed([7; 32]);
        let mut c = commit();
        assert_eq!(verify_commit(&c), SignatureCheck::Unsigned);
        sign_commit(&mut c, &key).unwrap();
        assert_eq!(
            verify_commit(&c),
            SignatureCheck::Good {
                key: key.public().to_text()
            }
        );
        // Deterministic: the same commit signs to the same bytes (so the same id).
        let mut again = commit();
        sign_commit(&mut again, &key).unwrap();
        assert_eq!(again, c);
        let mut edited = c.clone();
        edited.message = "m2".into();
        assert!(matches!(verify_commit(&edited), SignatureCheck::Bad { .. }));
        // Another key claiming the signature.
        let mut forged = c.clone();
        let other = MachineKey::from_seed([8; 32]).public().0;
        forged.signature.as_mut().unwrap()[..32].copy_from_slice(&other);
        assert!(matches!(verify_commit(&forged), SignatureCheck::Bad { .. }));
        let mut short = c.clone();
        short.signature = Some(vec![1; 64]);
        match verify_commit(&short) {
            SignatureCheck::Bad { reason } => assert!(reason.contains("96 bytes"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // Unsorted notes cannot be encoded, so cannot verify either.
        let mut broken = c.clone();
        broken.notes = vec![("b".into(), "1".into()), ("a".into(), "2".into())];
        assert!(matches!(verify_commit(&broken), SignatureCheck::Bad { .. }));
    }
}
