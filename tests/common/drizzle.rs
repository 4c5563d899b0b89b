//! Driving the real drizzle-orm migrator (`tests/drizzle-interop/`) and the server's own
//! client programs, for the interoperability tests and the migrator benchmark; installing the
//! pinned node packages that `drizzle_kit.rs` also uses.
//!
//! Included with `#[path]` by the users that need it (in this package and in the migration
//! package's tests), so that the other test binaries do not compile it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use app_db::Migration;
use app_db::embedded::{PgBinaries, ServerAccount};
use app_db::journal::{load_dir, sha256_hex};

/// The repository root: this package's directory, or its parent for the migration package.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/drizzle-interop/package.json").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The node project pinning drizzle-orm, drizzle-kit and pg.
pub fn project_dir() -> PathBuf {
    repo_root().join("tests/drizzle-interop")
}

/// The fixture folder written by the real drizzle-kit.
pub fn drizzle_kit_fixture_dir() -> PathBuf {
    repo_root().join("tests/fixtures/journal/drizzle-kit")
}

/// A folder loaded with app-db's own resolver, leaked to the `'static` lifetime that
/// `Migrator::with_migrations` takes (compiled migrations are `'static`).
pub fn load_static(dir: &Path) -> &'static [Migration] {
    let loaded = load_dir(dir).unwrap_or_else(|e| panic!("load {}: {e}", dir.display()));
    let migrations: Vec<Migration> = loaded.migrations.into_iter().map(Migration::leak).collect();
    Box::leak(migrations.into_boxed_slice())
}

/// Makes sure `node_modules` matches the committed lockfile, running `npm ci` at most once per
/// process and never in two processes at once; panics (never skips) without node and npm.
pub fn ensure_node_project() -> &'static Path {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match READY.get_or_init(|| install_in(project_dir(), "drizzle-interop-npm.lock")) {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

const INSTALL_NODE: &str = "the drizzle-orm and drizzle-kit tests need Node.js 20 (or newer) and npm on PATH: \
     install them (Debian 12's own nodejs package is 18, too old: use nodejs.org's builds or \
     packages) and run the tests again";

/// Runs `npm ci` in the node project `dir` unless its `node_modules` already matches the
/// lockfile, serialised across processes on `lock_name` (a file in the test target's temporary
/// folder).
pub fn install_in(dir: PathBuf, lock_name: &str) -> Result<PathBuf, String> {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run `node` ({e}); {INSTALL_NODE}"))?;
    let version = String::from_utf8_lossy(&node.stdout).trim().to_string();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if !node.status.success() || major < 20 {
        return Err(format!("`node --version` said {version:?}; {INSTALL_NODE}"));
    }
    Command::new("npm")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run `npm` ({e}); {INSTALL_NODE}"))?;

    // Another process (a second test binary, the benchmark) may be installing right now:
    // serialise on an exclusive lock; the kernel releases it if that process dies.
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(lock_name);
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("create {}: {e}", lock_path.display()))?;
    flock_exclusive(&lock).map_err(|e| format!("lock {}: {e}", lock_path.display()))?;

    let lockfile = std::fs::read(dir.join("package-lock.json"))
        .map_err(|e| format!("read {}/package-lock.json: {e}", dir.display()))?;
    let wanted = sha256_hex(&lockfile);
    // npm ci deletes node_modules first, so a stamp inside it that names this lockfile proves
    // the last install of exactly this lockfile completed.
    let stamp = dir.join("node_modules/.app-db-lockfile-sha256");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(dir);
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("cannot run `npm ci` ({e}); {INSTALL_NODE}"))?;
    if !out.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(&stamp, &wanted).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    Ok(dir)
}

fn flock_exclusive(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is valid for as long as `file`, which the caller keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `node migrate.mjs migrate <folder> [--first K]` against `url`, not yet started.
pub fn drizzle_migrate_command(folder: &Path, url: &str, first: Option<usize>) -> Command {
    let dir = ensure_node_project();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("migrate.mjs"))
        .arg("migrate")
        .arg(folder)
        .env("DATABASE_URL", url);
    if let Some(k) = first {
        cmd.args(["--first", &k.to_string()]);
    }
    cmd
}

