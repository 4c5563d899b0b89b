//! Interoperability with the real drizzle-orm 0.45 migrator (node, `tests/drizzle-interop/`).
//!
//! A database must be able to move between the TypeScript app (drizzle-orm's `migrate()`) and
//! the Rust app (app-db's `Migrator`) at any point of the history, in either direction. For the
//! project's own folder and for a folder written by the real drizzle-kit, every mix of the two
//! migrators must end with the same `__drizzle_migrations` rows (id, hash, created_at) and the
//! same `pg_dump --schema-only` as drizzle-orm applying everything alone.
//!
//! Needs Node.js 20+ and npm: the first test installs the pinned packages with `npm ci`.

mod common;
#[path = "common/drizzle.rs"]
mod drizzle;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use app_db::migrations::MIGRATIONS_DIR;
use app_db::testing::TestDatabase;
use app_db::{MIGRATIONS, Migration, Migrator};
use common::connect;
use tokio::sync::OnceCell;

/// A migration folder, as app-db embeds it and as drizzle-orm reads it from disk.
#[derive(Clone, Copy)]
struct Folder {
    name: &'static str,
    dir: &'static Path,
    migrations: &'static [Migration],
}

fn real() -> Folder {
    Folder {
        name: "the project's folder",
        dir: Path::new(MIGRATIONS_DIR),
        migrations: MIGRATIONS,
    }
}

fn drizzle_kit() -> Folder {
    let dir: &'static PathBuf = Box::leak(Box::new(drizzle::drizzle_kit_fixture_dir()));
    Folder {
        name: "the drizzle-kit fixture",
        dir,
        migrations: drizzle::load_static(dir),
    }
}

use drizzle::{EndState, end_state, first_difference};

/// drizzle-orm applying the whole folder alone: what every mix must reproduce. Computed once per
/// folder and process.
async fn all_drizzle(folder: Folder) -> &'static EndState {
    static REAL: OnceCell<EndState> = OnceCell::const_new();
    static KIT: OnceCell<EndState> = OnceCell::const_new();
    let cell = if folder.dir == Path::new(MIGRATIONS_DIR) {
        &REAL
    } else {
        &KIT
    };
    cell.get_or_init(|| async {
        let db = TestDatabase::empty().await.unwrap();
        drizzle::drizzle_migrate(folder.dir, &db.url, None);
        let state = end_state(&db.url).await;
        assert_eq!(
            state.rows.len(),
            folder.migrations.len(),
            "drizzle-orm applied {} migration(s) of {}",
            state.rows.len(),
            folder.name
        );
        // Guards against comparing two empty or failed dumps.
        assert!(
            state
                .dump
                .contains("CREATE TABLE drizzle.__drizzle_migrations"),
            "unexpected dump of {}:\n{}",
            folder.name,
            state.dump
        );
        state
    })
    .await
}

fn tags(folder: Folder, range: std::ops::Range<usize>) -> Vec<&'static str> {
    folder.migrations[range].iter().map(|m| m.tag).collect()
}

/// Asserts `db` ended exactly like the all-drizzle run, then that app-db, run once more, finds
/// nothing to do and nothing to complain about in the rows it now shares with drizzle-orm.
async fn assert_like_all_drizzle(folder: Folder, db: &TestDatabase, how: &str) {
    let expected = all_drizzle(folder).await;
    let got = end_state(&db.url).await;
    assert_eq!(
        got.rows, expected.rows,
        "{}: {how}: __drizzle_migrations differs from drizzle-orm applying everything",
        folder.name
    );
    assert!(
        got.dump == expected.dump,
        "{}: {how}: the schema differs from drizzle-orm applying everything\n{}",
        folder.name,
        first_difference(&expected.dump, &got.dump)
    );
    let mut conn = connect(&db.url).await;
    let report = Migrator::with_migrations(folder.migrations)
        .run(&mut conn)
        .await
        .unwrap();
    assert!(report.applied.is_empty(), "{how}: {:?}", report.applied);
    assert!(report.warnings.is_empty(), "{how}: {:?}", report.warnings);
    assert!(
        !report.locked,
        "{how}: an up-to-date database takes the fast path"
    );
}

