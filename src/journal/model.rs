//! The data: journal entries as read, files as found, migrations as resolved.

use std::path::PathBuf;

use super::error::JournalWarning;

/// One element of the journal's `entries` array, with the fields drizzle-orm reads.
///
/// drizzle-kit also writes a per-entry `version`; drizzle-orm never reads it and neither does
/// app-db.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// drizzle-kit's sequence number; app-db requires it to equal the entry's position.
    pub idx: u64,
    /// Epoch milliseconds at generation; drizzle-orm stores it as `created_at`.
    pub when: i64,
    /// The file name without `.sql`.
    pub tag: String,
    /// Whether drizzle-kit wrote `--> statement-breakpoint` markers; informational.
    pub breakpoints: bool,
}

/// A file directly inside the migration folder, as input to [`validate`](super::validate()).
///
/// Only `.sql` files matter; others (and everything under `meta/` except the journal) are
/// ignored, so a caller may leave them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file name, e.g. `0003_add_members.sql`.
    pub name: String,
    /// The raw content.
    pub bytes: Vec<u8>,
}

impl SourceFile {
    /// A file named `name` holding `bytes`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// One migration of a valid folder, owned, in journal order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The journal idx, equal to the position in the folder's list.
    pub idx: u32,
    /// The file name without `.sql`.
    pub tag: String,
    /// The journal `when`: what drizzle-orm writes as `created_at`.
    pub when: i64,
    /// The journal `breakpoints` flag.
    pub breakpoints: bool,
    /// The file's text, exactly as stored.
    pub sql: String,
    /// Lowercase hex SHA-256 of the file's bytes: drizzle-orm's `hash` column.
    pub hash: String,
    /// The file's path (the folder joined with `<tag>.sql`).
    pub path: PathBuf,
    /// False if the file starts with `-- app-db:no-transaction`: run outside a transaction,
    /// one statement at a time.
    pub transaction: bool,
}

impl MigrationFile {
    /// The statements the migrator sends, in order (see [`statements`](super::statements)).
    pub fn statements(&self) -> impl Iterator<Item = &str> {
        super::split::statements(&self.sql)
    }
}

/// A valid migration folder: its migrations in journal order and what deserves a warning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedJournal {
    /// The migrations, `migrations[i].idx == i`.
    pub migrations: Vec<MigrationFile>,
    /// Legal but risky findings (CRLF, BOM), in journal order.
    pub warnings: Vec<JournalWarning>,
}
