//! The [`Source`] interface: what the planner needs of anything that can serve
//! chunk runs — a QUIC peer ([`super::peer::PeerSource`]) today, an HTTP mirror
//! (serving runs as byte ranges) later, without a change to the planner.
//!
//! A source is asked two things: what it holds of the wanted runs
//! ([`Source::availability`]), and one run at a time as a stream of records
//! ([`Source::fetch`]). Every record a [`RecordStream`] hands on has been checked
//! to be the next chunk of the run (its id) and to hash to that id; anything else
//! is an error of the stream, never a record. Cancelling is dropping the stream
//! (or [`RecordStream::cancel`], which says so to the source at once).

use std::future::Future;
use std::pin::Pin;

use crate::store::raw::RawRecord;
use crate::store::ObjectId;
use crate::sync::wire::Run;

use super::availability::Availability;
use super::picker::{Failure, WantedRun};

/// A boxed future, so sources of several kinds can sit in one transfer.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Returned by [`Source`] and [`RecordStream`] calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The source does not have chunk `id` (or its file) though it was asked for
    /// it: an availability claim that did not hold.
    #[error("{source_name} lacks {id}")]
    Lacks {
        /// The source's name.
        source_name: String,
        /// The chunk (or file) it lacks.
        id: ObjectId,
    },
    /// The source sent a record that is not the chunk expected or does not hash to
    /// its id. It must not be used again in this transfer.
    #[error("{source_name} sent bad data for {id}: {reason}")]
    BadData {
        /// The source's name.
        source_name: String,
        /// The chunk expected.
        id: ObjectId,
        /// What was wrong.
        reason: String,
    },
    /// The request failed (a broken stream, a refusal, a message out of place);
    /// the source may serve other requests.
    #[error("{source_name}: {reason}")]
    Failed {
        /// The source's name.
        source_name: String,
        /// What happened.
        reason: String,
    },
    /// The source is unusable: its connection is gone.
    #[error("{source_name} is gone: {reason}")]
    Gone {
        /// The source's name.
        source_name: String,
        /// Why.
        reason: String,
    },
}

impl SourceError {
    /// How the picker should take it; `None` for bad data, which is
    /// [`super::Picker::on_bad_data`] instead.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            SourceError::Lacks { .. } => Some(Failure::Lacks),
            SourceError::BadData { .. } => None,
            SourceError::Failed { reason, .. } => Some(Failure::Error(reason.clone())),
            SourceError::Gone { reason, .. } => Some(Failure::Gone(reason.clone())),
        }
    }
}

/// Anything that can serve chunk runs to the planner.
pub trait Source: Send + Sync {
    /// Its name in reports and logs (a peer's name, a mirror's URL).
    fn name(&self) -> &str;

    /// What it holds of `wanted` (the plan, in plan order: run `i` of the answer
    /// is `wanted[i]`). A full seed answers [`Availability::Everything`].
    fn availability<'a>(
        &'a self,
        wanted: &'a [WantedRun],
    ) -> BoxFuture<'a, Result<Availability, SourceError>>;

    /// How often the driver should ask [`Source::availability`] again, for a
    /// source whose holdings grow during the transfer (a partial seed); `None`
    /// (the default): its first answer stands.
    fn refresh(&self) -> Option<std::time::Duration> {
        None
    }

    /// Starts fetching `want`, whose chunks are `ids` in order (`want.count`
    /// of them).
    fn fetch(
        &self,
        want: Run,
        ids: Vec<ObjectId>,
    ) -> BoxFuture<'_, Result<Box<dyn RecordStream>, SourceError>>;
}

/// The records of one run, in order, each verified before it is handed on.
pub trait RecordStream: Send {
    /// The next record, or `None` once the run is complete (and the source said
    /// so). After an error the stream is finished.
    fn next_record(&mut self) -> BoxFuture<'_, Result<Option<RawRecord>, SourceError>>;

    /// Stops the request; the source is told to stop sending. Dropping the stream
    /// stops it too.
    fn cancel(self: Box<Self>);
}
