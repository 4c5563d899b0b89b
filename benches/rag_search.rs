//! Recall and latency of `app_db::rag` on SaaS-like tenant mixes (default 100,000 chunks).
//!
//! ```text
//! cargo bench --bench rag_search                                   # pgvector 0.8.1
//! APP_DB_PG_WHEEL=pgserver==0.1.4 cargo bench --bench rag_search   # pgvector 0.6.2
//! RAG_BENCH_LOADS=3 cargo bench --bench rag_search                 # three fresh loads per shape
//! RAG_BENCH_SWEEP=1 cargo bench --bench rag_search                 # the tuning grid
//! RAG_BENCH_PROBE=1 cargo bench --bench rag_search                 # why recall is what it is
//! ```
//!
//! Sizes: `RAG_BENCH_CHUNKS` (default 100000), `RAG_BENCH_QUERIES` per class (default 100),
//! `RAG_BENCH_TOPICS` (default 200), `RAG_BENCH_TOPICS_PER_TENANT` (default 12, the shared
//! mix), `RAG_BENCH_SPREAD` (default 1.0: cosine to the topic
//! centroid about 0.7; 4.0 is the nearly random stress case), `RAG_BENCH_SHAPES` (default
//! `spread,shared`: the two tenant mixes of `tests/common/tenant_mix.rs`), `RAG_BENCH_LOADS`
//! (default 1: fresh loads per shape, each into a new database with its own seed),
//! `RAG_BENCH_KEEP=1` (keep each loaded database instead of dropping it, to look by hand).
//! `APP_DB_PG_BIN` or `TEST_DATABASE_URL` point it at another server.
//!
//! Each load goes into a fresh migrated database by binary COPY, rebuilds the HNSW index once,
//! computes the exact top 10 of every seeded query once (`rag::search_exact`), makes one
//! untimed warm-up pass, then measures per class recall@10 (mean, the worst single query, the
//! share of queries below 0.5) and p50/p95 latency:
//! - default: the adaptive search (default options) and the plain post-filtered search at
//!   `ef_search` 100 (what search did before issue 11), a table per load, then the summary over
//!   every load and the `bench-result` lines (`benches/run-all.sh` collects them);
//! - `RAG_BENCH_SWEEP=1`: every setting of a grid of base `ef_search` (`RAG_BENCH_EF`, default
//!   `64,100`), its cap (`RAG_BENCH_EF_MAX`, default `250,500,1000`; `base` means unscaled),
//!   `exact_max_rows` (`RAG_BENCH_EXACT`, default `4000`) and the `max_scan_tuples` factor
//!   (`RAG_BENCH_SCAN`, default `1,2`; iterative path only) and the answer check's sample
//!   (`RAG_BENCH_CHECK`, default `128`; `0` turns it off), then a summary per setting;
//! - `RAG_BENCH_PROBE=1`: for each index build (`RAG_BENCH_INDEX`, `m/ef_construction` pairs,
//!   default the schema's index as it is) and each `ef_search` (`RAG_BENCH_PROBE_EF`, default
//!   `40,100,250,500,1000`): recall of the post-filtered scan, of the iterative scan (pgvector
//!   0.8 and later), and of the same scan without the tenant filter against the whole table's
//!   exact answer, with the queries whose answer holds nothing of the query's topic, and how
//!   many chunks the graph finds from their own embedding.
//!
//! Results: docs/bench-rag.md.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/tenant_mix.rs"]
mod tenant_mix;

#[path = "support/measure.rs"]
mod measure;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use app_db::rag::SearchOptions;
use sea_orm::prelude::PgVector;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use tenant_mix::{ClassResult, Loaded, Query, Shape};

