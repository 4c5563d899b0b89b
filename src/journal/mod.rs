//! The Drizzle migration folder: reading, validating and embedding it.
//!
//! One resolver for compile time and run time. `build.rs` includes this very module with
//! `#[path = "src/journal/mod.rs"]` and calls [`codegen::build_script_main`]; the library exposes
//! it as `app_db::journal` for `status`, `verify` and the tests. Both therefore apply the same
//! rules to the same bytes, so a folder that compiled can never be judged differently at run
//! time. To stay includable from `build.rs` the module uses only `std`, `sha2`, `serde_json` and
//! `thiserror`, and refers to its own files with `super::` paths, never `crate::`.
//!
//! The folder format and the drizzle-orm behaviour matched here are described in
//! `shared/notes/drizzle-compat.md`.

pub mod allow;
pub mod codegen;
pub mod directive;
pub mod error;
pub mod hash;
pub mod load;
pub mod model;
pub mod parse;
pub mod split;
pub mod validate;

pub use allow::{ALLOW_DIRECTIVE, Allow, AllowProblem};
pub use directive::{Directive, NO_TRANSACTION_DIRECTIVE};
pub use error::{JournalError, JournalWarning};
pub use hash::sha256_hex;
pub use load::load_dir;
pub use model::{JournalEntry, LoadedJournal, MigrationFile, SourceFile};
pub use split::{STATEMENT_BREAKPOINT, is_blank_statement, split_statements, statements};
pub use validate::validate;

/// Where the journal lives inside a migration folder, as drizzle-kit writes it.
pub const JOURNAL_PATH: &str = "meta/_journal.json";

/// The only `dialect` app-db accepts in the journal.
pub const POSTGRESQL_DIALECT: &str = "postgresql";
