//! Exit codes of the CLI (documented in the README).

/// Success.
pub const OK: u8 = 0;
/// An error: bad input, no database, a failed migration.
pub const ERROR: u8 = 1;
