//! `generate` into a drizzle-kit 1.0 folder against the real drizzle-kit 1.0.0-rc.5
//! (`tests/drizzle1-interop/`), change class by change class.
//!
//! Each class of `tests/fixtures/generate/` has `expected-v1/`: the two migration folders
//! drizzle-kit 1.0 wrote for `before.ts` and then `after.ts`
//! (`tests/drizzle1-interop/generate-fixtures.sh`). Here the "after" schema is the class's
//! SeaORM entities (`tests/generate_cases/`, shared with the 0.31 comparison); `generate` runs
//! on the folder holding drizzle-kit's "before" migration and must write drizzle-kit's
//! `migration.sql` byte for byte and its `snapshot.json` up to the random `id`; its SQL must
//! pass `generate`'s proof on a scratch database; and drizzle-kit 1.0's own `generate` on the
//! folder app-db wrote, with `after.ts`, must find no changes.
//!
//! Needs Node.js 20+ and npm, and the test PostgreSQL server.

#[path = "../../tests/generate_cases/mod.rs"]
mod cases;
mod common;
#[path = "../../tests/common/drizzle.rs"]
mod drizzle;
#[path = "../../tests/common/drizzle1.rs"]
mod drizzle1;
#[path = "../src/journal_json.rs"]
#[allow(dead_code)]
mod journal_json;
#[path = "../src/snapshot/mod.rs"]
#[allow(dead_code, unused_imports)]
mod snapshot;

use std::fs;
use std::path::{Path, PathBuf};

use app_db::Migration;
use app_db::generate::{
    Migrations, Options, entities_by_prefix, generate, render, verify_statements,
};
use app_db::journal::{Layout, timestamp};
use app_db::supplement::Supplement;
use app_db::testing::TestServer;
use common::{copy_tree, temp_dir};
use serde_json::Value;

fn class_dir(class: &str) -> PathBuf {
    drizzle::repo_root()
        .join("tests/fixtures/generate")
        .join(class)
}

