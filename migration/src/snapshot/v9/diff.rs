//! Comparing two states row by row, and the deltas format 9 stores (drizzle-kit 1.0's
//! `diff`, `delta` and `applyDeltas`).

use serde_json::{Map, Value, json};

use super::ddl::{Ddl, Row, kind_of, qualified_key};

/// One changed field: its value before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// A row present in both states with different fields (drizzle-kit's alter diff).
#[derive(Debug, Clone, PartialEq)]
pub struct Alter {
    /// `schema`, `table` and `name` of the new row, where not null, in that order.
    pub commons: Vec<(String, Value)>,
    /// The changed fields, in the order of the rows' fields.
    pub changes: Vec<Change>,
    /// The row before.
    pub left: Row,
    /// The row after.
    pub right: Row,
}

impl Alter {
    /// The change of `field`, if it changed (and was not dropped from the diff).
    pub fn change(&self, field: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.field == field)
    }

    /// Whether `field` changed.
    pub fn has(&self, field: &str) -> bool {
        self.change(field).is_some()
    }

    /// Drops `field` from the diff (drizzle-kit's `delete it.field`).
    pub fn forget(&mut self, field: &str) {
        self.changes.retain(|c| c.field != field);
    }

    /// Whether anything is left to change (drizzle-kit's `hasDiff`).
    pub fn has_diff(&self) -> bool {
        !self.changes.is_empty()
    }

    /// The kind of the row.
    pub fn kind(&self) -> &str {
        kind_of(&self.right)
    }

    /// A field of the new row.
    pub fn right_text(&self, field: &str) -> &str {
        super::ddl::text(&self.right, field)
    }
}

/// What differs between two states, per row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowDiff {
    Create(Row),
    Drop(Row),
    Alter(Alter),
}

/// Which differences to collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    All,
    CreateDrop,
    Alters,
}

/// drizzle-kit's `_diff`: creates, then drops, then alters, of `kind` or of every kind.
pub fn diff(a: &Ddl, b: &Ddl, kind: Option<&str>, mode: Mode) -> Vec<RowDiff> {
    let rows = |ddl: &Ddl| -> Vec<Row> {
        match kind {
            Some(kind) => ddl.list(kind).into_iter().cloned().collect(),
            None => ddl.all().into_iter().cloned().collect(),
        }
    };
    let left = rows(a);
    let mut right: Vec<Option<Row>> = rows(b).into_iter().map(Some).collect();
    let right_keys: Vec<String> = right
        .iter()
        .map(|r| r.as_ref().map(qualified_key).unwrap_or_default())
        .collect();
    let mut dropped = Vec::new();
    let mut altered = Vec::new();
    for old in left {
        let k = qualified_key(&old);
        let Some(position) = right_keys.iter().position(|rk| *rk == k) else {
            if mode != Mode::Alters {
                dropped.push(RowDiff::Drop(old));
            }
            continue;
        };
        let new = right[position].take().unwrap_or_default();
        if mode != Mode::CreateDrop {
            let mut fields: Vec<&String> = old.keys().collect();
            for f in new.keys() {
                if !old.contains_key(f) {
                    fields.push(f);
                }
            }
            let changes: Vec<Change> = fields
                .into_iter()
                .filter(|f| *f != "entityType")
                .filter_map(|f| {
                    let from = old.get(f).cloned().unwrap_or(Value::Null);
                    let to = new.get(f).cloned().unwrap_or(Value::Null);
                    (from != to).then(|| Change {
                        field: f.clone(),
                        from,
                        to,
                    })
                })
                .collect();
            if !changes.is_empty() {
                let commons = ["schema", "table", "name"]
                    .iter()
                    .filter_map(|c| {
                        new.get(*c)
                            .filter(|v| !v.is_null())
                            .map(|v| ((*c).to_string(), v.clone()))
                    })
                    .collect();
                altered.push(RowDiff::Alter(Alter {
                    commons,
                    changes,
                    left: old,
                    right: new,
                }));
            }
        }
    }
    let mut out: Vec<RowDiff> = if mode == Mode::Alters {
        Vec::new()
    } else {
        right.into_iter().flatten().map(RowDiff::Create).collect()
    };
    out.extend(dropped);
    out.extend(altered);
    out
}

