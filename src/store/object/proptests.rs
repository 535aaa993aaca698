//! Property tests: every object kind round-trips through its canonical encoding, the
//! encoding is stable (decode → encode gives the same bytes, hence the same id), and
//! no byte string decodes to an object whose encoding differs from it.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::store::id::ObjectId;

fn id() -> impl Strategy<Value = ObjectId> {
    any::<[u8; 32]>().prop_map(ObjectId::from_bytes)
}

fn person() -> impl Strategy<Value = Person> {
    (".{0,20}", ".{0,20}", any::<i64>(), any::<i16>()).prop_map(
        |(name, email, time, tz_offset_min)| Person {
            name,
            email,
            time,
            tz_offset_min,
        },
    )
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._-]{1,24}".prop_filter("valid entry name", |n| validate_name(n).is_ok())
}

fn entry_kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![
        Just(EntryKind::File),
        Just(EntryKind::Executable),
        Just(EntryKind::Dir),
        Just(EntryKind::Symlink)
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    vec(
        (
            name(),
            entry_kind(),
            id(),
            any::<u64>(),
            proptest::option::of(id()),
        ),
        0..40,
    )
    .prop_map(|raw| {
        let mut t = Tree {
            entries: raw
                .into_iter()
                .map(|(name, kind, id, size, meta)| TreeEntry {
                    name,
                    kind,
                    id,
                    size,
                    meta,
                })
                .collect(),
        };
        t.sort();
        t.entries.dedup_by(|a, b| a.name == b.name);
        t
    })
}

fn notes() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-z-]{1,10}", ".{0,30}", 0..6)
        .prop_map(|m| m.into_iter().collect())
}

fn commit() -> impl Strategy<Value = Commit> {
    (
        id(),
        vec(id(), 0..4),
        person(),
        person(),
        ".{0,200}",
        notes(),
        proptest::option::of(vec(any::<u8>(), 0..80)),
    )
        .prop_map(
            |(tree, parents, author, committer, message, notes, signature)| Commit {
                tree,
                parents,
                author,
                committer,
                message,
                notes,
                signature,
            },
        )
}

fn node() -> impl Strategy<Value = ChunkListNode> {
    (1u8..=16, vec((id(), 1u64..1 << 40), 1..200)).prop_map(|(level, entries)| ChunkListNode {
        level,
        entries: entries
            .into_iter()
            .map(|(id, len)| ChunkEntry { id, len })
            .collect(),
    })
}

proptest! {
    #[test]
    fn files_round_trip(size in any::<u64>(), height in 0u8..=16, root in id()) {
        let f = FileObject { size, height, root };
        let bytes = f.encode().unwrap();
        prop_assert_eq!(FileObject::decode(&bytes).unwrap(), f);
    }

    #[test]
    fn chunk_list_nodes_round_trip(n in node()) {
        let bytes = n.encode().unwrap();
        prop_assert_eq!(ChunkListNode::decode(&bytes).unwrap(), n);
    }

    #[test]
    fn trees_round_trip(t in tree()) {
        let bytes = t.encode().unwrap();
        let back = Tree::decode(&bytes).unwrap();
        prop_assert_eq!(back.encode().unwrap(), bytes);
        prop_assert_eq!(back, t);
    }

    #[test]
    fn commits_round_trip(c in commit()) {
        let bytes = c.encode().unwrap();
        let back = Commit::decode(&bytes).unwrap();
        prop_assert_eq!(back.id().unwrap(), c.id().unwrap());
        prop_assert_eq!(back, c);
    }

    #[test]
    fn tags_round_trip(target in id(), tagger in person(), name in ".{0,30}", message in ".{0,100}", sig in proptest::option::of(vec(any::<u8>(), 0..64))) {
        let t = Tag { target, target_kind: ObjectKind::Commit, name, tagger, message, signature: sig };
        let bytes = t.encode().unwrap();
        prop_assert_eq!(Tag::decode(&bytes).unwrap(), t);
    }

    /// Arbitrary bytes never panic a decoder, and whatever does decode is canonical:
    /// re-encoding gives back exactly the input.
    #[test]
    fn garbage_never_panics_and_accepted_input_is_canonical(bytes in vec(any::<u8>(), 0..300)) {
        if let Ok(t) = Tree::decode(&bytes) { prop_assert_eq!(t.encode().unwrap(), bytes.clone()); }
        if let Ok(c) = Commit::decode(&bytes) { prop_assert_eq!(c.encode().unwrap(), bytes.clone()); }
        if let Ok(n) = ChunkListNode::decode(&bytes) { prop_assert_eq!(n.encode().unwrap(), bytes.clone()); }
        if let Ok(f) = FileObject::decode(&bytes) { prop_assert_eq!(f.encode().unwrap(), bytes.clone()); }
        if let Ok(t) = Tag::decode(&bytes) { prop_assert_eq!(t.encode().unwrap(), bytes.clone()); }
    }

    /// Mutating one byte of a valid encoding either fails to decode or decodes to a
    /// different object (never silently to the same one).
    #[test]
    fn single_byte_changes_are_never_silent(c in commit(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = c.encode().unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= flip;
        if let Ok(other) = Commit::decode(&bytes) {
            prop_assert_ne!(other, c);
        }
    }
}
