//! Search on the primary and on a hot standby of it, the same queries on both: latency per
//! tenant class, queries per second with several clients, and what a frozen or stopped standby
//! costs a read.
//!
//! ```text
//! cargo bench --bench replica_search
//! REPLICA_BENCH_CHUNKS=20000 REPLICA_BENCH_QUERIES=20 cargo bench --bench replica_search   # quick
//! ```
//!
//! Sizes: `REPLICA_BENCH_CHUNKS` (default 100000), `REPLICA_BENCH_QUERIES` per class (default
//! 50), `REPLICA_BENCH_CLIENTS` (default 4) and `REPLICA_BENCH_SECONDS` per throughput run
//! (default 10).
//!
//! Loads the tenant mix of `tests/common/tenant_mix.rs` into a fresh migrated database of the
//! embedded test server, starts a standby of it (`app_db::testing::standby`, same machine,
//! another port), and searches with the default (adaptive) options through three pools: the
//! primary's, the standby's (each its own pool, so both cache what search learns), and the
//! app's pool with the standby attached as its replica (what `rag::search` does with
//! `DATABASE_READ_URL`: the router's cost included). Both servers share this machine's cores:
//! the throughput of both at once is what one machine gives, not what a second machine adds.
//! Results: docs/scaling.md.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/tenant_mix.rs"]
mod tenant_mix;

#[path = "support/measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app_db::Config;
use app_db::rag::{self, SearchOptions};
use app_db::replica::{ReplicaPool, ReplicaSet};
use app_db::testing::TestDatabase;
use app_db::testing::standby::Standby;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tenant_mix::Query;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn pool(url: &str, max: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max)
        .min_connections(0)
        .sqlx_logging(false);
    Database::connect(options).await.expect("connect")
}

fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Every query once, serially: recall@10 and each latency, per class and overall.
async fn latencies(
    db: &DatabaseConnection,
    queries: &[Query],
) -> Vec<(String, f64, Vec<Duration>)> {
    let mut out = Vec::new();
    for result in tenant_mix::measure_queries(db, queries, 10, SearchOptions::default()).await {
        out.push((result.class.to_string(), result.recall, result.latencies));
    }
    let all: Vec<Duration> = out.iter().flat_map(|(_, _, l)| l.clone()).collect();
    let recall = out.iter().map(|(_, r, _)| r).sum::<f64>() / out.len().max(1) as f64;
    out.push(("all".into(), recall, all));
    out
}

