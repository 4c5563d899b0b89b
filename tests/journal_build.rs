//! Compile-time checks of the migration folder, with real `cargo build`s.
//!
//! Each broken fixture under `tests/fixtures/journal/` is built with `tests/build-check/`, a
//! tiny crate whose build.rs is the same shim as app-db's and which compiles the same
//! `src/journal/` and `src/migrations.rs` through `#[path]`. It has its own workspace and its own
//! target dir (`<target>/build-check`), so these builds neither wait on the lock of the
//! `cargo test` that runs them nor recompile app-db's dependencies. The builds share that target
//! dir and so run one at a time (cargo's lock); each takes well under a second once the first
//! has compiled sha2, serde_json and thiserror.
//!
//! cargo must be runnable: a missing cargo fails these tests, it never skips them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use app_db::journal::{self, JournalWarning};

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(case: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/journal").join(case)
}

/// `cargo` as chosen by the `cargo test` running us, else from PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The target dir of this test binary (`<target>/debug/deps/<exe>` -> `<target>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps")
        .to_owned()
}

/// Runs `cargo <subcommand>` on the fixture crate with the migration folder `dir`.
fn build_check(subcommand: &str, dir: &Path) -> Output {
    build_check_in(&target_dir().join("build-check"), subcommand, dir)
}