/// drizzle-kit 1.0's two folders of a class: (before, after).
fn expected_folders(class: &str) -> (PathBuf, PathBuf) {
    let dir = class_dir(class).join("expected-v1");
    let mut folders: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "read {}: {e} (run tests/drizzle1-interop/generate-fixtures.sh)",
                dir.display()
            )
        })
        .map(|e| e.expect("entry").path())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 2, "{}: {folders:?}", dir.display());
    (folders[0].clone(), folders[1].clone())
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// One class: `Ok(note)` when everything matches, `Err(difference)` otherwise.
async fn class_matches(
    class: &str,
    module: &str,
    supplement: &Supplement,
    allow_drop: bool,
) -> Result<String, String> {
    let (before, after) = expected_folders(class);
    let before_name = before
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let before_sql: &'static str = Box::leak(read(&before.join("migration.sql")).into_boxed_str());
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    // drizzle-kit leaves extensions to the user: the ones the case needs exist beforehand.
    let extensions = supplement
        .extensions
        .iter()
        .map(|e| render::create_extension(e))
        .collect::<Vec<_>>()
        .join("\n");
    let folder = |idx: u32, name: &str, sql: &'static str| Migration {
        idx,
        tag: leak(name.to_string()),
        name: leak(name.to_string()),
        layout: Layout::Folders,
        when: timestamp::parse_folder_timestamp(name).expect("a folder time"),
        breakpoints: true,
        transaction: true,
        sql,
        hash: "",
    };
    let mut migrations = Vec::new();
    if !extensions.is_empty() {
        migrations.push(folder(0, "19700101000000_extensions", leak(extensions)));
    }
    migrations.push(folder(migrations.len() as u32, &before_name, before_sql));
    let server = TestServer::get().expect("a PostgreSQL server for the tests");
    let options = server.admin_url().parse().expect("the test server's URL");
    let prefix = format!("cli_generate_v1::cases::{module}::*");
    let generated = generate(
        &options,
        Migrations::List(&migrations),
        entities_by_prefix(&prefix),
        supplement,
        &Options {
            allow_drop,
            safe: false,
        },
    )
    .await
    .map_err(|e| format!("generate failed: {e}"))?;
    let before_snapshot = read(&before.join("snapshot.json"));
    let expected_after: Value =
        serde_json::from_str(&read(&after.join("snapshot.json"))).expect("JSON");
    let id = expected_after["id"].as_str().expect("an id").to_string();
    let written = snapshot::v9::generate::migration(
        Some(&[(before_name.clone(), before_snapshot.clone())]),
        &generated.current,
        &generated.desired,
        &id,
    )?;
    let text = render::file_text(&written.statements);
    let expected_sql = read(&after.join("migration.sql"));
    if text != expected_sql {
        return Err(format!(
            "migration.sql differs\n--- app-db\n{text}\n--- drizzle-kit 1.0\n{expected_sql}"
        ));
    }
    verify_statements(
        &options.into(),
        Migrations::List(&migrations),
        &written.statements,
        &generated.desired,
    )
    .await
    .map_err(|e| format!("drizzle-kit 1.0's SQL does not give the entities' schema: {e}"))?;
    let ours = written.snapshot.expect("the folder keeps snapshots");
    if ours != expected_after {
        return Err(format!(
            "snapshot.json differs\n--- app-db\n{}\n--- drizzle-kit 1.0\n{}",
            serde_json::to_string_pretty(&ours).unwrap_or_default(),
            serde_json::to_string_pretty(&expected_after).unwrap_or_default()
        ));
    }
    // drizzle-kit 1.0 reads the folder app-db wrote back and finds nothing to do.
    let work = temp_dir(&format!("v1-{class}"));
    let out = work.join("out");
    copy_tree(&before, &out.join(&before_name));
    let after_dir = out.join(after.file_name().expect("name"));
    fs::create_dir_all(&after_dir).expect("mkdir");
    fs::write(after_dir.join("migration.sql"), &text).expect("writable");
    fs::write(
        after_dir.join("snapshot.json"),
        serde_json::to_string_pretty(&ours).expect("JSON"),
    )
    .expect("writable");
    let run = std::process::Command::new(drizzle1::kit())
        .args(["generate", "--dialect", "postgresql", "--schema"])
        .arg(class_dir(class).join("after.ts"))
        .args(["--out", "out", "--name", "again"])
        .current_dir(&work)
        .env("NODE_PATH", drizzle1::ensure_project().join("node_modules"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run drizzle-kit");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let folders = fs::read_dir(&out).expect("readable").count();
    let _ = fs::remove_dir_all(&work);
    if !said.contains("No schema changes") || folders != 2 {
        return Err(format!(
            "drizzle-kit 1.0 generate on app-db's folder did not find it up to date:\n{said}"
        ));
    }
    Ok(format!("{} statement(s)", written.statements.len()))
}

#[tokio::test]
async fn generate_into_a_1_0_folder_writes_what_drizzle_kit_1_writes() {
    drizzle1::ensure_project();
    let none = Supplement::default();
    let classes: [(&str, &str, &Supplement, bool); 27] = [
        ("01_create_table", "c01", &none, false),
        ("02_drop_table", "c02", &none, true),
        ("03_add_column", "c03", &none, false),
        ("04_drop_column", "c04", &none, true),
        ("05_type_widen", "c05", &none, false),
        ("06_type_narrow", "c06", &none, true),
        ("07_not_null_set", "c07", &none, false),
        ("08_not_null_drop", "c08", &none, false),
        ("09_default_set", "c09", &none, false),
        ("10_default_change", "c10", &none, false),
        ("11_default_drop", "c11", &none, false),
        ("12_primary_key_single", "c12", &none, false),
        ("13_primary_key_composite", "c13", &none, false),
        ("14_unique_single", "c14", &none, false),
        ("15_unique_composite", "c15", &none, false),
        ("16_foreign_key_add", "c16", &none, false),
        ("17_foreign_key_change_action", "c17", &none, false),
        ("18_foreign_key_drop", "c18", &none, false),
        ("19_index_add", "c19", &none, false),
        ("20_index_drop", "c20", &none, false),
        (
            "21_index_multi_column",
            "c21",
            &cases::c21::SUPPLEMENT,
            false,
        ),
        ("22_enum_create", "c22", &none, false),
        ("23_enum_add_value_end", "c23", &none, false),
        ("24_enum_add_value_before", "c24", &none, false),
        ("25_enum_drop", "c25", &none, true),
        ("26_vector_column", "c26", &cases::c26::SUPPLEMENT, false),
        ("27_hnsw_index", "c27", &cases::c27::SUPPLEMENT, false),
    ];
    let mut report = String::new();
    let mut failures = 0;
    for (class, module, supplement, allow_drop) in classes {
        let line = match class_matches(class, module, supplement, allow_drop).await {
            Ok(note) => format!(
                "{class}: same migration.sql and snapshot.json, drizzle-kit finds no changes ({note})"
            ),
            Err(difference) => {
                failures += 1;
                format!("{class}: DIFFERS: {difference}")
            }
        };
        report.push_str(&line);
        report.push('\n');
    }
    println!(
        "{report}{} of 27 classes match drizzle-kit 1.0.0-rc.5",
        27 - failures
    );
    assert_eq!(failures, 0, "\n{report}");
}

/// The project's folder converted to 1.0 (no snapshots): `generate --check` finds the entities
/// and the migrations in agreement — drizzle-kit 0.31's default names kept, as drizzle-kit 1.0
/// keeps generated names that only changed form — and `generate --custom` writes a 1.0 folder.
#[test]
fn the_project_converted_to_1_0_needs_no_migration() {
    let work = temp_dir("v1-project");
    let dir = work.join("migrations");
    copy_tree(&common::migrations_dir(), &dir);
    let run = common::migration(&["upgrade-folder", "--dir", dir.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 0, "{}", run.all());
    let server = TestServer::get()
        .expect("a PostgreSQL server for the tests")
        .admin_url()
        .to_string();
    let dir_arg = dir.to_str().expect("UTF-8");
    let run = common::migration_on(&server, &["generate", "--check", "--dir", dir_arg]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("no schema changes"), "{}", run.all());

    // Without its last migration, generate writes one in drizzle-kit 1.0's forms, proved on
    // scratch databases; after it the folder agrees with the entities again.
    fs::remove_dir_all(dir.join("20260120144833_saas_metrics_daily")).expect("removable");
    let run = common::migration_on(&server, &["generate", "daily", "--dir", dir_arg]);
    assert_eq!(run.code, 0, "{}", run.all());
    let daily: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with("_daily"))
        .collect();
    assert_eq!(daily.len(), 1, "{daily:?}");
    let sql = read(&daily[0].join("migration.sql"));
    assert!(sql.contains("CREATE TABLE \"saas_metrics_daily\""), "{sql}");
    assert!(
        !sql.contains("\"public\"."),
        "1.0 writes unqualified names: {sql}"
    );
    assert!(!sql.contains("USING btree"), "{sql}");
    let run = common::migration_on(&server, &["generate", "--check", "--dir", dir_arg]);
    assert_eq!(run.code, 0, "{}", run.all());

    let run = common::migration(&["generate", "backfill", "--custom", "--dir", dir_arg]);
    assert_eq!(run.code, 0, "{}", run.all());
    let created: Vec<String> = fs::read_dir(&dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_backfill"))
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        read(&dir.join(&created[0]).join("migration.sql")),
        "-- Custom SQL migration file, put your code below! --"
    );
    assert!(!dir.join(&created[0]).join("snapshot.json").exists());
    let _ = fs::remove_dir_all(&work);
}
