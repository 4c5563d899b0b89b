//! TCP keepalives (src/keepalive.rs): every connection app-db opens carries the URL's libpq
//! keepalive settings, the server's side of a migrating session gets the same bounds for the
//! migration's transaction only, and a connection that goes silent mid-migration ends in an
//! error (nothing committed) instead of hanging.
//!
//! The silent connection is made real, not mocked: a child process in a network namespace of its
//! own (`unshare --net`) runs its own PostgreSQL on that namespace's loopback and takes the
//! loopback interface down in the middle of a migration, so packets vanish as on a cut network.
//! That needs `unshare` (util-linux), `ip` (iproute2) and root (CAP_SYS_ADMIN, CAP_NET_ADMIN);
//! without them the test fails and says so.

mod common;

use std::os::fd::{BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use app_db::Migrator;
use app_db::testing::TestServer;
use app_db::url::DbUrl;
use socket2::SockRef;
use sqlx::{Connection, Row};

const SETTINGS: &str =
    "keepalives_idle=7&keepalives_interval=3&keepalives_count=2&tcp_user_timeout=11000";

fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// The socket of `conn`, found by the local port the server sees for it.
async fn socket_of(conn: &mut sqlx::PgConnection) -> RawFd {
    let port: i32 = sqlx::query("select inet_client_port()")
        .fetch_one(&mut *conn)
        .await
        .expect("the client port")
        .try_get(0)
        .expect("a TCP connection (inet_client_port is null on a Unix socket)");
    for entry in std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .flatten()
    {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        // SAFETY: borrowed for one call; a descriptor closed meanwhile only fails the call.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let local = SockRef::from(&borrowed)
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket());
        if local.is_some_and(|a| i32::from(a.port()) == port) {
            return fd;
        }
    }
    panic!("no socket of this process has local port {port}");
}

/// `(keepalive on, idle, interval, count, user timeout)` of a socket.
fn keepalive_of(fd: RawFd) -> (bool, Duration, Duration, u32, Option<Duration>) {
    // SAFETY: the connection owning the descriptor is alive for the whole call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let s = SockRef::from(&borrowed);
    (
        s.keepalive().unwrap(),
        s.tcp_keepalive_time().unwrap(),
        s.tcp_keepalive_interval().unwrap(),
        s.tcp_keepalive_retries().unwrap(),
        s.tcp_user_timeout().unwrap(),
    )
}

/// Arming sets every socket of the process that goes to the same server (by design: see
/// src/keepalive.rs), so the in-process tests, which all talk to this process's server, run one
/// at a time: otherwise one test's settings land on another's `keepalives=0` socket.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const EXPECTED: (bool, Duration, Duration, u32, Option<Duration>) = (
    true,
    Duration::from_secs(7),
    Duration::from_secs(3),
    2,
    Some(Duration::from_secs(11)),
);

#[tokio::test]
async fn the_migrators_connection_carries_the_urls_keepalive() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let url = DbUrl::parse(&with_params(&db.url, SETTINGS), "DATABASE_URL").unwrap();
    let mut conn = app_db::init::connect_one(&url, Duration::from_secs(10), "X")
        .await
        .unwrap();
    let fd = socket_of(&mut conn).await;
    assert_eq!(keepalive_of(fd), EXPECTED);

    // keepalives=0: the socket keeps the system's default (off).
    let off = DbUrl::parse(&with_params(&db.url, "keepalives=0"), "DATABASE_URL").unwrap();
    let mut plain = app_db::init::connect_one(&off, Duration::from_secs(10), "X")
        .await
        .unwrap();
    let fd = socket_of(&mut plain).await;
    assert!(!keepalive_of(fd).0, "keepalives=0 still set SO_KEEPALIVE");
}

