//! Case 1 of issue 17, the lock queue: how long the app's queries on a table wait while a
//! migration statement on that table waits behind a long transaction, with the DDL lock
//! timeout (app-db's default) and without it (`lock_timeout` 0, PostgreSQL's default and
//! app-db's behaviour before issue 17).
//!
//! ```text
//! cargo bench --bench lock_queue
//! BENCH_HOLD_SECS=10 BENCH_LOCK_RUNS=1 BENCH_APP_INTERVAL_MS=150 cargo bench --bench lock_queue   # the defaults
//! ```
//!
//! Each run, on a fresh migrated database of the test server (the embedded PostgreSQL, or
//! `TEST_DATABASE_URL`'s) with 1,000 organizations: a reader opens a transaction and reads
//! `organization` (ACCESS SHARE, as a report or `pg_dump` would), and keeps it open for
//! `BENCH_HOLD_SECS`; a migration `ALTER TABLE "organization" ADD COLUMN` starts right after;
//! the app sends `select … from organization where id = $1` every `BENCH_APP_INTERVAL_MS`
//! through a pool of 80 connections (requests arrive whatever happened to earlier ones, as a web
//! app's do), each query timed from send to answer. The samples are the queries sent while the
//! migration was pending (from its start until it applied). The two sides alternate which goes
//! first, `BENCH_LOCK_RUNS` times each.
//!
//! Printed as `bench-result` lines (the median of a side's samples is its p50, the maximum its
//! worst wait; p95 on a line of its own), with the load average before and after: figures
//! taken while other work loads the machine are not comparable across machines.

#[path = "support/measure.rs"]
mod measure;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use app_db::testing::TestDatabase;
use app_db::{MIGRATIONS, Migration, Migrator};
use measure::{env_count, load_average, report};
use sqlx::{Connection, PgConnection};

fn main() {
    let hold = Duration::from_secs(env_count("BENCH_HOLD_SECS", 10) as u64);
    let runs = env_count("BENCH_LOCK_RUNS", 1);
    let interval = Duration::from_millis(env_count("BENCH_APP_INTERVAL_MS", 150) as u64);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async {
            let default = app_db::migrate::LockWaitPolicy::default().lock_timeout;
            println!(
                "lock queue: reader holds organization {hold:?}, app query every {interval:?}, {runs} run(s) per side; load average before: {}",
                load_average()
            );
            let mut with = Vec::new();
            let mut without = Vec::new();
            for run in 0..runs {
                let order = if run % 2 == 0 {
                    [default, Duration::ZERO]
                } else {
                    [Duration::ZERO, default]
                };
                for timeout in order {
                    let waits = one_run(timeout, hold, interval).await;
                    println!(
                        "run {}: lock timeout {timeout:?}: {} app queries while the migration was pending, worst {:.1} ms",
                        run + 1,
                        waits.len(),
                        waits.iter().cloned().fold(0.0, f64::max)
                    );
                    if timeout.is_zero() {
                        without.extend(waits);
                    } else {
                        with.extend(waits);
                    }
                }
            }
            let held = hold.as_secs();
            let what = |side: &str| {
                format!(
                    "app-query wait on a table while `ALTER TABLE` waits behind a {held} s reader, {side}"
                )
            };
            let side_with = format!("DDL lock timeout {default:?} (default)");
            let side_without = "no lock timeout (before issue 17)".to_string();
            report("lockq.timeout.wait", &what(&side_with), &with, "ms");
            report("lockq.timeout.p95", &format!("{}, p95", what(&side_with)), &[p95(&with)], "ms");
            report("lockq.none.wait", &what(&side_without), &without, "ms");
            report("lockq.none.p95", &format!("{}, p95", what(&side_without)), &[p95(&without)], "ms");
            println!("load average after: {}", load_average());
        });
}

/// Connections of the app's pool: more than the requests that can queue during one hold.
const APP_POOL: u32 = 80;

/// Awaits every future (the pool's warm-up).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    for handle in handles {
        out.push(handle.await);
    }
    out
}

