//! The Citus sharding plan of docs/scaling.md is the one the project's schema gives: read
//! from the catalogs of a migrated database (`app_db::citus`), so a migration that adds a
//! blocker (or removes one) makes this test fail until the document says so.

use std::path::Path;

use app_db::citus::{self, Placement};
use app_db::testing::TestDatabase;
use sqlx::Connection;

const BEGIN: &str = "<!-- citus-plan:begin -->";
const END: &str = "<!-- citus-plan:end -->";

fn documented() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scaling.md");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let (_, rest) = text
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("docs/scaling.md has no {BEGIN} marker"));
    let (table, _) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("docs/scaling.md has no {END} marker"));
    table.trim().to_string()
}

#[tokio::test]
async fn docs_scaling_md_lists_the_blockers_the_schema_has() {
    let db = TestDatabase::migrated().await.expect("a migrated database");
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let plan = citus::read(&mut conn).await.expect("read the plan");
    assert_eq!(plan.len(), 22, "the schema's 22 tables");
    // Every table with organization_id is distributed and colocated with organization.
    for t in &plan {
        if let Placement::Distributed { column } = &t.placement {
            let expected = if t.table == "organization" {
                "id"
            } else {
                "organization_id"
            };
            assert_eq!(column, expected, "{}", t.table);
        }
    }
    let generated = citus::render::markdown(&plan);
    assert_eq!(
        documented(),
        generated.trim(),
        "docs/scaling.md's Citus plan differs from the schema's: replace the block between the \
         markers with the output of `cargo run -p migration -- citus-plan` (printed above as the \
         right-hand side)"
    );
}
