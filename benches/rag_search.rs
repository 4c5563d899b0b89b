//! Recall and latency of `app_db::rag` on a SaaS-like tenant mix (default 100,000 chunks).
//!
//! ```text
//! cargo bench --bench rag_search                                   # pgvector 0.8.1
//! APP_DB_PG_WHEEL=pgserver==0.1.4 cargo bench --bench rag_search   # pgvector 0.6.2
//! RAG_BENCH_SWEEP=1 cargo bench --bench rag_search                 # the tuning grid
//! ```
//!
//! Sizes: `RAG_BENCH_CHUNKS` (default 100000), `RAG_BENCH_QUERIES` per class (default 100), `RAG_BENCH_TOPICS` (default 200),
//! `RAG_BENCH_SPREAD` (default 1.0: cosine to the topic centroid about 0.7; 4.0 is the nearly
//! random stress case). `APP_DB_PG_BIN` or `TEST_DATABASE_URL` point it at another server.
//!
//! Loads the tenant mix of `tests/common/tenant_mix.rs` (one tenant at 40%, one at 15%, five at
//! 1-5%, many at 0.25%) into a fresh migrated database by binary COPY, rebuilds the HNSW index
//! once, computes the exact top 10 of every seeded query once (`rag::search_exact`), then
//! measures recall@10 and p50/p95 latency per class:
//! - default: the adaptive search (default options) and the plain post-filtered search at
//!   `ef_search` 100 (what search did before), with a `bench-result` line per class and figure;
//! - `RAG_BENCH_SWEEP=1`: every setting of a grid of base `ef_search` (`RAG_BENCH_EF`, default
//!   `40,64,100`), its cap (`RAG_BENCH_EF_MAX`, default `base,250,500,1000`; `base` means
//!   unscaled), `exact_max_rows` (`RAG_BENCH_EXACT`, default `2000,5000`) and the
//!   `max_scan_tuples` factor (`RAG_BENCH_SCAN`, default `1,2`; iterative path only), then a
//!   summary per setting (lowest recall, highest p50 and p95 over the classes).
//!
//! Results: docs/bench-rag.md.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/tenant_mix.rs"]
mod tenant_mix;

#[path = "support/measure.rs"]
mod measure;

use app_db::rag::SearchOptions;
use sea_orm::ConnectionTrait;
use tenant_mix::{ClassResult, Loaded, Query};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn scalar(db: &sea_orm::DatabaseConnection, sql: &str) -> String {
    db.query_one_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        sql,
    ))
    .await
    .expect("query")
    .expect("a row")
    .try_get_by_index::<String>(0)
    .expect("text")
}

