//! Rehearsal on real rows (issue 17, item 4): pending migrations run in a transaction that is
//! always rolled back; each statement is reported with its outcome, the count of rows that make
//! it fail, the locks it took, the tables it rewrote and the rows it scanned; nothing is left.

mod common;

use std::time::Duration;

use app_db::rehearse::{Outcome, Report, StatementReport};
use app_db::testing::TestDatabase;
use app_db::{Migration, Migrator};
use common::{connect, list, migration, schema_fingerprint};

/// Two tables with rows that some changes cannot take: 10 NULL logos, two pairs of duplicate
/// slugs, 3 codes longer than 3 characters, 5 three-dimensional vectors.
fn data() -> Migration {
    migration(
        0,
        1_700_000_000_000,
        "CREATE EXTENSION IF NOT EXISTS vector;\n--> statement-breakpoint\n\
         CREATE TABLE \"organization\" (\"id\" integer PRIMARY KEY, \"name\" text, \"slug\" text, \"code\" text, \"logo\" text);\n--> statement-breakpoint\n\
         INSERT INTO \"organization\" SELECT g, 'org ' || g, CASE WHEN g IN (1, 2) THEN 'dup-a' WHEN g IN (3, 4) THEN 'dup-b' ELSE 'slug-' || g END, \
         CASE WHEN g <= 3 THEN 'long-' || g ELSE 'c' || (g % 10) END, CASE WHEN g % 10 = 0 THEN NULL ELSE 'logo.png' END FROM generate_series(1, 100) g;\n--> statement-breakpoint\n\
         CREATE TABLE \"doc\" (\"id\" integer PRIMARY KEY, \"embedding\" vector(3));\n--> statement-breakpoint\n\
         INSERT INTO \"doc\" SELECT g, '[1,2,3]' FROM generate_series(1, 5) g;\n",
    )
}

const CHANGES: [&str; 11] = [
    "ALTER TABLE \"organization\" ALTER COLUMN \"logo\" SET NOT NULL;",
    "ALTER TABLE \"organization\" ADD COLUMN \"billing_email\" text NOT NULL;",
    "ALTER TABLE \"organization\" ADD CONSTRAINT \"organization_slug_unique\" UNIQUE(\"slug\");",
    "ALTER TABLE \"organization\" ALTER COLUMN \"code\" SET DATA TYPE varchar(3);",
    "ALTER TABLE \"doc\" ALTER COLUMN \"embedding\" SET DATA TYPE vector(2);",
    "ALTER TABLE \"organization\" ADD COLUMN \"plan\" text DEFAULT 'free' NOT NULL;",
    "ALTER TABLE \"organization\" ALTER COLUMN \"name\" SET NOT NULL;",
    "CREATE INDEX \"organization_name_idx\" ON \"organization\" USING btree (\"name\");",
    "ALTER TABLE \"organization\" ALTER COLUMN \"id\" SET DATA TYPE bigint;",
    "CREATE TABLE \"invoice\" (\"id\" serial PRIMARY KEY, \"organization_id\" integer REFERENCES \"organization\"(\"id\"));",
    "ALTER TABLE \"organization\" ADD CONSTRAINT \"organization_code_check\" CHECK (length(\"code\") < 5);",
];

fn changes() -> Migration {
    migration(
        1,
        1_700_000_100_000,
        &CHANGES.join("\n--> statement-breakpoint\n"),
    )
}

fn concurrent() -> Migration {
    migration(
        2,
        1_700_000_200_000,
        "-- app-db:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"organization_name_unique\" ON \"organization\" (\"name\");\n--> statement-breakpoint\nVACUUM \"organization\";\n",
    )
}

fn statement(report: &Report, migration: usize, index: usize) -> &StatementReport {
    &report.migrations[migration].statements[index - 1]
}

fn offending(s: &StatementReport) -> Option<i64> {
    s.error.as_ref().and_then(|e| e.offending_rows)
}

fn sqlstate(s: &StatementReport) -> Option<&str> {
    s.error.as_ref().and_then(|e| e.sqlstate.as_deref())
}

async fn snapshot(conn: &mut sqlx::PgConnection) -> (Vec<String>, i64, i64) {
    let orgs: i64 = sqlx::query_scalar("select count(*) from organization")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let invalid: i64 = sqlx::query_scalar("select count(*) from pg_index where not indisvalid")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    (schema_fingerprint(conn).await, orgs, invalid)
}

