//! `generate --safe` on the project's own schema, applied to tables with rows while a reader
//! holds them.
//!
//! The project's migrations plus one that loosens `member` and `document_source` (an index, a
//! foreign key, a unique constraint, a NOT NULL and a CHECK dropped) are the folder; the
//! project's entities want them back, so `generate` has to add each of them to a table that
//! exists: every safe form at once. The forms are applied by app-db's migrator to a database
//! whose tables have rows, the long steps while another session holds an open transaction that
//! read the tables: the app's reads and writes on them complete meanwhile, VALIDATE completes
//! without waiting for the reader, CREATE INDEX CONCURRENTLY waits for it (and only for it:
//! PostgreSQL's wait for older snapshots), and the result is the entities' schema. A failed
//! validation and a failed concurrent build leave the database rerunnable.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app_db::generate::{Generated, GeneratedMigration, Migrations, Options, entities_by_prefix};
use app_db::journal::sha256_hex;
use app_db::supplement::PROJECT;
use app_db::testing::{TestDatabase, TestServer};
use app_db::{MIGRATIONS, Migration, Migrator};
use sqlx::{Connection, PgConnection};

/// Takes back, on existing tables with rows, what the project's entities declare.
const LOOSEN: &str = "DROP INDEX \"member_userId_idx\";--> statement-breakpoint\n\
ALTER TABLE \"member\" DROP CONSTRAINT \"member_organization_id_organization_id_fk\";--> statement-breakpoint\n\
ALTER TABLE \"member\" DROP CONSTRAINT \"member_organization_id_user_id_unique\";--> statement-breakpoint\n\
ALTER TABLE \"member\" ALTER COLUMN \"role\" DROP NOT NULL;--> statement-breakpoint\n\
ALTER TABLE \"document_source\" DROP CONSTRAINT \"document_source_chunk_count_check\";";

/// Rows in every table the safe forms touch.
const ROWS: &str = "INSERT INTO \"user\" (\"id\", \"name\", \"email\") SELECT 'u' || g, 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 3000) g;\n\
INSERT INTO \"organization\" (\"id\", \"name\", \"slug\", \"created_at\") SELECT 'o' || g, 'o' || g, 'o' || g, now() FROM generate_series(1, 60) g;\n\
INSERT INTO \"member\" (\"id\", \"organization_id\", \"user_id\", \"role\", \"created_at\") SELECT 'm' || g, 'o' || (g % 60 + 1), 'u' || g, 'member', now() FROM generate_series(1, 3000) g;\n\
INSERT INTO \"document_source\" (\"organization_id\", \"kind\", \"title\") SELECT 'o' || (g % 60 + 1), 'text', 't' || g FROM generate_series(1, 600) g;";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A migration after `previous`, as a folder entry would be.
fn migration(previous: &[Migration], name: &str, sql: &str, transaction: bool) -> Migration {
    let idx = u32::try_from(previous.len()).expect("idx");
    let tag = leak(format!("{idx:04}_{name}"));
    let when = previous.last().map_or(0, |m| m.when + 1);
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

/// The project's migrations and the loosening one.
fn loosened() -> Vec<Migration> {
    let mut list = MIGRATIONS.to_vec();
    let loosen = migration(&list, "loosen", LOOSEN, true);
    list.push(loosen);
    list
}

async fn generate(list: &[Migration], safe: bool) -> Generated {
    let server = TestServer::get().unwrap_or_else(|e| panic!("a PostgreSQL server: {e}"));
    let options = server.admin_url().parse().expect("the test server's URL");
    app_db::generate::generate(
        &options,
        Migrations::List(list),
        entities_by_prefix("entity::*"),
        &PROJECT,
        &Options {
            allow_drop: false,
            safe,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("generate: {e}"))
}

/// `list` followed by the generated files, named as the CLI names them.
fn with_generated(list: &[Migration], generated: &[GeneratedMigration]) -> &'static [Migration] {
    let mut all = list.to_vec();
    for file in generated {
        let name = match &file.suffix {
            Some(suffix) => format!("restore_{suffix}"),
            None => "restore".to_string(),
        };
        let next = migration(&all, &name, &file.text(), file.transaction);
        all.push(next);
    }
    Box::leak(all.into_boxed_slice())
}

/// A database with `list` applied and the rows inserted.
async fn database_with_rows(list: &'static [Migration]) -> (TestDatabase, PgConnection) {
    let db = TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("no test database: {e}"));
    let mut conn = common::connect(&db.url).await;
    Migrator::with_migrations(list)
        .run(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("the project's migrations and the loosening one: {e}"));
    sqlx::raw_sql(ROWS)
        .execute(&mut conn)
        .await
        .expect("insert the rows");
    (db, conn)
}

