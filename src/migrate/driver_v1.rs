//! The bookkeeping statements of drizzle-orm 1.0's table shape (`name`, `applied_at`).
//!
//! drizzle-orm 1.0 (`pg-core/async/session.js` `migrate`, `up-migrations/pg.js`) creates a new
//! table with two more columns than 0.x, writes `name` with every row, and upgrades a 0.x table
//! before migrating. Each statement here says which of drizzle-orm's it matches; the rows and
//! the table they leave are drizzle-orm's, byte for byte.

use sqlx::PgConnection;

use super::driver::Bookkeeping;
use super::planner::TableShape;
use super::upgrade::RowName;
use crate::journal::Layout;
use crate::sql::quote_ident;

/// One row to record: hash, `created_at`, and drizzle-orm 1.0's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRow<'a> {
    /// The file's hash.
    pub hash: &'a str,
    /// The journal `when` or the folder's time.
    pub created_at: i64,
    /// drizzle-orm 1.0's name of the migration.
    pub name: &'a str,
}

impl Bookkeeping {
    /// drizzle-orm 1.0 for a new database: `CREATE SCHEMA IF NOT EXISTS "drizzle"`, then
    /// `CREATE TABLE IF NOT EXISTS … (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint,
    /// name text, applied_at timestamp with time zone DEFAULT now())`.
    pub fn create_v1_sql(&self) -> String {
        format!(
            "CREATE SCHEMA IF NOT EXISTS {}; \
             CREATE TABLE IF NOT EXISTS {} (\n\t\t\t\tid SERIAL PRIMARY KEY,\n\t\t\t\thash text NOT NULL,\n\t\t\t\tcreated_at bigint,\n\t\t\t\tname text,\n\t\t\t\tapplied_at timestamp with time zone DEFAULT now()\n\t\t\t)",
            quote_ident(self.schema()),
            self.qualified()
        )
    }

    /// Creates the schema and, if missing, the table in the shape `layout`'s drizzle-orm
    /// creates: 0.x's for a journal folder (exactly as before drizzle 1.0), 1.0's for a 1.0
    /// folder. An existing table is left as it is.
    pub async fn ensure_for(
        &self,
        conn: &mut PgConnection,
        layout: Layout,
    ) -> Result<(), sqlx::Error> {
        match layout {
            Layout::Journal => self.ensure(conn).await,
            Layout::Folders => crate::sql::execute_raw(conn, self.create_v1_sql())
                .await
                .map(|_| ()),
        }
    }

    /// drizzle-orm 1.0's insert: `insert into … ("hash", "created_at", "name") values ($1, $2,
    /// $3)`, for `rows` rows at once (`applied_at` from its default, as drizzle-orm leaves it).
    pub fn insert_named_sql(&self, rows: usize) -> String {
        let values: Vec<String> = (0..rows)
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        format!(
            "insert into {} (\"hash\", \"created_at\", \"name\") values {}",
            self.qualified(),
            values.join(", ")
        )
    }

