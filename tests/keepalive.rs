//! TCP keepalives (src/keepalive/): every connection app-db opens carries its URL's libpq
//! keepalive settings on exactly its own socket (IPv4, an IPv6 literal through a proxy on
//! `::1`, a host name, the pool, scratch databases; two settings in one process stay apart;
//! a socket that cannot be told apart is left alone with a warning), the server's side of a
//! migrating session gets the same bounds for the migration only (both lock paths), and a
//! connection that goes silent mid-migration ends in a TCP timeout (nothing committed) within
//! a bounded time instead of hanging.
//!
//! The silent connection is made real, not mocked: a child process in a network namespace of its
//! own (`unshare --net`) runs its own PostgreSQL on that namespace's loopback and takes the
//! loopback interface down in the middle of a migration, so packets vanish as on a cut network.
//! That needs `unshare` (util-linux), `ip` (iproute2) and root (CAP_SYS_ADMIN, CAP_NET_ADMIN);
//! without them the test fails and says so.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_db::Migrator;
use app_db::keepalive::{Armed, Before};
use app_db::recovery::ScratchDatabase;
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

const EXPECTED: (bool, Duration, Duration, u32, Option<Duration>) = (
    true,
    Duration::from_secs(7),
    Duration::from_secs(3),
    2,
    Some(Duration::from_secs(11)),
);

#[tokio::test]
async fn the_migrators_connection_carries_the_urls_keepalive() {
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

const OTHER: &str =
    "keepalives_idle=9&keepalives_interval=4&keepalives_count=5&tcp_user_timeout=17000";

const OTHER_EXPECTED: (bool, Duration, Duration, u32, Option<Duration>) = (
    true,
    Duration::from_secs(9),
    Duration::from_secs(4),
    5,
    Some(Duration::from_secs(17)),
);

/// `Keepalive::default()`: what a connection gets when no URL names other settings.
const DEFAULTS: (bool, Duration, Duration, u32, Option<Duration>) = (
    true,
    Duration::from_secs(30),
    Duration::from_secs(10),
    3,
    Some(Duration::from_secs(60)),
);

fn db_url(params: &str, db: &app_db::testing::TestDatabase) -> DbUrl {
    DbUrl::parse(&with_params(&db.url, params), "DATABASE_URL").unwrap()
}

async fn connect_one(url: &DbUrl) -> sqlx::PgConnection {
    app_db::init::connect_one(url, Duration::from_secs(10), "X")
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// The test server's address, from a URL of it.
fn server_address(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).expect("a URL");
    let host = parsed.host_str().expect("a host").to_string();
    let port = parsed.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .expect("the test server's host resolves")
        .next()
        .expect("an address")
}

/// `url` with its host and port replaced (`[::1]` for IPv6).
fn at(url: &str, host: &str, port: u16) -> String {
    let mut parsed = url::Url::parse(url).expect("a URL");
    parsed.set_host(Some(host)).expect("a host");
    parsed.set_port(Some(port)).expect("a port");
    parsed.to_string()
}

/// A TCP proxy listening on `listen` that forwards every connection to `target`: a real hop,
/// as a PgBouncer or a cloud SQL proxy is. It lives as long as the test's runtime.
async fn proxy(listen: &str, target: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "listen on {listen} (IPv6 loopback needed: `ip -6 addr show lo` must list ::1): {e}"
            )
        });
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    address
}

/// Every socket of this process whose peer is `peer`.
fn sockets_to(peer: SocketAddr) -> Vec<RawFd> {
    let mut found = Vec::new();
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
        let theirs = SockRef::from(&borrowed)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket());
        if theirs == Some(peer) {
            found.push(fd);
        }
    }
    found
}

