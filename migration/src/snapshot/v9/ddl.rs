//! drizzle-kit 1.0's schema state for PostgreSQL: entity rows of fourteen kinds, kept per kind
//! in insertion order and keyed by their identity, as drizzle-kit's `createDDL` keeps them.
//!
//! A row is a JSON object whose keys are its kind's fields in drizzle-kit's order, then
//! `entityType`; that order is what snapshots list and what `JSON.stringify` writes.

use serde_json::{Map, Value};

/// A row: its kind's fields, then `entityType`.
pub type Row = Map<String, Value>;

/// The kinds, in drizzle-kit's order (the order `entities.list()` walks them).
pub const KINDS: [&str; 14] = [
    "schemas",
    "tables",
    "enums",
    "columns",
    "indexes",
    "fks",
    "pks",
    "uniques",
    "checks",
    "sequences",
    "roles",
    "privileges",
    "policies",
    "views",
];

/// The fields of a kind, in drizzle-kit's order.
pub fn fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "schemas" => &["name"],
        "tables" => &["schema", "name", "isRlsEnabled"],
        "enums" => &["schema", "name", "values"],
        "columns" => &[
            "schema",
            "table",
            "name",
            "type",
            "typeSchema",
            "notNull",
            "dimensions",
            "default",
            "generated",
            "identity",
        ],
        "indexes" => &[
            "schema",
            "table",
            "name",
            "nameExplicit",
            "columns",
            "isUnique",
            "where",
            "with",
            "method",
            "concurrently",
        ],
        "fks" => &[
            "schema",
            "table",
            "name",
            "nameExplicit",
            "columns",
            "schemaTo",
            "tableTo",
            "columnsTo",
            "onUpdate",
            "onDelete",
        ],
        "pks" => &["schema", "table", "name", "columns", "nameExplicit"],
        "uniques" => &[
            "schema",
            "table",
            "name",
            "nameExplicit",
            "columns",
            "nullsNotDistinct",
        ],
        "checks" => &["schema", "table", "name", "value"],
        "sequences" => &[
            "schema",
            "name",
            "incrementBy",
            "minValue",
            "maxValue",
            "startWith",
            "cacheSize",
            "cycle",
        ],
        "roles" => &[
            "name",
            "superuser",
            "createDb",
            "createRole",
            "inherit",
            "canLogin",
            "replication",
            "bypassRls",
            "connLimit",
            "password",
            "validUntil",
        ],
        "privileges" => &[
            "grantor",
            "grantee",
            "schema",
            "table",
            "type",
            "isGrantable",
        ],
        "policies" => &[
            "schema",
            "table",
            "name",
            "as",
            "for",
            "roles",
            "using",
            "withCheck",
        ],
        "views" => &[
            "schema",
            "name",
            "definition",
            "with",
            "withNoData",
            "using",
            "tablespace",
            "materialized",
        ],
        _ => &[],
    }
}

/// The fields that identify a row of a kind (drizzle-kit's `identity`).
fn identity_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "schemas" | "roles" => &["name"],
        "tables" | "enums" | "indexes" | "sequences" | "views" => &["schema", "name"],
        "privileges" => &["schema", "table", "grantor", "grantee", "type"],
        _ => &["schema", "table", "name"],
    }
}

/// The kind of a row.
pub fn kind_of(row: &Row) -> &str {
    row.get("entityType").and_then(Value::as_str).unwrap_or("")
}

/// A row's identity: `JSON.stringify` of its identifying fields.
pub fn key(row: &Row) -> String {
    let values: Vec<&Value> = identity_fields(kind_of(row))
        .iter()
        .map(|field| row.get(*field).unwrap_or(&Value::Null))
        .collect();
    serde_json::to_string(&values).unwrap_or_default()
}

/// `<kind>\0<identity>`, as deltas name rows.
pub fn qualified_key(row: &Row) -> String {
    format!("{}\0{}", kind_of(row), key(row))
}

/// A string field of a row (`""` when absent or not a string).
pub fn text<'r>(row: &'r Row, field: &str) -> &'r str {
    row.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A string field that may be null.
pub fn opt_text<'r>(row: &'r Row, field: &str) -> Option<&'r str> {
    row.get(field).and_then(Value::as_str)
}

