//! Read replicas against a real physical standby of the test server
//! (`app_db::testing::standby`: `pg_basebackup -R -X stream`, hot standby on another port):
//! search served by the standby with its HNSW index, the lag bound under a paused replay, a
//! frozen or stopped standby, read-your-writes, and `init()` waiting for the standby to replay
//! the migrations.

mod common;
#[path = "common/tenant_mix.rs"]
mod tenant_mix;

use std::time::{Duration, Instant};

use app_db::Config;
use app_db::rag::{self, SearchOptions};
use app_db::replica::{ReplicaPool, ReplicaSet, Served, route::Health};
use app_db::testing::TestDatabase;
use app_db::testing::standby::Standby;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sqlx::{Connection, PgConnection};

fn standby() -> Standby {
    Standby::start().unwrap_or_else(|e| panic!("a standby of the test server is needed: {e}"))
}

/// `init()`'s settings for `db` with `standby` as its read replica, with short intervals.
fn config(db: &TestDatabase, standby: &Standby) -> Config {
    let mut config = Config::default()
        .database_url(db.url.clone())
        .read_urls([standby.url_for(&db.name)]);
    config.pool.min = 0;
    config.pool.max = 4;
    config.pool.connect_timeout = Duration::from_secs(2);
    config.replicas.check_interval = Duration::from_millis(50);
    config.replicas.retry_first = Duration::from_millis(200);
    config.replicas.wait_timeout = Duration::from_secs(60);
    config
}

async fn open(config: &Config) -> (DatabaseConnection, ReplicaSet) {
    let (pool, boot) = app_db::init::open(config)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    let set = boot
        .replicas
        .expect("DATABASE_READ_URL attaches a replica set");
    (pool, set)
}