#[tokio::test]
async fn two_settings_in_one_process_keep_their_own() {
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let mut first = connect_one(&db_url(SETTINGS, &db)).await;
    let mut off = connect_one(&db_url("keepalives=0", &db)).await;
    let mut other = connect_one(&db_url(OTHER, &db)).await;
    // And a pool of the first settings, connecting after all of them.
    let mut config = app_db::Config::default();
    config.migrate = false;
    config.pool.min = 0;
    config.pool.max = 1;
    let pool = app_db::init::connect_to(&db_url(SETTINGS, &db), &config)
        .await
        .unwrap();
    let mut pooled = pool.get_postgres_connection_pool().acquire().await.unwrap();

    assert_eq!(keepalive_of(socket_of(&mut first).await), EXPECTED);
    assert!(
        !keepalive_of(socket_of(&mut off).await).0,
        "a later connect armed the keepalives=0 connection"
    );
    assert_eq!(keepalive_of(socket_of(&mut other).await), OTHER_EXPECTED);
    assert_eq!(keepalive_of(socket_of(&mut pooled).await), EXPECTED);
}

#[tokio::test]
async fn an_ipv6_literal_url_is_armed() {
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    // The embedded server listens on 127.0.0.1 only: a proxy on ::1 puts it behind an IPv6
    // literal.
    let front = proxy("[::1]:0", server_address(&db.url)).await;
    let url = DbUrl::parse(
        &with_params(&at(&db.url, "[::1]", front.port()), SETTINGS),
        "DATABASE_URL",
    )
    .unwrap();
    assert!(url.redacted().contains("@[::1]:"), "{url}");
    let mut conn = connect_one(&url).await;
    let _: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let socket = sockets_to(front);
    assert_eq!(socket.len(), 1, "one connection to the proxy");
    assert_eq!(keepalive_of(socket[0]), EXPECTED);
}

#[tokio::test]
async fn a_host_name_url_is_armed_without_resolving_the_name_again() {
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let address = server_address(&db.url);
    let url = DbUrl::parse(
        &with_params(&at(&db.url, "localhost", address.port()), SETTINGS),
        "DATABASE_URL",
    )
    .unwrap();
    let mut conn = connect_one(&url).await;
    assert_eq!(keepalive_of(socket_of(&mut conn).await), EXPECTED);

    // The name's answer may change between the connect and the arming (here it has none any
    // more): the socket is found from the connect itself, not from a new lookup.
    let settings = *db_url(OTHER, &db).keepalive().unwrap();
    let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
    let before = Before::now();
    let mut plain = sqlx::PgConnection::connect_with(&options).await.unwrap();
    let gone = options
        .clone()
        .host("db.name-that-no-longer-resolves.invalid");
    let armed = app_db::keepalive::arm(&mut plain, &gone, Some(&settings), Some(&before)).await;
    assert!(matches!(armed, Armed::Set(_)), "{armed:?}");
    assert_eq!(keepalive_of(socket_of(&mut plain).await), OTHER_EXPECTED);
}

#[tokio::test]
async fn scratch_database_connections_are_armed() {
    let server = TestServer::get().unwrap();
    // From the URL: the URL's settings.
    let url = DbUrl::parse(&with_params(server.admin_url(), SETTINGS), "X").unwrap();
    let scratch = ScratchDatabase::create(&url).await.unwrap();
    let mut conn = scratch.connect().await.unwrap();
    assert_eq!(keepalive_of(socket_of(&mut conn).await), EXPECTED);
    conn.close().await.unwrap();
    scratch.drop().await.unwrap();
    // From bare connection options (as `generate` is called by library users): the defaults.
    let options: sqlx::postgres::PgConnectOptions = server.admin_url().parse().unwrap();
    let scratch = ScratchDatabase::create(&options).await.unwrap();
    let mut conn = scratch.connect().await.unwrap();
    assert_eq!(keepalive_of(socket_of(&mut conn).await), DEFAULTS);
    conn.close().await.unwrap();
    scratch.drop().await.unwrap();
}

