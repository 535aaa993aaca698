//! Framing: encoding a message into a length-prefixed frame, decoding one, and
//! reading and writing frames on a stream without trusting the peer's length.

#[allow(unused_imports)]
use super::*;

/// Encodes `msg` as a whole frame: length prefix and body. Fails if a bound is
/// exceeded or the body would be over [`MAX_FRAME`].
pub fn encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    check(msg)?;
    let mut out = Vec::with_capacity(4 + 256 + payload_len(msg));
    out.extend_from_slice(&[0; 4]);
    ciborium::into_writer(msg, &mut out).map_err(|e| WireError::Cbor(clip(&e.to_string())))?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(WireError::FrameTooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    // len <= MAX_FRAME < u32::MAX.
    out[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// The bytes of the frame of a [`Message::Record`] up to its payload: length
/// prefix, CBOR map, and the payload's byte-string header. The whole frame is this
/// followed by the `payload_len` payload bytes, exactly as [`encode`] writes it, so a
/// sender can read a record straight behind it and hand the buffer to the stream
/// without copying the payload. Fails like [`encode`] for a payload over
/// [`MAX_PAYLOAD`] or a `raw_len` over it.
pub fn record_prefix(
    id: ObjectId,
    kind: u8,
    codec: u8,
    raw_len: u32,
    payload_len: usize,
) -> Result<Vec<u8>, WireError> {
    let m = "Record";
    bound(m, "payload", payload_len, MAX_PAYLOAD)?;
    bound(m, "raw_len", raw_len as usize, MAX_PAYLOAD)?;
    let mut out = encode(&Message::Record {
        id,
        kind,
        codec,
        raw_len,
        payload: Vec::new(),
    })?;
    // The payload is the last field; its empty byte string is the last byte (0x40).
    debug_assert_eq!(out.last(), Some(&0x40));
    out.pop();
    let n = payload_len;
    if n < 24 {
        out.push(0x40 | n as u8);
    } else if n < 1 << 8 {
        out.extend_from_slice(&[0x58, n as u8]);
    } else if n < 1 << 16 {
        out.push(0x59);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x5a);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    let len = out.len() - 4 + n;
    check_frame_len(len)?;
    out[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// Decodes one frame body (without its length prefix) and checks every bound.
pub fn decode(frame_body: &[u8]) -> Result<Message, WireError> {
    check_frame_len(frame_body.len())?;
    let t = message_type(frame_body)?;
    let msg = decode_as(&t, frame_body)?;
    check(&msg)?;
    Ok(msg)
}

/// Writes `msg` as one frame and flushes. Not cancel-safe: a frame cut short by a
/// dropped future leaves the stream unusable.
pub async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
) -> Result<(), WireError> {
    let frame = encode(msg)?;
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one frame and decodes it. `Ok(None)`: the stream ended cleanly before the
/// first byte of a frame; an end anywhere inside a frame is [`WireError::Truncated`].
/// The length is checked before anything else is read, and buffers grow only as
/// bytes arrive, to at most the frame length. Not cancel-safe.
///
/// A [`Message::Record`] in the shape [`encode`] writes has its payload read straight
/// into the message's own buffer ([`super::record_tail`]); every other frame is read
/// whole and decoded.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, WireError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        let n = r.read(&mut prefix[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(WireError::Truncated)
            };
        }
        got += n;
    }
    let len = u32::from_le_bytes(prefix) as usize;
    check_frame_len(len)?;
    let mut head = [0u8; HEAD_PEEK];
    let head = &mut head[..len.min(HEAD_PEEK)];
    read_exact(r, head).await?;
    if let Some(tail) = crate::sync::record_tail::record_tail(head, len) {
        return read_record(r, head, tail, len).await.map(Some);
    }
    let mut body = head.to_vec();
    while body.len() < len {
        let start = body.len();
        let step = (len - start).min(start.max(READ_STEP));
        body.reserve_exact(step);
        body.resize(start + step, 0);
        read_exact(r, &mut body[start..]).await?;
    }
    decode(&body).map(Some)
}

/// Bytes of a frame read before choosing how to read the rest: enough for the
/// fields of a [`Message::Record`] ahead of its payload (about 80 bytes).
pub(super) const HEAD_PEEK: usize = 128;

/// The rest of a `Record` frame whose first bytes are `head`: the fields before the
/// payload decoded (with an empty payload in its place), the payload read into a
/// buffer that grows as it arrives, without being zeroed first.
pub(super) async fn read_record<R: AsyncRead + Unpin>(
    r: &mut R,
    head: &[u8],
    tail: crate::sync::record_tail::Tail,
    len: usize,
) -> Result<Message, WireError> {
    use bytes::BufMut;
    let mut fields = head[..tail.header].to_vec();
    fields.push(0x40);
    let mut msg = decode(&fields)?;
    let n = len - tail.start;
    let mut payload = Vec::with_capacity(n.min(RECORD_STEP));
    payload.extend_from_slice(&head[tail.start..]);
    while payload.len() < n {
        let want = n - payload.len();
        if payload.capacity() == payload.len() {
            payload.reserve_exact(want.min(payload.len().max(RECORD_STEP)));
        }
        let room = want.min(payload.capacity() - payload.len());
        if r.read_buf(&mut (&mut payload).limit(room)).await? == 0 {
            return Err(WireError::Truncated);
        }
    }
    match &mut msg {
        Message::Record { payload: p, .. } => *p = payload,
        other => {
            return Err(WireError::Cbor(format!(
                "a Record frame decoded as {}",
                other.kind_name()
            )))
        }
    }
    check(&msg)?;
    Ok(msg)
}

/// A record payload's buffer is first given this much room (1 MiB, four times the
/// largest default chunk), then doubles as bytes arrive.
pub(super) const RECORD_STEP: usize = 1 << 20;

pub(super) async fn read_exact<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
) -> Result<(), WireError> {
    r.read_exact(buf).await.map(|_| ()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            WireError::Truncated
        } else {
            WireError::Io(e)
        }
    })
}

pub(super) fn check_frame_len(len: usize) -> Result<(), WireError> {
    if len == 0 {
        return Err(WireError::EmptyFrame);
    }
    if len > MAX_FRAME {
        return Err(WireError::FrameTooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    Ok(())
}

pub(super) fn payload_len(msg: &Message) -> usize {
    match msg {
        Message::Record { payload, .. } => payload.len(),
        _ => 0,
    }
}

/// Clips peer-influenced text for an error message, on a char boundary.
pub(super) fn clip(s: &str) -> String {
    if s.len() <= MAX_ERROR_TEXT {
        return s.to_string();
    }
    let mut end = MAX_ERROR_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
