//! Small SQL text helpers shared by the driver, the CLI support and the test support.

pub mod tokens;

/// Quotes an identifier for PostgreSQL (`my"name` → `"my""name"`).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for PostgreSQL (`it's` → `'it''s'`), for run-time SQL text built
/// from names (never from user values); standard_conforming_strings is on since PostgreSQL 9.1.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A 64-bit advisory lock key for `label`: the first 8 bytes of its SHA-256. One derivation for
/// every lock app-db takes (migrations, seeds, the test template), so keys never collide by
/// construction differences.
pub fn advisory_key(label: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(label.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Whether a query failed because its table or schema does not exist (SQLSTATE 42P01
/// undefined_table, 3F000 invalid_schema_name): for bookkeeping tables, that means "empty".
pub fn is_missing_relation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("42P01" | "3F000")))
}

/// [`is_missing_relation`] for an error that came through SeaORM.
pub fn is_missing_relation_db(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    matches!(e, DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner))
        if is_missing_relation(inner))
}

/// Runs one statement built at run time from quoted identifiers (never from user values).
pub(crate) async fn execute_raw(
    conn: &mut sqlx::PgConnection,
    sql: String,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    use sqlx::Executor;
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(super::quote_ident("drizzle"), "\"drizzle\"");
        assert_eq!(super::quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
