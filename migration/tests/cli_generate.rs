//! `generate` through the built binary against real PostgreSQL (the test server, `-u`).

mod common;

use app_db::testing::TestServer;
use common::{copy_tree, folder_without_last, migration_on, migrations_dir, temp_dir};

fn server_url() -> String {
    TestServer::get()
        .unwrap_or_else(|e| panic!("a PostgreSQL server is needed: {e}"))
        .admin_url()
        .to_string()
}

#[test]
fn check_passes_on_the_projects_entities_and_folder() {
    let run = migration_on(&server_url(), &["generate", "--check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("no schema changes"), "{run:?}");
}

#[test]
fn unchanged_entities_write_nothing() {
    let dir = temp_dir("generate-nothing");
    copy_tree(&migrations_dir(), &dir);
    let path = dir.to_str().expect("utf-8 path");
    let journal_before = std::fs::read(dir.join("meta/_journal.json")).expect("journal");
    let run = migration_on(&server_url(), &["generate", "nothing", "--dir", path]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("no schema changes"), "{run:?}");
    assert!(!dir.join("0009_nothing.sql").exists());
    assert_eq!(
        std::fs::read(dir.join("meta/_journal.json")).expect("journal"),
        journal_before
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_exits_2_with_the_reconciling_sql_when_the_folder_lacks_a_migration() {
    // The folder without its last migration: the entities have saas_metrics_daily, it does not.
    let dir = folder_without_last("generate-behind");
    let path = dir.to_str().expect("utf-8 path");
    let run = migration_on(&server_url(), &["generate", "--check", "--dir", path]);
    assert_eq!(run.code, 2, "{run:?}");
    // The SQL is, byte for byte, the hand-written 0008 (drizzle-kit's output for that table).
    let original = std::fs::read_to_string(migrations_dir().join("0008_saas_metrics_daily.sql"))
        .expect("0008");
    assert_eq!(run.stdout, format!("{original}\n"));
    // --dry-run prints the same SQL and writes nothing.
    let dry = migration_on(
        &server_url(),
        &["generate", "metrics", "--dry-run", "--dir", path],
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    assert_eq!(dry.stdout, run.stdout);
    assert!(!dir.join("0008_metrics.sql").exists());
    // Writing it gives drizzle-kit's file and journal entry; then nothing is left to do.
    let written = migration_on(&server_url(), &["generate", "metrics", "--dir", path]);
    assert_eq!(written.code, 0, "{written:?}");
    let sql = std::fs::read_to_string(dir.join("0008_metrics.sql")).expect("the new file");
    assert_eq!(format!("{sql}\n"), run.stdout);
    let again = migration_on(&server_url(), &["generate", "--check", "--dir", path]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("no schema changes"), "{again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_exits_2_when_generate_cannot_express_the_difference() {
    // The folder narrows organization.name and puts a view on it; the entities say text. The
    // type change generate writes is refused by PostgreSQL (a view depends on the column):
    // the two disagree in a way generate cannot write, which --check reports as drift.
    let dir = temp_dir("generate-inexpressible");
    copy_tree(&migrations_dir(), &dir);
    let path = dir.to_str().expect("utf-8 path");
    let custom = migration_on(
        &server_url(),
        &["generate", "blocked", "--custom", "--dir", path],
    );
    assert_eq!(custom.code, 0, "{custom:?}");
    std::fs::write(
        dir.join("0009_blocked.sql"),
        "ALTER TABLE \"organization\" ALTER COLUMN \"name\" SET DATA TYPE varchar(200);--> statement-breakpoint\nCREATE VIEW \"organization_names\" AS SELECT \"name\" FROM \"organization\";",
    )
    .expect("write the migration");
    let run = migration_on(&server_url(), &["generate", "--check", "--dir", path]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("cannot write the SQL that reconciles them")
            && run.stderr.contains("organization")
            && run.stderr.contains("view"),
        "the reason is missing: {run:?}"
    );
    // Without --check the same run is an error: nothing can be written.
    let write = migration_on(&server_url(), &["generate", "unwritable", "--dir", path]);
    assert_eq!(write.code, 1, "{write:?}");
    assert!(!dir.join("0010_unwritable.sql").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