/// [`build_check`] with the fixture crate's target dir `target`.
fn build_check_in(target: &Path, subcommand: &str, dir: &Path) -> Output {
    let mut command = cargo();
    command
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(workspace_root().join("tests/build-check/Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env(journal::codegen::MIGRATIONS_DIR_ENV, dir)
        // Colour codes would split the messages we look for.
        .env("CARGO_TERM_COLOR", "never");
    if subcommand == "run" {
        command.arg("--quiet");
    }
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo ({error}); these tests need cargo"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Builds `dir` and asserts the build fails with each of `expected` in its output.
fn assert_build_fails(dir: &Path, expected: &[&str]) {
    assert_failure(build_check("build", dir), dir, expected);
}

fn assert_failure(output: Output, dir: &Path, expected: &[&str]) {
    let stderr = stderr(&output);
    assert!(
        !output.status.success(),
        "the build must fail for {}:\n{stderr}",
        dir.display()
    );
    assert!(
        stderr.contains("app-db cannot embed the migration folder"),
        "the build script's message is shown:\n{stderr}"
    );
    for expected in expected {
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
    }
}

fn assert_case_fails(case: &str, expected: &[&str]) {
    assert_build_fails(&fixture(case), expected);
}

#[test]
fn journal_missing() {
    assert_case_fails(
        "journal-missing",
        &[
            "journal-missing/meta/_journal.json not found",
            "<YYYYMMDDHHMMSS>_<name>/migration.sql",
        ],
    );
}

#[test]
fn a_folder_that_does_not_exist() {
    assert_build_fails(
        &fixture("no-such-folder"),
        &[
            "migration folder",
            "no-such-folder not found; point APP_DB_MIGRATIONS_DIR at the folder",
            "(folder chosen by APP_DB_MIGRATIONS_DIR=",
        ],
    );
}

#[test]
fn a_folder_without_migrations() {
    assert_case_fails(
        "empty-folder",
        &["empty-folder holds no migrations: a drizzle-kit 0.x folder has meta/_journal.json"],
    );
}

#[test]
fn both_layouts_at_once() {
    assert_case_fails(
        "mixed-layouts",
        &[
            "mixed-layouts mixes both layouts",
            "mixed-layouts/meta/_journal.json (drizzle-kit 0.x)",
            "migration folder",
            "mixed-layouts/20261124221051_b",
            "migration upgrade-folder",
        ],
    );
}

#[test]
fn v1_leftover_meta() {
    assert_case_fails(
        "v1-leftover-meta",
        &[
            "v1-leftover-meta is in the drizzle-kit 1.0 layout but still has",
            "v1-leftover-meta/meta, a leftover of the journal layout",
            "delete meta/",
        ],
    );
}

#[test]
fn v1_bad_folder_name() {
    assert_case_fails(
        "v1-bad-name",
        &[
            "v1-bad-name/second is not named <YYYYMMDDHHMMSS>_<name>",
            "rename it like `20250304101237_second`",
        ],
    );
}

#[test]
fn v1_bad_folder_time() {
    assert_case_fails(
        "v1-bad-time",
        &["v1-bad-time/20261324221047_a starts with 20261324221047, which is no UTC date and time"],
    );
}

#[test]
fn v1_missing_migration_sql() {
    assert_case_fails(
        "v1-missing-sql",
        &["v1-missing-sql/20261124221051_b has no migration.sql; drizzle-orm 1.0 silently skips"],
    );
}

#[test]
fn v1_two_folders_in_one_second() {
    assert_case_fails(
        "v1-duplicate-time",
        &[
            "v1-duplicate-time/20261124221047_a and",
            "v1-duplicate-time/20261124221047_b have the same time 20261124221047",
            "rename the later one to a later second",
        ],
    );
}

#[test]
fn v1_stray_sql_file() {
    assert_case_fails(
        "v1-stray-sql",
        &[
            "v1-stray-sql/0001_b.sql does not belong in a drizzle-kit 1.0 migration folder",
            "<YYYYMMDDHHMMSS>_<name>/migration.sql",
        ],
    );
}

#[test]
fn v1_stray_file_in_a_migration_folder() {
    assert_case_fails(
        "v1-stray-in-folder",
        &[
            "v1-stray-in-folder/20261124221047_a/down.sql does not belong",
            "holds migration.sql and snapshot.json only",
        ],
    );
}

#[test]
fn v1_empty_migration() {
    assert_case_fails(
        "v1-empty-migration",
        &[
            "v1-empty-migration/20261124221047_a/migration.sql (entry `20261124221047_a`) has no SQL statement",
        ],
    );
}

#[test]
fn invalid_json() {
    assert_case_fails(
        "invalid-json",
        &["invalid-json/meta/_journal.json is not valid JSON"],
    );
}

#[test]
fn wrong_shape() {
    assert_case_fails(
        "wrong-shape",
        &[
            "field `entries[0].when` must be an integer (epoch milliseconds), found the string \"1795557463624\"",
        ],
    );
}

#[test]
fn wrong_dialect() {
    assert_case_fails(
        "wrong-dialect",
        &["dialect is \"mysql\", expected \"postgresql\""],
    );
}

#[test]
fn missing_file() {
    assert_case_fails(
        "missing-file",
        &["missing-file/0001_b.sql not found, but the journal has entry `0001_b` (idx 1)"],
    );
}

#[test]
fn unlisted_file() {
    assert_case_fails(
        "unlisted-file",
        &["unlisted-file/0002_c.sql has no entry in meta/_journal.json"],
    );
}

#[test]
fn duplicate_tag() {
    assert_case_fails(
        "duplicate-tag",
        &["tag `0000_a` appears twice (entries[0] and entries[1])"],
    );
}

#[test]
fn duplicate_idx() {
    assert_case_fails("duplicate-idx", &["idx 0 appears twice (`a` and `b`)"]);
}

#[test]
fn idx_out_of_order() {
    assert_case_fails(
        "idx-out-of-order",
        &["entry `b` is entries[1] but has idx 2, expected 1"],
    );
}

#[test]
fn when_not_increasing() {
    assert_case_fails(
        "when-not-increasing",
        &["entry `0001_b` has when 1795557463000, not after 1795557463624"],
    );
}

#[test]
fn tag_prefix_mismatch() {
    assert_case_fails(
        "tag-prefix-mismatch",
        &["tag `0008_saas_metrics_daily` starts with 0008 but its idx is 1"],
    );
}

#[test]
fn not_utf8() {
    assert_case_fails(
        "not-utf8",
        &["not-utf8/0000_a.sql (entry `0000_a`) is not valid UTF-8"],
    );
}

#[test]
fn empty_migration() {
    assert_case_fails(
        "empty-migration",
        &["empty-migration/0000_a.sql (entry `0000_a`) has no SQL statement"],
    );
}

#[test]
fn unknown_directive() {
    assert_case_fails(
        "unknown-directive",
        &[
            "starts with unknown directive `-- app-db:no-transactions`",
            "known directives: -- app-db:no-transaction",
        ],
    );
}

/// What the fixture crate embedded, printed by its binary.
fn embedded(dir: &Path) -> serde_json::Value {
    embedded_in(&target_dir().join("build-check"), dir)
}

fn embedded_in(target: &Path, dir: &Path) -> serde_json::Value {
    let output = build_check_in(target, "run", dir);
    assert!(
        output.status.success(),
        "the build of {} must succeed:\n{}",
        dir.display(),
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("the fixture binary prints JSON")
}

/// The run-time view of `dir` in the same JSON shape as [`embedded`].
fn loaded(dir: &Path) -> serde_json::Value {
    let loaded = journal::load_dir(dir).expect("the folder is valid at run time too");
    let migrations: Vec<serde_json::Value> = loaded
        .migrations
        .iter()
        .map(|migration| {
            serde_json::json!({
                "idx": migration.idx,
                "tag": migration.tag,
                "name": migration.name,
                "layout": migration.layout.label(),
                "when": migration.when,
                "breakpoints": migration.breakpoints,
                "transaction": migration.transaction,
                "sql": migration.sql,
                "hash": migration.hash,
                "statements": migration.statements().collect::<Vec<_>>(),
            })
        })
        .collect();
    let dir = fs::canonicalize(dir).expect("the folder exists");
    serde_json::json!({ "dir": dir, "layout": loaded.layout.label(), "migrations": migrations })
}

#[test]
fn a_folder_written_by_drizzle_kit_builds_with_drizzle_orm_hashes() {
    let dir = fixture("drizzle-kit");
    let embedded = embedded(&dir);
    assert_eq!(embedded, loaded(&dir), "compile time and run time agree");

    // tests/fixtures/journal/drizzle-orm-read.json is drizzle-orm 0.45.4's own
    // readMigrationFiles() of this folder: hash, when and split pieces.
    let drizzle: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(fixture("drizzle-orm-read.json")).expect("fixture readable"),
    )
    .expect("fixture is JSON");
    let embedded = embedded["migrations"].as_array().expect("a list");
    let drizzle = drizzle.as_array().expect("a list");
    assert_eq!(embedded.len(), 3);
    assert_eq!(embedded.len(), drizzle.len());
    for (ours, theirs) in embedded.iter().zip(drizzle) {
        assert_eq!(ours["hash"], theirs["hash"]);
        assert_eq!(ours["when"], theirs["when"]);
        assert_eq!(ours["breakpoints"], theirs["breakpoints"]);
        let sql = ours["sql"].as_str().expect("sql is text");
        let pieces: Vec<&str> = app_db::journal::split_statements(sql);
        assert_eq!(serde_json::json!(pieces), theirs["pieces"]);

        // And the coreutils digest of the file on disk.
        let file = dir.join(format!(
            "{}.sql",
            ours["tag"].as_str().expect("tag is text")
        ));
        let sha256sum = Command::new("sha256sum")
            .arg(&file)
            .output()
            .expect("sha256sum is installed");
        let sha256sum = String::from_utf8_lossy(&sha256sum.stdout);
        assert_eq!(
            Some(ours["hash"].as_str().expect("hash is text")),
            sha256sum.split(' ').next()
        );
    }
    // The custom migration keeps drizzle-kit's placeholder comment as part of its first piece.
    assert!(embedded[2]["sql"].as_str().is_some_and(|sql| {
        sql.starts_with("-- Custom SQL migration file, put your code below! --")
    }));
}

/// `drizzle-kit up` 1.0.0-rc.5's conversion of the drizzle-kit fixture builds, and app-db reads
/// it exactly as drizzle-orm 1.0.0-rc.5's `readMigrationFiles` does.
#[test]
fn a_folder_converted_by_drizzle_kit_1_builds_with_drizzle_orm_1_values() {
    let dir = fixture("drizzle-kit-v1");
    let embedded = embedded(&dir);
    assert_eq!(embedded, loaded(&dir), "compile time and run time agree");
    assert_eq!(embedded["layout"], "folders");

    // tests/fixtures/journal/drizzle-orm-1-read.json: `node tests/drizzle1-interop/migrate.mjs
    // read` of this folder, drizzle-orm 1.0's own reading.
    let drizzle: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(fixture("drizzle-orm-1-read.json")).expect("fixture readable"),
    )
    .expect("fixture is JSON");
    let embedded = embedded["migrations"].as_array().expect("a list");
    let drizzle = drizzle.as_array().expect("a list");
    assert_eq!(embedded.len(), 3);
    assert_eq!(embedded.len(), drizzle.len());
    for (ours, theirs) in embedded.iter().zip(drizzle) {
        assert_eq!(ours["hash"], theirs["hash"]);
        assert_eq!(ours["when"], theirs["folderMillis"]);
        assert_eq!(ours["name"], theirs["name"]);
        assert_eq!(ours["tag"], theirs["name"]);
        assert_eq!(ours["breakpoints"], theirs["bps"]);
        let sql = ours["sql"].as_str().expect("sql is text");
        let pieces: Vec<&str> = app_db::journal::split_statements(sql);
        assert_eq!(serde_json::json!(pieces), theirs["sql"]);
    }
    // The same migrations as the journal fixture it was converted from: same text and hash,
    // and the journal entries' 1.0 names are the converted folders' names.
    let journal = embedded_in(&target_dir().join("build-check"), &fixture("drizzle-kit"));
    for (v1, v0) in embedded
        .iter()
        .zip(journal["migrations"].as_array().expect("a list"))
    {
        assert_eq!(v1["hash"], v0["hash"]);
        assert_eq!(v1["name"], v0["name"]);
        assert_eq!(v0["layout"], "journal");
    }
}

#[test]
fn v1_directives_and_other_files() {
    let dir = fixture("v1-no-transaction");
    let embedded = embedded(&dir);
    assert_eq!(embedded, loaded(&dir));
    assert_eq!(embedded["migrations"][0]["transaction"], true);
    assert_eq!(embedded["migrations"][1]["transaction"], false);
    assert_eq!(
        embedded["migrations"][1]["tag"],
        "20261124221051_a_id_concurrently"
    );
}

#[test]
fn directives_snapshots_and_other_files() {
    let dir = fixture("no-transaction");
    let embedded = embedded(&dir);
    assert_eq!(embedded, loaded(&dir));
    assert_eq!(embedded["migrations"][0]["transaction"], true);
    assert_eq!(embedded["migrations"][1]["transaction"], false);
}

#[test]
fn an_empty_journal_builds_zero_migrations() {
    let dir = fixture("empty-journal");
    let embedded = embedded(&dir);
    assert_eq!(embedded, loaded(&dir));
    assert_eq!(embedded["migrations"], serde_json::json!([]));
}

#[test]
fn crlf_and_bom_build_with_warnings() {
    let dir = fixture("crlf-bom");
    let output = build_check("build", &dir);
    let stderr = stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("0000_a.sql (entry `0000_a`) has CRLF line endings"),
        "{stderr}"
    );
    assert!(stderr.contains("*.sql text eol=lf"), "{stderr}");
    assert!(
        stderr.contains("0001_b.sql (entry `0001_b`) starts with a UTF-8 byte order mark"),
        "{stderr}"
    );
    let warnings = journal::load_dir(&dir).expect("valid").warnings;
    assert!(matches!(
        warnings.as_slice(),
        [
            JournalWarning::CrlfLineEndings { .. },
            JournalWarning::ByteOrderMark { .. }
        ]
    ));
}

/// cargo's `rerun-if-changed` on a folder compares the newest mtime inside it, so adding a file
/// must rerun the build script. Checked with a copy of the drizzle-kit fixture in a temp folder
/// and a target dir of its own: the other tests change `APP_DB_MIGRATIONS_DIR` between builds,
/// which alone reruns the script and would hide a missing rerun here.
#[test]
fn adding_editing_and_removing_files_reruns_the_build_script() {
    let target = target_dir().join("build-check-rerun");
    let dir = target.join("migrations");
    let _ = fs::remove_dir_all(&dir);
    copy_dir(&fixture("drizzle-kit"), &dir);
    let build = || build_check_in(&target, "build", &dir);
    let embedded = || embedded_in(&target, &dir);
    assert_eq!(embedded()["migrations"].as_array().map(Vec::len), Some(3));

    // Nothing changed: the build script must not rerun (else the checks below prove nothing).
    let output = build();
    assert!(output.status.success());
    assert!(
        !stderr(&output).contains("Compiling journal-build-check"),
        "an unchanged folder must not rebuild:\n{}",
        stderr(&output)
    );

    // A new, unlisted file: only the folder watch can notice it.
    fs::write(dir.join("0003_new.sql"), "SELECT 1;\n").expect("writable");
    assert_failure(
        build(),
        &dir,
        &["0003_new.sql has no entry in meta/_journal.json"],
    );

    // Listing it in the journal makes the build pass with four migrations.
    let journal_path = dir.join("meta/_journal.json");
    let mut journal: serde_json::Value =
        serde_json::from_slice(&fs::read(&journal_path).expect("readable")).expect("JSON");
    journal["entries"]
        .as_array_mut()
        .expect("entries")
        .push(serde_json::json!({
            "idx": 3, "version": "7", "when": 1795558260000_i64, "tag": "0003_new", "breakpoints": true
        }));
    fs::write(&journal_path, journal.to_string()).expect("writable");
    assert_eq!(embedded()["migrations"].as_array().map(Vec::len), Some(4));

    // Editing a file in place changes the embedded text and hash.
    fs::write(dir.join("0003_new.sql"), "SELECT 2;\n").expect("writable");
    let edited = embedded();
    assert_eq!(edited["migrations"][3]["sql"], "SELECT 2;\n");
    assert_eq!(edited, loaded(&dir));

    // Removing a listed file fails the build.
    fs::remove_file(dir.join("0003_new.sql")).expect("removable");
    assert_failure(
        build(),
        &dir,
        &["0003_new.sql not found, but the journal has entry `0003_new`"],
    );
    let _ = fs::remove_dir_all(&dir);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("creatable");
    for entry in fs::read_dir(from).expect("readable") {
        let entry = entry.expect("readable");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("stat").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copyable");
        }
    }
}

