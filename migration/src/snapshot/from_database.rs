//! A drizzle-kit snapshot (version 7) read from a live database's catalogs: what drizzle-kit
//! would write for a TypeScript schema declaring the same tables.
//!
//! drizzle-kit diffs the TypeScript schema against the newest snapshot of the folder, so the
//! snapshot app-db writes next to a migration it generated must describe the schema after that
//! migration in drizzle-kit's own terms: drizzle's type names (`varchar(n)`, `timestamp`,
//! `serial`, enum names with their schema), defaults as drizzle writes them (`0`, `'free'`,
//! `gen_random_uuid()`), a single-column primary key named `<table>_pkey` as the column's
//! flag and any other as a composite one, unique constraints as table constraints, indexes
//! without the ones backing constraints, an operator class only where it is not the default.
//!
//! Not read back (no catalog carries drizzle's TypeScript text): a CHECK's or partial index's
//! SQL as written in TypeScript (PostgreSQL's normalised text is written instead), views,
//! roles (drizzle-kit lists only declared ones), identity and generated columns' details.
//!
//! The catalogs are read once, by `generate`'s own reader (`app_db::generate::read`), into its
//! model; this file only renders that model in drizzle-kit's terms (pure). Depends on the
//! library and serde_json only, so that the CLI's tests can include it with `#[path]`.

use app_db::Error;
use app_db::generate::model::{Index, Schema, Table};
use app_db::generate::read::read_schema;
use serde_json::{Map, Value, json};

/// The snapshot of the tables, enums and sequences of `schema` in the database behind `conn`,
/// with an empty `id` and `prevId` (`write_snapshot` chains it). Only `public` is read, as
/// `generate` models it.
pub async fn snapshot_from_database(
    conn: &mut sqlx::PgConnection,
    schema: &str,
) -> Result<Value, Error> {
    if schema != "public" {
        return Err(Error::Refused {
            reason: format!("a snapshot of schema {schema:?} was asked for; only public is read"),
            fix: "keep the app's tables in the public schema".into(),
        });
    }
    Ok(snapshot_of(&read_schema(conn).await?))
}

/// The snapshot of a read schema (`public`), with an empty `id` and `prevId`.
pub fn snapshot_of(schema: &Schema) -> Value {
    let mut enums = Map::new();
    for (name, values) in &schema.enums {
        enums.insert(
            format!("public.{name}"),
            json!({"name": name, "schema": "public", "values": values}),
        );
    }
    let mut tables = Map::new();
    for (name, table) in &schema.tables {
        tables.insert(format!("public.{name}"), table_of(table));
    }
    let mut sequences = Map::new();
    for s in &schema.sequences {
        let mut seq = Map::new();
        seq.insert("name".into(), json!(s.name));
        seq.insert("increment".into(), json!(s.increment));
        seq.insert("minValue".into(), json!(s.min));
        seq.insert("maxValue".into(), json!(s.max));
        seq.insert("startWith".into(), json!(s.start));
        seq.insert("cache".into(), json!(s.cache));
        seq.insert("cycle".into(), json!(s.cycle));
        seq.insert("schema".into(), json!("public"));
        sequences.insert(format!("public.{}", s.name), Value::Object(seq));
    }
    let mut snapshot = Map::new();
    for (key, value) in [
        ("id", json!("")),
        ("prevId", json!("")),
        ("version", json!("7")),
        ("dialect", json!("postgresql")),
        ("tables", Value::Object(tables)),
        ("enums", Value::Object(enums)),
        ("schemas", json!({})),
        ("sequences", Value::Object(sequences)),
        ("roles", json!({})),
        ("policies", json!({})),
        ("views", json!({})),
        ("_meta", json!({"columns": {}, "schemas": {}, "tables": {}})),
    ] {
        snapshot.insert(key.into(), value);
    }
    Value::Object(snapshot)
}

