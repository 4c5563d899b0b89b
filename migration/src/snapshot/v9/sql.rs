//! The SQL drizzle-kit 1.0.0-rc.5 writes for each statement (its PostgreSQL `convertor`s).
//!
//! 1.0's forms differ from 0.31's: unqualified names in the `public` schema, `UNIQUE` inline,
//! no `NOT NULL` after a primary key, no `USING btree`, upper-case foreign key actions, only the
//! actions that are not `NO ACTION`.

use serde_json::Value;

use super::ddl::{Row, flag, number, opt_text, text, texts};
use super::statements::{Statement, default_to_sql};

/// `"t"`, or `"s"."t"` outside `public`.
fn qualified(schema: &str, name: &str) -> String {
    if schema != "public" {
        format!("\"{schema}\".\"{name}\"")
    } else {
        format!("\"{name}\"")
    }
}

fn table_key(row: &Row) -> String {
    qualified(text(row, "schema"), text(row, "table"))
}

fn is_serial(t: &str) -> bool {
    matches!(
        t.to_ascii_lowercase().as_str(),
        "serial" | "bigserial" | "smallserial"
    )
}

fn map_serial_to_int(t: &str) -> &'static str {
    match t {
        "smallserial" => "smallint",
        "bigserial" => "bigint",
        _ => "int",
    }
}

/// A column's type as drizzle-kit writes it: enums quoted (schema-qualified outside `public`),
/// native types bare, `[]` per dimension.
fn column_type(column: &Row) -> String {
    let t = text(column, "type");
    let dims = "[]".repeat(number(column, "dimensions").max(0) as usize);
    match opt_text(column, "typeSchema").filter(|s| !s.is_empty()) {
        Some(schema) if schema != "public" => format!("\"{schema}\".\"{t}\"{dims}"),
        Some(_) => format!("\"{t}\"{dims}"),
        None => format!("{t}{dims}"),
    }
}

fn identity_clause(schema: &str, identity: &Value) -> String {
    let field = |f: &str| match identity.get(f) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) if n.as_f64() != Some(0.0) => Some(n.to_string()),
        _ => None,
    };
    let name = identity.get("name").and_then(Value::as_str).unwrap_or("");
    let sequence = if schema != "public" {
        format!("\"{schema}\".\"{name}\"")
    } else {
        format!("\"{name}\"")
    };
    format!(
        "GENERATED {} AS IDENTITY (sequence name {sequence}{}{}{}{}{}{})",
        if identity.get("type").and_then(Value::as_str) == Some("always") {
            "ALWAYS"
        } else {
            "BY DEFAULT"
        },
        field("increment").map_or(String::new(), |v| format!(" INCREMENT BY {v}")),
        field("minValue").map_or(String::new(), |v| format!(" MINVALUE {v}")),
        field("maxValue").map_or(String::new(), |v| format!(" MAXVALUE {v}")),
        field("startWith").map_or(String::new(), |v| format!(" START WITH {v}")),
        field("cache").map_or(String::new(), |v| format!(" CACHE {v}")),
        if identity.get("cycle").and_then(Value::as_bool) == Some(true) {
            " CYCLE"
        } else {
            ""
        },
    )
}

fn generated_clause(column: &Row) -> String {
    match column
        .get("generated")
        .and_then(|g| g.get("as"))
        .and_then(Value::as_str)
    {
        Some(expression) => format!(" GENERATED ALWAYS AS ({expression}) STORED"),
        None => String::new(),
    }
}

