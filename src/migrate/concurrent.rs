//! What a failed concurrent index build leaves behind: `CREATE INDEX CONCURRENTLY` commits the
//! index's catalog entry before it waits for older transactions and builds, so a build that
//! fails or times out after that point leaves an INVALID index. Left alone it is worse than
//! none: writes keep maintaining it, and `CREATE INDEX CONCURRENTLY IF NOT EXISTS` on the next
//! run would skip it and record the migration as applied. So the migrator notes the invalid
//! indexes before such a statement and drops the new ones after a failure; and since that drop
//! itself waits for every transaction using the table (it cannot succeed while the writer the
//! build waited for is still there), a concurrent build first drops an INVALID index of its
//! own name that an earlier run left ([`built_index`] reads the name from the statement).

use sqlx::{PgConnection, Row};

use crate::sql::tokens::{Cursor, literal, tokenize};

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] table`
/// statement builds: its name (as PostgreSQL stores it) and its table (as written). `None` for
/// other statements and for an index without a name.
pub fn built_index(statement: &str) -> Option<(String, String)> {
    let tokens = tokenize(statement);
    let mut c = Cursor::new(&tokens);
    if !c.eat(&["CREATE"]) {
        return None;
    }
    c.eat(&["UNIQUE"]);
    if !c.eat(&["INDEX", "CONCURRENTLY"]) {
        return None;
    }
    c.eat(&["IF", "NOT", "EXISTS"]);
    if c.peek()?.is("ON") {
        return None;
    }
    let (_, name) = c.name()?;
    if !c.eat(&["ON"]) {
        return None;
    }
    c.eat(&["ONLY"]);
    let (table, _) = c.name()?;
    Some((name, table))
}

/// Drops (concurrently) an INVALID index named `name` in the schema of `table`, left by an
/// earlier failed build. Says what it dropped. Runs under the session's current `lock_timeout`;
/// a lock timeout here is the attempt's lock timeout.
pub async fn drop_invalid_leftover(
    conn: &mut PgConnection,
    name: &str,
    table: &str,
) -> Result<Option<String>, sqlx::Error> {
    // Literals built from the statement's own tokens, quoted.
    let sql = format!(
        "select c.oid::regclass::text as name from pg_class c join pg_index i on i.indexrelid = c.oid \
         where not i.indisvalid and c.relname = {} \
         and c.relnamespace = (select relnamespace from pg_class where oid = to_regclass({}))",
        literal(name),
        literal(table)
    );
    let Some(row) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let leftover: String = row.try_get("name")?;
    crate::sql::execute_raw(
        conn,
        format!("DROP INDEX CONCURRENTLY IF EXISTS {leftover}"),
    )
    .await?;
    tracing::warn!(
        index = %leftover,
        "dropped the INVALID index an earlier failed concurrent build left, to build it again"
    );
    Ok(Some(leftover))
}

/// Every invalid index of the database, as `regclass` text (schema-qualified and quoted when
/// needed, so it can be written back into a statement).
pub async fn invalid_indexes(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::raw_sql(
        "select indexrelid::regclass::text as name from pg_index where not indisvalid order by 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("name")).collect()
}

/// Drops, concurrently, the invalid indexes that are not in `before`, and says what happened
/// (for the error's note). Runs under the session's current `lock_timeout`.
pub async fn drop_new_invalid(conn: &mut PgConnection, before: &[String]) -> Option<String> {
    let now = match invalid_indexes(conn).await {
        Ok(now) => now,
        Err(e) => {
            return Some(format!(
                "could not check for an INVALID index left by the failed build ({}): look in pg_index for indisvalid = false and drop it with DROP INDEX CONCURRENTLY IF EXISTS",
                crate::error::describe_sqlx(&e)
            ));
        }
    };
    let new: Vec<&String> = now.iter().filter(|name| !before.contains(name)).collect();
    if new.is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    for name in new {
        // The name is the server's own regclass output: quoted where it must be.
        let sql = format!("DROP INDEX CONCURRENTLY IF EXISTS {name}");
        match crate::sql::execute_raw(conn, sql).await {
            Ok(_) => notes.push(format!(
                "the failed build left the INVALID index {name}; it was dropped (DROP INDEX CONCURRENTLY), so the next run builds it again"
            )),
            Err(e) => notes.push(format!(
                "the failed build left the INVALID index {name}, which could not be dropped now ({}); the next run drops it before building again (or run DROP INDEX CONCURRENTLY IF EXISTS {name})",
                crate::error::describe_sqlx(&e)
            )),
        }
    }
    Some(notes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_a_concurrent_build_makes() {
        let some = |name: &str, table: &str| Some((name.to_string(), table.to_string()));
        let table = [
            (
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"org_name_idx\" ON \"organization\" USING btree (\"name\");",
                some("org_name_idx", "\"organization\""),
            ),
            (
                "-- app-db:no-transaction\ncreate unique index concurrently Org_Slug on only public.organization (slug)",
                some("org_slug", "public.organization"),
            ),
            ("CREATE INDEX CONCURRENTLY ON t (c)", None),
            ("CREATE INDEX i ON t (c)", None),
            ("DROP INDEX CONCURRENTLY i", None),
            ("", None),
        ];
        for (statement, expected) in table {
            assert_eq!(built_index(statement), expected, "{statement}");
        }
    }
}
