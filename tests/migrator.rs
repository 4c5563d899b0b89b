//! The migrator against real PostgreSQL: bookkeeping, atomicity, drift, locking, concurrency.

mod common;

use std::time::{Duration, Instant};

use app_db::migrate::{Policy, Progress, Warning};
use app_db::testing::TestDatabase;
use app_db::{Error, Migrator};
use common::{connect, list, migration, rows, schema_fingerprint, three};

#[tokio::test]
async fn fresh_database_gets_every_migration_and_drizzle_rows() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let ms = list(three());
    let report = Migrator::with_migrations(ms).run(&mut conn).await.unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.tag).collect::<Vec<_>>(),
        ["0000_test_0", "0001_test_1", "0002_test_2"]
    );
    assert!(report.locked);
    let expected: Vec<(String, i64)> = ms.iter().map(|m| (m.hash.to_string(), m.when)).collect();
    assert_eq!(
        rows(&mut conn).await,
        expected,
        "rows must be drizzle's: file hash and journal when"
    );
    // drizzle-orm's exact table shape.
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select column_name::text, data_type::text, is_nullable::text from information_schema.columns \
         where table_schema = 'drizzle' and table_name = '__drizzle_migrations' order by ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        columns,
        [
            ("id", "integer", "NO"),
            ("hash", "text", "NO"),
            ("created_at", "bigint", "YES")
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    let seaql: Option<String> = sqlx::query_scalar("select to_regclass('seaql_migrations')::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(seaql, None, "seaql_migrations must never be created");
}

#[tokio::test]
async fn second_run_is_a_no_op_without_the_lock() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let migrator = Migrator::with_migrations(list(three()));
    migrator.run(&mut conn).await.unwrap();
    let before = rows(&mut conn).await;
    let report = migrator.run(&mut conn).await.unwrap();
    assert!(report.applied.is_empty());
    assert!(
        !report.locked,
        "an up-to-date database must take the fast path"
    );
    assert_eq!(rows(&mut conn).await, before);
}

#[tokio::test]
async fn failing_statement_mid_batch_leaves_the_database_exactly_as_it_was() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    sqlx::raw_sql("create table keep (id int); insert into keep values (1)")
        .execute(&mut conn)
        .await
        .unwrap();
    let before = schema_fingerprint(&mut conn).await;
    let mut ms = three();
    ms.push(migration(3, 1_700_000_300_000, "CREATE TABLE \"d\" (\"id\" int);\n--> statement-breakpoint\nSELECT 1/0;\n--> statement-breakpoint\nCREATE TABLE \"e\" (\"id\" int);\n"));
    let err = Migrator::with_migrations(list(ms))
        .run(&mut conn)
        .await
        .unwrap_err();
    match &err {
        Error::MigrationFailed(f) => {
            assert_eq!(
                (f.tag.as_str(), f.statement, f.statements),
                ("0003_test_3", 2, 3)
            );
            assert_eq!(f.code.as_deref(), Some("22012"));
            assert!(f.transactional);
        }
        other => panic!("expected MigrationFailed, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("division by zero") && message.contains("rolled back"),
        "{message}"
    );
    assert_eq!(
        schema_fingerprint(&mut conn).await,
        before,
        "a failed batch must leave no trace, not even the drizzle schema"
    );
    let kept: i64 = sqlx::query_scalar("select count(*) from keep")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn an_applied_file_edited_afterwards_is_detected() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let original = three();
    Migrator::with_migrations(list(original.clone()))
        .run(&mut conn)
        .await
        .unwrap();
    let mut edited = original.clone();
    edited[1] = migration(
        1,
        original[1].when,
        "CREATE TABLE \"b\" (\"id\" bigserial PRIMARY KEY);\n",
    );
    let err = Migrator::with_migrations(list(edited.clone()))
        .run(&mut conn)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, Error::Modified(m) if m[0].tag == "0001_test_1" && m[0].recorded_hash == original[1].hash && m[0].file_hash == edited[1].hash),
        "{message}"
    );
    assert!(
        message.contains("modified after it was applied")
            && message.contains(original[1].hash)
            && message.contains(edited[1].hash),
        "{message}"
    );
    // Line endings only: said so.
    let mut crlf = original.clone();
    crlf[0] = migration(0, original[0].when, &original[0].sql.replace('\n', "\r\n"));
    let message = Migrator::with_migrations(list(crlf))
        .run(&mut conn)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("only the line endings differ"),
        "{message}"
    );
    // Policy downgrades it to a warning.
    let report = Migrator::with_migrations(list(edited))
        .policy(Policy {
            allow_modified: true,
            ..Policy::default()
        })
        .run(&mut conn)
        .await
        .unwrap();
    assert!(matches!(&report.warnings[0], Warning::Modified { tag, .. } if tag == "0001_test_1"));
}