#[tokio::test]
async fn safe_forms_are_cut_into_brief_and_long_migrations() {
    let list = loosened();
    let plain = generate(&list, false).await;
    assert_eq!(
        plain.migrations.len(),
        1,
        "drizzle-kit's one file by default"
    );
    let text = plain.migrations[0].text();
    assert!(
        text.contains("CREATE INDEX \"member_userId_idx\" ON \"member\""),
        "{text}"
    );
    let safe = generate(&list, true).await;
    assert_eq!(safe.plan, plain.plan, "the same change");
    let shapes: Vec<(Option<&str>, bool)> = safe
        .migrations
        .iter()
        .map(|m| (m.suffix.as_deref(), m.transaction))
        .collect();
    assert_eq!(
        shapes,
        vec![
            (None, true),
            (Some("validate"), false),
            (Some("index_1"), false),
            (Some("index_2"), false),
            (Some("finish"), true),
        ]
    );
    let texts: Vec<String> = safe.migrations.iter().map(|m| m.text()).collect();
    assert_eq!(
        texts[0],
        "ALTER TABLE \"member\" ADD CONSTRAINT \"member_role_not_null_check\" CHECK (\"role\" IS NOT NULL) NOT VALID;--> statement-breakpoint\n\
         ALTER TABLE \"member\" ADD CONSTRAINT \"member_organization_id_organization_id_fk\" FOREIGN KEY (\"organization_id\") REFERENCES \"public\".\"organization\"(\"id\") ON DELETE cascade ON UPDATE no action NOT VALID;--> statement-breakpoint\n\
         ALTER TABLE \"document_source\" ADD CONSTRAINT \"document_source_chunk_count_check\" CHECK (\"document_source\".\"chunk_count\" >= 0) NOT VALID;"
    );
    assert_eq!(
        texts[1],
        "-- app-db:no-transaction\n\
         ALTER TABLE \"member\" VALIDATE CONSTRAINT \"member_role_not_null_check\";--> statement-breakpoint\n\
         ALTER TABLE \"member\" VALIDATE CONSTRAINT \"member_organization_id_organization_id_fk\";--> statement-breakpoint\n\
         ALTER TABLE \"document_source\" VALIDATE CONSTRAINT \"document_source_chunk_count_check\";"
    );
    assert_eq!(
        texts[2],
        "-- app-db:no-transaction\n\
         DROP INDEX CONCURRENTLY IF EXISTS \"member_userId_idx\";--> statement-breakpoint\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS \"member_userId_idx\" ON \"member\" USING btree (\"user_id\");"
    );
    assert_eq!(
        texts[3],
        "-- app-db:no-transaction\n\
         DROP INDEX CONCURRENTLY IF EXISTS \"member_organization_id_user_id_unique\";--> statement-breakpoint\n\
         CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"member_organization_id_user_id_unique\" ON \"member\" USING btree (\"organization_id\",\"user_id\");"
    );
    assert!(
        texts[4].ends_with(
            "ALTER TABLE \"member\" ALTER COLUMN \"role\" SET NOT NULL;--> statement-breakpoint\n\
             ALTER TABLE \"member\" DROP CONSTRAINT \"member_role_not_null_check\";--> statement-breakpoint\n\
             ALTER TABLE \"member\" ADD CONSTRAINT \"member_organization_id_user_id_unique\" UNIQUE USING INDEX \"member_organization_id_user_id_unique\";"
        ),
        "{}",
        texts[4]
    );
    // Every file passes the lint; drizzle-kit's one file does not.
    for (text, file) in texts.iter().zip(&safe.migrations) {
        let report = app_db::lint::lint_sql("safe", "safe", text, file.transaction);
        assert!(report.passes(), "{text}\n{report:?}");
    }
    let report = app_db::lint::lint_sql("plain", "plain", &text, true);
    let mut rules: Vec<&str> = report.not_allowed().map(|f| f.rule.name).collect();
    rules.sort_unstable();
    rules.dedup();
    assert_eq!(
        rules,
        vec![
            "adding-foreign-key-constraint",
            "adding-not-nullable-field",
            "constraint-missing-not-valid",
            "disallowed-unique-constraint",
            "require-concurrent-index-creation",
        ]
    );
}

