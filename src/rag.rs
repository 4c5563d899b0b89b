//! Semantic search over `document_chunk` with pgvector, always inside one organization.
//!
//! # The tenant filter and HNSW
//!
//! The query is `WHERE organization_id = $2 ORDER BY embedding <=> $1 LIMIT k`, which PostgreSQL
//! serves from the HNSW index (`document_chunk_embedding_idx`, `vector_cosine_ops`) when the table
//! is large. pgvector 0.6 has no iterative index scans: the index hands back at most
//! `hnsw.ef_search` nearest chunks of *all* tenants and the organization filter runs afterwards,
//! so a tenant owning a small share of the table can get fewer than `k` rows, or none.
//!
//! Two measures, both in [`SearchOptions`]:
//! - `ef_search` is raised (default 100, pgvector's default is 40) with `set_config(..., true)`,
//!   the parameterised form of `SET LOCAL`, inside a read-only transaction, so it never leaks
//!   into other queries on a pooled connection. It is at least `k`, since HNSW cannot return more
//!   rows than its candidate list.
//! - `exact_fallback`: if the index returned fewer than `k` rows, the same search runs exactly over
//!   the organization's chunks only (via the `organization_id` b-tree index). The tenants starved
//!   by post-filtering are precisely the small ones, for which the exact scan is cheap.
//!
//! The organization filter is part of both SQL statements: no code path can return another
//! organization's chunk.

use sea_orm::{
    AccessMode, ConnectionTrait, DbBackend, FromQueryResult, Statement, TransactionSession,
    TransactionTrait, Value, prelude::PgVector,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::Error;
use crate::document_chunk::EMBEDDING_DIMENSION;

mod version;

pub use version::{ITERATIVE_SCAN, PgvectorVersion};

/// pgvector's accepted range for `hnsw.ef_search`.
pub const EF_SEARCH_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;

/// Approximate search through the HNSW index; `$1` embedding, `$2` organization, `$3` limit.
const HNSW_SQL: &str = "SELECT id, source_id, chunk_index, content, metadata, \
     (embedding <=> $1)::float8 AS distance \
     FROM document_chunk \
     WHERE organization_id = $2 \
     ORDER BY embedding <=> $1 \
     LIMIT $3";

/// Exact search over one organization's chunks. The MATERIALIZED CTE is an optimisation fence:
/// the ordering applies to the CTE's output, so the HNSW index cannot be used and every chunk of
/// the organization (found through the b-tree index on `organization_id`) is compared.
const EXACT_SQL: &str = "WITH org_chunks AS MATERIALIZED ( \
     SELECT id, source_id, chunk_index, content, metadata, embedding \
     FROM document_chunk WHERE organization_id = $2) \
     SELECT id, source_id, chunk_index, content, metadata, \
     (embedding <=> $1)::float8 AS distance \
     FROM org_chunks \
     ORDER BY embedding <=> $1 \
     LIMIT $3";

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
    /// HNSW candidate list size (`hnsw.ef_search`), 1..=1000. Higher means better recall and
    /// fewer post-filter misses for small tenants, at more latency. Raised to `k` if smaller.
    pub ef_search: u32,
    /// Re-run the search exactly over the organization's chunks when the index returns fewer
    /// than `k` rows.
    pub exact_fallback: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            ef_search: 100,
            exact_fallback: true,
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
    C: TransactionTrait,
{
    search_with(db, organization_id, embedding, k, SearchOptions::default()).await
}

/// [`search`] with explicit [`SearchOptions`].
///
/// Runs in its own read-only transaction (a savepoint if `db` is already a transaction, in which
/// case the raised `hnsw.ef_search` lasts until that outer transaction ends).
///
/// # Example
/// ```no_run
/// # async fn example(db: &sea_orm::DatabaseConnection, query_embedding: Vec<f32>) -> Result<(), app_db::Error> {
/// use app_db::rag::{SearchOptions, search_with};
///
/// // A tenant with few chunks in a large table: a wider candidate list, no exact fallback.
/// let options = SearchOptions { ef_search: 400, exact_fallback: false };
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
    C: TransactionTrait,
{
    let plan = Plan::new(embedding, k, options)?;
    if plan.limit == 0 {
        return Ok(Vec::new());
    }
    let txn = plan.begin(db).await?;
    let mut hits = query(&txn, HNSW_SQL, &plan, organization_id).await?;
    if options.exact_fallback && (hits.len() as u64) < plan.limit {
        hits = query(&txn, EXACT_SQL, &plan, organization_id).await?;
    }
    txn.commit().await?;
    Ok(hits)
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

/// The `EXPLAIN` output of the index search [`search_with`] runs first, with the same
/// `hnsw.ef_search`: to check that the planner uses `document_chunk_embedding_idx`.
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
    C: TransactionTrait,
{
    let plan = Plan::new(embedding, k, options)?;
    let txn = plan.begin(db).await?;
    let rows = txn
        .query_all_raw(plan.statement(&format!("EXPLAIN {HNSW_SQL}"), organization_id))
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
    ef_search: u32,
}

impl Plan {
    fn new(embedding: &[f32], k: u64, options: SearchOptions) -> Result<Self, Error> {
        validate_embedding(embedding)?;
        let (min, max) = (*EF_SEARCH_RANGE.start(), *EF_SEARCH_RANGE.end());
        if !EF_SEARCH_RANGE.contains(&options.ef_search) {
            return Err(Error::SearchParameterOutOfRange {
                parameter: "ef_search",
                value: options.ef_search.into(),
                min: min.into(),
                max: max.into(),
            });
        }
        // HNSW returns at most ef_search rows, and ef_search cannot exceed 1000.
        let ef_search = match u32::try_from(k) {
            Ok(k) if k <= max => options.ef_search.max(k),
            _ => {
                return Err(Error::SearchParameterOutOfRange {
                    parameter: "k",
                    value: k,
                    min: 0,
                    max: max.into(),
                });
            }
        };
        Ok(Self {
            embedding: PgVector::from(embedding.to_vec()),
            limit: k,
            ef_search,
        })
    }

    /// A read-only transaction with this search's `hnsw.ef_search`.
    async fn begin<C: TransactionTrait>(&self, db: &C) -> Result<C::Transaction, Error> {
        let txn = db
            .begin_with_config(None, Some(AccessMode::ReadOnly))
            .await?;
        // set_config(..., is_local => true) is SET LOCAL with a bind parameter: it ends with the
        // transaction, so a pooled connection never keeps the raised value.
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('hnsw.ef_search', $1, true)",
            [Value::from(self.ef_search.to_string())],
        ))
        .await?;
        Ok(txn)
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
            exact_fallback: true,
        };
        assert!(matches!(
            Plan::new(&v, 5, bad),
            Err(Error::SearchParameterOutOfRange {
                parameter: "ef_search",
                ..
            })
        ));
        let plan = Plan::new(&v, 300, SearchOptions::default()).unwrap();
        assert_eq!(plan.ef_search, 300);
        assert!(matches!(
            Plan::new(&v, 1001, SearchOptions::default()),
            Err(Error::SearchParameterOutOfRange { parameter: "k", .. })
        ));
    }
}
