//! The migration folder compiled into the binary.
//!
//! `build.rs` validates the folder with [`crate::journal`] (the rules are listed on
//! [`journal::validate`](crate::journal::validate())) and generates the list below, so a binary
//! with a broken folder cannot be built. The folder is `migration/migrations/` under the
//! workspace root, or `APP_DB_MIGRATIONS_DIR` (absolute, or relative to the workspace root) at
//! build time.

use std::path::Path;

use crate::journal::{JournalError, split};

/// One migration embedded at build time, in journal order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The journal idx; also the position in [`MIGRATIONS`].
    pub idx: u32,
    /// The file name without `.sql`, e.g. `0003_add_members`.
    pub tag: &'static str,
    /// The journal `when` (epoch milliseconds): what drizzle-orm stores as `created_at` and
    /// compares to decide what is pending.
    pub when: i64,
    /// The journal `breakpoints` flag; informational, statements are split either way.
    pub breakpoints: bool,
    /// False for a file starting with `-- app-db:no-transaction`: it runs outside a
    /// transaction, one statement at a time (for `CREATE INDEX CONCURRENTLY`).
    pub transaction: bool,
    /// The file's text, exactly as stored.
    pub sql: &'static str,
    /// Lowercase hex SHA-256 of the file, computed at build time: drizzle-orm's `hash` column.
    pub hash: &'static str,
}

impl Migration {
    /// The file split on `--> statement-breakpoint` exactly as drizzle-orm splits it, blank
    /// pieces included (see [`split::split_statements`]).
    pub fn pieces(&self) -> Vec<&'static str> {
        split::split_statements(self.sql)
    }

    /// The statements to execute, in order: [`pieces`](Self::pieces) without the blank ones
    /// (only whitespace and comments), which drizzle-orm would send as empty queries.
    pub fn statements(&self) -> impl Iterator<Item = &'static str> + use<> {
        split::statements(self.sql)
    }
}

/// The shape of the generated file: the folder and its migrations.
struct Embedded {
    dir: &'static str,
    migrations: &'static [Migration],
}

const EMBEDDED: Embedded = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Every migration of the embedded folder, in journal order (`MIGRATIONS[i].idx == i`).
///
/// Empty when the journal has no entries.
pub static MIGRATIONS: &[Migration] = EMBEDDED.migrations;

/// The absolute path of the folder that was embedded, as resolved at build time. Run-time
/// checks (`verify`) can reload it with [`journal::load_dir`](crate::journal::load_dir) to
/// detect a folder edited after the build.
pub const MIGRATIONS_DIR: &str = EMBEDDED.dir;

/// The migrations of a folder on disk, read and validated as the build does, as [`Migration`]s
/// (for tools that work on a folder rather than the compiled list: `generate`, `lint --dir`).
///
/// Their texts are leaked (this file is also compiled into the build-check fixture crate, hence
/// the journal's own error type): `Migration` borrows `'static` text (it describes the compiled-in
/// folder), and a command reads one folder once.
pub fn load_folder(dir: &Path) -> Result<Vec<Migration>, JournalError> {
    let loaded = crate::journal::load_dir(dir)?;
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    Ok(loaded
        .migrations
        .into_iter()
        .map(|m| Migration {
            idx: m.idx,
            tag: leak(m.tag),
            when: m.when,
            breakpoints: m.breakpoints,
            transaction: m.transaction,
            sql: leak(m.sql),
            hash: leak(m.hash),
        })
        .collect())
}