/// Things that happened, in order.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<&'static str>>>);

impl Events {
    fn push(&self, event: &'static str) {
        self.0.lock().expect("events").push(event);
    }
    fn list(&self) -> Vec<&'static str> {
        self.0.lock().expect("events").clone()
    }
}

/// A session that read `member` and `document_source` and keeps its transaction open, holding
/// its snapshot as a pg_dump or a long report does (REPEATABLE READ: an idle READ COMMITTED
/// session keeps its locks but no snapshot, and CREATE INDEX CONCURRENTLY does not wait for it).
async fn reader(url: &str) -> PgConnection {
    reader_of(
        url,
        "SELECT count(*) FROM \"member\"; SELECT count(*) FROM \"document_source\";",
    )
    .await
}

/// A REPEATABLE READ session that ran `reads` and keeps its transaction open.
async fn reader_of(url: &str, reads: &str) -> PgConnection {
    let mut reader = common::connect(url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; {reads}"
    )))
    .execute(&mut reader)
    .await
    .expect("the reader's transaction");
    reader
}

/// Ends a reader's transaction.
async fn end(mut reader: PgConnection) {
    sqlx::raw_sql("COMMIT")
        .execute(&mut reader)
        .await
        .expect("end the reader's transaction");
    let _ = reader.close().await;
}

/// The app's work, failing the test (instead of hanging it) when it is stuck behind a lock:
/// the reader never ends while the app waits, so a lock queue would never drain.
async fn app_queries(app: &mut PgConnection, round: u32) {
    tokio::time::timeout(Duration::from_secs(60), app_work(app, round))
        .await
        .expect("the app's queries waited behind the migration while the reader held the table");
}

/// The app's work on the tables: reads, an insert, an update (each its own statement).
async fn app_work(app: &mut PgConnection, round: u32) {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM \"member\" WHERE \"organization_id\" = 'o1'")
            .fetch_one(&mut *app)
            .await
            .expect("the app reads member");
    assert!(n > 0);
    sqlx::query(
        "INSERT INTO \"member\" (\"id\", \"organization_id\", \"user_id\", \"role\", \"created_at\") VALUES ($1, 'o1', $2, 'admin', now())",
    )
    .bind(format!("app-{round}"))
    // u<round> is a member of another organization: the pair stays unique.
    .bind(format!("u{round}"))
    .execute(&mut *app)
    .await
    .expect("the app inserts a member");
    sqlx::query("UPDATE \"member\" SET \"role\" = 'owner' WHERE \"id\" = $1")
        .bind(format!("app-{round}"))
        .execute(&mut *app)
        .await
        .expect("the app updates a member");
    sqlx::query("INSERT INTO \"document_source\" (\"organization_id\", \"kind\", \"title\") VALUES ('o3', 'text', 'app')")
        .execute(&mut *app)
        .await
        .expect("the app inserts a document source");
}

/// Applies the next `count` migrations of `all` on a connection of its own, in a task.
fn apply_next(
    url: String,
    all: &'static [Migration],
    count: usize,
    events: Events,
    done: &'static str,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Receiver<i32>,
) {
    let (pid_tx, pid_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut conn = common::connect(&url).await;
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .expect("pid");
        let _ = pid_tx.send(pid);
        let report = Migrator::with_migrations(all)
            .run_with(&mut conn, Some(count), &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{done}: {e}"));
        assert_eq!(report.applied.len(), count, "{done}");
        events.push(done);
    });
    (task, pid_rx)
}

/// Waits (polling the catalogs, at most a minute) until backend `pid` runs a statement
/// starting with `prefix` and waits on `wait_event`; returns what it waits on.
async fn until_waiting(monitor: &mut PgConnection, pid: i32, prefix: &str, wait_event: &str) {
    let mut last = None;
    for _ in 0..600 {
        let row: Option<(Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT wait_event_type, wait_event, query FROM pg_stat_activity WHERE pid = $1",
        )
        .bind(pid)
        .fetch_optional(&mut *monitor)
        .await
        .expect("pg_stat_activity");
        if let Some((_, Some(event), query)) = &row
            && event == wait_event
            && query.trim_start().starts_with(prefix)
        {
            return;
        }
        last = row;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "backend {pid} never waited on {wait_event} in a statement starting {prefix:?}; last seen: {last:?}"
    );
}

