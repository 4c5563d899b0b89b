//! Migrator benchmarks: the no-op boot cost, and applying the whole history three ways.
//!
//! ```text
//! cargo bench --bench migrator            # BENCH_ITERATIONS=200 BENCH_RUNS=10 by default
//! ```
//!
//! Needs what the tests need: the embedded PostgreSQL (or `TEST_DATABASE_URL`), and Node.js 20+
//! with npm for drizzle-orm (`tests/drizzle-interop/`, installed with `npm ci` on first use).
//! Everything runs against one server, each measurement on a fresh database.
//!
//! 1. No-op boot: on an up-to-date database, `Migrator::run` on an open connection (the fast
//!    path), `init::connect` alone and the full `init::open` (connect + migrate), p50/p95 over
//!    `BENCH_ITERATIONS`. Round trips are counted by running each once more through a small
//!    TCP proxy that counts the client's turns (the client speaking after the server did).
//! 2. Whole history (the project's folder) on a fresh database, median of `BENCH_RUNS`:
//!    app-db, drizzle-orm's `migrate()` (inside node, and the whole node process), and
//!    `psql -X -v ON_ERROR_STOP=1 -1 -f` of the files concatenated in journal order.
//!
//! Results are written up in docs/bench-migrator.md. Not a test: figures depend on the machine.

#[path = "../tests/common/drizzle.rs"]
mod drizzle;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_db::migrations::MIGRATIONS_DIR;
use app_db::testing::TestDatabase;
use app_db::{Config, MIGRATIONS, Migrator};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    let iterations = env_count("BENCH_ITERATIONS", 200);
    let runs = env_count("BENCH_RUNS", 10);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async {
            drizzle::ensure_node_project();
            // The machine may be shared: the load says how much to trust the figures.
            println!("load average before: {}", load_average());
            noop_boot(iterations).await;
            whole_history(runs).await;
            println!("\nload average after: {}", load_average());
        });
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------------------------------------
// 1. No-op boot

async fn noop_boot(iterations: usize) {
    let db = TestDatabase::empty().await.expect("test database");
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let report = Migrator::new().run(&mut conn).await.expect("migrate");
    assert_eq!(report.applied.len(), MIGRATIONS.len());
    let config = Config::default().database_url(db.url.clone());

    let warm_up = iterations / 10;
    let mut fast_path = Vec::with_capacity(iterations);
    for i in 0..warm_up + iterations {
        let started = Instant::now();
        let report = Migrator::new().run(&mut conn).await.expect("migrate");
        let elapsed = started.elapsed();
        assert!(report.applied.is_empty() && !report.locked);
        if i >= warm_up {
            fast_path.push(elapsed);
        }
    }

    let mut connect_only = Vec::with_capacity(iterations);
    let mut open = Vec::with_capacity(iterations);
    for i in 0..warm_up + iterations {
        let started = Instant::now();
        let pool = app_db::init::connect(&db.url, &config)
            .await
            .expect("connect");
        let elapsed = started.elapsed();
        pool.close().await.expect("close");
        if i >= warm_up {
            connect_only.push(elapsed);
        }

        let started = Instant::now();
        let (pool, report) = app_db::init::open(&config).await.expect("open");
        let elapsed = started.elapsed();
        let report = report.migrations.expect("migrate is on by default");
        assert!(report.applied.is_empty() && !report.locked);
        pool.close().await.expect("close");
        if i >= warm_up {
            open.push(elapsed);
        }
    }

    // Round trips, through the counting proxy (its latency stays out of the timings above).
    let proxy = CountingProxy::start(&db.url).await;
    let mut via_proxy = PgConnection::connect(&proxy.url)
        .await
        .expect("connect via proxy");
    let before = proxy.snapshot();
    Migrator::new().run(&mut via_proxy).await.expect("migrate");
    let run_turns = proxy.turns_since(&before);
    let run_log = proxy.describe(before.len() - 1);
    via_proxy.close().await.expect("close");

    let before = proxy.snapshot();
    let conns_before = before.len();
    let pool = app_db::init::connect(&proxy.url, &config)
        .await
        .expect("connect");
    let connect_turns = proxy.turns_since(&before);
    let connect_conns = proxy.connections() - conns_before;
    let connect_log = proxy.describe(conns_before);
    pool.close().await.expect("close");

    let before = proxy.snapshot();
    let conns_before = before.len();
    let (pool, _) = app_db::init::open(&config.clone().database_url(proxy.url.clone()))
        .await
        .expect("open via proxy");
    // Counted at return: the pool may go on opening its idle connections in the background,
    // but `open` did not wait for them.
    let open_turns = proxy.turns_since(&before);
    let open_conns = proxy.connections() - conns_before;
    let open_log = proxy.describe(conns_before);
    pool.close().await.expect("close");

    println!(
        "\n## 1. No-op boot on an up-to-date database ({} migrations applied), {iterations} iterations\n",
        MIGRATIONS.len()
    );
    println!("| what | p50 | p95 | round trips |");
    println!("|---|---:|---:|---|");
    row_p(
        "`Migrator::run` on an open connection (fast path)",
        &mut fast_path,
        &format!("{run_turns}"),
    );
    row_p(
        "`init::connect` alone (pool, default settings)",
        &mut connect_only,
        &format!("{connect_turns} on {connect_conns} connection(s)"),
    );
    row_p(
        "`init::open` (connect + migrate)",
        &mut open,
        &format!("{open_turns} on {open_conns} connection(s)"),
    );
    println!("\nClient turns seen by the proxy (`|` separates round trips):\n");
    println!("- fast path, whole connection: {run_log}");
    println!("- `init::connect`: {connect_log}");
    println!("- `init::open`: {open_log}");
}

