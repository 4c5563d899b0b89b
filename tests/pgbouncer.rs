//! The library behind a real PgBouncer in transaction pooling mode (`app_db::testing::pgbouncer`):
//! `init()` pooling through it while migrating on `DATABASE_DIRECT_URL`, and a
//! `-- app-db:no-transaction` migration with and without a direct connection.
//! When `pgbouncer` is not installed these tests fail, saying how to install it.

mod common;

use app_db::testing::TestDatabase;
use app_db::testing::pgbouncer::PgBouncer;
use app_db::{Config, Error, Migrator};
use common::{connect, list, migration, rows};

fn bouncer() -> PgBouncer {
    PgBouncer::start().unwrap_or_else(|e| panic!("PgBouncer is needed: {e}"))
}

async fn empty_db() -> TestDatabase {
    TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a test database is needed: {e}"))
}

/// A table, then an index built concurrently (which cannot run inside a transaction).
fn with_concurrent_index() -> &'static [app_db::Migration] {
    list(vec![
        migration(0, 1_700_000_000_000, "CREATE TABLE \"t\" (\"id\" int);\n"),
        migration(
            1,
            1_700_000_100_000,
            "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY \"t_id_idx\" ON \"t\" (\"id\");\n",
        ),
    ])
}

/// Makes PgBouncer open several server connections, so that (handed out in turn) a client's
/// consecutive transactions land on different server sessions, as they do under load.
async fn warm(pool_url: &str, sessions: usize) {
    let mut clients = Vec::new();
    for _ in 0..sessions {
        let mut conn = connect(pool_url).await;
        sqlx::raw_sql("begin; select 1")
            .execute(&mut conn)
            .await
            .expect("open a transaction through PgBouncer");
        clients.push(conn);
    }
    for conn in &mut clients {
        sqlx::raw_sql("commit")
            .execute(&mut *conn)
            .await
            .expect("commit through PgBouncer");
    }
}

async fn backend_pids(pool_url: &str, statements: usize) -> Vec<i32> {
    let mut conn = connect(pool_url).await;
    let mut pids = Vec::new();
    for _ in 0..statements {
        // The simple query protocol: one message, one server session.
        let row = sqlx::raw_sql("select pg_backend_pid()::text as pid")
            .fetch_one(&mut conn)
            .await
            .expect("query through PgBouncer");
        let pid: String = sqlx::Row::get(&row, "pid");
        pids.push(pid.parse().expect("a pid"));
    }
    pids
}

#[tokio::test]
async fn the_connections_really_go_through_pgbouncer_in_transaction_mode() {
    let db = empty_db().await;
    let bouncer = bouncer();
    let pooled = bouncer.url_for(&db.name);
    warm(&pooled, 2).await;
    // Transaction pooling: one client's statements run on different server sessions.
    let pids = backend_pids(&pooled, 4).await;
    assert!(
        pids.windows(2).any(|w| w[0] != w[1]),
        "every statement ran on one server session ({pids:?}): not transaction pooling; log:\n{}",
        bouncer.log()
    );
}

/// The bookkeeping rows counted through `pool` (the simple query protocol: PgBouncer 1.18 in
/// transaction mode cannot carry sqlx's prepared statements, see README).
async fn pooled_rows(pool: &sea_orm::DatabaseConnection) -> usize {
    let mut conn = pool
        .get_postgres_connection_pool()
        .acquire()
        .await
        .expect("a pooled connection");
    let row = sqlx::raw_sql("select count(*)::text as n from drizzle.__drizzle_migrations")
        .fetch_one(&mut *conn)
        .await
        .expect("query through the pool");
    let n: String = sqlx::Row::get(&row, "n");
    n.parse().expect("a count")
}

