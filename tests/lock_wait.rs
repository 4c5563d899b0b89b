//! Migration statements under live traffic (issue 17, item 1): a real long transaction holds a
//! table, a migration statement on that table waits behind it, and the app's queries on the
//! same table, from another connection, must still get through while the blocker holds its
//! transaction. Every assertion is about the order of events, never about durations.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_db::migrate::{Progress, Report};
use app_db::testing::TestDatabase;
use app_db::{Error, Migration, Migrator};
use common::{connect, list, migration, rows, schema_fingerprint};
use sqlx::PgConnection;

/// How long the test waits for something that must happen before it gives up on it. A
/// deadline, not a threshold: reaching it means the expected event never came.
const DEADLINE: Duration = Duration::from_secs(30);

/// The table with rows, then the change a deploy brings.
fn table() -> Migration {
    migration(
        0,
        1_700_000_000_000,
        "CREATE TABLE \"organization\" (\"id\" integer PRIMARY KEY, \"name\" text NOT NULL);\n--> statement-breakpoint\nINSERT INTO \"organization\" SELECT g, 'org ' || g FROM generate_series(1, 100) g;\n",
    )
}

fn add_column() -> Migration {
    migration(
        1,
        1_700_000_100_000,
        "ALTER TABLE \"organization\" ADD COLUMN \"billing_email\" text;\n",
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Event {
    MigrationWaits,
    AppQuery(usize),
    BlockerEnded,
    MigrationEnded,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Event>>>);

impl Log {
    fn push(&self, event: Event) {
        self.0.lock().expect("the event log").push(event);
    }
    fn events(&self) -> Vec<Event> {
        self.0.lock().expect("the event log").clone()
    }
    fn position(&self, event: &Event) -> usize {
        self.events()
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("{event:?} never happened: {:?}", self.events()))
    }
}

async fn setup(db: &TestDatabase) -> PgConnection {
    let mut conn = connect(&db.url).await;
    Migrator::with_migrations(list(vec![table()]))
        .run(&mut conn)
        .await
        .expect("the table migration applies");
    conn
}

/// A session that has read `organization` in a transaction it keeps open (a report, a
/// `pg_dump`, an idle-in-transaction session): it holds ACCESS SHARE on the table.
async fn long_reader(url: &str) -> (PgConnection, i32) {
    let mut conn = connect(url).await;
    sqlx::raw_sql("set application_name = 'the-long-report'")
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
        .expect("the long transaction reads the table");
    (conn, pid)
}

/// Waits until some backend of this test's database runs a statement containing `query_prefix`
/// and waits for a heavyweight lock (tests in parallel run the same statements in other
/// databases of the same server).
async fn until_waiting(url: &str, query_prefix: &str) {
    let mut conn = connect(url).await;
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and strpos(query, $1) > 0 \
             and datname = current_database()",
        )
        .bind(query_prefix)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no statement starting with {query_prefix:?} ever waited for a lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn migrator(db: &TestDatabase, ms: Vec<Migration>, timeout_ms: u64, budget_ms: u64) -> Migrator {
    Migrator::with_migrations(list(ms))
        .ddl_lock_timeout(Duration::from_millis(timeout_ms))
        .ddl_retry_budget(Duration::from_millis(budget_ms))
        .watch_blockers(app_db::init::connect_options(&db.url).unwrap())
}

/// Runs the migrator in a task of its own, logging the pids named by each retry.
fn spawn_migration(
    migrator: Migrator,
    url: String,
    log: Log,
    named: Arc<Mutex<Vec<i32>>>,
) -> tokio::task::JoinHandle<Result<Report, Error>> {
    tokio::spawn(async move {
        let mut conn = connect(&url).await;
        let mut progress = |p: Progress<'_>| {
            if let Progress::LockRetry { blockers, .. } = p {
                named.lock().unwrap().extend(blockers.iter().map(|b| b.pid));
            }
        };
        let result = migrator.run_with(&mut conn, None, &mut progress).await;
        log.push(Event::MigrationEnded);
        result
    })
}