/// The 95th percentile (nearest rank).
fn p95(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64) * 0.95).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The migration the deploy brings: one column on `organization`, after the compiled ones.
fn with_alter() -> &'static [Migration] {
    let last = MIGRATIONS.last().expect("a compiled migration");
    let sql = "ALTER TABLE \"organization\" ADD COLUMN \"bench_note\" text;\n";
    let extra = Migration {
        idx: last.idx + 1,
        tag: "9999_bench_lock_queue",
        when: last.when + 1,
        breakpoints: true,
        transaction: true,
        sql,
        hash: Box::leak(app_db::journal::sha256_hex(sql.as_bytes()).into_boxed_str()),
        name: Box::leak(
            app_db::journal::timestamp::upgraded_name("9999_bench_lock_queue", last.when + 1)
                .into_boxed_str(),
        ),
        layout: last.layout,
    };
    let mut all = MIGRATIONS.to_vec();
    all.push(extra);
    Box::leak(all.into_boxed_slice())
}

/// One run: the app-query waits (ms) of the queries sent while the migration was pending.
async fn one_run(lock_timeout: Duration, hold: Duration, interval: Duration) -> Vec<f64> {
    let db = TestDatabase::migrated()
        .await
        .expect("a migrated test database");
    let mut setup = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::raw_sql(
        "insert into organization (id, name, slug, created_at) \
         select 'bench-' || g, 'Bench ' || g, 'bench-' || g, now() from generate_series(1, 1000) g",
    )
    .execute(&mut setup)
    .await
    .expect("organizations");
    let mut reader = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::raw_sql("begin; select count(*) from organization")
        .execute(&mut reader)
        .await
        .expect("the long reader");

    let pending = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    // The app: requests arrive every `interval` whatever happened to earlier ones, each served
    // by a connection of a pool, as a web app's are (a blocked query does not stop the next).
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(APP_POOL)
        .min_connections(APP_POOL)
        .connect(&db.url)
        .await
        .expect("the app's pool");
    let warm: Vec<_> = (0..APP_POOL).map(|_| pool.acquire()).collect();
    drop(futures_join(warm).await);
    let (app_pending, app_done) = (pending.clone(), done.clone());
    let app = tokio::spawn(async move {
        let mut requests = Vec::new();
        let mut tick = tokio::time::interval(interval);
        let mut n = 0u32;
        while !app_done.load(Ordering::SeqCst) {
            tick.tick().await;
            let pool = pool.clone();
            let sent_while_pending = app_pending.load(Ordering::SeqCst);
            let id = format!("bench-{}", n % 1000 + 1);
            n += 1;
            requests.push(tokio::spawn(async move {
                let sent = Instant::now();
                let _: Option<String> =
                    sqlx::query_scalar("select name from organization where id = $1")
                        .bind(id)
                        .fetch_optional(&pool)
                        .await
                        .expect("the app query");
                (sent_while_pending, sent.elapsed().as_secs_f64() * 1e3)
            }));
        }
        let mut waits = Vec::new();
        for request in requests {
            let (counted, wait) = request.await.expect("an app request");
            if counted {
                waits.push(wait);
            }
        }
        waits
    });

    let url = db.url.clone();
    let migration_pending = pending.clone();
    let migration = tokio::spawn(async move {
        let mut conn = PgConnection::connect(&url).await.expect("connect");
        migration_pending.store(true, Ordering::SeqCst);
        let started = Instant::now();
        Migrator::with_migrations(with_alter())
            .ddl_lock_timeout(lock_timeout)
            .ddl_retry_budget(Duration::from_secs(600))
            .watch_blockers(app_db::init::connect_options(&url).expect("options"))
            .run(&mut conn)
            .await
            .expect("the migration applies once the reader ends");
        started.elapsed()
    });
    tokio::time::sleep(hold).await;
    sqlx::raw_sql("commit")
        .execute(&mut reader)
        .await
        .expect("the reader ends");
    let took = migration.await.expect("the migration task");
    pending.store(false, Ordering::SeqCst);
    tokio::time::sleep(interval * 2).await;
    done.store(true, Ordering::SeqCst);
    let waits = app.await.expect("the app task");
    println!(
        "  the migration applied {:.1} s after it started (the reader held the table {hold:?})",
        took.as_secs_f64()
    );
    waits
}
