//! Semantic search over `document_chunk` with pgvector, always inside one organization.
//!
//! # The tenant filter and HNSW
//!
//! The search is `WHERE organization_id = $2 ORDER BY embedding <=> $1 LIMIT k`. The HNSW index
//! (`document_chunk_embedding_idx`, `vector_cosine_ops`) knows nothing of organizations: it hands
//! back the `hnsw.ef_search` nearest chunks of *all* tenants and the filter runs afterwards. A
//! tenant owning a share `s` of the table keeps about `s x ef_search` of them; a small tenant may
//! keep fewer than `k`, and a large one keeps a list too short for good recall on a large graph.
//!
//! # The decision (see [`route::route`], measured in docs/bench-rag.md)
//!
//! Each search picks one of three ways from facts the pool learned once ([`facts`]): pgvector's
//! version (read once per pool, never per query) and the tenant's estimated chunk count from
//! PostgreSQL's statistics (`pg_stats`, refreshed every minute; never a full `count(*)`).
//!
//! 1. **Exact** for a tenant of at most [`SearchOptions::exact_max_rows`] chunks (default
//!    [`EXACT_MAX_ROWS`], 4,000): the tenant's rows through the b-tree on `organization_id`, all
//!    compared, top `k` kept by a heap sort. About 3 ms per 1,000 chunks on 2 cores (9-13 ms for
//!    3,000), recall 1, so up to 4,000 chunks it is as fast as the index path and exact.
//!    Statistics go stale (a bulk load since the last `ANALYZE`, a tenant that did not exist
//!    then), so this route is confirmed by counting the tenant's chunks through the b-tree up to
//!    `exact_max_rows + 1` first ([`route::count_first`]): a large tenant the statistics still
//!    call small takes an index route instead of an exact scan of all its chunks.
//! 2. **Iterative index scan** on pgvector >= 0.8: `hnsw.iterative_scan = relaxed_order`, so the
//!    scan resumes past the first candidate list until `k` rows pass the filter, bounded by
//!    `hnsw.max_scan_tuples` (`ef_search / share`, between 1,000 and 20,000); `enable_sort`
//!    is off in that transaction so the planner keeps the HNSW scan. Relaxed order
//!    may return rows slightly out of order: they are re-sorted by distance in a `MATERIALIZED`
//!    CTE (`ORDER BY distance + 0`, which the planner cannot serve from the index).
//! 3. **Post-filtered index scan** on pgvector < 0.8 (no iterative scans; setting
//!    `hnsw.iterative_scan` there is an error that aborts the transaction, hence the version).
//!
//! On both index paths `hnsw.ef_search` is [`SearchOptions::ef_search`] (100) divided by the
//! tenant's share of the table, and at least one candidate per [`route::ROWS_PER_CANDIDATE`]
//! (100) of the tenant's chunks, capped at [`SearchOptions::ef_search_max`] (400). The second
//! term is issue 21's: a large tenant's topics are dense clusters of near-ties, and 233
//! candidates found 94% of a 43% tenant's true top 10 at 100,000 chunks, 400 found 97%. When an
//! index path still returns fewer than `k` rows, the same search runs exactly (`exact_fallback`).
//!
//! **The answer check.** A graph search can still end in the wrong place: a greedy descent that
//! stops in a neighbouring topic returns `k` rows of the tenant, none of them near the query
//! (issue 21: one query in 300 of a 14% tenant found 0 of its 10 at `ef_search` 400). So an
//! index answer is checked against about [`SearchOptions::check_sample`] (128) of the tenant's
//! chunks, read by tuple id from at most 2,000 evenly spaced pages of the table: if one of them
//! is nearer than the answer's k-th hit and not in it, the answer is provably not the nearest
//! `k`, and the search runs exactly ([`check`]). A correct answer is never
//! flagged; an answer from the wrong topic almost always is.
//!
//! Why these numbers (the grid of `RAG_BENCH_SWEEP=1 cargo bench --bench rag_search`, 100,000
//! chunks, release build, both versions; docs/bench-rag.md):
//! - the cap: scaling up to 1000 (the old rule) gave no recall but cost the 3-15% tenants
//!   30-60 ms p50; unscaled (cap = base) left the post-filter of 0.6.2 with too few of the
//!   tenant's rows (the 15% tenant fell back to exact search of 15,000 chunks: 44 ms p50) and a
//!   base of 40-64 dropped the 40% tenant to recall 0.92-0.96. 100 capped at 250: lowest recall
//!   0.998 on both versions, every class p50 <= 7.4 ms, on chunks spread over every topic. On
//!   topics shared by few tenants (issue 21) the cap became 400, with the size term above.
//! - `max_scan_tuples = ef / share` rather than twice that: the same recall, lower p95.
//! - exact up to 4,000 rather than 2,000: the 3-4% tenants get recall 1.0 instead of 0.99, at
//!   the same latency.
//!
//! Every setting is `set_config(..., true)` (`SET LOCAL` with bind parameters) inside the search's
//! read-only transaction, so a pooled connection never keeps it. The organization filter is part
//! of every statement: no code path can return another organization's chunk.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, TransactionSession,
    TransactionTrait, Value, prelude::PgVector,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::Error;
