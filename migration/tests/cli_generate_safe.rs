//! `generate --safe` through the built binary: the files it writes for the project's entities
//! over a folder that loosened `member` and `document_source`, their lint, `--check` after
//! them; the refusal in a folder with drizzle-kit snapshots, and why: the real drizzle-orm
//! (`tests/drizzle-interop/`) cannot run such a folder.
//!
//! Needs Node.js 20+ and npm (drizzle-orm is installed with `npm ci`) and the test server.

mod common;
#[path = "../../tests/common/drizzle.rs"]
mod drizzle;

use app_db::testing::{TestDatabase, TestServer};
use common::{copy_tree, migration, migration_on, migrations_dir, temp_dir};
use sqlx::Connection;

/// Takes back, on existing tables, an index, a foreign key, a unique constraint, a NOT NULL and
/// a CHECK that the project's entities declare.
const LOOSEN: &str = "DROP INDEX \"member_userId_idx\";--> statement-breakpoint\n\
ALTER TABLE \"member\" DROP CONSTRAINT \"member_organization_id_organization_id_fk\";--> statement-breakpoint\n\
ALTER TABLE \"member\" DROP CONSTRAINT \"member_organization_id_user_id_unique\";--> statement-breakpoint\n\
-- app-db:allow ban-drop-not-null a test folder\n\
ALTER TABLE \"member\" ALTER COLUMN \"role\" DROP NOT NULL;--> statement-breakpoint\n\
ALTER TABLE \"document_source\" DROP CONSTRAINT \"document_source_chunk_count_check\";";

const SAFE_TAGS: [&str; 5] = [
    "0010_restore",
    "0011_restore_validate",
    "0012_restore_index_1",
    "0013_restore_index_2",
    "0014_restore_finish",
];

fn server_url() -> String {
    TestServer::get()
        .unwrap_or_else(|e| panic!("a PostgreSQL server is needed: {e}"))
        .admin_url()
        .to_string()
}

/// A copy of the project's folder plus `0009_loosen`.
fn loosened_folder() -> std::path::PathBuf {
    let dir = temp_dir("generate-safe");
    copy_tree(&migrations_dir(), &dir);
    let path = dir.to_str().expect("utf-8 path");
    let added = migration(&["generate", "loosen", "--custom", "--dir", path]);
    assert_eq!(added.code, 0, "{added:?}");
    std::fs::write(dir.join("0009_loosen.sql"), LOOSEN).expect("write 0009_loosen");
    dir
}

#[test]
fn safe_writes_the_long_steps_apart_and_check_agrees_afterwards() {
    let dir = loosened_folder();
    let path = dir.to_str().expect("utf-8 path");
    // drizzle-kit's forms, with the findings under the SQL as comments.
    let plain = migration_on(
        &server_url(),
        &["generate", "restore", "--dry-run", "--dir", path],
    );
    assert_eq!(plain.code, 0, "{plain:?}");
    for rule in [
        "require-concurrent-index-creation",
        "adding-foreign-key-constraint",
        "disallowed-unique-constraint",
        "adding-not-nullable-field",
        "constraint-missing-not-valid",
    ] {
        assert!(
            plain
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("-- lint:   {rule}: "))),
            "{rule}: {plain:?}"
        );
    }
    assert!(
        plain
            .stdout
            .contains("-- lint: linted 1 migration(s): 7 finding(s) not allowed"),
        "{plain:?}"
    );
    // The safe forms: five files, clean.
    let dry = migration_on(
        &server_url(),
        &["generate", "restore", "--safe", "--dry-run", "--dir", path],
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stdout.contains("-- 0011_restore_validate.sql (no transaction: each statement commits on its own):\n-- app-db:no-transaction\n"), "{dry:?}");
    assert!(
        dry.stdout
            .contains("-- lint: linted 5 migration(s): 0 finding(s) not allowed, 1 allowed"),
        "{dry:?}"
    );
    let written = migration_on(
        &server_url(),
        &["generate", "restore", "--safe", "--dir", path],
    );
    assert_eq!(written.code, 0, "{written:?}");
    for tag in SAFE_TAGS {
        assert!(
            dir.join(format!("{tag}.sql")).is_file(),
            "{tag}: {written:?}"
        );
        assert!(
            written.stdout.contains(&format!(
                "created {}",
                dir.join(format!("{tag}.sql")).display()
            )),
            "{written:?}"
        );
    }
    assert!(
        written
            .stdout
            .contains("linted 5 migration(s): 0 finding(s) not allowed, 1 allowed"),
        "{written:?}"
    );
    let index = std::fs::read_to_string(dir.join("0012_restore_index_1.sql")).expect("index file");
    assert_eq!(
        index,
        "-- app-db:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS \"member_userId_idx\";--> statement-breakpoint\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"member_userId_idx\" ON \"member\" USING btree (\"user_id\");"
    );
    // The folder now gives the entities' schema, and the new files lint clean.
    let check = migration_on(&server_url(), &["generate", "--check", "--dir", path]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("no schema changes"), "{check:?}");
    let mut args = vec!["lint", "--dir", path];
    args.extend(SAFE_TAGS);
    let lint = migration(&args);
    assert_eq!(lint.code, 0, "{lint:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn safe_is_refused_in_a_folder_drizzle_kit_works_on() {
    let dir = loosened_folder();
    let path = dir.to_str().expect("utf-8 path");
    std::fs::write(dir.join("meta/0008_snapshot.json"), "{}").expect("a snapshot");
    let journal = std::fs::read(dir.join("meta/_journal.json")).expect("journal");
    let run = migration_on(
        &server_url(),
        &["generate", "restore", "--safe", "--dir", path],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--safe refused"), "{run:?}");
    assert!(
        run.stderr
            .contains("drizzle-orm's migrator runs every migration inside one transaction"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("fix: generate without --safe"),
        "{run:?}"
    );
    assert!(!dir.join("0010_restore.sql").exists());
    assert_eq!(
        std::fs::read(dir.join("meta/_journal.json")).expect("journal"),
        journal
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn drizzle_orm_cannot_run_a_safe_folder_and_changes_nothing() {
    // Why --safe is refused where drizzle-orm runs the folder: its migrator wraps every
    // migration in one transaction, where a concurrent index build fails.
    let dir = loosened_folder();
    let path = dir.to_str().expect("utf-8 path");
    let written = migration_on(
        &server_url(),
        &["generate", "restore", "--safe", "--dir", path],
    );
    assert_eq!(written.code, 0, "{written:?}");
    let db = TestDatabase::empty().await.expect("a test database");
    let out = drizzle::drizzle_migrate_command(&dir, &db.url, None)
        .output()
        .expect("run node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "drizzle-orm ran a --safe folder: {stderr}"
    );
    assert!(
        stderr.contains("cannot run inside a transaction block"),
        "{stderr}"
    );
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let (rows, member): (i64, Option<String>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM drizzle.__drizzle_migrations), to_regclass('public.member')::text",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the database after drizzle-orm");
    assert_eq!(
        (rows, member),
        (0, None),
        "drizzle-orm's failed run left something"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
