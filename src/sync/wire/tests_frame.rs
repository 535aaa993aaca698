//! Frame lengths and streaming: reading and writing frames on a stream.

use super::tests::*;
use super::*;

#[test]
fn frame_lengths_are_checked() {
    assert!(matches!(decode(&[]), Err(WireError::EmptyFrame)));
    let big = vec![0u8; MAX_FRAME + 1];
    assert!(matches!(
        decode(&big),
        Err(WireError::FrameTooLarge { len, max: MAX_FRAME }) if len == MAX_FRAME + 1
    ));
    // A body that encodes past MAX_FRAME is refused by encode even when each
    // field is within its bound.
    let msg = Message::Refs {
        refs: vec![(s(MAX_STRING), oid(1)); 20_000],
        head: None,
        members: None,
        locks: vec![],
    };
    assert!(matches!(
        encode(&msg),
        Err(WireError::FrameTooLarge { max: MAX_FRAME, .. })
    ));
}

#[test]
fn a_full_size_record_round_trips() {
    let payload: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i * 7 + i / 251) as u8).collect();
    let msg = Message::Record {
        id: oid(8),
        kind: 1,
        codec: 1,
        raw_len: MAX_PAYLOAD as u32,
        payload,
    };
    let frame = encode(&msg).unwrap();
    assert!(frame.len() - 4 <= MAX_FRAME);
    assert!(decode(body(&frame)).unwrap() == msg);
}

#[tokio::test]
async fn messages_stream_and_a_boundary_eof_is_none() {
    bounded(async {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let msgs = vec![
            Message::GetPeers {},
            Message::CommitIds {
                ids: vec![oid(1), oid(2)],
                done: false,
            },
            Message::End {},
        ];
        let sent = msgs.clone();
        let writer = tokio::spawn(async move {
            for m in &sent {
                write_message(&mut a, m).await.unwrap();
            }
            // Dropping `a` ends the stream at a frame boundary.
        });
        for m in &msgs {
            assert_eq!(read_message(&mut b).await.unwrap().as_ref(), Some(m));
        }
        assert!(read_message(&mut b).await.unwrap().is_none());
        writer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_full_size_record_streams() {
    bounded(async {
        let (mut a, mut b) = tokio::io::duplex(64 << 10);
        let payload: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i % 253) as u8).collect();
        let msg = Message::Record {
            id: oid(9),
            kind: 0,
            codec: 0,
            raw_len: MAX_PAYLOAD as u32,
            payload,
        };
        let sent = msg.clone();
        let writer = tokio::spawn(async move { write_message(&mut a, &sent).await.unwrap() });
        let got = read_message(&mut b).await.unwrap().unwrap();
        assert!(got == msg);
        writer.await.unwrap();
        assert!(read_message(&mut b).await.unwrap().is_none());
    })
    .await;
}

/// A huge announced length fails at once: nothing is allocated for it and no body
/// byte is awaited (the writer keeps the stream open and sends nothing more).
#[tokio::test]
async fn an_oversized_length_fails_before_reading_the_body() {
    bounded(async {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&0xFFFF_FFFFu32.to_le_bytes()).await.unwrap();
        let e = read_message(&mut b).await.unwrap_err();
        assert!(matches!(
            e,
            WireError::FrameTooLarge {
                len: 0xFFFF_FFFF,
                max: MAX_FRAME
            }
        ));
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&((MAX_FRAME + 1) as u32).to_le_bytes())
            .await
            .unwrap();
        assert!(matches!(
            read_message(&mut b).await,
            Err(WireError::FrameTooLarge { .. })
        ));
        drop(a);
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&[0; 4]).await.unwrap();
        assert!(matches!(
            read_message(&mut b).await,
            Err(WireError::EmptyFrame)
        ));
        drop(a);
    })
    .await;
}