#[tokio::test]
async fn init_pools_through_pgbouncer_and_migrates_on_the_direct_url() {
    let db = empty_db().await;
    let bouncer = bouncer();
    let config = Config::default()
        .database_url(bouncer.url_for(&db.name))
        .direct_url(db.url.clone());
    let (pool, boot) = app_db::init::open(&config)
        .await
        .unwrap_or_else(|e| panic!("init through PgBouncer: {e}\n{}", bouncer.log()));
    let applied = boot.migrations.expect("init migrated").applied.len();
    assert_eq!(applied, app_db::MIGRATIONS.len());
    // The pool answers through PgBouncer, with the migrated schema.
    for _ in 0..3 {
        assert_eq!(pooled_rows(&pool).await, app_db::MIGRATIONS.len());
    }
    let mut direct = connect(&db.url).await;
    assert_eq!(rows(&mut direct).await.len(), app_db::MIGRATIONS.len());
    // A second boot through the same pooler finds everything applied.
    let (_, again) = app_db::init::open(&config).await.expect("second boot");
    assert!(again.migrations.expect("migrated").applied.is_empty());
}

/// Not a test on its own: `app_db::init()` in a child process, configured by the environment
/// the parent sets (DATABASE_URL through PgBouncer, DATABASE_DIRECT_URL direct).
#[tokio::test]
async fn child_init_from_the_environment() {
    if std::env::var_os("APP_DB_TEST_PGBOUNCER_INIT").is_none() {
        return;
    }
    common::child_started("init");
    let pool = app_db::init().await.expect("init() through PgBouncer");
    println!("\nROWS {}", pooled_rows(pool).await);
}

#[tokio::test]
async fn init_reads_database_direct_url_from_the_environment() {
    let db = empty_db().await;
    let bouncer = bouncer();
    let out = common::rerun_self("child_init_from_the_environment")
        .env("APP_DB_TEST_PGBOUNCER_INIT", "1")
        .env("DATABASE_URL", bouncer.url_for(&db.name))
        .env("DATABASE_DIRECT_URL", &db.url)
        .env_remove("APP_DB_EMBEDDED")
        .output()
        .expect("run the child");
    let stdout = common::succeeded(&out, "init() through PgBouncer");
    assert_eq!(
        common::reported(&stdout, "ROWS"),
        Some(app_db::MIGRATIONS.len().to_string()),
        "{stdout}\n{}",
        bouncer.log()
    );
}

