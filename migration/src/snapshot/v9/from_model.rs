//! `generate`'s catalog model as drizzle-kit 1.0's entity rows: what drizzle-kit 1.0 builds
//! from a TypeScript schema declaring the same tables (type names and defaults as drizzle
//! writes them, `nameExplicit` false for drizzle's default names).
//!
//! Types and defaults go through the 0.31 snapshot's renderer (`from_database.rs`, checked
//! against drizzle-kit on every generate fixture class) and drizzle-kit 1.0's conversion of a
//! 0.31 default (`trimDefaultValueSuffix`), so both formats name a column alike.

use app_db::generate::model::{Index, Schema, Table};
use serde_json::{Value, json};

use super::ddl::{Ddl, Row, prepare};
use super::from_v7::{js_string, trim_default_value_suffix};
use crate::snapshot::from_database::{drizzle_default, drizzle_type};

fn row(kind: &str, value: Value) -> Row {
    let mut input = value.as_object().cloned().unwrap_or_default();
    input.insert("entityType".into(), json!(kind));
    prepare(kind, &input)
}

/// drizzle-kit 1.0's state for `schema` (`public` only, as `generate` models it): enums,
/// tables, columns, keys, uniques, checks, indexes and foreign keys, tables in name order.
pub fn state_of(schema: &Schema) -> Result<Ddl, String> {
    let mut rows = Vec::new();
    for (name, values) in &schema.enums {
        rows.push(row(
            "enums",
            json!({ "schema": "public", "name": name, "values": values }),
        ));
    }
    for table in schema.tables.values() {
        rows.extend(table_rows(table));
    }
    Ddl::from_rows(&rows)
}

fn table_rows(table: &Table) -> Vec<Row> {
    let t = table.name.as_str();
    let mut rows = vec![row(
        "tables",
        json!({ "schema": "public", "name": t, "isRlsEnabled": table.row_level_security }),
    )];
    for c in &table.columns {
        let (ty, default) = match &c.uses_enum {
            // An enum, or an array of one (`enum[]`): the name with the array's dimensions.
            Some(name) => (
                format!("{name}{}", "[]".repeat(c.type_sql.matches("[]").count())),
                c.default.clone(),
            ),
            None => drizzle_type(&c.type_sql, c.default.clone()),
        };
        let dimensions = ty.matches("[]").count();
        let base = ty.replace("[]", "");
        let base = if base.starts_with("numeric(") {
            base.replacen(", ", ",", 1)
        } else {
            base
        };
        let default = default.map(|d| {
            let drizzle = drizzle_default(&ty, &d);
            trim_default_value_suffix(&js_string(&drizzle))
        });
        rows.push(row(
            "columns",
            json!({
                "schema": "public",
                "table": t,
                "name": c.name,
                "type": base,
                "typeSchema": if c.uses_enum.is_some() { json!("public") } else { Value::Null },
                "notNull": c.not_null,
                "dimensions": dimensions,
                "default": default,
                "generated": Value::Null,
                "identity": Value::Null,
            }),
        ));
    }
    if let Some(pk) = &table.primary_key {
        rows.push(row(
            "pks",
            json!({
                "schema": "public",
                "table": t,
                "name": pk.name,
                "columns": pk.columns,
                "nameExplicit": pk.name != format!("{t}_pkey"),
            }),
        ));
    }
    for u in &table.uniques {
        let joined = u.columns.join("_");
        let generated =
            u.name == format!("{t}_{joined}_key") || u.name == format!("{t}_{joined}_unique");
        rows.push(row(
            "uniques",
            json!({
                "schema": "public",
                "table": t,
                "name": u.name,
                "nameExplicit": !generated,
                "columns": u.columns,
                "nullsNotDistinct": u.nulls_not_distinct,
            }),
        ));
    }
    for c in &table.checks {
        let value = if c.expression_sql.is_empty() {
            c.definition
                .strip_prefix("CHECK (")
                .and_then(|d| d.strip_suffix(')'))
                .unwrap_or(&c.definition)
                .to_string()
        } else {
            c.expression_sql.clone()
        };
        rows.push(row(
            "checks",
            json!({ "schema": "public", "table": t, "name": c.name, "value": value }),
        ));
    }
    for index in &table.indexes {
        rows.push(index_row(t, index));
    }
    for fk in &table.foreign_keys {
        let default = format!(
            "{t}_{}_{}_{}_fkey",
            fk.columns.join("_"),
            fk.ref_table,
            fk.ref_columns.join("_")
        );
        rows.push(row(
            "fks",
            json!({
                "schema": "public",
                "table": t,
                "name": fk.name,
                "nameExplicit": fk.name != default,
                "columns": fk.columns,
                "schemaTo": "public",
                "tableTo": fk.ref_table,
                "columnsTo": fk.ref_columns,
                "onUpdate": fk.on_update.to_uppercase(),
                "onDelete": fk.on_delete.to_uppercase(),
            }),
        ));
    }
    rows
}

fn index_row(t: &str, index: &Index) -> Row {
    let columns: Vec<Value> = index
        .key_parts
        .iter()
        .map(|key| {
            json!({
                "value": key.expression,
                "isExpression": key.is_expression,
                "asc": !key.descending,
                "nullsFirst": key.nulls_first,
                "opclass": key.opclass.as_ref().map_or(Value::Null, |name| json!({ "name": name, "default": false })),
            })
        })
        .collect();
    let values: Vec<&str> = index
        .key_parts
        .iter()
        .map(|k| k.expression.as_str())
        .collect();
    let explicit = index.key_parts.iter().any(|k| k.is_expression)
        || index.name != format!("{t}_{}_index", values.join("_"));
    let with = index
        .with
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let predicate = index
        .predicate_sql
        .clone()
        .or_else(|| index.predicate.clone());
    row(
        "indexes",
        json!({
            "schema": "public",
            "table": t,
            "name": index.name,
            "nameExplicit": explicit,
            "columns": columns,
            "isUnique": index.unique,
            "where": predicate,
            "with": with,
            "method": index.method,
            "concurrently": false,
        }),
    )
}