/// Six app queries on the table, one every 100 ms, from a connection of their own.
fn spawn_app(url: String, log: Log) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut app = connect(&url).await;
        for i in 0..6 {
            let name: String = sqlx::query_scalar("select name from organization where id = $1")
                .bind(i as i32 + 1)
                .fetch_one(&mut app)
                .await
                .expect("the app query");
            assert_eq!(name, format!("org {}", i + 1));
            log.push(Event::AppQuery(i));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Once the migration's `ALTER` waits behind the blocker: logs it, starts the app's queries and
/// returns them.
async fn app_behind_the_waiting_alter(url: &str, log: &Log) -> tokio::task::JoinHandle<()> {
    until_waiting(url, "ALTER TABLE \"organization\"").await;
    log.push(Event::MigrationWaits);
    spawn_app(url.to_string(), log.clone())
}

/// Waits until the app's queries are all done, or the deadline passes (the assertions that
/// follow tell which).
async fn until_the_app_is_done(log: &Log) {
    let _ = tokio::time::timeout(DEADLINE, async {
        while !log.events().contains(&Event::AppQuery(5)) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn app_queries_get_through_while_a_migration_waits_behind_a_long_transaction() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = setup(&db).await;
    let (mut blocker, blocker_pid) = long_reader(&db.url).await;
    let log = Log::default();
    let named = Arc::new(Mutex::new(Vec::new()));
    let migration = spawn_migration(
        migrator(&db, vec![table(), add_column()], 300, 60_000),
        db.url.clone(),
        log.clone(),
        named.clone(),
    );
    // The ALTER is queued behind the long transaction: from now on, without a lock timeout,
    // every query on the table would queue behind it until the blocker ends.
    let app = app_behind_the_waiting_alter(&db.url, &log).await;
    // The blocker holds its transaction until the app's queries are done (or, if they never
    // get through, until the deadline: then the order below shows that they waited for it).
    until_the_app_is_done(&log).await;
    assert!(
        !log.events().contains(&Event::MigrationEnded),
        "the migration ended while the blocker still held the table: {:?}",
        log.events()
    );
    sqlx::raw_sql("commit").execute(&mut blocker).await.unwrap();
    log.push(Event::BlockerEnded);
    app.await.expect("the app task");
    let report = migration
        .await
        .expect("the migration task")
        .expect("the migration applies once the blocker ended");

    let ended = log.position(&Event::BlockerEnded);
    let waits = log.position(&Event::MigrationWaits);
    for i in 0..6 {
        let query = log.position(&Event::AppQuery(i));
        assert!(
            waits < query && query < ended,
            "app query {i} did not complete while the blocker held its transaction: {:?}",
            log.events()
        );
    }
    assert!(
        log.position(&Event::MigrationEnded) > ended,
        "{:?}",
        log.events()
    );
    assert_eq!(
        report.applied.iter().map(|a| a.tag).collect::<Vec<_>>(),
        ["0001_test_1"]
    );
    assert!(
        report.lock_attempts >= 2,
        "the migration was retried: {report:?}"
    );
    assert!(
        named.lock().unwrap().contains(&blocker_pid),
        "the retries named the blocker (pid {blocker_pid}): {:?}",
        named.lock().unwrap()
    );
    let column: Option<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns where table_name = 'organization' and column_name = 'billing_email'",
    )
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    assert_eq!(column.as_deref(), Some("billing_email"));
    assert_eq!(rows(&mut conn).await.len(), 2);
}

#[tokio::test]
async fn with_a_budget_shorter_than_the_blocker_it_fails_naming_it_and_changes_nothing() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = setup(&db).await;
    let before = (schema_fingerprint(&mut conn).await, rows(&mut conn).await);
    let (mut blocker, blocker_pid) = long_reader(&db.url).await;
    let log = Log::default();
    let migration = spawn_migration(
        migrator(&db, vec![table(), add_column()], 200, 1_000),
        db.url.clone(),
        log.clone(),
        Arc::default(),
    );
    let Ok(finished) = tokio::time::timeout(DEADLINE, migration).await else {
        sqlx::raw_sql("commit").execute(&mut blocker).await.unwrap();
        panic!("the migration never gave up while the blocker held the table");
    };
    let err = finished
        .expect("the migration task")
        .expect_err("the budget is shorter than the blocker");
    // It gave up while the blocker still held its transaction.
    let state: String = sqlx::query_scalar("select state from pg_stat_activity where pid = $1")
        .bind(blocker_pid)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(state, "idle in transaction");
    let message = err.to_string();
    let Error::LockBudgetSpent(spent) = &err else {
        panic!("expected LockBudgetSpent, got {message}");
    };
    assert!(spent.attempts >= 2, "{message}");
    assert!(
        spent.blockers.iter().any(|b| b.pid == blocker_pid
            && b.application_name == "the-long-report"
            && b.state.as_deref() == Some("idle in transaction")
            && b.query == "begin; select count(*) from organization"),
        "{message}"
    );
    for expected in [
        format!("backend pid {blocker_pid} (the-long-report)"),
        format!("select pg_terminate_backend({blocker_pid})"),
        "migration 0001_test_1 statement 1 of 1".into(),
        "APP_DB_DDL_RETRY_BUDGET".into(),
        "nothing was changed".into(),
    ] {
        assert!(message.contains(&expected), "{expected:?} in:\n{message}");
    }
    assert_eq!(
        (schema_fingerprint(&mut conn).await, rows(&mut conn).await),
        before,
        "no bookkeeping row and no schema change"
    );
    sqlx::raw_sql("commit").execute(&mut blocker).await.unwrap();
}

#[tokio::test]
async fn without_a_lock_timeout_the_app_waits_for_the_blocker() {
    // Today's behaviour before issue 17, kept reachable with a zero timeout: the contrast that
    // shows the test above measures the lock timeout and nothing else.
    let db = TestDatabase::empty().await.unwrap();
    let _conn = setup(&db).await;
    let (mut blocker, _) = long_reader(&db.url).await;
    let log = Log::default();
    let migration = spawn_migration(
        migrator(&db, vec![table(), add_column()], 0, 60_000),
        db.url.clone(),
        log.clone(),
        Arc::default(),
    );
    let app = app_behind_the_waiting_alter(&db.url, &log).await;
    until_waiting(&db.url, "select name from organization").await;
    sqlx::raw_sql("commit").execute(&mut blocker).await.unwrap();
    log.push(Event::BlockerEnded);
    app.await.expect("the app task");
    migration.await.unwrap().expect("the migration applies");
    assert!(
        log.position(&Event::AppQuery(0)) > log.position(&Event::BlockerEnded),
        "{:?}",
        log.events()
    );
}

/// A `-- app-db:no-transaction` migration with a plain `ALTER TABLE`: the same bound per
/// statement, and the session's own settings back as they were.
#[tokio::test]
async fn no_transaction_statements_are_bounded_and_retried_too() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = setup(&db).await;
    let no_tx = migration(
        1,
        1_700_000_100_000,
        "-- app-db:no-transaction\nCREATE TABLE IF NOT EXISTS \"side\" (\"id\" int);\n--> statement-breakpoint\nALTER TABLE \"organization\" ADD COLUMN IF NOT EXISTS \"billing_email\" text;\n",
    );
    let (mut blocker, blocker_pid) = long_reader(&db.url).await;
    let log = Log::default();
    let named = Arc::new(Mutex::new(Vec::new()));
    // The session's own setting, which the migrator must leave as it found it.
    let migrator = migrator(&db, vec![table(), no_tx], 300, 60_000);
    let url = db.url.clone();
    let task_log = log.clone();
    let task_named = named.clone();
    let migration = tokio::spawn(async move {
        let mut conn = connect(&url).await;
        sqlx::raw_sql("set lock_timeout = '7s'")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut progress = |p: Progress<'_>| {
            if let Progress::LockRetry { blockers, .. } = p {
                task_named
                    .lock()
                    .unwrap()
                    .extend(blockers.iter().map(|b| b.pid));
            }
        };
        let result = migrator.run_with(&mut conn, None, &mut progress).await;
        task_log.push(Event::MigrationEnded);
        let after: String = sqlx::query_scalar("select current_setting('lock_timeout')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        (result, after)
    });
    let app = app_behind_the_waiting_alter(&db.url, &log).await;
    until_the_app_is_done(&log).await;
    sqlx::raw_sql("commit").execute(&mut blocker).await.unwrap();
    log.push(Event::BlockerEnded);
    app.await.unwrap();
    let (result, setting_after) = migration.await.unwrap();
    let report = result.expect("applies after the blocker ended");
    let ended = log.position(&Event::BlockerEnded);
    for i in 0..6 {
        assert!(
            log.position(&Event::AppQuery(i)) < ended,
            "{:?}",
            log.events()
        );
    }
    assert!(log.position(&Event::MigrationEnded) > ended);
    assert_eq!(report.applied.len(), 1);
    assert!(named.lock().unwrap().contains(&blocker_pid));
    assert_eq!(
        setting_after, "7s",
        "the session's lock_timeout is back to its own value"
    );
    assert_eq!(rows(&mut conn).await.len(), 2);
}

