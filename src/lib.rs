//! app-db: the database layer of the SaaS.
//!
//! PostgreSQL 16 with pgvector, SeaORM entities for every table, and a migrator that runs a
//! Drizzle migration folder compiled into the binary, writing the same bookkeeping rows as
//! drizzle-orm. See `ARCHITECTURE.md` for the code map and the invariants.

pub mod config;
pub mod embedded;
pub mod error;
pub mod init;
pub mod journal;
pub mod migrate;
pub mod migrations;
pub mod rag;
pub mod recovery;
pub mod seed;
pub mod sql;
pub mod testing;
pub mod url;

pub use config::{Config, PoolConfig, SeedMode};
pub use entity::*;
pub use error::{Error, MigrationFailure};
pub use init::{db, init, init_with};
pub use journal::JournalError;
pub use migrate::Migrator;
pub use migrations::{MIGRATIONS, Migration};