use crate::document_chunk::EMBEDDING_DIMENSION;

pub mod check;
pub mod facts;
pub mod route;
mod version;

pub use route::Route;
pub use version::{ITERATIVE_SCAN, PgvectorVersion};

/// Default of [`SearchOptions::exact_max_rows`]: tenants up to this many chunks are searched
/// exactly (about 3 ms per 1,000 chunks at 1536 dimensions on 2 cores, so at most about 12 ms;
/// docs/bench-rag.md).
pub const EXACT_MAX_ROWS: u32 = 4_000;

/// Default of [`SearchOptions::ef_search`]: the candidate list of a tenant owning the table.
pub const EF_SEARCH: u32 = 100;

/// Default of [`SearchOptions::ef_search_max`]: the cap on the share-scaled candidate list.
pub const EF_SEARCH_CAP: u32 = 400;

/// Default of [`SearchOptions::scan_tuples_factor`].
pub const SCAN_TUPLES_FACTOR: u32 = 1;

/// Default of [`SearchOptions::check_sample`]: the tenant's chunks an index answer is checked
/// against ([`check::pages`]).
pub const CHECK_SAMPLE: u32 = 128;

/// pgvector's accepted range for `hnsw.ef_search`.
pub const EF_SEARCH_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;

/// Approximate search through the HNSW index; `$1` embedding, `$2` organization, `$3` limit.
const HNSW_SQL: &str = "SELECT id, source_id, chunk_index, content, metadata, \
     (embedding <=> $1)::float8 AS distance \
     FROM document_chunk \
     WHERE organization_id = $2 \
     ORDER BY embedding <=> $1 \
     LIMIT $3";

/// The iterative scan of pgvector >= 0.8 (`relaxed_order`), re-ordered by distance: the CTE is
/// materialized so the outer sort sees the index's output, and `+ 0` keeps the planner from
/// answering the outer `ORDER BY` with the index again.
const ITERATIVE_SQL: &str = "WITH hits AS MATERIALIZED ( \
     SELECT id, source_id, chunk_index, content, metadata, \
     (embedding <=> $1)::float8 AS distance \
     FROM document_chunk \
     WHERE organization_id = $2 \
     ORDER BY embedding <=> $1 \
     LIMIT $3) \
     SELECT id, source_id, chunk_index, content, metadata, distance \
     FROM hits ORDER BY distance + 0";

