//! The embedded PostgreSQL used by tests: isolation, privileges, extension, cleanup.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app_db::testing::TestDatabase;
use sea_orm::{ConnectionTrait, Statement};

async fn scalar_string(db: &TestDatabase, sql: &str) -> String {
    let row = db
        .db
        .query_one_raw(Statement::from_string(db.db.get_database_backend(), sql))
        .await
        .expect("query runs")
        .expect("one row");
    row.try_get_by_index::<String>(0).expect("a text column")
}

#[tokio::test]
async fn server_is_postgres_16_with_pgvector() {
    let db = TestDatabase::empty().await.expect("a test database");
    let version = scalar_string(&db, "show server_version").await;
    assert!(
        version.starts_with("16."),
        "expected PostgreSQL 16, got {version}"
    );
    db.db
        .execute_unprepared("create extension if not exists vector")
        .await
        .expect("pgvector is installed");
    let distance = scalar_string(&db, "select ('[1,0]'::vector <=> '[0,1]'::vector)::text").await;
    assert_eq!(distance, "1");
}

#[tokio::test]
async fn two_tests_never_see_each_others_tables() {
    let a = TestDatabase::empty().await.expect("database a");
    let b = TestDatabase::empty().await.expect("database b");
    assert_ne!(a.name, b.name);
    a.db.execute_unprepared("create table only_in_a (id int)")
        .await
        .expect("create in a");
    let in_b = scalar_string(
        &b,
        "select coalesce(to_regclass('public.only_in_a')::text, 'absent')",
    )
    .await;
    assert_eq!(
        in_b, "absent",
        "a table created in one test database is visible in another"
    );
    let in_a = scalar_string(
        &a,
        "select coalesce(to_regclass('public.only_in_a')::text, 'absent')",
    )
    .await;
    assert_eq!(in_a, "only_in_a");
}

/// The embedded server itself, whatever `TEST_DATABASE_URL` says for the rest of the suite.
#[test]
fn server_does_not_run_as_root() {
    let (cluster, root) = test_cluster("uid");
    cluster.init(&ClusterOptions { durable: false }).unwrap();
    let server = cluster.start_child().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid))
        .expect("the server process exists");
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("a Uid line");
    let uids: Vec<u32> = uid_line
        .split_whitespace()
        .skip(1)
        .map(|u| u.parse().expect("numeric uid"))
        .collect();
    server.stop();
    let _ = std::fs::remove_dir_all(root.parent().unwrap());
    assert!(
        uids.iter().all(|&u| u != 0),
        "postgres runs as root: {uid_line}"
    );
}

/// Not a test on its own: the body of the child process that `no_server_outlives_a_killed_process`
/// starts. It starts a server, prints its pid and waits to be killed.
#[tokio::test]
async fn child_process_holding_a_server() {
    if std::env::var_os("APP_DB_TEST_CHILD").is_none() {
        return;
    }
    let (cluster, root) = test_cluster("child");
    cluster.init(&ClusterOptions { durable: false }).unwrap();
    let server = cluster.start_child().unwrap();
    // libtest prints the test's name on the same line first, so the marker is searched for.
    println!(
        "\nSERVER_PID {} {}",
        server.pid,
        root.parent().unwrap().display()
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[test]
fn no_server_outlives_a_killed_process() {
    server_dies_with_its_process(libc::SIGKILL);
}

/// Ctrl-C: SIGINT ends the test process (and, in a terminal, reaches the server too).
#[test]
fn no_server_outlives_an_interrupted_process() {
    server_dies_with_its_process(libc::SIGINT);
}

fn server_dies_with_its_process(signal: libc::c_int) {
    let mut child = common::rerun_self("child_process_holding_a_server")
        .env("APP_DB_TEST_CHILD", "1")
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child test process");
    let stdout = child.stdout.take().expect("piped stdout");
    let (pid, cluster_dir): (i32, String) = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let (_, rest) = line.split_once("SERVER_PID ")?;
            let (pid, dir) = rest.trim().split_once(' ')?;
            Some((pid.parse().expect("a pid"), dir.to_string()))
        })
        .expect("the child prints its server's pid");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "server {pid} should run while the child lives"
    );
    // SAFETY: a plain signal to the child we started and have not reaped yet.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, signal) },
        0,
        "signal the child"
    );
    child.wait().expect("reap the child");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        // Gone, or a zombie waiting for its (dead) parent's reaper: either way not running.
        let running = state
            .as_deref()
            .is_some_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"));
        if !running {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "postgres {pid} still runs 20 s after its test process got signal {signal}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(cluster_dir);
}

