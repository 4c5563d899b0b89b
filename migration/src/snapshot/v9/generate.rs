//! What drizzle-kit 1.0's `generate` writes for a change, computed from `generate`'s two
//! catalog models: `migration.sql` (its statements, order and forms) and, in a folder with
//! snapshots, `snapshot.json` (format 9: the deltas from the folder's state, and the
//! footprints of the statements).
//!
//! drizzle-kit diffs the folder's state (rebuilt from its snapshots) against the state of the
//! TypeScript schema. app-db has no TypeScript schema: it takes the difference between the
//! folder replayed and the entities (both read from the catalogs, so both in one form) and
//! applies it to the folder's state, so the rows it did not change keep drizzle-kit's own
//! form; then it diffs as drizzle-kit does.

use app_db::generate::model::Schema;
use serde_json::{Map, Value, json};

use super::ddl::Ddl;
use super::diff::{self, Mode};
use super::from_model::state_of;
use super::sql::statement_sql;
use super::statements::ddl_diff;
use super::{ORIGIN, footprint};

/// The migration drizzle-kit 1.0 writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration1 {
    /// Its SQL statements, in order (joined with `--> statement-breakpoint\n` in the file).
    pub statements: Vec<String>,
    /// Its `snapshot.json`, when the folder keeps snapshots.
    pub snapshot: Option<Value>,
}

/// The folder's state and the id of its newest snapshot (drizzle-kit's `combinedState` of a
/// linear history), from the `snapshot.json` texts in folder order.
pub fn folder_state(snapshots: &[(String, String)]) -> Result<(Ddl, String), String> {
    let mut state = Ddl::new();
    let mut last = ORIGIN.to_string();
    for (folder, text) in snapshots {
        let at = |e: String| format!("{folder}/snapshot.json: {e}");
        let json: Value = serde_json::from_str(text).map_err(|e| at(format!("not JSON: {e}")))?;
        if json.get("version").and_then(Value::as_str) != Some("9") {
            return Err(at(
                "not in snapshot format 9 (run `drizzle-kit up` on the folder)".into(),
            ));
        }
        let prev_ids: Vec<&str> = json
            .get("prevIds")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if prev_ids != [last.as_str()] {
            return Err(at(format!(
                "its prevIds {prev_ids:?} are not the snapshot before it ({last}): a merged or reordered history, which app-db does not rebuild; run `drizzle-kit generate` for this migration"
            )));
        }
        match json.get("type").and_then(Value::as_str) {
            Some("base") => {
                let rows: Vec<_> = json
                    .get("ddl")
                    .and_then(Value::as_array)
                    .map(|rows| rows.iter().filter_map(|r| r.as_object().cloned()).collect())
                    .unwrap_or_default();
                state = Ddl::from_rows(&rows).map_err(at)?;
            }
            Some("diff") => {
                let deltas = json
                    .get("deltas")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                diff::apply(&mut state, &deltas).map_err(at)?;
            }
            other => return Err(at(format!("unknown snapshot type {other:?}"))),
        }
        last = json
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| at("no id".into()))?
            .to_string();
    }
    Ok((state, last))
}

/// A check's or index predicate's text as written (`*_sql`) on both sides where PostgreSQL
/// sees the same thing, so only real changes differ.
fn aligned(current: &Schema, desired: &Schema) -> Schema {
    let mut current = current.clone();
    for (name, table) in current.tables.iter_mut() {
        let Some(wanted) = desired.tables.get(name) else {
            continue;
        };
        for check in &mut table.checks {
            if let Some(same) = wanted
                .checks
                .iter()
                .find(|c| c.name == check.name && c.definition == check.definition)
            {
                check.expression_sql = same.expression_sql.clone();
            }
        }
        for index in &mut table.indexes {
            if let Some(same) = wanted
                .indexes
                .iter()
                .find(|i| i.name == index.name && i.same_definition(index))
            {
                index.predicate_sql = same.predicate_sql.clone();
                index.keys_sql = same.keys_sql.clone();
            }
        }
    }
    current
}

fn snapshot_value(
    kind: &str,
    id: &str,
    prev: &str,
    footprints: Vec<Value>,
    body: (&str, Value),
) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    out.insert("version".into(), json!("9"));
    out.insert("dialect".into(), json!("postgres"));
    out.insert("id".into(), json!(id));
    out.insert("prevIds".into(), json!([prev]));
    out.insert("footprints".into(), json!(footprints));
    out.insert(body.0.into(), body.1);
    Value::Object(out)
}

/// The migration that brings `current` (the folder replayed) to `desired` (the entities), as
/// drizzle-kit 1.0's `generate` writes it; `snapshots` are the folder's (`None`: it keeps
/// none, and none is written), `id` the new snapshot's id.
pub fn migration(
    snapshots: Option<&[(String, String)]>,
    current: &Schema,
    desired: &Schema,
    id: &str,
) -> Result<Migration1, String> {
    let current_state = state_of(&aligned(current, desired))?;
    let desired_state = state_of(desired)?;
    let Some(snapshots) = snapshots else {
        let mut to = desired_state;
        let result = ddl_diff(&current_state, &mut to, true)?;
        return Ok(Migration1 {
            statements: result.statements.iter().flat_map(statement_sql).collect(),
            snapshot: None,
        });
    };
    let (previous, leaf) = folder_state(snapshots)?;
    let change = diff::delta(&diff::diff(&current_state, &desired_state, None, Mode::All));
    let mut next = previous.clone();
    diff::apply(&mut next, &change)?;
    let result = ddl_diff(&previous, &mut next, true)?;
    let footprints = result.statements.iter().map(footprint::footprint).collect();
    Ok(Migration1 {
        statements: result.statements.iter().flat_map(statement_sql).collect(),
        snapshot: Some(if leaf == ORIGIN {
            let rows: Vec<Value> = next.all().into_iter().map(|r| json!(r)).collect();
            snapshot_value("base", id, ORIGIN, footprints, ("ddl", json!(rows)))
        } else {
            snapshot_value(
                "diff",
                id,
                &leaf,
                footprints,
                ("deltas", json!(result.deltas)),
            )
        }),
    })
}

/// The snapshot of a custom migration (drizzle-kit 1.0's `generate --custom`): the folder's
/// state unchanged, no deltas, no footprints.
pub fn custom_snapshot(snapshots: &[(String, String)], id: &str) -> Result<Value, String> {
    let (state, leaf) = folder_state(snapshots)?;
    Ok(if leaf == ORIGIN {
        let rows: Vec<Value> = state.all().into_iter().map(|r| json!(r)).collect();
        snapshot_value("base", id, ORIGIN, Vec::new(), ("ddl", json!(rows)))
    } else {
        snapshot_value("diff", id, &leaf, Vec::new(), ("deltas", json!([])))
    })
}