#[tokio::test]
async fn a_no_transaction_migration_through_pgbouncer_is_refused_and_leaves_nothing() {
    let db = empty_db().await;
    let bouncer = bouncer();
    let pooled = bouncer.url_for(&db.name);
    warm(&pooled, 3).await;
    let migrator = Migrator::with_migrations(with_concurrent_index());
    let mut conn = connect(&pooled).await;
    let err = migrator
        .run(&mut conn)
        .await
        .expect_err("a session lock cannot be held through transaction pooling");
    let message = err.to_string();
    assert!(matches!(err, Error::Refused { .. }), "{message}");
    assert!(
        message.contains("DATABASE_DIRECT_URL") && message.contains("transaction"),
        "{message}"
    );
    // Nothing applied, nothing recorded, no lock left on a pooled server session.
    let mut direct = connect(&db.url).await;
    let table: Option<String> = sqlx::query_scalar("select to_regclass('t')::text")
        .fetch_one(&mut direct)
        .await
        .unwrap();
    assert_eq!(table, None, "the refused run created a table");
    let held: i64 = sqlx::query_scalar(
        "select count(*) from pg_locks where locktype = 'advisory' and objid = ($1::bigint & 4294967295)::oid \
         and database = (select oid from pg_database where datname = current_database())",
    )
    .bind(migrator.lock().key())
    .fetch_one(&mut direct)
    .await
    .unwrap();
    assert_eq!(
        held, 0,
        "the migration lock is still held somewhere after: {message}"
    );
    // With the direct URL it applies, and the pooled URL sees the result.
    let report = migrator.run(&mut direct).await.expect("direct run");
    assert_eq!(report.applied.len(), 2);
    let row = sqlx::raw_sql(
        "select indisvalid::text as valid from pg_index where indexrelid = 't_id_idx'::regclass",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the index, seen through PgBouncer");
    assert_eq!(sqlx::Row::get::<String, _>(&row, "valid"), "true");
    assert_eq!(rows(&mut direct).await.len(), 2);
    // Up to date: the pooled URL is fine again (the fast path takes no lock).
    assert!(migrator.run(&mut conn).await.unwrap().applied.is_empty());
}

/// Not a test on its own: the body of the child process that
/// `no_pgbouncer_outlives_its_test_process` starts and kills.
#[test]
fn child_holding_a_pgbouncer() {
    if std::env::var_os("APP_DB_TEST_PGBOUNCER_CHILD").is_none() {
        return;
    }
    common::child_started("pgbouncer");
    let bouncer = bouncer();
    println!("\nPGBOUNCER_PID {}", bouncer.pid());
    std::thread::sleep(std::time::Duration::from_secs(120));
}

fn running(pid: u32) -> bool {
    // Gone, or a zombie nobody has reaped yet: either way not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .is_some_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
}

fn wait_until_gone(pid: u32, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while running(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "pgbouncer {pid} still runs 20 s after {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn no_pgbouncer_outlives_its_test_process() {
    use std::io::BufRead;
    let mut child = common::rerun_self("child_holding_a_pgbouncer")
        .env("APP_DB_TEST_PGBOUNCER_CHILD", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the child test process");
    let stdout = child.stdout.take().expect("piped stdout");
    let pid: u32 = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.split_once("PGBOUNCER_PID ")?.1.trim().parse().ok())
        .expect("the child prints its PgBouncer's pid");
    assert!(
        running(pid),
        "pgbouncer {pid} should run while the child lives"
    );
    child.kill().expect("kill -9 the child");
    child.wait().expect("reap the child");
    wait_until_gone(pid, "its test process was killed");
}

#[test]
fn dropping_a_pgbouncer_stops_it() {
    let bouncer = bouncer();
    let pid = bouncer.pid();
    assert!(running(pid));
    drop(bouncer);
    wait_until_gone(pid, "it was dropped");
}

/// A migration through PgBouncer in transaction mode whose statement waits behind a long
/// transaction: bounded, retried, and the blocker is named although every attempt may run on
/// another server session (the backend pid is read inside each attempt's transaction, and the
/// watching connection goes through the pooler too).
#[tokio::test]
async fn lock_waits_are_bounded_and_blockers_named_through_pgbouncer() {
    let db = empty_db().await;
    let bouncer = bouncer();
    let pooled = bouncer.url_for(&db.name);
    warm(&pooled, 3).await;
    let table = migration(
        0,
        1_700_000_000_000,
        "CREATE TABLE \"t\" (\"id\" int);\n--> statement-breakpoint\nINSERT INTO \"t\" VALUES (1);\n",
    );
    let alter = migration(
        1,
        1_700_000_100_000,
        "ALTER TABLE \"t\" ADD COLUMN \"note\" text;\n",
    );
    let mut direct = connect(&db.url).await;
    Migrator::with_migrations(list(vec![table]))
        .run(&mut direct)
        .await
        .unwrap();
    let mut blocker = connect(&db.url).await;
    let blocker_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut blocker)
        .await
        .unwrap();
    sqlx::raw_sql("begin; select count(*) from t")
        .execute(&mut blocker)
        .await
        .unwrap();
    let migrator = |budget_ms| {
        Migrator::with_migrations(list(vec![table, alter]))
            .ddl_lock_timeout(std::time::Duration::from_millis(200))
            .ddl_retry_budget(std::time::Duration::from_millis(budget_ms))
            .watch_blockers(app_db::init::connect_options(&pooled).unwrap())
    };
    let mut through_pooler = connect(&pooled).await;
    let err = migrator(1_500)
        .run(&mut through_pooler)
        .await
        .expect_err("the blocker outlives the budget");
    assert!(
        matches!(&err, Error::LockBudgetSpent(s) if s.attempts >= 2 && s.blockers.iter().any(|b| b.pid == blocker_pid)),
        "{err}\n{}",
        bouncer.log()
    );
    assert!(
        err.to_string()
            .contains(&format!("pg_terminate_backend({blocker_pid})")),
        "{err}"
    );
    assert_eq!(rows(&mut direct).await.len(), 1, "no bookkeeping row");
    sqlx::raw_sql("commit").execute(&mut blocker).await.unwrap();
    let report = migrator(30_000)
        .run(&mut through_pooler)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", bouncer.log()));
    assert_eq!(report.applied.len(), 1);
    assert_eq!(rows(&mut direct).await.len(), 2);
}
