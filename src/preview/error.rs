//! Why a preview could not be made.

use thiserror::Error;

/// Returned by generators and by the preview runner. Every variant is recorded in
/// the preview object as a failure with its message, so a teammate sees *why* an
/// asset has no thumbnail; none of them is fatal to the process.
#[derive(Debug, Error)]
pub enum PreviewError {
    /// The file ends before the format says it should.
    #[error("truncated {format} file: {detail}")]
    Truncated {
        /// Format being read (`png`, `dds`, `blend`…).
        format: &'static str,
        /// What was missing, with offsets or counts.
        detail: String,
    },
    /// The bytes break the format's rules.
    #[error("corrupt {format} file: {detail}")]
    Corrupt {
        /// Format being read.
        format: &'static str,
        /// The rule that broke.
        detail: String,
    },
    /// A valid file using a feature this generator does not read.
    #[error("unsupported {format} feature: {detail}")]
    Unsupported {
        /// Format being read.
        format: &'static str,
        /// The feature.
        detail: String,
    },
    /// Decoding would need more memory or input than the limits allow.
    #[error("too large to preview: {detail}")]
    TooLarge {
        /// What exceeded which limit.
        detail: String,
    },
    /// A byte range of a partially present file is not in the store.
    #[error("bytes {offset}..{end} are not present locally")]
    NotPresent {
        /// First missing byte.
        offset: u64,
        /// End of the range asked for.
        end: u64,
    },
    /// The generator ran past its time limit and was abandoned.
    #[error("timed out after {secs} s")]
    TimedOut {
        /// The limit, in seconds.
        secs: u64,
    },
    /// The generator (or a decoding library under it) panicked.
    #[error("generator panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// An external tool failed or is missing.
    #[error("external tool {tool}: {detail}")]
    External {
        /// The program configured.
        tool: String,
        /// What went wrong: exit status, stderr tail, missing output.
        detail: String,
    },
    /// A preview setting in the config is malformed.
    #[error("config {key} = {value:?}: {reason}")]
    Config {
        /// The config key.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file's name claims a format its bytes are not (see `preview::claim`).
    #[error("{}", misnamed(ext, what, found))]
    Misnamed {
        /// The extension, lower case, no dot.
        ext: String,
        /// The format it claims: `a DDS file`.
        what: &'static str,
        /// What the bytes are instead.
        found: Found,
    },
    /// Reading the content from the store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Local I/O (temporary files, output files).
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl PreviewError {
    /// A [`PreviewError::Corrupt`] with a formatted detail.
    pub fn corrupt(format: &'static str, detail: impl Into<String>) -> Self {
        PreviewError::Corrupt {
            format,
            detail: detail.into(),
        }
    }

    /// A [`PreviewError::Truncated`] with a formatted detail.
    pub fn truncated(format: &'static str, detail: impl Into<String>) -> Self {
        PreviewError::Truncated {
            format,
            detail: detail.into(),
        }
    }

    /// A [`PreviewError::Unsupported`] with a formatted detail.
    pub fn unsupported(format: &'static str, detail: impl Into<String>) -> Self {
        PreviewError::Unsupported {
            format,
            detail: detail.into(),
        }
    }

    /// A [`PreviewError::TooLarge`] with a formatted detail.
    pub fn too_large(detail: impl Into<String>) -> Self {
        PreviewError::TooLarge {
            detail: detail.into(),
        }
    }

    /// Whether the failure only means "not enough of the file is here yet", so a
    /// later attempt with more content may succeed (such failures are not recorded).
    pub fn is_not_present(&self) -> bool {
        matches!(self, PreviewError::NotPresent { .. })
    }
}

/// The message of [`PreviewError::Misnamed`]: what the name claims and what the
/// bytes are.
fn misnamed(ext: &str, what: &str, found: &Found) -> String {
    match found {
        Found::Empty => format!("empty file named .{ext}"),
        Found::Lacks(lacks) => format!("named .{ext} but the bytes are not {what} ({lacks})"),
        Found::Other { lacks, kind } => {
            format!("named .{ext} but the bytes are not {what} ({lacks}; they are {kind})")
        }
    }
}

/// What a misnamed file's bytes are instead ([`PreviewError::Misnamed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No bytes at all.
    Empty,
    /// Bytes without the format's signature: what they lack.
    Lacks(&'static str),
    /// Bytes of another known format.
    Other {
        /// What they lack.
        lacks: &'static str,
        /// The type sniffed from them: `png`, `zip`…
        kind: String,
    },
}
