//! `generate --custom` in a folder that carries drizzle-kit snapshots writes the snapshot
//! drizzle-kit itself writes, so drizzle-kit keeps accepting the folder: checked against the
//! real drizzle-kit 0.31.11 (`tests/drizzle-interop/`) on every generate fixture.
//!
//! A snapshot read from a database by `snapshot_from_database` is what drizzle-kit writes for
//! the TypeScript schema of the same tables, checked the same way.
//!
//! Needs Node.js 20+ and npm: the first test installs the pinned packages with `npm ci`.

mod common;
#[path = "../../tests/common/drizzle.rs"]
mod drizzle;
#[path = "../../tests/common/drizzle_kit.rs"]
mod drizzle_kit;
#[path = "../src/snapshot/from_database.rs"]
#[allow(dead_code)]
mod from_database;

use std::path::Path;

use app_db::testing::TestDatabase;
use common::{copy_tree, migration, migrations_dir, temp_dir};
use drizzle_kit::{fixture_classes, fixtures_dir, read, read_json as json};
use serde_json::Value;
use sqlx::Connection;

fn custom(dir: &Path, name: &str) -> common::Run {
    migration(&[
        "generate",
        name,
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ])
}

/// A temporary copy of a fixture class's `expected/` folder.
fn copy_of_expected(class: &str, label: &str) -> std::path::PathBuf {
    let dir = temp_dir(label);
    copy_tree(&fixtures_dir().join(class).join("expected"), &dir);
    dir
}

/// On each fixture's folder, app-db's `generate --custom` and drizzle-kit's write the same
/// files (up to the random id and the time), drizzle-kit's `check` accepts app-db's folder,
/// and drizzle-kit's `generate` on the same schema then finds nothing to do.
#[test]
fn custom_writes_drizzle_kits_snapshot_on_every_fixture() {
    let classes = fixture_classes();
    assert!(classes.len() >= 27, "fixtures missing: {classes:?}");
    for class in classes {
        let name = class
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let work = temp_dir(&format!("snapshot-{name}"));
        let (ours, theirs) = (work.join("ours"), work.join("theirs"));
        copy_tree(&class.join("expected"), &ours);
        copy_tree(&class.join("expected"), &theirs);

        let run = custom(&ours, "hand");
        assert_eq!(run.code, 0, "{name}: {run:?}");
        assert!(
            run.stdout.contains("0002_snapshot.json"),
            "{name}: {}",
            run.stdout
        );
        drizzle_kit::custom(&class.join("after.ts"), &theirs, "hand")
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(
            read(&ours.join("0002_hand.sql")),
            read(&theirs.join("0002_hand.sql")),
            "{name}: SQL"
        );
        let (ours_snap, theirs_snap) = (
            ours.join("meta/0002_snapshot.json"),
            theirs.join("meta/0002_snapshot.json"),
        );
        let (ours_id, theirs_id) = (
            json(&ours_snap)["id"].clone(),
            json(&theirs_snap)["id"].clone(),
        );
        assert_eq!(
            json(&ours_snap)["prevId"],
            json(&ours.join("meta/0001_snapshot.json"))["id"]
        );
        assert_ne!(ours_id, theirs_id, "{name}: ids are drawn at random");
        assert_eq!(
            read(&ours_snap),
            read(&theirs_snap).replace(
                theirs_id.as_str().expect("id"),
                ours_id.as_str().expect("id")
            ),
            "{name}: meta/0002_snapshot.json differs from drizzle-kit's"
        );

        drizzle_kit::check(&ours).unwrap_or_else(|e| panic!("{name}: {e}"));
        let next = drizzle_kit::generate(&class.join("after.ts"), &ours, "next")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            next, None,
            "{name}: drizzle-kit found changes after app-db's snapshot"
        );
        let _ = std::fs::remove_dir_all(&work);
    }
}