/// Records take the payload-first read path (`record_tail`):
/// cut anywhere they are truncated, and bad fields ahead of the payload are
/// still refused; a record in another key order takes the generic path.
#[tokio::test]
async fn records_read_straight_into_their_payload_keep_every_check() {
    bounded(async {
        let payload: Vec<u8> = (0..(3 << 20) + 5).map(|i| (i % 249) as u8).collect();
        let msg = Message::Record {
            id: oid(4),
            kind: 0,
            codec: 0,
            raw_len: payload.len() as u32,
            payload,
        };
        let frame = encode(&msg).unwrap();
        let mut r = &frame[..];
        assert!(read_message(&mut r).await.unwrap() == Some(msg.clone()));
        for cut in [5, 40, 84, 85, 200, 1 << 20, (1 << 20) + 1, frame.len() - 1] {
            let (mut a, mut b) = tokio::io::duplex(1 << 16);
            let part = frame[..cut].to_vec();
            let writer = tokio::spawn(async move { a.write_all(&part).await.unwrap() });
            let e = read_message(&mut b).await.unwrap_err();
            assert!(matches!(e, WireError::Truncated), "cut at {cut}: {e}");
            writer.await.unwrap();
        }
        // raw_len over the bound, with the payload in the encoder's place.
        let cbor = |v: &ciborium::Value| {
            let out = cbor_value(v);
            let mut f = (out.len() as u32).to_le_bytes().to_vec();
            f.extend(out);
            f
        };
        let map = |raw_len: u64, id: Vec<u8>, payload_first: bool| {
            let mut e = vec![
                (text("t"), text("Record")),
                (text("id"), ciborium::Value::Bytes(id)),
                (text("kind"), 0.into()),
                (text("codec"), 0.into()),
                (text("raw_len"), raw_len.into()),
            ];
            let p = (text("payload"), ciborium::Value::Bytes(vec![1, 2, 3]));
            if payload_first {
                e.insert(0, p);
            } else {
                e.push(p);
            }
            ciborium::Value::Map(e)
        };
        let mut r = &cbor(&map(MAX_PAYLOAD as u64 + 1, vec![4; 32], false))[..];
        let e = read_message(&mut r).await.unwrap_err();
        assert!(
            matches!(
                e,
                WireError::Bound {
                    field: "raw_len",
                    ..
                }
            ),
            "{e}"
        );
        let mut r = &cbor(&map(3, vec![4; 31], false))[..];
        assert!(read_message(&mut r).await.is_err());
        // Payload first: the generic path, the same message.
        let mut r = &cbor(&map(3, vec![4; 32], true))[..];
        let got = read_message(&mut r).await.unwrap().unwrap();
        assert!(matches!(got, Message::Record { payload, raw_len: 3, .. } if payload == [1, 2, 3]));
    })
    .await;
}

#[tokio::test]
async fn an_eof_inside_a_frame_is_truncated() {
    bounded(async {
        let frame = encode(&Message::Missing { id: oid(3) }).unwrap();
        // Cut inside the prefix, right after it, and inside the body; and a large
        // announced body that stops early (several growth steps in).
        let mut cuts = vec![
            frame[..2].to_vec(),
            frame[..4].to_vec(),
            frame[..20].to_vec(),
        ];
        let mut long = ((READ_STEP * 5) as u32).to_le_bytes().to_vec();
        long.extend(vec![0; READ_STEP * 3 + 17]);
        cuts.push(long);
        for cut in cuts {
            let (mut a, mut b) = tokio::io::duplex(1 << 20);
            let writer = tokio::spawn(async move {
                a.write_all(&cut).await.unwrap();
            });
            let e = read_message(&mut b).await.unwrap_err();
            assert!(matches!(e, WireError::Truncated), "{e}");
            writer.await.unwrap();
        }
        // A reader that is just a byte slice behaves the same.
        let mut r = &frame[..frame.len() - 1];
        assert!(matches!(
            read_message(&mut r).await,
            Err(WireError::Truncated)
        ));
        let mut r = &frame[..];
        assert!(read_message(&mut r).await.unwrap().is_some());
        assert!(read_message(&mut r).await.unwrap().is_none());
    })
    .await;
}