fn row_p(what: &str, samples: &mut [Duration], trips: &str) {
    samples.sort();
    println!(
        "| {what} | {} | {} | {trips} |",
        ms(percentile(samples, 50)),
        ms(percentile(samples, 95))
    );
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn median(samples: &mut [Duration]) -> Duration {
    percentile_sorted(samples, 50)
}

fn percentile_sorted(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    percentile(samples, p)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A TCP proxy in front of the server that records the client's turns, per connection: every
/// time the client sends bytes after the server last sent some, it starts a new round trip
/// (requests it pipelines without waiting count once, as they cost one network latency). Each
/// turn is logged as the protocol messages it carried, to explain the counts.
struct CountingProxy {
    url: String,
    log: Arc<Mutex<Vec<ConnectionLog>>>,
}

type ConnectionLog = Arc<Mutex<Vec<String>>>;

impl CountingProxy {
    async fn start(url: &str) -> Self {
        let options: sqlx::postgres::PgConnectOptions = url.parse().expect("URL");
        let upstream = format!("{}:{}", options.get_host(), options.get_port());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let proxy_url = url.replacen(
            &format!(":{}/", options.get_port()),
            &format!(":{port}/"),
            1,
        );
        assert_ne!(proxy_url, url, "the URL names its port");
        let log: Arc<Mutex<Vec<ConnectionLog>>> = Arc::default();
        let l = log.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let connection_log = Arc::new(Mutex::new(Vec::new()));
                l.lock().unwrap().push(connection_log.clone());
                let server = TcpStream::connect(&upstream).await.expect("upstream");
                tokio::spawn(relay(client, server, connection_log));
            }
        });
        Self {
            url: proxy_url,
            log,
        }
    }

    /// How many turns each connection has had so far.
    fn snapshot(&self) -> Vec<usize> {
        let log = self.log.lock().unwrap();
        log.iter().map(|c| c.lock().unwrap().len()).collect()
    }

    /// The round trips since `snapshot`, on all connections. A lone Terminate (`X`) is no
    /// round trip (nothing answers it) and may arrive late from a connection closed earlier.
    fn turns_since(&self, snapshot: &[usize]) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .enumerate()
            .map(|(i, c)| {
                let turns = c.lock().unwrap();
                let from = snapshot.get(i).copied().unwrap_or(0).min(turns.len());
                turns[from..].iter().filter(|t| t.as_str() != "X").count()
            })
            .sum()
    }

    fn connections(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// The turns of the connections opened since `since` connections, e.g. `[ssl] [startup] | Q`.
    fn describe(&self, since: usize) -> String {
        let log = self.log.lock().unwrap();
        log[since..]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("connection {}: {}", i + 1, c.lock().unwrap().join(" | ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

async fn relay(client: TcpStream, server: TcpStream, log: ConnectionLog) {
    client.set_nodelay(true).ok();
    server.set_nodelay(true).ok();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // True while the client has the floor (it spoke last).
    let client_spoke_last = Arc::new(AtomicBool::new(false));
    let flag = client_spoke_last.clone();
    let upward = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut messages = MessageNames::default();
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let names = messages.feed(&buf[..n]);
            {
                let mut log = log.lock().unwrap();
                if !flag.swap(true, Ordering::SeqCst) {
                    log.push(names);
                } else if let Some(last) = log.last_mut() {
                    last.push(' ');
                    last.push_str(&names);
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downward = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            client_spoke_last.store(false, Ordering::SeqCst);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upward, downward);
}

/// Names the frontend messages in a byte stream: the untyped start-up packets (`[ssl]`,
/// `[startup]`), then typed ones by their letter (Q query, P parse, B bind, D describe,
/// E execute, S sync, X terminate). Assumes TLS was declined, as the embedded server does.
#[derive(Default)]
struct MessageNames {
    pending: Vec<u8>,
    started: bool,
}

impl MessageNames {
    fn feed(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut names = Vec::new();
        loop {
            let header = if self.started { 5 } else { 4 };
            if self.pending.len() < header {
                break;
            }
            let at = header - 4;
            let len = u32::from_be_bytes(self.pending[at..at + 4].try_into().unwrap()) as usize;
            let total = at + len;
            if self.pending.len() < total {
                break;
            }
            if self.started {
                names.push((self.pending[0] as char).to_string());
            } else {
                let code = u32::from_be_bytes(self.pending[4..8].try_into().unwrap());
                // 80877103: SSLRequest, 80877104: GSSENCRequest; anything else starts the session.
                if code == 80_877_103 || code == 80_877_104 {
                    names.push("[ssl]".into());
                } else {
                    names.push("[startup]".into());
                    self.started = true;
                }
            }
            self.pending.drain(..total);
        }
        names.join("")
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The whole history on a fresh database

async fn whole_history(runs: usize) {
    let folder = Path::new(MIGRATIONS_DIR);
    let script = concatenated_sql();
    let psql = drizzle::pg_program("psql");

    let mut app_db_run = Vec::new();
    let mut app_db_connect_run = Vec::new();
    let mut drizzle_inside = Vec::new();
    let mut drizzle_process = Vec::new();
    let mut psql_process = Vec::new();
    let mut expected_tables = None;

    // Round-robin, so that a noisy moment on the shared machine spreads over all three.
    for _ in 0..runs {
        let db = TestDatabase::empty().await.expect("test database");
        let started = Instant::now();
        let mut conn = PgConnection::connect(&db.url).await.expect("connect");
        let connected = Instant::now();
        let report = Migrator::new().run(&mut conn).await.expect("migrate");
        let done = Instant::now();
        assert_eq!(report.applied.len(), MIGRATIONS.len());
        app_db_run.push(done - connected);
        app_db_connect_run.push(done - started);
        let tables = table_count(&mut conn).await;
        expected_tables.get_or_insert(tables);
        conn.close().await.ok();

        let db = TestDatabase::empty().await.expect("test database");
        let started = Instant::now();
        let inside = drizzle::drizzle_migrate(folder, &db.url, None);
        drizzle_process.push(started.elapsed());
        drizzle_inside.push(inside);
        let mut conn = PgConnection::connect(&db.url).await.expect("connect");
        assert_eq!(Some(table_count(&mut conn).await), expected_tables);
        conn.close().await.ok();

        let db = TestDatabase::empty().await.expect("test database");
        let started = Instant::now();
        let out = Command::new(&psql)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
            .arg(&script)
            .arg(format!("--dbname={}", db.url))
            .output()
            .expect("run psql");
        psql_process.push(started.elapsed());
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut conn = PgConnection::connect(&db.url).await.expect("connect");
        // psql keeps no bookkeeping: one table fewer.
        assert_eq!(
            Some(table_count(&mut conn).await + 1),
            expected_tables,
            "psql created the same tables"
        );
        conn.close().await.ok();
    }
    std::fs::remove_file(&script).ok();

    println!(
        "\n## 2. The whole history ({} migrations) on a fresh database, median of {runs} runs\n",
        MIGRATIONS.len()
    );
    println!("| what | median | min | max |");
    println!("|---|---:|---:|---:|");
    for (what, samples) in [
        (
            "app-db `Migrator::run` (connection already open)",
            &mut app_db_run,
        ),
        ("app-db connect + `Migrator::run`", &mut app_db_connect_run),
        (
            "drizzle-orm `migrate()` inside node (no start-up, connection open)",
            &mut drizzle_inside,
        ),
        (
            "drizzle-orm, whole `node migrate.mjs` process",
            &mut drizzle_process,
        ),
        (
            "`psql -X -v ON_ERROR_STOP=1 -1 -f all.sql`, whole process",
            &mut psql_process,
        ),
    ] {
        let m = median(samples);
        println!(
            "| {what} | {} | {} | {} |",
            ms(m),
            ms(samples[0]),
            ms(samples[samples.len() - 1])
        );
    }
}

/// The project's files in journal order, joined with newlines (a file may end without one,
/// and `--> statement-breakpoint` is an SQL comment to psql).
fn concatenated_sql() -> std::path::PathBuf {
    let text: String = MIGRATIONS.iter().map(|m| format!("{}\n", m.sql)).collect();
    let path =
        std::env::temp_dir().join(format!("app-db-bench-migrator-{}.sql", std::process::id()));
    std::fs::write(&path, text).expect("write the concatenated SQL");
    path
}

async fn table_count(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
    )
    .fetch_one(conn)
    .await
    .expect("count tables")
}
