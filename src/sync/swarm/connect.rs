//! Extra sources of a fetch: named by hand (`--peer KEY@HOST:PORT`, repeatable)
//! or learnt without a tracker — the first peer's peer exchange, configured
//! addresses (`gadn peer addr`), addresses heard on the LAN (the `peers` rows) —
//! capped by `--max-sources N` ([`DEFAULT_MAX_SOURCES`] when not given). All are
//! dialled at once and greeted for the repository being fetched, one
//! [`PeerSource`] each. A peer that cannot be reached still becomes a source, one
//! whose availability fails, so the transfer report says why it took no part
//! (`dropped`), and the fetch goes on without it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::identity::PublicKey;
use crate::sync::client;
use crate::sync::remote;
use crate::sync::transport::Endpoint;
use crate::sync::wire::PeerInfo;

use super::availability::Availability;
use super::picker::WantedRun;
use super::source::{BoxFuture, RecordStream, Source, SourceError};
use super::PeerSource;

/// How long connecting and saying hello to one extra peer may take. The extra
/// peers are dialled concurrently, so this bounds them all together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most sources a fetch uses when `--max-sources` is not given, the first peer
/// included: enough to add up several uplinks, few enough that the connections
/// and the availability questions stay cheap.
pub const DEFAULT_MAX_SOURCES: usize = 8;

/// Most addresses tried for one learnt peer.
pub const MAX_ADDRS_PER_PEER: usize = 4;

/// A peer to dial as an extra source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its name in reports (a member's name, or `KEY-SHORT@ADDR`).
    pub name: String,
    /// Its key, pinned on connect.
    pub key: PublicKey,
    /// Addresses to try in order (`HOST:PORT`).
    pub addrs: Vec<String>,
}

/// One entry of the list to dial: a candidate, or a `--peer` that does not parse
/// (it is reported as an unreachable source, never an error of the fetch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dial {
    /// A peer to connect to.
    Peer(Candidate),
    /// A spec that names no peer, with the reason.
    Bad {
        /// The spec as given.
        spec: String,
        /// Why it names no peer.
        reason: String,
    },
}

impl Dial {
    fn key(&self) -> Option<PublicKey> {
        match self {
            Dial::Peer(c) => Some(c.key),
            Dial::Bad { .. } => None,
        }
    }
}

/// The extra peers of `specs` to use when at most `max_sources` sources (the main
/// peer included) are wanted: the first `max_sources - 1` (none for 0 or 1).
pub fn capped(specs: &[String], max_sources: Option<usize>) -> &[String] {
    match max_sources {
        Some(n) => &specs[..specs.len().min(n.saturating_sub(1))],
        None => specs,
    }
}

/// The `--peer` specs as dial entries, named `KEY-SHORT@HOST:PORT`.
pub fn named(specs: &[String]) -> Vec<Dial> {
    specs
        .iter()
        .map(|spec| match remote::parse_key_at(spec) {
            Ok((key, addr)) => Dial::Peer(Candidate {
                name: format!("{}@{addr}", key.short()),
                key,
                addrs: vec![addr],
            }),
            Err(e) => Dial::Bad {
                spec: spec.clone(),
                reason: e.to_string(),
            },
        })
        .collect()
}

/// The peers of a peer-exchange answer as candidates, named `KEY-SHORT@ADDR`,
/// each with at most [`MAX_ADDRS_PER_PEER`] addresses that parse as socket
/// addresses (peers with none are left out).
pub fn from_exchange(peers: &[PeerInfo]) -> Vec<Candidate> {
    peers
        .iter()
        .filter_map(|p| {
            let key = PublicKey(p.key);
            let addrs: Vec<String> = p
                .addrs
                .iter()
                .filter(|a| a.parse::<std::net::SocketAddr>().is_ok())
                .take(MAX_ADDRS_PER_PEER)
                .cloned()
                .collect();
            let first = addrs.first()?.clone();
            Some(Candidate {
                name: format!("{}@{first}", key.short()),
                key,
                addrs,
            })
        })
        .collect()
}

/// What to dial: the hand-named `specs` first, then the `learnt` candidates, each
/// key once and none of `exclude` (this machine, the first peer), at most
/// `max_sources - 1` entries (the first peer is a source too; `None`:
/// [`DEFAULT_MAX_SOURCES`]).
pub fn plan(
    specs: &[String],
    learnt: Vec<Candidate>,
    exclude: &[PublicKey],
    max_sources: Option<usize>,
) -> Vec<Dial> {
    let cap = max_sources.unwrap_or(DEFAULT_MAX_SOURCES).saturating_sub(1);
    let mut out: Vec<Dial> = Vec::new();
    let seen = |out: &[Dial], k: &PublicKey| out.iter().any(|d| d.key().as_ref() == Some(k));
    for d in named(specs)
        .into_iter()
        .chain(learnt.into_iter().map(Dial::Peer))
    {
        if out.len() >= cap {
            break;
        }
        if let Some(k) = d.key() {
            if exclude.contains(&k) || seen(&out, &k) {
                continue;
            }
        }
        out.push(d);
    }
    out
}

