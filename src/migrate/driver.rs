//! Every SQL statement the migrator sends about its bookkeeping, in one place.
//!
//! The table and its DDL are drizzle-orm's (pg dialect), so a database can move between the
//! TypeScript migrator and this one in either direction. Queries go through the simple query
//! protocol or unnamed prepared statements, which also work behind PgBouncer in transaction mode.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::planner::AppliedRow;
use crate::sql::quote_ident;

/// drizzle-orm's defaults for `migrationsSchema` and `migrationsTable`.
pub const DEFAULT_SCHEMA: &str = "drizzle";
/// See [`DEFAULT_SCHEMA`].
pub const DEFAULT_TABLE: &str = "__drizzle_migrations";

/// Where the bookkeeping rows live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookkeeping {
    schema: String,
    table: String,
}

impl Default for Bookkeeping {
    fn default() -> Self {
        Self::new(DEFAULT_SCHEMA, DEFAULT_TABLE)
    }
}

impl Bookkeeping {
    /// The bookkeeping table `schema.table`.
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            table: table.into(),
        }
    }

    /// The schema name.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// `"schema"."table"`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }

    /// drizzle-orm: `CREATE SCHEMA IF NOT EXISTS "drizzle"`, then the table with its exact DDL.
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE SCHEMA IF NOT EXISTS {}; \
             CREATE TABLE IF NOT EXISTS {} (\n\t\t\tid SERIAL PRIMARY KEY,\n\t\t\thash text NOT NULL,\n\t\t\tcreated_at bigint\n\t\t)",
            quote_ident(&self.schema),
            self.qualified()
        )
    }

    /// All rows. drizzle-orm reads only the newest (`order by created_at desc limit 1`);
    /// app-db reads them all to detect drift.
    pub fn select_sql(&self) -> String {
        format!(
            "select id, hash, created_at from {} order by id",
            self.qualified()
        )
    }

    /// drizzle-orm: `insert into "drizzle"."__drizzle_migrations" ("hash", "created_at") values ($1, $2)`.
    pub fn insert_sql(&self) -> String {
        format!(
            "insert into {} (\"hash\", \"created_at\") values ($1, $2)",
            self.qualified()
        )
    }

    /// Creates the schema and table if missing.
    pub async fn ensure(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        crate::sql::execute_raw(conn, self.create_sql())
            .await
            .map(|_| ())
    }

    /// Reads every row; `None` when the table (or its schema) does not exist yet.
    ///
    /// One round trip, and no catalog lookup first: the missing-table error is the answer.
    /// Inside a transaction that error would abort it, so callers in one call [`Self::ensure`] first.
    pub async fn read(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Option<Vec<AppliedRow>>, sqlx::Error> {
        let sql = self.select_sql();
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => rows
                .iter()
                .map(parse_row)
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Err(e) if crate::sql::is_missing_relation(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records one applied migration, exactly as drizzle-orm does.
    pub async fn insert(
        &self,
        conn: &mut PgConnection,
        hash: &str,
        when: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(self.insert_sql()))
            .persistent(false)
            .bind(hash)
            .bind(when)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// drizzle-orm's insert for `rows` rows at once: `values ($1, $2), ($3, $4), …`. The rows
    /// are inserted in the order listed, so their serial ids are those of one insert each.
    pub fn insert_many_sql(&self, rows: usize) -> String {
        let values: Vec<String> = (0..rows)
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        format!(
            "insert into {} (\"hash\", \"created_at\") values {}",
            self.qualified(),
            values.join(", ")
        )
    }

    /// Records several applied migrations, in order, with rows identical to [`Self::insert`]
    /// once per migration, in one statement per thousand rows: two round trips for a batch
    /// instead of two per migration.
    pub async fn insert_many(
        &self,
        conn: &mut PgConnection,
        rows: &[(&str, i64)],
    ) -> Result<(), sqlx::Error> {
        // PostgreSQL takes at most 65,535 parameters per statement.
        for chunk in rows.chunks(1000) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(self.insert_many_sql(chunk.len())))
                .persistent(false);
            for (hash, when) in chunk {
                query = query.bind(*hash).bind(*when);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Deletes the bookkeeping table (not the schema if it holds anything else).
    pub fn drop_sql(&self) -> String {
        format!("DROP TABLE IF EXISTS {}", self.qualified())
    }
}

/// Rows from the simple query protocol arrive as text; sqlx decodes text for these types.
fn parse_row(row: &PgRow) -> Result<AppliedRow, sqlx::Error> {
    Ok(AppliedRow {
        id: row.try_get("id")?,
        hash: row.try_get("hash")?,
        created_at: row.try_get("created_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_match_drizzle_orm() {
        let b = Bookkeeping::default();
        assert_eq!(b.qualified(), "\"drizzle\".\"__drizzle_migrations\"");
        assert_eq!(
            b.insert_sql(),
            "insert into \"drizzle\".\"__drizzle_migrations\" (\"hash\", \"created_at\") values ($1, $2)"
        );
        assert!(b.create_sql().starts_with("CREATE SCHEMA IF NOT EXISTS \"drizzle\"; CREATE TABLE IF NOT EXISTS \"drizzle\".\"__drizzle_migrations\""));
        assert!(b.create_sql().contains("id SERIAL PRIMARY KEY"));
        assert!(b.create_sql().contains("hash text NOT NULL"));
        assert!(b.create_sql().contains("created_at bigint"));
    }

    #[test]
    fn insert_many_numbers_the_parameters_row_by_row() {
        let b = Bookkeeping::default();
        assert_eq!(
            b.insert_many_sql(1),
            b.insert_sql(),
            "one row is drizzle-orm's own statement"
        );
        assert_eq!(
            b.insert_many_sql(3),
            "insert into \"drizzle\".\"__drizzle_migrations\" (\"hash\", \"created_at\") values ($1, $2), ($3, $4), ($5, $6)"
        );
    }

    #[test]
    fn custom_names_are_quoted() {
        let b = Bookkeeping::new("ops", "my\"table");
        assert_eq!(b.qualified(), "\"ops\".\"my\"\"table\"");
    }
}