/// Two customs in a row keep a chain drizzle-kit accepts (each hangs off the one before).
#[test]
fn successive_customs_keep_the_chain() {
    let dir = copy_of_expected("16_foreign_key_add", "snapshot-chain");
    assert_eq!(custom(&dir, "first").code, 0);
    // The build rejects a placeholder-only file, and so does generate: fill it in.
    std::fs::write(dir.join("0002_first.sql"), "SELECT 1;").expect("write");
    let run = custom(&dir, "second");
    assert_eq!(run.code, 0, "{run:?}");
    let ids: Vec<(Value, Value)> = (0..4)
        .map(|n| {
            let s = json(&dir.join(format!("meta/{n:04}_snapshot.json")));
            (s["id"].clone(), s["prevId"].clone())
        })
        .collect();
    for n in 1..4 {
        assert_eq!(ids[n].1, ids[n - 1].0, "snapshot {n} hangs off {}", n - 1);
    }
    drizzle_kit::check(&dir).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The project's own folder carries no snapshots, and gets none.
#[test]
fn a_folder_without_snapshots_gets_none() {
    let dir = temp_dir("snapshot-none");
    copy_tree(&migrations_dir(), &dir);
    let run = custom(&dir, "plain");
    assert_eq!(run.code, 0, "{run:?}");
    let meta: Vec<String> = std::fs::read_dir(dir.join("meta"))
        .expect("meta")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(meta, ["_journal.json"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A broken newest snapshot is refused with its name and a fix, and nothing is written.
#[test]
fn a_broken_snapshot_is_refused_and_nothing_is_written() {
    let dir = copy_of_expected("03_add_column", "snapshot-broken");
    std::fs::write(dir.join("meta/0001_snapshot.json"), "{\"id\": 1").expect("write");
    let journal = read(&dir.join("meta/_journal.json"));
    let run = custom(&dir, "hand");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("0001_snapshot.json"), "{}", run.stderr);
    assert!(run.stderr.contains("fix:"), "{}", run.stderr);
    assert!(!dir.join("0002_hand.sql").exists());
    assert!(!dir.join("meta/0002_snapshot.json").exists());
    assert_eq!(read(&dir.join("meta/_journal.json")), journal);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fixture classes whose `after` SQL PostgreSQL refuses, so no database has their schema, and
/// the SQLSTATE: drizzle-kit's text -> integer change has no `USING` (42804); it drops a
/// foreign key after `DROP TABLE … CASCADE` removed it (42704).
const NOT_APPLICABLE: [(&str, &str); 3] = [
    ("06_type_narrow", "42804"),
    ("30_drop_referenced_table_and_fk", "42704"),
    ("31_drop_referenced_table_and_column", "42704"),
];

/// Texts no catalog holds (docs/cli.md): drizzle-kit writes a CHECK's, a partial index's and a
/// generated column's SQL as the TypeScript schema spells it, app-db PostgreSQL's normal form
/// of it. Per class: app-db's JSON text and drizzle-kit's, put in its place before comparing.
const SCHEMA_TEXTS: [(&str, &str, &str); 3] = [
    (
        "33_generated_column",
        r#""as": "(quantity * unit_cents)""#,
        r#""as": "\"quantity\" * \"unit_cents\"""#,
    ),
    (
        "35_check_add",
        r#""value": "seats > 0""#,
        r#""value": "\"organization\".\"seats\" > 0""#,
    ),
    (
        "36_unique_index_partial",
        r#""where": "deleted_at IS NULL""#,
        r#""where": "\"member\".\"deleted_at\" is null""#,
    ),
];

/// On each fixture, the database made by drizzle-kit's own SQL (0000 then 0001) reads back as
/// drizzle-kit's `meta/0001_snapshot.json` byte for byte (ids aside) and, put in that snapshot's place,
/// leaves drizzle-kit's `generate` on `after.ts` nothing to do and its `check` content.
#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_read_from_the_database_is_drizzle_kits() {
    let classes = fixture_classes();
    for class in classes {
        let name = class
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let expected = class.join("expected");
        let db = TestDatabase::empty().await.expect("a test database");
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS vector")
            .execute(&mut conn)
            .await
            .expect("pgvector");
        let not_applicable = NOT_APPLICABLE
            .iter()
            .find(|(class, _)| *class == name)
            .map(|(_, code)| *code);
        let mut failed = false;
        for file in ["0000_before.sql", "0001_after.sql"] {
            for statement in drizzle_kit::statements(&read(&expected.join(file))) {
                let applied = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
                    .execute(&mut conn)
                    .await;
                match (applied, not_applicable) {
                    (Err(e), Some(expected)) if file == "0001_after.sql" => {
                        let code = e.as_database_error().and_then(|d| d.code());
                        assert_eq!(code.as_deref(), Some(expected), "{name}: {e}");
                        failed = true;
                        break;
                    }
                    (Err(e), _) => panic!("{name}/{file}: {statement}: {e}"),
                    (Ok(_), _) => {}
                }
            }
        }
        if let Some(expected) = not_applicable {
            assert!(
                failed,
                "{name}: PostgreSQL now accepts drizzle-kit's migration (expected {expected}): test the class"
            );
            conn.close().await.expect("close");
            continue;
        }
        let mut ours = from_database::snapshot_from_database(&mut conn, "public")
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        conn.close().await.expect("close");

        // Byte for byte, once drizzle-kit's random ids are put in.
        let theirs_path = expected.join("meta/0001_snapshot.json");
        let theirs = json(&theirs_path);
        ours["id"] = theirs["id"].clone();
        ours["prevId"] = theirs["prevId"].clone();
        let mut text = serde_json::to_string_pretty(&ours).expect("render");
        for (_, catalog, typescript) in SCHEMA_TEXTS.iter().filter(|(c, _, _)| *c == name) {
            assert!(
                text.contains(catalog),
                "{name}: the snapshot no longer has {catalog}:\n{text}"
            );
            text = text.replace(catalog, typescript);
        }
        assert_eq!(
            text,
            read(&theirs_path),
            "{name}: the snapshot read back from the database is not drizzle-kit's"
        );
        ours = serde_json::from_str(&text).expect("the snapshot is JSON");

        // In the place of drizzle-kit's snapshot, under a new id.
        let work = temp_dir(&format!("from-db-{name}"));
        copy_tree(&expected, &work);
        ours["id"] = Value::String(uuid::Uuid::new_v4().to_string());
        std::fs::write(
            work.join("meta/0001_snapshot.json"),
            serde_json::to_string_pretty(&ours).expect("render"),
        )
        .expect("write");
        drizzle_kit::check(&work).unwrap_or_else(|e| panic!("{name}: {e}"));
        let next = drizzle_kit::generate(&class.join("after.ts"), &work, "next")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            next, None,
            "{name}: drizzle-kit found changes against the database's snapshot"
        );
        let _ = std::fs::remove_dir_all(&work);
    }
}

/// The project's own schema (CHECKs, partial and HNSW indexes, enums, composite keys) reads back
/// into a snapshot drizzle-kit's `check` accepts, with every table and every reference in it.
#[tokio::test(flavor = "multi_thread")]
async fn the_projects_schema_reads_back_as_a_valid_snapshot() {
    let db = TestDatabase::migrated()
        .await
        .expect("a migrated test database");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let snapshot = from_database::snapshot_from_database(&mut conn, "public")
        .await
        .expect("read the snapshot");
    let tables: Vec<String> = sqlx::query_scalar(
        "select 'public.' || tablename::text from pg_tables where schemaname = 'public' order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("list tables");
    conn.close().await.expect("close");
    let read: Vec<String> = snapshot["tables"]
        .as_object()
        .expect("tables")
        .keys()
        .cloned()
        .collect();
    assert_eq!(read, tables);
    for (name, table) in snapshot["tables"].as_object().expect("tables") {
        for fk in table["foreignKeys"]
            .as_object()
            .expect("foreignKeys")
            .values()
        {
            let to = format!("public.{}", fk["tableTo"].as_str().expect("tableTo"));
            assert!(tables.contains(&to), "{name}: {fk}");
        }
    }

    // As the only snapshot of a folder, drizzle-kit accepts it.
    let dir = temp_dir("from-db-project");
    std::fs::create_dir_all(dir.join("meta")).expect("meta");
    std::fs::write(
        dir.join("meta/_journal.json"),
        r#"{"version":"7","dialect":"postgresql","entries":[]}"#,
    )
    .expect("journal");
    let mut snapshot = snapshot;
    snapshot["id"] = Value::String(uuid::Uuid::new_v4().to_string());
    snapshot["prevId"] = Value::String("00000000-0000-0000-0000-000000000000".into());
    std::fs::write(
        dir.join("meta/0000_snapshot.json"),
        serde_json::to_string_pretty(&snapshot).expect("render"),
    )
    .expect("write");
    drizzle_kit::check(&dir).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
}
