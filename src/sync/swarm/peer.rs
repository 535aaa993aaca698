//! [`PeerSource`]: a QUIC peer as a [`Source`], over the chunk-run request
//! ([`Message::GetChunks`] with one run, answered `Record … End`;
//! `store-format.md` § 15). A peer that offers the capability `have` is asked
//! what it holds ([`Message::GetHave`], again every [`HAVE_REFRESH`]: a partial
//! seed); any other is a full seed ([`Availability::Everything`]). A chunk it then
//! lacks ([`Message::Missing`], or an error frame for a file it does not know) is
//! the claim failing ([`SourceError::Lacks`]). An availability answer that is
//! oversized, contradicts itself or names files not asked about closes the
//! connection (code 2) with the reason, logged.

use crate::store::pack::Codec;
use crate::store::raw::RawRecord;
use crate::store::{ObjectId, ObjectKind};
use crate::sync::wire::{self, FileHave, Message, Run, MAX_HAVE_FILES};

use super::availability::Availability;
use super::have;
use super::picker::WantedRun;
use super::source::{BoxFuture, RecordStream, Source, SourceError};

/// QUIC application error code sent with `STOP_SENDING` when a run is cancelled.
pub const STOP_CANCELLED: u32 = 0;

/// How often a partial seed is asked again what it holds.
pub const HAVE_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// Error codes of [`Message::Error`] that mean "I do not have that file".
const LACKS_CODES: [&str; 2] = ["not-found", "bad-run"];

/// A full seed over one QUIC connection (after the hello).
#[derive(Debug, Clone)]
pub struct PeerSource {
    conn: quinn::Connection,
    name: String,
    /// It offers `have`: ask it what it holds.
    asks_have: bool,
}

impl PeerSource {
    /// The peer named `name` (in reports and errors) on `conn`.
    pub fn new(conn: quinn::Connection, name: impl Into<String>) -> PeerSource {
        PeerSource {
            conn,
            name: name.into(),
            asks_have: false,
        }
    }

    /// Asks the peer what it holds ([`Message::GetHave`]) instead of taking it as
    /// a full seed: for a peer whose welcome offered `have`.
    pub fn asking_have(mut self) -> PeerSource {
        self.asks_have = true;
        self
    }

    /// The peer named `name` on `conn`, asking what it holds when its welcome
    /// offered `have` (`caps`), a full seed otherwise.
    pub fn offered(
        conn: quinn::Connection,
        name: impl Into<String>,
        caps: &[String],
    ) -> PeerSource {
        let src = PeerSource::new(conn, name);
        if caps.iter().any(|c| c == crate::sync::protocol::CAP_HAVE) {
            src.asking_have()
        } else {
            src
        }
    }

    /// Closes the connection for a broken availability answer, logging why.
    fn refuse(&self, reason: String) -> SourceError {
        tracing::warn!(peer = %self.name, "closing the connection: {reason}");
        self.conn.close(
            quinn::VarInt::from_u32(crate::sync::protocol::CLOSE_PROTOCOL),
            reason.as_bytes(),
        );
        SourceError::Gone {
            source_name: self.name.clone(),
            reason,
        }
    }

    /// One [`Message::GetHave`] exchange.
    async fn ask_have(&self, files: &[ObjectId]) -> Result<Vec<FileHave>, SourceError> {
        let msg = Message::GetHave {
            files: files.to_vec(),
        };
        let (mut send, mut recv) = self
            .conn
            .open_bi()
            .await
            .map_err(|e| self.broken(format!("opening a stream: {e}")))?;
        wire::write_message(&mut send, &msg)
            .await
            .map_err(|e| self.broken(format!("sending the request: {e}")))?;
        let _ = send.finish();
        match wire::read_message(&mut recv).await {
            Ok(Some(Message::Have { files })) => Ok(files),
            Ok(Some(other)) => {
                Err(self.refuse(format!("answered GetHave with {}", other.kind_name())))
            }
            Ok(None) => Err(self.broken("the availability answer ended early".into())),
            Err(e @ wire::WireError::Io(_)) => Err(self.broken(e.to_string())),
            Err(e) => Err(self.refuse(format!("bad availability answer: {e}"))),
        }
    }

    fn broken(&self, reason: String) -> SourceError {
        broken(&self.conn, &self.name, reason)
    }
}

/// A stream error: [`SourceError::Gone`] if the connection is closed, else
/// [`SourceError::Failed`].
fn broken(conn: &quinn::Connection, name: &str, reason: String) -> SourceError {
    match conn.close_reason() {
        Some(why) => SourceError::Gone {
            source_name: name.to_string(),
            reason: format!("{reason} ({why})"),
        },
        None => SourceError::Failed {
            source_name: name.to_string(),
            reason,
        },
    }
}

