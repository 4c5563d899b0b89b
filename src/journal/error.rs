//! What can be wrong with a migration folder: errors (the build fails, `verify` refuses) and
//! warnings (reported, nothing refused).

use std::path::PathBuf;

/// A migration folder that app-db refuses, at build time and at run time alike.
///
/// Every message is lower-case, names the file and the journal entry at fault and ends with the
/// fix. `position` is the entry's place in the journal's `entries` array (0-based), which is the
/// order drizzle-orm applies them in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// A file or folder could not be read (other than the journal being absent).
    // The OS error is left to `source()`, so that reporters print it once.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done, e.g. `"read migration file"`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The folder has `.sql` files (or a `meta/` folder) but no `meta/_journal.json`.
    #[error(
        "migration journal {} not found; a drizzle-kit 0.x migration folder has \
         meta/_journal.json listing its .sql files (run `drizzle-kit generate`), a drizzle-kit 1.0 \
         folder has <YYYYMMDDHHMMSS>_<name>/migration.sql folders instead; restore the journal, \
         or point APP_DB_MIGRATIONS_DIR at the right folder",
        path.display()
    )]
    JournalMissing {
        /// Where the journal was expected.
        path: PathBuf,
    },

    /// The migration folder itself does not exist.
    #[error(
        "migration folder {} not found; point APP_DB_MIGRATIONS_DIR at the folder drizzle-kit \
         writes (`out` in drizzle.config), absolute or relative to the workspace root",
        path.display()
    )]
    FolderMissing {
        /// The folder.
        path: PathBuf,
    },

    /// The folder holds neither layout: no journal, no migration folder, no `.sql` file.
    #[error(
        "migration folder {} holds no migrations: a drizzle-kit 0.x folder has \
         meta/_journal.json, a drizzle-kit 1.0 folder has <YYYYMMDDHHMMSS>_<name>/migration.sql \
         folders; run `drizzle-kit generate` (or `migration generate`), or point \
         APP_DB_MIGRATIONS_DIR at the right folder",
        path.display()
    )]
    NoMigrations {
        /// The folder.
        path: PathBuf,
    },

    /// Both layouts at once: a journal and 1.0 migration folders.
    #[error(
        "migration folder {} mixes both layouts: it has {} (drizzle-kit 0.x) and the drizzle-kit \
         1.0 migration folder {}; drizzle-orm 1.0 refuses a folder with a journal and drizzle-orm \
         0.x ignores the folders; convert the whole folder with `migration upgrade-folder` (or \
         `drizzle-kit up`), or move the 1.0 folders out",
        dir.display(),
        journal.display(),
        folder.display()
    )]
    MixedLayouts {
        /// The migration folder.
        dir: PathBuf,
        /// Its journal.
        journal: PathBuf,
        /// The first 1.0 migration folder found beside it.
        folder: PathBuf,
    },

    /// A 1.0 folder that still has a `meta/` folder (without journal): a leftover of a
    /// conversion.
    #[error(
        "migration folder {} is in the drizzle-kit 1.0 layout but still has {}, a leftover of \
         the journal layout (a conversion that did not finish?); drizzle-kit 1.0 keeps each \
         snapshot in its migration's folder: if `migration upgrade-folder` was interrupted, run it \
         again; otherwise delete meta/",
        dir.display(),
        meta.display()
    )]
    LeftoverMeta {
        /// The migration folder.
        dir: PathBuf,
        /// The `meta/` folder.
        meta: PathBuf,
    },

    /// A 1.0 migration folder whose name does not start with `<YYYYMMDDHHMMSS>_`.
    #[error(
        "migration folder {} is not named <YYYYMMDDHHMMSS>_<name>: drizzle-orm 1.0 takes the \
         first 14 characters of the name as the migration's UTC time (its `created_at`) and the \
         whole name as its `name`; rename it like `{suggestion}` (the UTC time it was written, \
         later than the folder before it)",
        path.display()
    )]
    BadFolderName {
        /// The folder.
        path: PathBuf,
        /// A name of the right shape, for the message.
        suggestion: String,
    },

    /// A 1.0 migration folder whose 14 leading digits are no real date and time.
    #[error(
        "migration folder {} starts with {digits}, which is no UTC date and time \
         (YYYYMMDDHHMMSS: month 01-12, a day the month has, hour 00-23, minute and second 00-59); \
         drizzle-orm 1.0 would roll it over into another time; rename the folder with the time it \
         was written",
        path.display()
    )]
    BadFolderTime {
        /// The folder.
        path: PathBuf,
        /// The first 14 characters of its name.
        digits: String,
    },

    /// A 1.0 migration folder without `migration.sql`.
    #[error(
        "migration folder {} has no migration.sql; drizzle-orm 1.0 silently skips such a folder, \
         so its migration would never run; restore migration.sql (drizzle-kit writes it beside \
         snapshot.json) or delete the folder",
        path.display()
    )]
    MissingMigrationSql {
        /// The folder.
        path: PathBuf,
    },

    /// Two 1.0 migration folders with the same time.
    #[error(
        "migration folders {} and {} have the same time {digits}; drizzle-orm 1.0 stores the time \
         as `created_at` and matches old bookkeeping rows to migrations by it, so two migrations \
         in one second are ambiguous; rename the later one to a later second (its time must stay \
         after the folder before it)",
        first.display(),
        second.display()
    )]
    DuplicateFolderTime {
        /// The folder that sorts first.
        first: PathBuf,
        /// The other one.
        second: PathBuf,
        /// Their shared `YYYYMMDDHHMMSS`.
        digits: String,
    },

    /// A file that no drizzle migrator reads where a migration is expected.
    #[error(
        "{} does not belong in a drizzle-kit 1.0 migration folder: {why}; drizzle-orm 1.0 \
         ignores it, so whatever it holds would never run; {fix}",
        path.display()
    )]
    StrayFile {
        /// The file or folder.
        path: PathBuf,
        /// Why it is stray.
        why: &'static str,
        /// What to do.
        fix: &'static str,
    },

    /// The journal is not JSON.
    #[error("migration journal {} is not valid JSON: {detail}; fix or regenerate it with drizzle-kit", path.display())]
    JournalSyntax {
        /// The journal file.
        path: PathBuf,
        /// The JSON parser's message, with line and column.
        detail: String,
    },

    /// The journal is JSON but a field is missing or of the wrong type.
    #[error(
        "migration journal {}: field `{field}` must be {expected}, found {found}; \
         the journal must look like drizzle-kit's (version \"7\")",
        path.display()
    )]
    JournalShape {
        /// The journal file.
        path: PathBuf,
        /// A path to the field, e.g. `entries[2].when`.
        field: String,
        /// What the field must be, e.g. `"an integer"`.
        expected: &'static str,
        /// What was there, e.g. `"a string"` or `"nothing"`.
        found: String,
    },

    /// The journal is for another database.
    #[error(
        "migration journal {}: dialect is \"{found}\", expected \"postgresql\"; \
         app-db only runs PostgreSQL migrations (set `dialect: \"postgresql\"` in drizzle.config)",
        path.display()
    )]
    WrongDialect {
        /// The journal file.
        path: PathBuf,
        /// The dialect found.
        found: String,
    },

    /// A tag that cannot name a file in the folder.
    #[error(
        "migration journal {}: entries[{position}] has tag {tag:?}, which is not a plain file name; \
         a tag is the .sql file name without extension, like `0003_add_members`",
        path.display()
    )]
    InvalidTag {
        /// The journal file.
        path: PathBuf,
        /// The entry's place in `entries`.
        position: usize,
        /// The tag found.
        tag: String,
    },

    /// Two entries name the same file.
    #[error(
        "migration journal {}: tag `{tag}` appears twice (entries[{first_position}] and \
         entries[{position}]); each migration must have its own entry, remove the duplicate",
        path.display()
    )]
    DuplicateTag {
        /// The journal file.
        path: PathBuf,
        /// The repeated tag.
        tag: String,
        /// Where it first appears.
        first_position: usize,
        /// Where it appears again.
        position: usize,
    },

    /// Two entries carry the same idx.
    #[error(
        "migration journal {}: idx {idx} appears twice (`{first_tag}` and `{tag}`); \
         renumber the entries 0, 1, 2, ... in array order",
        path.display()
    )]
    DuplicateIdx {
        /// The journal file.
        path: PathBuf,
        /// The repeated idx.
        idx: u64,
        /// The tag of the entry that had it first.
        first_tag: String,
        /// The tag of the entry that repeats it.
        tag: String,
    },

    /// An entry's idx is not its place in the array.
    #[error(
        "migration journal {}: entry `{tag}` is entries[{position}] but has idx {found}, expected \
         {position}; idx must count 0, 1, 2, ... in array order (drizzle-orm applies array order)",
        path.display()
    )]
    IdxOutOfOrder {
        /// The journal file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
        /// Its place in `entries`, the expected idx.
        position: usize,
        /// The idx found.
        found: u64,
    },

    /// A `NNNN_name` tag whose number is not the entry's idx.
    #[error(
        "migration journal {}: tag `{tag}` starts with {prefix:04} but its idx is {idx}; \
         drizzle-kit numbers files by idx, so rename the file and tag to `{idx:04}_...` \
         or move the entry to position {prefix}",
        path.display()
    )]
    TagPrefixMismatch {
        /// The journal file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
        /// The 4-digit number the tag starts with.
        prefix: u32,
        /// The entry's idx.
        idx: u64,
    },

    /// `when` does not increase from one entry to the next.
    #[error(
        "migration journal {}: entry `{tag}` has when {when}, not after {previous_when} of the \
         entry before it (`{previous_tag}`); drizzle-orm would skip it forever on databases that \
         already ran `{previous_tag}`; give it a larger `when` (epoch milliseconds)",
        path.display()
    )]
    WhenNotIncreasing {
        /// The journal file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
        /// Its `when`.
        when: i64,
        /// The previous entry's tag.
        previous_tag: String,
        /// The previous entry's `when`.
        previous_when: i64,
    },

    /// The journal names a file that is not in the folder.
    #[error(
        "migration file {} not found, but the journal has entry `{tag}` (idx {idx}); \
         restore the file or remove the entry from meta/_journal.json",
        path.display()
    )]
    MissingFile {
        /// The missing file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
        /// The entry's idx.
        idx: u64,
    },

    /// A `.sql` file the journal does not list.
    #[error(
        "migration file {} has no entry in meta/_journal.json; drizzle would silently never run \
         it; generate migrations with `drizzle-kit generate` (or `--custom`) so the journal \
         lists them, or delete the file",
        path.display()
    )]
    UnlistedFile {
        /// The unlisted file.
        path: PathBuf,
    },

    /// A migration file that is not UTF-8.
    #[error(
        "migration file {} (entry `{tag}`) is not valid UTF-8 (invalid byte at offset {offset}); \
         save it as UTF-8",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
        /// The offset of the first invalid byte.
        offset: usize,
    },

    /// A migration without a single statement.
    #[error(
        "migration file {} (entry `{tag}`) has no SQL statement, only whitespace and comments; \
         write the migration's SQL below the comment, or remove the entry and the file",
        path.display()
    )]
    EmptyMigration {
        /// The file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
    },

    /// A first line `-- app-db:<name>` with an unknown name.
    #[error(
        "migration file {} (entry `{tag}`) starts with unknown directive `{found}`; \
         known directives: {known}; fix the first line or remove it",
        path.display(),
        known = super::directive::KNOWN_DIRECTIVES.join(", ")
    )]
    UnknownDirective {
        /// The file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
        /// The whole first line.
        found: String,
    },

    /// A path that cannot be written into generated Rust source.
    #[error(
        "migration file {} has a path that is not UTF-8, so it cannot be embedded with \
         include_str!; move the migration folder to a UTF-8 path",
        path.display()
    )]
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
}

/// Something legal but likely to cause trouble. Reported by `build.rs` as a cargo warning and
/// returned by [`load_dir`](super::load_dir); never refuses the folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalWarning {
    /// The file has CRLF line endings.
    #[error(
        "migration file {} (entry `{tag}`) has CRLF line endings; the hash covers raw bytes \
         (as drizzle-orm's does), so a CRLF checkout hashes differently from an LF one and a \
         database migrated from the other checkout would report it as modified; add \
         `*.sql text eol=lf` to .gitattributes and re-checkout the file",
        path.display()
    )]
    CrlfLineEndings {
        /// The file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
    },

    /// The file starts with a UTF-8 byte order mark.
    #[error(
        "migration file {} (entry `{tag}`) starts with a UTF-8 byte order mark; the hash covers \
         raw bytes (as drizzle-orm's does), so an editor that drops the mark changes the hash \
         and the migration would be reported as modified; save it as UTF-8 without BOM",
        path.display()
    )]
    ByteOrderMark {
        /// The file.
        path: PathBuf,
        /// The entry's tag.
        tag: String,
    },
}
