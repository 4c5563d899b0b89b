//! The key order drizzle-kit's snapshot validator gives a snapshot it re-writes.
//!
//! drizzle-kit parses the previous snapshot with its zod schema (`pgSchema` in drizzle-kit
//! 0.31's `serializer/pgSchema.ts`) before writing it again for `generate --custom`; a zod
//! object emits its keys in the schema's declared order (absent optional keys stay absent,
//! absent keys with a default get the default). Record maps (tables, columns, indexes, ...)
//! keep their order. Reproducing that here keeps app-db's file byte-identical to
//! drizzle-kit's.

use serde_json::{Map, Value, json};

/// One zod object shape: its keys in order, with the defaults of those that have one.
struct Shape {
    keys: &'static [&'static str],
    defaults: fn(&str) -> Option<Value>,
}

fn none(_: &str) -> Option<Value> {
    None
}

fn top_defaults(key: &str) -> Option<Value> {
    matches!(key, "views" | "sequences" | "roles" | "policies").then(|| json!({}))
}

fn table_defaults(key: &str) -> Option<Value> {
    match key {
        "uniqueConstraints" | "policies" | "checkConstraints" => Some(json!({})),
        "isRLSEnabled" => Some(json!(false)),
        _ => None,
    }
}

fn index_defaults(key: &str) -> Option<Value> {
    match key {
        "method" => Some(json!("btree")),
        "concurrently" => Some(json!(false)),
        _ => None,
    }
}

const TOP: Shape = Shape {
    keys: &[
        "id",
        "prevId",
        "version",
        "dialect",
        "tables",
        "enums",
        "schemas",
        "views",
        "sequences",
        "roles",
        "policies",
        "_meta",
        "internal",
    ],
    defaults: top_defaults,
};
const TABLE: Shape = Shape {
    keys: &[
        "name",
        "schema",
        "columns",
        "indexes",
        "foreignKeys",
        "compositePrimaryKeys",
        "uniqueConstraints",
        "policies",
        "checkConstraints",
        "isRLSEnabled",
    ],
    defaults: table_defaults,
};
const COLUMN: Shape = Shape {
    keys: &[
        "name",
        "type",
        "typeSchema",
        "primaryKey",
        "notNull",
        "default",
        "isUnique",
        "uniqueName",
        "nullsNotDistinct",
        "generated",
        "identity",
    ],
    defaults: none,
};
const GENERATED: Shape = Shape {
    keys: &["type", "as"],
    defaults: none,
};
const SEQUENCE: Shape = Shape {
    keys: &[
        "name",
        "increment",
        "minValue",
        "maxValue",
        "startWith",
        "cache",
        "cycle",
        "schema",
        // An identity column's sequence adds its kind.
        "type",
    ],
    defaults: none,
};
const INDEX: Shape = Shape {
    keys: &[
        "name",
        "columns",
        "isUnique",
        "with",
        "method",
        "where",
        "concurrently",
    ],
    defaults: index_defaults,
};
const INDEX_COLUMN: Shape = Shape {
    keys: &["expression", "isExpression", "asc", "nulls", "opclass"],
    defaults: none,
};
const FOREIGN_KEY: Shape = Shape {
    keys: &[
        "name",
        "tableFrom",
        "columnsFrom",
        "tableTo",
        "schemaTo",
        "columnsTo",
        "onUpdate",
        "onDelete",
    ],
    defaults: none,
};
const NAME_COLUMNS: Shape = Shape {
    keys: &["name", "columns"],
    defaults: none,
};
const UNIQUE: Shape = Shape {
    keys: &["name", "columns", "nullsNotDistinct"],
    defaults: none,
};
const POLICY: Shape = Shape {
    keys: &[
        "name",
        "as",
        "for",
        "to",
        "using",
        "withCheck",
        "on",
        "schema",
    ],
    defaults: none,
};
const CHECK: Shape = Shape {
    keys: &["name", "value"],
    defaults: none,
};
const ENUM: Shape = Shape {
    keys: &["name", "schema", "values"],
    defaults: none,
};
const ROLE: Shape = Shape {
    keys: &["name", "createDb", "createRole", "inherit"],
    defaults: none,
};
const VIEW: Shape = Shape {
    keys: &[
        "name",
        "schema",
        "columns",
        "definition",
        "materialized",
        "with",
        "isExisting",
        "withNoData",
        "using",
        "tablespace",
    ],
    defaults: none,
};
const META: Shape = Shape {
    keys: &["schemas", "tables", "columns"],
    defaults: none,
};

