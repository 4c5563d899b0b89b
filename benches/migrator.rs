//! Migrator benchmarks: the no-op boot and the whole history on a fresh database, in process and
//! as whole processes against drizzle-orm and `psql -1`.
//!
//! ```text
//! cargo build --release -p migration && cargo bench --bench migrator
//! BENCH_RUNS=10 BENCH_ITERATIONS=200 cargo bench --bench migrator     # the defaults
//! ```
//!
//! `benches/run-all.sh` runs it and turns its `bench-result` lines into docs/bench-results.md.
//! Needs what the tests need (the embedded PostgreSQL, or `TEST_DATABASE_URL`), Node.js 20+ with
//! npm for drizzle-orm (`tests/drizzle-interop/`, `npm ci` on first use), and the release build
//! of the command line (`APP_DB_CLI`, else `target/release/migration`): the CLI is timed as
//! users run it. Everything runs against one server, each measurement on its own database.
//!
//! 1. In process, on an up-to-date database: `Migrator::run` on an open connection (the fast
//!    path), `init::connect`, `init::open` (connect + migrate); `BENCH_ITERATIONS` each.
//! 2. Whole processes, no-op: `migration -u URL up` vs node + drizzle-orm `migrate()`, on one
//!    up-to-date database, alternating, `BENCH_RUNS` each: wall time, and peak memory (GNU
//!    time) in runs of their own.
//! 3. Whole processes, the whole history on a fresh database: `migration up` vs drizzle-orm vs
//!    `psql -X -1 -v ON_ERROR_STOP=1 -f` of the files concatenated in journal order (and, to
//!    show what the bookkeeping costs, psql running the same plus drizzle's schema, table and
//!    rows), order rotated every run, each on a fresh empty database created beforehand; every
//!    result checked.
//! 4. Round trips: each case once more through a TCP proxy that counts the client's turns.
//! 5. What bounds a process: start-up and exit of each program doing nothing.
//!
//! Every figure is printed as a `bench-result` line (median, min, max of its samples).
//! Not a test: figures depend on the machine.

#[path = "../tests/common/drizzle.rs"]
mod drizzle;
#[path = "support/measure.rs"]
mod measure;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use app_db::migrate::Bookkeeping;
use app_db::migrations::MIGRATIONS_DIR;
use app_db::testing::TestDatabase;
use app_db::{Config, MIGRATIONS, Migrator};
use measure::{
    ProcessRun, env_count, load_average, millis, peak_memory_mib, ratios, report, run_process,
};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The programs compared, and what they are given.
struct Tools {
    cli: PathBuf,
    psql: PathBuf,
    folder: PathBuf,
    /// The files concatenated in journal order.
    script: PathBuf,
    /// The same with drizzle's bookkeeping around them: what app-db and drizzle-orm do.
    script_bookkeeping: PathBuf,
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
            let tools = Tools {
                cli: measure::release_cli(),
                psql: drizzle::pg_program("psql"),
                folder: PathBuf::from(MIGRATIONS_DIR),
                script: concatenated_sql(false),
                script_bookkeeping: concatenated_sql(true),
            };
            println!("load average before: {}", load_average());
            println!("command line: {}", tools.cli.display());
            in_process_noop(iterations).await;
            process_noop(&tools, runs).await;
            process_fresh(&tools, runs).await;
            round_trips(&tools).await;
            process_floor(&tools, runs);
            std::fs::remove_file(&tools.script).ok();
            std::fs::remove_file(&tools.script_bookkeeping).ok();
            println!("\nload average after: {}", load_average());
        });
}

// ---------------------------------------------------------------------------------------------
// 1. In process, on an up-to-date database

