//! Tree-merge rules.
