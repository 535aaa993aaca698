//! The thread pool for per-chunk work inside pipelined streams: hashing and
//! compressing in [`ObjectWriter::ingest`](super::ObjectWriter::ingest), decoding and
//! verifying in [`Store::write_file`](super::Store::write_file).
//!
//! Those functions run their stages on threads of their own and block the calling
//! thread on channels between the stages. Callers are often workers of rayon's
//! global pool (files checked out or previewed in parallel); if the stages queued
//! their parallel work on that same pool while every worker sat blocked in such a
//! call, nothing would run it. Jobs on this pool never block, so it cannot be
//! starved that way.

/// The chunk pool (one thread per core, made on first use); `None` if its threads
/// cannot be made, and callers then work sequentially.
pub(crate) fn chunk_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("gadn-chunk-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}
