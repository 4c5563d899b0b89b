//! `citus-plan` on a migrated database: the Markdown table of docs/scaling.md, and JSON.

mod common;

use app_db::testing::TestDatabase;
use common::migration_on;
use serde_json::Value;

#[tokio::test]
async fn citus_plan_prints_the_documented_table_and_json() {
    let db = TestDatabase::migrated()
        .await
        .unwrap_or_else(|e| panic!("a migrated test database is needed: {e}"));
    let run = migration_on(&db.url, &["citus-plan"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scaling.md"))
        .expect("docs/scaling.md");
    assert!(
        doc.contains(run.stdout.trim()),
        "docs/scaling.md does not hold the table `citus-plan` prints:\n{}",
        run.stdout
    );
    let run = migration_on(&db.url, &["citus-plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let value: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let tables = value["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 22);
    let chunk = tables
        .iter()
        .find(|t| t["table"] == "document_chunk")
        .expect("document_chunk");
    assert_eq!(chunk["placement"], "distributed");
    assert_eq!(chunk["distribution_column"], "organization_id");
    assert!(
        chunk["blockers"]
            .as_array()
            .is_some_and(|b| b.iter().any(|b| b["kind"] == "primary-key")),
        "{chunk:#}"
    );
    let user = tables.iter().find(|t| t["table"] == "user").expect("user");
    assert_eq!(user["placement"], "reference");
}
