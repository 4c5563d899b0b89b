//! Exit codes of the CLI (documented in docs/cli.md).

/// Success.
pub const OK: u8 = 0;
/// An error: bad input, no database, a failed migration, a refused command.
pub const ERROR: u8 = 1;
/// Drift found: a modified or out-of-order migration, unknown or duplicate bookkeeping rows, a
/// folder that differs from the compiled one (`verify`), or a schema that differs from what the
/// migrations produce (`mark-applied`, `baseline`). Also `up` refusing because of drift.
pub const DRIFT: u8 = 2;
/// A lint finding that is not allowed (`lint`, `verify --lint`): the same code as drift, as
/// both mean "this must not be deployed as it is".
pub const LINT: u8 = 2;
/// `verify` without `--allow-pending`: migrations are pending, nothing else is wrong.
pub const PENDING: u8 = 3;
/// The command line could not be parsed (sysexits' EX_USAGE; clap's own 2 would read as drift).
pub const USAGE: u8 = 64;
