//! Extra sources named by hand (`--peer KEY@HOST:PORT`, repeatable; `--max-sources
//! N`): connected and greeted for the repository being fetched, one
//! [`PeerSource`] each. A peer that cannot be reached still becomes a source, one
//! whose availability fails, so the transfer report says why it took no part.

use std::sync::Arc;
use std::time::Duration;

use crate::sync::client;
use crate::sync::protocol::CAP_HAVE;
use crate::sync::remote;
use crate::sync::transport::Endpoint;

use super::availability::Availability;
use super::picker::WantedRun;
use super::source::{BoxFuture, RecordStream, Source, SourceError};
use super::PeerSource;

/// How long connecting and saying hello to one extra peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The extra peers of `specs` to use when at most `max_sources` sources (the main
/// peer included) are wanted: the first `max_sources - 1` (none for 0 or 1).
pub fn capped(specs: &[String], max_sources: Option<usize>) -> &[String] {
    match max_sources {
        Some(n) => &specs[..specs.len().min(n.saturating_sub(1))],
        None => specs,
    }
}

/// Connects through `endpoint` to each `KEY@HOST:PORT` of `specs` (pinning KEY)
/// and says hello for repository `repo`, one at a time, each within
/// [`CONNECT_TIMEOUT`]. Each becomes a source named `KEY-SHORT@HOST:PORT`.
pub async fn peer_sources(
    endpoint: &Endpoint,
    specs: &[String],
    repo: &str,
) -> Vec<Arc<dyn Source>> {
    let mut out: Vec<Arc<dyn Source>> = Vec::new();
    for spec in specs {
        let (name, reached) = match remote::parse_key_at(spec) {
            Ok((key, addr)) => {
                let name = format!("{}@{addr}", key.short());
                let addrs = remote::socket_addrs(std::slice::from_ref(&addr));
                let dial = async {
                    let conn = client::connect(endpoint, key, &addrs).await?;
                    let welcome =
                        client::hello(&conn, &name, Some(repo.to_string()), Vec::new()).await?;
                    let have = welcome.caps.iter().any(|c| c == CAP_HAVE);
                    Ok::<_, crate::sync::SyncError>((conn, have))
                };
                let reached = match tokio::time::timeout(CONNECT_TIMEOUT, dial).await {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
                };
                (name, reached)
            }
            Err(e) => (spec.clone(), Err(e.to_string())),
        };
        match reached {
            Ok((conn, have)) => {
                let src = PeerSource::new(conn.inner.clone(), name);
                out.push(Arc::new(if have { src.asking_have() } else { src }))
            }
            Err(reason) => {
                tracing::warn!(peer = %name, "extra source unreachable: {reason}");
                out.push(Arc::new(Unreachable { name, reason }));
            }
        }
    }
    out
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