// ---------------------------------------------------------------------------------------------
// Provisioning and failures, with explicit settings instead of the process environment.

use app_db::Error;
use app_db::embedded::{
    BinarySettings, Cluster, ClusterOptions, DEFAULT_WHEEL, PgBinaries, ServerAccount,
};

fn scratch_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "app-db-test-{label}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    // The server account (when we are root) must reach what it runs.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[test]
fn without_pip_or_a_bin_folder_the_error_lists_every_way_to_get_a_server() {
    let cache = scratch_dir("nopip");
    let settings = BinarySettings {
        pg_bin: None,
        cache_dir: cache.clone(),
        python: "/nonexistent/python3".into(),
        wheel: &DEFAULT_WHEEL,
    };
    let err = PgBinaries::resolve_with(&settings, &ServerAccount::detect().unwrap()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::NoPostgres { .. }), "{message}");
    for way in ["DATABASE_URL", "APP_DB_PG_BIN", "pip", "docker-compose"] {
        assert!(
            message.contains(way),
            "the message should mention {way}: {message}"
        );
    }
    let _ = std::fs::remove_dir_all(cache);
}

#[test]
fn a_bad_bin_folder_is_named() {
    let settings = BinarySettings {
        pg_bin: Some("/nonexistent/bin".into()),
        cache_dir: std::env::temp_dir(),
        python: "python3".into(),
        wheel: &DEFAULT_WHEEL,
    };
    let message = PgBinaries::resolve_with(&settings, &ServerAccount::detect().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("APP_DB_PG_BIN=\"/nonexistent/bin\""),
        "{message}"
    );
}

/// Not a test on its own: the body of the processes `concurrent_first_downloads_share_one_cache` starts.
#[test]
fn child_provisioning_into_a_cache() {
    let Some(cache) = std::env::var_os("APP_DB_TEST_CHILD_CACHE") else {
        return;
    };
    common::child_started("provisioning");
    let settings = BinarySettings {
        pg_bin: None,
        cache_dir: cache.into(),
        python: "python3".into(),
        wheel: &DEFAULT_WHEEL,
    };
    let binaries = PgBinaries::resolve_with(&settings, &ServerAccount::detect().unwrap())
        .expect("provisioning succeeds");
    println!("\nBIN {}", binaries.bin_dir().display());
}

#[test]
fn concurrent_first_downloads_share_one_cache() {
    let cache = scratch_dir("cache");
    let children: Vec<_> = (0..2)
        .map(|_| {
            common::rerun_self("child_provisioning_into_a_cache")
                .env("APP_DB_TEST_CHILD_CACHE", &cache)
                .spawn()
                .expect("start a child")
        })
        .collect();
    let mut bins = Vec::new();
    for child in children {
        let stdout =
            common::succeeded(&child.wait_with_output().unwrap(), "a provisioning process");
        bins.push(common::reported(&stdout, "BIN").expect("the child names its bin folder"));
    }
    assert_eq!(bins[0], bins[1]);
    let leftovers: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "partial downloads left behind: {leftovers:?}"
    );
    let version = Command::new(std::path::Path::new(&bins[0]).join("postgres"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(DEFAULT_WHEEL.postgres),
        "{version:?}"
    );
    let _ = std::fs::remove_dir_all(cache);
}

fn test_cluster(label: &str) -> (Cluster, std::path::PathBuf) {
    let account = ServerAccount::detect().unwrap();
    let binaries = PgBinaries::resolve(&account).unwrap();
    let root = scratch_dir(label).join("cluster");
    (Cluster::new(binaries, account, root.clone()).unwrap(), root)
}

