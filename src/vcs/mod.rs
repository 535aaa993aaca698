//! Version control over the store.
