//! Recall and latency of `app_db::rag` on 10,000 synthetic 1536-d chunks.
//!
//! ```text
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres cargo bench --bench rag_search
//! ```
//!
//! `RAG_BENCH_SPREAD` (default 4.0) sets how much the clusters overlap.
//!
//! Creates a fresh migrated database (through the same helper as the tests), loads clustered
//! vectors for two tenants (8,000 + 2,000 chunks), rebuilds the HNSW index after the load (as a
//! backfill would), then for 200 seeded queries per tenant compares `rag::search_with` at several
//! `ef_search` values with `rag::search_exact` (recall@10) and reports p50/p95 latency.
//! Results are written up in docs/bench-rag.md.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use app_db::document_chunk;
use app_db::rag::{self, SearchOptions};
use sea_orm::prelude::PgVector;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel};
use uuid::Uuid;

const DIM: usize = document_chunk::EMBEDDING_DIMENSION;
const CLUSTERS: usize = 100;
const K: u64 = 10;
const QUERIES: usize = 200;
const TENANTS: [(&str, usize); 2] = [("org_large", 8_000), ("org_small", 2_000)];
const EF_SEARCH: [u32; 3] = [40, 100, 200];
/// Default noise added to a cluster centre, relative to the centre's per-dimension range. At 4.0
/// a chunk's cosine similarity to its centre is about 0.25, the clusters overlap in the neighbour
/// lists and HNSW recall drops below 1; at 1.5 or less every search here is trivially exact.
const DEFAULT_SPREAD: f32 = 4.0;

