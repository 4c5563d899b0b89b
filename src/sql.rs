//! Small SQL text helpers shared by the driver, the CLI support and the test support.

/// Quotes an identifier for PostgreSQL (`my"name` → `"my""name"`).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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