/// What a finished `migrate.mjs migrate` reported: the time spent inside drizzle's `migrate()`.
pub fn drizzle_migrate_output(output: Output) -> Duration {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "drizzle-orm's migrate() failed ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("migrate.mjs printed {stdout:?}: {e}"));
    let ms = line["elapsed_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("migrate.mjs printed {stdout:?}"));
    Duration::from_secs_f64(ms / 1000.0)
}

/// Runs drizzle-orm's `migrate()` on `folder` (or its first `first` entries) against `url`.
pub fn drizzle_migrate(folder: &Path, url: &str, first: Option<usize>) -> Duration {
    let output = drizzle_migrate_command(folder, url, first)
        .output()
        .expect("run node");
    drizzle_migrate_output(output)
}

/// One entry of drizzle-orm's `readMigrationFiles()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrizzleMigration {
    pub pieces: Vec<String>,
    pub breakpoints: bool,
    pub when: i64,
    pub hash: String,
}

/// What drizzle-orm itself reads from `folder`: pieces, when and hash per journal entry.
pub fn drizzle_read(folder: &Path) -> Vec<DrizzleMigration> {
    let dir = ensure_node_project();
    let out = Command::new("node")
        .arg(dir.join("migrate.mjs"))
        .arg("read")
        .arg(folder)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "readMigrationFiles failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("JSON");
    entries
        .iter()
        .map(|e| DrizzleMigration {
            pieces: e["sql"]
                .as_array()
                .expect("sql")
                .iter()
                .map(|p| p.as_str().expect("piece").to_string())
                .collect(),
            breakpoints: e["bps"].as_bool().expect("bps"),
            when: e["folderMillis"].as_i64().expect("folderMillis"),
            hash: e["hash"].as_str().expect("hash").to_string(),
        })
        .collect()
}

/// The embedded server's own client programs (16.x): a distribution's older `pg_dump` refuses
/// to dump a newer server.
pub fn pg_program(name: &str) -> PathBuf {
    static BINARIES: OnceLock<PgBinaries> = OnceLock::new();
    BINARIES
        .get_or_init(|| {
            let account = ServerAccount::detect().expect("detect the server account");
            PgBinaries::resolve(&account).expect("resolve the PostgreSQL binaries")
        })
        .program(name)
}

/// `pg_dump --schema-only` of the database at `url`, normalised only where pg_dump itself
/// varies between two dumps of identical schemas.
pub fn schema_dump(url: &str) -> String {
    let out = Command::new(pg_program("pg_dump"))
        .args(["--schema-only", "--no-password"])
        .arg(format!("--dbname={url}"))
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    normalise_dump(&String::from_utf8(out.stdout).expect("UTF-8 dump"))
}

/// pg_dump 16.10 and later open and close a dump with `\restrict KEY` / `\unrestrict KEY`, a
/// random key per run; nothing else in a schema-only dump without `--create` differs between
/// databases.
fn normalise_dump(dump: &str) -> String {
    dump.lines()
        .map(|line| {
            if line.starts_with("\\restrict ") {
                "\\restrict <key>"
            } else if line.starts_with("\\unrestrict ") {
                "\\unrestrict <key>"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A new, empty directory under the test target's temporary directory, unique to this
/// process and call.
pub fn scratch_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{label}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// A bookkeeping row as drizzle-orm writes it: id, hash, created_at.
pub type BookkeepingRow = (i32, String, Option<i64>);

/// What a migrator leaves in a database: the bookkeeping rows and the schema dump. Two
/// migrators agree when their end states are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndState {
    pub rows: Vec<BookkeepingRow>,
    pub dump: String,
}

/// The end state of the database at `url`.
pub async fn end_state(url: &str) -> EndState {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to read the end state");
    let rows =
        sqlx::query_as("select id, hash, created_at from drizzle.__drizzle_migrations order by id")
            .fetch_all(&mut conn)
            .await
            .expect("read the bookkeeping rows");
    EndState {
        rows,
        dump: schema_dump(url),
    }
}

/// Where two schema dumps first differ, with a few lines of each side from there.
pub fn first_difference(expected: &str, got: &str) -> String {
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    let at = e
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(e.len().min(g.len()));
    let around = |lines: &[&str]| {
        lines
            .iter()
            .skip(at)
            .take(8)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at dump line {}:\n--- expected\n{}\n--- got\n{}",
        at + 1,
        around(&e),
        around(&g)
    )
}