/// `clients` tasks searching the queries in turn on each pool of `pools` (spread evenly) for
/// `seconds`: searches per second in all.
async fn throughput(
    pools: &[DatabaseConnection],
    queries: Arc<Vec<Query>>,
    clients: usize,
    seconds: u64,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let db = pools[client % pools.len()].clone();
        let queries = queries.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            let mut i = client;
            while Instant::now() < deadline {
                let q = &queries[i % queries.len()];
                rag::search(&db, &q.tenant, &q.embedding, 10)
                    .await
                    .expect("search");
                done += 1;
                i += clients;
            }
            done
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.expect("client");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// A router of its own over the standby, to time reads while it fails.
fn router(app: &DatabaseConnection, standby_url: &str, config: &Config) -> ReplicaSet {
    ReplicaSet::new(
        app.clone(),
        ReplicaPool::open_all(
            &[standby_url.to_string()],
            "DATABASE_READ_URL",
            &config.pool,
        )
        .expect("replica pool"),
        config.replicas.clone(),
        config.pool.connect_timeout,
    )
}

async fn timed_read(set: &ReplicaSet) -> (Duration, String) {
    let started = Instant::now();
    let read = set.read().await.expect("read");
    let took = started.elapsed();
    (
        took,
        if read.on_replica() {
            "standby"
        } else {
            "primary"
        }
        .into(),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let chunks: usize = env_or("REPLICA_BENCH_CHUNKS", 100_000);
    let per_class: usize = env_or("REPLICA_BENCH_QUERIES", 50);
    let clients: usize = env_or("REPLICA_BENCH_CLIENTS", 4);
    let seconds: u64 = env_or("REPLICA_BENCH_SECONDS", 10);
    let db = TestDatabase::migrated()
        .await
        .expect("a migrated test database");
    let loaded = tenant_mix::load(&db.db, chunks, 200, tenant_mix::CLUSTERED).await;
    let total: usize = loaded.tenants.iter().map(|t| t.chunks).sum();
    let started = Instant::now();
    let mut standby = Standby::start().expect("a standby of the test server");
    let copy = started.elapsed();
    println!(
        "{total} chunks of {} tenants; COPY {:.1?}, HNSW build {:.1?}; standby by pg_basebackup in {copy:.1?}; \
         {per_class} queries per class, k = 10; load average {}\n",
        loaded.tenants.len(),
        loaded.load_time,
        loaded.index_time,
        measure::load_average()
    );
    let standby_url = standby.url_for(&db.name);
    // `localhost`: the same server, but not the pool the replica set is attached to.
    let primary = pool(&db.url.replace("127.0.0.1", "localhost"), clients as u32).await;
    let on_standby = pool(&standby_url, clients as u32).await;
    let mut config = Config::default()
        .database_url(db.url.clone())
        .read_urls([standby_url.clone()]);
    config.pool.min = 0;
    config.pool.max = clients as u32;
    let (app, boot) = app_db::init::open(&config)
        .await
        .expect("open with the replica");
    let set = boot.replicas.expect("the replica set");
    let queries = tenant_mix::queries(&primary, &loaded, per_class, 10).await;
    let pools = [
        ("primary", &primary),
        ("standby", &on_standby),
        ("app pool → standby (router)", &app),
    ];
    for (_, db) in &pools {
        latencies(db, &queries).await;
    }
    println!("| served by | class | recall@10 | p50 | p95 |");
    println!("|---|---|---|---|---|");
    for (name, db) in &pools {
        for (class, recall, mut l) in latencies(db, &queries).await {
            l.sort();
            println!(
                "| {name} | {class} | {recall:.3} | {} | {} |",
                ms(percentile(&l, 50)),
                ms(percentile(&l, 95))
            );
        }
    }
    assert!(
        set.view()[0].health.lag_bytes().is_some(),
        "the router checked the standby"
    );

    let queries = Arc::new(queries);
    println!("\n| {clients} clients for {seconds} s on | searches/s |");
    println!("|---|---|");
    for (name, targets) in [
        ("primary", vec![primary.clone()]),
        ("standby", vec![on_standby.clone()]),
        ("app pool → standby (router)", vec![app.clone()]),
        (
            "primary and standby, half the clients each",
            vec![primary.clone(), on_standby.clone()],
        ),
    ] {
        let qps = throughput(&targets, queries.clone(), clients, seconds).await;
        println!("| {name} | {qps:.0} |");
    }

    let mut failing = config.clone();
    failing.pool.connect_timeout = Duration::from_secs(1);
    failing.replicas.check_interval = Duration::from_millis(50);
    failing.replicas.retry_first = Duration::from_secs(60);
    println!("\n| standby | read | took | served by |");
    println!("|---|---|---|---|");
    let frozen_router = router(&app, &standby_url, &failing);
    timed_read(&frozen_router).await;
    let frozen = standby.freeze();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for n in 1..=3 {
        let (took, served) = timed_read(&frozen_router).await;
        println!(
            "| frozen (connect timeout 1 s) | {n} | {} | {served} |",
            ms(took)
        );
    }
    drop(frozen);
    let stopped_router = router(&app, &standby_url, &failing);
    timed_read(&stopped_router).await;
    standby.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for n in 1..=3 {
        let (took, served) = timed_read(&stopped_router).await;
        println!("| stopped | {n} | {} | {served} |", ms(took));
    }
    println!("\nload average after: {}", measure::load_average());
}
