//! The content-addressed store: everything below version control.

pub mod chunker;
pub mod db;
pub mod id;
pub mod object;
pub mod pack;

pub use id::{IdPrefix, ObjectId, ObjectKind};
