//! Every bound enforced on encode and decode; malformed and hostile bodies.

use super::tests::*;
use super::*;

/// One message over each bound; `encode` refuses it and `decode` of the body a
/// careless peer would send rejects it with the same error.
#[test]
fn every_bound_is_enforced_both_ways() {
    let hello =
        |versions: usize, repo: usize, caps: Vec<String>, listen: Vec<String>| Message::Hello {
            versions: vec![1; versions],
            repo: Some(s(repo)),
            caps,
            listen,
        };
    let welcome = |repo: usize, caps: Vec<String>, listen: Vec<String>| Message::Welcome {
        version: 1,
        repo: s(repo),
        caps,
        listen,
        chunking: Some((16384, 65536, 262144)),
    };
    let run = |count| Run {
        file: oid(1),
        start: 0,
        count,
    };
    let update = |n| RefUpdate {
        name: s(n),
        old: None,
        new: oid(2),
        force: false,
    };
    let refs = |refs: Vec<(String, ObjectId)>, head: usize, locks: usize| Message::Refs {
        refs,
        head: Some(s(head)),
        members: None,
        locks: vec![oid(3); locks],
    };
    let record = |raw_len: usize, payload: usize| Message::Record {
        id: oid(4),
        kind: 0,
        codec: 1,
        raw_len: raw_len as u32,
        payload: vec![0; payload],
    };
    let peer = |addrs: Vec<String>| PeerInfo {
        key: [5; 32],
        addrs,
        last_seen: 1,
    };
    let ok = || vec![s(MAX_STRING)];
    let cases: Vec<(Message, &str, usize, usize)> = vec![
        (hello(65, 1, ok(), ok()), "versions", 65, MAX_VERSIONS),
        (hello(1, 1025, ok(), ok()), "repo", 1025, MAX_STRING),
        (hello(1, 1, vec![s(1); 65], ok()), "caps", 65, MAX_CAPS),
        (hello(1, 1, vec![s(1025)], ok()), "caps[]", 1025, MAX_STRING),
        (hello(1, 1, ok(), vec![s(1); 65]), "listen", 65, MAX_ADDRS),
        (
            hello(1, 1, ok(), vec![s(1025)]),
            "listen[]",
            1025,
            MAX_STRING,
        ),
        (welcome(1025, ok(), ok()), "repo", 1025, MAX_STRING),
        (welcome(1, vec![s(1); 65], ok()), "caps", 65, MAX_CAPS),
        (welcome(1, vec![s(1025)], ok()), "caps[]", 1025, MAX_STRING),
        (welcome(1, ok(), vec![s(1); 65]), "listen", 65, MAX_ADDRS),
        (
            welcome(1, ok(), vec![s(1025)]),
            "listen[]",
            1025,
            MAX_STRING,
        ),
        (
            Message::Commits {
                wants: vec![oid(1); MAX_IDS + 1],
                haves: vec![],
                limit: 1,
            },
            "wants",
            MAX_IDS + 1,
            MAX_IDS,
        ),
        (
            Message::Commits {
                wants: vec![],
                haves: vec![oid(1); MAX_IDS + 1],
                limit: 1,
            },
            "haves",
            MAX_IDS + 1,
            MAX_IDS,
        ),
        (
            Message::GetObjects {
                ids: vec![oid(1); MAX_IDS + 1],
            },
            "ids",
            MAX_IDS + 1,
            MAX_IDS,
        ),
        (
            Message::CommitIds {
                ids: vec![oid(1); MAX_IDS + 1],
                done: true,
            },
            "ids",
            MAX_IDS + 1,
            MAX_IDS,
        ),
        (
            Message::GetChunks {
                runs: vec![run(1); MAX_RUNS + 1],
            },
            "runs",
            MAX_RUNS + 1,
            MAX_RUNS,
        ),
        (
            Message::GetChunks {
                runs: vec![run(MAX_RUN_CHUNKS + 1)],
            },
            "runs[].count",
            MAX_RUN_CHUNKS as usize + 1,
            MAX_RUN_CHUNKS as usize,
        ),
        (
            Message::Push {
                updates: vec![update(1); MAX_REFS + 1],
            },
            "updates",
            MAX_REFS + 1,
            MAX_REFS,
        ),
        (
            Message::Push {
                updates: vec![update(1025)],
            },
            "updates[].name",
            1025,
            MAX_STRING,
        ),
        (
            refs(vec![(s(1), oid(1)); MAX_REFS + 1], 1, 0),
            "refs",
            MAX_REFS + 1,
            MAX_REFS,
        ),
        (
            refs(vec![(s(1025), oid(1))], 1, 0),
            "refs[].name",
            1025,
            MAX_STRING,
        ),
        (refs(vec![], 1025, 0), "head", 1025, MAX_STRING),
        (refs(vec![], 1, MAX_IDS + 1), "locks", MAX_IDS + 1, MAX_IDS),
        (
            record(MAX_PAYLOAD + 1, 1),
            "raw_len",
            MAX_PAYLOAD + 1,
            MAX_PAYLOAD,
        ),
        (
            record(1, MAX_PAYLOAD + 1),
            "payload",
            MAX_PAYLOAD + 1,
            MAX_PAYLOAD,
        ),
        (
            Message::PushResult {
                results: vec![(s(1), None); MAX_REFS + 1],
            },
            "results",
            MAX_REFS + 1,
            MAX_REFS,
        ),
        (
            Message::PushResult {
                results: vec![(s(1025), None)],
            },
            "results[].name",
            1025,
            MAX_STRING,
        ),
        (
            Message::PushResult {
                results: vec![(s(1), Some(s(1025)))],
            },
            "results[].reason",
            1025,
            MAX_STRING,
        ),
        (
            Message::Peers {
                peers: vec![peer(vec![]); MAX_PEERS + 1],
            },
            "peers",
            MAX_PEERS + 1,
            MAX_PEERS,
        ),
        (
            Message::Peers {
                peers: vec![peer(vec![s(1); 65])],
            },
            "peers[].addrs",
            65,
            MAX_ADDRS,
        ),
        (
            Message::Peers {
                peers: vec![peer(vec![s(1025)])],
            },
            "peers[].addrs[]",
            1025,
            MAX_STRING,
        ),
        (
            Message::Error {
                code: s(1025),
                message: s(1),
            },
            "code",
            1025,
            MAX_STRING,
        ),
        (
            Message::Error {
                code: s(1),
                message: s(4097),
            },
            "message",
            4097,
            MAX_ERROR_MESSAGE,
        ),
    ];
    for (msg, want_field, want_len, want_max) in cases {
        let kind = msg.kind_name();
        let check_err = |e: WireError, how: &str| match e {
            WireError::Bound {
                message,
                field,
                len,
                max,
            } => {
                assert_eq!(
                    (message, field, len, max),
                    (kind, want_field, want_len, want_max),
                    "{how} {kind}.{want_field}"
                );
            }
            other => panic!("{how} {kind}.{want_field}: {other}"),
        };
        check_err(encode(&msg).unwrap_err(), "encode");
        check_err(decode(&unchecked_body(&msg)).unwrap_err(), "decode");
    }
    // At the limit everything passes.
    let at_limit = [
        hello(
            MAX_VERSIONS,
            MAX_STRING,
            vec![s(MAX_STRING); MAX_CAPS],
            ok(),
        ),
        record(MAX_PAYLOAD, 0),
        Message::Error {
            code: s(MAX_STRING),
            message: s(MAX_ERROR_MESSAGE),
        },
        Message::GetChunks {
            runs: vec![run(MAX_RUN_CHUNKS); MAX_RUNS],
        },
        Message::GetObjects {
            ids: vec![oid(1); MAX_IDS],
        },
    ];
    for msg in at_limit {
        assert!(round_trip(&msg) == msg, "{}", msg.kind_name());
    }
}

