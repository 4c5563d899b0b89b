//! SaaS-like tenant mixes of clustered chunks, for the search quality test and the benchmark.
//!
//! Two shapes ([`Shape`]), both made of chunks around topic centroids
//! (`app_db::seed::synthetic::near`; at spread 1.0 a chunk's cosine to its centroid is about
//! 0.7, like real topic clusters):
//! - [`Shape::Spread`] (issue 11): one tenant with ~40% of the chunks, one with ~15%, five at
//!   5..1%, the remaining ~30% over many tenants of 0.25%; every chunk is on a random one of all
//!   the topics, so each topic's cluster is thin and shared by every tenant.
//! - [`Shape::Shared`] (issue 21): one dominant tenant with 43%, one with 14%, eight at 3.5%,
//!   fifty at 0.3%; each tenant writes about [`TOPICS_PER_TENANT`] of the topics (topics shared
//!   across tenants), so the large tenants' topics are dense clusters of thousands of chunks,
//!   and a query is a new document on one of the tenant's own topics.
//!
//! Loaded by binary COPY, then the HNSW index is rebuilt once in the same transaction
//! (`app_db::seed::vector_index`), as `seed --demo` does.

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
/// How many topics each tenant of [`Shape::Shared`] writes about.
pub const TOPICS_PER_TENANT: usize = 12;

/// Which tenant mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Issue 11's mix: 40% / 15% / 5..1% / 0.25% tenants, each chunk on any topic.
    Spread,
    /// Issue 21's mix: 43% / 14% / 3.5% / 0.3% tenants, each writing about
    /// [`TOPICS_PER_TENANT`] topics shared with other tenants.
    Shared,
}

impl Shape {
    /// `spread` or `shared`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Spread => "spread",
            Shape::Shared => "shared",
        }
    }

    /// Parses [`Shape::name`].
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "spread" => Some(Shape::Spread),
            "shared" => Some(Shape::Shared),
            _ => None,
        }
    }

    /// The tenant classes, largest first (the report order).
    pub fn classes(self) -> &'static [&'static str] {
        match self {
            Shape::Spread => &["40%", "15%", "1-5%", "<0.5%"],
            Shape::Shared => &["43%", "14%", "3.5%", "0.3%"],
        }
    }

    /// One line saying what the shape is, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Spread => {
                "tenants at 40% / 15% / 5-1% / 0.25%, every chunk on a random one of all topics"
            }
            Shape::Shared => {
                "tenants at 43% / 14% / 8 x 3.5% / 50 x 0.3%, each writing 12 topics shared with others; \
                 queries on the tenant's own topics"
            }
        }
    }
}

/// The classes of [`Shape::Spread`] (kept for callers of the first mix).
pub const CLASSES: [&str; 4] = ["40%", "15%", "1-5%", "<0.5%"];

/// One tenant of the mix.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    /// One of the shape's [`Shape::classes`].
    pub class: &'static str,
    pub chunks: usize,
    /// The topics it writes about; empty: every topic.
    pub topics: Vec<usize>,
}

/// What to load: a shape, its size and its topics.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub shape: Shape,
    /// About this many chunks.
    pub total: usize,
    /// Topic centroids.
    pub topics: usize,
    /// Topics each tenant of [`Shape::Shared`] writes about.
    pub topics_per_tenant: usize,
    /// Noise around the centroids ([`CLUSTERED`], [`NEAR_RANDOM`]).
    pub spread: f32,
    /// Decides centroids, topics and chunks: the same seed loads the same rows.
    pub seed: u64,
}

impl Mix {
    /// `shape` at about `total` chunks, 200 topics, [`TOPICS_PER_TENANT`], [`CLUSTERED`].
    pub fn new(shape: Shape, total: usize) -> Self {
        Self {
            shape,
            total,
            topics: 200,
            topics_per_tenant: TOPICS_PER_TENANT,
            spread: CLUSTERED,
            seed: 2026,
        }
    }
}

/// The mix of `shape` for about `total` chunks over `topics` topics (topic choices seeded).
pub fn tenants_of(shape: Shape, total: usize, topics: usize) -> Vec<Tenant> {
    tenants_with(shape, total, topics, TOPICS_PER_TENANT)
}

