//! `generate` against the real drizzle-kit 0.31.11, statement for statement.
//!
//! Each case of `tests/fixtures/generate/<class>/` holds a TypeScript schema before and after
//! one change and the SQL the real drizzle-kit wrote for each (`expected/`). Here the "after"
//! schema is written as SeaORM entities (plus the supplement where drizzle's schema says what
//! attributes cannot); `generate` runs on the "before" migration and must write exactly
//! drizzle-kit's `0001_after.sql`, byte for byte, after its own verification on scratch
//! databases.

#[path = "generate_cases/mod.rs"]
mod cases;

use std::path::PathBuf;

use app_db::Migration;
use app_db::generate::{Migrations, Options, entities_by_prefix, generate, render};
use app_db::supplement::Supplement;
use app_db::testing::TestServer;

fn fixture(class: &str, file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/generate")
        .join(class)
        .join("expected")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the fixture {}: {e}", path.display()))
}

/// Generates `prefix`'s entities against the fixture's "before" migration and compares the
/// file with drizzle-kit's.
async fn matches_drizzle_kit(
    class: &str,
    prefix: &str,
    supplement: &Supplement,
    allow_drop: bool,
    difference: Option<(&str, &str)>,
) {
    let before: &'static str = Box::leak(fixture(class, "0000_before.sql").into_boxed_str());
    let mut expected = fixture(class, "0001_after.sql");
    // A deliberate difference (docs/cli.md): drizzle-kit's text, and what app-db writes instead.
    if let Some((drizzle, app_db)) = difference {
        assert!(
            expected.contains(drizzle),
            "{class}: the fixture no longer has {drizzle:?}"
        );
        expected = expected.replace(drizzle, app_db);
    }
    // drizzle-kit leaves extensions to the user: the ones the case needs exist beforehand.
    let extensions: &'static str = Box::leak(
        supplement
            .extensions
            .iter()
            .map(|e| render::create_extension(e))
            .collect::<Vec<_>>()
            .join("\n")
            .into_boxed_str(),
    );
    let migration = |idx: u32, tag: &'static str, sql: &'static str| Migration {
        idx,
        tag,
        when: i64::from(idx),
        breakpoints: true,
        transaction: true,
        sql,
        hash: "",
    };
    let mut migrations = vec![migration(1, "0000_before", before)];
    if !extensions.is_empty() {
        migrations.insert(0, migration(0, "extensions", extensions));
    }
    let server = TestServer::get().expect("a PostgreSQL server for the tests");
    let options = server.admin_url().parse().expect("the test server's URL");
    let generated = generate(
        &options,
        Migrations::List(&migrations),
        entities_by_prefix(prefix),
        supplement,
        &Options { allow_drop },
    )
    .await
    .unwrap_or_else(|e| panic!("{class}: generate failed: {e}"));
    let written = render::file_text(&generated.plan.sql());
    assert_eq!(
        written, expected,
        "{class}: app-db wrote\n{written}\n--- drizzle-kit wrote\n{expected}"
    );
}

macro_rules! case {
    ($test:ident, $class:literal, $module:literal) => {
        case!($test, $class, $module, Supplement::default(), false);
    };
    ($test:ident, $class:literal, $module:literal, $supplement:expr, $allow_drop:expr) => {
        case!($test, $class, $module, $supplement, $allow_drop, None);
    };
    ($test:ident, $class:literal, $module:literal, $supplement:expr, $allow_drop:expr, $difference:expr) => {
        #[tokio::test]
        async fn $test() {
            matches_drizzle_kit(
                $class,
                concat!("generate_drizzle_kit::cases::", $module, "::*"),
                &$supplement,
                $allow_drop,
                $difference,
            )
            .await;
        }
    };
}

case!(create_table, "01_create_table", "c01");
case!(
    drop_table,
    "02_drop_table",
    "c02",
    Supplement::default(),
    true
);
case!(add_column, "03_add_column", "c03");
case!(
    drop_column,
    "04_drop_column",
    "c04",
    Supplement::default(),
    true
);
case!(type_widen, "05_type_widen", "c05");
// drizzle-kit's statement fails on PostgreSQL (text cannot be cast to integer implicitly).
case!(
    type_narrow,
    "06_type_narrow",
    "c06",
    Supplement::default(),
    true,
    Some((
        "SET DATA TYPE integer;",
        "SET DATA TYPE integer USING \"seats\"::integer;"
    ))
);
case!(not_null_set, "07_not_null_set", "c07");
case!(not_null_drop, "08_not_null_drop", "c08");
case!(default_set, "09_default_set", "c09");
case!(default_change, "10_default_change", "c10");
case!(default_drop, "11_default_drop", "c11");
case!(primary_key_single, "12_primary_key_single", "c12");
case!(primary_key_composite, "13_primary_key_composite", "c13");
case!(unique_single, "14_unique_single", "c14");
case!(unique_composite, "15_unique_composite", "c15");
case!(foreign_key_add, "16_foreign_key_add", "c16");
case!(
    foreign_key_change_action,
    "17_foreign_key_change_action",
    "c17"
);
case!(foreign_key_drop, "18_foreign_key_drop", "c18");
case!(index_add, "19_index_add", "c19");
case!(index_drop, "20_index_drop", "c20");
case!(
    index_multi_column,
    "21_index_multi_column",
    "c21",
    cases::c21::SUPPLEMENT,
    false
);
case!(enum_create, "22_enum_create", "c22");
case!(enum_add_value_end, "23_enum_add_value_end", "c23");
case!(enum_add_value_before, "24_enum_add_value_before", "c24");
case!(
    enum_drop,
    "25_enum_drop",
    "c25",
    Supplement::default(),
    true
);
case!(
    vector_column,
    "26_vector_column",
    "c26",
    cases::c26::SUPPLEMENT,
    false
);
case!(
    hnsw_index,
    "27_hnsw_index",
    "c27",
    cases::c27::SUPPLEMENT,
    false
);
case!(
    hnsw_index_with,
    "28_hnsw_index_with",
    "c28",
    cases::c28::SUPPLEMENT,
    false
);