async fn execute(db: &impl ConnectionTrait, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar_i64(conn: &mut PgConnection, sql: &'static str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Index scans of the HNSW index counted by the server of `url` in `database`
/// (`pg_stat_user_indexes`; a standby counts its own).
async fn hnsw_scans(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    scalar_i64(
        &mut conn,
        "select coalesce(sum(idx_scan), 0)::int8 from pg_stat_user_indexes where indexrelname = $1",
        "document_chunk_embedding_idx",
    )
    .await
}

/// Search runs on the standby (its statistics count the HNSW index scans, the primary's do
/// not), through the HNSW index, with the same hits and recall as on the primary.
#[tokio::test]
async fn search_is_served_by_the_standby_through_its_hnsw_index_with_the_primarys_recall() {
    let db = TestDatabase::migrated().await.expect("a database");
    let loaded = tenant_mix::load(&db.db, 5_000, 20, tenant_mix::CLUSTERED).await;
    let standby = standby();
    let (pool, set) = open(&config(&db, &standby)).await;
    let options = SearchOptions {
        exact_max_rows: 30,
        ..SearchOptions::default()
    };
    // The exact answers, read on the primary (exact search does not use the HNSW index).
    let queries = tenant_mix::queries(&db.db, &loaded, 5, 10).await;
    let mut replica_hits = Vec::new();
    for q in &queries {
        let hits = rag::search_with(&pool, &q.tenant, &q.embedding, 10, options)
            .await
            .expect("search through the replica set");
        replica_hits.push(hits);
    }
    let lines = |plan: Vec<String>| -> String {
        plan.iter()
            .map(|l| l.chars().take(120).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let query = &queries[0].embedding;
    let plan_on_standby = lines(
        rag::explain(&pool, "mix_large", query, 10, options)
            .await
            .expect("explain on the standby"),
    );
    // Backends report their statistics when they exit: close both pools, then read them.
    set.replicas()[0]
        .pool()
        .get_postgres_connection_pool()
        .close()
        .await;
    pool.get_postgres_connection_pool().close().await;
    let standby_url = standby.url_for(&db.name);
    let deadline = Instant::now() + Duration::from_secs(30);
    while hnsw_scans(&standby_url).await == 0 {
        assert!(
            Instant::now() < deadline,
            "the standby counted no HNSW index scan: the searches did not run there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        hnsw_scans(&db.url).await,
        0,
        "HNSW index scans on the primary"
    );

    // The same searches on the primary (a transaction is never routed).
    let mut recall = [0.0_f64; 2];
    for (q, replica) in queries.iter().zip(&replica_hits) {
        let txn = db.db.begin().await.expect("begin on the primary");
        let primary = rag::search_with(&txn, &q.tenant, &q.embedding, 10, options)
            .await
            .expect("search on the primary");
        txn.commit().await.expect("commit");
        let ids = |hits: &[rag::ChunkMatch]| hits.iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(ids(replica), ids(&primary), "{} ({})", q.tenant, q.class);
        for (i, hits) in [replica, &primary].into_iter().enumerate() {
            let found = hits.iter().filter(|h| q.truth.contains(&h.id)).count();
            recall[i] += found as f64 / q.truth.len().max(1) as f64 / queries.len() as f64;
        }
    }
    println!(
        "recall@10: standby {:.3}, primary {:.3}",
        recall[0], recall[1]
    );
    assert!(recall[0] >= 0.95 && recall[0] == recall[1], "{recall:?}");
    // The plan on the standby: the HNSW index with the tenant filter, as on the primary.
    let txn = db.db.begin().await.expect("begin");
    let plan_on_primary = lines(
        rag::explain(&txn, "mix_large", query, 10, options)
            .await
            .expect("explain on the primary"),
    );
    assert!(
        plan_on_standby.contains("Index Scan using document_chunk_embedding_idx")
            && plan_on_standby.contains("Filter: (organization_id = 'mix_large'::text)"),
        "{plan_on_standby}"
    );
    assert_eq!(plan_on_standby, plan_on_primary);
}

/// A paused replay makes reads skip the standby once it is more than the lag bound behind,
/// and reads return to it once it has caught up.
#[tokio::test]
async fn a_paused_replay_moves_reads_to_the_primary_past_the_lag_bound_and_back_after_resume() {
    let db = TestDatabase::migrated().await.expect("a database");
    let standby = standby();
    let mut config = config(&db, &standby);
    config.replicas.max_lag_bytes = 64 * 1024;
    let (pool, set) = open(&config).await;
    let read = set.read().await.expect("read");
    assert!(read.on_replica(), "{:?}", read.served());
    read.commit().await.expect("commit");

    standby
        .pause_replay()
        .await
        .expect("pause the standby's replay");
    // About 1.5 MB of WAL the paused standby receives but does not replay.
    execute(
        &pool,
        "create table filler as select g, repeat('x', 100) as pad from generate_series(1, 10000) g",
    )
    .await;
    let written = set.wal_position().await.expect("position");
    tokio::time::sleep(config.replicas.check_interval * 2).await;
    let read = set.read().await.expect("read");
    assert_eq!(read.served(), &Served::Primary);
    // The primary has the new table; the paused standby would not.
    read.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "select count(*) from filler",
    ))
    .await
    .expect("the table written last is there");
    drop(read);
    let view = set.view();
    assert!(
        matches!(view[0].health.lag_bytes(), Some(lag) if lag > 64 * 1024)
            && view[0].paused == Some(true),
        "{view:?}"
    );

    standby
        .resume_replay()
        .await
        .expect("resume the standby's replay");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = set.read().await.expect("read");
        if read.on_replica() {
            // Back within the bound: at most 64 kB behind, which may still lack the table's
            // commit; a read after the write gets it there.
            let lag = set.view()[0].health.lag_bytes();
            assert!(lag.is_some_and(|lag| lag <= 64 * 1024), "{lag:?}");
            drop(read);
            let read = set.read_after(written).await.expect("read after");
            read.query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "select count(*) from filler",
            ))
            .await
            .expect("the caught-up standby has the table");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reads never returned to the standby: {:?}\n{}",
            set.view(),
            standby.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A standby that hangs (frozen: it accepts TCP and never answers) costs one read at most the
/// connect timeout; the primary serves it and the next reads without trying the standby
/// again, nothing retries it before its backoff (`retry_first`) is over, and once it answers
/// again the background retry brings it back.
#[tokio::test]
async fn a_silent_standby_costs_one_read_the_connect_timeout_then_the_primary_serves() {
    let db = TestDatabase::migrated().await.expect("a database");
    let standby = standby();
    let mut config = config(&db, &standby);
    config.pool.connect_timeout = Duration::from_secs(1);
    config.replicas.retry_first = Duration::from_secs(4);
    let (_pool, set) = open(&config).await;
    assert!(set.read().await.expect("read").on_replica());

    let frozen = standby.freeze();
    tokio::time::sleep(config.replicas.check_interval * 2).await;
    let started = Instant::now();
    let before_failure = started;
    let read = tokio::time::timeout(config.pool.connect_timeout * 3, set.read())
        .await
        .expect("a read is bounded by the connect timeout, not hung by the silent standby")
        .expect("read");
    let first = started.elapsed();
    assert_eq!(read.served(), &Served::Primary);
    let started = Instant::now();
    let read = set.read().await.expect("read");
    let second = started.elapsed();
    assert_eq!(read.served(), &Served::Primary);
    println!("frozen standby: first read {first:?}, second read {second:?}");
    // One failure recorded: the second read did not try the standby again.
    assert!(
        matches!(&set.view()[0].health, Health::Down { failures: 1, error, .. } if error.contains("no answer")),
        "{:?}",
        set.view()
    );
    // Nor do the reads that follow, nor a background retry, until the backoff is over: the
    // failure was recorded after `before_failure`, so no retry is due before `before_failure`
    // + `retry_first`; a retry of the frozen standby started by one of these reads would fail
    // a connect timeout later and count a second failure.
    let until = before_failure + config.replicas.retry_first - config.pool.connect_timeout;
    while Instant::now() < until {
        let read = set.read().await.expect("read");
        assert_eq!(read.served(), &Served::Primary);
        drop(read);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        matches!(&set.view()[0].health, Health::Down { failures: 1, .. }),
        "the frozen standby was retried before its backoff was over: {:?}",
        set.view()
    );

    drop(frozen);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !set.read().await.expect("read").on_replica() {
        assert!(
            Instant::now() < deadline,
            "the standby was never retried: {:?}",
            set.view()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stopped standby (its port refuses connections) is skipped at once for the primary.
#[tokio::test]
async fn a_stopped_standby_is_skipped_for_the_primary() {
    let db = TestDatabase::migrated().await.expect("a database");
    let mut standby = standby();
    let mut config = config(&db, &standby);
    config.replicas.retry_first = Duration::from_secs(30);
    let (_pool, set) = open(&config).await;
    assert!(set.read().await.expect("read").on_replica());
    standby.stop();
    tokio::time::sleep(config.replicas.check_interval * 2).await;
    let started = Instant::now();
    let read = tokio::time::timeout(config.pool.connect_timeout * 3, set.read())
        .await
        .expect("bounded")
        .expect("read");
    println!("stopped standby: the read took {:?}", started.elapsed());
    assert_eq!(read.served(), &Served::Primary);
    let view = set.view();
    assert!(matches!(view[0].health, Health::Down { .. }), "{view:?}");
    // The URL in the state (and so in every log line) has no password to show, and says
    // which replica it is.
    assert_eq!(view[0].url, standby.url_for(&db.name));
}

/// Read-your-writes: a read after a write, given the primary's position, sees the write: on
/// the standby, waiting for it to replay the write, or on the primary when it does not in time.
/// The standby's replay is paused while the write is made, so that it cannot have the write
/// by chance.
#[tokio::test]
async fn a_read_after_a_write_sees_the_write_from_the_standby_or_else_the_primary() {
    let db = TestDatabase::migrated().await.expect("a database");
    let standby = standby();
    let mut config = config(&db, &standby);
    config.replicas.read_after_wait = Duration::from_secs(30);
    let (pool, set) = open(&config).await;
    let count = |name: &'static str| {
        Statement::from_string(
            DbBackend::Postgres,
            format!("select count(*)::int8 as n from organization where id = '{name}'"),
        )
    };
    let rows = |row: Option<sea_orm::QueryResult>| -> i64 {
        row.expect("a row").try_get("", "n").expect("n")
    };
    assert!(set.read().await.expect("read").on_replica());

    standby.pause_replay().await.expect("pause");
    execute(
        &pool,
        "insert into organization (id, name, slug, created_at) values ('ryw_1', 'One', 'ryw-1', now())",
    )
    .await;
    let written = set.wal_position().await.expect("position");

    // A replica that cannot get there in time: the primary serves the read.
    let mut short = config.replicas.clone();
    short.read_after_wait = Duration::from_millis(300);
    let impatient = ReplicaSet::new(
        pool.clone(),
        ReplicaPool::open_all(short.configured_urls(), "DATABASE_READ_URL", &config.pool)
            .expect("pools"),
        short,
        config.pool.connect_timeout,
    );
    let read = impatient.read_after(written).await.expect("read after");
    assert_eq!(read.served(), &Served::Primary);
    assert_eq!(rows(read.query_one_raw(count("ryw_1")).await.unwrap()), 1);
    drop(read);
    // Without the position, the (paused, but within the lag bound) standby serves, without
    // the write: what read-your-writes is for.
    let read = impatient.read().await.expect("read");
    assert!(read.on_replica(), "{:?}", read.served());
    assert_eq!(rows(read.query_one_raw(count("ryw_1")).await.unwrap()), 0);
    drop(read);

    // A read after the write that may wait: it waits while the standby has not replayed the
    // write, and is served there once replay resumes.
    let waiting = tokio::spawn({
        let set = set.clone();
        async move { set.read_after(written).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the read after the write did not wait for the standby to replay it"
    );
    standby.resume_replay().await.expect("resume");
    let read = waiting.await.expect("join").expect("read after");
    assert!(read.on_replica(), "{:?}", read.served());
    assert_eq!(rows(read.query_one_raw(count("ryw_1")).await.unwrap()), 1);
}

/// `init()` with a replica returns only once the replica has replayed the migrations, and
/// names the replica when it does not within the bound (the migrations staying applied).
#[tokio::test]
async fn init_waits_for_the_standby_to_replay_the_migrations() {
    let db = TestDatabase::empty().await.expect("a database");
    let standby = standby();
    standby.pause_replay().await.expect("pause");
    let config = config(&db, &standby);
    let booting = tokio::spawn({
        let config = config.clone();
        async move { app_db::init::open(&config).await.map(|(_, boot)| boot) }
    });
    // The migrations are applied on the primary, and the boot still waits for the standby.
    let mut primary = PgConnection::connect(&db.url).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(60);
    while table_count(&mut primary, "saas_metrics_daily").await == 0 {
        assert!(Instant::now() < deadline, "the migrations never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !booting.is_finished(),
        "init() returned before the standby replayed the migrations"
    );
    let mut on_standby = PgConnection::connect(&standby.url_for(&db.name))
        .await
        .expect("connect to the standby");
    assert_eq!(table_count(&mut on_standby, "saas_metrics_daily").await, 0);
    standby.resume_replay().await.expect("resume");
    let boot = booting.await.expect("join").expect("init with the standby");
    assert_eq!(
        boot.migrations.expect("migrated").applied.len(),
        app_db::MIGRATIONS.len()
    );
    // Right after init() returned, the standby has the last migration's table.
    assert_eq!(table_count(&mut on_standby, "saas_metrics_daily").await, 1);
}

#[tokio::test]
async fn init_names_a_standby_that_does_not_replay_in_time_and_keeps_the_migrations() {
    let db = TestDatabase::empty().await.expect("a database");
    let standby = standby();
    standby.pause_replay().await.expect("pause");
    let mut config = config(&db, &standby);
    config.replicas.wait_timeout = Duration::from_secs(1);
    let error = app_db::init::open(&config)
        .await
        .expect_err("the paused standby cannot replay the migrations")
        .to_string();
    assert!(
        error.contains(
            "the migrations are applied on the primary (the database is at 0008_saas_metrics_daily)"
        ) && error.contains(&format!("{}: replayed up to", standby.url_for(&db.name)))
            && error.contains("APP_DB_WAIT_REPLICAS_TIMEOUT"),
        "{error}"
    );
    let mut primary = PgConnection::connect(&db.url).await.expect("connect");
    let rows: i64 = sqlx::query_scalar("select count(*) from drizzle.__drizzle_migrations")
        .fetch_one(&mut primary)
        .await
        .expect("bookkeeping");
    assert_eq!(rows as usize, app_db::MIGRATIONS.len());
    standby.resume_replay().await.expect("resume");
}

/// With no `DATABASE_READ_URL`, no replica set exists and search runs on the pool as before.
#[tokio::test]
async fn without_read_urls_nothing_changes() {
    let db = TestDatabase::migrated().await.expect("a database");
    let config = Config::default().database_url(db.url.clone());
    let (pool, boot) = app_db::init::open(&config).await.expect("open");
    assert!(boot.replicas.is_none());
    assert!(app_db::replica::for_pool(&pool).is_none());
}

async fn table_count(conn: &mut PgConnection, table: &str) -> i64 {
    scalar_i64(
        conn,
        "select count(*) from pg_tables where schemaname = 'public' and tablename = $1",
        table,
    )
    .await
}