/// A comma-separated list from `name`, else `default`; `base` stands for `base_value`.
fn env_list(name: &str, default: &str, base_value: u32) -> Vec<u32> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    let mut out: Vec<u32> = text
        .split(',')
        .map(|item| match item.trim() {
            "base" => base_value,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {other:?} is not a number or `base`")),
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `1000-5000 chunks` for a class.
fn class_size(loaded: &Loaded, class: &str) -> String {
    let sizes: Vec<usize> = loaded
        .tenants
        .iter()
        .filter(|t| t.class == class)
        .map(|t| t.chunks)
        .collect();
    match (sizes.iter().min(), sizes.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("{a}"),
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => String::new(),
    }
}

/// The routes of a class, shortened: `exact`, `ef 250 scan 1250` (iterative), `ef 250` (post-filter).
fn short(route: &str) -> String {
    route
        .replace("Exact", "exact")
        .replace("Index { ef_search: ", "ef ")
        .replace(", iterative: Some(", " scan ")
        .replace(") }", "")
        .replace(", iterative: None }", "")
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let chunks: usize = env_or("RAG_BENCH_CHUNKS", env_or("BENCH_CHUNKS", 100_000usize));
    let per_class: usize = env_or("RAG_BENCH_QUERIES", 100);
    let topics: usize = env_or("RAG_BENCH_TOPICS", 200);
    let spread: f32 = env_or("RAG_BENCH_SPREAD", tenant_mix::CLUSTERED);
    let sweep = std::env::var("RAG_BENCH_SWEEP").is_ok_and(|v| v == "1");
    let (db, _url) = common::migrated_db().await;
    let server = scalar(&db, "show server_version").await;
    let pgvector = scalar(
        &db,
        "select extversion from pg_extension where extname = 'vector'",
    )
    .await;
    let loaded = tenant_mix::load(&db, chunks, topics, spread).await;
    let total: usize = loaded.tenants.iter().map(|t| t.chunks).sum();
    println!(
        "PostgreSQL {server}, pgvector {pgvector}: {total} chunks of {} tenants, {topics} topics, spread {spread}; \
         COPY {:.1?}, HNSW build (m=16, ef_construction=64) {:.1?}; {per_class} queries per class, k = 10; \
         load average {}\n",
        loaded.tenants.len(),
        loaded.load_time,
        loaded.index_time,
        measure::load_average(),
    );
    let queries = tenant_mix::queries(&db, &loaded, per_class, 10).await;
    // One untimed pass so that every setting meets the same warm caches.
    tenant_mix::measure_queries(&db, &queries, 10, SearchOptions::default()).await;
    if sweep {
        run_sweep(&db, &loaded, &queries, &pgvector).await;
    } else {
        run_default(&db, &loaded, &queries, &pgvector).await;
    }
    println!("\nload average after: {}", measure::load_average());
}

/// The adaptive default and the old fixed search, as a table and as `bench-result` lines.
async fn run_default(
    db: &sea_orm::DatabaseConnection,
    loaded: &Loaded,
    queries: &[Query],
    pgvector: &str,
) {
    println!("| pgvector | class | search | route | recall@10 | p50 | p95 |");
    println!("|---|---|---|---|---|---|---|");
    let searches = [
        ("adaptive (default)", "adaptive", SearchOptions::default()),
        (
            "post-filter, ef_search 100",
            "fixed100",
            SearchOptions::fixed(100, true),
        ),
    ];
    let mut lines = Vec::new();
    for (name, tag, options) in searches {
        for r in tenant_mix::measure_queries(db, queries, 10, options).await {
            let size = class_size(loaded, r.class);
            println!(
                "| {pgvector} | {} ({size} chunks) | {name} | {} | {:.3} | {:.1?} | {:.1?} |",
                r.class,
                r.route,
                r.recall,
                r.percentile(50),
                r.percentile(95)
            );
            lines.push((tag, name, size, r));
        }
    }
    println!();
    for (tag, name, size, r) in &lines {
        bench_lines(pgvector, tag, name, size, r);
    }
}

/// Three `bench-result` lines per class: mean recall@10 (min and max per query), latency (the
/// median is p50), p95.
fn bench_lines(pgvector: &str, tag: &str, name: &str, size: &str, r: &ClassResult) {
    let class = r.class.replace('<', "lt");
    let what = format!(
        "rag {name}, pgvector {pgvector}, {} tenant ({size} chunks)",
        r.class
    );
    let n = r.recalls.len();
    println!(
        "bench-result\trag.{tag}.{class}.recall\t{what}: recall@10, mean of {n} queries (min-max per query)\t{:.3}\t{:.3}\t{:.3}\t{n}\trecall",
        r.recall,
        r.recalls.iter().copied().fold(f64::INFINITY, f64::min),
        r.recalls.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let latencies = measure::millis(&r.latencies);
    measure::report(
        &format!("rag.{tag}.{class}.latency"),
        &format!("{what}: latency per search (median = p50)"),
        &latencies,
        "ms",
    );
    measure::report(
        &format!("rag.{tag}.{class}.p95"),
        &format!("{what}: p95 latency of {n} searches"),
        &[ms(r.percentile(95))],
        "ms",
    );
}

/// Every setting of the grid, per class, then one summary line per setting.
async fn run_sweep(
    db: &sea_orm::DatabaseConnection,
    loaded: &Loaded,
    queries: &[Query],
    pgvector: &str,
) {
    let iterative = app_db::rag::PgvectorVersion::parse(pgvector)
        .is_some_and(app_db::rag::PgvectorVersion::has_iterative_scan);
    let exacts = env_list("RAG_BENCH_EXACT", "2000,5000", 0);
    let scans = if iterative {
        env_list("RAG_BENCH_SCAN", "1,2", 0)
    } else {
        vec![2]
    };
    let mut grid = Vec::new();
    for ef in env_list("RAG_BENCH_EF", "40,64,100", 0) {
        for cap in env_list("RAG_BENCH_EF_MAX", "base,250,500,1000", ef) {
            if cap < ef {
                continue;
            }
            for &exact in &exacts {
                for &scan in &scans {
                    grid.push(SearchOptions {
                        ef_search: ef,
                        ef_search_max: cap,
                        exact_max_rows: exact,
                        scan_tuples_factor: scan,
                        ..SearchOptions::default()
                    });
                }
            }
        }
    }
    println!(
        "sweep: {} settings on pgvector {pgvector}\n\n| ef | cap | exact <= | scan x | class | route | recall@10 | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|---|",
        grid.len()
    );
    let mut summary = Vec::new();
    for options in grid {
        let results = tenant_mix::measure_queries(db, queries, 10, options).await;
        for r in &results {
            println!(
                "| {} | {} | {} | {} | {} ({}) | {} | {:.3} | {:.1} | {:.1} |",
                options.ef_search,
                options.ef_search_max,
                options.exact_max_rows,
                options.scan_tuples_factor,
                r.class,
                class_size(loaded, r.class),
                short(&r.route),
                r.recall,
                ms(r.percentile(50)),
                ms(r.percentile(95)),
            );
        }
        let worst = |f: &dyn Fn(&ClassResult) -> f64| {
            results.iter().map(f).fold(f64::NEG_INFINITY, f64::max)
        };
        summary.push((
            options,
            results
                .iter()
                .map(|r| r.recall)
                .fold(f64::INFINITY, f64::min),
            worst(&|r| ms(r.percentile(50))),
            worst(&|r| ms(r.percentile(95))),
            results
                .iter()
                .map(|r| {
                    format!(
                        "{:.3}/{:.1}/{:.1}",
                        r.recall,
                        ms(r.percentile(50)),
                        ms(r.percentile(95))
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    summary.sort_by(|a, b| a.2.total_cmp(&b.2));
    println!(
        "\nsummary, by highest p50 (per class recall/p50/p95 in {:?})\n\n| ef | cap | exact <= | scan x | lowest recall | highest p50 ms | highest p95 ms | per class |\n|---|---|---|---|---|---|---|---|",
        tenant_mix::CLASSES
    );
    for (o, recall, p50, p95, detail) in summary {
        println!(
            "| {} | {} | {} | {} | {recall:.3} | {p50:.1} | {p95:.1} | {detail} |",
            o.ef_search, o.ef_search_max, o.exact_max_rows, o.scan_tuples_factor
        );
    }
}
