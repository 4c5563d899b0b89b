//! drizzle-kit 1.0's snapshot format 9, as `drizzle-kit up` 1.0.0-rc.5 converts drizzle-kit
//! 0.x's format 7 snapshots into it (its `upToV8` then `upToV9`, PostgreSQL).
//!
//! The first snapshot becomes a `base` holding every entity row (`ddl`); each later one a
//! `diff` holding the `deltas` from the state before it and the `footprints` of the statements
//! those deltas make. The statements are drizzle-kit 1.0's, in its order (`statements.rs`),
//! because a footprint names its statement and hashes the SQL of some (`sql.rs`,
//! `footprint.rs`). Covered: schemas, enums, tables, columns, primary keys, uniques, checks,
//! indexes and foreign keys, in a linear history without recorded renames; anything else is
//! refused with the reason, before anything is written.

mod ddl;
mod diff;
mod footprint;
mod from_model;
mod from_v7;
pub mod generate;
mod sql;
mod statements;

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use ddl::{Ddl, Row, text};

/// The id drizzle-kit gives the (absent) parent of a first snapshot.
const ORIGIN: &str = "00000000-0000-0000-0000-000000000000";

/// One format 7 snapshot to convert.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where it was read (`meta/NNNN_snapshot.json`), for messages.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// The format 9 `snapshot.json` text of every snapshot of the chain, in order, as
/// `drizzle-kit up` 1.0.0-rc.5 writes it (`JSON.stringify(snapshot, null, 2)`).
pub fn convert_chain(sources: &[Source]) -> Result<Vec<String>, String> {
    let mut texts = Vec::with_capacity(sources.len());
    let mut state = Ddl::new();
    let mut previous_id: Option<String> = None;
    for source in sources {
        let at = |e: String| format!("{}: {e}", source.path.display());
        let v7 = from_v7::read(&source.text).map_err(at)?;
        let value = match &previous_id {
            None => {
                if v7.prev_id != ORIGIN {
                    return Err(at(format!(
                        "the first snapshot's prevId is {}, not the origin; the history does not start here",
                        v7.prev_id
                    )));
                }
                let (value, base) = base(&v7).map_err(at)?;
                state = base;
                value
            }
            Some(previous) => {
                if v7.prev_id != *previous {
                    return Err(at(format!(
                        "its prevId {} is not the id of the snapshot before it ({previous}): a branched or reordered history, which this conversion does not cover",
                        v7.prev_id
                    )));
                }
                let (value, next) = diff_snapshot(&v7, &state).map_err(at)?;
                state = next;
                value
            }
        };
        previous_id = Some(v7.id.clone());
        texts.push(
            crate::journal_json::render(&value).map_err(|e| format!("cannot render JSON: {e}"))?,
        );
    }
    Ok(texts)
}

/// The footprints of the statements `deltas` make from `start` (drizzle-kit's
/// `footprintsOfDeltas`).
fn footprints(start: &Ddl, deltas: &[Value]) -> Result<Vec<Value>, String> {
    let mut target = start.clone();
    diff::apply(&mut target, deltas)?;
    let statements = statements::ddl_diff(start, &mut target, false)?.statements;
    Ok(statements.iter().map(footprint::footprint).collect())
}

fn header(kind: &str, id: &str, prev_ids: Vec<String>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    out.insert("version".into(), json!("9"));
    out.insert("dialect".into(), json!("postgres"));
    out.insert("id".into(), json!(id));
    out.insert("prevIds".into(), json!(prev_ids));
    out
}

/// The first snapshot: every row, and the footprints of creating them all.
fn base(v7: &from_v7::V7) -> Result<(Value, Ddl), String> {
    let state = Ddl::from_rows(&v7.rows)?;
    statements::check_supported(&state)?;
    let rows: Vec<Row> = state.all().into_iter().cloned().collect();
    let creates: Vec<Value> = rows
        .iter()
        .map(|row| json!({ "op": "create", "row": row }))
        .collect();
    let mut out = header("base", &v7.id, vec![ORIGIN.to_string()]);
    out.insert(
        "footprints".into(),
        json!(footprints(&Ddl::new(), &creates)?),
    );
    out.insert("ddl".into(), json!(rows));
    let reconstructed = Ddl::from_rows(&rows)?;
    Ok((Value::Object(out), reconstructed))
}

/// drizzle-kit's `withStateKeyNames`: a primary key with the default name takes the name the
/// state's key of that table has.
fn with_state_key_names(rows: &[Row], state: &Ddl) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            if ddl::kind_of(row) != "pks"
                || ddl::flag(row, "nameExplicit")
                || text(row, "name") != format!("{}_pkey", text(row, "table"))
            {
                return row.clone();
            }
            match state.one("pks", |pk| {
                text(pk, "schema") == text(row, "schema") && text(pk, "table") == text(row, "table")
            }) {
                Some(key) => {
                    let mut named = row.clone();
                    named.insert(
                        "name".into(),
                        key.get("name").cloned().unwrap_or(Value::Null),
                    );
                    named
                }
                None => row.clone(),
            }
        })
        .collect()
}

/// A later snapshot: the deltas from `start` and their footprints.
fn diff_snapshot(v7: &from_v7::V7, start: &Ddl) -> Result<(Value, Ddl), String> {
    let mut to = Ddl::from_rows(&v7.rows)?;
    let mut deltas = statements::ddl_diff(start, &mut to, true)?.deltas;
    let fresh = Ddl::from_rows(&with_state_key_names(&v7.rows, &to))?;
    deltas.extend(diff::delta(&diff::diff(&to, &fresh, None, diff::Mode::All)));
    let footprints = footprints(start, &deltas)?;
    let mut next = start.clone();
    diff::apply(&mut next, &deltas)?;
    let mut out = header("diff", &v7.id, vec![v7.prev_id.clone()]);
    out.insert("footprints".into(), json!(footprints));
    out.insert("deltas".into(), json!(deltas));
    Ok((Value::Object(out), next))
}
