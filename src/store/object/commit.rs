//! [`Commit`] and [`Person`] (`store-format.md` § *Commit*).

use super::{check_version, decode, encode, Bytes, ObjectError, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// Who did something, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
    /// Offset of the local time zone from UTC, in minutes (east positive).
    pub tz_offset_min: i16,
}

impl Person {
    /// `Name <email>` as git prints it.
    pub fn ident(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }
}

/// A commit: a tree, its parents, attribution, a message and revision notes.
///
/// Invariant: `notes` is sorted by key with unique keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Root tree of the snapshot.
    pub tree: ObjectId,
    /// Parent commits (none for a root commit, two or more for a merge).
    pub parents: Vec<ObjectId>,
    /// Who wrote the change.
    pub author: Person,
    /// Who recorded it.
    pub committer: Person,
    /// Free-form message.
    pub message: String,
    /// Revision notes: key/value pairs sorted by key.
    pub notes: Vec<(String, String)>,
    /// Optional detached signature over the commit encoded without it.
    pub signature: Option<Vec<u8>>,
}

type PersonRepr = (String, String, i64, i16);
type Repr = (
    u8,
    ObjectId,
    Vec<ObjectId>,
    PersonRepr,
    PersonRepr,
    String,
    Vec<(String, String)>,
    Option<Bytes>,
);

fn person_repr(p: &Person) -> PersonRepr {
    (p.name.clone(), p.email.clone(), p.time, p.tz_offset_min)
}

fn person(r: PersonRepr) -> Person {
    Person {
        name: r.0,
        email: r.1,
        time: r.2,
        tz_offset_min: r.3,
    }
}

pub(super) fn check_sorted_keys(
    kind: ObjectKind,
    notes: &[(String, String)],
) -> Result<(), ObjectError> {
    for w in notes.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err(ObjectError::Invalid {
                kind,
                reason: format!(
                    "note keys {:?} and {:?} out of order or repeated",
                    w[0].0, w[1].0
                ),
            });
        }
    }
    Ok(())
}

impl Commit {
    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        check_sorted_keys(ObjectKind::Commit, &self.notes)?;
        let repr: Repr = (
            FORMAT_VERSION,
            self.tree,
            self.parents.clone(),
            person_repr(&self.author),
            person_repr(&self.committer),
            self.message.clone(),
            self.notes.clone(),
            self.signature.clone().map(Bytes),
        );
        encode(ObjectKind::Commit, &repr)
    }

    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v, tree, parents, author, committer, message, notes, signature): Repr =
            decode(ObjectKind::Commit, bytes)?;
        check_version(ObjectKind::Commit, v)?;
        check_sorted_keys(ObjectKind::Commit, &notes)?;
        Ok(Commit {
            tree,
            parents,
            author: person(author),
            committer: person(committer),
            message,
            notes,
            signature: signature.map(|b| b.0),
        })
    }

    /// The id of this commit.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::Commit, &self.encode()?))
    }

    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Commit {
        let p = Person {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            time: 1_700_000_000,
            tz_offset_min: -300,
        };
        Commit {
            tree: ObjectId::of_chunk(b"t"),
            parents: vec![ObjectId::of_chunk(b"p1"), ObjectId::of_chunk(b"p2")],
            author: p.clone(),
            committer: p,
            message: "Retexture the crate\n\nLonger text".into(),
            notes: vec![
                ("reviewed-by".into(), "bo".into()),
                ("ticket".into(), "T-12".into()),
            ],
            signature: Some(vec![9; 64]),
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        let bytes = c.encode().unwrap();
        assert_eq!(Commit::decode(&bytes).unwrap(), c);
        assert_eq!(c.summary(), "Retexture the crate");
        assert_eq!(c.author.ident(), "Ada <ada@example.org>");
        assert_eq!(
            c.id().unwrap(),
            ObjectId::compute(ObjectKind::Commit, &bytes)
        );
        let root = Commit {
            parents: vec![],
            signature: None,
            notes: vec![],
            message: String::new(),
            ..c
        };
        assert_eq!(Commit::decode(&root.encode().unwrap()).unwrap(), root);
        assert_eq!(root.summary(), "");
    }

    #[test]
    fn unsorted_notes_are_invalid() {
        let mut c = sample();
        c.notes.reverse();
        assert!(matches!(c.encode(), Err(ObjectError::Invalid { .. })));
        assert!(Commit::decode(b"\x82\x01\x00").is_err());
    }
}
