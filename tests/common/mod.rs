//! Helpers shared by the integration tests and benches (each includes what it uses).
//!
//! Databases come from `app_db::testing`: one embedded PostgreSQL 16 + pgvector per test
//! process (or `TEST_DATABASE_URL`), a fresh database per call.
#![allow(dead_code)]

use app_db::Migration;
use app_db::journal::sha256_hex;
use sqlx::Connection;

/// A migration built at run time, leaked to get the `'static` lifetime compiled ones have.
pub fn migration(idx: u32, when: i64, sql: &str) -> Migration {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let tag = leak(format!("{idx:04}_test_{idx}"));
    let transaction = !sql.starts_with("-- app-db:no-transaction");
    Migration {
        idx,
        tag,
        name: leak(app_db::journal::timestamp::upgraded_name(tag, when)),
        layout: app_db::migrations::Layout::Journal,
        when,
        breakpoints: true,
        transaction,
        sql: leak(sql.to_string()),
        hash: leak(sha256_hex(sql.as_bytes())),
    }
}

/// `migration` as `drizzle-kit up` converts it to drizzle-kit 1.0's layout: the folder
/// `<YYYYMMDDHHMMSS of when>_<tag after its first _>` holding the same SQL, `created_at` the
/// folder's time (to the second).
pub fn upgraded(migration: &Migration) -> Migration {
    Migration {
        tag: migration.name,
        layout: app_db::migrations::Layout::Folders,
        when: app_db::journal::timestamp::to_the_second(migration.when),
        breakpoints: true,
        ..*migration
    }
}

/// Every migration of `migrations` [`upgraded`].
pub fn upgraded_all(migrations: &[Migration]) -> Vec<Migration> {
    migrations.iter().map(upgraded).collect()
}

/// A bookkeeping row of either shape: id, hash, created_at, name (`None` on a 0.x table or
/// when null), whether `applied_at` is set (false on a 0.x table).
pub type AnyRow = (i32, String, Option<i64>, Option<String>, bool);

/// Every bookkeeping row, in id order, whatever the table's shape.
pub async fn any_rows(conn: &mut sqlx::PgConnection) -> Vec<AnyRow> {
    sqlx::query_as(
        "select id, hash, created_at, to_jsonb(t) ->> 'name', (to_jsonb(t) ->> 'applied_at') is not null \
         from drizzle.__drizzle_migrations t order by id",
    )
    .fetch_all(conn)
    .await
    .expect("read the bookkeeping rows")
}

/// The bookkeeping table's columns: name, type, nullable, default.
pub async fn bookkeeping_columns(
    conn: &mut sqlx::PgConnection,
) -> Vec<(String, String, String, Option<String>)> {
    sqlx::query_as(
        "select column_name::text, data_type::text, is_nullable::text, column_default::text from information_schema.columns \
         where table_schema = 'drizzle' and table_name = '__drizzle_migrations' order by ordinal_position",
    )
    .fetch_all(conn)
    .await
    .expect("read the bookkeeping table's columns")
}

/// A leaked list.
pub fn list(migrations: Vec<Migration>) -> &'static [Migration] {
    Box::leak(migrations.into_boxed_slice())
}

/// Three small migrations with breakpoints.
pub fn three() -> Vec<Migration> {
    vec![
        migration(
            0,
            1_700_000_000_000,
            "CREATE TABLE \"a\" (\"id\" serial PRIMARY KEY);\n--> statement-breakpoint\nCREATE INDEX \"a_id_idx\" ON \"a\" (\"id\");\n",
        ),
        migration(
            1,
            1_700_000_100_000,
            "CREATE TABLE \"b\" (\"id\" serial PRIMARY KEY, \"a_id\" integer REFERENCES \"a\"(\"id\"));\n",
        ),
        migration(
            2,
            1_700_000_200_000,
            "ALTER TABLE \"b\" ADD COLUMN \"note\" text;\n--> statement-breakpoint\nCREATE TABLE \"c\" (\"id\" int);\n",
        ),
    ]
}

/// A raw connection to `url`.
pub async fn connect(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database")
}

/// The bookkeeping rows as (hash, created_at), in id order.
pub async fn rows(conn: &mut sqlx::PgConnection) -> Vec<(String, i64)> {
    sqlx::query_as("select hash, created_at from drizzle.__drizzle_migrations order by id")
        .fetch_all(conn)
        .await
        .expect("read the bookkeeping rows")
}

/// A description of every relation, column, constraint and index outside the system schemas:
/// equal descriptions mean equal schemas for the purposes of these tests.
pub async fn schema_fingerprint(conn: &mut sqlx::PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s.%s %s', n.nspname, c.relname, c.relkind) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
           where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') \
         union all select format('schema %s', nspname) from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema' \
         union all select format('col %s.%s %s %s', table_schema, table_name, column_name, data_type) from information_schema.columns \
           where table_schema not in ('pg_catalog', 'information_schema') \
         union all select format('con %s %s', conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace not in \
           (select oid from pg_namespace where nspname in ('pg_catalog', 'information_schema')) \
         order by 1",
    )
    .fetch_all(conn)
    .await
    .expect("read the catalogs")
}