#[test]
fn bad_runs_are_rejected() {
    for (start, count) in [(0, 0), (u64::MAX, 1), (u64::MAX - 9, 11)] {
        let msg = Message::GetChunks {
            runs: vec![Run {
                file: oid(1),
                start,
                count,
            }],
        };
        for e in [
            encode(&msg).unwrap_err(),
            decode(&unchecked_body(&msg)).unwrap_err(),
        ] {
            assert!(
                matches!(e, WireError::BadRun { start: s, count: c } if s == start && c == count),
                "{e}"
            );
        }
    }
    let last = Message::GetChunks {
        runs: vec![Run {
            file: oid(1),
            start: u64::MAX - 10,
            count: 10,
        }],
    };
    assert_eq!(round_trip(&last), last);
}

/// Entries past a list's bound are counted, not kept: a frame of a million empty
/// strings in `caps` decodes to a bound error naming the true count.
#[test]
fn oversized_lists_are_counted_not_kept() {
    let msg = Message::Hello {
        versions: vec![],
        repo: None,
        caps: vec![String::new(); 1_000_000],
        listen: vec![],
    };
    let b = unchecked_body(&msg);
    assert!(b.len() < MAX_FRAME);
    match decode(&b).unwrap_err() {
        WireError::Bound { field, len, .. } => assert_eq!((field, len), ("caps", 1_000_000)),
        e => panic!("{e}"),
    }
}

