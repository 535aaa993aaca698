//! Placeholder: the locks tables. Filled in by the module's owner.

/// `CREATE TABLE IF NOT EXISTS …` statements for this module's tables (schema v2).
pub(super) const SCHEMA: &str = "";
