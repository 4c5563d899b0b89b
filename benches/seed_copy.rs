//! Demo-data ingestion: app-db's binary COPY of document chunks against `psql \copy` (CSV) of
//! the same rows into the same server.
//!
//! Run: `cargo bench --bench seed_copy` (`BENCH_CHUNKS`, default 100000; `BENCH_INGEST_RUNS`
//! runs per cell, default 3). Each side loads into its own fresh migrated database with the
//! same organizations and sources already present; measured without the HNSW index (ingestion
//! alone) and, for app-db, as `seed --demo` loads a large batch: index dropped, COPY, index
//! rebuilt in memory, all in one transaction. `BENCH_ROW_BY_ROW=1` adds both sides loading into
//! the indexed table row by row (about 10 minutes each at 100,000 chunks on 2 cores).
//!
//! Like for like: within a cell the two sides alternate which goes first from run to run, and
//! both are timed from connecting to the loaded rows being committed (psql: the whole process,
//! whose start is a few milliseconds, reading its CSV file from the page cache). Prints a
//! `bench-result` line per figure (median, min, max of the runs; ratios are the median of the
//! per-run ratios).

use std::time::{Duration, Instant};

use app_db::embedded::{PgBinaries, ServerAccount};
use app_db::seed::demo::{
    CHUNK_COPY_COLUMNS, ChunkRow, DemoOptions, OrgData, centroids, chunks_as_csv, copy_chunks,
};
use app_db::seed::vector_index;
use app_db::testing::{TestDatabase, TestServer};
use sea_orm::ConnectionTrait;
use sqlx::Connection;

#[path = "support/measure.rs"]
mod measure;

type BoxError = Box<dyn std::error::Error>;

async fn prepared(orgs: &[OrgData], with_index: bool) -> Result<TestDatabase, BoxError> {
    let db = TestServer::get()?.migrated_database().await?;
    if !with_index {
        db.db
            .execute_unprepared("drop index document_chunk_embedding_idx")
            .await?;
    }
    for org in orgs {
        org.insert_rows(&db.db).await?;
    }
    Ok(db)
}

async fn ours(
    orgs: &[OrgData],
    chunks: &[ChunkRow],
    with_index: bool,
) -> Result<Duration, BoxError> {
    let db = prepared(orgs, with_index).await?;
    let started = Instant::now();
    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
    let copied = copy_chunks(&mut conn, chunks).await?;
    let elapsed = started.elapsed();
    assert_eq!(copied as usize, chunks.len());
    Ok(elapsed)
}

/// app-db's bulk path: drop the index, COPY, rebuild it, in one transaction. Returns the COPY
/// and the index build times.
async fn ours_rebuilt(
    orgs: &[OrgData],
    chunks: &[ChunkRow],
) -> Result<(Duration, Duration), BoxError> {
    let db = prepared(orgs, true).await?;
    let mut conn = db.db.get_postgres_connection_pool().acquire().await?;
    let mut txn = sqlx::Connection::begin(&mut *conn).await?;
    let started = Instant::now();
    let index = vector_index::drop_for_rebuild(&mut txn)
        .await?
        .ok_or("document_chunk has no HNSW index")?;
    let copied = copy_chunks(&mut txn, chunks).await?;
    assert_eq!(copied as usize, chunks.len());
    let copy = started.elapsed();
    let started = Instant::now();
    vector_index::rebuild(&mut txn, &db.db, &index, &mut |_, _| {}).await?;
    txn.commit().await?;
    Ok((copy, started.elapsed()))
}

async fn psql(
    orgs: &[OrgData],
    csv: &std::path::Path,
    rows: usize,
    with_index: bool,
) -> Result<Duration, BoxError> {
    let db = prepared(orgs, with_index).await?;
    let binaries = PgBinaries::resolve(&ServerAccount::detect()?)?;
    let command = format!(
        "\\copy document_chunk ({CHUNK_COPY_COLUMNS}) from '{}' with (format csv)",
        csv.display()
    );
    let started = Instant::now();
    let out = std::process::Command::new(binaries.program("psql"))
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &db.url,
            "-c",
            &command,
        ])
        .output()?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        return Err(format!("psql failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let loaded: i64 = {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        sqlx::query_scalar("select count(*) from document_chunk")
            .fetch_one(&mut conn)
            .await?
    };
    assert_eq!(loaded as usize, rows);
    Ok(elapsed)
}

/// Samples of one figure, in seconds or rows/s.
#[derive(Default)]
struct Samples {
    ours: Vec<f64>,
    theirs: Vec<f64>,
}