/// One table: a single-column primary key named `<table>_pkey` is the column's flag (drizzle's
/// `.primaryKey()`), any other is composite; the schema of a `public` table is written `""`.
fn table_of(table: &Table) -> Value {
    let column_pk = table
        .primary_key
        .as_ref()
        .filter(|pk| pk.columns.len() == 1 && pk.name == format!("{}_pkey", table.name))
        .map(|pk| pk.columns[0].as_str());
    let mut columns = Map::new();
    for c in &table.columns {
        // An enum, or an `enum[]` (drizzle-kit: the unquoted name with its `[]`).
        let (ty, default) = match &c.uses_enum {
            Some(name) => {
                let dims = c.type_sql.matches("[]").count();
                (format!("{name}{}", "[]".repeat(dims)), c.default.clone())
            }
            None => drizzle_type(&c.type_sql, c.default.clone()),
        };
        let mut column = Map::new();
        column.insert("name".into(), json!(c.name));
        column.insert("type".into(), json!(ty));
        if c.uses_enum.is_some() {
            column.insert("typeSchema".into(), json!("public"));
        }
        column.insert(
            "primaryKey".into(),
            json!(column_pk == Some(c.name.as_str())),
        );
        column.insert("notNull".into(), json!(c.not_null));
        if let Some(default) = default {
            column.insert("default".into(), drizzle_default(&ty, &default));
        }
        // drizzle-kit's `as` is the schema's own SQL text; the catalog holds PostgreSQL's
        // normal form of it, which is what is written.
        if let Some(expression) = &c.generated {
            column.insert(
                "generated".into(),
                json!({"as": expression, "type": "stored"}),
            );
        }
        columns.insert(c.name.clone(), Value::Object(column));
    }
    let mut indexes = Map::new();
    for index in &table.indexes {
        indexes.insert(index.name.clone(), index_of(index));
    }
    let mut foreign_keys = Map::new();
    for fk in &table.foreign_keys {
        let mut value = Map::new();
        value.insert("name".into(), json!(fk.name));
        value.insert("tableFrom".into(), json!(table.name));
        value.insert("tableTo".into(), json!(fk.ref_table));
        value.insert("columnsFrom".into(), json!(fk.columns));
        value.insert("columnsTo".into(), json!(fk.ref_columns));
        value.insert("onDelete".into(), json!(fk.on_delete));
        value.insert("onUpdate".into(), json!(fk.on_update));
        foreign_keys.insert(fk.name.clone(), Value::Object(value));
    }
    let mut composite = Map::new();
    if let Some(pk) = table.primary_key.as_ref().filter(|_| column_pk.is_none()) {
        composite.insert(
            pk.name.clone(),
            json!({"name": pk.name, "columns": pk.columns}),
        );
    }
    let mut uniques = Map::new();
    for u in &table.uniques {
        uniques.insert(
            u.name.clone(),
            json!({"name": u.name, "nullsNotDistinct": u.nulls_not_distinct, "columns": u.columns}),
        );
    }
    let mut policies = Map::new();
    for p in &table.policies {
        let mut policy = Map::new();
        policy.insert("name".into(), json!(p.name));
        let kind = if p.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        };
        policy.insert("as".into(), json!(kind));
        policy.insert("for".into(), json!(p.command));
        policy.insert("to".into(), json!(p.roles));
        if let Some(using) = &p.using {
            policy.insert("using".into(), json!(using));
        }
        if let Some(check) = &p.with_check {
            policy.insert("withCheck".into(), json!(check));
        }
        policies.insert(p.name.clone(), Value::Object(policy));
    }
    let mut checks = Map::new();
    for c in &table.checks {
        let value = c
            .definition
            .strip_prefix("CHECK (")
            .and_then(|d| d.strip_suffix(')'))
            .unwrap_or(&c.definition);
        checks.insert(c.name.clone(), json!({"name": c.name, "value": value}));
    }
    let mut out = Map::new();
    out.insert("name".into(), json!(table.name));
    out.insert("schema".into(), json!(""));
    out.insert("columns".into(), Value::Object(columns));
    out.insert("indexes".into(), Value::Object(indexes));
    out.insert("foreignKeys".into(), Value::Object(foreign_keys));
    out.insert("compositePrimaryKeys".into(), Value::Object(composite));
    out.insert("uniqueConstraints".into(), Value::Object(uniques));
    out.insert("policies".into(), Value::Object(policies));
    out.insert("checkConstraints".into(), Value::Object(checks));
    out.insert("isRLSEnabled".into(), json!(table.row_level_security));
    Value::Object(out)
}