/// Every log line written while it is the thread's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_socket_that_cannot_be_told_apart_is_left_alone_with_a_warning() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime has one thread: everything below logs to this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let front = proxy("[::1]:0", server_address(&db.url)).await;
    // Other code of the process holds a connection to the same proxy.
    let _foreign = tokio::net::TcpStream::connect(front).await.unwrap();
    let url = DbUrl::parse(
        &with_params(&at(&db.url, "[::1]", front.port()), SETTINGS),
        "DATABASE_URL",
    )
    .unwrap();
    let mut config = app_db::Config::default();
    config.migrate = false;
    config.pool.min = 0;
    config.pool.max = 1;
    let pool = app_db::init::connect_to(&url, &config).await.unwrap();
    assert!(
        !String::from_utf8_lossy(&logs.0.lock().unwrap()).contains("not set"),
        "the first connection (its sockets known from before the connect) was armed"
    );
    // A pooled connect has no listing from before it: two new sockets go to the proxy, and
    // the server sees the proxy's address, not ours.
    let _pooled = pool.get_postgres_connection_pool().acquire().await.unwrap();
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("WARN")
            && text.contains("tcp keepalives not set")
            && text.contains(&format!("::1:{}", front.port())),
        "no warning naming the server: {text}"
    );
    for fd in sockets_to(front) {
        assert!(
            !keepalive_of(fd).0,
            "a socket was armed although it could be another connection's"
        );
    }
}

/// The server's settings the migrator changes, as the session sees them.
async fn session_settings(conn: &mut sqlx::PgConnection) -> Vec<String> {
    let row = sqlx::query(
        "select current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), \
         current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout'), \
         current_setting('client_connection_check_interval')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    (0..5).map(|i| row.get(i)).collect()
}

/// A migration recording what the server's side of the session had while it ran.
fn recording_migration(directive: &str) -> &'static [app_db::Migration] {
    common::list(vec![common::migration(
        0,
        1_700_000_000_000,
        &format!(
            "{directive}CREATE TABLE \"seen\" AS SELECT current_setting('tcp_keepalives_idle') AS idle, \
             current_setting('tcp_keepalives_interval') AS interval, \
             current_setting('tcp_keepalives_count') AS count, \
             current_setting('tcp_user_timeout') AS user_timeout;\n"
        ),
    )])
}

/// Runs `migrations` with the URL's keepalive settings on a connection of that URL and checks
/// the server used them during the migration and the session has its own back afterwards.
async fn server_side_bounds_for_the_migration_only(migrations: &'static [app_db::Migration]) {
    let db = TestServer::get().unwrap().fresh_database().await.unwrap();
    let url = db_url(SETTINGS, &db);
    let mut conn = connect_one(&url).await;
    let before = session_settings(&mut conn).await;
    assert_ne!(
        before[..4],
        ["7", "3", "2", "11000"],
        "the session already had the migration's settings: the test would prove nothing"
    );
    let report = Migrator::with_migrations(migrations)
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
    assert_eq!(
        session_settings(&mut conn).await,
        before,
        "settings of the migration outlived it"
    );
}

#[tokio::test]
async fn the_server_side_gets_the_same_bounds_for_the_migration_only() {
    // The transaction lock: set_config(..., true), undone by the commit.
    server_side_bounds_for_the_migration_only(recording_migration("")).await;
}

#[tokio::test]
async fn the_session_lock_gives_the_session_its_settings_back() {
    // A no-transaction migration takes the session lock, whose settings last the session
    // until the release resets them.
    server_side_bounds_for_the_migration_only(recording_migration("-- app-db:no-transaction\n"))
        .await;
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
            if let app_db::Error::MigrationFailed(failure) = &e {
                println!("\nMIGRATE_CAUSE {}", failure.message);
            }
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
        error.contains("0000_test_0"),
        "the error should name the migration: {error}"
    );
    // The cause is the kernel giving up on the silent peer (ETIMEDOUT: keepalive probes or
    // sent data unanswered), not any other I/O error.
    let cause = common::reported(&stdout, "MIGRATE_CAUSE")
        .unwrap_or_else(|| panic!("the error is not a failed migration:\n{stdout}"));
    assert!(
        cause.contains("(os error 110)"),
        "the migration failed for another reason than a TCP timeout: {cause}"
    );
    // When: not before the first probe could go unanswered (idle 1 s), and well before the
    // server's pg_sleep(6) would have ended; the bound is 1 s + 2 probes x 1 s, or 3 s of
    // unacknowledged data (tcp_user_timeout).
    let after: u128 = common::reported(&stdout, "MIGRATE_ERROR_AFTER_MS")
        .unwrap()
        .parse()
        .unwrap();
    println!("the silent connection failed {after} ms after the cut (bound: 3 s)");
    assert!(
        (1_000..6_000).contains(&after),
        "the silent connection failed {after} ms after the cut, outside 1-6 s"
    );
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