#[tokio::test]
async fn the_app_pool_connections_carry_the_urls_keepalive() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let url = DbUrl::parse(&with_params(&db.url, SETTINGS), "DATABASE_URL").unwrap();
    let mut config = app_db::Config::default();
    config.migrate = false;
    config.pool.min = 0;
    config.pool.max = 2;
    let pool = app_db::init::connect_to(&url, &config).await.unwrap();
    let sqlx_pool = pool.get_postgres_connection_pool();
    let (mut a, mut b) = (
        sqlx_pool.acquire().await.unwrap(),
        sqlx_pool.acquire().await.unwrap(),
    );
    for conn in [&mut a, &mut b] {
        let fd = socket_of(conn).await;
        assert_eq!(keepalive_of(fd), EXPECTED);
    }
}

#[tokio::test]
async fn the_server_side_gets_the_same_bounds_for_the_migration_only() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let url = DbUrl::parse(&with_params(&db.url, SETTINGS), "DATABASE_URL").unwrap();
    let mut conn = app_db::init::connect_one(&url, Duration::from_secs(10), "X")
        .await
        .unwrap();
    let seen = common::list(vec![common::migration(
        0,
        1_700_000_000_000,
        "CREATE TABLE \"seen\" AS SELECT current_setting('tcp_keepalives_idle') AS idle, \
         current_setting('tcp_keepalives_interval') AS interval, \
         current_setting('tcp_keepalives_count') AS count, \
         current_setting('tcp_user_timeout') AS user_timeout;\n",
    )]);
    let report = Migrator::with_migrations(seen)
        .keepalive(url.keepalive().copied())
        .run(&mut conn)
        .await
        .expect("the migration runs");
    assert_eq!(report.applied.len(), 1);
    let row = sqlx::query("select idle, interval, count, user_timeout from seen")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let got: Vec<String> = (0..4).map(|i| row.get(i)).collect();
    assert_eq!(got, ["7", "3", "2", "11000"]);
    // Transaction-local: the session is back to the server's settings.
    let after: String = sqlx::query_scalar("select current_setting('tcp_keepalives_idle')")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_ne!(
        after, "7s",
        "the keepalive setting outlived the migration's transaction"
    );
}

// The silent connection, in a network namespace of its own.

const CHILD_SCENARIO: &str = "APP_DB_TEST_KEEPALIVE_SCENARIO";