const K: u64 = 10;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not valid: give a number")),
        Err(_) => default,
    }
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> String {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
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

/// The routes of a class, shortened: `exact`, `ef 250 scan 1250` (iterative), `ef 250` (post-filter).
fn short(route: &str) -> String {
    route
        .replace("Exact", "exact")
        .replace("Index { ef_search: ", "ef ")
        .replace(", iterative: Some(", " scan ")
        .replace(") }", "")
        .replace(", iterative: None }", "")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What every mode needs.
struct Setup {
    chunks: usize,
    per_class: usize,
    topics: usize,
    topics_per_tenant: usize,
    spread: f32,
    server: String,
    pgvector: String,
}

/// One fresh database with one shape loaded and its queries.
struct Run {
    database: app_db::testing::TestDatabase,
    loaded: Loaded,
    queries: Vec<Query>,
}

impl Run {
    async fn new(setup: &Setup, shape: Shape, load: usize) -> Self {
        let database = app_db::testing::TestDatabase::migrated()
            .await
            .unwrap_or_else(|e| panic!("no migrated database: {e}"));
        let seed = 2026 + load as u64 - 1;
        let mix = tenant_mix::Mix {
            topics: setup.topics,
            topics_per_tenant: setup.topics_per_tenant,
            spread: setup.spread,
            seed,
            ..tenant_mix::Mix::new(shape, setup.chunks)
        };
        let loaded = tenant_mix::load_mix(&database.db, &mix).await;
        let (m, ef_construction) = index_parameters(&database.db).await;
        println!(
            "\n## {} mix, load {load} (seed {seed}): {}\n\nPostgreSQL {}, pgvector {}: {} chunks of {} tenants, {} topics, spread {}; \
             COPY {:.1?}, HNSW build (m={m}, ef_construction={ef_construction}) {:.1?}; {} queries per class, k = {K}; \
             load average {}\n",
            shape.name(),
            shape.describe(),
            setup.server,
            setup.pgvector,
            loaded.total(),
            loaded.tenants.len(),
            setup.topics,
            setup.spread,
            loaded.load_time,
            loaded.index_time,
            setup.per_class,
            measure::load_average(),
        );
        let queries = tenant_mix::queries(&database.db, &loaded, setup.per_class, K).await;
        // One untimed pass so that every search meets the same warm caches.
        tenant_mix::measure_queries(&database.db, &queries, K, SearchOptions::default()).await;
        Self {
            database,
            loaded,
            queries,
        }
    }

    /// Drops the database (100,000 chunks take about a gigabyte with their index), unless
    /// `RAG_BENCH_KEEP=1` asks to keep it for a look by hand.
    async fn finish(self) {
        let name = self.database.name.clone();
        self.database.db.close().await.expect("close the pool");
        if std::env::var("RAG_BENCH_KEEP").is_ok_and(|v| v == "1") {
            println!("\nkept database {name:?} (RAG_BENCH_KEEP=1): drop it by hand when done");
            return;
        }
        let server = app_db::testing::TestServer::get().expect("the test server");
        let admin = sea_orm::Database::connect(server.admin_url())
            .await
            .expect("connect as admin");
        admin
            .execute_unprepared(&format!("drop database if exists \"{name}\""))
            .await
            .expect("drop the benchmark database");
    }
}

/// `m` and `ef_construction` of `document_chunk_embedding_idx` (pgvector's defaults, 16 and
/// 64, when the index sets none).
async fn index_parameters(db: &DatabaseConnection) -> (u32, u32) {
    let options = scalar(
        db,
        "select coalesce(array_to_string(reloptions, ','), '') from pg_class \
         where oid = 'document_chunk_embedding_idx'::regclass",
    )
    .await;
    let get = |key: &str, default: u32| {
        options
            .split(',')
            .find_map(|o| o.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (get("m", 16), get("ef_construction", 64))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let shapes: Vec<Shape> = std::env::var("RAG_BENCH_SHAPES")
        .unwrap_or_else(|_| "spread,shared".into())
        .split(',')
        .map(|s| {
            Shape::parse(s).unwrap_or_else(|| {
                panic!("RAG_BENCH_SHAPES: {s:?} is not a shape: give spread, shared or both")
            })
        })
        .collect();
    let loads: usize = env_or("RAG_BENCH_LOADS", 1usize).max(1);
    let sweep = std::env::var("RAG_BENCH_SWEEP").is_ok_and(|v| v == "1");
    let probe = std::env::var("RAG_BENCH_PROBE").is_ok_and(|v| v == "1");
    let (db, _url) = common::migrated_db().await;
    let setup = Setup {
        chunks: env_or("RAG_BENCH_CHUNKS", env_or("BENCH_CHUNKS", 100_000usize)),
        per_class: env_or("RAG_BENCH_QUERIES", 100),
        topics: env_or("RAG_BENCH_TOPICS", 200),
        topics_per_tenant: env_or("RAG_BENCH_TOPICS_PER_TENANT", tenant_mix::TOPICS_PER_TENANT),
        spread: env_or("RAG_BENCH_SPREAD", tenant_mix::CLUSTERED),
        server: scalar(&db, "show server_version").await,
        pgvector: scalar(
            &db,
            "select extversion from pg_extension where extname = 'vector'",
        )
        .await,
    };
    db.close().await.expect("close");
    println!(
        "rag_search: PostgreSQL {}, pgvector {}, shapes {:?}, {} load(s) each, load average {}",
        setup.server,
        setup.pgvector,
        shapes.iter().map(|s| s.name()).collect::<Vec<_>>(),
        loads,
        measure::load_average()
    );
    let mut summary = Summary::default();
    for &shape in &shapes {
        for load in 1..=loads {
            let run = Run::new(&setup, shape, load).await;
            if probe {
                run_probe(&setup, &run).await;
            } else if sweep {
                run_sweep(&setup, &run).await;
            } else {
                run_default(&setup, &run, &mut summary).await;
            }
            run.finish().await;
        }
    }
    if !probe && !sweep {
        summary.print(&setup.pgvector, loads);
    }
    println!("\nload average after: {}", measure::load_average());
}

/// The searches of the default mode: (name, `bench-result` tag, options).
fn default_searches() -> [(&'static str, &'static str, SearchOptions); 2] {
    [
        ("adaptive (default)", "adaptive", SearchOptions::default()),
        (
            "post-filter, ef_search 100",
            "fixed100",
            SearchOptions::fixed(100, true),
        ),
    ]
}

/// What one summary cell is about.
#[derive(Clone, PartialEq)]
struct Cell {
    shape: Shape,
    /// The search's `bench-result` tag.
    tag: &'static str,
    /// The search's name.
    name: &'static str,
    class: &'static str,
    /// Chunks per tenant of the class.
    size: String,
}

/// Every load's results, pooled per shape, search and class.
#[derive(Default)]
struct Summary {
    cells: Vec<(Cell, Vec<ClassResult>)>,
}

impl Summary {
    fn add(&mut self, cell: Cell, r: ClassResult) {
        match self.cells.iter_mut().find(|(c, _)| *c == cell) {
            Some((_, results)) => results.push(r),
            None => self.cells.push((cell, vec![r])),
        }
    }

    /// The must-show table (per shape and class: every load, then all loads pooled) and one
    /// set of `bench-result` lines per cell, over all loads.
    fn print(&self, pgvector: &str, loads: usize) {
        println!(
            "\n## Summary: pgvector {pgvector}, {loads} fresh load(s) per shape\n\n\
             | shape | class (chunks) | search | load | mean recall@10 | worst query (its gap) | queries < 0.5 | largest gap | p50 | p95 |\n\
             |---|---|---|---|---|---|---|---|---|---|"
        );
        for (cell, results) in &self.cells {
            let Cell {
                shape,
                name,
                class,
                size,
                ..
            } = cell;
            for (i, r) in results.iter().enumerate() {
                println!(
                    "| {} | {class} ({size}) | {name} | {} | {:.3} | {:.3} ({:.3}) | {:.1}% | {:.3} | {:.1} ms | {:.1} ms |",
                    shape.name(),
                    i + 1,
                    r.recall,
                    r.worst(),
                    r.worst_query_gap(),
                    100.0 * r.share_below(0.5),
                    r.largest_gap(),
                    ms(r.percentile(50)),
                    ms(r.percentile(95)),
                );
            }
            if results.len() > 1 {
                let all = pooled(results);
                println!(
                    "| {} | {class} ({size}) | {name} | all | {:.3} | {:.3} ({:.3}) | {:.1}% | {:.3} | {:.1} ms | {:.1} ms |",
                    shape.name(),
                    all.recall,
                    all.worst(),
                    all.worst_query_gap(),
                    100.0 * all.share_below(0.5),
                    all.largest_gap(),
                    ms(all.percentile(50)),
                    ms(all.percentile(95)),
                );
            }
        }
        println!();
        for (cell, results) in &self.cells {
            bench_lines(pgvector, cell, &pooled(results), loads);
        }
    }
}

/// One class's results of several loads as one.
fn pooled(results: &[ClassResult]) -> ClassResult {
    let recalls: Vec<f64> = results.iter().flat_map(|r| r.recalls.clone()).collect();
    let mut routes: Vec<String> = results.iter().map(|r| r.route.clone()).collect();
    routes.sort();
    routes.dedup();
    ClassResult {
        class: results[0].class,
        recall: recalls.iter().sum::<f64>() / recalls.len().max(1) as f64,
        recalls,
        gaps: results.iter().flat_map(|r| r.gaps.clone()).collect(),
        latencies: results.iter().flat_map(|r| r.latencies.clone()).collect(),
        route: routes.join(" / "),
    }
}

/// The adaptive default and the old fixed search on one load, as a table.
async fn run_default(setup: &Setup, run: &Run, summary: &mut Summary) {
    let shape = run.loaded.shape;
    println!(
        "| pgvector | class | search | route | mean recall@10 | worst query (its gap) | queries < 0.5 | largest gap | p50 | p95 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, tag, options) in default_searches() {
        for r in tenant_mix::measure_queries(&run.database.db, &run.queries, K, options).await {
            let size = run.loaded.class_size(r.class);
            println!(
                "| {} | {} ({size} chunks) | {name} | {} | {:.3} | {:.3} ({:.3}) | {:.1}% | {:.3} | {:.1?} | {:.1?} |",
                setup.pgvector,
                r.class,
                r.route,
                r.recall,
                r.worst(),
                r.worst_query_gap(),
                100.0 * r.share_below(0.5),
                r.largest_gap(),
                r.percentile(50),
                r.percentile(95)
            );
            let cell = Cell {
                shape,
                tag,
                name,
                class: r.class,
                size,
            };
            summary.add(cell, r);
        }
    }
}

/// Four `bench-result` lines per class: recall@10 (the mean, with the worst and best single
/// query as min and max), the share of queries below 0.5, latency (the median is p50), p95.
fn bench_lines(pgvector: &str, cell: &Cell, r: &ClassResult, loads: usize) {
    let Cell {
        shape,
        tag,
        name,
        class,
        size,
    } = cell;
    let id = format!("rag.{}.{tag}.{}", shape.name(), class.replace('<', "lt"));
    let what = format!(
        "rag {name}, pgvector {pgvector}, {} mix, {class} tenant ({size} chunks)",
        shape.name()
    );
    let n = r.recalls.len();
    let over = if loads > 1 {
        format!("{n} queries over {loads} loads")
    } else {
        format!("{n} queries")
    };
    let best = r.recalls.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "bench-result\t{id}.recall\t{what}: recall@10, mean of {over} (worst-best single query)\t{:.3}\t{:.3}\t{best:.3}\t{n}\trecall",
        r.recall,
        r.worst(),
    );
    let below = r.share_below(0.5);
    println!(
        "bench-result\t{id}.below-half\t{what}: share of {over} with recall@10 below 0.5\t{below:.3}\t{below:.3}\t{below:.3}\t{n}\tshare",
    );
    measure::report(
        &format!("{id}.latency"),
        &format!("{what}: latency per search (median = p50)"),
        &measure::millis(&r.latencies),
        "ms",
    );
    measure::report(
        &format!("{id}.p95"),
        &format!("{what}: p95 latency of {n} searches"),
        &[ms(r.percentile(95))],
        "ms",
    );
}

/// Every setting of the grid on one load, per class, then one summary line per setting.
async fn run_sweep(setup: &Setup, run: &Run) {
    let db = &run.database.db;
    let iterative = app_db::rag::PgvectorVersion::parse(&setup.pgvector)
        .is_some_and(app_db::rag::PgvectorVersion::has_iterative_scan);
    let exacts = env_list("RAG_BENCH_EXACT", "4000", 0);
    let scans = if iterative {
        env_list("RAG_BENCH_SCAN", "1,2", 0)
    } else {
        vec![2]
    };
    let checks = env_list("RAG_BENCH_CHECK", &app_db::rag::CHECK_SAMPLE.to_string(), 0);
    let mut grid = Vec::new();
    for ef in env_list("RAG_BENCH_EF", "64,100", 0) {
        for cap in env_list("RAG_BENCH_EF_MAX", "250,500,1000", ef) {
            if cap < ef {
                continue;
            }
            for &exact in &exacts {
                for &scan in &scans {
                    for &check_sample in &checks {
                        grid.push(SearchOptions {
                            ef_search: ef,
                            ef_search_max: cap,
                            exact_max_rows: exact,
                            scan_tuples_factor: scan,
                            check_sample,
                            ..SearchOptions::default()
                        });
                    }
                }
            }
        }
    }
    println!(
        "sweep: {} settings on pgvector {}\n\n| ef | cap | exact <= | scan x | check | class | route | mean recall@10 | worst (its gap) | < 0.5 | largest gap | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        grid.len(),
        setup.pgvector
    );
    let mut summary = Vec::new();
    for options in grid {
        let results = tenant_mix::measure_queries(db, &run.queries, K, options).await;
        for r in &results {
            println!(
                "| {} | {} | {} | {} | {} | {} ({}) | {} | {:.3} | {:.3} ({:.3}) | {:.1}% | {:.3} | {:.1} | {:.1} |",
                options.ef_search,
                options.ef_search_max,
                options.exact_max_rows,
                options.scan_tuples_factor,
                options.check_sample,
                r.class,
                run.loaded.class_size(r.class),
                short(&r.route),
                r.recall,
                r.worst(),
                r.worst_query_gap(),
                100.0 * r.share_below(0.5),
                r.largest_gap(),
                ms(r.percentile(50)),
                ms(r.percentile(95)),
            );
        }
        let highest = |f: &dyn Fn(&ClassResult) -> f64| {
            results.iter().map(f).fold(f64::NEG_INFINITY, f64::max)
        };
        let lowest =
            |f: &dyn Fn(&ClassResult) -> f64| results.iter().map(f).fold(f64::INFINITY, f64::min);
        summary.push((
            options,
            lowest(&|r| r.recall),
            lowest(&|r| r.worst()),
            highest(&|r| ms(r.percentile(50))),
            highest(&|r| ms(r.percentile(95))),
            results
                .iter()
                .map(|r| {
                    format!(
                        "{:.3}/{:.2}/{:.1}/{:.1}",
                        r.recall,
                        r.worst(),
                        ms(r.percentile(50)),
                        ms(r.percentile(95))
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    summary.sort_by(|a, b| a.3.total_cmp(&b.3));
    println!(
        "\nsummary, by highest p50 (per class mean/worst/p50/p95 in {:?}); load average {}\n\n| ef | cap | exact <= | scan x | check | lowest mean | worst query | highest p50 ms | highest p95 ms | per class |\n|---|---|---|---|---|---|---|---|---|---|",
        run.loaded.shape.classes(),
        measure::load_average()
    );
    for (o, mean, worst, p50, p95, detail) in summary {
        println!(
            "| {} | {} | {} | {} | {} | {mean:.3} | {worst:.3} | {p50:.1} | {p95:.1} | {detail} |",
            o.ef_search, o.ef_search_max, o.exact_max_rows, o.scan_tuples_factor, o.check_sample
        );
    }
}

/// The ids and topics of one statement's rows (`content` ends with `(topic N)`).
async fn ids_and_topics(
    txn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Vec<(uuid::Uuid, usize)> {
    txn.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .expect("probe query")
    .iter()
    .map(|row| {
        let id: uuid::Uuid = row.try_get("", "id").expect("id");
        let content: String = row.try_get("", "content").expect("content");
        let topic = content
            .rsplit_once("(topic ")
            .and_then(|(_, t)| t.trim_end_matches(')').parse().ok())
            .expect("content names its topic");
        (id, topic)
    })
    .collect()
}

/// One probe search: settings, then the statement, in a read-only transaction; with
/// `buffers`, the statement again under `EXPLAIN (ANALYZE, BUFFERS)` for the shared buffers it
/// touched (a measure of its work that the machine's load does not change).
async fn probe_search(
    db: &DatabaseConnection,
    settings: &str,
    sql: &str,
    values: Vec<Value>,
    buffers: bool,
) -> (Vec<(uuid::Uuid, usize)>, Duration, f64) {
    let txn = db
        .begin_with_config(None, Some(sea_orm::AccessMode::ReadOnly))
        .await
        .expect("begin");
    txn.execute_unprepared(settings).await.expect("settings");
    let started = Instant::now();
    let rows = ids_and_topics(&txn, sql, values.clone()).await;
    let elapsed = started.elapsed();
    let touched = if buffers {
        let plan = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"),
                values,
            ))
            .await
            .expect("explain")
            .expect("a plan");
        let plan: serde_json::Value = plan.try_get_by_index(0).expect("json");
        let top = &plan[0]["Plan"];
        top["Shared Hit Blocks"].as_f64().unwrap_or(0.0)
            + top["Shared Read Blocks"].as_f64().unwrap_or(0.0)
    } else {
        0.0
    };
    txn.commit().await.expect("commit");
    (rows, elapsed, touched)
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// How many chunks the graph finds when the query is the chunk's own embedding (an unfiltered
/// index scan): a chunk missing from its own top 10 at a large `ef_search` has next to no
/// incoming links, and no query reaches it.
async fn reachability(db: &DatabaseConnection, efs: &[u32]) {
    let sample: Vec<(uuid::Uuid, PgVector)> = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "select id, embedding from document_chunk order by md5(id::text) limit 1000",
        ))
        .await
        .expect("sample")
        .iter()
        .map(|r| {
            (
                r.try_get("", "id").expect("id"),
                r.try_get("", "embedding").expect("embedding"),
            )
        })
        .collect();
    let mut cells = Vec::new();
    for &ef in efs {
        let settings = format!("select set_config('hnsw.ef_search', '{ef}', true)");
        let mut found = 0;
        for (id, embedding) in &sample {
            let (rows, _, _) = probe_search(
                db,
                &settings,
                "select id, content from document_chunk order by embedding <=> $1 limit 10",
                vec![embedding.clone().into()],
                false,
            )
            .await;
            if rows.iter().any(|(hit, _)| hit == id) {
                found += 1;
            }
        }
        cells.push(format!(
            "ef {ef}: {found} of {} ({:.1}%)",
            sample.len(),
            100.0 * f64::from(found) / sample.len() as f64
        ));
    }
    println!(
        "
chunks found by their own embedding (unfiltered scan, top 10): {}",
        cells.join("; ")
    );
}

/// Per class: recall of each kind of index scan at each `ef_search`, for each index build.
async fn run_probe(setup: &Setup, run: &Run) {
    let db = &run.database.db;
    let iterative = app_db::rag::PgvectorVersion::parse(&setup.pgvector)
        .is_some_and(app_db::rag::PgvectorVersion::has_iterative_scan);
    // What the query's neighbourhood looks like: its topic's cluster, the tenant's part of it.
    println!(
        "| class | topic cluster (chunks, all tenants) | the tenant's part | tenant's 10th-nearest distance | tenant's 100th-nearest |\n|---|---|---|---|---|"
    );
    for class in tenant_mix::classes_of(&run.queries) {
        let (mut cluster, mut own, mut d10, mut d100, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for q in run.queries.iter().filter(|q| q.class == class) {
            let pattern = format!("%(topic {})", q.topic);
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "select count(*)::float8 as all_rows, \
                     count(*) filter (where organization_id = $2)::float8 as own \
                     from document_chunk where content like $1",
                    [pattern.into(), q.tenant.clone().into()],
                ))
                .await
                .expect("cluster size")
                .expect("a row");
            cluster += row.try_get::<f64>("", "all_rows").expect("count");
            own += row.try_get::<f64>("", "own").expect("count");
            let distances: Vec<f64> = db
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "select (embedding <=> $1)::float8 as d from document_chunk \
                     where organization_id = $2 order by (embedding <=> $1) + 0 limit 100",
                    [
                        PgVector::from(q.embedding.clone()).into(),
                        q.tenant.clone().into(),
                    ],
                ))
                .await
                .expect("distances")
                .iter()
                .map(|r| r.try_get("", "d").expect("distance"))
                .collect();
            d10 += distances.get(9).copied().unwrap_or(f64::NAN);
            d100 += distances.last().copied().unwrap_or(f64::NAN);
            n += 1.0;
        }
        println!(
            "| {class} | {:.0} | {:.0} | {:.3} | {:.3} |",
            cluster / n,
            own / n,
            d10 / n,
            d100 / n
        );
    }
    // The whole table's exact answer of every query (for the scan without the tenant filter).
    let mut global = Vec::new();
    for q in &run.queries {
        let (rows, _, _) = probe_search(
            db,
            "select 1",
            "select id, content from document_chunk order by (embedding <=> $1) + 0 limit 10",
            vec![PgVector::from(q.embedding.clone()).into()],
            false,
        )
        .await;
        global.push(rows.into_iter().map(|(id, _)| id).collect::<HashSet<_>>());
    }
    let builds: Vec<(u32, u32)> = std::env::var("RAG_BENCH_INDEX")
        .ok()
        .map(|text| {
            text.split(',')
                .map(|pair| {
                    let (m, efc) = pair.split_once('/').unwrap_or_else(|| {
                        panic!("RAG_BENCH_INDEX: {pair:?} is not m/ef_construction")
                    });
                    (
                        m.trim().parse().expect("m is a number"),
                        efc.trim().parse().expect("ef_construction is a number"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let builds = if builds.is_empty() {
        vec![index_parameters(db).await]
    } else {
        builds
    };
    let efs = env_list("RAG_BENCH_PROBE_EF", "40,100,250,500,1000", 0);
    for (m, ef_construction) in builds {
        if index_parameters(db).await != (m, ef_construction) {
            let started = Instant::now();
            db.execute_unprepared(&format!(
                "set maintenance_work_mem = '4GB'; set max_parallel_maintenance_workers = 0; \
                 drop index document_chunk_embedding_idx; \
                 create index document_chunk_embedding_idx on document_chunk using hnsw \
                 (embedding vector_cosine_ops) with (m = {m}, ef_construction = {ef_construction})"
            ))
            .await
            .expect("rebuild the index");
            println!(
                "\nindex rebuilt with m = {m}, ef_construction = {ef_construction} in {:.1?} (load average {})",
                started.elapsed(),
                measure::load_average()
            );
        }
        let size = scalar(
            db,
            "select pg_size_pretty(pg_relation_size('document_chunk_embedding_idx'))",
        )
        .await;
        reachability(db, &efs).await;
        println!(
            "\n### m = {m}, ef_construction = {ef_construction} (index {size})\n\n\
             recall@10 as mean / worst query / share < 0.5 (`off topic`: queries whose 10 hits hold nothing of the query's topic); \
             p50 ms (loaded machine: direction only) and the median of the shared buffers a search touches (its work, whatever the load); load average {}\n\n\
             | ef_search | class | post-filter | off topic | iterative (relaxed, max 20000) | off topic | no tenant filter (vs whole table) | off topic | p50 and median shared buffers: post / iter / unfiltered |\n\
             |---|---|---|---|---|---|---|---|---|",
            measure::load_average()
        );
        for &ef in &efs {
            for class in tenant_mix::classes_of(&run.queries) {
                let mut cells = Vec::new();
                let kinds: [(&str, bool); 3] = [("post", true), ("iter", true), ("none", false)];
                for (kind, filtered) in kinds {
                    if kind == "iter" && !iterative {
                        cells.push("-".to_string());
                        cells.push("-".to_string());
                        cells.push(String::new());
                        continue;
                    }
                    let settings = match kind {
                        "iter" => format!(
                            "select set_config('hnsw.ef_search', '{ef}', true), \
                             set_config('hnsw.iterative_scan', 'relaxed_order', true), \
                             set_config('hnsw.max_scan_tuples', '20000', true), \
                             set_config('enable_sort', 'off', true)"
                        ),
                        _ => format!(
                            "select set_config('hnsw.ef_search', '{ef}', true), \
                             set_config('enable_sort', 'off', true)"
                        ),
                    };
                    let mut recalls = Vec::new();
                    let mut off_topic = 0;
                    let mut latencies = Vec::new();
                    let mut touched = Vec::new();
                    for (i, q) in run.queries.iter().enumerate() {
                        if q.class != class {
                            continue;
                        }
                        let embedding: Value = PgVector::from(q.embedding.clone()).into();
                        let (rows, elapsed, blocks) = if filtered {
                            let sql = if kind == "iter" {
                                "with hits as materialized (select id, content, embedding <=> $1 as d \
                                 from document_chunk where organization_id = $2 \
                                 order by embedding <=> $1 limit 10) select id, content from hits order by d + 0"
                            } else {
                                "select id, content from document_chunk where organization_id = $2 \
                                 order by embedding <=> $1 limit 10"
                            };
                            probe_search(
                                db,
                                &settings,
                                sql,
                                vec![embedding, q.tenant.clone().into()],
                                true,
                            )
                            .await
                        } else {
                            probe_search(
                                db,
                                &settings,
                                "select id, content from document_chunk order by embedding <=> $1 limit 10",
                                vec![embedding],
                                true,
                            )
                            .await
                        };
                        latencies.push(elapsed);
                        touched.push(blocks);
                        let truth = if filtered { &q.truth } else { &global[i] };
                        let found = rows.iter().filter(|(id, _)| truth.contains(id)).count();
                        recalls.push(found as f64 / truth.len().max(1) as f64);
                        if !rows.iter().any(|(_, t)| *t == q.topic) {
                            off_topic += 1;
                        }
                    }
                    let r = ClassResult {
                        class,
                        recall: recalls.iter().sum::<f64>() / recalls.len().max(1) as f64,
                        recalls,
                        gaps: Vec::new(),
                        latencies,
                        route: String::new(),
                    };
                    cells.push(format!(
                        "{:.3} / {:.1} / {:.0}%",
                        r.recall,
                        r.worst(),
                        100.0 * r.share_below(0.5)
                    ));
                    cells.push(off_topic.to_string());
                    cells.push(format!(
                        "{:.1} ms, {:.0} buf",
                        ms(r.percentile(50)),
                        median(&mut touched)
                    ));
                }
                println!(
                    "| {ef} | {class} | {} | {} | {} | {} | {} | {} | {} / {} / {} |",
                    cells[0],
                    cells[1],
                    cells[3],
                    cells[4],
                    cells[6],
                    cells[7],
                    cells[2],
                    cells[5],
                    cells[8]
                );
            }
        }
    }
}
