//! `migration upgrade-folder` against the real `drizzle-kit up` 1.0.0-rc.5
//! (`tests/drizzle1-interop/`): the same folders, byte for byte, on every generate fixture
//! class and on the drizzle-kit fixture; the same refusal of entries that would sort before
//! their parent; never half-converted, and finished by a rerun after an interruption.
//!
//! Needs Node.js 20+ and npm (the pinned packages are installed with `npm ci`).

mod common;
#[path = "../../tests/common/drizzle.rs"]
mod drizzle;
#[path = "../../tests/common/drizzle1.rs"]
mod drizzle1;
#[path = "../../tests/common/drizzle_kit.rs"]
mod drizzle_kit;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{copy_tree, migration, migrations_dir, temp_dir};

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .expect("under the root")
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, fs::read(&path).expect("readable"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The first difference between two trees, readable.
fn tree_difference(
    expected: &BTreeMap<String, Vec<u8>>,
    got: &BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    if names(expected) != names(got) {
        return Some(format!(
            "files differ:\n  drizzle-kit up: {:?}\n  upgrade-folder: {:?}",
            names(expected),
            names(got)
        ));
    }
    for (name, bytes) in expected {
        if got[name] != *bytes {
            let (a, b) = (
                String::from_utf8_lossy(bytes).into_owned(),
                String::from_utf8_lossy(&got[name]).into_owned(),
            );
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            return Some(format!(
                "{name} differs at line {}:\n  drizzle-kit up: {}\n  upgrade-folder: {}",
                line + 1,
                a.lines().nth(line).unwrap_or(""),
                b.lines().nth(line).unwrap_or("")
            ));
        }
    }
    None
}

/// A copy of a journal folder whose later entries are moved 2 s apart from the first, so
/// that neither tool refuses them (the generate fixtures were written within a second).
fn spaced_copy(from: &Path, to: &Path) {
    copy_tree(from, to);
    let path = to.join("meta/_journal.json");
    let mut journal: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("journal")).expect("JSON");
    let entries = journal["entries"].as_array_mut().expect("entries");
    let first = entries[0]["when"].as_i64().expect("when");
    for (i, entry) in entries.iter_mut().enumerate().skip(1) {
        entry["when"] = serde_json::json!(first + 2000 * i as i64);
    }
    fs::write(&path, serde_json::to_string_pretty(&journal).expect("JSON")).expect("writable");
}

fn assert_converted_like_drizzle_kit(name: &str, source: &Path) -> Result<(), String> {
    let work = temp_dir(&format!("up-{name}"));
    let (kit, app) = (work.join("kit"), work.join("app"));
    spaced_copy(source, &kit);
    copy_tree(&kit, &app);
    let up = drizzle1::kit_up(&kit);
    if !up.status.success() {
        return Err(format!(
            "{name}: drizzle-kit up failed:\n{}{}",
            String::from_utf8_lossy(&up.stdout),
            String::from_utf8_lossy(&up.stderr)
        ));
    }
    let run = migration(&["upgrade-folder", "--dir", app.to_str().expect("UTF-8 path")]);
    if run.code != 0 {
        return Err(format!("{name}: upgrade-folder failed: {}", run.all()));
    }
    let (expected, got) = (tree(&kit), tree(&app));
    if !expected.keys().any(|k| k.ends_with("snapshot.json")) {
        return Err(format!(
            "{name}: drizzle-kit wrote no snapshot: {expected:?}"
        ));
    }
    let _ = fs::remove_dir_all(&work);
    match tree_difference(&expected, &got) {
        Some(difference) => Err(format!("{name}: {difference}")),
        None => Ok(()),
    }
}