#[tokio::test]
async fn an_out_of_order_entry_is_refused_then_applied_under_the_policy() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let all = three();
    // A branch merge: 0000 and 0002 were deployed, 0001 arrives later with an older `when`.
    Migrator::with_migrations(list(vec![
        all[0],
        migration(2, all[2].when, "CREATE TABLE \"c\" (\"id\" int);\n"),
    ]))
    .run(&mut conn)
    .await
    .unwrap();
    let mut merged = all.clone();
    merged[2] = migration(2, all[2].when, "CREATE TABLE \"c\" (\"id\" int);\n");
    let err = Migrator::with_migrations(list(merged.clone()))
        .run(&mut conn)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::OutOfOrder { tags, .. } if tags == &["0001_test_1".to_string()]),
        "{err}"
    );
    assert!(err.to_string().contains("--allow-out-of-order"), "{err}");
    let report = Migrator::with_migrations(list(merged))
        .policy(Policy {
            allow_out_of_order: true,
            ..Policy::default()
        })
        .run(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.tag).collect::<Vec<_>>(),
        ["0001_test_1"]
    );
    let b: Option<String> = sqlx::query_scalar("select to_regclass('b')::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(b.as_deref(), Some("b"));
}

#[tokio::test]
async fn rows_unknown_to_this_binary_only_warn() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let all = three();
    Migrator::with_migrations(list(all.clone()))
        .run(&mut conn)
        .await
        .unwrap();
    // An older binary during a rolling deploy.
    let report = Migrator::with_migrations(list(all[..2].to_vec()))
        .run(&mut conn)
        .await
        .unwrap();
    assert!(report.applied.is_empty());
    assert!(
        matches!(&report.warnings[..], [Warning::UnknownRows { rows }] if rows.len() == 1 && rows[0].created_at == Some(all[2].when))
    );
}

#[tokio::test]
async fn no_transaction_migrations_run_outside_a_transaction() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let mut ms = three();
    ms.push(migration(
        3,
        1_700_000_300_000,
        "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"b_a_id_idx\" ON \"b\" (\"a_id\");\n--> statement-breakpoint\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"b_note_idx\" ON \"b\" (\"note\");\n",
    ));
    ms.push(migration(
        4,
        1_700_000_400_000,
        "CREATE TABLE \"f\" (\"id\" int);\n",
    ));
    let mut events = Vec::new();
    let report = Migrator::with_migrations(list(ms.clone()))
        .run_with(&mut conn, None, &mut |p| {
            if let Progress::Finished { migration, .. } = p {
                events.push(migration.tag.to_string());
            }
        })
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 5);
    assert_eq!(
        events,
        [
            "0000_test_0",
            "0001_test_1",
            "0002_test_2",
            "0003_test_3",
            "0004_test_4"
        ]
    );
    let valid: Vec<bool> = sqlx::query_scalar("select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname in ('b_a_id_idx', 'b_note_idx')")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(valid, [true, true]);
    assert_eq!(rows(&mut conn).await.len(), 5);
}

#[tokio::test]
async fn a_failing_no_transaction_migration_is_not_recorded_and_reruns() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let mut ms = three();
    ms.push(migration(3, 1_700_000_300_000, "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"b_a_id_idx\" ON \"b\" (\"a_id\");\n--> statement-breakpoint\nCREATE INDEX CONCURRENTLY \"x_idx\" ON \"missing\" (\"id\");\n"));
    let err = Migrator::with_migrations(list(ms.clone()))
        .run(&mut conn)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::MigrationFailed(f) if f.tag == "0003_test_3" && !f.transactional && f.applied_before.len() == 3),
        "{err}"
    );
    assert!(err.to_string().contains("outside a transaction"), "{err}");
    assert_eq!(
        rows(&mut conn).await.len(),
        3,
        "the failed migration has no row; the earlier batch committed"
    );
    // The operator fixes the cause; the idempotent file reruns cleanly.
    sqlx::raw_sql("create table missing (id int)")
        .execute(&mut conn)
        .await
        .unwrap();
    let report = Migrator::with_migrations(list(ms))
        .run(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.tag).collect::<Vec<_>>(),
        ["0003_test_3"]
    );
}

#[tokio::test]
async fn lock_timeout_names_the_holder() {
    let db = TestDatabase::empty().await.unwrap();
    let migrator =
        Migrator::with_migrations(list(three())).lock_timeout(Duration::from_millis(300));
    let mut holder = connect(&db.url).await;
    sqlx::raw_sql("set application_name = 'the-holder'")
        .execute(&mut holder)
        .await
        .unwrap();
    let holder_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    sqlx::query("select pg_advisory_lock($1)")
        .bind(migrator.lock().key())
        .execute(&mut holder)
        .await
        .unwrap();
    let mut conn = connect(&db.url).await;
    let started = Instant::now();
    let err = migrator.run(&mut conn).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let message = err.to_string();
    assert!(matches!(err, Error::LockTimeout { .. }), "{message}");
    assert!(
        message.contains(&format!("backend pid {holder_pid}")) && message.contains("the-holder"),
        "{message}"
    );
    // The failed attempt left nothing behind and holds nothing.
    assert!(rows_exist(&mut conn).await.is_none());
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(migrator.lock().key())
        .execute(&mut holder)
        .await
        .unwrap();
    migrator.run(&mut conn).await.unwrap();
}

