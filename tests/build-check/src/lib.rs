//! app-db's journal module and embedded migration list, compiled against the folder named by
//! `APP_DB_MIGRATIONS_DIR` at build time.

#[path = "../../../src/journal/mod.rs"]
pub mod journal;

#[path = "../../../src/migrations.rs"]
pub mod migrations;
