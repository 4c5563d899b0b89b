//! drizzle-kit's schema snapshots (`meta/NNNN_snapshot.json`, version 7) in a migration folder.
//!
//! drizzle-orm's migrator never reads them, but drizzle-kit diffs its TypeScript schema
//! against the newest one and refuses a folder whose chain (`id` / `prevId`) is broken. A
//! folder imported from the TypeScript app carries them, so app-db keeps the chain valid when
//! it adds a migration there; a folder without snapshots stays without.

mod chain;
// Used by generate's schema-change path; its tests include it with #[path].
mod from_database;
mod shape;
pub mod v9;

pub use chain::{custom_snapshot, has_snapshots, previous_snapshot, write_snapshot};
pub use from_database::snapshot_from_database;
