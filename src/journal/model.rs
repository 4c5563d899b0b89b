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

/// How a migration folder is laid out: the two formats drizzle-kit writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Layout {
    /// drizzle-kit 0.x: `NNNN_name.sql` files listed in `meta/_journal.json`; drizzle-orm 0.x
    /// writes `created_at` = the entry's `when` and decides what is pending by it.
    #[default]
    Journal,
    /// drizzle-kit 1.0: one `<YYYYMMDDHHMMSS>_<name>/migration.sql` folder per migration, no
    /// journal; drizzle-orm 1.0 writes `created_at` = the folder's time and `name` = the folder
    /// name, and decides what is pending by `name`.
    Folders,
}

impl Layout {
    /// A short lower-case name, as `status --json` prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Journal => "journal",
            Self::Folders => "folders",
        }
    }
}

/// One migration of a valid folder, owned, in the order drizzle-orm applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The position in the folder's list (the journal idx in a journal folder).
    pub idx: u32,
    /// The file name without `.sql` (journal), or the folder name (1.0 layout).
    pub tag: String,
    /// drizzle-orm 1.0's `name` of this migration: the folder name in a 1.0 folder; for a
    /// journal entry, the folder name `drizzle-kit up` gives it (see
    /// [`upgraded_name`](super::timestamp::upgraded_name)).
    pub name: String,
    /// Which layout the migration was read from.
    pub layout: Layout,
    /// What drizzle-orm writes as `created_at`: the journal `when`, or the folder's time in
    /// epoch milliseconds.
    pub when: i64,
    /// The journal `breakpoints` flag (always true in a 1.0 folder, as drizzle-orm 1.0 reads it).
    pub breakpoints: bool,
    /// The file's text, exactly as stored.
    pub sql: String,
    /// Lowercase hex SHA-256 of the file's bytes: drizzle-orm's `hash` column.
    pub hash: String,
    /// The file's path (`<dir>/<tag>.sql`, or `<dir>/<folder>/migration.sql`).
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

/// A valid migration folder: its layout, its migrations in order and what deserves a warning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedJournal {
    /// The folder's layout.
    pub layout: Layout,
    /// The migrations, `migrations[i].idx == i`.
    pub migrations: Vec<MigrationFile>,
    /// Legal but risky findings (CRLF, BOM), in journal order.
    pub warnings: Vec<JournalWarning>,
}
