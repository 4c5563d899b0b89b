//! app-db: the database layer of the SaaS.
//!
//! PostgreSQL 16 with pgvector, SeaORM entities for every table, and a migrator that runs a
//! Drizzle migration folder compiled into the binary, writing the same bookkeeping rows as
//! drizzle-orm. See `ARCHITECTURE.md` for the code map and the invariants.

pub mod error;
pub mod rag;

pub use entity::*;
pub use error::Error;
