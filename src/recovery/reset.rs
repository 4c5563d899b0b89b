//! `fresh`: drop everything the app owns so the migrations can run again from the start.
//!
//! DANGER: this deletes data. Each app schema is dropped with `CASCADE` (tables, views,
//! sequences, functions, enum types and the extensions installed in it go with it) and created
//! again with the owner, privileges and comment it had, so a database's `public` schema keeps
//! PostgreSQL 15+'s defaults (`pg_database_owner`, `USAGE` for everyone). The bookkeeping table
//! and the seed record (`__app_db_seeds`) are dropped too. Everything happens in one transaction:
//! a failure changes nothing. Dropping a schema takes every table's `ACCESS EXCLUSIVE` lock, so
//! the transaction runs under the migrator's DDL lock rules: bounded waits, retried within the
//! budget, blockers named.

use std::sync::atomic::{AtomicI32, Ordering};

use sqlx::{Connection, PgConnection};

use crate::migrate::Bookkeeping;
use crate::sql::{execute_raw, quote_ident};
use crate::{Error, Migrator};

/// What [`reset_schemas`] dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetReport {
    /// The schemas dropped and recreated (those that existed).
    pub recreated: Vec<String>,
    /// The schemas that did not exist and were created.
    pub created: Vec<String>,
    /// How many tables, views, enum and domain types the schemas held (what the operator
    /// recognises; sequences, indexes and functions go too).
    pub dropped_objects: i64,
}

/// Drops and recreates `schemas` and drops `migrator`'s bookkeeping and seed-record tables, in
/// one transaction, under `migrator`'s DDL lock rules.
pub async fn reset_schemas(
    conn: &mut PgConnection,
    schemas: &[String],
    migrator: &Migrator,
) -> Result<ResetReport, Error> {
    let mut retries = migrator
        .lock_retries()
        .operation("the statements dropping the app's schemas");
    let setting = migrator.lock_wait_policy().setting();
    let result = loop {
        let pid = AtomicI32::new(0);
        let attempt = retries
            .attempt(
                &pid,
                reset_once(conn, schemas, migrator.bookkeeping_table(), &setting, &pid),
            )
            .await;
        match attempt {
            Ok(report) => break Ok(report),
            Err(e) => {
                if let Err(e) = retries.after_failure(e, &mut |_| {}).await {
                    break Err(e);
                }
            }
        }
    };
    retries.close().await;
    result
}

async fn reset_once(
    conn: &mut PgConnection,
    schemas: &[String],
    bookkeeping: &Bookkeeping,
    lock_timeout: &str,
    pid: &AtomicI32,
) -> Result<ResetReport, Error> {
    let mut report = ResetReport::default();
    let mut tx = conn.begin().await?;
    // The setting is app-db's own number of milliseconds.
    let backend: i32 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select pg_backend_pid() from (select set_config('lock_timeout', '{lock_timeout}', true)) s"
    )))
    .persistent(false)
    .fetch_one(&mut *tx)
    .await?;
    pid.store(backend, Ordering::Relaxed);
    for schema in schemas {
        // The statements that restore the schema as it was, built by the server (format %I/%L
        // quote identifiers and literals), read before it is dropped.
        let restore: Option<Vec<String>> = sqlx::query_scalar(
            "select array( \
               select format('ALTER SCHEMA %I OWNER TO %s', n.nspname, n.nspowner::regrole) \
                 where n.nspowner <> (select oid from pg_roles where rolname = current_user) \
               union all \
               select format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type, n.nspname, \
                   case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end, \
                   case when a.is_grantable then ' WITH GRANT OPTION' else '' end) \
                 from aclexplode(n.nspacl) a where a.grantee <> n.nspowner \
               union all \
               select format('COMMENT ON SCHEMA %I IS %L', n.nspname, d.description) \
                 from pg_description d where d.objoid = n.oid and d.classoid = 'pg_namespace'::regclass) \
             from pg_namespace n where n.nspname = $1",
        )
        .persistent(false)
        .bind(schema)
        .fetch_optional(&mut *tx)
        .await?;
        let quoted = quote_ident(schema);
        match restore {
            Some(restore) => {
                let count: i64 = sqlx::query_scalar(
                    "select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                       where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')) \
                     + (select count(*) from pg_type t join pg_namespace n on n.oid = t.typnamespace \
                       where n.nspname = $1 and t.typtype in ('e', 'd'))",
                )
                .persistent(false)
                .bind(schema)
                .fetch_one(&mut *tx)
                .await?;
                report.dropped_objects += count;
                execute_raw(&mut tx, format!("drop schema {quoted} cascade")).await?;
                execute_raw(&mut tx, format!("create schema {quoted}")).await?;
                for statement in restore {
                    execute_raw(&mut tx, statement).await?;
                }
                report.recreated.push(schema.clone());
            }
            None => {
                execute_raw(&mut tx, format!("create schema {quoted}")).await?;
                report.created.push(schema.clone());
            }
        }
    }
    execute_raw(&mut tx, bookkeeping.drop_sql()).await?;
    // The seed record describes data that is gone now: without it the initial set seeds again.
    execute_raw(
        &mut tx,
        crate::seed::SeedRecord::new(bookkeeping.schema()).drop_sql(),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}
