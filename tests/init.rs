//! `app_db::init()` as a deployed binary calls it: configuration from the environment, the
//! process-wide pool, and the embedded server only on explicit opt-in. Each scenario runs in a
//! child process (this test binary again) so that it owns its environment and its global pool.

mod common;

use std::process::Output;

use app_db::testing::TestDatabase;
use app_db::{Config, Error};

const SCENARIO: &str = "APP_DB_TEST_INIT_SCENARIO";

/// Runs `child_scenario` in a child process with `vars` set and DATABASE_URL removed unless given.
fn child(scenario: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = common::rerun_self("child_scenario");
    cmd.env(SCENARIO, scenario)
        .env_remove("DATABASE_URL")
        .env_remove("APP_DB_EMBEDDED");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run the child")
}

/// The child's stdout; fails the test if the child never started its scenario.
fn stdout(out: &Output) -> String {
    common::child_stdout(out, "the child process")
}

/// Asserts a "boot" child succeeded and found every migration recorded.
fn assert_booted(out: &Output) {
    let stdout = common::succeeded(out, "the booting process");
    assert_eq!(
        common::reported(&stdout, "ROWS"),
        Some(app_db::MIGRATIONS.len().to_string()),
        "{stdout}"
    );
}

/// Not a test on its own: the body of the child processes.
#[tokio::test]
async fn child_scenario() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    common::child_started(&scenario);
    match scenario.as_str() {
        "boot" => {
            let db = app_db::init().await.expect("init succeeds");
            let same = app_db::db().expect("db() after init");
            assert!(std::ptr::eq(db, same), "db() returns the pool init() made");
            // A second init() is the same pool, not a second boot.
            assert!(std::ptr::eq(app_db::init().await.expect("again"), db));
            let rows = sea_orm::ConnectionTrait::query_one_raw(
                db,
                sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "select count(*) as n from drizzle.__drizzle_migrations",
                ),
            )
            .await
            .expect("query")
            .expect("a row");
            println!("\nROWS {}", rows.try_get::<i64>("", "n").expect("count"));
        }
        "error" => match app_db::init().await {
            Ok(_) => println!("\nUNEXPECTED OK"),
            Err(e) => println!("\nERROR {e}"),
        },
        "stop-dev" => {
            let server = app_db::embedded::DevServer::locate().expect("locate");
            server.stop().expect("stop");
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[tokio::test]
async fn without_a_url_init_refuses_and_names_the_opt_in() {
    let err = app_db::init::open(&Config::default()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingEnv {
                var: "DATABASE_URL",
                ..
            }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("APP_DB_EMBEDDED=1"), "{message}");
    let out = child("error", &[]);
    assert!(
        stdout(&out).contains("ERROR DATABASE_URL is not set"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn init_reads_the_environment_migrates_and_keeps_one_pool() {
    let db = TestDatabase::empty().await.unwrap();
    let out = child(
        "boot",
        &[
            ("DATABASE_URL", &db.url),
            ("DATABASE_POOL_MIN", "1"),
            ("DATABASE_POOL_MAX", "3"),
        ],
    );
    assert_booted(&out);
}

#[tokio::test]
async fn bad_pool_settings_stop_the_boot_with_the_variable_named() {
    let db = TestDatabase::empty().await.unwrap();
    for (var, value, expected) in [
        (
            "DATABASE_POOL_MAX",
            "abc",
            "DATABASE_POOL_MAX=\"abc\" is not valid",
        ),
        (
            "DATABASE_POOL_IDLE_TIMEOUT",
            "-1",
            "DATABASE_POOL_IDLE_TIMEOUT=\"-1\" is not valid",
        ),
        (
            "APP_DB_SEED",
            "sometimes",
            "APP_DB_SEED=\"sometimes\" is not valid",
        ),
    ] {
        let out = child("error", &[("DATABASE_URL", &db.url), (var, value)]);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("ERROR {expected}")) && text.contains("fix:"),
            "{var}: {text}"
        );
    }
    let out = child(
        "error",
        &[
            ("DATABASE_URL", &db.url),
            ("DATABASE_POOL_MIN", "5"),
            ("DATABASE_POOL_MAX", "2"),
        ],
    );
    assert!(
        stdout(&out).contains("must not exceed DATABASE_POOL_MAX (2)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn the_embedded_server_serves_init_only_when_asked() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("app-db-init-dev-{}-{nanos}", std::process::id()));
    let dir_text = dir.display().to_string();
    let out = child(
        "boot",
        &[("APP_DB_EMBEDDED", "1"), ("APP_DB_DEV_DIR", &dir_text)],
    );
    let stopped = child("stop-dev", &[("APP_DB_DEV_DIR", &dir_text)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_booted(&out);
    common::succeeded(&stopped, "stopping the development server");
}

#[test]
fn a_child_that_never_started_its_scenario_fails_the_parent() {
    // No scenario selected: the child returns early, and libtest still exits 0.
    let early = common::rerun_self("child_scenario")
        .env_remove(SCENARIO)
        .output()
        .expect("run the child");
    // A name that matches no test: libtest runs nothing, and still exits 0.
    let missing = common::rerun_self("no_such_child_scenario")
        .output()
        .expect("run the child");
    for out in [early, missing] {
        assert!(out.status.success(), "{out:?}");
        let caught = std::panic::catch_unwind(|| common::succeeded(&out, "the child"));
        assert!(caught.is_err(), "a child that ran nothing passed: {out:?}");
    }
}

#[tokio::test]
async fn init_bounds_its_lock_waits_and_names_the_blocker() {
    let db = TestDatabase::migrated().await.unwrap();
    let (mut blocker, pid, tag) = common::block_the_last_migration(&db.url).await;
    let out = child(
        "error",
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("APP_DB_DDL_LOCK_TIMEOUT", "200"),
            ("APP_DB_DDL_RETRY_BUDGET", "1000"),
        ],
    );
    let stdout = stdout(&out);
    let error = common::reported(&stdout, "ERROR").unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        error.contains(&format!("migration {tag} statement 1 of"))
            && error.contains("could not get its lock"),
        "{error}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(&format!("backend pid {pid} (the-blocker)"))
            || stderr.contains(&format!("backend pid {pid} (the-blocker)")),
        "the blocker is named:\n{stdout}\n{stderr}"
    );
    sqlx::raw_sql("rollback")
        .execute(&mut blocker)
        .await
        .unwrap();
    // Once the blocker is gone, the next boot applies it.
    assert_booted(&child("boot", &[("DATABASE_URL", db.url.as_str())]));
}
