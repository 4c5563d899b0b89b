//! The footprint format 9 stores per statement: what it touches, for drizzle-kit 1.0 to tell
//! whether two branches of migrations commute (its PostgreSQL `buildFootprint`).

use serde_json::{Map, Value, json};

use super::ddl::{Row, opt_text, text, texts};
use super::sql::statement_sql;
use super::statements::Statement;

fn join(parts: &[&str]) -> String {
    parts.join(".")
}

fn node(prefix: &str, kind: &str, parts: &[&str]) -> String {
    format!("{prefix}|{kind}|{}", join(parts))
}

fn shared_names(kind: &str, parts: &[&str]) -> Vec<String> {
    match kind {
        "tbl" | "view" => vec![node("n", "rel", parts), node("n", "type", parts)],
        "seq" | "idx" => vec![node("n", "rel", parts)],
        "enum" => vec![node("n", "type", parts)],
        "uq" => vec![
            node("n", "con", parts),
            node("n", "rel", &[parts[0], parts[2]]),
        ],
        "ck" | "fk" => vec![node("n", "con", parts)],
        _ => Vec::new(),
    }
}

fn created(kind: &str, parts: &[&str]) -> Vec<String> {
    let mut out = vec![
        node("s", kind, parts),
        node("n", kind, parts),
        node("e", kind, parts),
    ];
    out.extend(shared_names(kind, parts));
    out
}

fn under_table(schema: &str, table: &str) -> Vec<String> {
    vec![
        node("n", "tbl", &[schema, table]),
        node("n", "sch", &[schema]),
    ]
}

fn index_home(schema: &str, table: &str) -> Vec<String> {
    vec![
        node("e", "tbl", &[schema, table]),
        node("n", "sch", &[schema]),
    ]
}

fn col_enum(column: &Row) -> Vec<String> {
    match opt_text(column, "typeSchema") {
        Some(type_schema)
            if !type_schema.is_empty()
                && type_schema != "pg_catalog"
                && !text(column, "type").is_empty() =>
        {
            vec![node("n", "enum", &[type_schema, text(column, "type")])]
        }
        _ => Vec::new(),
    }
}