/// Connects through `endpoint` to each `KEY@HOST:PORT` of `specs` (pinning KEY)
/// and says hello for repository `repo`, all at once, within [`CONNECT_TIMEOUT`].
/// Each becomes a source named `KEY-SHORT@HOST:PORT`.
pub async fn peer_sources(
    endpoint: &Endpoint,
    specs: &[String],
    repo: &str,
) -> Vec<Arc<dyn Source>> {
    dial(endpoint, named(specs), repo).await
}

/// Connects through `endpoint` to every entry of `plan` at once (pinning each
/// key, trying its addresses in order) and says hello for repository `repo`,
/// within [`CONNECT_TIMEOUT`] in all. One source per entry, in order; one that
/// could not be reached (or does not parse) is an [`Unreachable`] source.
pub async fn dial(endpoint: &Endpoint, plan: Vec<Dial>, repo: &str) -> Vec<Arc<dyn Source>> {
    let one = |d: Dial| async move {
        let c = match d {
            Dial::Peer(c) => c,
            Dial::Bad { spec, reason } => return Err((spec, reason)),
        };
        let addrs = remote::socket_addrs(&c.addrs);
        let name = c.name.clone();
        let reach = async {
            let conn = client::connect(endpoint, c.key, &addrs).await?;
            let welcome = client::hello(&conn, &name, Some(repo.to_string()), Vec::new()).await?;
            Ok::<_, crate::sync::SyncError>(PeerSource::offered(
                conn.inner.clone(),
                name.clone(),
                &welcome.caps,
            ))
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, reach).await {
            Ok(Ok(src)) => Ok(src),
            Ok(Err(e)) => Err((c.name, e.to_string())),
            Err(_) => Err((
                c.name,
                format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            )),
        }
    };
    let reached = join_all(plan.into_iter().map(one).collect()).await;
    reached
        .into_iter()
        .map(|r| -> Arc<dyn Source> {
            match r {
                Ok(src) => Arc::new(src),
                Err((name, reason)) => {
                    tracing::warn!(peer = %name, "extra source unreachable: {reason}");
                    Arc::new(Unreachable { name, reason })
                }
            }
        })
        .collect()
}

/// Runs `futs` concurrently on the current task; their outputs in order.
pub async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("poll_fn returned only once every future was ready"))
        .collect()
}

/// A source that could not be reached: its availability is the error.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// Its name.
    pub name: String,
    /// Why it could not be reached.
    pub reason: String,
}

impl Source for Unreachable {
    fn name(&self) -> &str {
        &self.name
    }

    fn availability<'a>(
        &'a self,
        _wanted: &'a [WantedRun],
    ) -> BoxFuture<'a, Result<Availability, SourceError>> {
        Box::pin(async move {
            Err(SourceError::Gone {
                source_name: self.name.clone(),
                reason: format!("unreachable: {}", self.reason),
            })
        })
    }

    fn fetch(
        &self,
        _want: crate::sync::wire::Run,
        _ids: Vec<crate::store::ObjectId>,
    ) -> BoxFuture<'_, Result<Box<dyn RecordStream>, SourceError>> {
        Box::pin(async move {
            Err(SourceError::Gone {
                source_name: self.name.clone(),
                reason: format!("unreachable: {}", self.reason),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> PublicKey {
        crate::identity::MachineKey::from_seed([n; 32]).public()
    }

    fn cand(n: u8) -> Candidate {
        Candidate {
            name: format!("p{n}"),
            key: k(n),
            addrs: vec![format!("127.0.0.1:{n}")],
        }
    }

    #[test]
    fn the_plan_puts_named_peers_first_skips_excluded_and_repeated_keys_and_caps() {
        let spec = format!("{}@127.0.0.1:9", k(5).to_text());
        let learnt = vec![cand(1), cand(2), cand(5), cand(2), cand(3), cand(4)];
        let got = plan(&[spec, "bogus".into()], learnt.clone(), &[k(1)], Some(4));
        let keys: Vec<Option<PublicKey>> = got.iter().map(Dial::key).collect();
        assert_eq!(keys, vec![Some(k(5)), None, Some(k(2))]);
        // No cap given: the default; a cap of 1 or 0: the first peer alone.
        let many: Vec<Candidate> = (10..40).map(cand).collect();
        assert_eq!(
            plan(&[], many.clone(), &[], None).len(),
            DEFAULT_MAX_SOURCES - 1
        );
        assert!(plan(&[], many.clone(), &[], Some(1)).is_empty());
        assert!(plan(&[], many, &[], Some(0)).is_empty());
    }

    #[test]
    fn exchanged_peers_keep_only_socket_addresses() {
        let info = |n: u8, addrs: &[&str]| PeerInfo {
            key: k(n).0,
            addrs: addrs.iter().map(|a| a.to_string()).collect(),
            last_seen: 0,
        };
        let got = from_exchange(&[
            info(1, &["host.example:5", "127.0.0.1:5"]),
            info(2, &["nowhere"]),
            info(
                3,
                &[
                    "127.0.0.1:1",
                    "127.0.0.1:2",
                    "127.0.0.1:3",
                    "127.0.0.1:4",
                    "127.0.0.1:5",
                ],
            ),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].addrs, vec!["127.0.0.1:5".to_string()]);
        assert_eq!(got[0].name, format!("{}@127.0.0.1:5", k(1).short()));
        assert_eq!(got[1].addrs.len(), MAX_ADDRS_PER_PEER);
    }
}