/// A boolean field (`false` when absent or null).
pub fn flag(row: &Row, field: &str) -> bool {
    row.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// A list of strings (`[]` when absent).
pub fn texts(row: &Row, field: &str) -> Vec<String> {
    row.get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A numeric field as i64 (0 when absent).
pub fn number(row: &Row, field: &str) -> i64 {
    row.get(field).and_then(Value::as_i64).unwrap_or(0)
}

/// drizzle-kit's `prepare`: the kind's fields as null, the input's fields set where the kind
/// has them, `entityType` last.
pub fn prepare(kind: &str, input: &Row) -> Row {
    let mut out = Row::new();
    for field in fields(kind) {
        out.insert((*field).to_string(), Value::Null);
    }
    for (k, v) in input {
        if out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("entityType".into(), Value::String(kind.to_string()));
    out
}

/// The state: per kind, rows in insertion order.
#[derive(Debug, Clone, Default)]
pub struct Ddl {
    buckets: Vec<Vec<(String, Row)>>,
}

impl Ddl {
    /// An empty state.
    pub fn new() -> Self {
        Self {
            buckets: vec![Vec::new(); KINDS.len()],
        }
    }

    /// A state from rows (drizzle-kit's `fromEntities`); a repeated key is an error.
    pub fn from_rows<'r>(rows: impl IntoIterator<Item = &'r Row>) -> Result<Self, String> {
        let mut ddl = Self::new();
        for row in rows {
            if let Err(existing) = ddl.push(row) {
                return Err(format!(
                    "the snapshot lists two rows of {} with the key {}",
                    kind_of(&existing),
                    key(&existing)
                ));
            }
        }
        Ok(ddl)
    }

    fn bucket(&self, kind: &str) -> Option<&Vec<(String, Row)>> {
        KINDS
            .iter()
            .position(|k| *k == kind)
            .map(|i| &self.buckets[i])
    }

    fn bucket_mut(&mut self, kind: &str) -> Option<&mut Vec<(String, Row)>> {
        KINDS
            .iter()
            .position(|k| *k == kind)
            .map(|i| &mut self.buckets[i])
    }

    /// Adds a row (prepared for its kind); the row already there when the key is taken.
    pub fn push(&mut self, input: &Row) -> Result<(), Row> {
        let kind = kind_of(input).to_string();
        let row = prepare(&kind, input);
        let k = key(&row);
        let Some(bucket) = self.bucket_mut(&kind) else {
            return Err(row);
        };
        if let Some((_, existing)) = bucket.iter().find(|(existing, _)| *existing == k) {
            return Err(existing.clone());
        }
        bucket.push((k, row));
        Ok(())
    }

    /// Every row, kind by kind (drizzle-kit's `entities.list()`).
    pub fn all(&self) -> Vec<&Row> {
        self.buckets
            .iter()
            .flat_map(|bucket| bucket.iter().map(|(_, row)| row))
            .collect()
    }

    /// The rows of a kind.
    pub fn list(&self, kind: &str) -> Vec<&Row> {
        self.bucket(kind)
            .map(|bucket| bucket.iter().map(|(_, row)| row).collect())
            .unwrap_or_default()
    }

    /// The rows of a kind that satisfy `pred`.
    pub fn filter(&self, kind: &str, pred: impl Fn(&Row) -> bool) -> Vec<&Row> {
        self.list(kind)
            .into_iter()
            .filter(|row| pred(row))
            .collect()
    }

    /// The first row of a kind that satisfies `pred`.
    pub fn one(&self, kind: &str, pred: impl Fn(&Row) -> bool) -> Option<&Row> {
        self.list(kind).into_iter().find(|row| pred(row))
    }

    /// The row of a qualified key.
    pub fn find(&self, qualified: &str) -> Option<&Row> {
        let (kind, k) = qualified.split_once('\0')?;
        self.bucket(kind)?
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, row)| row)
    }

    /// Deletes the row of a qualified key.
    pub fn delete(&mut self, qualified: &str) {
        if let Some((kind, k)) = qualified.split_once('\0')
            && let Some(bucket) = self.bucket_mut(kind)
        {
            bucket.retain(|(key, _)| key != k);
        }
    }

    /// Sets fields of the row of a qualified key (fields the row does not have are ignored);
    /// the row keeps its place, under its new key.
    pub fn update(&mut self, qualified: &str, set: &Row) {
        let Some((kind, k)) = qualified.split_once('\0') else {
            return;
        };
        let Some(bucket) = self.bucket_mut(kind) else {
            return;
        };
        if let Some(entry) = bucket.iter_mut().find(|(key, _)| key == k) {
            for (field, value) in set {
                if entry.1.contains_key(field) {
                    entry.1.insert(field.clone(), value.clone());
                }
            }
            entry.0 = key(&entry.1);
        }
    }
}

/// A row from `(field, value)` pairs.
#[cfg(test)]
pub fn row(kind: &str, pairs: &[(&str, Value)]) -> Row {
    let mut input = Row::new();
    for (k, v) in pairs {
        input.insert((*k).to_string(), v.clone());
    }
    input.insert("entityType".into(), Value::String(kind.to_string()));
    prepare(kind, &input)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_are_prepared_in_field_order_with_their_kind_last() {
        let r = row("pks", &[("columns", json!(["id"])), ("table", json!("t"))]);
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "schema",
                "table",
                "name",
                "columns",
                "nameExplicit",
                "entityType"
            ]
        );
        assert_eq!(key(&r), r#"[null,"t",null]"#);
    }

    #[test]
    fn the_state_lists_kinds_in_drizzle_kit_s_order() {
        let mut ddl = Ddl::new();
        ddl.push(&row(
            "pks",
            &[
                ("schema", json!("public")),
                ("table", json!("t")),
                ("name", json!("t_pkey")),
            ],
        ))
        .unwrap();
        ddl.push(&row(
            "tables",
            &[("schema", json!("public")), ("name", json!("t"))],
        ))
        .unwrap();
        let kinds: Vec<&str> = ddl.all().into_iter().map(kind_of).collect();
        assert_eq!(kinds, ["tables", "pks"]);
        assert_eq!(qualified_key(ddl.all()[0]), "tables\0[\"public\",\"t\"]");
        assert!(
            ddl.push(&row(
                "tables",
                &[("schema", json!("public")), ("name", json!("t"))]
            ))
            .is_err()
        );
    }
}
