//! The Drizzle migration folder, in drizzle-kit 0.x's journal layout or drizzle-kit 1.0's folder
//! layout: reading, validating and embedding it.
//!
//! One resolver for compile time and run time. `build.rs` includes this very module with
//! `#[path = "src/journal/mod.rs"]` and calls [`codegen::build_script_main`]; the library exposes
//! it as `app_db::journal` for `status`, `verify` and the tests. Both therefore apply the same
//! rules to the same bytes, so a folder that compiled can never be judged differently at run
//! time. To stay includable from `build.rs` the module uses only `std`, `sha2`, `serde_json` and
//! `thiserror`, and refers to its own files with `super::` paths, never `crate::`.
//!
//! [`layout`] decides which layout a folder is in; [`validate`](validate()) holds the journal
//! layout's rules, [`layout_v1`] the 1.0 layout's, and both share the rules of one file
//! ([`validate::check_file`]).

pub mod allow;
pub mod codegen;
pub mod directive;
pub mod error;
pub mod hash;
pub mod layout;
pub mod layout_v1;
pub mod load;
pub mod model;
pub mod parse;
pub mod split;
pub mod timestamp;
pub mod validate;

pub use allow::{ALLOW_DIRECTIVE, Allow, AllowProblem};
pub use directive::{Directive, NO_TRANSACTION_DIRECTIVE};
pub use error::{JournalError, JournalWarning};
pub use hash::sha256_hex;
pub use layout::{Listing, Subfolder, resolve};
pub use load::{load_dir, read_listing};
pub use model::{JournalEntry, Layout, LoadedJournal, MigrationFile, SourceFile};
pub use split::{STATEMENT_BREAKPOINT, is_blank_statement, split_statements, statements};
pub use validate::validate;

/// Where the journal lives inside a migration folder, as drizzle-kit writes it.
pub const JOURNAL_PATH: &str = "meta/_journal.json";

/// The file of each migration in a drizzle-kit 1.0 folder (`<YYYYMMDDHHMMSS>_<name>/migration.sql`).
pub const MIGRATION_SQL: &str = "migration.sql";

/// The only `dialect` app-db accepts in the journal.
pub const POSTGRESQL_DIALECT: &str = "postgresql";