/// [`tenants_of`] with `per_tenant` topics for each tenant of [`Shape::Shared`].
pub fn tenants_with(shape: Shape, total: usize, topics: usize, per_tenant: usize) -> Vec<Tenant> {
    let share = |pct: f64| ((total as f64 * pct / 100.0).round() as usize).max(1);
    let tenant = |id: String, class: &'static str, chunks: usize| Tenant {
        id,
        class,
        chunks,
        topics: Vec::new(),
    };
    match shape {
        Shape::Spread => {
            let mut out = vec![
                tenant("mix_large".into(), "40%", share(40.0)),
                tenant("mix_medium".into(), "15%", share(15.0)),
            ];
            for (i, pct) in [5.0, 4.0, 3.0, 2.0, 1.0].into_iter().enumerate() {
                out.push(tenant(format!("mix_small_{i}"), "1-5%", share(pct)));
            }
            let tiny = share(0.25);
            let rest = total.saturating_sub(out.iter().map(|t| t.chunks).sum());
            for i in 0..rest / tiny {
                out.push(tenant(format!("mix_tiny_{i:04}"), "<0.5%", tiny));
            }
            out
        }
        Shape::Shared => {
            let mut out = vec![
                tenant("shared_dominant".into(), "43%", share(43.0)),
                tenant("shared_large".into(), "14%", share(14.0)),
            ];
            for i in 0..8 {
                out.push(tenant(format!("shared_mid_{i}"), "3.5%", share(3.5)));
            }
            for i in 0..50 {
                out.push(tenant(format!("shared_small_{i:02}"), "0.3%", share(0.3)));
            }
            let mut rng = Rng::new(21);
            let per_tenant = per_tenant.clamp(1, topics);
            for t in &mut out {
                while t.topics.len() < per_tenant {
                    let topic = rng.below(topics as u64) as usize;
                    if !t.topics.contains(&topic) {
                        t.topics.push(topic);
                    }
                }
            }
            out
        }
    }
}

/// [`Shape::Spread`]'s tenants for about `total` chunks.
pub fn tenants(total: usize) -> Vec<Tenant> {
    tenants_of(Shape::Spread, total, 1)
}

/// The loaded data set: its tenants and topic centroids.
pub struct Loaded {
    pub shape: Shape,
    pub tenants: Vec<Tenant>,
    pub centroids: Vec<Vec<f32>>,
    pub spread: f32,
    pub load_time: Duration,
    pub index_time: Duration,
}