/// The alters of `kind` (drizzle-kit's `diff.alters`), or of every kind.
pub fn alters(a: &Ddl, b: &Ddl, kind: Option<&str>) -> Vec<Alter> {
    diff(a, b, kind, Mode::Alters)
        .into_iter()
        .filter_map(|d| match d {
            RowDiff::Alter(alter) => Some(alter),
            _ => None,
        })
        .collect()
}

/// The created and dropped rows of `kind` (drizzle-kit's `diff`).
pub fn creates_and_drops(a: &Ddl, b: &Ddl, kind: &str) -> (Vec<Row>, Vec<Row>) {
    let mut created = Vec::new();
    let mut dropped = Vec::new();
    for d in diff(a, b, Some(kind), Mode::CreateDrop) {
        match d {
            RowDiff::Create(row) => created.push(row),
            RowDiff::Drop(row) => dropped.push(row),
            RowDiff::Alter(_) => {}
        }
    }
    (created, dropped)
}

/// drizzle-kit's `delta`: `{op: "create", row}`, `{op: "drop", key}`, `{op: "alter", key, set}`.
pub fn delta(rows: &[RowDiff]) -> Vec<Value> {
    rows.iter()
        .map(|r| match r {
            RowDiff::Create(row) => json!({ "op": "create", "row": row }),
            RowDiff::Drop(row) => json!({ "op": "drop", "key": qualified_key(row) }),
            RowDiff::Alter(alter) => {
                let mut set = Map::new();
                for (field, _) in &alter.commons {
                    if let Some(change) = alter.change(field) {
                        set.insert(field.clone(), change.to.clone());
                    }
                }
                for change in &alter.changes {
                    if !set.contains_key(&change.field) {
                        set.insert(change.field.clone(), change.to.clone());
                    }
                }
                json!({ "op": "alter", "key": qualified_key(&alter.right), "set": set })
            }
        })
        .collect()
}

/// drizzle-kit's `applyDeltas` (creates, drops and alters; renames are not produced here).
pub fn apply(state: &mut Ddl, deltas: &[Value]) -> Result<(), String> {
    for d in deltas {
        match d.get("op").and_then(Value::as_str) {
            Some("create") => {
                let row = d
                    .get("row")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if let Err(stored) = state.push(&row) {
                    let same = stored
                        .iter()
                        .all(|(field, value)| row.get(field).unwrap_or(&Value::Null) == value);
                    if !same {
                        return Err(format!(
                            "a create delta adds {} {}, and another one already has this key",
                            kind_of(&stored),
                            super::ddl::key(&stored)
                        ));
                    }
                }
            }
            Some("drop") => state.delete(d.get("key").and_then(Value::as_str).unwrap_or("")),
            Some("alter") => {
                let set = d
                    .get("set")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                state.update(d.get("key").and_then(Value::as_str).unwrap_or(""), &set);
            }
            other => return Err(format!("a delta of op {other:?} is not replayed here")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::ddl::row;
    use super::*;

    fn state(rows: &[Row]) -> Ddl {
        Ddl::from_rows(rows).unwrap()
    }

    #[test]
    fn creates_come_before_drops_and_alters() {
        let t = |name: &str| {
            row(
                "tables",
                &[("schema", json!("public")), ("name", json!(name))],
            )
        };
        let c = |name: &str, default: Value| {
            row(
                "columns",
                &[
                    ("schema", json!("public")),
                    ("table", json!("t")),
                    ("name", json!(name)),
                    ("default", default),
                ],
            )
        };
        let a = state(&[t("t"), t("old"), c("x", json!("1"))]);
        let b = state(&[t("t"), t("new"), c("x", json!("2"))]);
        let diffs = diff(&a, &b, None, Mode::All);
        assert!(matches!(&diffs[0], RowDiff::Create(r) if r["name"] == "new"));
        assert!(matches!(&diffs[1], RowDiff::Drop(r) if r["name"] == "old"));
        let RowDiff::Alter(alter) = &diffs[2] else {
            panic!("an alter")
        };
        assert_eq!(alter.changes.len(), 1);
        let deltas = delta(&diffs);
        assert_eq!(
            deltas[2],
            json!({"op": "alter", "key": "columns\u{0}[\"public\",\"t\",\"x\"]", "set": {"default": "2"}})
        );
        let mut replayed = a.clone();
        apply(&mut replayed, &deltas).unwrap();
        assert!(diff(&replayed, &b, None, Mode::All).is_empty());
    }
}
