//! Decoding: first the type name, then the body as that type's field struct.

#[allow(unused_imports)]
use super::*;

/// Deserializes `body` as `T` with the recursion limit; the body must be exactly one
/// CBOR item.
pub(super) fn cbor<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    let mut rest = body;
    let value: T = ciborium::de::from_reader_with_recursion_limit(&mut rest, RECURSION_LIMIT)
        .map_err(|e| WireError::Cbor(clip(&e.to_string())))?;
    if !rest.is_empty() {
        return Err(WireError::Cbor(format!(
            "{} trailing bytes after the message",
            rest.len()
        )));
    }
    Ok(value)
}

/// Finds the `"t"` key of a message map.
struct V;
impl<'de> Visitor<'de> for V {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "t" {
                return map.next_value::<String>().map(Some);
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(None)
    }
}
/// The type key, read through [`V`].
struct Top(Option<String>);
impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(V).map(Top)
    }
}

/// Reads the `"t"` value of the top-level map (wherever the key stands; encoders
/// write it first, so usually nothing else is read).
pub(super) fn message_type(body: &[u8]) -> Result<String, WireError> {
    // The rest of the body is not read here; `decode_as` reads all of it.
    let Top(t) = ciborium::de::from_reader_with_recursion_limit(body, RECURSION_LIMIT)
        .map_err(|e| WireError::Cbor(clip(&e.to_string())))?;
    t.ok_or_else(|| WireError::Cbor("message has no \"t\" key".into()))
}