/// `CREATE INDEX CONCURRENTLY` waiting for an older writer: the app's reads and writes go on
/// during the wait; the wait is bounded by the budget; the INVALID index the timed-out build
/// leaves cannot be dropped while the writer lives (the drop waits for it too), is named, and
/// the next run drops it before building, instead of skipping it (`IF NOT EXISTS`).
#[tokio::test]
async fn a_concurrent_index_build_is_bounded_by_the_budget_and_leaves_no_invalid_index() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = setup(&db).await;
    let index = migration(
        1,
        1_700_000_100_000,
        "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"organization_name_idx\" ON \"organization\" (\"name\");\n",
    );
    // An older transaction that wrote to the table: the build waits for it to end.
    let mut writer = connect(&db.url).await;
    let writer_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut writer)
        .await
        .unwrap();
    sqlx::raw_sql("begin; insert into organization values (1000, 'pending')")
        .execute(&mut writer)
        .await
        .unwrap();
    let log = Log::default();
    let migration_task = spawn_migration(
        migrator(&db, vec![table(), index], 200, 2_000),
        db.url.clone(),
        log.clone(),
        Arc::default(),
    );
    until_waiting(&db.url, "CREATE INDEX CONCURRENTLY").await;
    log.push(Event::MigrationWaits);
    // Reads and writes of the app while the build waits.
    let mut app = connect(&db.url).await;
    let n: i64 = sqlx::query_scalar("select count(*) from organization")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert_eq!(n, 100);
    sqlx::query("update organization set name = name where id = 1")
        .execute(&mut app)
        .await
        .unwrap();
    log.push(Event::AppQuery(0));
    let Ok(finished) = tokio::time::timeout(DEADLINE, migration_task).await else {
        sqlx::raw_sql("commit").execute(&mut writer).await.unwrap();
        panic!("the concurrent build never gave up while the writer held the table");
    };
    let err = finished
        .unwrap()
        .expect_err("the writer outlives the budget");
    let message = err.to_string();
    assert!(
        matches!(&err, Error::LockBudgetSpent(s) if s.blockers.iter().any(|b| b.pid == writer_pid)),
        "{message}"
    );
    assert!(
        message.contains("the failed build left the INVALID index organization_name_idx")
            && message.contains("the next run drops it before building again"),
        "{message}"
    );
    assert!(log.position(&Event::AppQuery(0)) < log.position(&Event::MigrationEnded));
    assert_eq!(rows(&mut conn).await.len(), 1, "no bookkeeping row");
    sqlx::raw_sql("commit").execute(&mut writer).await.unwrap();
    // The next run builds the index for real.
    migrator(&db, vec![table(), index], 200, 2_000)
        .run(&mut conn)
        .await
        .expect("the build succeeds once the writer ended");
    let valid: bool = sqlx::query_scalar(
        "select indisvalid from pg_index where indexrelid = 'organization_name_idx'::regclass",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(valid);
    let invalid: i64 = sqlx::query_scalar("select count(*) from pg_index where not indisvalid")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(invalid, 0, "no INVALID index is left behind");
}