fn index_column_values(index: &Row) -> Vec<String> {
    index
        .get("columns")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .filter(|c| c.get("isExpression").and_then(Value::as_bool) != Some(true))
                .filter_map(|c| c.get("value").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn uniqueness(schema: &str, table: &str, columns: &[String]) -> String {
    let mut sorted = columns.to_vec();
    sorted.sort();
    let mut parts = vec![schema, table];
    parts.extend(sorted.iter().map(String::as_str));
    node("e", "uniqueness", &parts)
}

fn index_uniqueness(index: &Row) -> Vec<String> {
    let unique = index.get("isUnique").and_then(Value::as_bool) == Some(true);
    let has_where = opt_text(index, "where").is_some_and(|w| !w.is_empty());
    let all_plain = index
        .get("columns")
        .and_then(Value::as_array)
        .is_some_and(|cols| {
            cols.iter()
                .all(|c| c.get("isExpression").and_then(Value::as_bool) != Some(true))
        });
    if unique && !has_where && all_plain {
        let values: Vec<String> = index
            .get("columns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(|c| c.get("value").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        vec![uniqueness(
            text(index, "schema"),
            text(index, "table"),
            &values,
        )]
    } else {
        Vec::new()
    }
}

/// drizzle-kit's `targetOf`.
fn target(statement: &Statement) -> Value {
    let table_of = |r: &Row| json!(["table", r.get("schema"), r.get("table")]);
    let column_of = |r: &Row| json!(["column", r.get("schema"), r.get("table"), r.get("name")]);
    match statement {
        Statement::CreateTable { table } => {
            json!(["table", table.table.get("schema"), table.table.get("name")])
        }
        Statement::DropTable { table } => json!(["table", table.get("schema"), table.get("name")]),
        Statement::AddColumn { column, .. } | Statement::DropColumn { column } => column_of(column),
        Statement::RecreateColumn { diff, .. } | Statement::AlterColumn { diff, .. } => {
            column_of(&diff.right)
        }
        Statement::CreateIndex { index }
        | Statement::DropIndex { index }
        | Statement::RecreateIndex { index, .. } => json!([
            "index",
            index.get("schema"),
            index.get("table"),
            index.get("name")
        ]),
        Statement::AddPk { pk } | Statement::DropPk { pk } => table_of(pk),
        Statement::AlterPk { diff, .. } => table_of(&diff.right),
        Statement::CreateFk { fk } | Statement::DropFk { fk } => table_of(fk),
        Statement::RecreateFk { diff } => table_of(&diff.right),
        Statement::AddUnique { unique } | Statement::DropUnique { unique } => table_of(unique),
        Statement::AlterUnique { diff } => table_of(&diff.right),
        Statement::AddCheck { check, .. } | Statement::DropCheck { check, .. } => table_of(check),
        Statement::AlterCheck { diff, .. } => table_of(&diff.right),
        Statement::CreateEnum { e } | Statement::DropEnum { e } => {
            json!(["enum", e.get("schema"), e.get("name")])
        }
        Statement::AlterEnum { to, .. } | Statement::RecreateEnum { to, .. } => {
            json!(["enum", to.get("schema"), to.get("name")])
        }
        Statement::CreateSchema { name } | Statement::DropSchema { name } => {
            json!(["schema", name])
        }
    }
}

/// drizzle-kit's `isIdempotent`: statements whose footprint carries the hash of their SQL.
fn is_idempotent(statement: &Statement) -> bool {
    match statement {
        Statement::AlterColumn {
            diff,
            was_serial,
            to_serial,
            ..
        } => {
            let drops_sequence = *was_serial && !is_serial(text(&diff.right, "type"));
            let array_conversion = diff
                .change("dimensions")
                .is_some_and(|c| c.from == 0 || c.to == 0);
            !drops_sequence
                && !to_serial
                && !diff.has("generated")
                && !diff.has("identity")
                && !array_conversion
        }
        Statement::AlterPk { deleted, .. } => !deleted,
        Statement::RecreateColumn { .. }
        | Statement::RecreateIndex { .. }
        | Statement::RecreateFk { .. }
        | Statement::AlterUnique { .. }
        | Statement::AlterCheck { .. }
        | Statement::RecreateEnum { .. } => true,
        _ => false,
    }
}

fn is_serial(t: &str) -> bool {
    matches!(
        t.to_ascii_lowercase().as_str(),
        "serial" | "bigserial" | "smallserial"
    )
}

/// (writes, reads, sharedWrites) of a statement; `None` reads means the key is absent.
fn nodes(statement: &Statement) -> (Vec<String>, Option<Vec<String>>, Option<Vec<String>>) {
    match statement {
        Statement::CreateTable { table } => {
            let schema = text(&table.table, "schema");
            let mut writes = created("tbl", &[schema, text(&table.table, "name")]);
            if let Some(pk) = &table.pk {
                writes.push(node("n", "rel", &[schema, text(pk, "name")]));
            }
            for unique in &table.uniques {
                writes.push(node("n", "rel", &[schema, text(unique, "name")]));
            }
            let mut reads = vec![node("n", "sch", &[schema])];
            for column in &table.columns {
                reads.extend(col_enum(column));
            }
            (writes, Some(reads), None)
        }
        Statement::DropTable { table } => {
            let schema = text(table, "schema");
            (
                created("tbl", &[schema, text(table, "name")]),
                Some(vec![node("n", "sch", &[schema])]),
                None,
            )
        }
        Statement::AddColumn { column, .. } => {
            let (s, t, n) = (
                text(column, "schema"),
                text(column, "table"),
                text(column, "name"),
            );
            let mut reads = under_table(s, t);
            reads.extend(col_enum(column));
            (created("col", &[s, t, n]), Some(reads), None)
        }
        Statement::DropColumn { column } => {
            let (s, t, n) = (
                text(column, "schema"),
                text(column, "table"),
                text(column, "name"),
            );
            (created("col", &[s, t, n]), Some(under_table(s, t)), None)
        }
        Statement::AlterColumn { diff, .. } => {
            let mut properties: Vec<&str> = Vec::new();
            let mut add = |p: &'static str| {
                if !properties.contains(&p) {
                    properties.push(p);
                }
            };
            if diff.has("notNull") {
                add("notNull");
            }
            if diff.has("default") {
                add("default");
            }
            if diff.has("type") || diff.has("typeSchema") || diff.has("dimensions") {
                add("type");
                add("default");
            }
            if diff.has("generated") {
                add("generated");
                add("default");
            }
            if diff.has("identity") {
                add("identity");
                add("default");
                add("notNull");
            }
            let to = &diff.right;
            let (s, t, n) = (text(to, "schema"), text(to, "table"), text(to, "name"));
            let writes = properties
                .iter()
                .map(|p| node("s", "colprop", &[s, t, n, p]))
                .collect();
            let mut reads = under_table(s, t);
            reads.push(node("n", "col", &[s, t, n]));
            if diff.has("default") || properties.contains(&"type") {
                reads.extend(col_enum(to));
            }
            (writes, Some(reads), None)
        }
        Statement::RecreateColumn { diff, .. } => {
            let column = &diff.right;
            let (s, t, n) = (
                text(column, "schema"),
                text(column, "table"),
                text(column, "name"),
            );
            let mut reads = under_table(s, t);
            reads.extend(col_enum(column));
            (created("col", &[s, t, n]), Some(reads), None)
        }
        Statement::CreateIndex { index } => {
            let (s, t) = (text(index, "schema"), text(index, "table"));
            let mut reads = under_table(s, t);
            reads.extend(
                index_column_values(index)
                    .iter()
                    .map(|c| node("n", "col", &[s, t, c])),
            );
            (created("idx", &[s, text(index, "name")]), Some(reads), None)
        }
        Statement::DropIndex { index } => {
            let (s, t) = (text(index, "schema"), text(index, "table"));
            let key = index_uniqueness(index);
            let mut reads = if key.is_empty() {
                index_home(s, t)
            } else {
                under_table(s, t)
            };
            reads.extend(
                index_column_values(index)
                    .iter()
                    .map(|c| node("e", "col", &[s, t, c])),
            );
            (
                created("idx", &[s, text(index, "name")]),
                Some(reads),
                Some(key),
            )
        }
        Statement::RecreateIndex { index, diff } => {
            let (s, t) = (text(index, "schema"), text(index, "table"));
            let mut reads = under_table(s, t);
            reads.extend(
                index_column_values(index)
                    .iter()
                    .map(|c| node("n", "col", &[s, t, c])),
            );
            (
                created("idx", &[s, text(index, "name")]),
                Some(reads),
                Some(index_uniqueness(&diff.left)),
            )
        }
        Statement::AddPk { pk } | Statement::DropPk { pk } => {
            let (s, t) = (text(pk, "schema"), text(pk, "table"));
            let mut writes = created("pk", &[s, t]);
            writes.extend(shared_names("uq", &[s, t, text(pk, "name")]));
            let prefix = if matches!(statement, Statement::AddPk { .. }) {
                "n"
            } else {
                "e"
            };
            let columns = texts(pk, "columns");
            let mut reads = under_table(s, t);
            reads.extend(columns.iter().map(|c| node(prefix, "col", &[s, t, c])));
            let shared = matches!(statement, Statement::DropPk { .. })
                .then(|| vec![uniqueness(s, t, &columns)]);
            (writes, Some(reads), shared)
        }
        Statement::AlterPk { diff, .. } => {
            let pk = &diff.right;
            let (s, t) = (text(pk, "schema"), text(pk, "table"));
            let columns = texts(pk, "columns");
            let mut reads = under_table(s, t);
            reads.extend(columns.iter().map(|c| node("n", "col", &[s, t, c])));
            let shared_columns: Vec<String> = diff
                .change("columns")
                .and_then(|c| c.from.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or(columns);
            (
                vec![node("s", "pk", &[s, t])],
                Some(reads),
                Some(vec![uniqueness(s, t, &shared_columns)]),
            )
        }
        Statement::CreateFk { fk }
        | Statement::RecreateFk {
            diff: super::diff::Alter { right: fk, .. },
        } => {
            let (s, t) = (text(fk, "schema"), text(fk, "table"));
            let (s_to, t_to) = (text(fk, "schemaTo"), text(fk, "tableTo"));
            let mut reads = under_table(s, t);
            reads.push(node("n", "tbl", &[s_to, t_to]));
            reads.push(node("n", "sch", &[s_to]));
            reads.extend(
                texts(fk, "columns")
                    .iter()
                    .map(|c| node("n", "col", &[s, t, c])),
            );
            reads.extend(
                texts(fk, "columnsTo")
                    .iter()
                    .map(|c| node("n", "col", &[s_to, t_to, c])),
            );
            reads.push(uniqueness(s_to, t_to, &texts(fk, "columnsTo")));
            (created("fk", &[s, t, text(fk, "name")]), Some(reads), None)
        }
        Statement::DropFk { fk } => {
            let (s, t) = (text(fk, "schema"), text(fk, "table"));
            let mut reads = under_table(s, t);
            reads.extend(
                texts(fk, "columns")
                    .iter()
                    .map(|c| node("e", "col", &[s, t, c])),
            );
            (created("fk", &[s, t, text(fk, "name")]), Some(reads), None)
        }
        Statement::AddUnique { unique } => {
            let (s, t) = (text(unique, "schema"), text(unique, "table"));
            let mut reads = under_table(s, t);
            reads.extend(
                texts(unique, "columns")
                    .iter()
                    .map(|c| node("n", "col", &[s, t, c])),
            );
            (
                created("uq", &[s, t, text(unique, "name")]),
                Some(reads),
                None,
            )
        }
        Statement::DropUnique { unique } => {
            let (s, t) = (text(unique, "schema"), text(unique, "table"));
            let columns = texts(unique, "columns");
            let mut reads = under_table(s, t);
            reads.extend(columns.iter().map(|c| node("e", "col", &[s, t, c])));
            (
                created("uq", &[s, t, text(unique, "name")]),
                Some(reads),
                Some(vec![uniqueness(s, t, &columns)]),
            )
        }
        Statement::AlterUnique { diff } => {
            let to = &diff.right;
            let (s, t) = (text(to, "schema"), text(to, "table"));
            let from_columns = texts(&diff.left, "columns");
            let mut reads = under_table(s, t);
            reads.extend(
                texts(to, "columns")
                    .iter()
                    .map(|c| node("n", "col", &[s, t, c])),
            );
            reads.extend(from_columns.iter().map(|c| node("e", "col", &[s, t, c])));
            (
                vec![node("s", "uq", &[s, t, text(to, "name")])],
                Some(reads),
                Some(vec![uniqueness(s, t, &from_columns)]),
            )
        }
        Statement::AddCheck { check, columns } | Statement::DropCheck { check, columns } => {
            let (s, t) = (text(check, "schema"), text(check, "table"));
            let prefix = if matches!(statement, Statement::AddCheck { .. }) {
                "n"
            } else {
                "e"
            };
            let mut reads = under_table(s, t);
            reads.extend(columns.iter().map(|c| node(prefix, "col", &[s, t, c])));
            (
                created("ck", &[s, t, text(check, "name")]),
                Some(reads),
                None,
            )
        }
        Statement::AlterCheck {
            diff,
            new_columns,
            old_columns,
        } => {
            let check = &diff.right;
            let (s, t) = (text(check, "schema"), text(check, "table"));
            let mut reads = under_table(s, t);
            reads.extend(new_columns.iter().map(|c| node("n", "col", &[s, t, c])));
            reads.extend(old_columns.iter().map(|c| node("e", "col", &[s, t, c])));
            (
                vec![node("s", "ck", &[s, t, text(check, "name")])],
                Some(reads),
                None,
            )
        }
        Statement::CreateEnum { e } | Statement::DropEnum { e } => {
            let s = text(e, "schema");
            (
                created("enum", &[s, text(e, "name")]),
                Some(vec![node("n", "sch", &[s])]),
                None,
            )
        }
        Statement::AlterEnum { to, .. } => {
            let s = text(to, "schema");
            (
                vec![node("s", "enum", &[s, text(to, "name")])],
                Some(vec![node("n", "sch", &[s])]),
                None,
            )
        }
        Statement::RecreateEnum { to, columns } => {
            let s = text(to, "schema");
            let mut writes = created("enum", &[s, text(to, "name")]);
            let mut reads = vec![node("n", "sch", &[s])];
            for c in columns {
                let (cs, ct, cn) = (
                    text(&c.column, "schema"),
                    text(&c.column, "table"),
                    text(&c.column, "name"),
                );
                for property in ["type", "default"] {
                    writes.push(node("s", "colprop", &[cs, ct, cn, property]));
                }
                reads.extend(under_table(cs, ct));
                reads.push(node("n", "col", &[cs, ct, cn]));
            }
            (writes, Some(reads), None)
        }
        Statement::CreateSchema { name } | Statement::DropSchema { name } => {
            (created("sch", &[name]), None, None)
        }
    }
}

/// The footprint of a statement, with drizzle-kit's keys in its order.
pub fn footprint(statement: &Statement) -> Value {
    let (writes, reads, shared) = nodes(statement);
    let mut out = Map::new();
    out.insert("statementType".into(), json!(statement.kind()));
    out.insert("statementTarget".into(), target(statement));
    out.insert("writes".into(), json!(writes));
    if let Some(reads) = reads {
        out.insert("reads".into(), json!(reads));
    }
    if let Some(shared) = shared {
        out.insert("sharedWrites".into(), json!(shared));
    }
    if is_idempotent(statement) {
        let sql = statement_sql(statement).join("\n");
        let hash = app_db::journal::sha256_hex(sql.as_bytes());
        out.insert("sqlHash".into(), json!(hash[..16]));
    }
    Value::Object(out)
}
