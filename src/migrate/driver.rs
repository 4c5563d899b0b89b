//! Every SQL statement the migrator sends about its bookkeeping, in one place (those of
//! drizzle-orm 1.0's table shape in [`driver_v1`](super::driver_v1)).
//!
//! The table and its DDL are drizzle-orm's (pg dialect), so a database can move between the
//! TypeScript migrator and this one in either direction. Queries go through the simple query
//! protocol or unnamed prepared statements, which also work behind PgBouncer in transaction mode.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::planner::{AppliedRow, AppliedTable, TableShape};
use crate::sql::{quote_ident, quote_literal};

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

    /// The table's shape and all its rows, in one statement of either shape. drizzle-orm 0.x
    /// reads only the newest row (`order by created_at desc limit 1`), drizzle-orm 1.0 reads
    /// `id, hash, created_at, name` after looking the columns up; app-db reads everything at
    /// once to detect drift: one row per bookkeeping row, or one row with a null `id` for an
    /// empty table, each carrying `has_name` (drizzle-orm 1.0's test of its table's version: a
    /// `name` column). The row goes through `to_jsonb`, so `name` reads as null on a 0.x table
    /// instead of failing. A missing table or schema fails with 42P01 or 3F000 (from the
    /// `regclass` cast).
    pub fn select_sql(&self) -> String {
        format!(
            "select c.has_name, r.id, r.hash, r.created_at, r.name \
             from (select exists (select from pg_catalog.pg_attribute where attrelid = {}::regclass \
             and attname = 'name' and attnum > 0 and not attisdropped) as has_name) c \
             left join (select id, hash, created_at, to_jsonb(t) ->> 'name' as name from {} t) r on true \
             order by r.id",
            quote_literal(&self.qualified()),
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

    /// Reads the table's shape and every row; `None` when the table (or its schema) does not
    /// exist yet.
    ///
    /// One round trip, and no catalog lookup first: the missing-table error is the answer.
    /// Inside a transaction that error would abort it, so callers in one call [`Self::ensure`] first.
    pub async fn read(&self, conn: &mut PgConnection) -> Result<Option<AppliedTable>, sqlx::Error> {
        let sql = self.select_sql();
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => parse_table(&rows).map(Some),
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

/// The result of [`Bookkeeping::select_sql`]. Rows from the simple query protocol arrive as
/// text; sqlx decodes text for these types.
fn parse_table(rows: &[PgRow]) -> Result<AppliedTable, sqlx::Error> {
    let mut table = AppliedTable {
        shape: Some(TableShape::Drizzle0),
        rows: Vec::with_capacity(rows.len()),
    };
    for row in rows {
        if row.try_get::<bool, _>("has_name")? {
            table.shape = Some(TableShape::Drizzle1);
        }
        let Some(id) = row.try_get::<Option<i32>, _>("id")? else {
            continue;
        };
        table.rows.push(AppliedRow {
            id,
            hash: row.try_get("hash")?,
            created_at: row.try_get("created_at")?,
            name: row.try_get("name")?,
        });
    }
    Ok(table)
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