/// A new database with every compiled migration applied (drizzle bookkeeping included), and
/// its URL. Fails the test, saying what to install or set, when no server can be had.
pub async fn migrated_db() -> (sea_orm::DatabaseConnection, String) {
    let db = app_db::testing::TestDatabase::migrated()
        .await
        .unwrap_or_else(|e| panic!("no migrated test database: {e}"));
    (db.db, db.url)
}

/// Inserts a bare organization with this id (name and slug derived from it).
pub async fn organization(db: &sea_orm::DatabaseConnection, id: &str) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    app_db::organization::ActiveModel {
        id: Set(id.into()),
        name: Set(id.into()),
        slug: Set(id.replace('_', "-")),
        logo: Set(None),
        created_at: Set(chrono::Utc::now().naive_utc()),
        metadata: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert organization");
}

/// Inserts a ready text document source for the organization; returns its id.
pub async fn source(
    db: &sea_orm::DatabaseConnection,
    organization_id: &str,
) -> sea_orm::prelude::Uuid {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let now = chrono::Utc::now().fixed_offset();
    let id = sea_orm::prelude::Uuid::new_v4();
    app_db::document_source::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id.into()),
        created_by: Set(None),
        kind: Set("text".into()),
        title: Set(format!("{organization_id} handbook")),
        uri: Set(None),
        mime_type: Set(None),
        content_hash: Set(None),
        byte_size: Set(None),
        status: Set(app_db::sea_orm_active_enums::DocumentSourceStatus::Ready),
        error: Set(None),
        chunk_count: Set(0),
        metadata: Set(serde_json::json!({})),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert document source");
    id
}

/// This test binary again, running only `test` — a "child" test that does nothing unless the
/// environment the caller adds says so — with stdout and stderr piped. Scenarios that need a
/// process of their own (several migrators, a killed one, an environment of its own) use it.
pub fn rerun_self(test: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The line a child prints once its scenario really starts (see [`child_started`]).
pub const CHILD_STARTED: &str = "CHILD_STARTED";

/// Called by a child test once the environment has selected its scenario. A child that was
/// renamed, filtered out or returned early never prints it, and libtest would still exit 0:
/// [`succeeded`] and [`child_stdout`] fail the parent when the line is missing.
pub fn child_started(scenario: &str) {
    println!("\n{CHILD_STARTED} {scenario}");
}

/// A finished child's stdout, failing the test (with both streams) unless the child started
/// its scenario. Whether it succeeded is the caller's business.
pub fn child_stdout(out: &std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        reported(&stdout, CHILD_STARTED).is_some(),
        "{what} never started its scenario (renamed, filtered out, or wrong environment?):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// What a child printed after `label ` on its line. libtest prints the test's name first on
/// the same line, so children print `\n<label> <value>` and the label is searched for.
pub fn reported(stdout: &str, label: &str) -> Option<String> {
    let prefix = format!("{label} ");
    stdout.lines().find_map(|line| {
        line.split_once(&prefix)
            .map(|(_, value)| value.trim().to_string())
    })
}

/// A finished child's stdout, failing the test with both streams if it did not start its
/// scenario or did not succeed.
pub fn succeeded(out: &std::process::Output, what: &str) -> String {
    let stdout = child_stdout(out, what);
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// On a migrated database: takes the last compiled migration (a `CREATE TABLE`) back out (its
/// bookkeeping row and its table), then opens a transaction that creates a table of the same
/// name and stays open. The migration, pending again, then waits for that transaction (the
/// catalog's unique name index), as a statement waits for any lock. Returns the blocking
/// connection, its backend pid and the migration's tag.
pub async fn block_the_last_migration(url: &str) -> (sqlx::PgConnection, i32, &'static str) {
    use app_db::sql::tokens::{Cursor, tokenize};
    let last = app_db::MIGRATIONS.last().expect("a compiled migration");
    let first = last.statements().next().expect("a statement");
    let tokens = tokenize(first);
    let mut cursor = Cursor::new(&tokens);
    assert!(
        cursor.eat(&["CREATE", "TABLE"]),
        "the last migration ({}) must start with CREATE TABLE for this scenario",
        last.tag
    );
    let (table, _) = cursor.name().expect("the table's name");
    let mut conn = connect(url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "delete from drizzle.__drizzle_migrations where hash = '{}'; drop table {table}",
        last.hash
    )))
    .execute(&mut conn)
    .await
    .expect("take the last migration back out");
    let mut blocker = connect(url).await;
    sqlx::raw_sql("set application_name = 'the-blocker'")
        .execute(&mut blocker)
        .await
        .expect("name the blocker");
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut blocker)
        .await
        .expect("the blocker's pid");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "begin; create table {table} (blocking int)"
    )))
    .execute(&mut blocker)
    .await
    .expect("the blocking transaction");
    (blocker, pid, last.tag)
}
