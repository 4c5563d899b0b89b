//! drizzle-kit 0.x's snapshot format 7 as drizzle-kit 1.0's entity rows (`upToV8` of
//! drizzle-kit 1.0.0-rc.5's `up`, PostgreSQL): the same rows in the same order, so that what
//! follows (the format 9 diff) starts from the same state.

use serde_json::{Map, Value, json};

use super::ddl::{Ddl, Row, prepare};

/// A format 7 snapshot read as rows.
#[derive(Debug, Clone)]
pub struct V7 {
    /// Its `id`.
    pub id: String,
    /// Its `prevId`.
    pub prev_id: String,
    /// Its entity rows, in drizzle-kit's order.
    pub rows: Vec<Row>,
}

/// Reads a format 7 PostgreSQL snapshot; refuses what the conversion here does not cover.
pub fn read(text: &str) -> Result<V7, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let version = json.get("version").and_then(Value::as_str).unwrap_or("");
    if version != "7" {
        return Err(format!(
            "its version is {version:?}, and only version \"7\" (drizzle-kit 0.31) is converted here"
        ));
    }
    if json.get("dialect").and_then(Value::as_str) != Some("postgresql") {
        return Err("its dialect is not postgresql".into());
    }
    let id = string(&json, "id")?;
    let prev_id = string(&json, "prevId")?;
    let empty = Map::new();
    let object = |value: &Value, field: &str| -> Map<String, Value> {
        value
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    for field in ["schemas", "tables", "columns"] {
        let renames = json
            .get("_meta")
            .and_then(|meta| meta.get(field))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if !renames.is_empty() {
            return Err(format!(
                "it records {field} renames (`_meta.{field}`), which this conversion does not replay"
            ));
        }
    }

    let mut ddl = Ddl::new();
    let mut push = |kind: &str, fields: Value| {
        let mut input = fields.as_object().cloned().unwrap_or_default();
        input.insert("entityType".into(), Value::String(kind.into()));
        // A repeated key keeps the first row, as drizzle-kit's push does.
        let _ = ddl.push(&prepare(kind, &input));
    };
    for schema in object(&json, "schemas").values() {
        push("schemas", json!({ "name": schema }));
    }
    for sequence in object(&json, "sequences").values() {
        push(
            "sequences",
            json!({
                "schema": sequence.get("schema").cloned().unwrap_or(Value::Null),
                "name": sequence.get("name").cloned().unwrap_or(Value::Null),
                "startWith": or_null(sequence, "startWith"),
                "incrementBy": or_null(sequence, "increment"),
                "minValue": or_null(sequence, "minValue"),
                "maxValue": or_null(sequence, "maxValue"),
                "cacheSize": sequence.get("cache").and_then(js_number).map_or(Value::Null, |n| json!(n)),
                "cycle": or_null(sequence, "cycle"),
            }),
        );
    }
    let policies = object(&json, "policies");
    for table in object(&json, "tables").values() {
        let schema = match table.get("schema").and_then(Value::as_str) {
            Some(schema) if !schema.is_empty() => schema.to_string(),
            _ => "public".to_string(),
        };
        let name = table.get("name").and_then(Value::as_str).unwrap_or("");
        let own_policies = object(table, "policies");
        let rls = table
            .get("isRLSEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || !own_policies.is_empty()
            || policies.values().any(|p| {
                p.get("on").and_then(Value::as_str) == Some(name)
                    && p.get("schema").and_then(Value::as_str).unwrap_or("public") == schema
            });
        push(
            "tables",
            json!({ "schema": schema, "name": name, "isRlsEnabled": rls }),
        );
        for column in object(table, "columns").values() {
            let column_name = column.get("name").and_then(Value::as_str).unwrap_or("");
            if column
                .get("primaryKey")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                push(
                    "pks",
                    json!({
                        "schema": schema,
                        "table": name,
                        "columns": [column_name],
                        "name": format!("{name}_pkey"),
                        "nameExplicit": false,
                    }),
                );
            }
            let raw_type = column.get("type").and_then(Value::as_str).unwrap_or("");
            let (base, dimensions) = base_type_and_dimensions(raw_type);
            let fixed = if base.starts_with("numeric(") {
                base.replacen(", ", ",", 1)
            } else {
                base
            };
            let identity = match column.get("identity") {
                Some(identity) if identity.is_object() => json!({
                    "name": identity.get("name").cloned().unwrap_or(Value::Null),
                    "type": identity.get("type").cloned().unwrap_or(Value::Null),
                    "startWith": or_null(identity, "startWith"),
                    "minValue": or_null(identity, "minValue"),
                    "maxValue": or_null(identity, "maxValue"),
                    "increment": or_null(identity, "increment"),
                    "cache": identity.get("cache").and_then(js_number).map_or(Value::Null, |n| json!(n)),
                    "cycle": or_null(identity, "cycle"),
                }),
                _ => Value::Null,
            };
            let default = match column.get("default") {
                None => Value::Null,
                Some(value) => Value::String(trim_default_value_suffix(&js_string(value))),
            };
            push(
                "columns",
                json!({
                    "schema": schema,
                    "table": name,
                    "name": column_name,
                    "type": fixed,
                    "notNull": column.get("notNull").cloned().unwrap_or(Value::Null),
                    "typeSchema": or_null(column, "typeSchema"),
                    "dimensions": dimensions,
                    "generated": or_null(column, "generated"),
                    "identity": identity,
                    "default": default,
                }),
            );
        }
        for pk in object(table, "compositePrimaryKeys").values() {
            let columns = strings(pk, "columns");
            let pk_name = pk.get("name").and_then(Value::as_str).unwrap_or("");
            let explicit = format!("{name}_{}_pk", columns.join("_")) != pk_name;
            push(
                "pks",
                json!({
                    "schema": schema,
                    "table": name,
                    "name": pk_name,
                    "columns": columns,
                    "nameExplicit": explicit,
                }),
            );
        }
        for unique in object(table, "uniqueConstraints").values() {
            let columns = strings(unique, "columns");
            let unique_name = unique.get("name").and_then(Value::as_str).unwrap_or("");
            let explicit = format!("{name}_{}_unique", columns.join("_")) != unique_name;
            push(
                "uniques",
                json!({
                    "schema": schema,
                    "table": name,
                    "columns": columns,
                    "name": unique_name,
                    "nameExplicit": explicit,
                    "nullsNotDistinct": unique.get("nullsNotDistinct").and_then(Value::as_bool).unwrap_or(false),
                }),
            );
        }
        for check in object(table, "checkConstraints").values() {
            push(
                "checks",
                json!({
                    "schema": schema,
                    "table": name,
                    "name": check.get("name").cloned().unwrap_or(Value::Null),
                    "value": check.get("value").cloned().unwrap_or(Value::Null),
                }),
            );
        }
        for index in object(table, "indexes").values() {
            let columns: Vec<Value> = index
                .get("columns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    let nulls = c.get("nulls").and_then(Value::as_str);
                    json!({
                        "value": c.get("expression").cloned().unwrap_or(Value::Null),
                        "isExpression": c.get("isExpression").cloned().unwrap_or(Value::Null),
                        "asc": c.get("asc").cloned().unwrap_or(Value::Null),
                        "nullsFirst": nulls.is_some_and(|n| !n.is_empty() && n != "last"),
                        "opclass": match c.get("opclass").and_then(Value::as_str) {
                            Some(opclass) if !opclass.is_empty() => json!({ "name": opclass, "default": false }),
                            _ => Value::Null,
                        },
                    })
                })
                .collect();
            let index_name = index.get("name").and_then(Value::as_str).unwrap_or("");
            let values: Vec<String> = columns
                .iter()
                .map(|c| js_string(c.get("value").unwrap_or(&Value::Null)))
                .collect();
            let explicit = columns
                .iter()
                .any(|c| c.get("isExpression") == Some(&Value::Bool(true)))
                || format!("{name}_{}_index", values.join("_")) != index_name;
            let with = index
                .get("with")
                .and_then(Value::as_object)
                .filter(|with| !with.is_empty())
                .map(|with| {
                    with.iter()
                        .map(|(k, v)| format!("{k}={}", js_string(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            push(
                "indexes",
                json!({
                    "schema": schema,
                    "table": name,
                    "name": index_name,
                    "columns": columns,
                    "isUnique": index.get("isUnique").cloned().unwrap_or(Value::Null),
                    "method": index.get("method").cloned().unwrap_or(Value::Null),
                    "concurrently": index.get("concurrently").cloned().unwrap_or(Value::Null),
                    "where": or_null(index, "where"),
                    "with": with,
                    "nameExplicit": explicit,
                }),
            );
        }
        for fk in object(table, "foreignKeys").values() {
            let table_from = fk.get("tableFrom").and_then(Value::as_str).unwrap_or("");
            let table_to = fk.get("tableTo").and_then(Value::as_str).unwrap_or("");
            let from = strings(fk, "columnsFrom");
            let to = strings(fk, "columnsTo");
            let fk_name = fk.get("name").and_then(Value::as_str).unwrap_or("");
            let explicit = format!(
                "{table_from}_{}_{table_to}_{}_fk",
                from.join("_"),
                to.join("_")
            ) != fk_name;
            let truncated: String = if fk_name.encode_utf16().count() < 63 {
                fk_name.to_string()
            } else {
                String::from_utf16_lossy(&fk_name.encode_utf16().take(63).collect::<Vec<_>>())
            };
            let action = |field: &str| {
                fk.get(field)
                    .and_then(Value::as_str)
                    .map_or_else(|| "NO ACTION".to_string(), str::to_uppercase)
            };
            let schema_to = match fk.get("schemaTo").and_then(Value::as_str) {
                Some(s) if !s.is_empty() => s.to_string(),
                _ => "public".to_string(),
            };
            push(
                "fks",
                json!({
                    "schema": schema,
                    "name": truncated,
                    "nameExplicit": explicit,
                    "table": table_from,
                    "columns": from,
                    "schemaTo": schema_to,
                    "tableTo": table_to,
                    "columnsTo": to,
                    "onDelete": action("onDelete"),
                    "onUpdate": action("onUpdate"),
                }),
            );
        }
        for policy in own_policies.values() {
            push(
                "policies",
                json!({
                    "schema": schema,
                    "table": name,
                    "name": policy.get("name").cloned().unwrap_or(Value::Null),
                    "as": policy.get("as").cloned().unwrap_or(json!("PERMISSIVE")),
                    "for": policy.get("for").cloned().unwrap_or(json!("ALL")),
                    "roles": policy.get("to").cloned().unwrap_or(json!([])),
                    "using": or_null(policy, "using"),
                    "withCheck": or_null(policy, "withCheck"),
                }),
            );
        }
    }
    for e in object(&json, "enums").values() {
        push(
            "enums",
            json!({
                "schema": e.get("schema").cloned().unwrap_or(Value::Null),
                "name": e.get("name").cloned().unwrap_or(Value::Null),
                "values": e.get("values").cloned().unwrap_or(json!([])),
            }),
        );
    }
    for role in object(&json, "roles").values() {
        push(
            "roles",
            json!({
                "name": role.get("name").cloned().unwrap_or(Value::Null),
                "createRole": role.get("createRole").cloned().unwrap_or(Value::Null),
                "createDb": role.get("createDb").cloned().unwrap_or(Value::Null),
                "inherit": role.get("inherit").cloned().unwrap_or(Value::Null),
            }),
        );
    }
    for policy in policies.values() {
        push(
            "policies",
            json!({
                "schema": policy.get("schema").and_then(Value::as_str).unwrap_or("public"),
                "table": policy.get("on").cloned().unwrap_or(Value::Null),
                "name": policy.get("name").cloned().unwrap_or(Value::Null),
                "as": policy.get("as").cloned().unwrap_or(json!("PERMISSIVE")),
                "roles": policy.get("to").cloned().unwrap_or(json!([])),
                "for": policy.get("for").cloned().unwrap_or(json!("ALL")),
                "using": or_null(policy, "using"),
                "withCheck": or_null(policy, "withCheck"),
            }),
        );
    }
    for view in object(&json, "views").values() {
        if view
            .get("isExisting")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            continue;
        }
        push(
            "views",
            json!({
                "schema": view.get("schema").cloned().unwrap_or(Value::Null),
                "name": view.get("name").cloned().unwrap_or(Value::Null),
                "definition": or_null(view, "definition"),
                "materialized": view.get("materialized").cloned().unwrap_or(Value::Null),
            }),
        );
    }
    Ok(V7 {
        id,
        prev_id,
        rows: ddl.all().into_iter().cloned().collect(),
    })
}

fn string(json: &Value, field: &str) -> Result<String, String> {
    json.get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("it has no string `{field}`"))
}

/// `value.field ?? null`.
fn or_null(value: &Value, field: &str) -> Value {
    value.get(field).cloned().unwrap_or(Value::Null)
}

fn strings(value: &Value, field: &str) -> Vec<String> {
    value
        .get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// JavaScript's `Number(value)` for what snapshots hold (numbers and numeric strings).
fn js_number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// JavaScript's `String(value)`.
pub fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// drizzle-kit's `extractBaseTypeAndDimensions`: `text[][]` → (`text`, 2).
fn base_type_and_dimensions(raw: &str) -> (String, usize) {
    let mut base = String::with_capacity(raw.len());
    let mut dimensions = 0;
    let mut rest = raw;
    while let Some(open) = rest.find('[') {
        match rest[open..].find(']') {
            Some(close) => {
                base.push_str(&rest[..open]);
                dimensions += 1;
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    base.push_str(rest);
    (base, dimensions)
}

/// drizzle-kit's `trimDefaultValueSuffix`: a trailing `[]`, then trailing casts
/// (`::jsonb`, `::"public"."e"`, `::timestamp with time zone`, `::varchar(10)[]`) go.
pub fn trim_default_value_suffix(value: &str) -> String {
    let value = value.strip_suffix("[]").unwrap_or(value);
    let bytes = value.as_bytes();
    let mut from = 0;
    while let Some(found) = value[from..].find("::") {
        let start = from + found;
        if casts_to_end(bytes, start) {
            return value[..start].to_string();
        }
        from = start + 1;
    }
    value.to_string()
}

/// Whether `bytes[at..]` is one or more `::type` groups reaching the end.
fn casts_to_end(bytes: &[u8], mut at: usize) -> bool {
    let in_class = |b: u8| {
        b.is_ascii_alphanumeric()
            || b == b'_'
            || b == b'"'
            || b == b'.'
            || b == b'-'
            || b.is_ascii_whitespace()
    };
    loop {
        if !bytes[at..].starts_with(b"::") {
            return false;
        }
        let mut i = at + 2;
        let start = i;
        while i < bytes.len() && in_class(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if bytes.get(i) == Some(&b'(') {
            match bytes[i..].iter().position(|&b| b == b')') {
                Some(close) => i += close + 1,
                None => return false,
            }
            for suffix in [" with time zone", " without time zone"] {
                let n = suffix.len();
                if bytes.len() >= i + n && bytes[i..i + n].eq_ignore_ascii_case(suffix.as_bytes()) {
                    i += n;
                    break;
                }
            }
        }
        if bytes[i..].starts_with(b"[]") {
            i += 2;
        }
        if i == bytes.len() {
            return true;
        }
        at = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_are_trimmed_as_drizzle_kit_trims_them() {
        for (input, expected) in [
            ("'{}'::jsonb", "'{}'"),
            ("now()", "now()"),
            ("'a'::text", "'a'"),
            ("'active'::\"public\".\"status\"", "'active'"),
            ("'2024-01-01'::timestamp without time zone", "'2024-01-01'"),
            ("'x'::character varying(10)[]", "'x'"),
            (
                "nextval('t_id_seq'::regclass)",
                "nextval('t_id_seq'::regclass)",
            ),
            ("'{a}'::text[]", "'{a}'"),
            ("5", "5"),
        ] {
            assert_eq!(trim_default_value_suffix(input), expected, "{input}");
        }
    }

    #[test]
    fn dimensions_are_counted() {
        assert_eq!(base_type_and_dimensions("text[][]"), ("text".into(), 2));
        assert_eq!(
            base_type_and_dimensions("vector(3)"),
            ("vector(3)".into(), 0)
        );
    }
}
