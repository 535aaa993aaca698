use super::*;
use proptest::collection::vec;
use proptest::prelude::*;
use std::time::Duration;

/// The body ciborium makes for `msg`, bypassing the bounds check of [`encode`]: how
/// a hostile or buggy peer would send an over-limit message.
pub(super) fn unchecked_body(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(msg, &mut out).unwrap();
    out
}

pub(super) fn body(frame: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - 4, "length prefix");
    &frame[4..]
}

/// What a message decoded from a peer becomes when sent on: itself (the same
/// property the `fuzz/` target checks).
pub(super) fn re_decode(msg: &Message) -> Message {
    match encode(msg) {
        Ok(frame) => decode(body(&frame)).unwrap(),
        Err(e) => panic!("a decoded message does not encode: {e}"),
    }
}

pub(super) fn round_trip(msg: &Message) -> Message {
    let frame = encode(msg).unwrap();
    decode(body(&frame)).unwrap()
}

pub(super) fn cbor_value(v: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

pub(super) fn text(s: &str) -> ciborium::Value {
    ciborium::Value::Text(s.into())
}

pub(super) fn oid(b: u8) -> ObjectId {
    ObjectId::from_bytes([b; 32])
}

pub(super) fn s(n: usize) -> String {
    "x".repeat(n)
}

/// Runs an async test body with a time limit.
pub(super) async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("test timed out")
}

// ---- strategies ----

pub(super) fn id() -> impl Strategy<Value = ObjectId> {
    any::<[u8; 32]>().prop_map(ObjectId::from_bytes)
}

pub(super) fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9/._-]{0,24}|\\PC{0,8}"
}

pub(super) fn names(n: usize) -> impl Strategy<Value = Vec<String>> {
    vec(name(), 0..n)
}

pub(super) fn run() -> impl Strategy<Value = Run> {
    (
        id(),
        0..=u64::MAX - u64::from(MAX_RUN_CHUNKS),
        1..=MAX_RUN_CHUNKS,
    )
        .prop_map(|(file, start, count)| Run { file, start, count })
}