fn create_table(table: &super::statements::TableFull) -> Vec<String> {
    let schema = text(&table.table, "schema");
    let name = text(&table.table, "name");
    let mut statement = format!("CREATE TABLE {} (\n", qualified(schema, name));
    let pk = table.pk.as_ref();
    let pk_columns = pk.map(|pk| texts(pk, "columns")).unwrap_or_default();
    let count = table.columns.len();
    for (i, column) in table.columns.iter().enumerate() {
        let column_name = text(column, "name");
        let is_pk = pk.is_some_and(|pk| {
            pk_columns.len() == 1
                && pk_columns[0] == column_name
                && text(pk, "name") == format!("{}_pkey", text(column, "table"))
        });
        let not_null =
            if pk_columns.iter().any(|c| c == column_name) || is_serial(text(column, "type")) {
                ""
            } else if flag(column, "notNull") && column.get("identity").is_none_or(Value::is_null) {
                " NOT NULL"
            } else {
                ""
            };
        let default = match opt_text(column, "default").filter(|d| !d.is_empty()) {
            Some(d) => format!(" DEFAULT {}", default_to_sql(column, Some(d))),
            None => String::new(),
        };
        let unique = table
            .uniques
            .iter()
            .find(|u| texts(u, "columns") == [column_name.to_string()]);
        let unique_clause = match unique {
            Some(u) => format!(
                " {}{}",
                if flag(u, "nameExplicit") {
                    format!("CONSTRAINT \"{}\" UNIQUE", text(u, "name"))
                } else {
                    "UNIQUE".to_string()
                },
                if flag(u, "nullsNotDistinct") {
                    " NULLS NOT DISTINCT"
                } else {
                    ""
                }
            ),
            None => String::new(),
        };
        let identity = match column.get("identity").filter(|i| !i.is_null()) {
            Some(identity) => format!(" {}", identity_clause(schema, identity)),
            None => String::new(),
        };
        statement.push_str(&format!(
            "\t\"{column_name}\" {}{}{default}{}{not_null}{unique_clause}{identity}",
            column_type(column),
            if is_pk { " PRIMARY KEY" } else { "" },
            generated_clause(column),
        ));
        if i + 1 < count {
            statement.push_str(",\n");
        }
    }
    if let Some(pk) = pk
        && (pk_columns.len() > 1 || text(pk, "name") != format!("{name}_pkey"))
    {
        statement.push_str(&format!(
            ",\n\tCONSTRAINT \"{}\" PRIMARY KEY(\"{}\")",
            text(pk, "name"),
            pk_columns.join("\",\"")
        ));
    }
    for unique in table
        .uniques
        .iter()
        .filter(|u| texts(u, "columns").len() > 1)
    {
        statement.push_str(&format!(
            ",\n\tCONSTRAINT \"{}\" UNIQUE{}(\"{}\")",
            text(unique, "name"),
            if flag(unique, "nullsNotDistinct") {
                " NULLS NOT DISTINCT"
            } else {
                ""
            },
            texts(unique, "columns").join("\",\"")
        ));
    }
    for check in &table.checks {
        statement.push_str(&format!(
            ",\n\tCONSTRAINT \"{}\" CHECK ({})",
            text(check, "name"),
            text(check, "value")
        ));
    }
    statement.push_str("\n);\n");
    vec![statement]
}

fn add_column(column: &Row, is_pk: bool, is_composite_pk: bool) -> String {
    let schema = text(column, "schema");
    let identity = column.get("identity").filter(|i| !i.is_null());
    let generated = column.get("generated").filter(|g| !g.is_null());
    let default = match opt_text(column, "default").filter(|d| !d.is_empty()) {
        Some(d) => format!(" DEFAULT {}", default_to_sql(column, Some(d))),
        None => String::new(),
    };
    let not_null = if flag(column, "notNull")
        && identity.is_none()
        && generated.is_none()
        && !is_serial(text(column, "type"))
        && !is_composite_pk
    {
        " NOT NULL"
    } else {
        ""
    };
    format!(
        "ALTER TABLE {} ADD COLUMN \"{}\" {}{}{default}{}{not_null}{};",
        table_key(column),
        text(column, "name"),
        column_type(column),
        if is_pk { " PRIMARY KEY" } else { "" },
        generated_clause(column),
        identity.map_or(String::new(), |i| format!(
            " {}",
            identity_clause(schema, i)
        )),
    )
}

fn drop_column(column: &Row) -> String {
    format!(
        "ALTER TABLE {} DROP COLUMN \"{}\";",
        table_key(column),
        text(column, "name")
    )
}