#[tokio::test]
async fn each_safe_form_applies_on_rows_while_a_reader_holds_the_tables() {
    let list = loosened();
    let base: &'static [Migration] = Box::leak(list.clone().into_boxed_slice());
    let (db, mut conn) = database_with_rows(base).await;
    let generated = generate(&list, true).await;
    let all = with_generated(&list, &generated.migrations);
    let events = Events::default();
    let mut app = common::connect(&db.url).await;
    let mut monitor = common::connect(&db.url).await;

    // 1. The brief steps (NOT VALID constraints): catalog changes, no reader.
    let report = Migrator::with_migrations(all)
        .run_with(&mut conn, Some(1), &mut |_| {})
        .await
        .expect("the NOT VALID migration");
    assert_eq!(report.applied[0].tag, all[base.len()].tag);

    // 2. VALIDATE with a reader holding both tables: it neither waits for the reader nor
    //    blocks the app.
    let held = reader(&db.url).await;
    let (validate, _) = apply_next(db.url.clone(), all, 1, events.clone(), "validated");
    app_queries(&mut app, 1).await;
    events.push("app queries done");
    tokio::time::timeout(Duration::from_secs(120), validate)
        .await
        .expect("VALIDATE waited for the reader's transaction")
        .expect("the validate task");
    events.push("reader ends");
    end(held).await;
    let order = events.list();
    assert!(
        order.iter().position(|e| *e == "validated")
            < order.iter().position(|e| *e == "reader ends"),
        "{order:?}"
    );
    assert!(
        order.iter().position(|e| *e == "app queries done")
            < order.iter().position(|e| *e == "reader ends"),
        "{order:?}"
    );

    // 3. The concurrent builds with a reader: each waits for the reader's snapshot (and for
    //    nothing else), while the app reads and writes the table. A second reader, begun
    //    while the first build waits (so after its snapshot: that build does not wait for
    //    it), holds the table when the second build starts.
    let events = Events::default();
    let first_reader = reader(&db.url).await;
    let (build, pid) = apply_next(db.url.clone(), all, 2, events.clone(), "indexes built");
    let pid = pid.await.expect("the migrating backend's pid");
    until_waiting(&mut monitor, pid, "CREATE INDEX CONCURRENTLY", "virtualxid").await;
    app_queries(&mut app, 2).await;
    events.push("app queries done");
    assert!(
        !build.is_finished(),
        "the build did not wait for the reader"
    );
    let second_reader = reader(&db.url).await;
    events.push("first reader ends");
    end(first_reader).await;
    until_waiting(
        &mut monitor,
        pid,
        "CREATE UNIQUE INDEX CONCURRENTLY",
        "virtualxid",
    )
    .await;
    app_queries(&mut app, 3).await;
    events.push("app queries done again");
    assert!(
        !build.is_finished(),
        "the unique build did not wait for the reader"
    );
    events.push("second reader ends");
    end(second_reader).await;
    tokio::time::timeout(Duration::from_secs(120), build)
        .await
        .expect("the builds finish once the readers ended")
        .expect("the build task");
    assert_eq!(
        events.list(),
        vec![
            "app queries done",
            "first reader ends",
            "app queries done again",
            "second reader ends",
            "indexes built"
        ]
    );

    // 4. The brief finish: SET NOT NULL on the validated CHECK, the unique constraint on its index.
    let report = Migrator::with_migrations(all)
        .run(&mut conn)
        .await
        .expect("the finish migration");
    assert_eq!(report.applied.len(), 1);

    // The database is at the entities' schema: nothing left to generate, every index valid.
    let again = generate(all, false).await;
    assert!(again.plan.is_empty(), "{:?}", again.plan.sql());
    let invalid: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        .fetch_one(&mut conn)
        .await
        .expect("pg_index");
    assert_eq!(invalid, 0);
}

