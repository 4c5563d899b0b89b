//! The CLI against real PostgreSQL: one embedded server for this test process (or
//! `TEST_DATABASE_URL`'s), a fresh database per test, the built binary run with `-u`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use app_db::MIGRATIONS;
use app_db::testing::TestDatabase;
use common::{Run, copy_tree, migration_on, migrations_dir, temp_dir};
use serde_json::Value;
use sqlx::{Connection, PgConnection, Row};

async fn database() -> TestDatabase {
    TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a test database is needed: {e}"))
}

async fn connect(db: &TestDatabase) -> PgConnection {
    PgConnection::connect(&db.url)
        .await
        .expect("connect to the test database")
}

async fn execute(db: &TestDatabase, sql: &str) {
    let mut conn = connect(db).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// `(hash, created_at)` of every bookkeeping row, by id; empty if the table does not exist.
async fn rows(db: &TestDatabase) -> Vec<(String, i64)> {
    let mut conn = connect(db).await;
    let result =
        sqlx::query("select hash, created_at from drizzle.__drizzle_migrations order by id")
            .fetch_all(&mut conn)
            .await;
    let _ = conn.close().await;
    match result {
        Ok(rows) => rows
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The rows drizzle-orm writes for the first `n` migrations.
fn drizzle_rows(n: usize) -> Vec<(String, i64)> {
    MIGRATIONS[..n]
        .iter()
        .map(|m| (m.hash.to_string(), m.when))
        .collect()
}

async fn public_tables(db: &TestDatabase) -> Vec<String> {
    let mut conn = connect(db).await;
    let names = sqlx::query_scalar::<_, String>(
        "select tablename::text from pg_tables where schemaname = 'public' order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("list tables");
    let _ = conn.close().await;
    names
}

/// psql 16 from the embedded PostgreSQL, else the one on PATH (Debian's 15 works as a client).
fn psql() -> PathBuf {
    if let Ok(account) = app_db::embedded::ServerAccount::detect()
        && let Ok(binaries) = app_db::embedded::PgBinaries::resolve(&account)
    {
        let psql = binaries.program("psql");
        if psql.is_file() {
            return psql;
        }
    }
    if Command::new("psql").arg("--version").output().is_ok() {
        return PathBuf::from("psql");
    }
    panic!(
        "psql is needed to apply migrations by hand: install postgresql-client, or let app-db fetch its PostgreSQL (Python 3 with pip)"
    );
}

/// Applies migration files by hand, as an operator pasting them into psql would.
fn apply_by_hand(db: &TestDatabase, tags: &[&str]) {
    for tag in tags {
        let file = migrations_dir().join(format!("{tag}.sql"));
        let output = Command::new(psql())
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f"])
            .arg(&file)
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql -f {}: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

#[tokio::test]
async fn status_json_has_the_documented_shape() {
    let db = database().await;
    ok(&migration_on(&db.url, &["up", "-n", "2"]));
    let run = migration_on(&db.url, &["status", "--json"]);
    ok(&run);
    let status: Value = serde_json::from_str(&run.stdout).expect("status --json prints JSON");
    let migrations = status["migrations"].as_array().expect("migrations array");
    assert_eq!(migrations.len(), MIGRATIONS.len());
    for (i, (m, compiled)) in migrations.iter().zip(MIGRATIONS).enumerate() {
        assert_eq!(m["idx"], i);
        assert_eq!(m["tag"], compiled.tag);
        assert_eq!(m["when"], compiled.when);
        assert_eq!(m["file_hash"], compiled.hash);
        assert!(m["when_utc"].as_str().is_some_and(|w| w.ends_with('Z')));
        if i < 2 {
            assert_eq!(m["state"], "applied");
            assert_eq!(m["applied_hash"], compiled.hash);
            assert_eq!(m["applied_row_id"], i + 1);
        } else {
            assert_eq!(m["state"], "pending");
            assert!(m["applied_hash"].is_null() && m["applied_row_id"].is_null());
        }
    }
    assert_eq!(status["pending"], MIGRATIONS.len() - 2);
    assert_eq!(status["applied"], 2);
    assert_eq!(status["drift"], false);
    assert_eq!(status["unknown_rows"], Value::Array(vec![]));
    assert_eq!(
        status["bookkeeping_table"],
        "\"drizzle\".\"__drizzle_migrations\""
    );

    // A row written by a newer binary (or another folder).
    execute(
        &db,
        "insert into drizzle.__drizzle_migrations (hash, created_at) values ('abc', 4102444800000)",
    )
    .await;
    let run = migration_on(&db.url, &["status", "--json"]);
    ok(&run);
    let status: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(status["drift"], true);
    let unknown = status["unknown_rows"].as_array().expect("unknown_rows");
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["state"], "unknown-in-db");
    assert_eq!(unknown[0]["hash"], "abc");
    assert_eq!(unknown[0]["created_at"], 4102444800000_i64);
    // Everything older than that row and not applied is now out of order.
    assert_eq!(
        status["migrations"][2]["state"],
        "never-applied-out-of-order"
    );

    let table = migration_on(&db.url, &["status"]);
    ok(&table);
    assert!(table.stdout.contains("unknown-in-db"), "{}", table.stdout);
    assert!(
        table.stdout.contains("never-applied-out-of-order"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("DRIFT"), "{}", table.stdout);
}

#[tokio::test]
async fn up_dry_run_prints_the_sql_and_changes_nothing() {
    let db = database().await;
    let run = migration_on(&db.url, &["up", "--dry-run"]);
    ok(&run);
    assert!(
        run.stdout.contains("would apply 9 migration(s)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("-- [1/9] 0000_auth"), "{}", run.stdout);
    assert!(run.stdout.contains("-- statement 1/"), "{}", run.stdout);
    assert!(
        run.stdout.contains("CREATE TABLE \"user\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("would be created"), "{}", run.stdout);
    assert!(public_tables(&db).await.is_empty());
    assert!(rows(&db).await.is_empty());
    let limited = migration_on(&db.url, &["up", "--dry-run", "-n", "1"]);
    ok(&limited);
    assert!(
        limited.stdout.contains("would apply 1 migration(s)"),
        "{}",
        limited.stdout
    );
}

#[tokio::test]
async fn up_reports_progress_and_writes_drizzles_rows() {
    let db = database().await;
    let run = migration_on(&db.url, &["up"]);
    ok(&run);
    assert!(run.stdout.contains("[1/9] 0000_auth …"), "{}", run.stdout);
    assert!(run.stdout.contains(" ms\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("applied 9 migration(s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("the database is at 0008_saas_metrics_daily"),
        "{}",
        run.stdout
    );
    assert_eq!(rows(&db).await, drizzle_rows(MIGRATIONS.len()));
    let again = migration_on(&db.url, &["up"]);
    ok(&again);
    assert!(
        again.stdout.contains("nothing to apply"),
        "{}",
        again.stdout
    );
}

#[tokio::test]
async fn verify_exits_2_on_drift_and_3_on_pending() {
    let db = database().await;
    ok(&migration_on(&db.url, &["up", "-n", "3"]));
    let run = migration_on(&db.url, &["verify"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("pending"), "{}", run.stderr);
    ok(&migration_on(&db.url, &["verify", "--allow-pending"]));

    ok(&migration_on(&db.url, &["up"]));
    ok(&migration_on(&db.url, &["verify"]));

    // A folder edited after the build.
    let dir = temp_dir("verify");
    copy_tree(&migrations_dir(), &dir);
    let file = dir.join("0003_ai_usage_credits.sql");
    let mut text = std::fs::read_to_string(&file).expect("migration file");
    text.push_str("\n-- edited\n");
    std::fs::write(&file, text).expect("write");
    let run = migration_on(&db.url, &["verify", "--dir", dir.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("0003_ai_usage_credits.sql"),
        "{}",
        run.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);

    // A tampered bookkeeping row.
    execute(
        &db,
        "update drizzle.__drizzle_migrations set hash = 'tampered' where id = 2",
    )
    .await;
    let run = migration_on(&db.url, &["verify", "--allow-pending"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("0001_organizations was modified"),
        "{}",
        run.stderr
    );
    // And `up` refuses with the same drift code.
    let run = migration_on(&db.url, &["up"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test]
async fn fresh_drops_everything_and_reapplies() {
    let db = database().await;
    ok(&migration_on(&db.url, &["up"]));
    ok(&migration_on(&db.url, &["seed"]));
    execute(&db, "create table junk (id int); insert into organization (id, name, slug, created_at) values ('o1', 'Org', 'org', now())").await;
    let acl_before = schema_acl(&db).await;

    let refused = migration_on(&db.url, &["fresh"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(public_tables(&db).await.contains(&"junk".to_string()));

    let run = migration_on(&db.url, &["fresh", "--yes"]);
    ok(&run);
    assert!(
        run.stdout.contains("applied 9 migration(s)"),
        "{}",
        run.stdout
    );
    let tables = public_tables(&db).await;
    assert!(!tables.contains(&"junk".to_string()), "{tables:?}");
    assert!(tables.contains(&"organization".to_string()), "{tables:?}");
    assert_eq!(rows(&db).await, drizzle_rows(MIGRATIONS.len()));
    assert_eq!(
        schema_acl(&db).await,
        acl_before,
        "owner and privileges of public are restored"
    );
    let mut conn = connect(&db).await;
    let orgs: i64 = sqlx::query_scalar("select count(*) from organization")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(orgs, 0);
    let _ = conn.close().await;
    // The seed record went with the data: the initial set seeds again.
    let reseed = migration_on(&db.url, &["seed"]);
    ok(&reseed);
    assert!(reseed.stdout.contains("seeded:"), "{}", reseed.stdout);
}

async fn schema_acl(db: &TestDatabase) -> (String, Option<String>) {
    let mut conn = connect(db).await;
    let row = sqlx::query(
        "select nspowner::regrole::text, nspacl::text from pg_namespace where nspname = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("public schema");
    let _ = conn.close().await;
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn recovery_story_baseline_after_a_manual_apply() {
    let db = database().await;
    apply_by_hand(&db, &["0000_auth", "0001_organizations", "0002_billing"]);

    // drizzle-orm's failure, explained.
    let run = migration_on(&db.url, &["up"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert!(run.stderr.contains("42P07"), "{}", run.stderr);
    assert!(run.stderr.contains("baseline --to"), "{}", run.stderr);
    assert!(rows(&db).await.is_empty());

    let dry = migration_on(&db.url, &["baseline", "--to", "0002_billing", "--dry-run"]);
    ok(&dry);
    assert!(
        dry.stdout.contains("would record 3 migration(s)"),
        "{}",
        dry.stdout
    );
    assert!(rows(&db).await.is_empty());

    let run = migration_on(&db.url, &["baseline", "--to", "0002_billing"]);
    ok(&run);
    assert!(run.stdout.contains("schema matches"), "{}", run.stdout);
    assert!(
        run.stdout.contains("recorded 3 migration(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(rows(&db).await, drizzle_rows(3));
    assert_scratch_dropped(&db, &run.stdout).await;

    let again = migration_on(&db.url, &["baseline", "--to", "0002_billing"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("mark-applied"), "{}", again.stderr);

    let run = migration_on(&db.url, &["up"]);
    ok(&run);
    assert!(
        run.stdout.contains("applied 6 migration(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(rows(&db).await, drizzle_rows(MIGRATIONS.len()));
    ok(&migration_on(&db.url, &["verify"]));
}

#[tokio::test]
async fn mark_applied_records_a_verified_manual_apply() {
    let db = database().await;
    ok(&migration_on(&db.url, &["up", "-n", "1"]));
    apply_by_hand(&db, &["0001_organizations"]);
    let run = migration_on(&db.url, &["mark-applied", "0001_organizations"]);
    ok(&run);
    assert!(
        run.stdout.contains("recorded 1 migration(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(rows(&db).await, drizzle_rows(2));
    let again = migration_on(&db.url, &["mark-applied", "0001_organizations"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again.stderr.contains("already recorded"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn mark_applied_refuses_a_tampered_schema_with_the_diff() {
    let db = database().await;
    apply_by_hand(&db, &["0000_auth", "0001_organizations"]);
    execute(
        &db,
        "alter table \"user\" drop column image; create table leftovers (id int)",
    )
    .await;
    let run = migration_on(&db.url, &["mark-applied", "0001_organizations"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("schema differs"), "{}", run.stderr);
    assert!(
        run.stderr.contains("- column public.user.image: text null"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("+ table public.leftovers"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("fix: "), "{}", run.stderr);
    assert!(rows(&db).await.is_empty(), "nothing recorded");
}

/// The scratch database a recording named in its output no longer exists. (Other tests run
/// in parallel on the same server, so only this run's scratch database can be checked.)
async fn assert_scratch_dropped(db: &TestDatabase, output: &str) {
    let name = output
        .split_whitespace()
        .find(|w| w.starts_with("app_db_scratch_"))
        .unwrap_or_else(|| panic!("the output names the scratch database: {output}"));
    let mut conn = connect(db).await;
    let left: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("count databases");
    let _ = conn.close().await;
    assert_eq!(left, 0, "{name} was dropped");
}

#[tokio::test]
async fn no_password_reaches_the_output() {
    let db = database().await;
    // Put a password in the URL; the embedded server trusts local connections, so it still
    // connects (with TEST_DATABASE_URL the URL may carry its own password already).
    let url = match db.url.split_once("://") {
        Some((scheme, rest)) if !rest.split('@').next().unwrap_or("").contains(':') => {
            format!("{scheme}://{}", rest.replacen('@', ":Hunter2Secret@", 1))
        }
        _ => db.url.clone(),
    };
    // Without a password in the URL the check below would prove nothing: fail instead.
    let secret = password_of(&url).expect("the test URL carries a password");
    for args in [
        vec!["up", "--dry-run"],
        vec!["up"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["verify"],
        vec!["mark-applied", "0000_auth"],
        vec!["fresh", "--yes"],
    ] {
        let run = migration_on(&url, &args);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {run:?}");
        assert!(
            !run.all().contains(secret.as_str()),
            "{args:?} printed the password: {}",
            run.all()
        );
    }
    // The URL with the password really connects (the runs above were not all failures).
    let status = migration_on(&url, &["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(!status.all().contains(secret.as_str()), "{}", status.all());
}

fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let user_info = rest.split('@').next()?;
    user_info
        .split_once(':')
        .map(|(_, p)| p.to_string())
        .filter(|p| !p.is_empty())
}

#[test]
fn db_status_reports_the_development_server() {
    // Read-only: says whether the development cluster runs, never starts it.
    let run = common::migration(&["db", "status"]);
    ok(&run);
    assert!(
        run.stdout.starts_with("running: ") || run.stdout.starts_with("stopped"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn baseline_accepts_the_whole_history() {
    // Every kind of object the real migrations create (pgvector, HNSW and partial indexes,
    // enums, checks, foreign keys) compares equal after a replay.
    let db = database().await;
    ok(&migration_on(&db.url, &["up"]));
    execute(&db, "drop table drizzle.__drizzle_migrations").await;
    let run = migration_on(&db.url, &["baseline", "--to", "0008_saas_metrics_daily"]);
    ok(&run);
    assert!(
        run.stdout.contains("recorded 9 migration(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(rows(&db).await, drizzle_rows(MIGRATIONS.len()));
}

#[tokio::test]
async fn custom_bookkeeping_table_in_the_app_schema_is_left_out_of_the_comparison() {
    let db = database().await;
    let flags = [
        "--migrations-schema",
        "public",
        "--migrations-table",
        "applied_migrations",
    ];
    apply_by_hand(&db, &["0000_auth"]);
    let mut args = flags.to_vec();
    args.extend(["baseline", "--to", "0000_auth"]);
    ok(&migration_on(&db.url, &args));
    // Now public holds the bookkeeping table; it must not count as an unexpected object.
    apply_by_hand(&db, &["0001_organizations"]);
    let mut args = flags.to_vec();
    args.extend(["mark-applied", "0001_organizations"]);
    let run = migration_on(&db.url, &args);
    ok(&run);
    assert!(
        run.stdout.contains("\"public\".\"applied_migrations\""),
        "{}",
        run.stdout
    );
    let mut args = flags.to_vec();
    args.extend(["status", "--json"]);
    let run = migration_on(&db.url, &args);
    ok(&run);
    let status: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(status["applied"], 2);
    assert_eq!(
        status["bookkeeping_table"],
        "\"public\".\"applied_migrations\""
    );
    // The default table was never created.
    assert!(rows(&db).await.is_empty());
}

#[tokio::test]
async fn seed_runs_once_refuses_an_unmigrated_database_and_makes_demo_data() {
    let db = database().await;
    let refused = migration_on(&db.url, &["seed"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("refusing to seed") && refused.stderr.contains("fix:"),
        "{}",
        refused.stderr
    );
    ok(&migration_on(&db.url, &["up"]));
    let first = migration_on(&db.url, &["seed"]);
    ok(&first);
    assert!(first.stdout.contains("seeded:"), "{}", first.stdout);
    let count = |sql: &'static str| {
        let url = db.url.clone();
        async move {
            let mut conn = PgConnection::connect(&url).await.expect("connect");
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect("count");
            n
        }
    };
    let orgs = count("select count(*) from organization").await;
    let second = migration_on(&db.url, &["seed"]);
    ok(&second);
    assert!(second.stdout.contains("nothing to do"), "{}", second.stdout);
    assert_eq!(count("select count(*) from organization").await, orgs);
    let demo = migration_on(
        &db.url,
        &["seed", "--demo", "--orgs", "2", "--chunks-per-source", "10"],
    );
    ok(&demo);
    assert!(
        demo.stdout.contains("2 organization(s) created"),
        "{}",
        demo.stdout
    );
    assert_eq!(
        count("select count(*) from document_chunk where organization_id like 'demo-%'").await,
        40
    );
    let usage = migration_on(&db.url, &["seed", "--orgs", "2"]);
    assert_eq!(
        usage.code,
        64,
        "--orgs without --demo is a usage error: {}",
        usage.all()
    );
}

/// A port on 127.0.0.1 that carries every connection on to `target` (what `ssh -L`,
/// `kubectl port-forward` or a cloud SQL proxy look like from the client's side).
fn tunnel_to(target: std::net::SocketAddr) -> u16 {
    use std::net::{Shutdown, TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tunnel's port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            for (mut from, mut to) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                ),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    port
}

#[tokio::test]
async fn fresh_refuses_a_tunnel_in_front_of_the_server() {
    let db = database().await;
    ok(&migration_on(&db.url, &["up"]));
    execute(&db, "create table junk (id int)").await;
    let direct = app_db::url::DbUrl::parse(&db.url, "the test database")
        .expect("the test database's URL parses");
    let (host, server_port) = (direct.options().get_host(), direct.options().get_port());
    let target = format!("{host}:{server_port}")
        .parse()
        .expect("the test server listens on an IP address");
    let port = tunnel_to(target);
    let tunneled = db
        .url
        .replacen(&format!(":{server_port}/"), &format!(":{port}/"), 1);
    assert_ne!(tunneled, db.url, "the tunnel's URL differs by its port");

    // The URL says 127.0.0.1; the server says it took the session on another port.
    let refused = migration_on(&tunneled, &["fresh", "--yes"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let all = refused.all();
    assert!(
        all.contains("not on this machine")
            && all.contains(&format!("port {server_port}"))
            && all.contains("--force-remote"),
        "{all}"
    );
    assert!(
        public_tables(&db).await.contains(&"junk".to_string()),
        "nothing was dropped"
    );

    // Said on purpose, it goes ahead through the same tunnel.
    let forced = migration_on(&tunneled, &["fresh", "--yes", "--force-remote"]);
    ok(&forced);
    assert!(!public_tables(&db).await.contains(&"junk".to_string()));
    // And straight to the server, the server agrees it is this machine's.
    ok(&migration_on(&db.url, &["fresh", "--yes"]));
}
