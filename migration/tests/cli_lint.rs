//! `lint` and `verify --lint` through the built binary: the project's history, the pending
//! migrations of a real database, a new migration with and without an accepted risk.

mod common;

use app_db::testing::TestDatabase;
use common::{copy_tree, migration, migration_on, migrations_dir, temp_dir};

/// The one finding in the project's nine migrations (applied history: reported, never edited).
const HISTORY_FINDING: &str = "0003_ai_usage_credits.sql: statement 4 of 9 (line 33): ALTER TABLE \"subscription\" ADD CONSTRAINT \"subscription_monthly_ai_credits_check\"";

async fn fresh() -> TestDatabase {
    TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL server is needed: {e}"))
}

#[test]
fn lint_all_reports_the_projects_history() {
    let run = migration(&["lint", "--all"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains(HISTORY_FINDING), "{run:?}");
    assert!(
        run.stdout
            .contains("  constraint-missing-not-valid: ADD CONSTRAINT checks every existing row"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("  fix: ADD CONSTRAINT … NOT VALID"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("linted 9 migration(s): 1 finding(s) not allowed, 0 allowed"),
        "{run:?}"
    );
}

#[tokio::test]
async fn lint_judges_only_what_the_database_still_has_to_run() {
    let db = fresh().await;
    let url = db.url.clone();
    // Everything pending: 0003's CHECK is on a table 0002 creates in the same run (no rows).
    let run = migration_on(&url, &["lint"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("linted 9 migration(s): 0 finding(s) not allowed, 0 allowed, 1 on tables new in the same migration or run"),
        "{run:?}"
    );
    // Up to 0002: now `subscription` exists (and may have rows) when 0003 runs.
    assert_eq!(migration_on(&url, &["up", "-n", "3"]).code, 0);
    let run = migration_on(&url, &["lint"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains(HISTORY_FINDING), "{run:?}");
    assert!(run.stdout.contains("linted 6 migration(s)"), "{run:?}");
    let verify = migration_on(&url, &["verify", "--allow-pending", "--lint"]);
    assert_eq!(verify.code, 2, "{verify:?}");
    assert!(verify.stdout.contains(HISTORY_FINDING), "{verify:?}");
    assert!(
        verify.stderr.contains("lint findings that are not allowed"),
        "{verify:?}"
    );
    // Without --lint the same database verifies (pending allowed).
    assert_eq!(migration_on(&url, &["verify", "--allow-pending"]).code, 0);
    // Applied migrations are history: never judged again.
    assert_eq!(migration_on(&url, &["up"]).code, 0);
    let run = migration_on(&url, &["lint"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("no migration pending"), "{run:?}");
    let verify = migration_on(&url, &["verify", "--lint"]);
    assert_eq!(verify.code, 0, "{verify:?}");
}

/// A copy of the project's folder with `sql` as a tenth migration, `0009_new`.
fn folder_with(sql: &str) -> std::path::PathBuf {
    let dir = temp_dir("lint");
    copy_tree(&migrations_dir(), &dir);
    let path = dir.to_str().expect("utf-8 path");
    let added = migration(&["generate", "new", "--custom", "--dir", path]);
    assert_eq!(added.code, 0, "{added:?}");
    std::fs::write(dir.join("0009_new.sql"), sql).expect("write the migration");
    dir
}

#[test]
fn a_new_migration_is_flagged_until_rewritten_or_allowed() {
    let index = "CREATE INDEX \"member_role_index\" ON \"member\" USING btree (\"role\");";
    let dir = folder_with(index);
    let path = dir.to_str().expect("utf-8 path");
    let run = migration(&["lint", "--dir", path, "0009_new"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains(
            "0009_new.sql: statement 1 of 1 (line 1): CREATE INDEX \"member_role_index\""
        ),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("  require-concurrent-index-creation: CREATE INDEX without CONCURRENTLY holds a SHARE lock"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("put `-- app-db:allow require-concurrent-index-creation <reason>` on the line above the statement"),
        "{run:?}"
    );
    let json = migration(&["lint", "--dir", path, "--json", "0009_new"]);
    assert_eq!(json.code, 2, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["passes"], false);
    assert_eq!(value["not_allowed"], 1);
    let finding = &value["migrations"][0]["findings"][0];
    assert_eq!(finding["rule"], "require-concurrent-index-creation");
    assert_eq!(finding["verdict"], "not-allowed");
    assert_eq!(
        (finding["statement"].clone(), finding["line"].clone()),
        (1.into(), 1.into())
    );

    // The safe rewrite passes.
    std::fs::write(
        dir.join("0009_new.sql"),
        "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"member_role_index\" ON \"member\" USING btree (\"role\");",
    )
    .expect("rewrite");
    let run = migration(&["lint", "--dir", path, "0009_new"]);
    assert_eq!(run.code, 0, "{run:?}");

    // An accepted risk, with its reason.
    std::fs::write(
        dir.join("0009_new.sql"),
        format!("-- app-db:allow require-concurrent-index-creation member has a few hundred rows\n{index}"),
    )
    .expect("allow");
    let run = migration(&["lint", "--dir", path, "0009_new"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "  require-concurrent-index-creation: allowed on line 1: member has a few hundred rows"
        ),
        "{run:?}"
    );
    // No reason, no acceptance.
    std::fs::write(
        dir.join("0009_new.sql"),
        format!("-- app-db:allow require-concurrent-index-creation\n{index}"),
    )
    .expect("allow without reason");
    let run = migration(&["lint", "--dir", path, "0009_new"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("gives no reason"), "{run:?}");
    // An unknown tag is an error naming the known ones.
    let run = migration(&["lint", "--dir", path, "0009_nope"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no migration \"0009_nope\""), "{run:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