/// Exact search over one organization's chunks: `+ 0` makes the sort key an expression the HNSW
/// index cannot answer, so every chunk of the organization (found through the b-tree on
/// `organization_id`) is compared and a top-k heap sort keeps the nearest. (Measured: a
/// `MATERIALIZED` CTE as the fence copied every 6 KB embedding into a tuplestore that spills
/// past `work_mem`: 37-40 ms for 3,000 chunks, against 9-13 ms this way.) The sort key is the
/// output column itself, so each chunk's distance is computed once: a separate `ORDER BY
/// (embedding <=> $1) + 0` beside the selected distance computed it twice (6.9 against 6.1 ms
/// median for 3,500 chunks).
const EXACT_SQL: &str = "SELECT id, source_id, chunk_index, content, metadata, \
     (embedding <=> $1) + 0 AS distance \
     FROM document_chunk WHERE organization_id = $2 \
     ORDER BY distance \
     LIMIT $3";

/// The organization's chunks up to a cap (`$2`): an index-only walk of the b-tree on
/// `organization_id` that stops at the cap; `$1` organization.
const COUNT_SQL: &str = "SELECT count(*)::int8 FROM ( \
     SELECT 1 FROM document_chunk WHERE organization_id = $1 LIMIT $2) capped";

/// One search hit.
#[derive(Clone, Debug, PartialEq, FromQueryResult)]
pub struct ChunkMatch {
    /// `document_chunk.id`.
    pub id: Uuid,
    /// The document source the chunk belongs to.
    pub source_id: Uuid,
    /// Position of the chunk within its source.
    pub chunk_index: i32,
    /// The chunk's text.
    pub content: String,
    /// The chunk's metadata (page, heading, ...).
    pub metadata: Json,
    /// Cosine distance to the query, `0.0` (same direction) to `2.0` (opposite).
    pub distance: f64,
}

/// Tuning of [`search_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchOptions {
    /// HNSW candidate list size (`hnsw.ef_search`) for a tenant owning the whole table, 1..=1000
    /// (default [`EF_SEARCH`]); an adaptive search divides it by the tenant's share, gives a large
    /// tenant at least one candidate per [`route::ROWS_PER_CANDIDATE`] chunks, and caps it at
    /// `ef_search_max`. Higher means better recall at more latency. Raised to `k` if smaller.
    pub ef_search: u32,
    /// Re-run the search exactly over the organization's chunks when the index returns fewer
    /// than `k` rows.
    pub exact_fallback: bool,
    /// Adapt to the server and the tenant (module docs). `false`: a plain post-filtered index
    /// search with `ef_search` as given, whatever the version and tenant (for measurements).
    pub adaptive: bool,
    /// Tenants with at most this many (estimated) chunks are searched exactly.
    pub exact_max_rows: u32,
    /// The cap on the share-scaled `ef_search`, 1..=1000 (default [`EF_SEARCH_CAP`]): equal to
    /// `ef_search`, the candidate list is not scaled at all; below it, `ef_search` wins.
    pub ef_search_max: u32,
    /// On the iterative path, `hnsw.max_scan_tuples` is this factor times the scaled
    /// `ef_search` divided by the tenant's share, kept between 1,000 and 20,000 (default
    /// [`SCAN_TUPLES_FACTOR`]).
    pub scan_tuples_factor: u32,
    /// With `exact_fallback`, an adaptive index search checks its answer against about this
    /// many of the tenant's chunks, sampled from at most 2,000 pages of the table, and runs the
    /// search exactly when one of them is nearer than the answer's k-th hit (the answer is then
    /// provably not the nearest k; [`check`]). 0 turns the check off (default
    /// [`CHECK_SAMPLE`]).
    pub check_sample: u32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            ef_search: EF_SEARCH,
            exact_fallback: true,
            adaptive: true,
            exact_max_rows: EXACT_MAX_ROWS,
            ef_search_max: EF_SEARCH_CAP,
            scan_tuples_factor: SCAN_TUPLES_FACTOR,
            check_sample: CHECK_SAMPLE,
        }
    }
}

