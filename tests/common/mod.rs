//! Database acquisition for the integration tests: the ONE place that knows where a test database
//! comes from.
//!
//! On this branch it uses an already running PostgreSQL 16 + pgvector named by `TEST_DATABASE_URL`
//! (e.g. `postgres://postgres@127.0.0.1:55432/postgres`), creates a fresh, uniquely named database
//! per call and applies `migration/migrations` in journal order, split on the Drizzle breakpoint
//! marker exactly as drizzle-orm does. The project's embedded-server infrastructure replaces the
//! body of [`migrated_db`] later; nothing else in the tests depends on how it works.

#![allow(dead_code)] // each test binary uses a different subset of the helpers

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};

/// The environment variable naming the server the tests create their databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

const BREAKPOINT: &str = "--> statement-breakpoint";

/// A new database with every migration applied, and its URL.
///
/// Panics (failing the test, never skipping it) when `TEST_DATABASE_URL` is unset or the server
/// cannot be reached.
pub async fn migrated_db() -> (DatabaseConnection, String) {
    let server_url = std::env::var(TEST_DATABASE_URL).unwrap_or_else(|_| {
        panic!(
            "{TEST_DATABASE_URL} is not set: point it at a PostgreSQL 16 server with pgvector \
             whose user may CREATE DATABASE, e.g. \
             TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres"
        )
    });
    let name = unique_database_name();
    let admin = connect(&server_url).await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| {
            panic!("cannot create test database {name} on {TEST_DATABASE_URL}: {e}")
        });
    drop(admin);

    let url = with_database(&server_url, &name);
    let db = connect(&url).await;
    apply_migrations(&db).await;
    (db, url)
}

/// The migration folder compiled into the app.
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/migrations")
}

/// Applies every journal entry in order, in one transaction, like drizzle-orm's migrator
/// (without its bookkeeping table, which the migrator crate owns).
async fn apply_migrations(db: &DatabaseConnection) {
    let dir = migrations_dir();
    let journal_path = dir.join("meta/_journal.json");
    let journal: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&journal_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", journal_path.display())),
    )
    .unwrap_or_else(|e| panic!("invalid {}: {e}", journal_path.display()));
    let entries = journal["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no entries array", journal_path.display()));

    let txn = db.begin().await.expect("begin migration transaction");
    for entry in entries {
        let tag = entry["tag"].as_str().expect("journal entry without a tag");
        let path = dir.join(format!("{tag}.sql"));
        let sql = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        for statement in sql.split(BREAKPOINT) {
            if statement.trim().is_empty() {
                continue;
            }
            txn.execute_unprepared(statement)
                .await
                .unwrap_or_else(|e| panic!("{tag}: {e}\nstatement:\n{statement}"));
        }
    }
    txn.commit().await.expect("commit migrations");
}

async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(4).sqlx_logging(false);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server ({TEST_DATABASE_URL}): {e}"))
}

fn unique_database_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "app_db_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

/// `url` with its database path replaced by `database` (query string kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}
