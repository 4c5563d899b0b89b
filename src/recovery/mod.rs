//! Recovery of databases migrated out of band, and the destructive `fresh` reset.
//!
//! drizzle-orm offers no way out when a migration was applied by hand (psql) without its
//! bookkeeping row: the next run fails with "relation already exists" (drizzle-orm issue 6191).
//! The seed's manual procedure — check the schema against a staging clone, then insert the
//! rows — is automated here:
//!
//! - [`scratch`]: a throw-away database on which the migrations are replayed;
//! - [`catalog`]: a snapshot of a database's schema read from the system catalogs;
//! - [`diff`]: the readable difference between two snapshots;
//! - [`record`]: `mark-applied` and `baseline`, which write drizzle's rows only when the live
//!   schema equals the replayed one;
//! - [`reset`]: `fresh`, which drops the app's schemas and the bookkeeping table;
//! - [`local`]: whether the server a connection reached runs on this machine (`fresh`'s guard).

pub mod catalog;
pub mod diff;
pub mod local;
pub mod record;
pub mod reset;
pub mod scratch;

pub use catalog::{SchemaObject, SchemaSnapshot};
pub use diff::{Difference, SchemaDiff};
pub use local::ensure_this_machine;
pub use record::{RecordOptions, RecordReport, Recorder};
pub use reset::{ResetReport, reset_schemas};
pub use scratch::{ScratchDatabase, ScratchServer};
