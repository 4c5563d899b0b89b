//! `status`: every compiled migration with its state, plus rows this binary does not know.

use app_db::Error;
use app_db::migrate::{AppliedRow, AppliedTable, Assessment, MigrationState};
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::exit;
use crate::output::{short_hash, when_rfc3339, when_utc};
use crate::target::Target;

pub async fn run(global: &GlobalArgs, as_json: bool) -> Result<u8, Error> {
    let target = Target::resolve(global).await?;
    let migrator = super::reader(global);
    let mut conn = target.connect().await?;
    let table = migrator
        .bookkeeping_table()
        .read(&mut conn)
        .await
        .map_err(Error::from)?;
    let exists = table.is_some();
    let table = table.unwrap_or_default();
    let assessment = migrator.assess(&table);
    let rows = &table.rows;
    let bookkeeping = migrator.bookkeeping_table().qualified();
    let replicas = super::replicas::reports(global, &mut conn).await?;
    if as_json {
        let mut value = to_json(&assessment, &table, &bookkeeping);
        let (wal_position, replicas) = super::replicas::json_fields(replicas.as_ref());
        value["wal_position"] = wal_position;
        value["replicas"] = replicas;
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        print_table(&assessment, rows, &bookkeeping, exists);
        super::replicas::print(replicas.as_ref());
    }
    Ok(exit::OK)
}

/// The hash recorded for a migration, if it has a row.
fn applied_hash<'a>(state: &'a MigrationState, file_hash: &'a str) -> Option<&'a str> {
    match state {
        MigrationState::Applied { .. } => Some(file_hash),
        MigrationState::Modified { recorded_hash, .. } => Some(recorded_hash),
        MigrationState::Pending | MigrationState::OutOfOrder => None,
    }
}

fn row_id(state: &MigrationState) -> Option<i32> {
    match state {
        MigrationState::Applied { row_id } | MigrationState::Modified { row_id, .. } => {
            Some(*row_id)
        }
        MigrationState::Pending | MigrationState::OutOfOrder => None,
    }
}

fn row_json(row: &AppliedRow) -> Value {
    json!({
        "id": row.id,
        "hash": row.hash,
        "created_at": row.created_at,
        "name": row.name,
        "created_at_utc": row.created_at.and_then(when_rfc3339),
        "state": "unknown-in-db",
    })
}

/// The shape documented in docs/cli.md; fields are only ever added.
fn to_json(assessment: &Assessment<'_>, table: &AppliedTable, bookkeeping: &str) -> Value {
    let rows = &table.rows;
    // What the next `up` does to the table itself, besides inserting rows.
    let bookkeeping_update = if assessment.upgrade.is_some() {
        Some("upgrade-to-drizzle-1")
    } else if !assessment.repairs.is_empty() {
        Some("name-rows")
    } else {
        None
    };
    let row_names = |rows: &[app_db::migrate::RowName<'_>]| -> Vec<Value> {
        rows.iter()
            .map(|r| json!({ "id": r.id, "name": r.name }))
            .collect()
    };
    let migrations: Vec<Value> = assessment
        .migrations
        .iter()
        .map(|s| {
            json!({
                "idx": s.migration.idx,
                "tag": s.migration.tag,
                "name": s.migration.name,
                "when": s.migration.when,
                "when_utc": when_rfc3339(s.migration.when),
                "state": s.state.label(),
                "file_hash": s.migration.hash,
                "applied_hash": applied_hash(&s.state, s.migration.hash),
                "applied_row_id": row_id(&s.state),
                "transaction": s.migration.transaction,
            })
        })
        .collect();
    json!({
        "bookkeeping_table": bookkeeping,
        "bookkeeping_exists": table.shape.is_some(),
        "bookkeeping_shape": table.shape.map(|shape| shape.label()),
        "bookkeeping_update": bookkeeping_update,
        "rows_to_name": assessment
            .upgrade
            .as_deref()
            .map_or_else(|| row_names(&assessment.repairs), row_names),
        "layout": assessment.layout.label(),
        "migrations": migrations,
        "unknown_rows": assessment.unknown_rows.iter().map(row_json).collect::<Vec<_>>(),
        "duplicate_rows": assessment.duplicate_rows.iter().map(row_json).collect::<Vec<_>>(),
        "rows": rows.len(),
        "applied": assessment.migrations.iter().filter(|m| matches!(m.state, MigrationState::Applied { .. })).count(),
        "pending": assessment.pending_count(),
        "drift": assessment.has_drift(),
    })
}

fn print_table(assessment: &Assessment<'_>, rows: &[AppliedRow], bookkeeping: &str, exists: bool) {
    let width = assessment
        .migrations
        .iter()
        .map(|m| m.migration.tag.len())
        .max()
        .unwrap_or(3)
        .max(9);
    println!(
        "{:<4} {:<width$} {:<19}  {:<26} APPLIED HASH",
        "IDX", "TAG", "WHEN (UTC)", "STATE"
    );
    for s in &assessment.migrations {
        println!(
            "{:<4} {:<width$} {:<19}  {:<26} {}",
            s.migration.idx,
            s.migration.tag,
            when_utc(s.migration.when),
            s.state.label(),
            applied_hash(&s.state, s.migration.hash).map_or("-", short_hash)
        );
    }
    for row in assessment
        .unknown_rows
        .iter()
        .chain(&assessment.duplicate_rows)
    {
        let label = if assessment.duplicate_rows.contains(row) {
            "duplicate-row"
        } else {
            "unknown-in-db"
        };
        println!(
            "{:<4} {:<width$} {:<19}  {:<26} {}",
            "?",
            format!("(row id {})", row.id),
            row.created_at.map_or("(null)".to_string(), when_utc),
            label,
            short_hash(&row.hash)
        );
    }
    let applied = assessment
        .migrations
        .iter()
        .filter(|m| matches!(m.state, MigrationState::Applied { .. }))
        .count();
    println!();
    if assessment.upgrade.is_some() {
        println!(
            "the next `up` upgrades {bookkeeping} to drizzle-orm 1.0's shape (name, applied_at), as drizzle-orm 1.0 does{}",
            if assessment.unmatched.is_empty() {
                String::new()
            } else {
                format!(
                    ", but refuses: {} row(s) match no migration of this folder",
                    assessment.unmatched.len()
                )
            }
        );
    } else if !assessment.repairs.is_empty() {
        println!(
            "the next `up` names {} row(s) written without a name (by drizzle-orm 0.x), so drizzle-orm 1.0 does not run them again",
            assessment.repairs.len()
        );
    }
    println!(
        "{} migration(s) ({} folder): {applied} applied, {} pending; {} row(s) in {bookkeeping}{}; {}",
        assessment.migrations.len(),
        assessment.layout.label(),
        assessment.pending_count(),
        rows.len(),
        match (exists, assessment.shape) {
            (false, _) => " (not created yet)",
            (true, Some(app_db::migrate::TableShape::Drizzle1)) => " (drizzle-orm 1.0's shape)",
            (true, _) => "",
        },
        if assessment.has_drift() {
            "DRIFT (see `migration verify`)"
        } else {
            "no drift"
        }
    );
}
