//! A SaaS-like tenant mix of clustered chunks, for the search quality test and the benchmark:
//! one tenant with ~40% of the chunks, one with ~15%, five at 5..1%, and the remaining ~30%
//! spread over many tenants of 0.25% each. Chunks sit around topic centroids
//! (`app_db::seed::synthetic::near`); at spread 1.0 a chunk's cosine to its centroid is about
//! 0.7, like real topic clusters. Loaded by binary COPY, then the HNSW index is rebuilt once in
//! the same transaction (`app_db::seed::vector_index`), as `seed --demo` does.

#![allow(dead_code)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use app_db::rag::{self, SearchOptions};
use app_db::seed::demo::{ChunkRow, copy_chunks};
use app_db::seed::synthetic::{Rng, near, random_unit};
use app_db::seed::vector_index;
use sea_orm::DatabaseConnection;

/// Spread giving a cosine of about 0.7 between a chunk and its topic centroid.
pub const CLUSTERED: f32 = 1.0;
/// Nearly random vectors (cosine to the centroid about 0.24): the stress case.
pub const NEAR_RANDOM: f32 = 4.0;

/// One tenant of the mix.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    /// `40%`, `15%`, `1-5%` or `<0.5%`.
    pub class: &'static str,
    pub chunks: usize,
}

/// The classes, in report order.
pub const CLASSES: [&str; 4] = ["40%", "15%", "1-5%", "<0.5%"];

/// The mix for about `total` chunks.
pub fn tenants(total: usize) -> Vec<Tenant> {
    let share = |pct: f64| ((total as f64 * pct / 100.0).round() as usize).max(1);
    let mut out = vec![
        Tenant {
            id: "mix_large".into(),
            class: "40%",
            chunks: share(40.0),
        },
        Tenant {
            id: "mix_medium".into(),
            class: "15%",
            chunks: share(15.0),
        },
    ];
    for (i, pct) in [5.0, 4.0, 3.0, 2.0, 1.0].into_iter().enumerate() {
        out.push(Tenant {
            id: format!("mix_small_{i}"),
            class: "1-5%",
            chunks: share(pct),
        });
    }
    let tiny = share(0.25);
    let rest = total.saturating_sub(out.iter().map(|t| t.chunks).sum());
    for i in 0..rest / tiny {
        out.push(Tenant {
            id: format!("mix_tiny_{i:04}"),
            class: "<0.5%",
            chunks: tiny,
        });
    }
    out
}

/// The loaded data set: its tenants and topic centroids.
pub struct Loaded {
    pub tenants: Vec<Tenant>,
    pub centroids: Vec<Vec<f32>>,
    pub spread: f32,
    pub load_time: Duration,
    pub index_time: Duration,
}

/// Loads the mix for about `total` chunks around `topics` centroids.
pub async fn load(db: &DatabaseConnection, total: usize, topics: usize, spread: f32) -> Loaded {
    let mut rng = Rng::new(2026);
    let dim = app_db::document_chunk::EMBEDDING_DIMENSION;
    let centroids: Vec<Vec<f32>> = (0..topics).map(|_| random_unit(&mut rng, dim)).collect();
    let tenants = tenants(total);
    let started = Instant::now();
    let mut rows = Vec::new();
    for tenant in &tenants {
        crate::common::organization(db, &tenant.id).await;
        let source_id = crate::common::source(db, &tenant.id).await;
        for i in 0..tenant.chunks {
            let topic = rng.below(topics as u64) as usize;
            rows.push(ChunkRow {
                id: rng.uuid(),
                organization_id: tenant.id.clone(),
                source_id,
                chunk_index: i as i32,
                content: format!("{} chunk {i} (topic {topic})", tenant.id),
                token_count: 200,
                embedding: near(&mut rng, &centroids[topic], spread),
                created_at: chrono::Utc::now(),
            });
        }
    }
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .expect("a connection");
    let mut txn = sqlx::Connection::begin(&mut *conn).await.expect("begin");
    let index = vector_index::drop_for_rebuild(&mut txn)
        .await
        .expect("drop the HNSW index")
        .expect("document_chunk has its HNSW index");
    for batch in rows.chunks(2_000) {
        copy_chunks(&mut txn, batch).await.expect("copy chunks");
    }
    let load_time = started.elapsed();
    let started = Instant::now();
    vector_index::rebuild(&mut txn, db, &index, &mut |_, _| {})
        .await
        .expect("rebuild the HNSW index");
    txn.commit().await.expect("commit");
    Loaded {
        tenants,
        centroids,
        spread,
        load_time,
        index_time: started.elapsed(),
    }
}

