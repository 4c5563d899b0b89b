//! `generate` against the real drizzle-kit 0.31.11, statement for statement.
//!
//! Each case of `tests/fixtures/generate/<class>/` holds a TypeScript schema before and after
//! one change and the SQL the real drizzle-kit wrote for each (`expected/`). Here the "after"
//! schema is written as SeaORM entities (plus the supplement where drizzle's schema says what
//! attributes cannot); `generate` runs on the "before" migration and must write exactly
//! drizzle-kit's `0001_after.sql`, byte for byte, after its own verification on scratch
//! databases.
//!
//! Where app-db deliberately writes something else (docs/cli.md, "Deliberate differences from
//! drizzle-kit"), the case names each difference: drizzle-kit's text, app-db's, and why; the
//! fixture must still hold drizzle-kit's text, and where the reason is that drizzle-kit's
//! migration fails, it is run on PostgreSQL and must fail with the SQLSTATE named.

#[path = "generate_cases/mod.rs"]
mod cases;

use std::path::PathBuf;

use app_db::Migration;
use app_db::generate::{Migrations, Options, entities_by_prefix, generate, render};
use app_db::supplement::Supplement;
use app_db::testing::{TestDatabase, TestServer};
use sqlx::Connection;

/// A deliberate difference from drizzle-kit's file.
struct Difference {
    /// Text of drizzle-kit's file.
    drizzle: &'static str,
    /// What app-db writes in its place.
    app_db: &'static str,
    /// Why (docs/cli.md says the same).
    why: &'static str,
}

/// drizzle-kit's `SET DATA TYPE` without `USING`, which PostgreSQL refuses for text -> integer.
const NARROW_USING: Difference = Difference {
    drizzle: "SET DATA TYPE integer;",
    app_db: "SET DATA TYPE integer USING \"seats\"::integer;",
    why: "PostgreSQL has no automatic cast from text to integer: without USING the statement fails",
};

/// drizzle-kit's no-op before a table drop.
const NO_RLS_NOOP: Difference = Difference {
    drizzle: "ALTER TABLE \"organization\" DISABLE ROW LEVEL SECURITY;--> statement-breakpoint\n",
    app_db: "",
    why: "drizzle-kit disables row-level security on a table it drops in the next statement (whenever another table is altered in the same change): it changes nothing, app-db writes none",
};

/// drizzle-kit's drop of a foreign key after `DROP TABLE … CASCADE` already removed it.
const FK_BEFORE_CASCADE: Difference = Difference {
    drizzle: "DROP TABLE \"organization\" CASCADE;--> statement-breakpoint\nALTER TABLE \"project\" DROP CONSTRAINT \"project_organization_id_organization_id_fk\";\n",
    app_db: "ALTER TABLE \"project\" DROP CONSTRAINT \"project_organization_id_organization_id_fk\";\n--> statement-breakpoint\nDROP TABLE \"organization\" CASCADE;",
    why: "DROP TABLE … CASCADE removes the referencing foreign key, so drizzle-kit's later DROP CONSTRAINT fails: app-db drops the foreign key first",
};

fn fixture(class: &str, file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/generate")
        .join(class)
        .join("expected")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the fixture {}: {e}", path.display()))
}

/// drizzle-kit's own migration (`0000_before.sql`, then `0001_after.sql`) on a fresh database
/// with `extensions`: the SQLSTATE of the first statement PostgreSQL refuses, if any.
async fn drizzle_kits_migration_fails(class: &str, extensions: &str) -> Option<String> {
    let db = TestDatabase::empty().await.expect("a test database");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let files = [
        extensions.to_string(),
        fixture(class, "0000_before.sql"),
        fixture(class, "0001_after.sql"),
    ];
    for file in files {
        for statement in file.split("--> statement-breakpoint") {
            if statement.trim().is_empty() {
                continue;
            }
            let applied = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&mut conn)
                .await;
            if let Err(e) = applied {
                return Some(
                    e.as_database_error()
                        .and_then(|d| d.code())
                        .map(|c| c.into_owned())
                        .unwrap_or_else(|| e.to_string()),
                );
            }
        }
    }
    None
}