#[test]
fn every_fixture_converts_like_drizzle_kit_up_byte_for_byte() {
    drizzle1::ensure_project();
    let mut sources: Vec<(String, PathBuf)> = drizzle_kit::fixture_classes()
        .into_iter()
        .map(|class| {
            let name = class
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, class.join("expected"))
        })
        .collect();
    sources.push(("drizzle-kit".into(), drizzle::drizzle_kit_fixture_dir()));
    let failures: Vec<String> = sources
        .iter()
        .filter_map(|(name, dir)| assert_converted_like_drizzle_kit(name, dir).err())
        .collect();
    println!(
        "upgrade-folder = drizzle-kit up 1.0.0-rc.5 (folder names, migration.sql, snapshot.json) on {} of {} folders",
        sources.len() - failures.len(),
        sources.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// 02_drop_table's entries are in one second and `0001_after` sorts before `0000_before`:
/// drizzle-kit refuses it, and so does upgrade-folder, both changing nothing.
#[test]
fn entries_that_would_sort_before_their_parent_are_refused_like_drizzle_kit() {
    drizzle1::ensure_project();
    let work = temp_dir("up-order");
    let (kit, app) = (work.join("kit"), work.join("app"));
    let source = drizzle_kit::fixtures_dir().join("02_drop_table/expected");
    copy_tree(&source, &kit);
    copy_tree(&source, &app);
    let before = tree(&app);
    let up = drizzle1::kit_up(&kit);
    let kit_says = format!(
        "{}{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(
        kit_says.contains("migration 0001_after sorts before its parent 0000_before"),
        "{kit_says}"
    );
    assert_eq!(tree(&kit), before, "drizzle-kit changed nothing");
    let run = migration(&["upgrade-folder", "--dir", app.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 1, "{}", run.all());
    let said = run.all();
    assert!(
        said.contains("journal entries 0000_before and 0001_after of")
            && said.contains("are less than a second apart")
            && said.contains("nothing was changed")
            && said.contains("move both entries out of that second"),
        "{said}"
    );
    assert_eq!(tree(&app), before, "upgrade-folder changed nothing");
    let siblings: Vec<_> = fs::read_dir(&work).expect("readable").collect();
    assert_eq!(siblings.len(), 2, "no work folder is left beside it");
}

/// Entries in one second whose folder names happen to sort right: drizzle-kit converts them,
/// app-db refuses (a deliberate difference: two folders with one time are ambiguous to
/// drizzle-orm 1.0's upgrade of a 0.x table, and the build refuses them).
#[test]
fn entries_in_one_second_are_refused_even_when_they_sort() {
    let work = temp_dir("up-second");
    let dir = work.join("m");
    copy_tree(
        &drizzle_kit::fixtures_dir().join("03_add_column/expected"),
        &dir,
    );
    let path = dir.join("meta/_journal.json");
    let text = fs::read_to_string(&path)
        .expect("journal")
        .replace("0000_before", "0000_a")
        .replace("0001_after", "0001_b");
    let mut journal: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let second = journal["entries"][0]["when"].as_i64().expect("when") / 1000 * 1000;
    journal["entries"][0]["when"] = serde_json::json!(second + 100);
    journal["entries"][1]["when"] = serde_json::json!(second + 900);
    fs::write(&path, serde_json::to_string_pretty(&journal).expect("JSON")).expect("writable");
    fs::rename(dir.join("0000_before.sql"), dir.join("0000_a.sql")).expect("rename");
    fs::rename(dir.join("0001_after.sql"), dir.join("0001_b.sql")).expect("rename");
    let before = tree(&dir);
    let run = migration(&["upgrade-folder", "--dir", dir.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.all().contains("0000_a and 0001_b"), "{}", run.all());
    assert_eq!(tree(&dir), before);
    // drizzle-kit up converts the same folder: two folders with one time.
    drizzle1::ensure_project();
    let kit = work.join("kit");
    copy_tree(&dir, &kit);
    let up = drizzle1::kit_up(&kit);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let folders: Vec<String> = fs::read_dir(&kit)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), 2, "{folders:?}");
    assert_eq!(folders[0][..14], folders[1][..14], "{folders:?}");
}

/// A clean conversion of the project's folder (no snapshots), for the interrupted runs to
/// end equal to.
fn project_converted() -> BTreeMap<String, Vec<u8>> {
    let work = temp_dir("up-clean");
    let dir = work.join("migrations");
    copy_tree(&migrations_dir(), &dir);
    let run = migration(&["upgrade-folder", "--dir", dir.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 0, "{}", run.all());
    let converted = tree(&dir);
    assert!(
        converted.contains_key("20250304101237_auth/migration.sql"),
        "{converted:?}"
    );
    assert!(!converted.keys().any(|k| k.starts_with("meta")));
    converted
}

#[test]
fn an_interrupted_conversion_is_finished_by_a_rerun() {
    let clean = project_converted();
    let dir_in = |work: &Path| work.join("migrations");
    let sibling = |work: &Path, suffix: &str| work.join(format!("migrations.{suffix}"));
    let rerun = |dir: &Path| migration(&["upgrade-folder", "--dir", dir.to_str().expect("UTF-8")]);

    // Interrupted while writing: the journal folder is intact, a partial one beside it.
    let work = temp_dir("up-partial");
    copy_tree(&migrations_dir(), &dir_in(&work));
    fs::create_dir_all(sibling(&work, "upgrade-partial").join("20250304101237_auth"))
        .expect("mkdir");
    let run = rerun(&dir_in(&work));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("left by an interrupted conversion"),
        "{}",
        run.all()
    );
    assert_eq!(tree(&dir_in(&work)), clean);
    assert_eq!(fs::read_dir(&work).expect("readable").count(), 1);

    // Interrupted between the two renames: no folder, the complete new one and the old one
    // beside it.
    let work = temp_dir("up-swap");
    copy_tree(&migrations_dir(), &sibling(&work, "upgrade-journal"));
    let ready = sibling(&work, "upgrade-ready");
    fs::create_dir_all(&ready).expect("mkdir");
    for (name, bytes) in &clean {
        let path = ready.join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, bytes).expect("writable");
    }
    let run = rerun(&dir_in(&work));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("finished an interrupted conversion"),
        "{}",
        run.all()
    );
    assert_eq!(tree(&dir_in(&work)), clean);
    assert_eq!(fs::read_dir(&work).expect("readable").count(), 1);

    // Interrupted before the old folder was deleted.
    let work = temp_dir("up-cleanup");
    copy_tree(&migrations_dir(), &sibling(&work, "upgrade-journal"));
    for (name, bytes) in &clean {
        let path = dir_in(&work).join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, bytes).expect("writable");
    }
    let run = rerun(&dir_in(&work));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("already in the drizzle-kit 1.0 layout"),
        "{}",
        run.all()
    );
    assert_eq!(fs::read_dir(&work).expect("readable").count(), 1);

    // A rerun on a converted folder does nothing.
    let run = rerun(&dir_in(&work));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(tree(&dir_in(&work)), clean);
}

