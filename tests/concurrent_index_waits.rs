//! What `CREATE INDEX CONCURRENTLY` waits for on PostgreSQL 16, and whether `lock_timeout`
//! bounds each wait: the facts the migrator's no-transaction path relies on (docs/cli.md,
//! "What CREATE INDEX CONCURRENTLY waits for"). For each wait: the build waits, the app's reads
//! and writes on the table go on meanwhile, `pg_blocking_pids` names the blocker, and the wait
//! ends with SQLSTATE 55P03 at the lock timeout; what the build leaves behind is checked too.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_db::testing::TestDatabase;
use common::connect;
use sqlx::PgConnection;

const DEADLINE: Duration = Duration::from_secs(30);

/// The build's lock timeout: the app's reads and writes must finish inside it while the build
/// waits. Generous, so a loaded machine cannot reorder the events; the wait's end is still
/// proven to be the timeout (55P03).
const BUILD_LOCK_TIMEOUT: &str = "set lock_timeout = '8s'";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    BuildWaits,
    AppDone,
    BuildFailed,
}

async fn setup(db: &TestDatabase) -> PgConnection {
    let mut conn = connect(&db.url).await;
    sqlx::raw_sql(
        "create table t (id int, name text); insert into t select g, 'n' || g from generate_series(1, 10000) g; \
         create table other (x int); insert into other values (1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn
}

/// The index's validity: `None` when no index named `t_name_idx` exists.
async fn index_state(conn: &mut PgConnection) -> Option<bool> {
    sqlx::query_scalar(
        "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 't_name_idx'",
    )
    .fetch_optional(conn)
    .await
    .unwrap()
}

/// Opens `blocker` (its SQL runs in a transaction left open), starts the build with a
/// [`BUILD_LOCK_TIMEOUT`] lock timeout, and records the order of events. Returns what the build waited on
/// (`wait_event`), the pids `pg_blocking_pids` named, the blocker's pid and the build's error.
async fn scenario(
    db: &TestDatabase,
    blocker_sql: &str,
) -> (String, Vec<i32>, i32, String, Vec<Event>) {
    let mut blocker = connect(&db.url).await;
    let blocker_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut blocker)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(blocker_sql.to_string()))
        .execute(&mut blocker)
        .await
        .unwrap();
    // Connected before the build starts, so the build's lock timeout does not run while the
    // app connects.
    let mut app = connect(&db.url).await;
    let mut observer = connect(&db.url).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let url = db.url.clone();
    let build_events = events.clone();
    let build = tokio::spawn(async move {
        let mut conn = connect(&url).await;
        sqlx::raw_sql(BUILD_LOCK_TIMEOUT)
            .execute(&mut conn)
            .await
            .unwrap();
        let result = sqlx::raw_sql("create index concurrently t_name_idx on t (name)")
            .execute(&mut conn)
            .await;
        build_events.lock().unwrap().push(Event::BuildFailed);
        result.map(|_| ()).map_err(|e| match e {
            sqlx::Error::Database(db) => db.code().unwrap_or_default().into_owned(),
            other => other.to_string(),
        })
    });
    let started = Instant::now();
    let (wait_event, blocking) = loop {
        let row: Option<(String, Vec<i32>)> = sqlx::query_as(
            "select wait_event, pg_blocking_pids(pid) from pg_stat_activity \
             where query like 'create index concurrently%' and wait_event_type = 'Lock' \
             and datname = current_database()",
        )
        .fetch_optional(&mut observer)
        .await
        .unwrap();
        // The snapshot wait goes through every older snapshot in turn (the observer's own
        // short queries included): wait until it is the blocker's turn.
        if let Some(found) = row.filter(|(_, pids)| pids.contains(&blocker_pid)) {
            break found;
        }
        assert!(started.elapsed() < DEADLINE, "the build never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    events.lock().unwrap().push(Event::BuildWaits);
    // The app reads and writes the table while the build waits.
    let n: i64 = sqlx::query_scalar("select count(*) from t where id <= 10")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert_eq!(n, 10);
    sqlx::query("insert into t values (0, 'app')")
        .execute(&mut app)
        .await
        .unwrap();
    sqlx::query("update t set name = name where id = 1")
        .execute(&mut app)
        .await
        .unwrap();
    events.lock().unwrap().push(Event::AppDone);
    let error = build
        .await
        .unwrap()
        .expect_err("the build times out while the blocker stays");
    sqlx::raw_sql("rollback")
        .execute(&mut blocker)
        .await
        .unwrap();
    let events = events.lock().unwrap().clone();
    (wait_event, blocking, blocker_pid, error, events)
}

/// One wait of the build: what it waits on, that `pg_blocking_pids` names the blocker, that the
/// lock timeout ends it (55P03) after the app's reads and writes went through, and what the
/// failed build leaves (`left`: the index's validity, `None` for no index).
async fn assert_wait(blocker_sql: &str, wait: &str, left: Option<bool>, why_left: &str) {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = setup(&db).await;
    let (wait_event, blocking, pid, error, events) = scenario(&db, blocker_sql).await;
    assert_eq!(wait_event, wait);
    assert_eq!(blocking, [pid]);
    assert_eq!(error, "55P03", "lock_timeout bounds this wait");
    assert_eq!(
        events,
        [Event::BuildWaits, Event::AppDone, Event::BuildFailed]
    );
    assert_eq!(index_state(&mut conn).await, left, "{why_left}");
}

#[tokio::test]
async fn waiting_for_the_share_update_exclusive_lock() {
    assert_wait(
        "begin; lock table t in share update exclusive mode",
        "relation",
        None,
        "timed out before its catalog entry: nothing is left",
    )
    .await;
}

#[tokio::test]
async fn waiting_for_older_transactions_that_wrote_to_the_table() {
    assert_wait(
        "begin; insert into t values (-1, 'writer')",
        "virtualxid",
        Some(false),
        "the catalog entry was committed first: an INVALID index is left",
    )
    .await;
}

#[tokio::test]
async fn waiting_for_older_snapshots_after_the_build() {
    // A snapshot older than the build, on another table: the build itself is done, and then
    // waits for every older snapshot of the database.
    assert_wait(
        "begin isolation level repeatable read; select count(*) from other",
        "virtualxid",
        Some(false),
        "the build's work is lost: an INVALID index is left",
    )
    .await;
}
