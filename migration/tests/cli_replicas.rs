//! The built CLI with a real physical standby of the test server
//! (`app_db::testing::standby`): `up --wait-replicas` returns only once the standby has the
//! migrations, names it when it does not in time, and `status` shows its replay position and
//! lag.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app_db::MIGRATIONS;
use app_db::testing::TestDatabase;
use app_db::testing::standby::Standby;
use common::migration_on;
use serde_json::Value;
use sqlx::{Connection, PgConnection};

fn standby() -> Standby {
    Standby::start().unwrap_or_else(|e| panic!("a standby of the test server is needed: {e}"))
}

async fn database() -> TestDatabase {
    TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a test database is needed: {e}"))
}

async fn has_table(url: &str, table: &str) -> bool {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let found: bool = sqlx::query_scalar(
        "select exists (select from pg_tables where schemaname = 'public' and tablename = $1)",
    )
    .bind(table)
    .fetch_one(&mut conn)
    .await
    .expect("query");
    let _ = conn.close().await;
    found
}

/// The last migration's table: there once `up` has applied everything.
const LAST_TABLE: &str = "saas_metrics_daily";

#[tokio::test]
async fn up_with_wait_replicas_returns_only_after_the_standby_has_the_migrations() {
    let db = database().await;
    let standby = standby();
    let replica_url = standby.url_for(&db.name);
    standby
        .pause_replay()
        .await
        .expect("pause the standby's replay");
    let mut child = Command::new(env!("CARGO_BIN_EXE_migration"))
        .args([
            "-u",
            &db.url,
            "--read-url",
            &replica_url,
            "up",
            "--wait-replicas",
        ])
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_READ_URL")
        .env_remove("APP_DB_WAIT_REPLICAS_TIMEOUT")
        .env("APP_DB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the migration binary runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_table(&db.url, LAST_TABLE).await {
        assert!(Instant::now() < deadline, "up never applied the migrations");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        child.try_wait().expect("wait").is_none(),
        "up returned while the standby had not replayed the migrations"
    );
    assert!(!has_table(&replica_url, LAST_TABLE).await);
    standby.resume_replay().await.expect("resume");
    let output = child.wait_with_output().expect("up ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Right after `up` returned, the standby has the last migration.
    assert!(has_table(&replica_url, LAST_TABLE).await, "{stdout}");
    assert!(
        stdout.contains(&format!("applied {} migration(s)", MIGRATIONS.len()))
            && stdout.contains(&format!("{replica_url}: replayed after"))
            && stdout.contains("every replica has replayed the migrations"),
        "{stdout}"
    );
}

#[tokio::test]
async fn up_with_wait_replicas_names_a_late_standby_and_keeps_the_migrations() {
    let db = database().await;
    let standby = standby();
    standby.pause_replay().await.expect("pause");
    // Trust authentication ignores the password; it must appear nowhere in the output.
    let replica_url = standby
        .url_for(&db.name)
        .replace("postgres@", "postgres:s3cr%23t-r3plica@");
    let run = migration_on(
        &db.url,
        &[
            "--read-url",
            &replica_url,
            "up",
            "--wait-replicas",
            "--wait-replicas-timeout",
            "1000",
        ],
    );
    standby.resume_replay().await.expect("resume");
    assert_eq!(run.code, 1, "{}", run.all());
    let redacted = standby
        .url_for(&db.name)
        .replace("postgres@", "postgres:***@");
    assert!(
        run.stderr.contains(
            "the migrations are applied on the primary (the database is at 0008_saas_metrics_daily)"
        ) && run.stderr.contains(&format!("{redacted}: replayed up to"))
            && run.stderr.contains("--wait-replicas-timeout"),
        "{}",
        run.all()
    );
    assert!(
        !run.all().contains("s3cr") && !run.all().contains("r3plica"),
        "{}",
        run.all()
    );
    assert!(
        has_table(&db.url, LAST_TABLE).await,
        "the migrations stay applied"
    );
}

#[tokio::test]
async fn status_shows_each_replicas_replay_position_and_lag() {
    let db = database().await;
    let standby = standby();
    let replica_url = standby.url_for(&db.name);
    let status = |extra: &[&str]| -> Value {
        let mut args = extra.to_vec();
        args.extend(["status", "--json"]);
        let run = migration_on(&db.url, &args);
        assert_eq!(run.code, 0, "{}", run.all());
        serde_json::from_str(&run.stdout).expect("JSON")
    };
    // Without replicas the shape only gains empty fields.
    let plain = status(&[]);
    assert_eq!(plain["replicas"], serde_json::json!([]));
    assert!(plain["wal_position"].is_null());
    assert!(plain["migrations"].is_array());

    let value = status(&["--read-url", &replica_url]);
    let replica = &value["replicas"][0];
    assert_eq!(replica["url"], replica_url.as_str());
    assert_eq!(replica["state"], "streaming", "{value:#}");
    assert!(
        value["wal_position"]
            .as_str()
            .is_some_and(|p| p.contains('/'))
    );
    assert!(
        replica["replay_position"]
            .as_str()
            .is_some_and(|p| p.contains('/'))
    );
    assert!(replica["lag_bytes"].is_u64(), "{value:#}");
    assert_eq!(replica["replay_paused"], false);

    // Paused while the primary writes: the lag shows.
    standby.pause_replay().await.expect("pause");
    let up = migration_on(&db.url, &["up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    let value = status(&["--read-url", &replica_url]);
    standby.resume_replay().await.expect("resume");
    let replica = &value["replicas"][0];
    assert_eq!(replica["state"], "replay-paused", "{value:#}");
    assert!(
        replica["lag_bytes"].as_u64().is_some_and(|lag| lag > 0),
        "{value:#}"
    );
    // A replica that is not there: named, with why.
    let text = migration_on(
        &db.url,
        &[
            "--connect-timeout",
            "2000",
            "--read-url",
            "postgres://postgres@127.0.0.1:1/x",
            "status",
        ],
    );
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout
            .contains("replica postgres://postgres@127.0.0.1:1/x: unreachable:"),
        "{}",
        text.all()
    );
}

#[test]
fn wait_replicas_without_replicas_says_how_to_name_them() {
    let run = migration_on(
        "postgres://postgres@127.0.0.1:1/x",
        &["up", "--wait-replicas"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("--wait-replicas needs the read replicas")
            && run.stderr.contains("--read-url"),
        "{}",
        run.all()
    );
}