/// Generates `prefix`'s entities against the fixture's "before" migration and compares the
/// file with drizzle-kit's, up to the `differences` stated; `drizzle_kit_fails`: the SQLSTATE
/// drizzle-kit's own migration fails with (when that is the reason for a difference).
async fn matches_drizzle_kit(
    class: &str,
    prefix: &str,
    supplement: &Supplement,
    allow_drop: bool,
    differences: &[Difference],
    drizzle_kit_fails: Option<&str>,
) {
    let before: &'static str = Box::leak(fixture(class, "0000_before.sql").into_boxed_str());
    let mut expected = fixture(class, "0001_after.sql");
    for difference in differences {
        assert!(
            expected.contains(difference.drizzle),
            "{class}: the fixture no longer has {:?} (the stated difference: {})",
            difference.drizzle,
            difference.why
        );
        expected = expected.replace(difference.drizzle, difference.app_db);
        println!(
            "{class}: deliberate difference: {}\n  drizzle-kit: {:?}\n  app-db:      {:?}",
            difference.why, difference.drizzle, difference.app_db
        );
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
        name: "",
        layout: app_db::migrations::Layout::Journal,
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
        &Options {
            allow_drop,
            ..Options::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{class}: generate failed: {e}"));
    let written = render::file_text(&generated.plan.sql());
    assert_eq!(
        written, expected,
        "{class}: app-db wrote\n{written}\n--- drizzle-kit wrote (with the stated differences)\n{expected}"
    );
    let fails = drizzle_kits_migration_fails(class, extensions).await;
    assert_eq!(
        fails.as_deref(),
        drizzle_kit_fails,
        "{class}: drizzle-kit's own migration on PostgreSQL"
    );
}

macro_rules! case {
    ($test:ident, $class:literal, $module:literal) => {
        case!($test, $class, $module, Supplement::default(), false);
    };
    ($test:ident, $class:literal, $module:literal, $supplement:expr, $allow_drop:expr) => {
        case!($test, $class, $module, $supplement, $allow_drop, [], None);
    };
    ($test:ident, $class:literal, $module:literal, $supplement:expr, $allow_drop:expr, [$($difference:expr),*], $fails:expr) => {
        #[tokio::test]
        async fn $test() {
            matches_drizzle_kit(
                $class,
                concat!("generate_drizzle_kit::cases::", $module, "::*"),
                &$supplement,
                $allow_drop,
                &[$($difference),*],
                $fails,
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
case!(
    type_narrow,
    "06_type_narrow",
    "c06",
    Supplement::default(),
    true,
    [NARROW_USING],
    Some("42804")
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
// A type change with a default: the default with the cast first, then the type (as
// drizzle-kit does); generate's own verification failed here before.
case!(
    type_change_with_default,
    "28_type_change_with_default",
    "c28",
    Supplement::default(),
    true
);
// No USING on a dimension change: drizzle-kit writes none and PostgreSQL needs none.
case!(
    vector_dimension_change,
    "29_vector_dimension_change",
    "c29",
    cases::c29::SUPPLEMENT,
    true
);
case!(
    drop_referenced_table_and_fk,
    "30_drop_referenced_table_and_fk",
    "c30",
    Supplement::default(),
    true,
    [NO_RLS_NOOP, FK_BEFORE_CASCADE],
    Some("42704")
);
case!(
    drop_referenced_table_and_column,
    "31_drop_referenced_table_and_column",
    "c31",
    Supplement::default(),
    true,
    [NO_RLS_NOOP, FK_BEFORE_CASCADE],
    Some("42704")
);
// A quoted enum name, an `enum[]` column and a default through the rebuild.
case!(
    enum_value_remove,
    "32_enum_value_remove",
    "c32",
    Supplement::default(),
    true
);
// A generated column is not a default: no DROP DEFAULT for it.
case!(generated_column, "33_generated_column", "c33");
// Type, default and NOT NULL of one column at once.
case!(
    two_changes_one_column,
    "34_two_changes_one_column",
    "c34",
    Supplement::default(),
    true
);
case!(
    check_add,
    "35_check_add",
    "c35",
    cases::c35::SUPPLEMENT,
    false
);
case!(
    unique_index_partial,
    "36_unique_index_partial",
    "c36",
    cases::c36::SUPPLEMENT,
    false
);
// drizzle-kit asked whether `headline` is new or `title` renamed (answered: renamed).
case!(
    column_rename,
    "37_column_rename",
    "c37",
    cases::c37::SUPPLEMENT,
    false
);
// c27's index rebuilt with other storage parameters: drizzle-kit drops and creates it.
case!(
    hnsw_index_with,
    "38_hnsw_index_with",
    "c38",
    cases::c38::SUPPLEMENT,
    false
);
