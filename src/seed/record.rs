//! Which seed sets a database has received: `"<schema>"."__app_db_seeds"`.
//!
//! Kept beside drizzle's own bookkeeping (not in `public`, where every table has an entity),
//! one row per set: its name, the hash of its files, and when it was last applied.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::sql::quote_ident;

/// The seed bookkeeping table in one schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedRecord {
    schema: String,
}

impl SeedRecord {
    /// The table `"<schema>"."__app_db_seeds"`.
    pub fn new(schema: &str) -> Self {
        Self {
            schema: schema.to_string(),
        }
    }

    /// `"schema"."__app_db_seeds"`.
    pub fn qualified(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident("__app_db_seeds")
        )
    }

    /// Forgets every seed set (with the data they described, e.g. in `fresh`).
    pub fn drop_sql(&self) -> String {
        format!("DROP TABLE IF EXISTS {}", self.qualified())
    }

    /// Creates the schema and table if missing.
    pub async fn ensure(&self, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
        conn.execute_unprepared(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, hash text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
            quote_ident(&self.schema),
            self.qualified()
        ))
        .await
        .map(|_| ())
    }

    /// The recorded hash of `set`, if it was applied (no DDL: safe before [`Self::ensure`]).
    ///
    /// One query: a missing table is the answer "never seeded", not an error. (Inside a
    /// transaction that error would abort it, so callers in one call [`Self::ensure`] first.)
    pub async fn recorded(
        &self,
        conn: &impl ConnectionTrait,
        set: &str,
    ) -> Result<Option<String>, DbErr> {
        let sql = format!("select hash from {} where name = $1", self.qualified());
        match conn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [set.into()],
            ))
            .await
        {
            Ok(row) => row.map(|r| r.try_get::<String>("", "hash")).transpose(),
            Err(e) if crate::sql::is_missing_relation_db(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records `set` with `hash` (insert or update).
    pub async fn record(
        &self,
        conn: &impl ConnectionTrait,
        set: &str,
        hash: &str,
    ) -> Result<(), DbErr> {
        let sql = format!(
            "insert into {} (name, hash) values ($1, $2) on conflict (name) do update set hash = excluded.hash, applied_at = now()",
            self.qualified()
        );
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [set.into(), hash.into()],
        ))
        .await
        .map(|_| ())
    }
}