/// Scenario 1: drizzle-orm applies everything; app-db then has nothing to do.
async fn drizzle_all_then_app_db(folder: Folder) {
    let db = TestDatabase::empty().await.unwrap();
    drizzle::drizzle_migrate(folder.dir, &db.url, None);
    assert_like_all_drizzle(folder, &db, "drizzle-orm applied everything").await;
}

/// Scenario 2: drizzle-orm applies the first `k` (TypeScript app on an older release), app-db
/// the rest.
async fn drizzle_first_then_app_db(folder: Folder, k: usize) {
    let db = TestDatabase::empty().await.unwrap();
    drizzle::drizzle_migrate(folder.dir, &db.url, Some(k));
    let mut conn = connect(&db.url).await;
    let report = Migrator::with_migrations(folder.migrations)
        .run(&mut conn)
        .await
        .unwrap();
    let applied: Vec<&str> = report.applied.iter().map(|a| a.tag).collect();
    assert_eq!(applied, tags(folder, k..folder.migrations.len()));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let how = format!("drizzle-orm applied the first {k}, app-db the rest");
    assert_like_all_drizzle(folder, &db, &how).await;
}

/// Scenario 3: app-db applies the first `k`, drizzle-orm the rest (a roll-back to the
/// TypeScript app).
async fn app_db_first_then_drizzle(folder: Folder, k: usize) {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let report = Migrator::with_migrations(folder.migrations)
        .run_with(&mut conn, Some(k), &mut |_| {})
        .await
        .unwrap();
    let applied: Vec<&str> = report.applied.iter().map(|a| a.tag).collect();
    assert_eq!(applied, tags(folder, 0..k));
    drizzle::drizzle_migrate(folder.dir, &db.url, None);
    let how = format!("app-db applied the first {k}, drizzle-orm the rest");
    assert_like_all_drizzle(folder, &db, &how).await;
}

/// app-db's hash, `when` and statement pieces per file equal what drizzle-orm computes itself.
fn assert_same_reading(folder: Folder) {
    let theirs = drizzle::drizzle_read(folder.dir);
    assert_eq!(theirs.len(), folder.migrations.len(), "{}", folder.name);
    for (ours, theirs) in folder.migrations.iter().zip(&theirs) {
        assert_eq!(
            ours.hash, theirs.hash,
            "{}: hash of {}",
            folder.name, ours.tag
        );
        assert_eq!(
            ours.when, theirs.when,
            "{}: when of {}",
            folder.name, ours.tag
        );
        assert_eq!(ours.breakpoints, theirs.breakpoints, "{}", ours.tag);
        assert_eq!(
            ours.pieces(),
            theirs.pieces,
            "{}: pieces of {}",
            folder.name,
            ours.tag
        );
    }
}

#[test]
fn embedded_hashes_equal_drizzle_orm_hashes() {
    assert_same_reading(real());
    assert_same_reading(drizzle_kit());
}

// The project's folder has 9 migrations; 0004 enables pgvector and 0005 declares the first
// vector column, so k = 4 stops just before the extension and k = 5 just after it.

#[tokio::test]
async fn real_folder_drizzle_all_then_app_db_does_nothing() {
    drizzle_all_then_app_db(real()).await;
}

#[tokio::test]
async fn real_folder_drizzle_first_1_then_app_db() {
    drizzle_first_then_app_db(real(), 1).await;
}

#[tokio::test]
async fn real_folder_drizzle_first_4_then_app_db() {
    drizzle_first_then_app_db(real(), 4).await;
}

#[tokio::test]
async fn real_folder_drizzle_first_8_then_app_db() {
    drizzle_first_then_app_db(real(), 8).await;
}

#[tokio::test]
async fn real_folder_app_db_first_1_then_drizzle() {
    app_db_first_then_drizzle(real(), 1).await;
}

#[tokio::test]
async fn real_folder_app_db_first_4_then_drizzle() {
    app_db_first_then_drizzle(real(), 4).await;
}

