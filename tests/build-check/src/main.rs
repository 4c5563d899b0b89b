//! Prints the embedded migrations as JSON, for app-db's tests to compare with `load_dir`.

use journal_build_check::migrations::{MIGRATIONS, MIGRATIONS_DIR, MIGRATIONS_LAYOUT};

fn main() {
    let migrations: Vec<serde_json::Value> = MIGRATIONS
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
    let output = serde_json::json!({
        "dir": MIGRATIONS_DIR,
        "layout": MIGRATIONS_LAYOUT.label(),
        "migrations": migrations,
    });
    println!("{output}");
}