#[tokio::test]
async fn every_statement_is_rehearsed_on_the_rows_and_nothing_is_left() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    Migrator::with_migrations(list(vec![data()]))
        .run(&mut conn)
        .await
        .unwrap();
    let before = snapshot(&mut conn).await;
    let migrator = Migrator::with_migrations(list(vec![data(), changes(), concurrent()]));
    let report = migrator.rehearse(&mut conn, None).await.unwrap();

    assert!(report.rolled_back);
    assert_eq!(report.migrations.len(), 2);
    assert_eq!(report.statements, 13);
    // (statement, outcome, SQLSTATE, offending rows)
    let expected = [
        (1, Outcome::Failed, Some("23502"), Some(10)),
        (2, Outcome::Failed, Some("23502"), Some(100)),
        (3, Outcome::Failed, Some("23505"), Some(4)),
        (4, Outcome::Failed, Some("22001"), Some(3)),
        (5, Outcome::Failed, Some("22000"), Some(5)),
        (6, Outcome::Ok, None, None),
        (7, Outcome::Ok, None, None),
        (8, Outcome::Ok, None, None),
        (9, Outcome::Ok, None, None),
        (10, Outcome::Ok, None, None),
        (11, Outcome::Failed, Some("23514"), Some(3)),
    ];
    for (index, outcome, state, rows) in expected {
        let s = statement(&report, 0, index);
        assert_eq!(
            (s.outcome, sqlstate(s), offending(s)),
            (outcome, state, rows),
            "statement {index}: {s:?}"
        );
    }
    assert_eq!(report.failed, 6);
    assert!(!statement(&report, 0, 1).after_failure);
    assert!(statement(&report, 0, 2).after_failure);
    // No detail: it would quote row values (the duplicate slug).
    assert!(
        !statement(&report, 0, 3)
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("dup-a")
    );

    // Locks, rewrites, scans.
    let plan = statement(&report, 0, 6);
    assert_eq!(
        plan.rewrites,
        Vec::<String>::new(),
        "a constant default rewrites nothing"
    );
    assert!(
        plan.locks.iter().any(|l| l.relation == "organization"
            && l.mode == "AccessExclusiveLock"
            && l.kind == "table"
            && l.blocks_the_app
            && !l.new_relation),
        "{:?}",
        plan.locks
    );
    let not_null = statement(&report, 0, 7);
    assert!(
        not_null
            .rows_scanned
            .iter()
            .any(|s| s.relation == "organization" && s.rows == 100),
        "SET NOT NULL reads every row: {:?}",
        not_null.rows_scanned
    );
    assert!(
        not_null.locks.is_empty(),
        "ACCESS EXCLUSIVE was already held: {:?}",
        not_null.locks
    );
    assert_eq!(
        statement(&report, 0, 9).rewrites,
        ["organization"],
        "int to bigint rewrites"
    );
    let index = statement(&report, 0, 8);
    assert!(
        index
            .locks
            .iter()
            .any(|l| l.relation == "organization" && l.mode == "ShareLock"),
        "{:?}",
        index.locks
    );
    let create = statement(&report, 0, 10);
    assert!(
        create
            .locks
            .iter()
            .any(|l| l.relation == "invoice" && l.new_relation),
        "{:?}",
        create.locks
    );
    assert!(
        create.locks.iter().any(|l| l.relation == "organization"
            && l.mode == "ShareRowExclusiveLock"
            && !l.new_relation),
        "the foreign key locks the referenced table: {:?}",
        create.locks
    );

    // The no-transaction migration: the build without CONCURRENTLY, VACUUM not rehearsed.
    let build = statement(&report, 1, 1);
    assert_eq!(build.outcome, Outcome::Ok, "{build:?}");
    assert_eq!(
        build.rehearsed_as.as_deref(),
        Some(
            "CREATE UNIQUE INDEX IF NOT EXISTS \"organization_name_unique\" ON \"organization\" (\"name\");"
        )
    );
    let vacuum = statement(&report, 1, 2);
    assert_eq!(
        (vacuum.outcome, sqlstate(vacuum)),
        (Outcome::NotRehearsed, Some("25001"))
    );
    assert_eq!(report.not_rehearsed, 1);
    assert!(!report.passed());

    // The text and the JSON shape.
    let text = report.to_string();
    assert!(
        text.contains("offending rows: 10 (rows where \"logo\" is null)"),
        "{text}"
    );
    assert!(text.contains("rewrote organization"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "rolled_back",
        "lock_timeout_ms",
        "migrations",
        "statements",
        "failed",
        "not_rehearsed",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    let first = &json["migrations"][0]["statements"][0];
    for key in [
        "index",
        "sql",
        "rehearsed_as",
        "outcome",
        "elapsed_ms",
        "locks",
        "rewrites",
        "rows_scanned",
        "error",
        "after_failure",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["outcome"], "failed");
    assert_eq!(first["error"]["offending_rows"], 10);

    // Nothing is left: same schema, same rows, no bookkeeping table, no invalid index.
    assert_eq!(snapshot(&mut conn).await, before);
    let bookkeeping: Option<String> =
        sqlx::query_scalar("select to_regclass('drizzle.__drizzle_migrations')::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        bookkeeping.as_deref(),
        Some("drizzle.__drizzle_migrations"),
        "only the run before"
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from drizzle.__drizzle_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_statement_behind_a_long_transaction_times_out_naming_it_and_the_rest_goes_on() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    Migrator::with_migrations(list(vec![data()]))
        .run(&mut conn)
        .await
        .unwrap();
    let mut reader = connect(&db.url).await;
    let reader_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    sqlx::raw_sql("begin; select count(*) from organization")
        .execute(&mut reader)
        .await
        .unwrap();
    let pending = migration(
        1,
        1_700_000_100_000,
        "ALTER TABLE \"organization\" ADD COLUMN \"x\" text;\n--> statement-breakpoint\nALTER TABLE \"doc\" ADD COLUMN \"y\" text;\n",
    );
    let migrator = Migrator::with_migrations(list(vec![data(), pending]))
        .ddl_lock_timeout(Duration::from_millis(500))
        .watch_blockers(app_db::init::connect_options(&db.url).unwrap());
    let report = migrator.rehearse(&mut conn, None).await.unwrap();
    let blocked = statement(&report, 0, 1);
    assert_eq!(
        (blocked.outcome, sqlstate(blocked)),
        (Outcome::Failed, Some("55P03"))
    );
    assert!(
        blocked
            .error
            .as_ref()
            .unwrap()
            .blockers
            .iter()
            .any(|b| b.pid == reader_pid),
        "{blocked:?}"
    );
    assert_eq!(statement(&report, 0, 2).outcome, Outcome::Ok);
    assert_eq!(report.lock_timeout_ms, 500);
    sqlx::raw_sql("commit").execute(&mut reader).await.unwrap();
}
