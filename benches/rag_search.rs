//! Recall and latency of `app_db::rag` on a SaaS-like tenant mix (default 100,000 chunks).
//!
//! ```text
//! cargo bench --bench rag_search                                   # pgvector 0.8.1
//! APP_DB_PG_WHEEL=pgserver==0.1.4 cargo bench --bench rag_search   # pgvector 0.6.2
//! ```
//!
//! Sizes: `RAG_BENCH_CHUNKS` (default 100000), `RAG_BENCH_QUERIES` per class (default 100),
//! `RAG_BENCH_TOPICS` (default 200), `RAG_BENCH_SPREAD` (default 1.0: cosine to the topic
//! centroid about 0.7; 4.0 is the nearly random stress case). `APP_DB_PG_BIN` or
//! `TEST_DATABASE_URL` point it at another server.
//!
//! Loads the tenant mix of `tests/common/tenant_mix.rs` (one tenant at 40%, one at 15%, five at
//! 1-5%, many at 0.25%) into a fresh migrated database by binary COPY, rebuilds the HNSW index
//! once, then per class runs seeded queries with the adaptive search (default options) and with
//! the plain post-filtered search at `ef_search` 100 (what search did before), measuring
//! recall@10 against `rag::search_exact` and p50/p95 latency. Results: docs/bench-rag.md.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/tenant_mix.rs"]
mod tenant_mix;

use app_db::rag::SearchOptions;
use sea_orm::ConnectionTrait;

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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let chunks: usize = env_or("RAG_BENCH_CHUNKS", 100_000);
    let queries: usize = env_or("RAG_BENCH_QUERIES", 100);
    let topics: usize = env_or("RAG_BENCH_TOPICS", 200);
    let spread: f32 = env_or("RAG_BENCH_SPREAD", tenant_mix::CLUSTERED);
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
         COPY {:.1?}, HNSW build (m=16, ef_construction=64) {:.1?}; {queries} queries per class, k = 10\n",
        loaded.tenants.len(),
        loaded.load_time,
        loaded.index_time,
    );
    println!("| pgvector | class | search | route | recall@10 | p50 | p95 |");
    println!("|---|---|---|---|---|---|---|");
    let searches = [
        ("adaptive (default)", SearchOptions::default()),
        (
            "post-filter, ef_search 100",
            SearchOptions::fixed(100, true),
        ),
    ];
    for (name, options) in searches {
        for r in tenant_mix::measure(&db, &loaded, queries, 10, options).await {
            let class_chunks: Vec<usize> = loaded
                .tenants
                .iter()
                .filter(|t| t.class == r.class)
                .map(|t| t.chunks)
                .collect();
            let size = match (class_chunks.iter().min(), class_chunks.iter().max()) {
                (Some(a), Some(b)) if a == b => format!("{a}"),
                (Some(a), Some(b)) => format!("{a}-{b}"),
                _ => String::new(),
            };
            println!(
                "| {pgvector} | {} ({size} chunks) | {name} | {} | {:.3} | {:.1?} | {:.1?} |",
                r.class,
                r.route,
                r.recall,
                r.percentile(50),
                r.percentile(95)
            );
        }
    }
}