fn create_index(index: &Row) -> String {
    let columns: Vec<String> = index
        .get("columns")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    let value = c.get("value").and_then(Value::as_str).unwrap_or("");
                    let expression = c
                        .get("isExpression")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    let asc = c.get("asc").and_then(Value::as_bool).unwrap_or(false);
                    let nulls_first = c
                        .get("nullsFirst")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    let opclass = c
                        .get("opclass")
                        .filter(|o| !o.is_null())
                        .filter(|o| o.get("default").and_then(Value::as_bool) != Some(true))
                        .and_then(|o| o.get("name").and_then(Value::as_str))
                        .map_or(String::new(), |name| format!(" {name}"));
                    let nulls = if (asc && !nulls_first) || (!asc && nulls_first) {
                        ""
                    } else if nulls_first {
                        " NULLS FIRST"
                    } else {
                        " NULLS LAST"
                    };
                    format!(
                        "{}{opclass}{}{nulls}",
                        if expression {
                            value.to_string()
                        } else {
                            format!("\"{value}\"")
                        },
                        if asc { "" } else { " DESC" }
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let method = text(index, "method");
    format!(
        "CREATE {}{} \"{}\" ON {}{} ({}){}{};",
        if flag(index, "isUnique") {
            "UNIQUE INDEX"
        } else {
            "INDEX"
        },
        if flag(index, "concurrently") {
            " CONCURRENTLY"
        } else {
            ""
        },
        text(index, "name"),
        table_key(index),
        if method != "btree" {
            format!(" USING {method}")
        } else {
            String::new()
        },
        columns.join(","),
        match opt_text(index, "with").filter(|w| !w.is_empty()) {
            Some(w) => format!(" WITH ({w})"),
            None => String::new(),
        },
        match opt_text(index, "where").filter(|w| !w.is_empty()) {
            Some(w) => format!(" WHERE {w}"),
            None => String::new(),
        },
    )
}

fn drop_index(index: &Row) -> String {
    let schema = text(index, "schema");
    format!(
        "DROP INDEX {}\"{}\";",
        if schema != "public" {
            format!("\"{schema}\".")
        } else {
            String::new()
        },
        text(index, "name")
    )
}

fn add_pk(pk: &Row) -> String {
    let columns = texts(pk, "columns").join("\",\"");
    if !flag(pk, "nameExplicit") {
        return format!(
            "ALTER TABLE {} ADD PRIMARY KEY (\"{columns}\");",
            table_key(pk)
        );
    }
    format!(
        "ALTER TABLE {} ADD CONSTRAINT \"{}\" PRIMARY KEY(\"{columns}\");",
        table_key(pk),
        text(pk, "name")
    )
}

fn drop_constraint(row: &Row) -> String {
    format!(
        "ALTER TABLE {} DROP CONSTRAINT \"{}\";",
        table_key(row),
        text(row, "name")
    )
}

fn references(fk: &Row) -> (String, String, String) {
    let quoted = |cols: Vec<String>| {
        cols.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    (
        quoted(texts(fk, "columns")),
        qualified(text(fk, "schemaTo"), text(fk, "tableTo")),
        quoted(texts(fk, "columnsTo")),
    )
}

fn create_fk(fk: &Row) -> String {
    let action = |field: &str| match opt_text(fk, field) {
        Some(a) if !a.eq_ignore_ascii_case("no action") => {
            format!(
                " ON {} {a}",
                if field == "onDelete" {
                    "DELETE"
                } else {
                    "UPDATE"
                }
            )
        }
        _ => String::new(),
    };
    let (from, to_table, to) = references(fk);
    format!(
        "ALTER TABLE {} ADD CONSTRAINT \"{}\" FOREIGN KEY ({from}) REFERENCES {to_table}({to}){}{};",
        table_key(fk),
        text(fk, "name"),
        action("onDelete"),
        action("onUpdate")
    )
}

fn recreate_fk(fk: &Row) -> String {
    let action = |field: &str| match opt_text(fk, field) {
        Some(a) if a != "NO ACTION" => {
            format!(
                " ON {} {a}",
                if field == "onDelete" {
                    "DELETE"
                } else {
                    "UPDATE"
                }
            )
        }
        Some(_) => String::new(),
        None => format!(
            " ON {} null",
            if field == "onDelete" {
                "DELETE"
            } else {
                "UPDATE"
            }
        ),
    };
    let (from, to_table, to) = references(fk);
    format!(
        "ALTER TABLE {key} DROP CONSTRAINT \"{name}\", ADD CONSTRAINT \"{name}\" FOREIGN KEY ({from}) REFERENCES {to_table}({to}){}{};",
        action("onDelete"),
        action("onUpdate"),
        key = table_key(fk),
        name = text(fk, "name"),
    )
}

fn add_unique(unique: &Row) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT \"{}\" UNIQUE{}(\"{}\");",
        table_key(unique),
        text(unique, "name"),
        if flag(unique, "nullsNotDistinct") {
            " NULLS NOT DISTINCT"
        } else {
            ""
        },
        texts(unique, "columns").join("\",\"")
    )
}