impl SearchOptions {
    /// A plain post-filtered index search with this `ef_search` (not adaptive).
    pub fn fixed(ef_search: u32, exact_fallback: bool) -> Self {
        Self {
            ef_search,
            exact_fallback,
            adaptive: false,
            ..Self::default()
        }
    }
}

/// The `k` chunks of `organization_id` nearest to `embedding` by cosine distance, nearest first,
/// with [`SearchOptions::default`].
///
/// Returns fewer than `k` only when the organization has fewer chunks.
///
/// # Errors
/// [`Error::EmbeddingDimension`] unless `embedding` has 1536 values,
/// [`Error::EmbeddingNotFinite`] for NaN or infinities, [`Error::EmbeddingZero`] for an all-zero
/// vector, [`Error::SearchParameterOutOfRange`] for `k` above 1000, [`Error::Database`] otherwise.
///
/// # Example
/// ```no_run
/// # async fn example(db: &sea_orm::DatabaseConnection, query_embedding: Vec<f32>) -> Result<(), app_db::Error> {
/// let hits = app_db::rag::search(db, "org_123", &query_embedding, 8).await?;
/// for hit in hits {
///     println!("{:.3} {}", hit.distance, hit.content);
/// }
/// # Ok(())
/// # }
/// ```
pub async fn search<C>(
    db: &C,
    organization_id: &str,
    embedding: &[f32],
    k: u64,
) -> Result<Vec<ChunkMatch>, Error>
where
    C: TransactionTrait + 'static,
{
    search_with(db, organization_id, embedding, k, SearchOptions::default()).await
}

/// [`search`] with explicit [`SearchOptions`].
///
/// Runs in its own read-only transaction (a savepoint if `db` is already a transaction, in which
/// case the search settings last until that outer transaction ends). Pass the pool
/// (`DatabaseConnection`) where you can: it caches what the adaptive search learns (see
/// [`facts`]).
///
/// # Example
/// ```no_run
/// # async fn example(db: &sea_orm::DatabaseConnection, query_embedding: Vec<f32>) -> Result<(), app_db::Error> {
/// use app_db::rag::{SearchOptions, search_with};
///
/// // A wider candidate list, no exact fallback.
/// let options = SearchOptions { ef_search: 400, exact_fallback: false, ..Default::default() };
/// let hits = search_with(db, "org_123", &query_embedding, 10, options).await?;
/// # Ok(())
/// # }
/// ```
pub async fn search_with<C>(
    db: &C,
    organization_id: &str,
    embedding: &[f32],
    k: u64,
    options: SearchOptions,
) -> Result<Vec<ChunkMatch>, Error>
where
    C: TransactionTrait + 'static,
{
    let plan = Plan::new(embedding, k, options)?;
    if plan.limit == 0 {
        return Ok(Vec::new());
    }
    let txn = begin(db).await?;
    let (route, facts) = plan.route(db, &txn, organization_id).await?;
    let hits = match route {
        Route::Exact => query(&txn, EXACT_SQL, &plan, organization_id).await?,
        Route::Index {
            ef_search,
            iterative,
        } => {
            apply_settings(&txn, ef_search, iterative).await?;
            let sql = if iterative.is_some() {
                ITERATIVE_SQL
            } else {
                HNSW_SQL
            };
            let hits = query(&txn, sql, &plan, organization_id).await?;
            let rerun = options.exact_fallback
                && ((hits.len() as u64) < plan.limit
                    || check::beaten(&txn, &plan, organization_id, &hits, facts).await?);
            if rerun {
                query(&txn, EXACT_SQL, &plan, organization_id).await?
            } else {
                hits
            }
        }
    };
    txn.commit().await?;
    Ok(hits)
}

/// The way [`search_with`] would run a search of `k` rows for `organization_id` now.
///
/// # Errors
/// [`Error::Database`] when the server cannot be asked.
pub async fn route_for<C>(
    db: &C,
    organization_id: &str,
    k: u64,
    options: SearchOptions,
) -> Result<Route, Error>
where
    C: TransactionTrait + 'static,
{
    let plan = Plan::with_limit(k, options)?;
    let txn = begin(db).await?;
    let (route, _) = plan.route(db, &txn, organization_id).await?;
    txn.commit().await?;
    Ok(route)
}

