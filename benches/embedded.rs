//! The embedded PostgreSQL's costs, as users meet them: first use on a new machine, a new
//! development cluster, a warm start of an existing one (each `migration db start`, the release
//! build, as a whole process), and the per-test database of the test support (in process).
//!
//! ```text
//! cargo build --release -p migration && cargo bench --bench embedded
//! BENCH_RUNS=5 BENCH_COLD_RUNS=5 cargo bench --bench embedded     # the defaults
//! ```
//!
//! - First use: `db start` with a new empty `APP_DB_CACHE_DIR` and `APP_DB_DEV_DIR`, and pip's
//!   cache bypassed (`PIP_NO_CACHE_DIR=1` and an empty `PIP_CACHE_DIR`), so the pinned wheel is
//!   downloaded again every run: pip download + verify + unpack + initdb + start + create the
//!   database. Needs the network; `APP_DB_PG_BIN` is ignored here (it would skip the download).
//! - New cluster: `db start` with the cache warm and a new `APP_DB_DEV_DIR` (initdb + start +
//!   create the database).
//! - Warm start: `db start` of that cluster after `db stop` (what a developer does each day).
//!
//! Every figure is printed as a `bench-result` line (median, min, max); benches/run-all.sh
//! collects them. Not a test: figures depend on the machine and, for first use, the network.

#[path = "support/measure.rs"]
mod measure;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use app_db::testing::TestServer;
use measure::{env_count, load_average, millis, report, run_process};

/// `migration db <action>` with the given cache and development folders.
fn db(cli: &Path, action: &str, cache: &Path, dev: &Path) -> Command {
    let mut cmd = Command::new(cli);
    cmd.args(["db", action])
        .env("APP_DB_CACHE_DIR", cache)
        .env("APP_DB_DEV_DIR", dev)
        .env_remove("APP_DB_PG_BIN")
        .env_remove("DATABASE_URL");
    cmd
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = env_count("BENCH_RUNS", 5);
    let cold_runs = env_count("BENCH_COLD_RUNS", runs);
    let cli = measure::release_cli();
    println!("load average before: {}", load_average());
    // Readable by the server account (PostgreSQL refuses root): not a 0700 temp folder.
    let root = std::env::temp_dir().join(format!("app-db-bench-embedded-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let result = bench(&cli, &root, runs, cold_runs);
    let _ = std::fs::remove_dir_all(&root);
    result?;
    println!("\nload average after: {}", load_average());
    Ok(())
}

fn bench(
    cli: &Path,
    root: &Path,
    runs: usize,
    cold_runs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let warm_cache = root.join("cache");
    let mut cold = Vec::new();
    for i in 0..cold_runs {
        // The last run's download stays as the warm cache of the next parts.
        let cache = if i + 1 == cold_runs {
            warm_cache.clone()
        } else {
            root.join(format!("cache-{i}"))
        };
        let pip_cache = root.join(format!("pip-cache-{i}"));
        let dev = root.join(format!("dev-cold-{i}"));
        let run = run_process(
            db(cli, "start", &cache, &dev)
                .env("PIP_NO_CACHE_DIR", "1")
                .env("PIP_CACHE_DIR", &pip_cache),
        )
        .expect_success("first-use `migration db start`");
        cold.push(run.wall);
        run_process(&mut db(cli, "stop", &cache, &dev)).expect_success("migration db stop");
        remove(&dev)?;
        remove(&pip_cache)?;
        if cache != warm_cache {
            remove(&cache)?;
        }
    }

    let mut created = Vec::new();
    let mut warm = Vec::new();
    let mut stop = Vec::new();
    for i in 0..runs {
        let dev = root.join(format!("dev-{i}"));
        let run = run_process(&mut db(cli, "start", &warm_cache, &dev))
            .expect_success("`migration db start` of a new cluster");
        assert!(run.stderr.contains("started"), "{}", run.stderr);
        created.push(run.wall);
        run_process(&mut db(cli, "stop", &warm_cache, &dev)).expect_success("migration db stop");
        let run = run_process(&mut db(cli, "start", &warm_cache, &dev))
            .expect_success("warm `migration db start`");
        assert!(run.stderr.contains("started"), "{}", run.stderr);
        warm.push(run.wall);
        let run = run_process(&mut db(cli, "stop", &warm_cache, &dev))
            .expect_success("migration db stop");
        stop.push(run.wall);
        remove(&dev)?;
    }

    println!("\n## The development server, `migration db start` (release build, whole process)\n");
    report(
        "embedded.first-use",
        "first use: pip download (no cache) + verify + unpack + initdb + start + create database",
        &millis(&cold),
        "ms",
    );
    report(
        "embedded.new-cluster",
        "new cluster, binaries cached: initdb + start + create database",
        &millis(&created),
        "ms",
    );
    report(
        "embedded.warm-start",
        "warm start of an existing, stopped cluster",
        &millis(&warm),
        "ms",
    );
    report("embedded.stop", "`migration db stop`", &millis(&stop), "ms");

    per_test_databases(runs.max(30))
}

fn per_test_databases(iterations: usize) -> Result<(), Box<dyn std::error::Error>> {
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
        for _ in 0..iterations {
            let t = Instant::now();
            let db = server.fresh_database().await?;
            empty.push(t.elapsed());
            db.db.close().await?;
            let t = Instant::now();
            let db = server.migrated_database().await?;
            migrated.push(t.elapsed());
            db.db.close().await?;
        }
        println!("\n## Per-test databases of the test support (in process), {iterations} each\n");
        report(
            "testdb.empty",
            "per-test database, empty (create from template0 + connect)",
            &millis(&empty),
            "ms",
        );
        report(
            "testdb.migrated",
            "per-test database, migrated (create from the migrated template + connect)",
            &millis(&migrated),
            "ms",
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

fn remove(path: &PathBuf) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