pub(super) fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (
            vec(any::<u32>(), 0..4),
            proptest::option::of(name()),
            names(4),
            names(4)
        )
            .prop_map(|(versions, repo, caps, listen)| Message::Hello {
                versions,
                repo,
                caps,
                listen
            }),
        Just(Message::ListRefs {}),
        (vec(id(), 0..8), vec(id(), 0..8), any::<u32>()).prop_map(|(wants, haves, limit)| {
            Message::Commits {
                wants,
                haves,
                limit,
            }
        }),
        vec(id(), 0..8).prop_map(|ids| Message::GetObjects { ids }),
        vec(id(), 0..8).prop_map(|ids| Message::GetPreviews { ids }),
        vec(id(), 0..8).prop_map(|ids| Message::Previews { ids }),
        vec(run(), 0..8).prop_map(|runs| Message::GetChunks { runs }),
        vec(
            (name(), proptest::option::of(id()), id(), any::<bool>()).prop_map(
                |(name, old, new, force)| RefUpdate {
                    name,
                    old,
                    new,
                    force
                }
            ),
            0..6
        )
        .prop_map(|updates| Message::Push { updates }),
        Just(Message::GetPeers {}),
        (
            any::<u32>(),
            name(),
            names(4),
            names(4),
            proptest::option::of((any::<u32>(), any::<u32>(), any::<u32>()))
        )
            .prop_map(|(version, repo, caps, listen, chunking)| {
                Message::Welcome {
                    version,
                    repo,
                    caps,
                    listen,
                    chunking,
                }
            }),
        (
            vec((name(), id()), 0..8),
            proptest::option::of(name()),
            proptest::option::of(id()),
            vec(id(), 0..4)
        )
            .prop_map(|(refs, head, members, locks)| Message::Refs {
                refs,
                head,
                members,
                locks
            }),
        (vec(id(), 0..8), any::<bool>()).prop_map(|(ids, done)| Message::CommitIds { ids, done }),
        (
            id(),
            any::<u8>(),
            0..2u8,
            0..=MAX_PAYLOAD as u32,
            vec(any::<u8>(), 0..300)
        )
            .prop_map(|(id, kind, codec, raw_len, payload)| Message::Record {
                id,
                kind,
                codec,
                raw_len,
                payload
            }),
        id().prop_map(|id| Message::Missing { id }),
        (id(), name()).prop_map(|(id, reason)| Message::Damaged { id, reason }),
        Just(Message::End {}),
        vec((name(), proptest::option::of(name())), 0..6)
            .prop_map(|results| Message::PushResult { results }),
        vec(
            (any::<[u8; 32]>(), names(3), any::<u64>()).prop_map(|(key, addrs, last_seen)| {
                PeerInfo {
                    key,
                    addrs,
                    last_seen,
                }
            }),
            0..4
        )
        .prop_map(|peers| Message::Peers { peers }),
        (name(), "\\PC{0,64}").prop_map(|(code, message)| Message::Error { code, message }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_message_round_trips(msg in message()) {
        let frame = encode(&msg).unwrap();
        prop_assert_eq!(decode(body(&frame)).unwrap(), msg);
    }

    /// Valid frames with random damage: decoding never panics, and whatever it
    /// accepts encodes again and decodes to the same message.
    #[test]
    fn damaged_frames_never_panic(
        msg in message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        let frame = encode(&msg).unwrap();
        let mut b = body(&frame).to_vec();
        for (at, byte, op) in edits {
            if b.is_empty() {
                break;
            }
            let i = at.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => b.insert(i, byte),
                _ => b.truncate(i),
            }
        }
        if let Ok(m) = decode(&b) {
            prop_assert_eq!(re_decode(&m), m);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// The same check as the `fuzz/` target `wire_decode`, for stable toolchains.
    #[test]
    fn random_bytes_never_panic(b in vec(any::<u8>(), 0..512)) {
        if let Ok(m) = decode(&b) {
            prop_assert_eq!(re_decode(&m), m);
        }
    }

    /// Random bytes after a map header and a real type name reach the field
    /// decoders far more often than uniform noise does.
    #[test]
    fn random_fields_never_panic(
        t in prop::sample::select(vec![
            "Hello", "Commits", "GetChunks", "Push", "Welcome", "Refs",
            "Record", "PushResult", "Peers", "Error",
        ]),
        n in 0..24u8,
        rest in vec(any::<u8>(), 0..256),
    ) {
        let mut b = vec![0xa0 | n.min(23), 0x61, b't', 0x60 | t.len() as u8];
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(&rest);
        let _ = decode(&b);
    }
}

#[test]
fn hex_example_in_store_format_md() {
    let msg = Message::Hello {
        versions: vec![1],
        repo: None,
        caps: vec![],
        listen: vec![],
    };
    let frame = encode(&msg).unwrap();
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "28000000a561746548656c6c6f6876657273696f6e738101647265706ff6\
         646361707380666c697374656e80"
    );
}

#[test]
fn bytes_newtype_is_a_cbor_byte_string() {
    let mut out = Vec::new();
    ciborium::into_writer(&Bytes(vec![1, 2, 3]), &mut out).unwrap();
    assert_eq!(out, [0x43, 1, 2, 3], "major type 2, length 3");
    let back: Bytes = ciborium::from_reader(&out[..]).unwrap();
    assert_eq!(back, Bytes(vec![1, 2, 3]));
    // Longer than ciborium's scratch buffer: the visit_byte_buf path.
    let big = Bytes(vec![7; 10_000]);
    out.clear();
    ciborium::into_writer(&big, &mut out).unwrap();
    assert_eq!(out[..3], [0x59, 0x27, 0x10], "major type 2, 2-byte length");
    assert_eq!(ciborium::from_reader::<Bytes, _>(&out[..]).unwrap(), big);
    // A Record's payload and a peer key use the same encoding.
    let rec = Message::Record {
        id: oid(1),
        kind: 0,
        codec: 0,
        raw_len: 3,
        payload: vec![1, 2, 3],
    };
    let frame = encode(&rec).unwrap();
    let needle = [b"\x67payload".as_slice(), &[0x43, 1, 2, 3]].concat();
    assert!(frame.windows(needle.len()).any(|w| w == needle));
    let peers = Message::Peers {
        peers: vec![PeerInfo {
            key: [9; 32],
            addrs: vec![],
            last_seen: 0,
        }],
    };
    let frame = encode(&peers).unwrap();
    let needle = [b"\x63key\x58\x20".as_slice(), &[9; 32]].concat();
    assert!(frame.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn kind_name_is_the_type_key() {
    let msgs = [
        Message::ListRefs {},
        Message::GetPeers {},
        Message::End {},
        Message::Missing { id: oid(0) },
        Message::GetObjects { ids: vec![] },
    ];
    for m in msgs {
        let b = unchecked_body(&m);
        assert_eq!(message_type(&b).unwrap(), m.kind_name());
    }
}