pub(super) fn decode_as(t: &str, body: &[u8]) -> Result<Message, WireError> {
    use fields as f;
    Ok(match t {
        "Hello" => {
            let m = "Hello";
            let b: f::Hello = cbor(body)?;
            Message::Hello {
                versions: b.versions.take(m, "versions")?,
                repo: b.repo,
                caps: b.caps.take(m, "caps")?,
                listen: b.listen.take(m, "listen")?,
            }
        }
        "ListRefs" => {
            cbor::<f::Empty>(body)?;
            Message::ListRefs {}
        }
        "Commits" => {
            let m = "Commits";
            let b: f::Commits = cbor(body)?;
            Message::Commits {
                wants: ids(b.wants.take(m, "wants")?)?,
                haves: ids(b.haves.take(m, "haves")?)?,
                limit: b.limit,
            }
        }
        "GetObjects" => {
            let b: f::Ids = cbor(body)?;
            Message::GetObjects {
                ids: ids(b.ids.take("GetObjects", "ids")?)?,
            }
        }
        "GetPreviews" => {
            let b: f::Ids = cbor(body)?;
            Message::GetPreviews {
                ids: ids(b.ids.take("GetPreviews", "ids")?)?,
            }
        }
        "Previews" => {
            let b: f::Ids = cbor(body)?;
            Message::Previews {
                ids: ids(b.ids.take("Previews", "ids")?)?,
            }
        }
        "GetChunks" => {
            let b: f::GetChunks = cbor(body)?;
            let runs = b.runs.take("GetChunks", "runs")?;
            let runs = runs
                .into_iter()
                .map(|r| {
                    Ok(Run {
                        file: r.file.get()?,
                        start: r.start,
                        count: r.count,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::GetChunks { runs }
        }
        "Push" => {
            let b: f::Push = cbor(body)?;
            let updates = b.updates.take("Push", "updates")?;
            let updates = updates
                .into_iter()
                .map(|u| {
                    Ok(RefUpdate {
                        name: u.name,
                        old: u.old.map(RawId::get).transpose()?,
                        new: u.new.get()?,
                        force: u.force,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::Push { updates }
        }
        "GetPeers" => {
            cbor::<f::Empty>(body)?;
            Message::GetPeers {}
        }
        "GetHave" => {
            let b: f::GetHave = cbor(body)?;
            Message::GetHave {
                files: ids(b.files.take("GetHave", "files")?)?,
            }
        }
        "Have" => {
            let b: f::Have = cbor(body)?;
            let files = b.files.take("Have", "files")?;
            let files = files
                .into_iter()
                .map(|f| {
                    Ok(FileHave {
                        file: f.file.get()?,
                        chunks: f.chunks,
                        held: f
                            .held
                            .take("Have", "files[].held")?
                            .into_iter()
                            .map(|s| Span {
                                start: s.start,
                                count: s.count,
                            })
                            .collect(),
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::Have { files }
        }
        "Welcome" => {
            let m = "Welcome";
            let b: f::Welcome = cbor(body)?;
            Message::Welcome {
                version: b.version,
                repo: b.repo,
                caps: b.caps.take(m, "caps")?,
                listen: b.listen.take(m, "listen")?,
                chunking: b.chunking,
            }
        }
        "Refs" => {
            let m = "Refs";
            let b: f::Refs = cbor(body)?;
            let refs = b.refs.take(m, "refs")?;
            Message::Refs {
                refs: refs
                    .into_iter()
                    .map(|Pair(name, id)| Ok((name, id.get()?)))
                    .collect::<Result<_, WireError>>()?,
                head: b.head,
                members: b.members.map(RawId::get).transpose()?,
                locks: ids(b.locks.take(m, "locks")?)?,
            }
        }
        "CommitIds" => {
            let b: f::CommitIds = cbor(body)?;
            Message::CommitIds {
                ids: ids(b.ids.take("CommitIds", "ids")?)?,
                done: b.done,
            }
        }
        "Record" => {
            let b: f::Record = cbor(body)?;
            Message::Record {
                id: b.id.get()?,
                kind: b.kind,
                codec: b.codec,
                raw_len: b.raw_len,
                payload: b.payload.0,
            }
        }
        "Missing" => {
            let b: f::Missing = cbor(body)?;
            Message::Missing { id: b.id.get()? }
        }
        "Damaged" => {
            let b: f::Damaged = cbor(body)?;
            Message::Damaged {
                id: b.id.get()?,
                reason: b.reason,
            }
        }
        "End" => {
            cbor::<f::Empty>(body)?;
            Message::End {}
        }
        "PushResult" => {
            let b: f::PushResult = cbor(body)?;
            let results = b.results.take("PushResult", "results")?;
            Message::PushResult {
                results: results.into_iter().map(|Pair(n, r)| (n, r)).collect(),
            }
        }
        "Peers" => {
            let m = "Peers";
            let b: f::Peers = cbor(body)?;
            let peers = b.peers.take(m, "peers")?;
            let peers = peers
                .into_iter()
                .map(|p| {
                    Ok(PeerInfo {
                        key: *p.key.get()?.as_bytes(),
                        addrs: p.addrs.take(m, "peers[].addrs")?,
                        last_seen: p.last_seen,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::Peers { peers }
        }
        "Error" => {
            let b: f::Error = cbor(body)?;
            Message::Error {
                code: b.code,
                message: b.message,
            }
        }
        other => return Err(WireError::UnknownType(clip(other))),
    })
}

pub(super) fn ids(raw: Vec<RawId>) -> Result<Vec<ObjectId>, WireError> {
    raw.into_iter().map(RawId::get).collect()
}

/// The fields of each message type as decoded: lists are [`List`]s (bounded while
/// decoding), ids are [`RawId`]s (a wrong length is reported, not a CBOR error).
/// Keys not named here, `"t"` included, are skipped.
pub(super) mod fields {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Empty {}

    #[derive(Deserialize)]
    pub(super) struct Hello {
        pub versions: List<u32, MAX_VERSIONS>,
        pub repo: Option<String>,
        pub caps: List<String, MAX_CAPS>,
        pub listen: List<String, MAX_ADDRS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Commits {
        pub wants: List<RawId, MAX_IDS>,
        pub haves: List<RawId, MAX_IDS>,
        pub limit: u32,
    }

    #[derive(Deserialize)]
    pub(super) struct Ids {
        pub ids: List<RawId, MAX_IDS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Run {
        pub file: RawId,
        pub start: u64,
        pub count: u32,
    }

    #[derive(Deserialize)]
    pub(super) struct GetChunks {
        pub runs: List<Run, MAX_RUNS>,
    }

    #[derive(Deserialize)]
    pub(super) struct GetHave {
        pub files: List<RawId, MAX_HAVE_FILES>,
    }

    #[derive(Deserialize)]
    pub(super) struct Span {
        pub start: u64,
        pub count: u32,
    }

    #[derive(Deserialize)]
    pub(super) struct FileHave {
        pub file: RawId,
        pub chunks: u64,
        pub held: List<Span, MAX_HAVE_SPANS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Have {
        pub files: List<FileHave, MAX_HAVE_FILES>,
    }

    #[derive(Deserialize)]
    pub(super) struct RefUpdate {
        pub name: String,
        pub old: Option<RawId>,
        pub new: RawId,
        pub force: bool,
    }

    #[derive(Deserialize)]
    pub(super) struct Push {
        pub updates: List<RefUpdate, MAX_REFS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Welcome {
        pub version: u32,
        pub repo: String,
        pub caps: List<String, MAX_CAPS>,
        pub listen: List<String, MAX_ADDRS>,
        #[serde(default)]
        pub chunking: Option<(u32, u32, u32)>,
    }

    #[derive(Deserialize)]
    pub(super) struct Refs {
        pub refs: List<Pair<String, RawId>, MAX_REFS>,
        pub head: Option<String>,
        pub members: Option<RawId>,
        pub locks: List<RawId, MAX_IDS>,
    }

    #[derive(Deserialize)]
    pub(super) struct CommitIds {
        pub ids: List<RawId, MAX_IDS>,
        pub done: bool,
    }

    #[derive(Deserialize)]
    pub(super) struct Record {
        pub id: RawId,
        pub kind: u8,
        pub codec: u8,
        pub raw_len: u32,
        pub payload: Bytes,
    }

    #[derive(Deserialize)]
    pub(super) struct Missing {
        pub id: RawId,
    }

    #[derive(Deserialize)]
    pub(super) struct Damaged {
        pub id: RawId,
        pub reason: String,
    }

    #[derive(Deserialize)]
    pub(super) struct PushResult {
        pub results: List<Pair<String, Option<String>>, MAX_REFS>,
    }

    #[derive(Deserialize)]
    pub(super) struct PeerInfo {
        pub key: RawId,
        pub addrs: List<String, MAX_ADDRS>,
        pub last_seen: u64,
    }

    #[derive(Deserialize)]
    pub(super) struct Peers {
        pub peers: List<PeerInfo, MAX_PEERS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Error {
        pub code: String,
        pub message: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_is_not_a_map_or_has_no_type_is_refused() {
        // ciborium names the expected type itself; serde's own deserializers ask
        // the visitor, which says what a message is.
        let e = V
            .visit_u64::<serde::de::value::Error>(7)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a message map"), "{e}");
        let mut int = Vec::new();
        ciborium::ser::into_writer(&7u8, &mut int).unwrap();
        assert!(message_type(&int).is_err());
        let mut untyped = Vec::new();
        let map = std::collections::BTreeMap::from([("x", 1u8)]);
        ciborium::ser::into_writer(&map, &mut untyped).unwrap();
        let e = message_type(&untyped).unwrap_err().to_string();
        assert!(e.contains("no \"t\" key"), "{e}");
    }
}
