//! Git's pkt-line framing (gitprotocol-common(5)): each packet is four lowercase or
//! uppercase hex digits giving the packet's total length *including* those four
//! bytes, then the payload. `0000` is a flush packet; lengths 1–3 (`0001` delim and
//! `0002` response-end in protocol v2) are not used by the filter protocol and are
//! rejected here. A packet is at most [`MAX_PACKET_LEN`] bytes, so a payload is at
//! most [`MAX_PAYLOAD`] bytes.

use std::io::{self, Read, Write};

/// Largest packet, header included (Git's `LARGE_PACKET_MAX`).
pub const MAX_PACKET_LEN: usize = 65520;

/// Largest payload of one packet.
pub const MAX_PAYLOAD: usize = MAX_PACKET_LEN - 4;

/// One packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0000`.
    Flush,
    /// A data packet's payload.
    Data(Vec<u8>),
}

/// Malformed framing, as an `io::Error` of kind `InvalidData`.
fn malformed(msg: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed pkt-line: {msg}"),
    )
}

/// Reads packets from `r`.
#[derive(Debug)]
pub struct PktReader<R> {
    inner: R,
}

impl<R: Read> PktReader<R> {
    /// Wraps `inner` (buffer it: reads are 4 bytes then one payload).
    pub fn new(inner: R) -> Self {
        PktReader { inner }
    }

    /// Reads the next packet; `Ok(None)` on a clean end of input before a header.
    pub fn read_packet(&mut self) -> io::Result<Option<Packet>> {
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match self.inner.read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => {
                    return Err(malformed(format!(
                        "input ends inside a header after {got} bytes"
                    )))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let len = std::str::from_utf8(&head)
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or_else(|| {
                malformed(format!(
                    "header {:?} is not 4 hex digits",
                    String::from_utf8_lossy(&head)
                ))
            })?;
        match len {
            0 => Ok(Some(Packet::Flush)),
            1..=3 => Err(malformed(format!(
                "special packet {len:04x} is not used here"
            ))),
            _ if len > MAX_PACKET_LEN => Err(malformed(format!(
                "length {len} exceeds the maximum {MAX_PACKET_LEN}"
            ))),
            _ => {
                let mut payload = vec![0u8; len - 4];
                self.inner.read_exact(&mut payload).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        malformed(format!("input ends inside a {len}-byte packet"))
                    } else {
                        e
                    }
                })?;
                Ok(Some(Packet::Data(payload)))
            }
        }
    }

    /// Reads the next packet, treating end of input as an error.
    pub fn expect_packet(&mut self) -> io::Result<Packet> {
        self.read_packet()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "input ended where a packet was expected",
            )
        })
    }

    /// Reads text packets (trailing `\n` stripped, must be UTF-8) up to a flush.
    /// `Ok(None)` when input ends cleanly before the first packet.
    pub fn read_text_list(&mut self) -> io::Result<Option<Vec<String>>> {
        let mut out = Vec::new();
        loop {
            let p = if out.is_empty() {
                match self.read_packet()? {
                    None => return Ok(None),
                    Some(p) => p,
                }
            } else {
                self.expect_packet()?
            };
            match p {
                Packet::Flush => return Ok(Some(out)),
                Packet::Data(d) => {
                    let mut s = String::from_utf8(d)
                        .map_err(|_| malformed("text packet is not UTF-8".into()))?;
                    if s.ends_with('\n') {
                        s.pop();
                    }
                    out.push(s);
                }
            }
        }
    }

    /// A `Read` over the payloads of data packets up to (and consuming) the next flush.
    pub fn data_reader(&mut self) -> DataReader<'_, R> {
        DataReader {
            pkt: self,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

/// Streams data packets' payloads until a flush; from [`PktReader::data_reader`].
/// Holds at most one packet in memory.
#[derive(Debug)]
pub struct DataReader<'a, R> {
    pkt: &'a mut PktReader<R>,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> DataReader<'_, R> {
    /// True once the terminating flush has been read.
    pub fn finished(&self) -> bool {
        self.done
    }

    /// Reads and discards the rest of the stream up to the flush.
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }
}

impl<R: Read> Read for DataReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            match self.pkt.expect_packet()? {
                Packet::Flush => self.done = true,
                Packet::Data(d) => {
                    self.buf = d;
                    self.pos = 0;
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Writes packets to `w`.
#[derive(Debug)]
pub struct PktWriter<W> {
    inner: W,
}

impl<W: Write> PktWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        PktWriter { inner }
    }

