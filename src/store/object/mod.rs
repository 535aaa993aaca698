//! Structured objects and their canonical CBOR encodings (`store-format.md` § *Objects*).

mod kind;

pub use kind::EntryKind;