fn add_check(check: &Row) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT \"{}\" CHECK ({});",
        table_key(check),
        text(check, "name"),
        text(check, "value")
    )
}

fn enum_key(e: &Row) -> String {
    qualified(text(e, "schema"), text(e, "name"))
}

fn create_enum(e: &Row) -> String {
    let values: Vec<String> = texts(e, "values")
        .iter()
        .map(|v| {
            let escaped = v.replace('\'', "''");
            if escaped.starts_with('\'') && escaped.ends_with('\'') && escaped.len() >= 2 {
                escaped
            } else {
                format!("'{escaped}'")
            }
        })
        .collect();
    format!(
        "CREATE TYPE {} AS ENUM({});",
        enum_key(e),
        values.join(", ")
    )
}

fn drop_enum(e: &Row) -> String {
    format!("DROP TYPE {};", enum_key(e))
}

/// The SQL of one statement, as drizzle-kit 1.0 writes it (one string per SQL statement).
pub fn statement_sql(statement: &Statement) -> Vec<String> {
    match statement {
        Statement::CreateSchema { name } => vec![format!("CREATE SCHEMA \"{name}\";\n")],
        Statement::DropSchema { name } => vec![format!("DROP SCHEMA \"{name}\";\n")],
        Statement::CreateEnum { e } => vec![create_enum(e)],
        Statement::DropEnum { e } => vec![drop_enum(e)],
        Statement::AlterEnum { to, added } => added
            .iter()
            .map(|a| match &a.before {
                Some(before) => format!(
                    "ALTER TYPE {} ADD VALUE '{}' BEFORE '{before}';",
                    enum_key(to),
                    a.value
                ),
                None => format!("ALTER TYPE {} ADD VALUE '{}';", enum_key(to), a.value),
            })
            .collect(),
        Statement::RecreateEnum { to, columns } => {
            let mut out = Vec::new();
            for c in columns {
                let dims = "[]".repeat(number(&c.column, "dimensions").max(0) as usize);
                out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN \"{}\" SET DATA TYPE text{dims};",
                    table_key(&c.column),
                    text(&c.column, "name")
                ));
                if c.default_left.as_deref().is_some_and(|d| !d.is_empty()) {
                    out.push(format!(
                        "ALTER TABLE {} ALTER COLUMN \"{}\" DROP DEFAULT;",
                        table_key(&c.column),
                        text(&c.column, "name")
                    ));
                }
            }
            out.push(drop_enum(to));
            out.push(create_enum(to));
            for c in columns {
                let dims = "[]".repeat(number(&c.column, "dimensions").max(0) as usize);
                let enum_type = enum_key(to);
                out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN \"{}\" SET DATA TYPE {enum_type}{dims} USING \"{}\"::{enum_type}{dims};",
                    table_key(&c.column),
                    text(&c.column, "name"),
                    text(&c.column, "name")
                ));
                if let Some(right) = c.default_right.as_deref().filter(|d| !d.is_empty()) {
                    out.push(format!(
                        "ALTER TABLE {} ALTER COLUMN \"{}\" SET DEFAULT {};",
                        table_key(&c.column),
                        text(&c.column, "name"),
                        default_to_sql(&c.column, Some(right))
                    ));
                }
            }
            out
        }
        Statement::CreateTable { table } => create_table(table),
        Statement::DropTable { table } => vec![format!(
            "DROP TABLE {};",
            qualified(text(table, "schema"), text(table, "name"))
        )],
        Statement::AddColumn {
            column,
            is_composite_pk,
        } => vec![add_column(column, false, *is_composite_pk)],
        Statement::DropColumn { column } => vec![drop_column(column)],
        Statement::RecreateColumn { diff, is_pk } => {
            vec![
                drop_column(&diff.right),
                add_column(&diff.right, *is_pk, false),
            ]
        }
        Statement::AlterColumn {
            diff,
            is_enum,
            was_enum,
            was_serial,
            to_serial,
        } => alter_column(diff, *is_enum, *was_enum, *was_serial, *to_serial),
        Statement::CreateIndex { index } => vec![create_index(index)],
        Statement::DropIndex { index } => vec![drop_index(index)],
        Statement::RecreateIndex { index, .. } => vec![drop_index(index), create_index(index)],
        Statement::AddPk { pk } => vec![add_pk(pk)],
        Statement::DropPk { pk } => vec![drop_constraint(pk)],
        Statement::AlterPk { diff, deleted } => {
            let mut out = Vec::new();
            if !deleted {
                out.push(drop_constraint(&diff.right));
            }
            out.push(add_pk(&diff.right));
            out
        }
        Statement::CreateFk { fk } => vec![create_fk(fk)],
        Statement::DropFk { fk } => vec![drop_constraint(fk)],
        Statement::RecreateFk { diff } => vec![recreate_fk(&diff.right)],
        Statement::AddUnique { unique } => vec![add_unique(unique)],
        Statement::DropUnique { unique } => vec![drop_constraint(unique)],
        Statement::AlterUnique { diff } => {
            vec![drop_constraint(&diff.left), add_unique(&diff.right)]
        }
        Statement::AddCheck { check, .. } => vec![add_check(check)],
        Statement::DropCheck { check, .. } => vec![drop_constraint(check)],
        Statement::AlterCheck { diff, .. } => vec![format!(
            "ALTER TABLE {key} DROP CONSTRAINT \"{name}\", ADD CONSTRAINT \"{name}\" CHECK ({});",
            text(&diff.right, "value"),
            key = table_key(&diff.right),
            name = text(&diff.right, "name"),
        )],
    }
}

