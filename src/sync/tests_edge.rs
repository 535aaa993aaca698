//! More sync tests (being written).