/// Exact nearest neighbours of one organization, without the HNSW index: the ground truth that
/// approximate search is measured against (see `benches/rag_search.rs`).
///
/// Cost grows with the organization's chunk count; prefer [`search`] in request paths.
///
/// # Errors
/// As [`search`].
pub async fn search_exact<C>(
    db: &C,
    organization_id: &str,
    embedding: &[f32],
    k: u64,
) -> Result<Vec<ChunkMatch>, Error>
where
    C: ConnectionTrait,
{
    let plan = Plan::new(embedding, k, SearchOptions::default())?;
    if plan.limit == 0 {
        return Ok(Vec::new());
    }
    query(db, EXACT_SQL, &plan, organization_id).await
}

/// The `EXPLAIN` output of the statement [`search_with`] runs first, with the same settings: to
/// check that the planner uses `document_chunk_embedding_idx` (index routes) or the b-tree on
/// `organization_id` (exact route).
///
/// # Errors
/// As [`search`].
pub async fn explain<C>(
    db: &C,
    organization_id: &str,
    embedding: &[f32],
    k: u64,
    options: SearchOptions,
) -> Result<Vec<String>, Error>
where
    C: TransactionTrait + 'static,
{
    let plan = Plan::new(embedding, k, options)?;
    let txn = begin(db).await?;
    let (route, _) = plan.route(db, &txn, organization_id).await?;
    let sql = match route {
        Route::Exact => EXACT_SQL,
        Route::Index {
            ef_search,
            iterative,
        } => {
            apply_settings(&txn, ef_search, iterative).await?;
            if iterative.is_some() {
                ITERATIVE_SQL
            } else {
                HNSW_SQL
            }
        }
    };
    let rows = txn
        .query_all_raw(plan.statement(&format!("EXPLAIN {sql}"), organization_id))
        .await?;
    txn.commit().await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).map_err(Error::from))
        .collect()
}

/// A validated search: the checks run before any SQL.
struct Plan {
    embedding: PgVector,
    limit: u64,
    options: SearchOptions,
}

impl Plan {
    fn new(embedding: &[f32], k: u64, options: SearchOptions) -> Result<Self, Error> {
        validate_embedding(embedding)?;
        Ok(Self {
            embedding: PgVector::from(embedding.to_vec()),
            ..Self::with_limit(k, options)?
        })
    }

    /// The checks on `k` and the options, without an embedding (for [`route_for`]).
    fn with_limit(k: u64, options: SearchOptions) -> Result<Self, Error> {
        let (min, max) = (*EF_SEARCH_RANGE.start(), *EF_SEARCH_RANGE.end());
        for (parameter, value) in [
            ("ef_search", options.ef_search),
            ("ef_search_max", options.ef_search_max),
        ] {
            if !EF_SEARCH_RANGE.contains(&value) {
                return Err(Error::SearchParameterOutOfRange {
                    parameter,
                    value: value.into(),
                    min: min.into(),
                    max: max.into(),
                });
            }
        }
        // HNSW returns at most ef_search rows, and ef_search cannot exceed 1000.
        if k > u64::from(max) {
            return Err(Error::SearchParameterOutOfRange {
                parameter: "k",
                value: k,
                min: 0,
                max: max.into(),
            });
        }
        Ok(Self {
            embedding: PgVector::from(Vec::new()),
            limit: k,
            options,
        })
    }

    fn tuning(&self) -> route::Tuning {
        route::Tuning {
            ef_search: self.options.ef_search,
            adaptive: self.options.adaptive,
            exact_max_rows: self.options.exact_max_rows,
            ef_search_max: self.options.ef_search_max,
            scan_tuples_factor: self.options.scan_tuples_factor,
        }
    }