/// `snapshot` with every object's keys in drizzle-kit's validator order.
pub fn in_validator_order(snapshot: &Value) -> Value {
    let mut top = reorder(snapshot, &TOP);
    if let Some(map) = top.as_object_mut() {
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "tables" => each(value, table),
                "enums" => each(value, |v| reorder(v, &ENUM)),
                "views" => each(value, view),
                "sequences" => each(value, |v| reorder(v, &SEQUENCE)),
                "roles" => each(value, |v| reorder(v, &ROLE)),
                "policies" => each(value, |v| reorder(v, &POLICY)),
                "_meta" => *value = reorder(value, &META),
                _ => {}
            }
        }
    }
    top
}

fn table(value: &Value) -> Value {
    let mut table = reorder(value, &TABLE);
    if let Some(map) = table.as_object_mut() {
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "columns" => each(value, column),
                "indexes" => each(value, index),
                "foreignKeys" => each(value, |v| reorder(v, &FOREIGN_KEY)),
                "compositePrimaryKeys" => each(value, |v| reorder(v, &NAME_COLUMNS)),
                "uniqueConstraints" => each(value, |v| reorder(v, &UNIQUE)),
                "policies" => each(value, |v| reorder(v, &POLICY)),
                "checkConstraints" => each(value, |v| reorder(v, &CHECK)),
                _ => {}
            }
        }
    }
    table
}

fn column(value: &Value) -> Value {
    let mut column = reorder(value, &COLUMN);
    if let Some(map) = column.as_object_mut() {
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "generated" => *value = reorder(value, &GENERATED),
                "identity" => *value = reorder(value, &SEQUENCE),
                _ => {}
            }
        }
    }
    column
}

fn index(value: &Value) -> Value {
    let mut index = reorder(value, &INDEX);
    if let Some(columns) = index.get_mut("columns").and_then(Value::as_array_mut) {
        for c in columns {
            *c = reorder(c, &INDEX_COLUMN);
        }
    }
    index
}

fn view(value: &Value) -> Value {
    let mut view = reorder(value, &VIEW);
    if let Some(columns) = view.get_mut("columns") {
        each(columns, column);
    }
    view
}

/// Applies `f` to every value of a record map (an object keyed by name), in place.
fn each(record: &mut Value, f: impl Fn(&Value) -> Value) {
    if let Some(map) = record.as_object_mut() {
        for value in map.values_mut() {
            *value = f(value);
        }
    }
}

/// `value`'s keys in `shape`'s order, defaults filled in; keys the shape does not know (which
/// drizzle-kit's strict validator would reject) follow in their own order.
fn reorder(value: &Value, shape: &Shape) -> Value {
    let Some(map) = value.as_object() else {
        return value.clone();
    };
    let mut out = Map::new();
    for key in shape.keys {
        if let Some(v) = map.get(*key).cloned().or_else(|| (shape.defaults)(key)) {
            out.insert((*key).to_string(), v);
        }
    }
    for (key, v) in map {
        if !shape.keys.contains(&key.as_str()) {
            out.insert(key.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_validator_and_defaults_fill_in() {
        let snapshot = json!({
            "version": "7",
            "id": "b",
            "dialect": "postgresql",
            "prevId": "a",
            "tables": {
                "public.t": {
                    "schema": "",
                    "name": "t",
                    "columns": {"z": {"notNull": true, "name": "z", "type": "text", "primaryKey": false}},
                    "indexes": {"t_z_index": {"name": "t_z_index", "isUnique": false, "columns": [
                        {"asc": true, "expression": "z", "isExpression": false, "nulls": "last"}
                    ]}},
                    "foreignKeys": {},
                    "compositePrimaryKeys": {}
                }
            },
            "enums": {},
            "schemas": {},
            "_meta": {"columns": {}, "schemas": {}, "tables": {}}
        });
        let ordered = in_validator_order(&snapshot);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&ordered),
            [
                "id",
                "prevId",
                "version",
                "dialect",
                "tables",
                "enums",
                "schemas",
                "views",
                "sequences",
                "roles",
                "policies",
                "_meta"
            ]
        );
        let table = &ordered["tables"]["public.t"];
        assert_eq!(
            keys(table),
            [
                "name",
                "schema",
                "columns",
                "indexes",
                "foreignKeys",
                "compositePrimaryKeys",
                "uniqueConstraints",
                "policies",
                "checkConstraints",
                "isRLSEnabled"
            ]
        );
        assert_eq!(
            keys(&table["columns"]["z"]),
            ["name", "type", "primaryKey", "notNull"]
        );
        let index = &table["indexes"]["t_z_index"];
        assert_eq!(
            keys(index),
            ["name", "columns", "isUnique", "method", "concurrently"]
        );
        assert_eq!(index["method"], "btree");
        assert_eq!(
            keys(&index["columns"][0]),
            ["expression", "isExpression", "asc", "nulls"]
        );
        assert_eq!(keys(&ordered["_meta"]), ["schemas", "tables", "columns"]);
    }
}