impl Source for PeerSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn availability<'a>(
        &'a self,
        wanted: &'a [WantedRun],
    ) -> BoxFuture<'a, Result<Availability, SourceError>> {
        Box::pin(async move {
            if let Some(why) = self.conn.close_reason() {
                return Err(self.broken(format!("connection closed: {why}")));
            }
            if !self.asks_have {
                return Ok(Availability::Everything);
            }
            // The wanted files, once each, in plan order.
            let mut seen = std::collections::HashSet::new();
            let files: Vec<ObjectId> = wanted
                .iter()
                .map(|w| w.run.file)
                .filter(|f| seen.insert(*f))
                .collect();
            let mut have = Vec::new();
            for batch in files.chunks(MAX_HAVE_FILES) {
                let got = self.ask_have(batch).await?;
                // Checked per batch: a file outside it was not asked about.
                have::availability(&[], batch, got.clone())
                    .map_err(|e| self.refuse(format!("bad availability answer: {e}")))?;
                have.extend(got);
            }
            have::availability(wanted, &files, have)
                .map_err(|e| self.refuse(format!("bad availability answer: {e}")))
        })
    }

    fn refresh(&self) -> Option<std::time::Duration> {
        self.asks_have.then_some(HAVE_REFRESH)
    }

    fn fetch(
        &self,
        want: Run,
        ids: Vec<ObjectId>,
    ) -> BoxFuture<'_, Result<Box<dyn RecordStream>, SourceError>> {
        Box::pin(async move {
            if ids.len() != want.count as usize {
                return Err(SourceError::Failed {
                    source_name: self.name.clone(),
                    reason: format!("{} ids for a run of {} chunks", ids.len(), want.count),
                });
            }
            let msg = Message::GetChunks { runs: vec![want] };
            let (mut send, recv) = self
                .conn
                .open_bi()
                .await
                .map_err(|e| self.broken(format!("opening a stream: {e}")))?;
            wire::write_message(&mut send, &msg)
                .await
                .map_err(|e| self.broken(format!("sending the request: {e}")))?;
            let _ = send.finish();
            let stream: Box<dyn RecordStream> = Box::new(PeerRun {
                conn: self.conn.clone(),
                name: self.name.clone(),
                file: want.file,
                recv,
                ids,
                pos: 0,
                finished: false,
            });
            Ok(stream)
        })
    }
}

/// The answer to one [`Message::GetChunks`] of one run.
struct PeerRun {
    conn: quinn::Connection,
    name: String,
    file: ObjectId,
    recv: quinn::RecvStream,
    /// The chunks expected, in order.
    ids: Vec<ObjectId>,
    /// Records received so far.
    pos: usize,
    finished: bool,
}

impl PeerRun {
    fn bad(&self, id: ObjectId, reason: String) -> SourceError {
        SourceError::BadData {
            source_name: self.name.clone(),
            id,
            reason,
        }
    }

    async fn read(&mut self) -> Result<Option<RawRecord>, SourceError> {
        let msg = match wire::read_message(&mut self.recv).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                return Err(broken(
                    &self.conn,
                    &self.name,
                    "the answer ended early".into(),
                ))
            }
            Err(e) => return Err(broken(&self.conn, &self.name, e.to_string())),
        };
        let Some(&expected) = self.ids.get(self.pos) else {
            return match msg {
                Message::End {} => Ok(None),
                other => Err(SourceError::Failed {
                    source_name: self.name.clone(),
                    reason: format!("sent {} after the chunks", other.kind_name()),
                }),
            };
        };
        match msg {
            Message::Record {
                id,
                kind,
                codec,
                raw_len,
                payload,
            } => {
                if id != expected {
                    return Err(self.bad(expected, format!("sent {id} in its place")));
                }
                if ObjectKind::from_u8(kind) != Some(ObjectKind::Chunk) {
                    return Err(self.bad(id, format!("kind {kind} is not a chunk")));
                }
                let codec = Codec::from_u8(codec)
                    .ok_or_else(|| self.bad(id, format!("unknown codec {codec}")))?;
                let rec = RawRecord {
                    id,
                    kind: ObjectKind::Chunk,
                    codec,
                    raw_len,
                    payload,
                };
                rec.check().map_err(|e| self.bad(id, e.to_string()))?;
                self.pos += 1;
                Ok(Some(rec))
            }
            Message::Missing { id } if id == expected => Err(SourceError::Lacks {
                source_name: self.name.clone(),
                id,
            }),
            Message::Error { code, .. } if LACKS_CODES.contains(&code.as_str()) => {
                Err(SourceError::Lacks {
                    source_name: self.name.clone(),
                    id: self.file,
                })
            }
            Message::Error { code, message } => Err(SourceError::Failed {
                source_name: self.name.clone(),
                reason: format!("refused: {message} ({code})"),
            }),
            other => Err(SourceError::Failed {
                source_name: self.name.clone(),
                reason: format!(
                    "sent {} where chunk {expected} was expected",
                    other.kind_name()
                ),
            }),
        }
    }
}

impl RecordStream for PeerRun {
    fn next_record(&mut self) -> BoxFuture<'_, Result<Option<RawRecord>, SourceError>> {
        Box::pin(async move {
            if self.finished {
                return Ok(None);
            }
            let r = self.read().await;
            if !matches!(r, Ok(Some(_))) {
                self.finished = true;
            }
            r
        })
    }

    fn cancel(mut self: Box<Self>) {
        let _ = self.recv.stop(quinn::VarInt::from_u32(STOP_CANCELLED));
    }
}
