//! `up` and `fresh` under the DDL lock rules, through the built binary: a statement that waits
//! behind a long transaction is retried within `--ddl-retry-budget` and then fails naming the
//! blocker (exit 1), with nothing changed.

mod common;

use app_db::MIGRATIONS;
use app_db::testing::TestDatabase;
use common::migration_on;
use sqlx::{Connection, PgConnection};

async fn connect(db: &TestDatabase) -> PgConnection {
    PgConnection::connect(&db.url)
        .await
        .expect("connect to the test database")
}

async fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A session that read `organization` in a transaction it keeps open; returns it and its pid.
async fn long_reader(db: &TestDatabase) -> (PgConnection, i32) {
    let mut conn = connect(db).await;
    sqlx::raw_sql("set application_name = 'the-report'")
        .execute(&mut conn)
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql("begin; select count(*) from organization")
        .execute(&mut conn)
        .await
        .unwrap();
    (conn, pid)
}

#[tokio::test]
async fn up_retries_then_names_the_blocker_and_changes_nothing() {
    let db = TestDatabase::migrated().await.unwrap();
    let mut conn = connect(&db).await;
    let last = MIGRATIONS.last().unwrap();
    // The last migration pending again, its table created by an open transaction.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "delete from drizzle.__drizzle_migrations where hash = '{}'; drop table saas_metrics_daily",
        last.hash
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let mut blocker = connect(&db).await;
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut blocker)
        .await
        .unwrap();
    sqlx::raw_sql(
        "set application_name = 'the-blocker'; begin; create table saas_metrics_daily (x int)",
    )
    .execute(&mut blocker)
    .await
    .unwrap();
    let run = migration_on(
        &db.url,
        &[
            "up",
            "--ddl-lock-timeout",
            "200",
            "--ddl-retry-budget",
            "1000",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout
            .contains("lock timeout (attempt 1): rolled back, retrying in"),
        "{}",
        run.all()
    );
    for expected in [
        format!("error: migration {} statement 1 of", last.tag),
        format!("backend pid {pid} (the-blocker), idle in transaction"),
        format!("select pg_terminate_backend({pid})"),
        "nothing was changed".to_string(),
    ] {
        assert!(
            run.stderr.contains(&expected),
            "{expected:?}:\n{}",
            run.all()
        );
    }
    assert_eq!(
        count(
            &mut conn,
            "select count(*) from drizzle.__drizzle_migrations"
        )
        .await,
        MIGRATIONS.len() as i64 - 1
    );
    sqlx::raw_sql("rollback")
        .execute(&mut blocker)
        .await
        .unwrap();
    let run = migration_on(&db.url, &["up"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // The environment variables are read too.
    let bad = common::migration(&["-u", &db.url, "up", "--ddl-lock-timeout", "2s"]);
    assert_eq!(bad.code, 64, "{}", bad.all());
    assert!(bad.stderr.contains("--ddl-lock-timeout"), "{}", bad.all());
}

#[tokio::test]
async fn fresh_drops_nothing_while_a_reader_holds_a_table() {
    let db = TestDatabase::migrated().await.unwrap();
    let mut conn = connect(&db).await;
    let (mut reader, pid) = long_reader(&db).await;
    let run = migration_on(
        &db.url,
        &[
            "fresh",
            "--yes",
            "--ddl-lock-timeout",
            "200",
            "--ddl-retry-budget",
            "800",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("the statements dropping the app's schemas could not get their lock")
            && run
                .stderr
                .contains(&format!("backend pid {pid} (the-report)")),
        "{}",
        run.all()
    );
    assert_eq!(
        count(
            &mut conn,
            "select count(*) from drizzle.__drizzle_migrations"
        )
        .await,
        MIGRATIONS.len() as i64,
        "nothing was dropped"
    );
    sqlx::raw_sql("commit").execute(&mut reader).await.unwrap();
}
