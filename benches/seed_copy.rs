//! Demo-data ingestion: app-db's binary COPY of document chunks against `psql \copy` (CSV) of
//! the same rows into the same server.
//!
//! Run: `cargo bench --bench seed_copy` (`BENCH_CHUNKS`, default 100000). Each side loads into
//! its own fresh migrated database with the same organizations and sources already present;
//! measured without the HNSW index (ingestion alone) and, for app-db, as `seed --demo` loads a
//! large batch: index dropped, COPY, index rebuilt in memory, all in one transaction.
//! `BENCH_ROW_BY_ROW=1` adds both sides loading into the indexed table row by row (about 10
//! minutes each at 100,000 chunks on 2 cores).

use std::time::{Duration, Instant};

use app_db::embedded::{PgBinaries, ServerAccount};
use app_db::seed::demo::{
    CHUNK_COPY_COLUMNS, ChunkRow, DemoOptions, OrgData, centroids, chunks_as_csv, copy_chunks,
};
use app_db::seed::vector_index;
use app_db::testing::{TestDatabase, TestServer};
use sea_orm::ConnectionTrait;
use sqlx::Connection;

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
    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
    let started = Instant::now();
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

fn main() -> Result<(), BoxError> {
    let total: u64 = std::env::var("BENCH_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut options = DemoOptions::with_orgs(1);
    options.usage_per_org = 0;
    options.orgs =
        (total / u64::from(options.sources_per_org * options.chunks_per_source)).max(1) as u32;
    let c = centroids(&options);
    let started = Instant::now();
    let orgs: Vec<OrgData> = (0..options.orgs)
        .map(|i| OrgData::generate(&options, i, &c))
        .collect();
    let chunks: Vec<ChunkRow> = orgs.iter().flat_map(|o| o.chunks.iter().cloned()).collect();
    let orgs: Vec<OrgData> = orgs
        .into_iter()
        .map(|mut o| {
            o.chunks.clear();
            o
        })
        .collect();
    println!(
        "generated {} chunks of 1536 dimensions in {:.1} s",
        chunks.len(),
        started.elapsed().as_secs_f64()
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
        let rate = |d: Duration| chunks.len() as f64 / d.as_secs_f64();
        let row_by_row = std::env::var_os("BENCH_ROW_BY_ROW").is_some();
        for with_index in [false, true] {
            if with_index && !row_by_row {
                continue;
            }
            let label = if with_index { "into the HNSW index" } else { "without the HNSW index" };
            let a = ours(&orgs, &chunks, with_index).await?;
            let b = psql(&orgs, &csv, chunks.len(), with_index).await?;
            println!(
                "{label:<24} app-db binary COPY {:>9.0} rows/s ({:>6.1} s)   psql \\copy csv {:>9.0} rows/s ({:>6.1} s)   ratio {:.2}x",
                rate(a),
                a.as_secs_f64(),
                rate(b),
                b.as_secs_f64(),
                rate(a) / rate(b)
            );
        }
        let (copy, build) = ours_rebuilt(&orgs, &chunks).await?;
        println!(
            "{:<24} app-db binary COPY {:>9.0} rows/s ({:>6.1} s) + HNSW build {:.1} s = {:.0} rows/s with the index",
            "index rebuilt (--demo)",
            rate(copy),
            copy.as_secs_f64(),
            build.as_secs_f64(),
            rate(copy + build)
        );
        Ok::<(), BoxError>(())
    });
    let _ = std::fs::remove_file(&csv);
    result
}