/// Recall@k against exact search and latencies, for one class.
pub struct ClassResult {
    pub class: &'static str,
    pub recall: f64,
    /// Recall of each query.
    pub recalls: Vec<f64>,
    pub latencies: Vec<Duration>,
    pub route: String,
}

impl ClassResult {
    /// The `pct` percentile latency.
    pub fn percentile(&self, pct: usize) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = (sorted.len() * pct).div_ceil(100).max(1);
        sorted[rank - 1]
    }
}

/// One seeded query of a class, with its exact answer.
pub struct Query {
    pub class: &'static str,
    pub tenant: String,
    pub embedding: Vec<f32>,
    /// The ids `rag::search_exact` returns.
    pub truth: HashSet<uuid::Uuid>,
}

/// `per_class` seeded queries per class (a fresh point near a random centroid, spread over the
/// class's tenants), each with its exact top `k`, computed once so that several searches can be
/// measured against the same set.
pub async fn queries(
    db: &DatabaseConnection,
    loaded: &Loaded,
    per_class: usize,
    k: u64,
) -> Vec<Query> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    for class in CLASSES {
        let members: Vec<&Tenant> = loaded.tenants.iter().filter(|t| t.class == class).collect();
        if members.is_empty() {
            continue;
        }
        for q in 0..per_class {
            let tenant = members[q % members.len()];
            let topic = rng.below(loaded.centroids.len() as u64) as usize;
            let embedding = near(&mut rng, &loaded.centroids[topic], loaded.spread);
            let truth = rag::search_exact(db, &tenant.id, &embedding, k)
                .await
                .expect("exact search")
                .iter()
                .map(|h| h.id)
                .collect();
            out.push(Query {
                class,
                tenant: tenant.id.clone(),
                embedding,
                truth,
            });
        }
    }
    out
}

/// Recall@k against the exact answers and each search's latency, per class, for `options`.
pub async fn measure_queries(
    db: &DatabaseConnection,
    queries: &[Query],
    k: u64,
    options: SearchOptions,
) -> Vec<ClassResult> {
    let mut out = Vec::new();
    for class in CLASSES {
        let mut recalls = Vec::new();
        let mut latencies = Vec::new();
        let mut routes = HashSet::new();
        for query in queries.iter().filter(|q| q.class == class) {
            let route = rag::route_for(db, &query.tenant, k, options)
                .await
                .expect("route");
            routes.insert(format!("{route:?}"));
            let started = Instant::now();
            let hits = rag::search_with(db, &query.tenant, &query.embedding, k, options)
                .await
                .expect("search");
            latencies.push(started.elapsed());
            assert!(hits.iter().all(|h| h.distance.is_finite()));
            let found = hits.iter().filter(|h| query.truth.contains(&h.id)).count();
            recalls.push(found as f64 / query.truth.len().max(1) as f64);
        }
        if recalls.is_empty() {
            continue;
        }
        let mut routes: Vec<String> = routes.into_iter().collect();
        routes.sort();
        out.push(ClassResult {
            class,
            recall: recalls.iter().sum::<f64>() / recalls.len() as f64,
            recalls,
            latencies,
            route: routes.join(" / "),
        });
    }
    out
}

/// Runs `queries` seeded queries per class (spread over the class's tenants) with `options`,
/// measuring recall@k against `rag::search_exact` and each search's latency.
pub async fn measure(
    db: &DatabaseConnection,
    loaded: &Loaded,
    queries: usize,
    k: u64,
    options: SearchOptions,
) -> Vec<ClassResult> {
    let set = self::queries(db, loaded, queries, k).await;
    measure_queries(db, &set, k, options).await
}
