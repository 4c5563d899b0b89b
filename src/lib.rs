//! app-db: the database layer of the SaaS.
//!
//! PostgreSQL 16 with pgvector, SeaORM entities for every table, and a migrator that runs a
//! Drizzle migration folder compiled into the binary, writing the same bookkeeping rows as
//! drizzle-orm. See `ARCHITECTURE.md` for the code map and the invariants.
//!
//! ```no_run
//! use app_db::{ai_usage, document_chunk, organization, subscription};
//! use sea_orm::EntityTrait;
//!
//! async fn boot(query_embedding: &[f32]) -> Result<(), app_db::Error> {
//!     // At start-up, in every replica: connect (pool from env), migrate, optionally seed.
//!     let db = app_db::init().await?;
//!     // Anywhere later in the process:
//!     let orgs = organization::Entity::find().all(app_db::db()?).await?;
//!     // Semantic search inside one tenant (HNSW index, cosine distance):
//!     let hits = app_db::rag::search(db, "org_demo", query_embedding, 10).await?;
//!     # let _ = (orgs, hits, ai_usage::Entity, document_chunk::Entity, subscription::Entity);
//!     Ok(())
//! }
//! ```

pub mod citus;
pub mod config;
pub mod embedded;
pub mod error;
pub mod generate;
pub mod init;
pub mod journal;
pub mod keepalive;
pub mod lint;
pub mod migrate;
pub mod migrations;
pub mod rag;
pub mod recovery;
pub mod rehearse;
pub mod replica;
pub mod seed;
pub mod sql;
pub mod testing;
pub mod url;

pub use config::{Config, PoolConfig, SeedMode};
pub use entity::*;
pub use error::{Error, LateReplica, LockBudgetSpent, MigrationFailure};
pub use init::{db, init, init_with};
pub use journal::JournalError;
pub use migrate::Migrator;
pub use migrations::{MIGRATIONS, Migration};
pub use replica::{read, read_after, wal_position};
