//! `up --rehearse` and `generate --rehearse URL` through the built binary: the report (text
//! and JSON), the exit code, and nothing left in the database or the folder when it fails.

mod common;

use app_db::MIGRATIONS;
use app_db::testing::TestDatabase;
use common::{folder_without_last, migration_on};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

async fn connect(db: &TestDatabase) -> PgConnection {
    PgConnection::connect(&db.url)
        .await
        .expect("connect to the test database")
}

async fn scalar(db: &TestDatabase, sql: &str) -> Option<String> {
    let mut conn = connect(db).await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A database with every migration but the last applied (by the CLI itself).
async fn behind_by_one() -> TestDatabase {
    let db = TestDatabase::empty().await.unwrap();
    let n = (MIGRATIONS.len() - 1).to_string();
    let run = migration_on(&db.url, &["up", "-n", &n]);
    assert_eq!(run.code, 0, "{}", run.all());
    db
}

#[tokio::test]
async fn up_rehearse_reports_and_changes_nothing() {
    let db = behind_by_one().await;
    let last = MIGRATIONS.last().unwrap();
    let run = migration_on(&db.url, &["up", "--rehearse"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for expected in [
        "rehearsing 1 migration(s) on ".to_string(),
        format!("[1/1] {}", last.tag),
        "1. CREATE TABLE \"saas_metrics_daily\" (".into(),
        "lock: AccessExclusiveLock on table saas_metrics_daily (new: nobody waits on it)".into(),
        "rehearsal: 1 statement(s), 0 failed, 0 not rehearsed (lock timeout 2000 ms); rolled back: nothing was changed".into(),
    ] {
        assert!(run.stdout.contains(&expected), "{expected:?}:\n{}", run.all());
    }
    let json = migration_on(
        &db.url,
        &["up", "--rehearse", "--json", "--ddl-lock-timeout", "1500"],
    );
    assert_eq!(json.code, 0, "{}", json.all());
    let value: Value = serde_json::from_str(&json.stdout).expect("stdout is JSON");
    assert_eq!(value["rolled_back"], true);
    assert_eq!(value["lock_timeout_ms"], 1500);
    assert_eq!(value["statements"], 1);
    assert_eq!(value["failed"], 0);
    assert_eq!(value["migrations"][0]["tag"], last.tag);
    assert_eq!(value["migrations"][0]["transaction"], true);
    let statement = &value["migrations"][0]["statements"][0];
    assert_eq!(statement["outcome"], "ok");
    assert_eq!(statement["locks"][0]["new_relation"], true);
    assert!(
        value["database"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    // Nothing was applied: still one pending, no table.
    assert_eq!(
        scalar(&db, "select to_regclass('saas_metrics_daily')::text").await,
        None
    );
    let status = migration_on(&db.url, &["status", "--json"]);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["pending"], 1);
    // Conflicts are refused by the grammar.
    let both = migration_on(&db.url, &["up", "--rehearse", "--dry-run"]);
    assert_eq!(both.code, 64, "{}", both.all());
    let json_alone = migration_on(&db.url, &["up", "--json"]);
    assert_eq!(json_alone.code, 64, "{}", json_alone.all());
}

#[tokio::test]
async fn up_rehearse_fails_with_exit_1_when_a_statement_fails_on_the_database() {
    let db = behind_by_one().await;
    // Someone created the table by hand: the pending CREATE TABLE fails there.
    let mut conn = connect(&db).await;
    sqlx::raw_sql("create table saas_metrics_daily (day date)")
        .execute(&mut conn)
        .await
        .unwrap();
    let run = migration_on(&db.url, &["up", "--rehearse"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("FAILED after"), "{}", run.all());
    assert!(run.stdout.contains("42P07"), "{}", run.all());
    assert!(
        run.stderr.contains(
            "error: the rehearsal found 1 statement(s) that fail on this database's rows"
        ),
        "{}",
        run.all()
    );
}

#[tokio::test]
async fn generate_rehearse_tries_the_plan_first_and_writes_only_when_it_passes() {
    let server = app_db::testing::TestServer::get().unwrap();
    let folder = folder_without_last("generate-rehearse");
    let dir = folder.to_str().unwrap();
    // The rehearsal database is at the folder's last migration and has the new table already:
    // the plan (CREATE TABLE "saas_metrics_daily") fails there, so nothing is written.
    let blocked = behind_by_one().await;
    let mut conn = connect(&blocked).await;
    sqlx::raw_sql("create table saas_metrics_daily (day date)")
        .execute(&mut conn)
        .await
        .unwrap();
    let run = migration_on(
        server.admin_url(),
        &[
            "generate",
            "metrics",
            "--dir",
            dir,
            "--rehearse",
            &blocked.url,
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("[1/1] 0008_metrics (planned)") && run.stdout.contains("42P07"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.all());
    assert!(!folder.join("0008_metrics.sql").exists());
    // A database without it: the rehearsal passes and the file is written; with --json, stdout
    // is the report alone, naming the file.
    let clean = behind_by_one().await;
    let run = migration_on(
        server.admin_url(),
        &[
            "generate",
            "metrics",
            "--dir",
            dir,
            "--rehearse",
            &clean.url,
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let value: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(value["failed"], 0);
    assert_eq!(value["migrations"][0]["tag"], "0008_metrics (planned)");
    assert!(
        value["written"][0]
            .as_str()
            .unwrap()
            .ends_with("0008_metrics.sql"),
        "{value}"
    );
    assert!(folder.join("0008_metrics.sql").exists());
    assert!(run.stderr.contains("created "), "{}", run.all());
    assert_eq!(
        scalar(&clean, "select to_regclass('saas_metrics_daily')::text").await,
        None,
        "the rehearsal left nothing"
    );
    let _ = std::fs::remove_dir_all(&folder);
}