async fn rows_exist(conn: &mut sqlx::PgConnection) -> Option<String> {
    sqlx::query_scalar("select to_regclass('drizzle.__drizzle_migrations')::text")
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let config = app_db::Config::default()
        .database_url("postgres://postgres:hunter2-secret@127.0.0.1:1/app");
    let mut config = config;
    config.pool.connect_timeout = Duration::from_secs(2);
    config.pool.acquire_timeout = Duration::from_secs(2);
    let err = app_db::init::open(&config).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("postgres:***@127.0.0.1:1"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Several processes. The test binary re-runs itself as the child, selected by environment.

const CHILD_URL: &str = "APP_DB_TEST_CHILD_URL";
const CHILD_SCENARIO: &str = "APP_DB_TEST_CHILD_SCENARIO";

fn slow_history() -> Vec<app_db::Migration> {
    let mut ms = three();
    // Widen the window in which a lock-free migrator would apply twice.
    ms.push(migration(
        3,
        1_700_000_300_000,
        "SELECT pg_sleep(0.3);\n--> statement-breakpoint\nCREATE TABLE \"slow\" (\"id\" int);\n",
    ));
    ms
}

fn hanging_history() -> Vec<app_db::Migration> {
    let mut ms = three();
    ms.push(migration(
        3,
        1_700_000_300_000,
        "CREATE TABLE \"half\" (\"id\" int);\n--> statement-breakpoint\nSELECT pg_sleep(600);\n",
    ));
    ms
}

/// Not a test on its own: the body of the child processes started by the tests below.
#[tokio::test]
async fn child_migrator_process() {
    let (Ok(url), Ok(scenario)) = (std::env::var(CHILD_URL), std::env::var(CHILD_SCENARIO)) else {
        return;
    };
    common::child_started(&scenario);
    let ms = match scenario.as_str() {
        "slow" => slow_history(),
        _ => hanging_history(),
    };
    let mut conn = connect(&url).await;
    let report = Migrator::with_migrations(list(ms))
        .run(&mut conn)
        .await
        .expect("the child migrates");
    // What a replica sees right after its migrator returns: the whole schema, never half.
    for table in ["a", "b", "c", "slow"] {
        let exists: Option<String> = sqlx::query_scalar("select to_regclass($1)::text")
            .bind(table)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(
            exists.is_some(),
            "table {table} missing after a successful run"
        );
    }
    println!("\nAPPLIED {}", report.applied.len());
}

fn spawn_child(url: &str, scenario: &str) -> std::process::Child {
    common::rerun_self("child_migrator_process")
        .env(CHILD_URL, url)
        .env(CHILD_SCENARIO, scenario)
        .spawn()
        .expect("start a child process")
}

#[tokio::test]
async fn thirty_two_processes_at_once_apply_each_migration_exactly_once() {
    let db = TestDatabase::empty().await.unwrap();
    // A boot storm: 32 replicas starting together.
    let children: Vec<_> = (0..32).map(|_| spawn_child(&db.url, "slow")).collect();
    let mut applied_total = 0;
    for child in children {
        let stdout = common::succeeded(&child.wait_with_output().unwrap(), "a child migrator");
        let applied: usize = common::reported(&stdout, "APPLIED")
            .and_then(|n| n.parse().ok())
            .expect("the child reports what it applied");
        applied_total += applied;
    }
    assert_eq!(
        applied_total, 4,
        "the four migrations were applied once in all"
    );
    let mut conn = connect(&db.url).await;
    let expected: Vec<(String, i64)> = slow_history()
        .iter()
        .map(|m| (m.hash.to_string(), m.when))
        .collect();
    assert_eq!(
        rows(&mut conn).await,
        expected,
        "exactly one row per migration"
    );
}

#[tokio::test]
async fn a_process_killed_mid_migration_leaves_nothing_and_the_next_run_applies_cleanly() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let before = schema_fingerprint(&mut conn).await;
    let mut child = spawn_child(&db.url, "hanging");
    // Wait until the child is inside the migration (its pg_sleep runs).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity where query like '%pg_sleep(600)%' and state = 'active' and pid <> pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if sleeping > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the child never started migrating"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        schema_fingerprint(&mut conn).await,
        before,
        "the killed batch left a trace"
    );
    // The killed migrator's backend is still inside its ten-minute statement. The migrator asks
    // the server to check for a dead client every second, so the session is rolled back and the
    // lock freed long before this run's lock timeout; without that check this run would fail.
    let mut after = hanging_history();
    after[3] = migration(3, after[3].when, "CREATE TABLE \"half\" (\"id\" int);\n");
    let report = Migrator::with_migrations(list(after))
        .lock_timeout(Duration::from_secs(30))
        .run(&mut conn)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 4);
    assert_eq!(rows(&mut conn).await.len(), 4);
}
