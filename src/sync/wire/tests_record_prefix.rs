use super::*;

#[test]
fn the_prefix_and_the_payload_are_the_encoded_frame() {
    let id = ObjectId::of_chunk(b"x");
    for n in [
        0usize,
        1,
        23,
        24,
        255,
        256,
        65_535,
        65_536,
        1 << 20,
        MAX_PAYLOAD,
    ] {
        let payload = vec![7u8; n];
        let mut framed = record_prefix(id, 0, 1, n as u32, n).unwrap();
        framed.extend_from_slice(&payload);
        let encoded = encode(&Message::Record {
            id,
            kind: 0,
            codec: 1,
            raw_len: n as u32,
            payload,
        })
        .unwrap();
        assert_eq!(framed, encoded, "payload of {n} bytes");
    }
    assert!(record_prefix(id, 0, 0, 0, MAX_PAYLOAD + 1).is_err());
    assert!(record_prefix(id, 0, 0, MAX_PAYLOAD as u32 + 1, 0).is_err());
}
