//! The built CLI through a real PgBouncer in transaction pooling mode
//! (`app_db::testing::pgbouncer`) in front of this process's test server: many `up` at once,
//! `status` and `verify`. When `pgbouncer` is not installed these tests fail, saying how to
//! install it.

mod common;

use std::process::{Command, Stdio};

use app_db::MIGRATIONS;
use app_db::testing::TestDatabase;
use app_db::testing::pgbouncer::PgBouncer;
use common::{Run, migration_on};
use sqlx::{Connection, PgConnection, Row};

fn bouncer() -> PgBouncer {
    PgBouncer::start().unwrap_or_else(|e| panic!("PgBouncer is needed: {e}"))
}

async fn database() -> TestDatabase {
    TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a test database is needed: {e}"))
}

/// How many bookkeeping rows each migration has, read directly from the server.
async fn rows_per_migration(db: &TestDatabase) -> Vec<(String, i64)> {
    let mut conn = PgConnection::connect(&db.url)
        .await
        .expect("connect to the test database");
    let rows = sqlx::query(
        "select hash, count(*) from drizzle.__drizzle_migrations group by hash order by min(id)",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read the bookkeeping rows");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

fn ok(run: &Run, what: &str, bouncer: &PgBouncer) {
    assert_eq!(
        run.code,
        0,
        "{what} failed:\n{}\nPgBouncer log:\n{}",
        run.all(),
        bouncer.log()
    );
}

#[tokio::test]
async fn sixteen_concurrent_ups_through_pgbouncer_apply_each_migration_once() {
    let db = database().await;
    let bouncer = bouncer();
    let url = bouncer.url_for(&db.name);
    let children: Vec<_> = (0..16)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_migration"))
                .args(["-u", &url, "up"])
                .env_remove("DATABASE_URL")
                .env_remove("APP_DB_MIGRATIONS_SCHEMA")
                .env_remove("APP_DB_MIGRATIONS_TABLE")
                .env("APP_DB_LOG", "warn")
                .env("NO_COLOR", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the migration binary")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait for an up");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        ok(&run, "an `up` through PgBouncer", &bouncer);
    }
    let expected: Vec<(String, i64)> = MIGRATIONS.iter().map(|m| (m.hash.to_string(), 1)).collect();
    assert_eq!(
        rows_per_migration(&db).await,
        expected,
        "each migration recorded exactly once, in order"
    );
}

#[tokio::test]
async fn status_and_verify_work_through_pgbouncer() {
    let db = database().await;
    let bouncer = bouncer();
    let url = bouncer.url_for(&db.name);
    let pending = migration_on(&url, &["verify"]);
    assert_eq!(
        pending.code,
        3,
        "verify on an empty database reports pending migrations:\n{}",
        pending.all()
    );
    ok(&migration_on(&url, &["up"]), "up", &bouncer);
    let status = migration_on(&url, &["status", "--json"]);
    ok(&status, "status", &bouncer);
    let json: serde_json::Value =
        serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", status.stdout));
    assert_eq!(json["applied"], MIGRATIONS.len(), "{json}");
    assert_eq!(json["pending"], 0, "{json}");
    assert_eq!(json["rows"], MIGRATIONS.len(), "{json}");
    ok(&migration_on(&url, &["verify"]), "verify", &bouncer);
}