    /// Writes one data packet; `payload` must be 1..=[`MAX_PAYLOAD`] bytes.
    pub fn write_data(&mut self, payload: &[u8]) -> io::Result<()> {
        if payload.is_empty() || payload.len() > MAX_PAYLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "pkt-line payload of {} bytes (1..={MAX_PAYLOAD})",
                    payload.len()
                ),
            ));
        }
        write!(self.inner, "{:04x}", payload.len() + 4)?;
        self.inner.write_all(payload)
    }

    /// Writes `line` plus `\n` as a text packet.
    pub fn write_text(&mut self, line: &str) -> io::Result<()> {
        let mut p = Vec::with_capacity(line.len() + 1);
        p.extend_from_slice(line.as_bytes());
        p.push(b'\n');
        self.write_data(&p)
    }

    /// Writes a flush packet and flushes the underlying writer.
    pub fn flush_pkt(&mut self) -> io::Result<()> {
        self.inner.write_all(b"0000")?;
        self.inner.flush()
    }

    /// Writes each line as a text packet, then a flush.
    pub fn write_text_list<S: AsRef<str>>(&mut self, lines: &[S]) -> io::Result<()> {
        for l in lines {
            self.write_text(l.as_ref())?;
        }
        self.flush_pkt()
    }

    /// A `Write` that cuts what it is given into full-size data packets (it does
    /// not write the terminating flush; call [`DataWriter::finish`]).
    pub fn data_writer(&mut self) -> DataWriter<'_, W> {
        DataWriter {
            pkt: self,
            buf: Vec::with_capacity(MAX_PAYLOAD),
        }
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

/// Buffers up to one payload and writes full packets; from [`PktWriter::data_writer`].
#[derive(Debug)]
pub struct DataWriter<'a, W: Write> {
    pkt: &'a mut PktWriter<W>,
    buf: Vec<u8>,
}

impl<W: Write> DataWriter<'_, W> {
    /// Writes what is buffered as a last (short) packet. Does not write a flush.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush_buf()
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.pkt.write_data(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for DataWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(MAX_PAYLOAD - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == MAX_PAYLOAD {
            self.flush_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.pkt.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_data_round_trip_in_full_size_packets() {
        let mut out = Vec::new();
        let mut w = PktWriter::new(&mut out);
        w.write_text_list(&["git-filter-server", "version=2"])
            .unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut dw = w.data_writer();
        for piece in data.chunks(7000) {
            dw.write_all(piece).unwrap();
        }
        dw.finish().unwrap();
        w.flush_pkt().unwrap();
        assert!(out.starts_with(b"0016git-filter-server\n000eversion=2\n0000"));
        // Full packets are exactly the maximum size.
        let first_data = 4 + 18 + 4 + 10 + 4;
        assert_eq!(&out[first_data..first_data + 4], b"fff0");

        let mut r = PktReader::new(&out[..]);
        assert_eq!(
            r.read_text_list().unwrap().unwrap(),
            ["git-filter-server", "version=2"]
        );
        let mut back = Vec::new();
        let mut dr = r.data_reader();
        dr.read_to_end(&mut back).unwrap();
        assert!(dr.finished());
        assert_eq!(back, data);
        assert_eq!(r.read_packet().unwrap(), None);
    }

    #[test]
    fn empty_stream_is_just_a_flush() {
        let mut r = PktReader::new(&b"0000"[..]);
        let mut v = Vec::new();
        r.data_reader().read_to_end(&mut v).unwrap();
        assert!(v.is_empty());
        assert_eq!(r.read_packet().unwrap(), None);
    }

    #[test]
    fn malformed_lengths_are_errors() {
        for (input, want) in [
            (&b"00zz"[..], "not 4 hex"),
            (b"0001", "special packet"),
            (b"0003", "special packet"),
            (b"fff1", "exceeds the maximum"),
            (b"ffff", "exceeds the maximum"),
            (b"000aabc", "ends inside a 10-byte packet"),
            (b"00", "inside a header"),
            (b"-001", "not 4 hex"),
        ] {
            let err = PktReader::new(input).read_packet().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{input:?}");
            assert!(err.to_string().contains(want), "{input:?}: {err}");
        }
        // A data stream cut off before its flush is an error, not a short file.
        let mut r = PktReader::new(&b"0008abcd"[..]);
        let err = r.data_reader().read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(PktWriter::new(Vec::new()).write_data(&[]).is_err());
        assert!(PktWriter::new(Vec::new())
            .write_data(&vec![0; MAX_PAYLOAD + 1])
            .is_err());
        assert!(PktWriter::new(Vec::new())
            .write_data(&vec![0; MAX_PAYLOAD])
            .is_ok());
    }
}
