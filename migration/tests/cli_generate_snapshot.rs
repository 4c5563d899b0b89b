//! A schema-change `generate` in a folder that carries drizzle-kit snapshots also writes the
//! snapshot of the schema after the new migration, chained onto the previous one, so the
//! real drizzle-kit 0.31.11 (`tests/drizzle-interop/`) keeps accepting the folder.
//!
//! Needs Node.js 20+ and npm (the pinned drizzle-kit is installed with `npm ci`) and the test
//! PostgreSQL server.

mod common;
#[path = "../../tests/common/drizzle.rs"]
mod drizzle;
#[path = "../../tests/common/drizzle_kit.rs"]
mod drizzle_kit;
#[path = "../src/snapshot/from_database.rs"]
#[allow(dead_code)]
mod from_database;

use std::path::Path;

use app_db::testing::{TestDatabase, TestServer};
use common::{folder_without_last, migration_on};
use drizzle_kit::read_json;
use serde_json::Value;
use sqlx::Connection;

fn server_url() -> String {
    TestServer::get()
        .unwrap_or_else(|e| panic!("a PostgreSQL server is needed: {e}"))
        .admin_url()
        .to_string()
}

/// The snapshot of `db` as `snapshot_from_database` reads it.
async fn snapshot_of(db: &TestDatabase) -> Value {
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let snapshot = from_database::snapshot_from_database(&mut conn, "public")
        .await
        .expect("read the snapshot");
    conn.close().await.expect("close");
    snapshot
}

/// Gives `dir` (the project's folder without 0008) drizzle-kit's snapshot of its last
/// migration, as a folder imported from the TypeScript app has: read from a database where
/// the folder's files were applied. Returns its id.
async fn add_previous_snapshot(dir: &Path) -> String {
    let db = TestDatabase::empty().await.expect("an empty test database");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    for file in &files {
        let sql = std::fs::read_to_string(file).expect("sql");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    conn.close().await.expect("close");
    let mut snapshot = snapshot_of(&db).await;
    let id = uuid::Uuid::new_v4().to_string();
    snapshot["id"] = Value::String(id.clone());
    snapshot["prevId"] = Value::String("00000000-0000-0000-0000-000000000000".into());
    std::fs::write(
        dir.join(format!("meta/{:04}_snapshot.json", files.len() - 1)),
        serde_json::to_string_pretty(&snapshot).expect("render"),
    )
    .expect("write the snapshot");
    drizzle_kit::check(dir).unwrap_or_else(|e| panic!("the starting folder: {e}"));
    id
}

/// Without the `id`/`prevId` chain: what a snapshot says about the schema.
fn schema_part(snapshot: &Value) -> Value {
    let mut snapshot = snapshot.clone();
    let object = snapshot.as_object_mut().expect("a snapshot is an object");
    object.remove("id");
    object.remove("prevId");
    snapshot
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_change_writes_the_snapshot_after_it_chained_onto_the_previous() {
    let dir = folder_without_last("generate-snapshot");
    let previous_id = add_previous_snapshot(&dir).await;
    let path = dir.to_str().expect("utf-8 path");
    let url = server_url();
    let journal_before = std::fs::read(dir.join("meta/_journal.json")).expect("journal");

    // --dry-run and --check write nothing, snapshot included.
    let run = migration_on(&url, &["generate", "metrics", "--dry-run", "--dir", path]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = migration_on(&url, &["generate", "--check", "--dir", path]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!dir.join("meta/0008_snapshot.json").exists());
    assert!(!dir.join("0008_metrics.sql").exists());
    assert_eq!(
        std::fs::read(dir.join("meta/_journal.json")).expect("journal"),
        journal_before
    );

    let run = migration_on(&url, &["generate", "metrics", "--dir", path]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(dir.join("0008_metrics.sql").exists(), "{run:?}");
    let written_path = dir.join("meta/0008_snapshot.json");
    assert!(
        run.stdout.contains(&written_path.display().to_string()),
        "{run:?}"
    );
    let written = read_json(&written_path);
    assert_eq!(written["prevId"], Value::String(previous_id.clone()));
    let id = written["id"].as_str().expect("an id");
    assert!(!id.is_empty() && id != previous_id, "{written}");
    let tables = written["tables"].as_object().expect("tables");
    assert!(
        tables.contains_key("public.saas_metrics_daily"),
        "{written}"
    );
    let previous = read_json(&dir.join("meta/0007_snapshot.json"));
    assert!(
        !previous["tables"]
            .as_object()
            .expect("tables")
            .contains_key("public.saas_metrics_daily")
    );

    // It describes exactly the schema the project's migrations give.
    let migrated = TestDatabase::migrated()
        .await
        .expect("a migrated test database");
    assert_eq!(
        schema_part(&written),
        schema_part(&snapshot_of(&migrated).await)
    );

    // drizzle-kit accepts the chain.
    drizzle_kit::check(&dir).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_previous_snapshot_is_refused_and_nothing_is_written() {
    let dir = folder_without_last("generate-snapshot-broken");
    add_previous_snapshot(&dir).await;
    std::fs::write(dir.join("meta/0007_snapshot.json"), "{ not json").expect("break it");
    let journal_before = std::fs::read(dir.join("meta/_journal.json")).expect("journal");
    let path = dir.to_str().expect("utf-8 path");
    let run = migration_on(&server_url(), &["generate", "metrics", "--dir", path]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("0007_snapshot.json"), "{run:?}");
    assert!(!dir.join("0008_metrics.sql").exists());
    assert!(!dir.join("meta/0008_snapshot.json").exists());
    assert_eq!(
        std::fs::read(dir.join("meta/_journal.json")).expect("journal"),
        journal_before
    );
    let _ = std::fs::remove_dir_all(&dir);
}