/// `RAG_BENCH_SPREAD` overrides [`DEFAULT_SPREAD`].
fn spread() -> f32 {
    std::env::var("RAG_BENCH_SPREAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f32| v.is_finite() && *v > 0.0)
        .unwrap_or(DEFAULT_SPREAD)
}

/// splitmix64, so every run loads and queries the same vectors.
struct Rng {
    state: u64,
    spread: f32,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Self {
            state: seed,
            spread: spread(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn around(&mut self, centre: &[f32]) -> Vec<f32> {
        centre
            .iter()
            .map(|c| c + self.spread * self.next_f32())
            .collect()
    }
}

struct Stats {
    recall: f64,
    p50: Duration,
    p95: Duration,
    fallbacks: usize,
}

fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn summarize(mut latencies: Vec<Duration>, recall_sum: f64, fallbacks: usize) -> Stats {
    latencies.sort();
    Stats {
        recall: recall_sum / latencies.len() as f64,
        p50: percentile(&latencies, 50),
        p95: percentile(&latencies, 95),
        fallbacks,
    }
}

async fn load(db: &DatabaseConnection, centres: &[Vec<f32>], rng: &mut Rng) -> Duration {
    let started = Instant::now();
    for (tenant, count) in TENANTS {
        common::organization(db, tenant).await;
        let now = chrono::Utc::now().fixed_offset();
        let source_id = common::source(db, tenant).await;

        let mut batch = Vec::with_capacity(500);
        for i in 0..count {
            let centre = &centres[rng.below(CLUSTERS)];
            batch.push(
                document_chunk::Model {
                    id: Uuid::new_v4(),
                    organization_id: tenant.into(),
                    source_id,
                    chunk_index: i32::try_from(i).expect("small"),
                    content: format!("{tenant} chunk {i}"),
                    token_count: 200,
                    embedding: PgVector::from(rng.around(centre)),
                    metadata: serde_json::json!({}),
                    created_at: now,
                }
                .into_active_model(),
            );
            if batch.len() == 500 || i + 1 == count {
                document_chunk::Entity::insert_many(std::mem::take(&mut batch))
                    .exec(db)
                    .await
                    .expect("insert chunks");
            }
        }
    }
    started.elapsed()
}

async fn rebuild_index(db: &DatabaseConnection) -> Duration {
    // Same definition as 0005_rag.sql; built once after the load, like a backfill, which is far
    // faster than growing the graph row by row.
    db.execute_unprepared("DROP INDEX document_chunk_embedding_idx")
        .await
        .expect("drop index");
    db.execute_unprepared("SET maintenance_work_mem = '512MB'")
        .await
        .expect("maintenance_work_mem");
    let started = Instant::now();
    db.execute_unprepared(
        "CREATE INDEX \"document_chunk_embedding_idx\" ON \"document_chunk\" \
         USING hnsw (\"embedding\" vector_cosine_ops)",
    )
    .await
    .expect("create index");
    let elapsed = started.elapsed();
    db.execute_unprepared("ANALYZE document_chunk")
        .await
        .expect("analyze");
    elapsed
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (db, _url) = common::migrated_db().await;
    let mut rng = Rng::new(2026);
    let centres: Vec<Vec<f32>> = (0..CLUSTERS)
        .map(|_| (0..DIM).map(|_| rng.next_f32()).collect())
        .collect();

    let load_time = load(&db, &centres, &mut rng).await;
    let build_time = rebuild_index(&db).await;
    println!(
        "spread {}: loaded 10,000 chunks in {load_time:.1?}; HNSW build (m=16, ef_construction=64) {build_time:.1?}",
        rng.spread
    );

    for (tenant, count) in TENANTS {
        let queries: Vec<Vec<f32>> = (0..QUERIES)
            .map(|_| {
                let centre = &centres[rng.below(CLUSTERS)];
                rng.around(centre)
            })
            .collect();

        let plan = rag::explain(&db, tenant, &queries[0], K, SearchOptions::default())
            .await
            .expect("explain");
        let access = plan
            .iter()
            .find(|line| line.contains("Scan"))
            .map(|line| line.trim().chars().take(70).collect::<String>())
            .unwrap_or_default();
        println!("\n{tenant} ({count} chunks), plan: {access}");

        let mut exact_ids = Vec::with_capacity(QUERIES);
        let mut exact_latency = Vec::with_capacity(QUERIES);
        for query in &queries {
            let started = Instant::now();
            let hits = rag::search_exact(&db, tenant, query, K)
                .await
                .expect("exact");
            exact_latency.push(started.elapsed());
            exact_ids.push(hits.iter().map(|h| h.id).collect::<HashSet<_>>());
        }
        let exact = summarize(exact_latency, QUERIES as f64, 0);
        println!("| search | exact fallback | recall@10 | p50 | p95 | queries with < k rows |");
        println!("|---|---|---|---|---|---|");
        println!(
            "| exact (`search_exact`) | - | {:.3} | {:.2?} | {:.2?} | - |",
            exact.recall, exact.p50, exact.p95
        );

        for ef_search in EF_SEARCH {
            for exact_fallback in [false, true] {
                let options = SearchOptions {
                    ef_search,
                    exact_fallback,
                };
                let mut latency = Vec::with_capacity(QUERIES);
                let mut recall_sum = 0.0;
                let mut fallbacks = 0;
                for (query, truth) in queries.iter().zip(&exact_ids) {
                    let started = Instant::now();
                    let hits = rag::search_with(&db, tenant, query, K, options)
                        .await
                        .expect("search");
                    latency.push(started.elapsed());
                    let found = hits.iter().filter(|h| truth.contains(&h.id)).count();
                    recall_sum += found as f64 / K as f64;
                    if !exact_fallback {
                        // Would the fallback have run? (fewer than k rows after the tenant filter)
                        fallbacks += usize::from((hits.len() as u64) < K);
                    }
                }
                let stats = summarize(latency, recall_sum, fallbacks);
                let (fallback, short) = if exact_fallback {
                    ("on", "-".to_owned())
                } else {
                    ("off", stats.fallbacks.to_string())
                };
                println!(
                    "| HNSW, ef_search={ef_search} | {fallback} | {:.3} | {:.2?} | {:.2?} | {short} |",
                    stats.recall, stats.p50, stats.p95
                );
            }
        }
    }
}