impl Loaded {
    /// `1000-5000` (chunks per tenant) for a class.
    pub fn class_size(&self, class: &str) -> String {
        let sizes: Vec<usize> = self
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

    /// The number of chunks loaded.
    pub fn total(&self) -> usize {
        self.tenants.iter().map(|t| t.chunks).sum()
    }
}

/// Loads [`Shape::Spread`] for about `total` chunks around `topics` centroids.
pub async fn load(db: &DatabaseConnection, total: usize, topics: usize, spread: f32) -> Loaded {
    load_shape(db, Shape::Spread, total, topics, spread, 2026).await
}

/// Loads `shape` for about `total` chunks around `topics` centroids; `seed` decides the
/// centroids and chunks (the same seed loads the same rows).
pub async fn load_shape(
    db: &DatabaseConnection,
    shape: Shape,
    total: usize,
    topics: usize,
    spread: f32,
    seed: u64,
) -> Loaded {
    let mix = Mix {
        topics,
        spread,
        seed,
        ..Mix::new(shape, total)
    };
    load_mix(db, &mix).await
}

/// Loads `mix`. [`Shape::Spread`] is written tenant after tenant (as the first benchmark did);
/// [`Shape::Shared`] in an interleaved order, as tenants' documents arrive in a real SaaS.
pub async fn load_mix(db: &DatabaseConnection, mix: &Mix) -> Loaded {
    let Mix {
        shape,
        total,
        topics,
        topics_per_tenant,
        spread,
        seed,
    } = *mix;
    let mut rng = Rng::new(seed);
    let dim = app_db::document_chunk::EMBEDDING_DIMENSION;
    let centroids: Vec<Vec<f32>> = (0..topics).map(|_| random_unit(&mut rng, dim)).collect();
    let tenants = tenants_with(shape, total, topics, topics_per_tenant);
    let started = Instant::now();
    let mut rows = Vec::new();
    for tenant in &tenants {
        crate::common::organization(db, &tenant.id).await;
        let source_id = crate::common::source(db, &tenant.id).await;
        for i in 0..tenant.chunks {
            let topic = if tenant.topics.is_empty() {
                rng.below(topics as u64) as usize
            } else {
                tenant.topics[rng.below(tenant.topics.len() as u64) as usize]
            };
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
    if shape == Shape::Shared {
        // Fisher-Yates with the seeded generator: the same seed, the same order.
        for i in (1..rows.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            rows.swap(i, j);
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
    drop(conn);
    // As `seed --demo` does after a bulk load (and autovacuum would a minute later).
    vector_index::settle(db)
        .await
        .expect("vacuum document_chunk");
    Loaded {
        shape,
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
    /// Mean recall of the class's queries.
    pub recall: f64,
    /// Recall of each query.
    pub recalls: Vec<f64>,
    /// Each query's answer against the exact one by distance: its k-th hit's distance minus
    /// the exact k-th (0 for an exact answer; negative only for an answer short of k hits the
    /// exact one has, which `rag::search` never returns; empty where not measured). A low
    /// recall with a gap near 0 is a near-tie (other chunks as near as the true ones); a large
    /// gap is an answer from elsewhere.
    pub gaps: Vec<f64>,
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

    /// The lowest recall of a single query.
    pub fn worst(&self) -> f64 {
        self.recalls.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// The largest distance gap of a single query (0 when none was measured).
    pub fn largest_gap(&self) -> f64 {
        self.gaps.iter().copied().fold(0.0, f64::max)
    }

    /// The distance gap of the query with the lowest recall (the largest among ties).
    pub fn worst_query_gap(&self) -> f64 {
        let worst = self.worst();
        self.recalls
            .iter()
            .zip(&self.gaps)
            .filter(|(recall, _)| **recall == worst)
            .map(|(_, gap)| *gap)
            .fold(0.0, f64::max)
    }

    /// The share of queries with recall below `floor`.
    pub fn share_below(&self, floor: f64) -> f64 {
        let below = self.recalls.iter().filter(|r| **r < floor).count();
        below as f64 / self.recalls.len().max(1) as f64
    }
}

/// One seeded query of a class, with its exact answer.
pub struct Query {
    pub class: &'static str,
    pub tenant: String,
    /// The topic the query is about.
    pub topic: usize,
    pub embedding: Vec<f32>,
    /// The ids `rag::search_exact` returns.
    pub truth: HashSet<uuid::Uuid>,
    /// The distance of the exact answer's k-th (farthest) hit.
    pub truth_kth: f64,
}

/// `per_class` seeded queries per class (a fresh point near the centroid of one of the tenant's
/// topics, spread over the class's tenants), each with its exact top `k`, computed once so that
/// several searches can be measured against the same set.
pub async fn queries(
    db: &DatabaseConnection,
    loaded: &Loaded,
    per_class: usize,
    k: u64,
) -> Vec<Query> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    for &class in loaded.shape.classes() {
        let members: Vec<&Tenant> = loaded.tenants.iter().filter(|t| t.class == class).collect();
        if members.is_empty() {
            continue;
        }
        for q in 0..per_class {
            let tenant = members[q % members.len()];
            let topic = if tenant.topics.is_empty() {
                rng.below(loaded.centroids.len() as u64) as usize
            } else {
                tenant.topics[rng.below(tenant.topics.len() as u64) as usize]
            };
            let embedding = near(&mut rng, &loaded.centroids[topic], loaded.spread);
            let exact = rag::search_exact(db, &tenant.id, &embedding, k)
                .await
                .expect("exact search");
            out.push(Query {
                class,
                tenant: tenant.id.clone(),
                topic,
                embedding,
                truth: exact.iter().map(|h| h.id).collect(),
                truth_kth: kth_distance(&exact),
            });
        }
    }
    out
}

/// The distance of the farthest of `hits` (0 for none).
pub fn kth_distance(hits: &[rag::ChunkMatch]) -> f64 {
    hits.iter().map(|h| h.distance).fold(0.0, f64::max)
}

/// The classes of `queries`, in their order.
pub fn classes_of(queries: &[Query]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for q in queries {
        if !out.contains(&q.class) {
            out.push(q.class);
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
    for class in classes_of(queries) {
        let mut recalls = Vec::new();
        let mut gaps = Vec::new();
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
            gaps.push(kth_distance(&hits) - query.truth_kth);
        }
        let mut routes: Vec<String> = routes.into_iter().collect();
        routes.sort();
        out.push(ClassResult {
            class,
            recall: recalls.iter().sum::<f64>() / recalls.len() as f64,
            recalls,
            gaps,
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