#[tokio::test]
async fn real_folder_app_db_first_5_then_drizzle() {
    app_db_first_then_drizzle(real(), 5).await;
}

#[tokio::test]
async fn drizzle_kit_folder_drizzle_all_then_app_db_does_nothing() {
    drizzle_all_then_app_db(drizzle_kit()).await;
}

#[tokio::test]
async fn drizzle_kit_folder_drizzle_first_then_app_db() {
    for k in [1, 2] {
        drizzle_first_then_app_db(drizzle_kit(), k).await;
    }
}

#[tokio::test]
async fn drizzle_kit_folder_app_db_first_then_drizzle() {
    for k in [1, 2] {
        app_db_first_then_drizzle(drizzle_kit(), k).await;
    }
}

/// drizzle-orm takes no lock (drizzle-orm issue 874): two processes that both read the
/// bookkeeping before either commits both apply the same migration. The test makes the race
/// certain instead of likely: the migration's first statement waits on a table the test holds
/// locked, and the test lets go only once both processes are waiting there, i.e. both have
/// already read "nothing applied". app-db's advisory lock exists because of this.
#[tokio::test]
async fn two_drizzle_processes_at_once_apply_a_migration_twice() {
    let db = TestDatabase::empty().await.unwrap();
    let folder = tempfile_dir();
    std::fs::create_dir_all(folder.join("meta")).unwrap();
    std::fs::write(
        folder.join("meta/_journal.json"),
        r#"{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1795558247450,"tag":"0000_counted","breakpoints":true}]}"#,
    )
    .unwrap();
    std::fs::write(
        folder.join("0000_counted.sql"),
        "SELECT count(*) FROM \"gate\";\n--> statement-breakpoint\nINSERT INTO \"applications\" DEFAULT VALUES;\n",
    )
    .unwrap();

    let mut gate = connect(&db.url).await;
    // drizzle's CREATE TABLE IF NOT EXISTS is itself racy (two sessions can both find the
    // table missing; one then fails on pg_type's unique index): create it up front, with
    // drizzle's DDL, so the only race left is the one this test is about.
    app_db::migrate::Bookkeeping::default()
        .ensure(&mut gate)
        .await
        .unwrap();
    // Two queries: in one simple query the BEGIN would pull the CREATEs into its uncommitted
    // transaction, and drizzle would not see the tables.
    sqlx::raw_sql("create table gate (); create table applications (at timestamptz default clock_timestamp())")
        .execute(&mut gate)
        .await
        .unwrap();
    sqlx::raw_sql("begin; lock table gate in access exclusive mode")
        .execute(&mut gate)
        .await
        .unwrap();

    let spawn = || {
        drizzle::drizzle_migrate_command(&folder, &db.url, None)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node")
    };
    let (mut first, mut second) = (spawn(), spawn());

    let mut watch = connect(&db.url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_locks l join pg_class c on c.oid = l.relation \
             where c.relname = 'gate' and not l.granted",
        )
        .fetch_one(&mut watch)
        .await
        .unwrap();
        if waiting == 2 {
            break;
        }
        for child in [&mut first, &mut second] {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
                panic!("a drizzle process ended before reaching the gate ({status}): {stderr}");
            }
        }
        assert!(
            Instant::now() < deadline,
            "the two drizzle processes did not both reach the migration within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::raw_sql("commit").execute(&mut gate).await.unwrap();

    drizzle::drizzle_migrate_output(first.wait_with_output().unwrap());
    drizzle::drizzle_migrate_output(second.wait_with_output().unwrap());
    let applications: i64 = sqlx::query_scalar("select count(*) from applications")
        .fetch_one(&mut watch)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from drizzle.__drizzle_migrations")
        .fetch_one(&mut watch)
        .await
        .unwrap();
    assert_eq!(
        (applications, rows),
        (2, 2),
        "both drizzle processes ran the migration and recorded it"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

fn tempfile_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "app-db-drizzle-race-{}-{nanos}",
        std::process::id()
    ))
}
