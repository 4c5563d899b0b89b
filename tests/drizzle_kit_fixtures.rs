//! The generate fixtures (`tests/fixtures/generate/<class>/expected/`) are the real drizzle-kit
//! 0.31.11's output: each class is regenerated here with the pinned drizzle-kit in a temporary
//! folder and must equal the committed files byte for byte, except for what drizzle-kit draws
//! afresh on every run (the journal's `when`, the snapshots' `id` and `prevId`), which must
//! form the same chain.
//!
//! Needs Node.js 20+ and npm: the first test installs the pinned packages with `npm ci`.

#[path = "common/drizzle.rs"]
mod drizzle;
#[path = "common/drizzle_kit.rs"]
mod drizzle_kit;

use std::path::Path;

use drizzle_kit::{fixture_classes, fixtures_dir, read, read_json as json};
use serde_json::Value;

const ROOT_PREV_ID: &str = "00000000-0000-0000-0000-000000000000";

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with('4')
}

/// Runs drizzle-kit on `class`'s before.ts then after.ts and compares with `expected/`.
fn regenerate_and_compare(class: &str) {
    let dir = fixtures_dir().join(class);
    let work = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("drizzle-kit-fixtures")
        .join(format!("{class}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let out = work.join("out");
    // A class whose change drizzle-kit asks about (a rename) answers from its `answers` file.
    let answers = dir.join("answers");
    for (step, file) in [("before", "0000_before.sql"), ("after", "0001_after.sql")] {
        let answering = (step == "after" && answers.is_file()).then_some(answers.as_path());
        let written =
            drizzle_kit::generate_answering(&dir.join(format!("{step}.ts")), &out, step, answering)
                .unwrap_or_else(|e| panic!("{class}: {e}"))
                .unwrap_or_else(|| panic!("{class}: drizzle-kit found no changes in {step}.ts"));
        assert_eq!(written, out.join(file));
    }
    let expected = dir.join("expected");

    let mut files: Vec<String> = Vec::new();
    for folder in [&out, &out.join("meta")] {
        for entry in std::fs::read_dir(folder).expect("read the output folder") {
            let entry = entry.expect("folder entry");
            if entry.file_type().expect("file type").is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(&out)
                    .expect("inside out")
                    .to_owned();
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    assert_eq!(
        files,
        [
            "0000_before.sql",
            "0001_after.sql",
            "meta/0000_snapshot.json",
            "meta/0001_snapshot.json",
            "meta/_journal.json"
        ],
        "{class}: drizzle-kit wrote other files"
    );

    for sql in ["0000_before.sql", "0001_after.sql"] {
        assert_eq!(
            read(&out.join(sql)),
            read(&expected.join(sql)),
            "{class}/{sql} is not what the pinned drizzle-kit writes: regenerate the fixtures (tests/fixtures/generate/README.md)"
        );
    }

    // The journal, with this run's `when` values put back to the committed ones.
    let mut journal = read(&out.join("meta/_journal.json"));
    let fresh = json(&out.join("meta/_journal.json"));
    let committed = json(&expected.join("meta/_journal.json"));
    let whens = |j: &Value| -> Vec<i64> {
        j["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["when"].as_i64().expect("when"))
            .collect()
    };
    let (fresh_when, committed_when) = (whens(&fresh), whens(&committed));
    assert!(fresh_when[0] < fresh_when[1] && committed_when[0] < committed_when[1]);
    for (f, c) in fresh_when.iter().zip(&committed_when) {
        journal = journal.replace(&format!("\"when\": {f},"), &format!("\"when\": {c},"));
    }
    assert_eq!(
        journal,
        read(&expected.join("meta/_journal.json")),
        "{class}: journal"
    );

    // The snapshots, with this run's ids put back to the committed ones; the chain must be
    // the same: 0000 hangs off the all-zero id, 0001 off 0000.
    let ids = |folder: &Path| -> Vec<(String, String)> {
        ["0000", "0001"]
            .iter()
            .map(|n| {
                let s = json(&folder.join(format!("meta/{n}_snapshot.json")));
                let id = s["id"].as_str().expect("id").to_string();
                let prev = s["prevId"].as_str().expect("prevId").to_string();
                assert!(
                    is_uuid_v4(&id),
                    "{class}: snapshot id {id:?} is not a uuid v4"
                );
                (id, prev)
            })
            .collect()
    };
    for chain in [ids(&out), ids(&expected)] {
        assert_eq!(chain[0].1, ROOT_PREV_ID, "{class}: first prevId");
        assert_eq!(
            chain[1].1, chain[0].0,
            "{class}: 0001's prevId is 0000's id"
        );
    }
    let (fresh_ids, committed_ids) = (ids(&out), ids(&expected));
    for n in ["0000", "0001"] {
        let mut text = read(&out.join(format!("meta/{n}_snapshot.json")));
        for (f, c) in fresh_ids.iter().zip(&committed_ids) {
            text = text.replace(&f.0, &c.0);
        }
        assert_eq!(
            text,
            read(&expected.join(format!("meta/{n}_snapshot.json"))),
            "{class}: meta/{n}_snapshot.json"
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}

macro_rules! classes {
    ($($test:ident => $class:literal,)*) => {
        $(
            #[test]
            fn $test() {
                regenerate_and_compare($class);
            }
        )*

        /// Every fixture folder has its test above, and every test its folder.
        #[test]
        fn every_fixture_folder_is_checked() {
            let found: Vec<String> = fixture_classes()
                .iter()
                .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
                .collect();
            assert_eq!(found, [$($class),*]);
        }
    };
}

classes! {
    create_table => "01_create_table",
    drop_table => "02_drop_table",
    add_column => "03_add_column",
    drop_column => "04_drop_column",
    type_widen => "05_type_widen",
    type_narrow => "06_type_narrow",
    not_null_set => "07_not_null_set",
    not_null_drop => "08_not_null_drop",
    default_set => "09_default_set",
    default_change => "10_default_change",
    default_drop => "11_default_drop",
    primary_key_single => "12_primary_key_single",
    primary_key_composite => "13_primary_key_composite",
    unique_single => "14_unique_single",
    unique_composite => "15_unique_composite",
    foreign_key_add => "16_foreign_key_add",
    foreign_key_change_action => "17_foreign_key_change_action",
    foreign_key_drop => "18_foreign_key_drop",
    index_add => "19_index_add",
    index_drop => "20_index_drop",
    index_multi_column => "21_index_multi_column",
    enum_create => "22_enum_create",
    enum_add_value_end => "23_enum_add_value_end",
    enum_add_value_before => "24_enum_add_value_before",
    enum_drop => "25_enum_drop",
    vector_column => "26_vector_column",
    hnsw_index => "27_hnsw_index",
    type_change_with_default => "28_type_change_with_default",
    vector_dimension_change => "29_vector_dimension_change",
    drop_referenced_table_and_fk => "30_drop_referenced_table_and_fk",
    drop_referenced_table_and_column => "31_drop_referenced_table_and_column",
    enum_value_remove => "32_enum_value_remove",
    generated_column => "33_generated_column",
    two_changes_one_column => "34_two_changes_one_column",
    check_add => "35_check_add",
    unique_index_partial => "36_unique_index_partial",
    column_rename => "37_column_rename",
    hnsw_index_with => "38_hnsw_index_with",
}

/// The helper's statement splitting, on drizzle-kit's own two-statement output.
#[test]
fn statements_split_on_the_breakpoint_and_trim() {
    let sql = read(&fixtures_dir().join("17_foreign_key_change_action/expected/0001_after.sql"));
    let statements = drizzle_kit::statements(&sql);
    assert_eq!(statements.len(), 2);
    assert!(statements[0].starts_with("ALTER TABLE \"project\" DROP CONSTRAINT"));
    assert!(statements[0].ends_with(';') && statements[1].ends_with(';'));
    assert_eq!(drizzle_kit::statements(""), Vec::<String>::new());
}