/// Not a test on its own: the body of the namespaced child processes started below.
#[tokio::test]
async fn keepalive_child_process() {
    let Ok(scenario) = std::env::var(CHILD_SCENARIO) else {
        return;
    };
    common::child_started(&scenario);
    ip(&["link", "set", "lo", "up"]);
    let db = TestServer::get()
        .expect("a server inside the namespace")
        .fresh_database()
        .await
        .unwrap();
    let params = match scenario.as_str() {
        "keepalive" => {
            "keepalives_idle=1&keepalives_interval=1&keepalives_count=2&tcp_user_timeout=3000"
        }
        "off" => "keepalives=0",
        other => panic!("unknown scenario {other}"),
    };
    let url = DbUrl::parse(&with_params(&db.url, params), "DATABASE_URL").unwrap();
    let mut conn = app_db::init::connect_one(&url, Duration::from_secs(10), "X")
        .await
        .unwrap();
    let sleepy = common::list(vec![common::migration(
        0,
        1_700_000_000_000,
        "CREATE TABLE \"before_sleep\" (\"id\" int);\n--> statement-breakpoint\n\
         SELECT pg_sleep(6);\n--> statement-breakpoint\n\
         CREATE TABLE \"after_sleep\" (\"id\" int);\n",
    )]);
    let migrator = Migrator::with_migrations(sleepy).keepalive(url.keepalive().copied());
    let run = tokio::spawn(async move { migrator.run(&mut conn).await.map(|_| ()) });

    // Wait until the migration sleeps, then cut the network.
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where state = 'active' and query like '%pg_sleep(6)%' and query not like '%pg_stat_activity%'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if sleeping > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the migration never started sleeping"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ip(&["link", "set", "lo", "down"]);
    let cut = Instant::now();
    // Far longer than the keepalive bound (3 s): without keepalives this never ends.
    let outcome = tokio::time::timeout(Duration::from_secs(12), run).await;
    let waited = cut.elapsed();
    match outcome {
        Ok(Ok(Err(e))) => {
            println!("\nMIGRATE_ERROR_AFTER_MS {}", waited.as_millis());
            println!("\nMIGRATE_ERROR {}", e.to_string().replace('\n', " | "));
        }
        Ok(Ok(Ok(()))) => println!("\nMIGRATE_SUCCEEDED after the network was cut"),
        Ok(Err(join)) => panic!("the migration task panicked: {join}"),
        Err(_) => {
            println!("\nMIGRATE_PENDING {}", waited.as_millis());
            return; // the namespace, its server and the hung connection end with this process
        }
    }
    // Back on the network: the server notices the client is gone and rolls back.
    ip(&["link", "set", "lo", "up"]);
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where query like '%pg_sleep(6)%' and query not like '%pg_stat_activity%'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        if Instant::now() >= deadline {
            let rows: Vec<String> = sqlx::query_scalar(
                "select concat_ws(' | ', pid, state, wait_event_type, wait_event, now() - state_change, query) \
                 from pg_stat_activity where query like '%pg_sleep(6)%' and query not like '%pg_stat_activity%'",
            )
            .fetch_all(&mut admin)
            .await
            .unwrap();
            panic!("the abandoned migrating session never ended: {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut left: Vec<String> = sqlx::query_scalar(
        "select t from unnest(array['before_sleep', 'after_sleep']) t where to_regclass(t) is not null",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let bookkeeping: Option<String> =
        sqlx::query_scalar("select to_regclass('drizzle.__drizzle_migrations')::text")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    if bookkeeping.is_some() {
        let rows: i64 = sqlx::query_scalar("select count(*) from drizzle.__drizzle_migrations")
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if rows > 0 {
            left.push(format!("{rows} bookkeeping row(s)"));
        }
    }
    let tables = left;
    println!("\nLEFT_BEHIND {}", tables.join(",")); // empty: nothing committed
}

fn ip(args: &[&str]) {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .expect("`ip` (Debian: apt-get install iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn namespaced_child(scenario: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .arg("--net")
        .arg(exe)
        .args([
            "--exact",
            "keepalive_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_SCENARIO, scenario)
        // The child's server lives inside its namespace; a shared server is out of reach there.
        .env_remove("TEST_DATABASE_URL")
        .output()
        .expect("`unshare` (Debian: util-linux) to give the child a network namespace of its own");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare failed") && !stderr.contains("Operation not permitted"),
        "this test needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to make a network namespace: {stderr}"
    );
    common::succeeded(&out, &format!("the `{scenario}` child"))
}

#[test]
fn a_connection_that_goes_silent_mid_migration_errors_and_leaves_nothing() {
    let stdout = namespaced_child("keepalive");
    let error = common::reported(&stdout, "MIGRATE_ERROR").unwrap_or_else(|| {
        panic!("the migration did not fail when its connection went silent:\n{stdout}")
    });
    assert!(
        error.contains("0000_test_0") && error.contains("keepalive"),
        "the error should name the migration and the keepalive settings: {error}"
    );
    let after: u128 = common::reported(&stdout, "MIGRATE_ERROR_AFTER_MS")
        .unwrap()
        .parse()
        .unwrap();
    println!("the silent connection failed {after} ms after the cut (bound: 3 s)");
    assert_eq!(
        common::reported(&stdout, "LEFT_BEHIND").as_deref(),
        Some(""),
        "a table or a bookkeeping row of the broken migration stayed:\n{stdout}"
    );
}

#[test]
fn without_keepalives_the_same_cut_hangs() {
    // The control: what the keepalive test guards against is real on this machine.
    let stdout = namespaced_child("off");
    assert!(
        common::reported(&stdout, "MIGRATE_PENDING").is_some(),
        "with keepalives=0 the cut connection was expected to hang, but:\n{stdout}"
    );
}