async fn in_process_noop(iterations: usize) {
    let db = TestDatabase::empty().await.expect("test database");
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let report_ = Migrator::new().run(&mut conn).await.expect("migrate");
    assert_eq!(report_.applied.len(), MIGRATIONS.len());
    let config = Config::default().database_url(db.url.clone());

    let warm_up = iterations / 10;
    let mut fast_path = Vec::with_capacity(iterations);
    for i in 0..warm_up + iterations {
        let started = Instant::now();
        let run = Migrator::new().run(&mut conn).await.expect("migrate");
        let elapsed = started.elapsed();
        assert!(run.applied.is_empty() && !run.locked);
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
        let (pool, run) = app_db::init::open(&config).await.expect("open");
        let elapsed = started.elapsed();
        let run = run.migrations.expect("migrate is on by default");
        assert!(run.applied.is_empty() && !run.locked);
        pool.close().await.expect("close");
        if i >= warm_up {
            open.push(elapsed);
        }
    }
    conn.close().await.ok();

    println!(
        "\n## 1. In process, no-op boot ({} migrations applied), {iterations} iterations\n",
        MIGRATIONS.len()
    );
    report(
        "inproc.noop.run",
        "`Migrator::run` on an open connection (the fast path)",
        &millis(&fast_path),
        "ms",
    );
    report(
        "inproc.noop.connect",
        "`init::connect` alone (pool, default settings)",
        &millis(&connect_only),
        "ms",
    );
    report(
        "inproc.noop.open",
        "`init::open` (connect + migrate)",
        &millis(&open),
        "ms",
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Whole processes, no-op

fn app_db_up(tools: &Tools, url: &str) -> Command {
    let mut cmd = Command::new(&tools.cli);
    cmd.args(["-u", url, "up"]).env_remove("DATABASE_URL");
    cmd
}

fn drizzle_up(tools: &Tools, url: &str) -> Command {
    drizzle::drizzle_migrate_command(&tools.folder, url, None)
}

fn psql_all(tools: &Tools, url: &str) -> Command {
    psql_file(tools, &tools.script, url)
}

fn psql_file(tools: &Tools, script: &Path, url: &str) -> Command {
    let mut cmd = Command::new(&tools.psql);
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
        .arg(script)
        .arg(format!("--dbname={url}"));
    cmd
}

/// Wall times (ms) of the runs of one side.
#[derive(Default)]
struct Side {
    ms: Vec<f64>,
}

impl Side {
    fn push(&mut self, run: &ProcessRun) {
        self.ms.push(run.wall.as_secs_f64() * 1e3);
    }
}

async fn process_noop(tools: &Tools, runs: usize) {
    let db = TestDatabase::empty().await.expect("test database");
    let first = run_process(&mut app_db_up(tools, &db.url)).expect_success("migration up");
    assert!(first.stdout.contains("applied"), "{}", first.stdout);
    let rows = bookkeeping_rows(&db.url).await;
    // One untimed run of each first, so that both start from a warm page cache.
    run_process(&mut drizzle_up(tools, &db.url)).expect_success("drizzle-orm migrate()");

    let mut app_db = Side::default();
    let mut drizzle = Side::default();
    for i in 0..runs {
        // Alternate who goes first, so a noisy moment does not always hit the same side.
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                let run =
                    run_process(&mut app_db_up(tools, &db.url)).expect_success("migration up");
                assert!(run.stdout.contains("nothing to apply"), "{}", run.stdout);
                app_db.push(&run);
            } else {
                let run = run_process(&mut drizzle_up(tools, &db.url))
                    .expect_success("drizzle-orm migrate()");
                drizzle.push(&run);
            }
        }
    }
    // Peak memory in runs of their own (under GNU time), alternating too.
    let mut app_db_mib = Vec::new();
    let mut drizzle_mib = Vec::new();
    for i in 0..runs {
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                app_db_mib.push(peak_memory_mib(&app_db_up(tools, &db.url)));
            } else {
                drizzle_mib.push(peak_memory_mib(&drizzle_up(tools, &db.url)));
            }
        }
    }
    assert_eq!(bookkeeping_rows(&db.url).await, rows, "a no-op wrote rows");

    println!(
        "\n## 2. Whole processes, no-op on an up-to-date database, {runs} runs each, alternating\n"
    );
    report(
        "noop.app-db",
        "`migration up`, release build",
        &app_db.ms,
        "ms",
    );
    report(
        "noop.drizzle",
        "node + drizzle-orm `migrate()`",
        &drizzle.ms,
        "ms",
    );
    report(
        "noop.ratio",
        "`migration up` / drizzle-orm, paired runs",
        &ratios(&app_db.ms, &drizzle.ms),
        "x",
    );
    report(
        "noop.app-db.rss",
        "`migration up` peak memory",
        &app_db_mib,
        "MiB",
    );
    report(
        "noop.drizzle.rss",
        "node + drizzle-orm peak memory",
        &drizzle_mib,
        "MiB",
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Whole processes, the whole history on a fresh database

async fn process_fresh(tools: &Tools, runs: usize) {
    let mut app_db = Side::default();
    let mut drizzle = Side::default();
    let mut psql = Side::default();
    let mut psql_bookkeeping = Side::default();
    let mut drizzle_inside = Vec::new();
    let mut in_process = Vec::new();
    let mut expected_tables = None;

    for i in 0..runs {
        // Fresh databases first, so that creating them is outside every timing.
        let mut dbs = Vec::new();
        for _ in 0..5 {
            dbs.push(TestDatabase::empty().await.expect("test database"));
        }
        // Rotate the order every run.
        for k in 0..5 {
            let side = (i + k) % 5;
            let url = &dbs[side].url;
            match side {
                0 => {
                    let run =
                        run_process(&mut app_db_up(tools, url)).expect_success("migration up");
                    app_db.push(&run);
                    let tables = table_count(url).await;
                    expected_tables.get_or_insert(tables);
                    assert_eq!(Some(tables), expected_tables);
                }
                1 => {
                    let run = run_process(&mut drizzle_up(tools, url))
                        .expect_success("drizzle-orm migrate()");
                    drizzle.push(&run);
                    drizzle_inside.push(drizzle::drizzle_migrate_output(std::process::Output {
                        status: run.status,
                        stdout: run.stdout.into_bytes(),
                        stderr: run.stderr.into_bytes(),
                    }));
                    assert_tables(url, 0, &mut expected_tables).await;
                }
                2 => {
                    let run = run_process(&mut psql_all(tools, url)).expect_success("psql -1 -f");
                    psql.push(&run);
                    // psql keeps no bookkeeping: one table fewer.
                    assert_tables(url, 1, &mut expected_tables).await;
                }
                3 => {
                    let run = run_process(&mut psql_file(tools, &tools.script_bookkeeping, url))
                        .expect_success("psql -1 -f with bookkeeping");
                    psql_bookkeeping.push(&run);
                    assert_tables(url, 0, &mut expected_tables).await;
                    assert_eq!(bookkeeping_rows(url).await, MIGRATIONS.len() as i64);
                }
                _ => {
                    let started = Instant::now();
                    let mut conn = PgConnection::connect(url).await.expect("connect");
                    let run = Migrator::new().run(&mut conn).await.expect("migrate");
                    in_process.push(started.elapsed());
                    assert_eq!(run.applied.len(), MIGRATIONS.len());
                    conn.close().await.ok();
                    assert_tables(url, 0, &mut expected_tables).await;
                }
            }
        }
    }

    println!(
        "\n## 3. Whole processes, {} migrations on a fresh database, {runs} runs each, order rotated\n",
        MIGRATIONS.len()
    );
    report(
        "fresh.app-db",
        "`migration up`, release build",
        &app_db.ms,
        "ms",
    );
    report(
        "fresh.psql",
        "`psql -X -1 -v ON_ERROR_STOP=1 -f all.sql`",
        &psql.ms,
        "ms",
    );
    report(
        "fresh.drizzle",
        "node + drizzle-orm `migrate()`",
        &drizzle.ms,
        "ms",
    );
    report(
        "fresh.ratio.psql",
        "`migration up` / `psql -1`, paired runs",
        &ratios(&app_db.ms, &psql.ms),
        "x",
    );
    report(
        "fresh.ratio.drizzle",
        "`migration up` / drizzle-orm, paired runs",
        &ratios(&app_db.ms, &drizzle.ms),
        "x",
    );
    report(
        "fresh.psql.bookkeeping",
        "`psql -1 -f` of the same files plus drizzle's bookkeeping (schema, table, rows)",
        &psql_bookkeeping.ms,
        "ms",
    );
    report(
        "fresh.inproc.app-db",
        "in process: connect + `Migrator::run` (no process start)",
        &millis(&in_process),
        "ms",
    );
    report(
        "fresh.inproc.drizzle",
        "in node: drizzle-orm `migrate()` alone (no start-up, connection open)",
        &millis(&drizzle_inside),
        "ms",
    );
}

async fn assert_tables(url: &str, fewer: i64, expected: &mut Option<i64>) {
    let tables = table_count(url).await + fewer;
    assert_eq!(
        *expected.get_or_insert(tables),
        tables,
        "the same tables created"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Round trips

async fn round_trips(tools: &Tools) {
    println!("\n## 4. Round trips (client turns seen by a counting proxy; `|` separates them)\n");
    let migrated = TestDatabase::empty().await.expect("test database");
    run_process(&mut app_db_up(tools, &migrated.url)).expect_success("migration up");
    let proxy = CountingProxy::start(&migrated.url).await;
    let config = Config::default().database_url(proxy.url.clone());

    let before = proxy.snapshot();
    let mut conn = PgConnection::connect(&proxy.url)
        .await
        .expect("connect via proxy");
    let turns_connect = proxy.turns_since(&before);
    let before_run = proxy.snapshot();
    Migrator::new().run(&mut conn).await.expect("migrate");
    let run_turns = proxy.turns_since(&before_run);
    let run_log = proxy.describe(before.len());
    conn.close().await.ok();
    single(
        "trips.inproc.run",
        "`Migrator::run` fast path (connection open)",
        run_turns,
    );
    single("trips.inproc.connect1", "one raw connection", turns_connect);
    println!("- fast path, whole connection: {run_log}");

    let before = proxy.snapshot();
    let pool = app_db::init::connect(&proxy.url, &config)
        .await
        .expect("connect");
    let connect_turns = proxy.turns_since(&before);
    let connect_log = proxy.describe(before.len());
    pool.close().await.expect("close");
    single(
        "trips.inproc.connect",
        "`init::connect` (pool)",
        connect_turns,
    );
    println!("- `init::connect`: {connect_log}");

    let before = proxy.snapshot();
    let (pool, _) = app_db::init::open(&config).await.expect("open via proxy");
    // Counted at return: the pool may go on opening idle connections in the background.
    let open_turns = proxy.turns_since(&before);
    let open_log = proxy.describe(before.len());
    pool.close().await.expect("close");
    single(
        "trips.inproc.open",
        "`init::open` (connect + migrate)",
        open_turns,
    );
    println!("- `init::open`: {open_log}");

    let before = proxy.snapshot();
    run_process(&mut app_db_up(tools, &proxy.url)).expect_success("migration up via proxy");
    single(
        "trips.noop.app-db",
        "`migration up`, no-op, whole process",
        proxy.turns_since(&before),
    );
    println!("- `migration up`, no-op: {}", proxy.describe(before.len()));
    let before = proxy.snapshot();
    run_process(&mut drizzle_up(tools, &proxy.url)).expect_success("drizzle via proxy");
    single(
        "trips.noop.drizzle",
        "drizzle-orm, no-op, whole process",
        proxy.turns_since(&before),
    );
    println!("- drizzle-orm, no-op: {}", proxy.describe(before.len()));

    for (id, what, side) in [
        ("trips.fresh.app-db", "`migration up`, fresh database", 0),
        ("trips.fresh.psql", "`psql -1 -f`, fresh database", 1),
        ("trips.fresh.drizzle", "drizzle-orm, fresh database", 2),
    ] {
        let db = TestDatabase::empty().await.expect("test database");
        let proxy = CountingProxy::start(&db.url).await;
        let mut cmd = match side {
            0 => app_db_up(tools, &proxy.url),
            1 => psql_all(tools, &proxy.url),
            _ => drizzle_up(tools, &proxy.url),
        };
        run_process(&mut cmd).expect_success(what);
        single(id, what, proxy.turns_since(&[]));
    }
}

/// A figure measured once because it does not vary (a count).
fn single(id: &str, what: &str, value: usize) {
    report(id, what, &[value as f64], "round trips");
}

// ---------------------------------------------------------------------------------------------
// 5. What bounds a process: start-up and exit doing nothing

fn process_floor(tools: &Tools, runs: usize) {
    let mut cli = Side::default();
    let mut node = Side::default();
    let mut psql = Side::default();
    let mut cli_mib = Vec::new();
    let mut node_mib = Vec::new();
    let mut version = Command::new(&tools.cli);
    version.arg("--version");
    // node loading drizzle-orm and pg, as migrate.mjs does, and nothing else.
    let mut import = Command::new("node");
    import
        .args([
            "--input-type=module",
            "-e",
            "await import('drizzle-orm/node-postgres/migrator'); await import('pg');",
        ])
        .current_dir(drizzle::project_dir());
    let mut psql_version = Command::new(&tools.psql);
    psql_version.arg("--version");
    for i in 0..runs {
        for k in 0..3 {
            match (i + k) % 3 {
                0 => cli.push(&run_process(&mut version).expect_success("migration --version")),
                1 => node.push(&run_process(&mut import).expect_success("node import")),
                _ => psql.push(&run_process(&mut psql_version).expect_success("psql --version")),
            }
        }
        cli_mib.push(peak_memory_mib(&version));
        node_mib.push(peak_memory_mib(&import));
    }
    println!("\n## 5. Process floor: start and exit doing nothing, {runs} runs each\n");
    report("floor.app-db", "`migration --version`", &cli.ms, "ms");
    report(
        "floor.app-db.rss",
        "`migration --version` peak memory",
        &cli_mib,
        "MiB",
    );
    report(
        "floor.node",
        "node importing drizzle-orm and pg",
        &node.ms,
        "ms",
    );
    report(
        "floor.node.rss",
        "node importing drizzle-orm and pg, peak memory",
        &node_mib,
        "MiB",
    );
    report("floor.psql", "`psql --version`", &psql.ms, "ms");
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The project's files in journal order, joined with newlines (a file may end without one,
/// and `--> statement-breakpoint` is an SQL comment to psql); with `bookkeeping`, preceded by
/// drizzle's schema and table and followed by the rows app-db and drizzle-orm insert.
fn concatenated_sql(bookkeeping: bool) -> PathBuf {
    let table = Bookkeeping::default();
    let mut text = String::new();
    if bookkeeping {
        text.push_str(&format!("{};\n", table.create_sql()));
    }
    for m in MIGRATIONS {
        text.push_str(m.sql);
        text.push('\n');
    }
    if bookkeeping {
        let rows: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("('{}', {})", m.hash, m.when))
            .collect();
        text.push_str(&format!(
            "insert into {} (\"hash\", \"created_at\") values {};\n",
            table.qualified(),
            rows.join(", ")
        ));
    }
    let path = std::env::temp_dir().join(format!(
        "app-db-bench-migrator-{}{}.sql",
        std::process::id(),
        if bookkeeping { "-bookkeeping" } else { "" }
    ));
    std::fs::write(&path, text).expect("write the concatenated SQL");
    path
}

async fn table_count(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let n = sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count tables");
    conn.close().await.ok();
    n
}

async fn bookkeeping_rows(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let n = sqlx::query_scalar(r#"select count(*) from "drizzle"."__drizzle_migrations""#)
        .fetch_one(&mut conn)
        .await
        .expect("count rows");
    conn.close().await.ok();
    n
}

// ---------------------------------------------------------------------------------------------
// The counting proxy

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