    /// Decides the route, and says what it was decided from; an adaptive search first learns
    /// (or recalls) the pool's facts.
    async fn route<C: 'static>(
        &self,
        db: &C,
        txn: &impl ConnectionTrait,
        organization_id: &str,
    ) -> Result<(Route, route::Facts), Error> {
        // limit <= 1000 was checked in `with_limit`.
        let k = self.limit as u32;
        if !self.options.adaptive {
            let facts = route::Facts::default();
            return Ok((route::route(facts, k, self.tuning()), facts));
        }
        let key = (db as &dyn std::any::Any)
            .downcast_ref::<DatabaseConnection>()
            .and_then(facts::pool_key);
        let learned = facts::get(txn, key.as_deref()).await?;
        let facts = route::Facts {
            pgvector: learned.pgvector,
            tenant_rows: learned.stats.tenant_rows(organization_id),
            table_rows: learned.stats.table_rows,
            table_pages: learned.stats.table_pages,
        };
        let tuning = self.tuning();
        let facts = match route::count_first(facts, k, tuning) {
            None => facts,
            Some(cap) => {
                let seen = count_capped(txn, organization_id, cap).await?;
                route::counted(facts, seen, cap)
            }
        };
        Ok((route::route(facts, k, tuning), facts))
    }

    fn statement(&self, sql: &str, organization_id: &str) -> Statement {
        // limit <= 1000 was checked in `new`, so the cast is lossless.
        let limit = self.limit as i64;
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [
                Value::from(self.embedding.clone()),
                Value::from(organization_id),
                Value::from(limit),
            ],
        )
    }
}

/// The organization's chunks, counted through the b-tree on `organization_id` up to `cap`
/// (see [`route::count_first`]).
async fn count_capped(
    txn: &impl ConnectionTrait,
    organization_id: &str,
    cap: u32,
) -> Result<u64, Error> {
    count(
        txn,
        COUNT_SQL,
        [Value::from(organization_id), Value::from(i64::from(cap))],
    )
    .await
}

/// The one `count(*)::int8` that `sql` returns (never negative).
async fn count<const N: usize>(
    txn: &impl ConnectionTrait,
    sql: &str,
    values: [Value; N],
) -> Result<u64, Error> {
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let counted: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(counted.max(0) as u64)
}

/// A read-only transaction for one search: on a read replica when `db` is a pool with
/// replicas attached (`DATABASE_READ_URL`, see [`crate::replica`]), else on `db`.
async fn begin<C: TransactionTrait + 'static>(db: &C) -> Result<C::Transaction, Error> {
    crate::replica::begin_read_only(db).await
}

/// The index route's settings, transaction-local: `set_config(..., is_local => true)` is
/// `SET LOCAL` with bind parameters, so a pooled connection never keeps them. The iterative
/// settings are sent only to pgvector >= 0.8, which knows them. pgvector 0.8's cost model
/// weighs the tenant filter and, at 100,000 chunks, priced a 40% tenant's b-tree scan plus
/// sort below the HNSW scan (57 ms p50 against 27 ms on 0.6.2 with the same `ef_search`):
/// `enable_sort = off` keeps the route the decision chose (the outer re-sort of 10 rows still
/// runs; the setting only penalises plans that have an alternative).
async fn apply_settings(
    txn: &impl ConnectionTrait,
    ef_search: u32,
    iterative: Option<u32>,
) -> Result<(), Error> {
    let statement = match iterative {
        None => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('hnsw.ef_search', $1, true)",
            [Value::from(ef_search.to_string())],
        ),
        Some(max_scan_tuples) => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('hnsw.ef_search', $1, true), \
             set_config('hnsw.iterative_scan', 'relaxed_order', true), \
             set_config('hnsw.max_scan_tuples', $2, true), \
             set_config('enable_sort', 'off', true)",
            [
                Value::from(ef_search.to_string()),
                Value::from(max_scan_tuples.to_string()),
            ],
        ),
    };
    txn.execute_raw(statement).await?;
    Ok(())
}