/// An index that backs no constraint (drizzle lists those as constraints).
fn index_of(index: &Index) -> Value {
    let columns: Vec<Value> = index
        .key_parts
        .iter()
        .map(|key| {
            let mut column = Map::new();
            column.insert("expression".into(), json!(key.expression));
            column.insert("isExpression".into(), json!(key.is_expression));
            column.insert("asc".into(), json!(!key.descending));
            let nulls = if key.nulls_first { "first" } else { "last" };
            column.insert("nulls".into(), json!(nulls));
            if let Some(opclass) = &key.opclass {
                column.insert("opclass".into(), json!(opclass));
            }
            Value::Object(column)
        })
        .collect();
    let mut with = Map::new();
    for (key, value) in &index.with {
        let value = value
            .parse::<i64>()
            .map_or_else(|_| json!(value), |n| json!(n));
        with.insert(key.clone(), value);
    }
    let mut out = Map::new();
    out.insert("name".into(), json!(index.name));
    out.insert("columns".into(), Value::Array(columns));
    out.insert("isUnique".into(), json!(index.unique));
    if let Some(predicate) = &index.predicate {
        out.insert("where".into(), json!(predicate));
    }
    out.insert("concurrently".into(), json!(false));
    out.insert("method".into(), json!(index.method));
    out.insert("with".into(), Value::Object(with));
    Value::Object(out)
}

/// drizzle's name for PostgreSQL's `format_type` text, and the default left once a serial's
/// `nextval(...)` is folded into its type.
pub(crate) fn drizzle_type(pg: &str, default: Option<String>) -> (String, Option<String>) {
    let serial = default
        .as_deref()
        .is_some_and(|d| d.starts_with("nextval(") && d.ends_with("::regclass)"));
    let serial_type = match pg {
        "smallint" if serial => Some("smallserial"),
        "integer" if serial => Some("serial"),
        "bigint" if serial => Some("bigserial"),
        _ => None,
    };
    if let Some(ty) = serial_type {
        return (ty.to_string(), None);
    }
    let ty = if let Some(rest) = pg.strip_prefix("character varying") {
        format!("varchar{rest}")
    } else if let Some(rest) = pg.strip_prefix("character(") {
        format!("char({rest}")
    } else if let Some(rest) = pg.strip_suffix(" without time zone") {
        rest.to_string()
    } else if let Some(args) = pg
        .strip_prefix("numeric(")
        .and_then(|r| r.strip_suffix(')'))
    {
        format!("numeric({})", args.replace(',', ", "))
    } else {
        pg.to_string()
    };
    (ty, default)
}