fn main() -> Result<(), BoxError> {
    let total = measure::env_count("BENCH_CHUNKS", 100_000) as u64;
    let runs = measure::env_count("BENCH_INGEST_RUNS", 3);
    let mut options = DemoOptions::with_orgs(1);
    options.usage_per_org = 0;
    options.orgs =
        (total / u64::from(options.sources_per_org * options.chunks_per_source)).max(1) as u32;
    let c = centroids(&options);
    let started = Instant::now();
    let orgs: Vec<OrgData> = (0..options.orgs)
        .map(|i| OrgData::generate(&options, i, &c))
        .collect();
    let generation = started.elapsed();
    let chunks: Vec<ChunkRow> = orgs.iter().flat_map(|o| o.chunks.iter().cloned()).collect();
    let orgs: Vec<OrgData> = orgs
        .into_iter()
        .map(|mut o| {
            o.chunks.clear();
            o
        })
        .collect();
    println!(
        "generated {} chunks of 1536 dimensions in {:.1} s (client side, one thread); {runs} runs per cell; load average {}",
        chunks.len(),
        generation.as_secs_f64(),
        measure::load_average()
    );
    let n = chunks.len();
    measure::report(
        "seed.generate",
        &format!("generating {n} demo chunks (vectors included), client side"),
        &[generation.as_secs_f64()],
        "s",
    );
    let csv = std::env::temp_dir().join(format!("app-db-bench-chunks-{}.csv", std::process::id()));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        chunks_as_csv(&chunks, &mut out)?;
    }
    // The server account reads the file through psql's client side, so only we need access.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        let row_by_row = std::env::var_os("BENCH_ROW_BY_ROW").is_some();
        for with_index in [false, true] {
            if with_index && !row_by_row {
                continue;
            }
            let (label, id) = if with_index {
                ("into the HNSW index", "seed.indexed")
            } else {
                ("without the HNSW index", "seed.copy")
            };
            let mut samples = Samples::default();
            for run in 0..runs {
                // Alternate which side goes first, so neither always meets a warmer server.
                let (a, b) = if run % 2 == 0 {
                    let a = ours(&orgs, &chunks, with_index).await?;
                    (a, psql(&orgs, &csv, n, with_index).await?)
                } else {
                    let b = psql(&orgs, &csv, n, with_index).await?;
                    (ours(&orgs, &chunks, with_index).await?, b)
                };
                println!(
                    "{label:<24} run {run} ({} first): app-db binary COPY {:>9.0} rows/s ({:>6.1} s)   psql \\copy csv {:>9.0} rows/s ({:>6.1} s)   ratio {:.2}x",
                    if run % 2 == 0 { "app-db" } else { "psql" },
                    rate(a),
                    a.as_secs_f64(),
                    rate(b),
                    b.as_secs_f64(),
                    rate(a) / rate(b)
                );
                samples.ours.push(rate(a));
                samples.theirs.push(rate(b));
            }
            let what = format!("{n} chunks {label}, connect + load");
            measure::report(&format!("{id}.app-db"), &format!("{what}: app-db binary COPY"), &samples.ours, "rows/s");
            measure::report(&format!("{id}.psql"), &format!("{what}: `psql \\copy` CSV, whole process"), &samples.theirs, "rows/s");
            measure::report(
                &format!("{id}.ratio"),
                &format!("{what}: app-db / psql rows/s (paired runs)"),
                &measure::ratios(&samples.ours, &samples.theirs),
                "x",
            );
        }
        let mut copy = Vec::new();
        let mut build = Vec::new();
        let mut whole = Vec::new();
        for run in 0..runs {
            let (c, b) = ours_rebuilt(&orgs, &chunks).await?;
            println!(
                "{:<24} run {run}: app-db binary COPY {:>9.0} rows/s ({:>6.1} s) + HNSW build {:.1} s = {:.0} rows/s with the index",
                "index rebuilt (--demo)",
                rate(c),
                c.as_secs_f64(),
                b.as_secs_f64(),
                rate(c + b)
            );
            copy.push(c.as_secs_f64());
            build.push(b.as_secs_f64());
            whole.push(rate(c + b));
        }
        let what = format!("{n} chunks, index dropped, COPY, index rebuilt, one transaction (the `seed --demo` path)");
        measure::report("seed.rebuilt.copy", &format!("{what}: COPY"), &copy, "s");
        measure::report("seed.rebuilt.index", &format!("{what}: HNSW build + ANALYZE"), &build, "s");
        measure::report("seed.rebuilt.rate", &format!("{what}: rows/s with the index"), &whole, "rows/s");
        Ok::<(), BoxError>(())
    });
    let _ = std::fs::remove_file(&csv);
    result
}
