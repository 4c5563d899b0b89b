//! Rebuilding `document_chunk`'s HNSW index around a bulk load, inside the load's transaction.
//!
//! Growing an HNSW graph row by row costs about 60-150 rows/s on 2 cores; building it once over
//! the loaded table, with the graph in memory, is several times faster. The index is dropped at
//! the start of the load transaction and created again before its commit, from the definition
//! PostgreSQL reports (`pg_get_indexdef`, so nothing is retyped and every option survives).
//! `DROP INDEX` holds the table's exclusive lock until commit: readers wait instead of ever
//! seeing the table without its index, and a failure rolls everything back, index included.
//!
//! After the commit, [`settle`] vacuums the table once, as autovacuum would a minute or so
//! later: until then no page of the loaded rows is marked all-visible, so every index scan
//! visits the heap, and the capped count that guards search's exact route
//! ([`crate::rag::route::count_first`]) costs 4 ms instead of 0.4 ms for a tenant of 3,500
//! chunks (docs/bench-rag.md).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sqlx::PgConnection;

use crate::Error;
use crate::embedded::settings::{SAFE_PARALLEL_BUILD, maintenance_work_mem_mb, mem_total_kib};
use crate::rag::PgvectorVersion;

/// The HNSW index as PostgreSQL describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    /// Its (schema-qualified when needed) name.
    pub name: String,
    /// `pg_get_indexdef`: the exact `CREATE INDEX` statement.
    pub create: String,
}

/// Drops `document_chunk`'s HNSW index inside the caller's transaction and returns its
/// definition; `None` when the table has no HNSW index.
pub async fn drop_for_rebuild(conn: &mut PgConnection) -> Result<Option<IndexDefinition>, Error> {
    let found: Option<(String, String)> = sqlx::query_as(
        "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) \
         from pg_index i join pg_class c on c.oid = i.indexrelid \
         join pg_am am on am.oid = c.relam \
         where i.indrelid = 'document_chunk'::regclass and am.amname = 'hnsw' \
         order by 1 limit 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name, create)) = found else {
        return Ok(None);
    };
    // The name comes from regclass output, which quotes it where needed.
    crate::sql::execute_raw(&mut *conn, format!("drop index {name}")).await?;
    Ok(Some(IndexDefinition { name, create }))
}

/// Creates the index again in the caller's transaction, with build memory for the graph and no
/// parallel workers before pgvector 0.8.2 (CVE-2026-3172). `progress(done, total)` hears the
/// rows read into the graph about twice a second, polled through `monitor` (another connection).
pub async fn rebuild(
    conn: &mut PgConnection,
    monitor: &DatabaseConnection,
    definition: &IndexDefinition,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(), Error> {
    let (pid, current_kb, extversion): (i32, i64, Option<String>) = sqlx::query_as(
        "select pg_backend_pid(), \
         (select setting::int8 from pg_settings where name = 'maintenance_work_mem'), \
         (select extversion from pg_extension where extname = 'vector')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let wanted_mb = maintenance_work_mem_mb(mem_total_kib(&meminfo));
    if (current_kb / 1024) < wanted_mb as i64 {
        sqlx::query("select set_config('maintenance_work_mem', $1, true)")
            .bind(format!("{wanted_mb}MB"))
            .execute(&mut *conn)
            .await?;
    }
    let version = extversion.as_deref().and_then(PgvectorVersion::parse);
    if version.is_none_or(|v| v < SAFE_PARALLEL_BUILD) {
        sqlx::query("select set_config('max_parallel_maintenance_workers', '0', true)")
            .execute(&mut *conn)
            .await?;
    }
    {
        let create = crate::sql::execute_raw(&mut *conn, definition.create.clone());
        tokio::pin!(create);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                done = &mut create => { done?; break; }
                _ = tick.tick() => {
                    if let Some((done, total)) = build_progress(monitor, pid).await? {
                        progress(done, total);
                    }
                }
            }
        }
    }
    sqlx::query("analyze document_chunk")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `VACUUM document_chunk` after a committed bulk load (outside any transaction, as VACUUM must
/// be): marks the new pages all-visible, so index-only scans skip the heap. The statistics were
/// already taken by [`rebuild`], inside the load's transaction. It takes no lock that blocks
/// readers or writers.
pub async fn settle(db: &DatabaseConnection) -> Result<(), Error> {
    db.execute_unprepared("vacuum document_chunk").await?;
    Ok(())
}

async fn build_progress(db: &DatabaseConnection, pid: i32) -> Result<Option<(u64, u64)>, Error> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "select tuples_done::int8 as done, tuples_total::int8 as total \
             from pg_stat_progress_create_index where pid = $1",
            [pid.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => {
            let done: i64 = row.try_get("", "done")?;
            let total: i64 = row.try_get("", "total")?;
            Some((done.max(0) as u64, total.max(0) as u64))
        }
        None => None,
    })
}