async fn query(
    db: &impl ConnectionTrait,
    sql: &str,
    plan: &Plan,
    organization_id: &str,
) -> Result<Vec<ChunkMatch>, Error> {
    let rows = db
        .query_all_raw(plan.statement(sql, organization_id))
        .await?;
    rows.iter()
        .map(|row| ChunkMatch::from_query_result(row, "").map_err(Error::from))
        .collect()
}

fn validate_embedding(embedding: &[f32]) -> Result<(), Error> {
    if embedding.len() != EMBEDDING_DIMENSION {
        return Err(Error::EmbeddingDimension {
            expected: EMBEDDING_DIMENSION,
            found: embedding.len(),
        });
    }
    if let Some(index) = embedding.iter().position(|v| !v.is_finite()) {
        return Err(Error::EmbeddingNotFinite { index });
    }
    if embedding.iter().all(|v| *v == 0.0) {
        return Err(Error::EmbeddingZero);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector along `axis`, tilted by `tilt` towards `axis + 1` when `tilt > 0`.
    fn axis_vector(axis: usize, tilt: f32) -> Vec<f32> {
        let mut v = vec![0.0; EMBEDDING_DIMENSION];
        v[axis] = 1.0;
        v[axis + 1] = tilt;
        v
    }

    fn literal(v: &[f32]) -> String {
        let values: Vec<String> = v.iter().map(f32::to_string).collect();
        format!("[{}]", values.join(","))
    }

    /// `check::beaten` against a real server: an answer that a nearer chunk of the tenant beats
    /// is flagged; the exact answer never is, whatever other tenants hold; no statistics, no
    /// check.
    #[tokio::test]
    async fn the_answer_check_flags_a_beaten_answer_and_never_the_exact_one() {
        let test = crate::testing::TestDatabase::migrated()
            .await
            .unwrap_or_else(|e| panic!("a PostgreSQL server is needed: {e}"));
        let db = &test.db;
        let mut sql = String::new();
        for (org, source) in [
            ("t", "11111111-1111-1111-1111-111111111111"),
            ("u", "22222222-2222-2222-2222-222222222222"),
        ] {
            sql.push_str(&format!(
                "insert into organization (id, name, slug, created_at) \
                 values ('{org}', '{org}', '{org}', now());\n\
                 insert into document_source (id, organization_id, kind, title) \
                 values ('{source}', '{org}', 'text', 'handbook');\n"
            ));
        }
        // Tenant t: 20 chunks near the query (axis 0), 20 far from it; tenant u: 20 chunks on
        // the query itself.
        let mut row = |org: &str, source: &str, i: usize, v: Vec<f32>| {
            sql.push_str(&format!(
                "insert into document_chunk (organization_id, source_id, chunk_index, content, embedding) \
                 values ('{org}', '{source}', {i}, '{org} {i}', '{}');\n",
                literal(&v)
            ));
        };
        for i in 0..20 {
            row(
                "t",
                "11111111-1111-1111-1111-111111111111",
                i,
                axis_vector(0, 0.01 * (i as f32 + 1.0)),
            );
            row(
                "t",
                "11111111-1111-1111-1111-111111111111",
                100 + i,
                axis_vector(100 + 2 * i, 0.0),
            );
            row(
                "u",
                "22222222-2222-2222-2222-222222222222",
                i,
                axis_vector(0, 0.0),
            );
        }
        db.execute_unprepared(&sql).await.expect("insert chunks");

        let query_vector = axis_vector(0, 0.0);
        let plan = Plan::new(&query_vector, 10, SearchOptions::default()).unwrap();
        let exact = query(db, EXACT_SQL, &plan, "t").await.unwrap();
        assert_eq!(exact.len(), 10);
        // Tenant t's ten nearest (chunk_index 0-9), none of u's chunks on the query itself.
        let indexes: Vec<i32> = exact.iter().map(|hit| hit.chunk_index).collect();
        assert_eq!(indexes, (0..10).collect::<Vec<_>>(), "{exact:?}");
        let farthest = EXACT_SQL.replace("ORDER BY distance", "ORDER BY distance DESC");
        let wrong = query(db, &farthest, &plan, "t").await.unwrap();
        assert!(wrong.iter().all(|hit| hit.distance > 0.9), "{wrong:?}");

        // Every page of the table sampled (128 chunks wanted of t's 40).
        let pages: f64 = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "select (pg_relation_size('document_chunk') \
                 / current_setting('block_size')::int)::float8",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        let facts = route::Facts {
            pgvector: None,
            tenant_rows: Some(40.0),
            table_rows: Some(60.0),
            table_pages: Some(pages),
        };
        assert_eq!(check::pages(facts, CHECK_SAMPLE), Some(pages as u32));
        let beaten = |hits| check::beaten(db, &plan, "t", hits, facts);
        assert!(beaten(&wrong).await.unwrap());
        assert!(!beaten(&exact).await.unwrap());
        let unknown = route::Facts::default();
        assert!(
            !check::beaten(db, &plan, "t", &wrong, unknown)
                .await
                .unwrap()
        );
        // One true neighbour missing (the 11th nearest stands in for it): flagged.
        let mut missing_one = exact.clone();
        missing_one.remove(0);
        let eleventh = query(
            db,
            &EXACT_SQL.replace("LIMIT $3", "LIMIT $3 OFFSET 10"),
            &plan,
            "t",
        )
        .await
        .unwrap();
        missing_one.push(eleventh[0].clone());
        assert!(beaten(&missing_one).await.unwrap());
    }

    fn unit(dimension: usize) -> Vec<f32> {
        let mut v = vec![0.0; dimension];
        if let Some(first) = v.first_mut() {
            *first = 1.0;
        }
        v
    }

    #[test]
    fn rejects_a_wrong_dimension() {
        let err = validate_embedding(&unit(768)).unwrap_err();
        assert!(matches!(
            err,
            Error::EmbeddingDimension {
                expected: 1536,
                found: 768
            }
        ));
        assert!(err.to_string().contains("768 dimensions"), "{err}");
    }

    #[test]
    fn rejects_nan_and_infinity_with_their_index() {
        let mut v = unit(EMBEDDING_DIMENSION);
        v[7] = f32::NAN;
        assert!(matches!(
            validate_embedding(&v),
            Err(Error::EmbeddingNotFinite { index: 7 })
        ));
        v[7] = 0.5;
        v[3] = f32::NEG_INFINITY;
        assert!(matches!(
            validate_embedding(&v),
            Err(Error::EmbeddingNotFinite { index: 3 })
        ));
    }

    #[test]
    fn rejects_the_zero_vector() {
        assert!(matches!(
            validate_embedding(&vec![0.0; EMBEDDING_DIMENSION]),
            Err(Error::EmbeddingZero)
        ));
    }

    #[test]
    fn ef_search_is_validated_and_never_below_k() {
        let v = unit(EMBEDDING_DIMENSION);
        let bad = SearchOptions {
            ef_search: 0,
            ..SearchOptions::default()
        };
        assert!(matches!(
            Plan::new(&v, 5, bad),
            Err(Error::SearchParameterOutOfRange {
                parameter: "ef_search",
                ..
            })
        ));
        let plan = Plan::new(&v, 300, SearchOptions::default()).unwrap();
        assert_eq!(
            route::route(route::Facts::default(), plan.limit as u32, plan.tuning()),
            Route::Index {
                ef_search: 300,
                iterative: None
            }
        );
        assert!(matches!(
            Plan::new(&v, 1001, SearchOptions::default()),
            Err(Error::SearchParameterOutOfRange { parameter: "k", .. })
        ));
    }
}
