//! What a search learns from the server, and how long it keeps it.
//!
//! - pgvector's version: read once per pool (`pg_extension`), never again.
//! - How many chunks each organization has: PostgreSQL's own statistics on
//!   `document_chunk.organization_id` (`pg_stats`: the most common values with their frequencies,
//!   the distinct count, and `pg_class.reltuples`), the same estimate the planner makes. Never a
//!   full `count(*)` (the exact route confirms a small estimate with a count capped at its
//!   threshold: [`super::route::count_first`]). Kept for [`STATS_TTL`], then read again, so a
//!   table that autovacuum re-analyzed is seen within a minute.
//!
//! The cache is keyed by the pool's connection target (user, host, port, database). A search on
//! anything but a pooled `DatabaseConnection` (e.g. inside a caller's transaction) has no such
//! key and reads both inside its own transaction: one more query per search.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::PgvectorVersion;
use crate::Error;

/// How long table statistics are reused.
pub const STATS_TTL: Duration = Duration::from_secs(60);

/// `organization_id` statistics of `document_chunk`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantStats {
    /// `pg_class.reltuples` (`None` before the first ANALYZE or VACUUM).
    pub table_rows: Option<f64>,
    /// `pg_class.relpages` (`None` before the first ANALYZE or VACUUM).
    pub table_pages: Option<f64>,
    /// The most common organizations and their share of the rows.
    pub common: HashMap<String, f64>,
    /// `pg_stats.n_distinct`: positive a count, negative a fraction of the rows.
    pub n_distinct: Option<f64>,
}

impl TenantStats {
    /// The estimated chunks of `organization_id`, as the planner would estimate them.
    pub fn tenant_rows(&self, organization_id: &str) -> Option<f64> {
        let table = self.table_rows.filter(|t| *t > 0.0)?;
        if let Some(freq) = self.common.get(organization_id) {
            return Some(freq * table);
        }
        let n_distinct = self.n_distinct?;
        let distinct = if n_distinct < 0.0 {
            -n_distinct * table
        } else {
            n_distinct
        };
        let others = distinct - self.common.len() as f64;
        if others < 1.0 {
            // Every organization is in the common list: this one has (next to) no chunks.
            return Some(0.0);
        }
        let rest: f64 = 1.0 - self.common.values().sum::<f64>();
        Some((rest.max(0.0) / others * table).max(1.0))
    }
}

/// What one pool has told us.
#[derive(Clone, Debug)]
pub struct PoolFacts {
    /// pgvector's version on the server.
    pub pgvector: Option<PgvectorVersion>,
    /// Tenant statistics and when they were read.
    pub stats: Arc<TenantStats>,
    read_at: Instant,
}

static CACHE: LazyLock<Mutex<HashMap<String, PoolFacts>>> = LazyLock::new(Default::default);

/// The cache key of a pooled connection: whom it connects as, where. `None` for a
/// disconnected handle (whose pool accessor would panic).
pub fn pool_key(db: &DatabaseConnection) -> Option<String> {
    // Only the PostgreSQL pool is compiled in; the other variant is the disconnected sentinel,
    // told apart by its Debug name since the variant itself is private.
    if format!("{db:?}").contains("Disconnected") {
        return None;
    }
    let options = db.get_postgres_connection_pool().connect_options();
    Some(format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    ))
}

/// The facts for `key` (read through `conn` when missing or stale, then cached).
pub async fn get(conn: &impl ConnectionTrait, key: Option<&str>) -> Result<PoolFacts, Error> {
    let cached = key.and_then(|k| CACHE.lock().ok()?.get(k).cloned());
    let facts = match cached {
        Some(facts) if facts.read_at.elapsed() < STATS_TTL => return Ok(facts),
        Some(facts) => PoolFacts {
            pgvector: facts.pgvector,
            stats: Arc::new(read_stats(conn).await?),
            read_at: Instant::now(),
        },
        None => PoolFacts {
            pgvector: read_version(conn).await?,
            stats: Arc::new(read_stats(conn).await?),
            read_at: Instant::now(),
        },
    };
    if let (Some(key), Ok(mut cache)) = (key, CACHE.lock()) {
        cache.insert(key.to_string(), facts.clone());
    }
    Ok(facts)
}

async fn read_version(conn: &impl ConnectionTrait) -> Result<Option<PgvectorVersion>, Error> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "select extversion from pg_extension where extname = 'vector'",
        ))
        .await?;
    Ok(match row {
        Some(row) => PgvectorVersion::parse(&row.try_get_by_index::<String>(0)?),
        None => None,
    })
}

async fn read_stats(conn: &impl ConnectionTrait) -> Result<TenantStats, Error> {
    // `most_common_vals` is `anyarray`: through text it becomes the text[] it holds.
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "select c.reltuples::float8 as table_rows, c.relpages::float8 as table_pages, \
             s.n_distinct::float8 as n_distinct, \
             s.most_common_vals::text::text[] as vals, s.most_common_freqs::float8[] as freqs \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             left join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname \
             and s.attname = 'organization_id' \
             where c.oid = to_regclass('document_chunk')",
        ))
        .await?;
    let Some(row) = row else {
        return Ok(TenantStats::default());
    };
    let table_rows: Option<f64> = row.try_get("", "table_rows")?;
    let table_pages: Option<f64> = row.try_get("", "table_pages")?;
    let vals: Option<Vec<String>> = row.try_get("", "vals")?;
    let freqs: Option<Vec<f64>> = row.try_get("", "freqs")?;
    Ok(TenantStats {
        table_rows: table_rows.filter(|t| *t >= 0.0),
        // 0 both before the first ANALYZE and for an empty table: nothing to sample either way.
        table_pages: table_pages.filter(|p| *p > 0.0),
        common: vals
            .unwrap_or_default()
            .into_iter()
            .zip(freqs.unwrap_or_default())
            .collect(),
        n_distinct: row.try_get("", "n_distinct")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_rows_follow_the_planners_estimate() {
        let stats = TenantStats {
            table_rows: Some(100_000.0),
            table_pages: Some(100_000.0),
            common: [("big".to_string(), 0.4), ("mid".to_string(), 0.15)].into(),
            n_distinct: Some(102.0),
        };
        assert_eq!(stats.tenant_rows("big"), Some(40_000.0));
        // 45% of the rows over the 100 organizations outside the common list.
        let small = stats.tenant_rows("small").unwrap();
        assert!((small - 450.0).abs() < 1e-6, "{small}");
        let fraction = TenantStats {
            n_distinct: Some(-0.00102),
            ..stats.clone()
        };
        assert!((fraction.tenant_rows("small").unwrap() - 450.0).abs() < 1e-6);
        assert_eq!(TenantStats::default().tenant_rows("big"), None);
        let all_common = TenantStats {
            n_distinct: Some(2.0),
            ..stats
        };
        assert_eq!(all_common.tenant_rows("unknown"), Some(0.0));
    }
}