/// The same for a 1.0 folder: a new migration folder, an edited `migration.sql` and a stray
/// file in a migration folder are all seen by the next build.
#[test]
fn v1_adding_editing_and_stray_files_rerun_the_build_script() {
    let target = target_dir().join("build-check-rerun-v1");
    let dir = target.join("migrations");
    let _ = fs::remove_dir_all(&dir);
    copy_dir(&fixture("drizzle-kit-v1"), &dir);
    let build = || build_check_in(&target, "build", &dir);
    let embedded = || embedded_in(&target, &dir);
    assert_eq!(embedded()["migrations"].as_array().map(Vec::len), Some(3));
    let output = build();
    assert!(output.status.success());
    assert!(
        !stderr(&output).contains("Compiling journal-build-check"),
        "an unchanged folder must not rebuild:\n{}",
        stderr(&output)
    );

    let new = dir.join("20261124221100_new");
    fs::create_dir(&new).expect("creatable");
    fs::write(new.join("migration.sql"), "SELECT 1;\n").expect("writable");
    let four = embedded();
    assert_eq!(four["migrations"].as_array().map(Vec::len), Some(4));
    assert_eq!(four["migrations"][3]["name"], "20261124221100_new");

    fs::write(new.join("migration.sql"), "SELECT 2;\n").expect("writable");
    let edited = embedded();
    assert_eq!(edited["migrations"][3]["sql"], "SELECT 2;\n");
    assert_eq!(edited, loaded(&dir));

    fs::write(new.join("notes.txt"), "x").expect("writable");
    assert_failure(
        build(),
        &dir,
        &["20261124221100_new/notes.txt does not belong"],
    );
    let _ = fs::remove_dir_all(&dir);
}
