//! `mark-applied` and `baseline` (`app_db::recovery::Recorder`) re-check the live schema under
//! the migration lock before writing rows: the first comparison runs without the lock, and
//! another migrator may change the schema while it runs.

mod common;

use std::time::{Duration, Instant};

use app_db::recovery::{RecordOptions, Recorder};
use app_db::testing::TestDatabase;
use app_db::{Error, Migrator};
use common::{connect, list, rows, three};

/// Waits until someone is queued for the advisory lock `key` in the test's database.
async fn wait_for_a_waiter(conn: &mut sqlx::PgConnection, key: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_locks where locktype = 'advisory' and not granted \
             and objid = ($1::bigint & 4294967295)::oid \
             and database = (select oid from pg_database where datname = current_database())",
        )
        .bind(key)
        .fetch_one(&mut *conn)
        .await
        .expect("read pg_locks");
        if waiting > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the recorder never queued for the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `mark-applied` of every migration of `three()`, applied out of band (schema, no rows), while
/// another connection holds the migration lock as another migrator would: once the recorder
/// has compared (equal) and queued for the lock, the holder runs `ddl` (if any) and lets go.
/// Returns the recording's outcome and a connection to the database.
async fn mark_applied_while_locked(
    ddl: Option<&'static str>,
) -> (
    Result<app_db::recovery::RecordReport, Error>,
    sqlx::PgConnection,
) {
    let db = TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a test database is needed: {e}"));
    let migrations = list(three());
    let migrator = Migrator::with_migrations(migrations);
    let mut live = connect(&db.url).await;
    for m in migrations {
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut live)
            .await
            .expect("apply by hand");
    }
    let key = migrator.lock().key();
    let mut holder = connect(&db.url).await;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut holder)
        .await
        .unwrap();
    let mut watcher = connect(&db.url).await;
    let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
    let recorder = Recorder::new(&migrator, options, RecordOptions::default());
    let (recorded, ()) = tokio::join!(recorder.mark_applied(&mut live, migrations[2].tag), async {
        wait_for_a_waiter(&mut watcher, key).await;
        if let Some(ddl) = ddl {
            sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
                .execute(&mut holder)
                .await
                .unwrap();
        }
        sqlx::query("select pg_advisory_unlock($1)")
            .bind(key)
            .execute(&mut holder)
            .await
            .unwrap();
    });
    (recorded, watcher)
}

/// The schema changes after the first comparison and before the rows are written: nothing is
/// recorded, and the error shows the difference.
#[tokio::test]
async fn a_schema_changed_while_waiting_for_the_lock_is_refused() {
    let (recorded, mut conn) =
        mark_applied_while_locked(Some("ALTER TABLE \"c\" ADD COLUMN \"sneaked_in\" int")).await;
    let err = recorded.expect_err("the changed schema must be refused");
    let message = err.to_string();
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{message}");
    assert!(message.contains("sneaked_in"), "{message}");
    let table: Option<String> =
        sqlx::query_scalar("select to_regclass('drizzle.__drizzle_migrations')::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    if table.is_some() {
        assert!(rows(&mut conn).await.is_empty(), "rows were recorded");
    }
}

/// Without interference the same sequence records the rows (the re-check passes).
#[tokio::test]
async fn an_unchanged_schema_is_recorded_after_waiting_for_the_lock() {
    let (recorded, mut conn) = mark_applied_while_locked(None).await;
    assert_eq!(recorded.expect("recorded").recorded.len(), 3);
    let expected: Vec<(String, i64)> = three()
        .iter()
        .map(|m| (m.hash.to_string(), m.when))
        .collect();
    assert_eq!(rows(&mut conn).await, expected);
}