#[test]
fn dry_run_and_a_missing_snapshot_change_nothing() {
    let work = temp_dir("up-dry");
    let dir = work.join("m");
    copy_tree(&drizzle::drizzle_kit_fixture_dir(), &dir);
    let before = tree(&dir);
    let run = migration(&[
        "upgrade-folder",
        "--dry-run",
        "--dir",
        dir.to_str().expect("UTF-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("0001_members.sql → 20261124221051_members/migration.sql"),
        "{}",
        run.stdout
    );
    assert_eq!(tree(&dir), before);

    fs::remove_file(dir.join("meta/0001_snapshot.json")).expect("removable");
    let before = tree(&dir);
    let run = migration(&["upgrade-folder", "--dir", dir.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.all()
            .contains("meta/0001_snapshot.json (entry 0001_members)"),
        "{}",
        run.all()
    );
    assert_eq!(tree(&dir), before);
    assert_eq!(fs::read_dir(&work).expect("readable").count(), 1);
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.expect("connect")
}

/// Bookkeeping rows of either shape: id, hash, created_at, name, whether applied_at is set.
async fn rows(url: &str) -> Vec<(i32, String, Option<i64>, Option<String>, bool)> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_as(
        "select id, hash, created_at, to_jsonb(t) ->> 'name', (to_jsonb(t) ->> 'applied_at') is not null \
         from drizzle.__drizzle_migrations t order by id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read the bookkeeping rows")
}

/// The must-show, in the suite: the project's folder converted by upgrade-folder is
/// applied by app-db (read at run time with the build's resolver; `drizzle1/upgrade-in-copy.sh`
/// builds a copy from it) and by drizzle-orm 1.0 on two fresh databases, with identical rows
/// and schema dumps; and a database migrated by app-db on the journal folder, moved to the
/// converted folder, ends like one drizzle-orm 0.45 migrated and drizzle-orm 1.0 then moved.
#[tokio::test]
async fn the_project_s_folder_converted_applies_like_drizzle_orm_1() {
    use app_db::testing::TestDatabase;
    drizzle1::ensure_project();
    let work = temp_dir("up-project");
    let dir = work.join("migrations");
    copy_tree(&migrations_dir(), &dir);
    let run = migration(&["upgrade-folder", "--dir", dir.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 0, "{}", run.all());
    let converted = drizzle::load_static(&dir);
    assert_eq!(converted.len(), app_db::MIGRATIONS.len());
    assert!(
        converted
            .iter()
            .all(|m| m.layout == app_db::journal::Layout::Folders)
    );

    let app_db_db = TestDatabase::empty().await.expect("a test database");
    let drizzle_db = TestDatabase::empty().await.expect("a test database");
    let mut conn = connect(&app_db_db.url).await;
    let report = app_db::Migrator::with_migrations(converted)
        .run(&mut conn)
        .await
        .expect("app-db applies the converted folder");
    assert_eq!(report.applied.len(), converted.len());
    drizzle1::migrate(&dir, &drizzle_db.url, None).expect("drizzle-orm 1.0 applies it");
    let (app, drizzle) = (rows(&app_db_db.url).await, rows(&drizzle_db.url).await);
    assert_eq!(app.len(), converted.len());
    assert!(app.iter().all(|r| r.3.is_some() && r.4), "{app:?}");
    assert_eq!(app, drizzle, "bookkeeping rows: app-db vs drizzle-orm 1.0");
    let (app_dump, drizzle_dump) = (
        drizzle::schema_dump(&app_db_db.url),
        drizzle::schema_dump(&drizzle_db.url),
    );
    assert!(app_dump.contains("CREATE TABLE public.document_chunk"));
    assert!(
        app_dump == drizzle_dump,
        "{}",
        drizzle::first_difference(&drizzle_dump, &app_dump)
    );

    // Moving databases: journal first, then the converted folder.
    let moved_by_app_db = TestDatabase::empty().await.expect("a test database");
    let moved_by_drizzle = TestDatabase::empty().await.expect("a test database");
    let mut conn = connect(&moved_by_app_db.url).await;
    app_db::Migrator::new()
        .run(&mut conn)
        .await
        .expect("app-db on the journal folder");
    let report = app_db::Migrator::with_migrations(converted)
        .run(&mut conn)
        .await
        .expect("app-db on the converted folder");
    assert!(report.applied.is_empty());
    assert_eq!(report.upgraded, Some(converted.len()));
    drizzle::drizzle_migrate(&migrations_dir(), &moved_by_drizzle.url, None);
    drizzle1::migrate(&dir, &moved_by_drizzle.url, None).expect("drizzle-orm 1.0 upgrades");
    let (app, drizzle) = (
        rows(&moved_by_app_db.url).await,
        rows(&moved_by_drizzle.url).await,
    );
    assert!(app.iter().all(|r| r.3.is_some() && !r.4), "{app:?}");
    assert_eq!(app, drizzle, "moved databases: app-db vs drizzle-orm");
    assert!(
        drizzle::schema_dump(&moved_by_app_db.url) == drizzle_dump,
        "a moved database has the schema of a new one"
    );
    assert!(drizzle::schema_dump(&moved_by_drizzle.url) == drizzle_dump);
    let _ = fs::remove_dir_all(&work);
}
