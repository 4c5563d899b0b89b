//! The embedded PostgreSQL's costs: first-use provisioning, cluster creation and start, warm
//! start of the development server, and per-test database creation.
//!
//! Run: `cargo bench --bench embedded` (it downloads the pinned PostgreSQL once into a temporary
//! cache to time a cold provisioning; set `BENCH_SKIP_DOWNLOAD=1` to skip that part).

use std::time::{Duration, Instant};

use app_db::embedded::{Cluster, ClusterOptions, PgBinaries, ServerAccount};
use app_db::testing::TestServer;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let p = |q: f64| ms(samples[((samples.len() as f64 - 1.0) * q).round() as usize]);
    println!(
        "{label:<46} n={:<4} p50 {:>8.1} ms   p95 {:>8.1} ms   min {:>8.1} ms",
        samples.len(),
        p(0.5),
        p(0.95),
        ms(samples[0])
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = ServerAccount::detect()?;
    if std::env::var_os("BENCH_SKIP_DOWNLOAD").is_none() {
        // A cold cache: pip download + verify + unpack, as on a new machine.
        let cache = std::env::temp_dir().join(format!("app-db-bench-cache-{}", std::process::id()));
        // SAFETY: single-threaded here, before any other thread reads the environment.
        unsafe { std::env::set_var("APP_DB_CACHE_DIR", &cache) };
        let started = Instant::now();
        PgBinaries::resolve(&account)?;
        let cold = started.elapsed();
        let started = Instant::now();
        PgBinaries::resolve(&account)?;
        let warm = started.elapsed();
        println!(
            "{:<46} {:>8.1} ms (then {:.2} ms once cached)",
            "first-use provisioning (pip + verify + unpack)",
            ms(cold),
            ms(warm)
        );
        let _ = std::fs::remove_dir_all(&cache);
        // SAFETY: as above.
        unsafe { std::env::remove_var("APP_DB_CACHE_DIR") };
    }
    let binaries = PgBinaries::resolve(&account)?;

    let mut init = Vec::new();
    let mut start = Vec::new();
    let mut restart = Vec::new();
    for i in 0..5 {
        let root = std::env::temp_dir().join(format!("app-db-bench-{}-{i}", std::process::id()));
        let cluster = Cluster::new(binaries.clone(), account.clone(), root.clone())?;
        let t = Instant::now();
        cluster.init(&ClusterOptions { durable: false })?;
        init.push(t.elapsed());
        let t = Instant::now();
        let server = cluster.start_child()?;
        start.push(t.elapsed());
        server.stop();
        // A warm start: an existing cluster, as `db start` after `db stop`.
        let t = Instant::now();
        let server = cluster.start_child()?;
        restart.push(t.elapsed());
        server.stop();
        let _ = std::fs::remove_dir_all(&root);
    }
    summary("initdb (new cluster)", init);
    summary("first start of a new cluster", start);
    summary("warm start of an existing cluster", restart);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = TestServer::get()?;
        // The templates are prepared on first use: not part of the per-test cost.
        server.fresh_database().await?;
        server.migrated_database().await?;
        let mut empty = Vec::new();
        let mut migrated = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let db = server.fresh_database().await?;
            empty.push(t.elapsed());
            db.db.close().await?;
            let t = Instant::now();
            let db = server.migrated_database().await?;
            migrated.push(t.elapsed());
            db.db.close().await?;
        }
        summary("per-test database, empty (create + connect)", empty);
        summary("per-test database, migrated (create + connect)", migrated);
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