    /// Records applied migrations, in order, as the drizzle-orm of the table's shape does: on a
    /// 0.x table drizzle-orm 0.x's rows (no name), on a 1.0 table drizzle-orm 1.0's (with the
    /// name). One statement per thousand rows.
    pub async fn record(
        &self,
        conn: &mut PgConnection,
        shape: TableShape,
        rows: &[NewRow<'_>],
    ) -> Result<(), sqlx::Error> {
        if shape == TableShape::Drizzle0 {
            let rows: Vec<(&str, i64)> = rows.iter().map(|r| (r.hash, r.created_at)).collect();
            return self.insert_many(conn, &rows).await;
        }
        // PostgreSQL takes at most 65,535 parameters per statement.
        for chunk in rows.chunks(1000) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(self.insert_named_sql(chunk.len())))
                .persistent(false);
            for row in chunk {
                query = query.bind(row.hash).bind(row.created_at).bind(row.name);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// drizzle-orm 1.0's upgrade of a 0.x table: `ADD COLUMN IF NOT EXISTS "name" text` and
    /// `"applied_at" timestamp with time zone DEFAULT now()`, in one statement.
    pub fn upgrade_columns_sql(&self) -> String {
        format!(
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS \"name\" text; \
             ALTER TABLE {t} ADD COLUMN IF NOT EXISTS \"applied_at\" timestamp with time zone DEFAULT now()",
            t = self.qualified()
        )
    }

    /// Names rows: `upgrade` as drizzle-orm 1.0's upgrade does (`SET "name" = …, "applied_at"
    /// = NULL WHERE "id" = …`, one statement per row there, one for all here), otherwise only
    /// the name of rows that have none (app-db's repair of rows drizzle-orm 0.x wrote on a 1.0
    /// table; their `applied_at` stays).
    pub fn name_rows_sql(&self, upgrade: bool) -> String {
        let (applied_at, only_nameless) = if upgrade {
            (", \"applied_at\" = NULL", "")
        } else {
            ("", " and t.\"name\" is null")
        };
        format!(
            "update {} as t set \"name\" = v.name{applied_at} \
             from unnest($1::int4[], $2::text[]) as v(id, name) where t.\"id\" = v.id{only_nameless}",
            self.qualified()
        )
    }

    /// Upgrades a 0.x table to drizzle-orm 1.0's shape and names its rows, as drizzle-orm 1.0
    /// does (it runs this in a transaction of its own; app-db inside the run's transaction,
    /// under the migration lock).
    pub async fn upgrade(
        &self,
        conn: &mut PgConnection,
        names: &[RowName<'_>],
    ) -> Result<(), sqlx::Error> {
        crate::sql::execute_raw(conn, self.upgrade_columns_sql()).await?;
        self.set_names(conn, names, true).await
    }

    /// Names rows of a 1.0 table that have no name.
    pub async fn repair(
        &self,
        conn: &mut PgConnection,
        names: &[RowName<'_>],
    ) -> Result<(), sqlx::Error> {
        self.set_names(conn, names, false).await
    }

    async fn set_names(
        &self,
        conn: &mut PgConnection,
        names: &[RowName<'_>],
        upgrade: bool,
    ) -> Result<(), sqlx::Error> {
        if names.is_empty() {
            return Ok(());
        }
        let ids: Vec<i32> = names.iter().map(|n| n.id).collect();
        let names: Vec<&str> = names.iter().map(|n| n.name).collect();
        sqlx::query(sqlx::AssertSqlSafe(self.name_rows_sql(upgrade)))
            .persistent(false)
            .bind(ids)
            .bind(names)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_match_drizzle_orm_1() {
        let b = Bookkeeping::default();
        let create = b.create_v1_sql();
        assert!(create.starts_with("CREATE SCHEMA IF NOT EXISTS \"drizzle\"; CREATE TABLE IF NOT EXISTS \"drizzle\".\"__drizzle_migrations\" ("));
        for column in [
            "id SERIAL PRIMARY KEY,",
            "hash text NOT NULL,",
            "created_at bigint,",
            "name text,",
            "applied_at timestamp with time zone DEFAULT now()\n",
        ] {
            assert!(create.contains(column), "{column}");
        }
        assert_eq!(
            b.insert_named_sql(1),
            "insert into \"drizzle\".\"__drizzle_migrations\" (\"hash\", \"created_at\", \"name\") values ($1, $2, $3)"
        );
        assert_eq!(
            b.insert_named_sql(2),
            "insert into \"drizzle\".\"__drizzle_migrations\" (\"hash\", \"created_at\", \"name\") values ($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(
            b.upgrade_columns_sql(),
            "ALTER TABLE \"drizzle\".\"__drizzle_migrations\" ADD COLUMN IF NOT EXISTS \"name\" text; ALTER TABLE \"drizzle\".\"__drizzle_migrations\" ADD COLUMN IF NOT EXISTS \"applied_at\" timestamp with time zone DEFAULT now()"
        );
        assert!(
            b.name_rows_sql(true)
                .contains("set \"name\" = v.name, \"applied_at\" = NULL from")
        );
        assert!(
            b.name_rows_sql(false)
                .ends_with("where t.\"id\" = v.id and t.\"name\" is null")
        );
    }
}