fn alter_column(
    diff: &super::diff::Alter,
    is_enum: bool,
    was_enum: bool,
    was_serial: bool,
    to_serial: bool,
) -> Vec<String> {
    let column = &diff.right;
    let name = text(column, "name");
    let key = table_key(column);
    let schema = text(column, "schema");
    let table = text(column, "table");
    let mut out = Vec::new();
    if diff.change("generated").is_some_and(|c| c.to.is_null()) {
        out.push(format!(
            "ALTER TABLE {key} ALTER COLUMN \"{name}\" DROP EXPRESSION;"
        ));
    }
    let has_new_type = diff.has("type") || diff.has("typeSchema") || diff.has("dimensions");
    let left_default = opt_text(&diff.left, "default").filter(|d| !d.is_empty());
    let recreate_default =
        has_new_type && (is_enum || was_enum || diff.has("dimensions")) && left_default.is_some();
    if recreate_default {
        out.push(format!(
            "ALTER TABLE {key} ALTER COLUMN \"{name}\" DROP DEFAULT;"
        ));
    }
    let dims = "[]".repeat(number(column, "dimensions").max(0) as usize);
    if has_new_type {
        let column_type_name = text(column, "type");
        let type_schema = match opt_text(column, "typeSchema").filter(|s| !s.is_empty()) {
            Some(s) if s != "public" => format!("\"{s}\"."),
            _ => String::new(),
        };
        let text_proxy = if was_enum && is_enum { "text::" } else { "" };
        let serial = is_serial(column_type_name);
        let suffix = if is_enum {
            format!(" USING \"{name}\"::{text_proxy}{type_schema}\"{column_type_name}\"{dims}")
        } else {
            format!(
                " USING \"{name}\"::{}{dims}",
                if serial {
                    map_serial_to_int(column_type_name).to_string()
                } else {
                    column_type_name.to_string()
                }
            )
        };
        let the_type = if !type_schema.is_empty() {
            format!("{type_schema}\"{column_type_name}\"")
        } else if is_enum {
            format!("\"{column_type_name}\"")
        } else if serial {
            map_serial_to_int(column_type_name).to_string()
        } else {
            column_type_name.to_string()
        };
        let sequence_key = qualified(schema, &format!("{table}_{name}_seq"));
        if was_serial && !serial {
            out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" DROP DEFAULT;"
            ));
            out.push(format!("DROP SEQUENCE {sequence_key};"));
        }
        if to_serial {
            let sequence_name = if schema != "public" {
                format!("{schema}.{table}_{name}_seq")
            } else {
                format!("{table}_{name}_seq")
            };
            out.push(format!("CREATE SEQUENCE {sequence_key};"));
            out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET DEFAULT nextval('{sequence_name}')"
            ));
            out.push(format!(
                "ALTER SEQUENCE {sequence_key} OWNED BY \"{schema}\".\"{table}\".\"{name}\";"
            ));
        }
        let generated = column.get("generated").is_some_and(|g| !g.is_null());
        out.push(format!(
            "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET DATA TYPE {the_type}{dims}{};",
            if generated { String::new() } else { suffix }
        ));
        if recreate_default && let Some(d) = opt_text(column, "default").filter(|d| !d.is_empty()) {
            out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET DEFAULT {};",
                default_to_sql(column, Some(d))
            ));
        }
    }
    if let Some(change) = diff.change("default")
        && !recreate_default
    {
        match change.to.as_str().filter(|d| !d.is_empty()) {
            Some(d) => out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET DEFAULT {};",
                default_to_sql(column, Some(d))
            )),
            None => out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" DROP DEFAULT;"
            )),
        }
    }
    if let Some(change) = diff.change("identity") {
        if change.from.is_null() {
            out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" ADD {};",
                identity_clause(schema, &change.to)
            ));
            if was_serial {
                let identity_name = change.to.get("name").and_then(Value::as_str).unwrap_or("");
                out.push(format!(
                    "SELECT setval('{identity_name}'::regclass, (SELECT COALESCE(MAX(id), 1) FROM {key}), false);"
                ));
            }
        } else if change.to.is_null() {
            out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" DROP IDENTITY;"
            ));
        } else {
            let (from, to) = (&change.from, &change.to);
            let get = |v: &Value, f: &str| v.get(f).cloned().unwrap_or(Value::Null);
            let show = |v: Value| super::from_v7::js_string(&v);
            if get(from, "type") != get(to, "type") {
                out.push(format!(
                    "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET GENERATED {};",
                    if get(to, "type") == "always" {
                        "ALWAYS"
                    } else {
                        "BY DEFAULT"
                    }
                ));
            }
            for (field, clause) in [
                ("minValue", "MINVALUE"),
                ("maxValue", "MAXVALUE"),
                ("increment", "INCREMENT BY"),
                ("startWith", "START WITH"),
                ("cache", "CACHE"),
            ] {
                if get(from, field) != get(to, field) {
                    out.push(format!(
                        "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET {clause} {};",
                        show(get(to, field))
                    ));
                }
            }
            if get(from, "cycle") != get(to, "cycle") {
                out.push(format!(
                    "ALTER TABLE {key} ALTER COLUMN \"{name}\" SET {};",
                    if get(to, "cycle") == true {
                        "CYCLE"
                    } else {
                        "NO CYCLE"
                    }
                ));
            }
        }
    }
    if let Some(change) = diff.change("notNull") {
        let to_identity = diff.change("identity").is_some_and(|c| !c.to.is_null());
        if !(change.to == true && to_identity) {
            out.push(format!(
                "ALTER TABLE {key} ALTER COLUMN \"{name}\" {};",
                if change.to == true {
                    "SET NOT NULL"
                } else {
                    "DROP NOT NULL"
                }
            ));
        }
    }
    out
}