#[test]
fn a_failed_start_shows_the_tail_of_the_server_log() {
    let (cluster, root) = test_cluster("badconf");
    cluster.init(&ClusterOptions { durable: false }).unwrap();
    let conf = cluster.data_dir().join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("shared_buffers = 'plenty'\n");
    std::fs::write(&conf, text).unwrap();
    let err = cluster.start_child().unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::ServerStart { .. }), "{message}");
    assert!(
        message.contains("shared_buffers") && message.contains("log ends with"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(root.parent().unwrap());
}

#[test]
fn a_failed_initdb_shows_its_log() {
    let (cluster, root) = test_cluster("badinit");
    std::fs::create_dir_all(cluster.data_dir()).unwrap();
    std::fs::write(cluster.data_dir().join("stray"), "not a cluster").unwrap();
    let err = cluster
        .init(&ClusterOptions { durable: false })
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::InitDb { .. }), "{message}");
    assert!(
        message.contains("initdb failed") && message.contains("not empty"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(root.parent().unwrap());
}

/// The pinned wheel's server, with the settings for vector work: PostgreSQL 16.11, pgvector
/// 0.8.1 available, HNSW build memory and shared buffers from the machine, no parallel HNSW builds (CVE-2026-3172).
#[tokio::test]
async fn embedded_cluster_runs_the_pinned_versions_with_vector_settings() {
    use app_db::embedded::binaries::BinarySource;
    use app_db::embedded::settings;
    use sqlx::Connection;

    let (cluster, root) = test_cluster("settings");
    let binaries = PgBinaries::resolve(&ServerAccount::detect().unwrap()).unwrap();
    cluster.init(&ClusterOptions { durable: false }).unwrap();
    let server = cluster.start_child().unwrap();
    let mut conn = sqlx::PgConnection::connect(&server.url("postgres"))
        .await
        .expect("connect to the embedded server");
    let show = |name: &str| {
        sqlx::query_scalar::<_, String>("select current_setting($1)").bind(name.to_string())
    };
    let workers: String = show("max_parallel_maintenance_workers")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let memory: String = show("maintenance_work_mem")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let buffers: String = show("shared_buffers").fetch_one(&mut conn).await.unwrap();
    let version: String = show("server_version").fetch_one(&mut conn).await.unwrap();
    let pgvector: String = sqlx::query_scalar(
        "select default_version from pg_available_extensions where name = 'vector'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("pgvector is installed");
    conn.close().await.unwrap();
    server.stop();
    let _ = std::fs::remove_dir_all(root.parent().unwrap());

    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let expected_mb = settings::maintenance_work_mem_mb(settings::mem_total_kib(&meminfo));
    assert!(
        expected_mb > 64,
        "this machine has memory for an HNSW graph"
    );
    // PostgreSQL shows whole gigabytes as GB.
    let shown = |mb: u64| {
        if mb.is_multiple_of(1024) {
            format!("{}GB", mb / 1024)
        } else {
            format!("{mb}MB")
        }
    };
    assert_eq!(memory, shown(expected_mb));
    let expected_buffers = settings::shared_buffers_mb(settings::mem_total_kib(&meminfo));
    assert!(
        expected_buffers > 128,
        "this machine has memory for more than PostgreSQL's default cache"
    );
    assert_eq!(buffers, shown(expected_buffers));
    let installed = app_db::rag::PgvectorVersion::parse(&pgvector).expect("a version");
    if installed < settings::SAFE_PARALLEL_BUILD {
        assert_eq!(
            workers, "0",
            "pgvector {pgvector} must not build in parallel"
        );
    }
    match binaries.source() {
        BinarySource::Wheel(wheel) => {
            assert_eq!(version, wheel.postgres);
            assert_eq!(pgvector, wheel.pgvector);
            if std::env::var_os("APP_DB_PG_WHEEL").is_none() {
                assert_eq!((version.as_str(), pgvector.as_str()), ("16.11", "0.8.1"));
            }
        }
        BinarySource::EnvVar => {
            assert_eq!(
                Some(installed),
                settings::installed_pgvector(binaries.bin_dir())
            );
        }
    }
}