#[tokio::test]
async fn a_failed_validation_or_concurrent_build_reruns_cleanly() {
    let list = loosened();
    let base: &'static [Migration] = Box::leak(list.clone().into_boxed_slice());
    let (_db, mut conn) = database_with_rows(base).await;
    // Real rows the new constraints reject: a NULL role, a duplicate membership.
    sqlx::raw_sql(
        "INSERT INTO \"member\" (\"id\", \"organization_id\", \"user_id\", \"role\", \"created_at\") VALUES ('null-role', 'o1', 'u2', NULL, now()), ('dup', 'o3', 'u2', 'member', now());",
    )
    .execute(&mut conn)
    .await
    .expect("insert the offending rows");
    let generated = generate(&list, true).await;
    let all = with_generated(&list, &generated.migrations);
    let migrator = Migrator::with_migrations(all);
    let failed = migrator
        .run(&mut conn)
        .await
        .expect_err("VALIDATE fails on the NULL role")
        .to_string();
    assert!(
        failed.contains("restore_validate") && failed.contains("23514"),
        "{failed}"
    );
    sqlx::query("UPDATE \"member\" SET \"role\" = 'member' WHERE \"id\" = 'null-role'")
        .execute(&mut conn)
        .await
        .expect("fix the row");
    let failed = migrator
        .run(&mut conn)
        .await
        .expect_err("the unique build fails on the duplicate")
        .to_string();
    assert!(
        failed.contains("restore_index_2") && failed.contains("23505"),
        "{failed}"
    );
    // The failed concurrent build left an INVALID index; the migrator dropped it (an INVALID
    // index is maintained by every write, and `IF NOT EXISTS` would skip the rebuild) and says so.
    assert!(
        failed.contains("left the INVALID index")
            && failed.contains("member_organization_id_user_id_unique"),
        "{failed}"
    );
    let left: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('\"member_organization_id_user_id_unique\"')::text")
            .fetch_one(&mut conn)
            .await
            .expect("to_regclass");
    assert_eq!(left, None, "the failed build's INVALID index was dropped");
    sqlx::query("DELETE FROM \"member\" WHERE \"id\" = 'dup'")
        .execute(&mut conn)
        .await
        .expect("fix the duplicate");
    let report = migrator
        .run(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("the rerun: {e}"));
    assert_eq!(
        report.applied.iter().map(|a| a.tag).collect::<Vec<_>>(),
        vec![all[all.len() - 2].tag, all[all.len() - 1].tag]
    );
    let valid: bool = sqlx::query_scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = '\"member_organization_id_user_id_unique\"'::regclass",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the rebuilt index");
    assert!(valid);
    let again = generate(all, false).await;
    assert!(again.plan.is_empty(), "{:?}", again.plan.sql());
}

#[tokio::test]
async fn one_up_commits_the_brief_steps_before_the_long_ones() {
    // As in production: one `up` applies all five migrations. The NOT VALID constraints take
    // their strong locks in the first, transactional, migration; by the time the concurrent
    // build waits (here for a report's snapshot on another table, which blocks none of the
    // brief steps), those locks are gone, so the app writes the table meanwhile.
    let list = loosened();
    let base: &'static [Migration] = Box::leak(list.clone().into_boxed_slice());
    let (db, _conn) = database_with_rows(base).await;
    let generated = generate(&list, true).await;
    let all = with_generated(&list, &generated.migrations);
    let events = Events::default();
    let mut app = common::connect(&db.url).await;
    let mut monitor = common::connect(&db.url).await;
    let report = reader_of(&db.url, "SELECT count(*) FROM \"user\";").await;
    let count = generated.migrations.len();
    let (up, pid) = apply_next(db.url.clone(), all, count, events.clone(), "up done");
    let pid = pid.await.expect("the migrating backend's pid");
    until_waiting(&mut monitor, pid, "CREATE INDEX CONCURRENTLY", "virtualxid").await;
    let held: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE l.pid = $1 AND l.granted AND c.relname IN ('member', 'document_source', 'organization') ORDER BY 1, 2",
    )
    .bind(pid)
    .fetch_all(&mut monitor)
    .await
    .expect("pg_locks");
    assert_eq!(
        held,
        vec![("member".to_string(), "ShareUpdateExclusiveLock".to_string())],
        "while the build waits, the migration holds only the concurrent build's lock"
    );
    app_queries(&mut app, 4).await;
    events.push("app queries done");
    assert!(!up.is_finished(), "the build did not wait for the report");
    events.push("report ends");
    end(report).await;
    tokio::time::timeout(Duration::from_secs(120), up)
        .await
        .expect("up finishes once the report ended")
        .expect("the up task");
    assert_eq!(
        events.list(),
        vec!["app queries done", "report ends", "up done"]
    );
    let again = generate(all, false).await;
    assert!(again.plan.is_empty(), "{:?}", again.plan.sql());
}
