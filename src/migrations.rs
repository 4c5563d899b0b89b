//! The migration folder compiled into the binary.
//!
//! `build.rs` validates the folder with [`crate::journal`] (the rules are listed on
//! [`journal::validate`](crate::journal::validate()) for drizzle-kit 0.x's journal layout and on
//! [`journal::layout_v1::validate`](crate::journal::layout_v1::validate) for drizzle-kit 1.0's
//! folder layout) and generates the list below, so a binary with a broken folder cannot be
//! built. The folder is `migration/migrations/` under the
//! workspace root, or `APP_DB_MIGRATIONS_DIR` (absolute, or relative to the workspace root) at
//! build time.

use std::path::Path;

pub use crate::journal::Layout;
use crate::journal::{JournalError, split};

/// One migration embedded at build time, in the order drizzle-orm applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The position in [`MIGRATIONS`] (the journal idx in a journal folder).
    pub idx: u32,
    /// What app-db calls it (`status`, `mark-applied <tag>`): the file name without `.sql`,
    /// e.g. `0003_add_members`, or the folder name in a 1.0 folder.
    pub tag: &'static str,
    /// drizzle-orm 1.0's `name` column: the folder name in a 1.0 folder, e.g.
    /// `20250519133744_add_members`; for a journal entry, the folder name `drizzle-kit up` (and
    /// `migration upgrade-folder`) gives it, so a row app-db writes on a 1.0 bookkeeping table
    /// is recognised by drizzle-orm 1.0 once the folder is converted.
    pub name: &'static str,
    /// The layout of the folder it was read from.
    pub layout: Layout,
    /// What drizzle-orm stores as `created_at` (epoch milliseconds): the journal `when`, or the
    /// 1.0 folder's time. drizzle-orm 0.x compares it to decide what is pending.
    pub when: i64,
    /// The journal `breakpoints` flag (true in a 1.0 folder); informational, statements are
    /// split either way.
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
    /// A migration read at run time (`journal::load_dir`), its texts leaked to the `'static`
    /// lifetime compiled migrations have. Each call leaks the texts again: meant for tools and
    /// tests that read a folder once, not for loops.
    pub fn leak(file: crate::journal::MigrationFile) -> Self {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        Self {
            idx: file.idx,
            tag: leak(file.tag),
            name: leak(file.name),
            layout: file.layout,
            when: file.when,
            breakpoints: file.breakpoints,
            transaction: file.transaction,
            sql: leak(file.sql),
            hash: leak(file.hash),
        }
    }

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

/// The shape of the generated file: the folder, its layout and its migrations.
struct Embedded {
    dir: &'static str,
    layout: Layout,
    migrations: &'static [Migration],
}

const EMBEDDED: Embedded = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The layout of the embedded folder.
pub const MIGRATIONS_LAYOUT: Layout = EMBEDDED.layout;

/// Every migration of the embedded folder, in order (`MIGRATIONS[i].idx == i`).
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
    Ok(loaded.migrations.into_iter().map(Migration::leak).collect())
}