/// A default as drizzle writes it in a snapshot: numbers and booleans as JSON, a string
/// literal with its quotes but without PostgreSQL's cast (kept for json/jsonb, as drizzle
/// does), any other expression as its text.
pub(crate) fn drizzle_default(ty: &str, default: &str) -> Value {
    let numeric = matches!(
        ty,
        "smallint" | "integer" | "bigint" | "real" | "double precision"
    );
    let unquoted = default
        .strip_prefix('\'')
        .and_then(|d| d.split_once("'::"))
        .map(|(v, _)| v);
    if numeric {
        let literal = unquoted.unwrap_or(default);
        if let Ok(n) = literal.parse::<i64>() {
            return json!(n);
        }
        if let Some(n) = literal
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    match default {
        "true" => return json!(true),
        "false" => return json!(false),
        _ => {}
    }
    if default.starts_with('\'')
        && !matches!(ty, "json" | "jsonb")
        && let Some(end) = default.rfind("'::")
    {
        return json!(&default[..=end]);
    }
    json!(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_take_drizzles_names() {
        let ty = |pg: &str| drizzle_type(pg, None).0;
        assert_eq!(ty("character varying(255)"), "varchar(255)");
        assert_eq!(ty("character varying"), "varchar");
        assert_eq!(ty("character(2)"), "char(2)");
        assert_eq!(ty("timestamp(3) without time zone"), "timestamp(3)");
        assert_eq!(ty("timestamp with time zone"), "timestamp with time zone");
        assert_eq!(ty("numeric(10,2)"), "numeric(10, 2)");
        assert_eq!(ty("vector(1536)"), "vector(1536)");
        assert_eq!(ty("text[]"), "text[]");
        let serial = drizzle_type("integer", Some("nextval('t_id_seq'::regclass)".into()));
        assert_eq!(serial, ("serial".to_string(), None));
        let kept = drizzle_type("integer", Some("0".into()));
        assert_eq!(kept, ("integer".to_string(), Some("0".to_string())));
    }

    #[test]
    fn keys_and_indexes_take_drizzles_form() {
        use app_db::generate::model::{Column, IndexKey, PrimaryKey};
        let column = |name: &str| Column {
            name: name.into(),
            type_sql: "uuid".into(),
            not_null: true,
            ..Column::default()
        };
        let table = Table {
            name: "member".into(),
            columns: vec![column("org"), column("user")],
            primary_key: Some(PrimaryKey {
                name: "member_org_user_pk".into(),
                columns: vec!["org".into(), "user".into()],
            }),
            indexes: vec![Index {
                name: "member_user_index".into(),
                method: "hnsw".into(),
                key_parts: vec![IndexKey {
                    expression: "user".into(),
                    descending: true,
                    opclass: Some("vector_cosine_ops".into()),
                    ..IndexKey::default()
                }],
                with: vec![("m".into(), "16".into())],
                ..Index::default()
            }],
            ..Table::default()
        };
        let value = table_of(&table);
        assert_eq!(value["columns"]["org"]["primaryKey"], json!(false));
        assert_eq!(
            value["compositePrimaryKeys"]["member_org_user_pk"],
            json!({"name": "member_org_user_pk", "columns": ["org", "user"]})
        );
        let index = &value["indexes"]["member_user_index"];
        assert_eq!(
            index["columns"],
            json!([{"expression": "user", "isExpression": false, "asc": false, "nulls": "last", "opclass": "vector_cosine_ops"}])
        );
        assert_eq!(index["with"], json!({"m": 16}));
        // An inline key: the column's flag, no composite key.
        let inline = Table {
            primary_key: Some(PrimaryKey {
                name: "member_pkey".into(),
                columns: vec!["org".into()],
            }),
            indexes: vec![],
            ..table
        };
        let value = table_of(&inline);
        assert_eq!(value["columns"]["org"]["primaryKey"], json!(true));
        assert_eq!(value["compositePrimaryKeys"], json!({}));
    }

    #[test]
    fn defaults_take_drizzles_form() {
        assert_eq!(drizzle_default("integer", "0"), json!(0));
        assert_eq!(drizzle_default("integer", "'-1'::integer"), json!(-1));
        assert_eq!(drizzle_default("text", "'free'::text"), json!("'free'"));
        assert_eq!(drizzle_default("plan", "'free'::plan"), json!("'free'"));
        assert_eq!(drizzle_default("text", "'it''s'::text"), json!("'it''s'"));
        assert_eq!(
            drizzle_default("jsonb", "'{}'::jsonb"),
            json!("'{}'::jsonb")
        );
        assert_eq!(drizzle_default("boolean", "true"), json!(true));
        assert_eq!(
            drizzle_default("uuid", "gen_random_uuid()"),
            json!("gen_random_uuid()")
        );
        assert_eq!(drizzle_default("timestamp", "now()"), json!("now()"));
    }
}