#[test]
fn ids_of_the_wrong_length_are_typed_errors() {
    use ciborium::Value::{Array, Bytes as B, Map};
    let missing = |id: Vec<u8>| Map(vec![(text("t"), text("Missing")), (text("id"), B(id))]);
    for len in [0, 31, 33, 4000] {
        let e = decode(&cbor_value(&missing(vec![1; len]))).unwrap_err();
        assert!(matches!(e, WireError::BadId { len: l } if l == len), "{e}");
    }
    let wants = Map(vec![
        (text("t"), text("Commits")),
        (text("wants"), Array(vec![B(vec![0; 32]), B(vec![0; 16])])),
        (text("haves"), Array(vec![])),
        (text("limit"), ciborium::Value::Integer(5.into())),
    ]);
    let e = decode(&cbor_value(&wants)).unwrap_err();
    assert!(matches!(e, WireError::BadId { len: 16 }), "{e}");
    let peer = Map(vec![
        (text("t"), text("Peers")),
        (
            text("peers"),
            Array(vec![Map(vec![
                (text("key"), B(vec![1; 31])),
                (text("addrs"), Array(vec![])),
                (text("last_seen"), ciborium::Value::Integer(0.into())),
            ])]),
        ),
    ]);
    let e = decode(&cbor_value(&peer)).unwrap_err();
    assert!(matches!(e, WireError::BadId { len: 31 }), "{e}");
    // An id written as an array of integers is not an id.
    let arr = Map(vec![
        (text("t"), text("Missing")),
        (
            text("id"),
            Array(vec![ciborium::Value::Integer(0.into()); 32]),
        ),
    ]);
    assert!(matches!(decode(&cbor_value(&arr)), Err(WireError::Cbor(_))));
}

#[test]
fn unknown_keys_are_ignored_in_any_order() {
    use ciborium::Value::{Array, Bool, Bytes as B, Map, Null};
    let v = Map(vec![
        (
            text("future"),
            Array(vec![Map(vec![(text("x"), Null)]), B(vec![1; 5000])]),
        ),
        (text("done"), Bool(true)),
        (text("ids"), Array(vec![B(vec![7; 32])])),
        (text("t"), text("CommitIds")),
        (text("also-new"), ciborium::Value::Integer(1.into())),
    ]);
    assert_eq!(
        decode(&cbor_value(&v)).unwrap(),
        Message::CommitIds {
            ids: vec![oid(7)],
            done: true
        }
    );
    // Absent optional fields read as None.
    let v = Map(vec![
        (text("t"), text("Hello")),
        (text("versions"), Array(vec![])),
        (text("caps"), Array(vec![])),
        (text("listen"), Array(vec![])),
    ]);
    assert!(matches!(
        decode(&cbor_value(&v)).unwrap(),
        Message::Hello { repo: None, .. }
    ));
}

#[test]
fn malformed_bodies_are_errors() {
    use ciborium::Value::{Array, Bytes as B, Map};
    let unknown = Map(vec![(text("t"), text("Teleport"))]);
    assert!(matches!(
        decode(&cbor_value(&unknown)),
        Err(WireError::UnknownType(t)) if t == "Teleport"
    ));
    let long = Map(vec![(text("t"), text(&s(100_000)))]);
    match decode(&cbor_value(&long)) {
        Err(WireError::UnknownType(t)) => assert!(t.len() < 300),
        other => panic!("{other:?}"),
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no t", cbor_value(&Map(vec![(text("id"), B(vec![0; 32]))]))),
        (
            "t not text",
            cbor_value(&Map(vec![(text("t"), B(vec![1]))])),
        ),
        (
            "not a map",
            cbor_value(&Array(vec![text("t"), text("End")])),
        ),
        (
            "missing field",
            cbor_value(&Map(vec![(text("t"), text("Missing"))])),
        ),
        (
            "wrong type",
            cbor_value(&Map(vec![
                (text("t"), text("Missing")),
                (text("id"), text("x")),
            ])),
        ),
        (
            "pair of three",
            cbor_value(&Map(vec![
                (text("t"), text("PushResult")),
                (
                    text("results"),
                    Array(vec![Array(vec![text("a"), text("b"), text("c")])]),
                ),
            ])),
        ),
        (
            "u8 out of range",
            cbor_value(&Map(vec![
                (text("t"), text("Record")),
                (text("id"), B(vec![0; 32])),
                (text("kind"), ciborium::Value::Integer(256.into())),
                (text("codec"), ciborium::Value::Integer(0.into())),
                (text("raw_len"), ciborium::Value::Integer(0.into())),
                (text("payload"), B(vec![])),
            ])),
        ),
        ("garbage", vec![0xff, 0x00, 0x13, 0x37]),
        (
            "truncated cbor",
            unchecked_body(&Message::Missing { id: oid(1) })[..20].to_vec(),
        ),
        ("trailing bytes", {
            let mut b = unchecked_body(&Message::End {});
            b.push(0);
            b
        }),
    ];
    for (what, b) in cases {
        assert!(matches!(decode(&b), Err(WireError::Cbor(_))), "{what}");
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut b = vec![0xa2, 0x61, b't', 0x63, b'E', b'n', b'd', 0x61, b'x'];
    b.extend(std::iter::repeat_n(0x81u8, 100_000));
    b.push(0x00);
    assert!(matches!(decode(&b), Err(WireError::Cbor(_))));
}
