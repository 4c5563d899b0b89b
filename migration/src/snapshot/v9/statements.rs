//! The statements drizzle-kit 1.0 derives from two states, in its order (drizzle-kit's
//! `ddlDiff` for PostgreSQL, without renames: what `drizzle-kit up` and `generate` need for
//! schemas, enums, tables, columns, keys, uniques, checks, indexes and foreign keys).
//!
//! Sequences, roles, privileges, policies, views and row-level security are refused: their
//! statements are not ported.

use serde_json::Value;

use super::ddl::{Ddl, Row, flag, opt_text, text, texts};
use super::diff::{self, Alter, Mode, RowDiff};

/// A table with everything `CREATE TABLE` writes (drizzle-kit's `tableFromDDL`).
#[derive(Debug, Clone)]
pub struct TableFull {
    pub table: Row,
    pub columns: Vec<Row>,
    pub pk: Option<Row>,
    pub uniques: Vec<Row>,
    pub checks: Vec<Row>,
}

impl TableFull {
    fn of(table: &Row, ddl: &Ddl) -> Self {
        let same = |r: &Row| {
            text(r, "schema") == text(table, "schema") && text(r, "table") == text(table, "name")
        };
        Self {
            table: table.clone(),
            columns: ddl.filter("columns", same).into_iter().cloned().collect(),
            pk: ddl.one("pks", same).cloned(),
            uniques: ddl.filter("uniques", same).into_iter().cloned().collect(),
            checks: ddl.filter("checks", same).into_iter().cloned().collect(),
        }
    }
}

/// An enum value added by an alter (drizzle-kit's `diffStringArrays` "added").
#[derive(Debug, Clone, PartialEq)]
pub struct AddedValue {
    pub value: String,
    pub before: Option<String>,
}

/// A column of a recreated enum, with its default before and after.
#[derive(Debug, Clone)]
pub struct EnumColumn {
    pub column: Row,
    pub default_left: Option<String>,
    pub default_right: Option<String>,
}

/// One of drizzle-kit 1.0's JSON statements.
#[derive(Debug, Clone)]
pub enum Statement {
    CreateSchema {
        name: String,
    },
    DropSchema {
        name: String,
    },
    CreateEnum {
        e: Row,
    },
    DropEnum {
        e: Row,
    },
    AlterEnum {
        to: Row,
        added: Vec<AddedValue>,
    },
    RecreateEnum {
        to: Row,
        columns: Vec<EnumColumn>,
    },
    CreateTable {
        table: TableFull,
    },
    DropTable {
        table: Row,
    },
    AddColumn {
        column: Row,
        is_composite_pk: bool,
    },
    DropColumn {
        column: Row,
    },
    AlterColumn {
        diff: Alter,
        is_enum: bool,
        was_enum: bool,
        was_serial: bool,
        to_serial: bool,
    },
    RecreateColumn {
        diff: Alter,
        is_pk: bool,
    },
    CreateIndex {
        index: Row,
    },
    DropIndex {
        index: Row,
    },
    RecreateIndex {
        index: Row,
        diff: Alter,
    },
    AddPk {
        pk: Row,
    },
    DropPk {
        pk: Row,
    },
    AlterPk {
        diff: Alter,
        deleted: bool,
    },
    CreateFk {
        fk: Row,
    },
    DropFk {
        fk: Row,
    },
    RecreateFk {
        diff: Alter,
    },
    AddUnique {
        unique: Row,
    },
    DropUnique {
        unique: Row,
    },
    AlterUnique {
        diff: Alter,
    },
    AddCheck {
        check: Row,
        columns: Vec<String>,
    },
    DropCheck {
        check: Row,
        columns: Vec<String>,
    },
    AlterCheck {
        diff: Alter,
        new_columns: Vec<String>,
        old_columns: Vec<String>,
    },
}

impl Statement {
    /// drizzle-kit's statement type.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CreateSchema { .. } => "create_schema",
            Self::DropSchema { .. } => "drop_schema",
            Self::CreateEnum { .. } => "create_enum",
            Self::DropEnum { .. } => "drop_enum",
            Self::AlterEnum { .. } => "alter_enum",
            Self::RecreateEnum { .. } => "recreate_enum",
            Self::CreateTable { .. } => "create_table",
            Self::DropTable { .. } => "drop_table",
            Self::AddColumn { .. } => "add_column",
            Self::DropColumn { .. } => "drop_column",
            Self::AlterColumn { .. } => "alter_column",
            Self::RecreateColumn { .. } => "recreate_column",
            Self::CreateIndex { .. } => "create_index",
            Self::DropIndex { .. } => "drop_index",
            Self::RecreateIndex { .. } => "recreate_index",
            Self::AddPk { .. } => "add_pk",
            Self::DropPk { .. } => "drop_pk",
            Self::AlterPk { .. } => "alter_pk",
            Self::CreateFk { .. } => "create_fk",
            Self::DropFk { .. } => "drop_fk",
            Self::RecreateFk { .. } => "recreate_fk",
            Self::AddUnique { .. } => "add_unique",
            Self::DropUnique { .. } => "drop_unique",
            Self::AlterUnique { .. } => "alter_unique",
            Self::AddCheck { .. } => "add_check",
            Self::DropCheck { .. } => "drop_check",
            Self::AlterCheck { .. } => "alter_check",
        }
    }
}

/// What the comparison of two states gives: the statements, in drizzle-kit's order, and the
/// deltas from the first state to the (name-preserved) second.
#[derive(Debug, Clone)]
pub struct DdlDiff {
    pub statements: Vec<Statement>,
    pub deltas: Vec<Value>,
}

/// The kinds whose statements are not ported.
const UNSUPPORTED: [&str; 5] = ["sequences", "roles", "privileges", "policies", "views"];

/// Refuses a state with what is not ported.
pub fn check_supported(ddl: &Ddl) -> Result<(), String> {
    for kind in UNSUPPORTED {
        if !ddl.list(kind).is_empty() {
            return Err(format!(
                "it has {kind}, which this conversion does not cover"
            ));
        }
    }
    if ddl.list("tables").iter().any(|t| flag(t, "isRlsEnabled")) {
        return Err("it enables row-level security, which this conversion does not cover".into());
    }
    Ok(())
}

fn same_table(row: &Row, schema: &str, table: &str) -> bool {
    text(row, "schema") == schema && text(row, "table") == table
}

fn is_table(t: &Row, schema: &str, name: &str) -> bool {
    text(t, "schema") == schema && text(t, "name") == name
}

/// drizzle-kit's `groupDiffs` on created then dropped rows: (creates, deletes), grouped by
/// schema and table in order of first appearance.
fn grouped(created: Vec<Row>, dropped: Vec<Row>) -> (Vec<Row>, Vec<Row>) {
    /// (schema, table), its created rows, its dropped rows.
    type Group = ((Value, Value), Vec<Row>, Vec<Row>);
    let mut groups: Vec<Group> = Vec::new();
    let items = created
        .into_iter()
        .map(|r| (true, r))
        .chain(dropped.into_iter().map(|r| (false, r)));
    for (is_create, row) in items {
        let group_key = (
            row.get("schema").cloned().unwrap_or(Value::Null),
            row.get("table").cloned().unwrap_or(Value::Null),
        );
        let index = match groups.iter().position(|(k, _, _)| *k == group_key) {
            Some(i) => i,
            None => {
                groups.push((group_key, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        if is_create {
            groups[index].1.push(row);
        } else {
            groups[index].2.push(row);
        }
    }
    let mut creates = Vec::new();
    let mut deletes = Vec::new();
    for (_, c, d) in groups {
        creates.extend(c);
        deletes.extend(d);
    }
    (creates, deletes)
}

/// drizzle-kit's `preserveEntityNames`: a generated name in the old state keeps its name when
/// the only matching row of the new state (same fields but the name) has another generated one.
fn preserve_entity_names(ddl1: &Ddl, ddl2: &mut Ddl, kind: &str) {
    let lefts: Vec<Row> = ddl1
        .list(kind)
        .into_iter()
        .filter(|r| !flag(r, "nameExplicit"))
        .cloned()
        .collect();
    for left in lefts {
        let matches_left = |r: &Row| {
            !flag(r, "nameExplicit")
                && left
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "entityType" | "name" | "nameExplicit"))
                    .all(|(k, v)| r.get(k).unwrap_or(&Value::Null) == v)
        };
        let found: Vec<Row> = ddl2
            .filter(kind, matches_left)
            .into_iter()
            .cloned()
            .collect();
        let [only] = found.as_slice() else { continue };
        if only.get("name") == left.get("name") {
            continue;
        }
        let mut renamed = only.clone();
        renamed.insert(
            "name".into(),
            left.get("name").cloned().unwrap_or(Value::Null),
        );
        if ddl2.find(&super::ddl::qualified_key(&renamed)).is_some() {
            continue;
        }
        let mut set = Row::new();
        set.insert(
            "name".into(),
            left.get("name").cloned().unwrap_or(Value::Null),
        );
        ddl2.update(&super::ddl::qualified_key(only), &set);
    }
}

/// drizzle-kit's `checkColumns`: the table's columns named in a CHECK's text, in order.
pub fn check_columns(value: &str, ddl: &Ddl, schema: &str, table: &str) -> Vec<String> {
    let names: Vec<String> = ddl
        .filter("columns", |c| same_table(c, schema, table))
        .into_iter()
        .map(|c| text(c, "name").to_string())
        .collect();
    let mut found: Vec<String> = Vec::new();
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let token = if c == '"' {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && chars[end] != '"' {
                end += 1;
            }
            if end < chars.len() && end > start {
                i = end + 1;
                Some(chars[start..end].iter().collect::<String>())
            } else {
                i += 1;
                None
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            Some(chars[start..i].iter().collect::<String>())
        } else {
            i += 1;
            None
        };
        if let Some(token) = token
            && names.contains(&token)
            && !found.contains(&token)
        {
            found.push(token);
        }
    }
    found
}

fn is_serial(t: &str) -> bool {
    matches!(
        t.to_ascii_lowercase().as_str(),
        "serial" | "bigserial" | "smallserial"
    )
}

/// drizzle-kit's `defaultsCommutative` for the cases its own output meets: equal up to
/// parentheses, and vector literals written with `.0`.
fn defaults_commutative(alter: &Alter) -> bool {
    let Some(change) = alter.change("default") else {
        return false;
    };
    let (from, to) = (change.from.as_str(), change.to.as_str());
    if from == to {
        return true;
    }
    if let (Some(from), Some(to)) = (from, to)
        && (from == format!("({to})") || to == format!("({from})"))
    {
        return true;
    }
    if alter.right_text("type").starts_with("vector")
        && let (Some(from), Some(to)) = (from, to)
        && from.replace(".0", "") == to
    {
        return true;
    }
    false
}

/// drizzle-kit's `diffStringArrays`, reduced to the values added (with the value they go
/// before) and whether any was removed.
pub fn diff_values(old: &[String], new: &[String]) -> (Vec<AddedValue>, bool) {
    let blocks = matching_blocks(old, new);
    let mut added = Vec::new();
    let mut removed = false;
    let (mut i, mut j) = (0, 0);
    let add = |index: usize, added: &mut Vec<AddedValue>| {
        let before = new[index + 1..].iter().find(|v| old.contains(v)).cloned();
        added.push(AddedValue {
            value: new[index].clone(),
            before,
        });
    };
    for (a, b, size) in blocks {
        if i < a {
            removed = true;
        }
        for index in j..b {
            add(index, &mut added);
        }
        i = a + size;
        j = b + size;
    }
    (added, removed)
}

/// Python difflib's matching blocks as drizzle-kit implements them (no junk heuristics).
fn matching_blocks(old: &[String], new: &[String]) -> Vec<(usize, usize, usize)> {
    if old.is_empty() && new.is_empty() {
        return vec![(0, 0, 0)];
    }
    let mut queue = vec![(0, old.len(), 0, new.len())];
    let mut matches = Vec::new();
    while let Some((a0, a1, b0, b1)) = queue.pop() {
        let (i, j, k) = longest_match(old, new, a0, a1, b0, b1);
        if k > 0 {
            matches.push((i, j, k));
            if a0 < i && b0 < j {
                queue.push((a0, i, b0, j));
            }
            if i + k < a1 && j + k < b1 {
                queue.push((i + k, a1, j + k, b1));
            }
        }
    }
    matches.sort_by_key(|m| m.0);
    matches.push((old.len(), new.len(), 0));
    matches
}

fn longest_match(
    old: &[String],
    new: &[String],
    a0: usize,
    a1: usize,
    b0: usize,
    b1: usize,
) -> (usize, usize, usize) {
    let (mut best_i, mut best_j, mut best_k) = (a0, b0, 0);
    for i in a0..a1 {
        for j in b0..b1 {
            if old[i] != new[j] {
                continue;
            }
            let mut k = 1;
            while i + k < a1 && j + k < b1 && old[i + k] == new[j + k] {
                k += 1;
            }
            if k > best_k {
                (best_i, best_j, best_k) = (i, j, k);
            }
        }
    }
    (best_i, best_j, best_k)
}

/// drizzle-kit 1.0's `ddlDiff` from `ddl1` to `ddl2` (without renames); `keep_generated_names`
/// as its parameter of that name (it renames rows of `ddl2`).
pub fn ddl_diff(ddl1: &Ddl, ddl2: &mut Ddl, keep_generated_names: bool) -> Result<DdlDiff, String> {
    check_supported(ddl1)?;
    check_supported(ddl2)?;
    let (created_schemas, deleted_schemas) = diff::creates_and_drops(ddl1, ddl2, "schemas");
    let (created_enums, deleted_enums) = diff::creates_and_drops(ddl1, ddl2, "enums");
    let (created_tables, deleted_tables) = diff::creates_and_drops(ddl1, ddl2, "tables");
    let (c, d) = diff::creates_and_drops(ddl1, ddl2, "columns");
    let (columns_to_create, columns_to_delete) = grouped(c, d);
    if keep_generated_names {
        for kind in ["uniques", "fks", "pks", "indexes"] {
            preserve_entity_names(ddl1, ddl2, kind);
        }
    }
    let ddl2: &Ddl = ddl2;
    let (c, d) = diff::creates_and_drops(ddl1, ddl2, "uniques");
    let (unique_creates, unique_deletes) = grouped(c, d);
    let (c, d) = diff::creates_and_drops(ddl1, ddl2, "checks");
    let (check_creates, check_deletes) = grouped(c, d);
    let (c, d) = diff::creates_and_drops(ddl1, ddl2, "indexes");
    let (mut index_creates, mut index_deletes) = grouped(c, d);
    for alter in diff::alters(ddl1, ddl2, Some("indexes")) {
        if text(&alter.left, "table") != text(&alter.right, "table") {
            index_deletes.push(alter.left);
            index_creates.push(alter.right);
        }
    }
    let (c, d) = diff::creates_and_drops(ddl1, ddl2, "pks");
    let (pk_creates, pk_deletes) = grouped(c, d);
    let (c, d) = diff::creates_and_drops(ddl1, ddl2, "fks");
    let (fk_creates, fk_deletes) = grouped(c, d);

    let all = diff::diff(ddl1, ddl2, None, Mode::All);
    let deltas = diff::delta(&all);
    let alters: Vec<Alter> = all
        .into_iter()
        .filter_map(|d| match d {
            RowDiff::Alter(a) => Some(a),
            _ => None,
        })
        .collect();
    let alters_of = |kind: &str| -> Vec<Alter> {
        alters
            .iter()
            .filter(|a| a.kind() == kind)
            .cloned()
            .collect()
    };
    let table_created = |r: &Row| {
        created_tables
            .iter()
            .any(|t| is_table(t, text(r, "schema"), text(r, "table")))
    };
    let table_deleted = |r: &Row| {
        deleted_tables
            .iter()
            .any(|t| is_table(t, text(r, "schema"), text(r, "table")))
    };

    let mut create_indexes: Vec<Statement> = index_creates
        .into_iter()
        .map(|index| Statement::CreateIndex { index })
        .collect();
    let drop_indexes: Vec<Statement> = index_deletes
        .into_iter()
        .filter(|i| !table_deleted(i))
        .map(|index| Statement::DropIndex { index })
        .collect();
    let mut recreate_indexes = Vec::new();
    for mut idx in alters_of("indexes") {
        if text(&idx.left, "table") != text(&idx.right, "table") {
            continue;
        }
        idx.forget("concurrently");
        if !idx.has_diff() {
            continue;
        }
        if idx.has("isUnique")
            || idx.has("method")
            || idx.has("with")
            || idx.has("columns")
            || idx.has("where")
        {
            let (schema, table, name) = (
                idx.right_text("schema"),
                idx.right_text("table"),
                idx.right_text("name"),
            );
            let pick = |ddl: &Ddl| {
                ddl.one("indexes", |r| {
                    same_table(r, schema, table) && text(r, "name") == name
                })
                .cloned()
            };
            let Some(index) = pick(ddl2) else { continue };
            let previous = pick(ddl1);
            let column_deleted = previous.as_ref().is_some_and(|prev| {
                let values: Vec<String> = prev
                    .get("columns")
                    .and_then(Value::as_array)
                    .map(|cols| {
                        cols.iter()
                            .filter_map(|c| {
                                c.get("value").and_then(Value::as_str).map(str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                columns_to_delete.iter().any(|col| {
                    same_table(col, schema, table) && values.iter().any(|v| v == text(col, "name"))
                })
            });
            if previous.is_none() || column_deleted {
                create_indexes.push(Statement::CreateIndex { index });
            } else {
                recreate_indexes.push(Statement::RecreateIndex { index, diff: idx });
            }
        }
    }
    let drop_tables: Vec<Statement> = deleted_tables
        .iter()
        .map(|table| Statement::DropTable {
            table: table.clone(),
        })
        .collect();
    let drop_columns: Vec<Statement> = columns_to_delete
        .iter()
        .filter(|c| !table_deleted(c))
        .map(|column| Statement::DropColumn {
            column: column.clone(),
        })
        .collect();
    let add_columns: Vec<Statement> = columns_to_create
        .iter()
        .filter(|c| !table_created(c))
        .map(|column| Statement::AddColumn {
            column: column.clone(),
            is_composite_pk: ddl2
                .one("pks", |pk| {
                    same_table(pk, text(column, "schema"), text(column, "table"))
                        && texts(pk, "columns")
                            .iter()
                            .any(|c| c == text(column, "name"))
                })
                .is_some(),
        })
        .collect();
    let mut column_alters: Vec<Alter> = Vec::new();
    for mut it in alters_of("columns") {
        let json_type = |t: &str| t == "json" || t == "jsonb";
        if let Some(change) = it.change("default")
            && json_type(text(&it.left, "type"))
            && text(&it.left, "type") == text(&it.right, "type")
            && let (Some(from), Some(to)) = (change.from.as_str(), change.to.as_str())
        {
            let parse = |s: &str| serde_json::from_str::<Value>(s.trim_matches('\'')).ok();
            if let (Some(a), Some(b)) = (parse(from), parse(to))
                && a == b
            {
                it.forget("default");
            }
        }
        if !it.has("type") && it.has("default") && defaults_commutative(&it) {
            it.forget("default");
        }
        if let Some(change) = it.change("type") {
            let (from, to) = (
                change.from.as_str().unwrap_or(""),
                change.to.as_str().unwrap_or(""),
            );
            if from == to.replace("numeric", "decimal")
                || to == from.replace("numeric", "decimal")
                || from.replace(",0)", ")") == to
            {
                it.forget("type");
            }
        }
        if !it.has("type")
            && let Some(change) = it.change("typeSchema")
            && (change.from.is_null() || change.to.is_null())
        {
            it.forget("typeSchema");
        }
        if it.has_diff() {
            column_alters.push(it);
        }
    }
    let altered_uniques: Vec<Statement> = alters_of("uniques")
        .into_iter()
        .filter_map(|mut it| {
            it.forget("nameExplicit");
            it.has_diff().then_some(Statement::AlterUnique { diff: it })
        })
        .collect();
    let added_uniques: Vec<Statement> = unique_creates
        .into_iter()
        .filter(|u| !table_created(u))
        .map(|unique| Statement::AddUnique { unique })
        .collect();
    let dropped_uniques: Vec<Statement> = unique_deletes
        .into_iter()
        .filter(|u| !table_deleted(u))
        .map(|unique| Statement::DropUnique { unique })
        .collect();
    let add_pks: Vec<Statement> = pk_creates
        .into_iter()
        .filter(|p| !table_created(p))
        .map(|pk| Statement::AddPk { pk })
        .collect();
    let drop_pks: Vec<Statement> = pk_deletes
        .into_iter()
        .filter(|p| !table_deleted(p))
        .map(|pk| Statement::DropPk { pk })
        .collect();
    let created_checks: Vec<Statement> = check_creates
        .into_iter()
        .filter(|c| !table_created(c))
        .map(|check| Statement::AddCheck {
            columns: check_columns(
                text(&check, "value"),
                ddl2,
                text(&check, "schema"),
                text(&check, "table"),
            ),
            check,
        })
        .collect();
    let dropped_checks: Vec<Statement> = check_deletes
        .into_iter()
        .filter(|c| !table_deleted(c))
        .map(|check| Statement::DropCheck {
            columns: check_columns(
                text(&check, "value"),
                ddl1,
                text(&check, "schema"),
                text(&check, "table"),
            ),
            check,
        })
        .collect();
    let altered_pks: Vec<Statement> = alters_of("pks")
        .into_iter()
        .filter(|it| it.has("columns"))
        .map(|it| {
            let from: Vec<String> = it
                .change("columns")
                .and_then(|c| c.from.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let deleted = columns_to_delete
                .iter()
                .any(|c| from.iter().any(|f| f == text(c, "name")));
            Statement::AlterPk { diff: it, deleted }
        })
        .collect();
    let recreate_fks_all: Vec<Alter> = alters_of("fks")
        .into_iter()
        .filter_map(|mut it| {
            it.forget("nameExplicit");
            it.has_diff().then_some(it)
        })
        .collect();
    let mut create_fks: Vec<Statement> = fk_creates
        .iter()
        .map(|fk| Statement::CreateFk { fk: fk.clone() })
        .collect();
    let mut drop_fks: Vec<Statement> = fk_deletes
        .iter()
        .filter(|fk| {
            let from_deleted = deleted_tables
                .iter()
                .any(|t| is_table(t, text(fk, "schema"), text(fk, "table")));
            let to_deleted = text(fk, "table") != text(fk, "tableTo")
                && deleted_tables
                    .iter()
                    .any(|t| is_table(t, text(fk, "schemaTo"), text(fk, "tableTo")));
            // A key of a dropped table goes with it, unless it points to another dropped one.
            !from_deleted || to_deleted
        })
        .map(|fk| Statement::DropFk { fk: fk.clone() })
        .collect();
    let altered_checks: Vec<Statement> = alters_of("checks")
        .into_iter()
        .filter(|it| it.has("value"))
        .map(|it| Statement::AlterCheck {
            new_columns: check_columns(
                it.right_text("value"),
                ddl2,
                it.right_text("schema"),
                it.right_text("table"),
            ),
            old_columns: check_columns(
                text(&it.left, "value"),
                ddl2,
                it.right_text("schema"),
                it.right_text("table"),
            ),
            diff: it,
        })
        .collect();

    let create_enums: Vec<Statement> = created_enums
        .iter()
        .map(|e| Statement::CreateEnum { e: e.clone() })
        .collect();
    let drop_enums: Vec<Statement> = deleted_enums
        .iter()
        .map(|e| Statement::DropEnum { e: e.clone() })
        .collect();
    let mut recreate_enums = Vec::new();
    let mut alter_enums = Vec::new();
    for alter in alters_of("enums") {
        let Some(values) = alter.change("values") else {
            continue;
        };
        let list = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (added, removed) = diff_values(&list(&values.from), &list(&values.to));
        if removed {
            let enum_schema = alter.right_text("schema").to_string();
            let columns = ddl1
                .filter("columns", |c| text(c, "type") == alter.right_text("name"))
                .into_iter()
                .filter_map(|it| {
                    let c2 = ddl2.one("columns", |c| {
                        same_table(c, text(it, "schema"), text(it, "table"))
                            && text(c, "name") == text(it, "name")
                    })?;
                    let type_schema = match opt_text(it, "typeSchema") {
                        Some(s) => Some(s.to_string()),
                        None if text(c2, "type") == text(it, "type") => {
                            opt_text(c2, "typeSchema").map(str::to_string)
                        }
                        None => None,
                    };
                    if type_schema.as_deref() != Some(enum_schema.as_str()) {
                        return None;
                    }
                    let mut column = it.clone();
                    column.insert(
                        "typeSchema".into(),
                        type_schema.map_or(Value::Null, Value::String),
                    );
                    Some(EnumColumn {
                        column,
                        default_left: opt_text(it, "default").map(str::to_string),
                        default_right: opt_text(c2, "default").map(str::to_string),
                    })
                })
                .collect();
            recreate_enums.push(Statement::RecreateEnum {
                to: alter.right.clone(),
                columns,
            });
        } else {
            alter_enums.push(Statement::AlterEnum {
                to: alter.right.clone(),
                added,
            });
        }
    }
    let recreated_enum_column = |it: &Alter| {
        recreate_enums.iter().any(|s| match s {
            Statement::RecreateEnum { columns, .. } => columns.iter().any(|c| {
                text(&c.column, "schema") == it.right_text("schema")
                    && text(&c.column, "table") == it.right_text("table")
                    && text(&c.column, "name") == it.right_text("name")
            }),
            _ => false,
        })
    };
    let generated_to = |it: &Alter| it.change("generated").is_some_and(|c| !c.to.is_null());
    let mut alter_columns = Vec::new();
    for it in &column_alters {
        if generated_to(it) {
            continue;
        }
        let mut it = it.clone();
        if it.has("default") && recreated_enum_column(&it) {
            it.forget("default");
        }
        if let Some(change) = it.change("notNull")
            && change.to == Value::Bool(true)
            && (!it.right.get("generated").unwrap_or(&Value::Null).is_null()
                || !it.right.get("identity").unwrap_or(&Value::Null).is_null())
        {
            it.forget("notNull");
        }
        let pk_in_2 = ddl2
            .one("pks", |pk| {
                same_table(pk, it.right_text("schema"), it.right_text("table"))
                    && texts(pk, "columns")
                        .iter()
                        .any(|c| c == it.right_text("name"))
            })
            .is_some();
        if it.has("notNull") && pk_in_2 {
            it.forget("notNull");
        }
        if !it.has_diff() {
            continue;
        }
        let right_type = it.right_text("type").to_string();
        let left_type = text(&it.left, "type").to_string();
        let is_enum = ddl2
            .one("enums", |e| {
                text(e, "schema") == opt_text(&it.right, "typeSchema").unwrap_or("public")
                    && text(e, "name") == right_type
            })
            .is_some();
        let was_enum = (it.has("type") || it.has("typeSchema") || it.has("dimensions"))
            && ddl1
                .one("enums", |e| {
                    text(e, "schema") == opt_text(&it.left, "typeSchema").unwrap_or("public")
                        && text(e, "name") == left_type
                })
                .is_some();
        alter_columns.push(Statement::AlterColumn {
            was_serial: is_serial(&left_type),
            to_serial: !is_serial(&left_type) && is_serial(&right_type),
            diff: it,
            is_enum,
            was_enum,
        });
    }
    let mut recreate_columns = Vec::new();
    let mut fks_of_recreated: Vec<Row> = Vec::new();
    let mut added_uniques = added_uniques;
    for it in column_alters.iter().filter(|it| generated_to(it)) {
        let (schema, table, name) = (
            it.right_text("schema"),
            it.right_text("table"),
            it.right_text("name"),
        );
        for index in ddl2.filter("indexes", |i| {
            same_table(i, schema, table)
                && i.get("columns")
                    .and_then(Value::as_array)
                    .is_some_and(|cols| {
                        cols.iter().any(|c| {
                            c.get("value")
                                .and_then(Value::as_str)
                                .map(|v| v.trim_matches('`'))
                                == Some(name)
                        })
                    })
        }) {
            let exists = create_indexes.iter().any(|s| matches!(s, Statement::CreateIndex { index: other } if text(other, "schema") == text(index, "schema") && text(other, "name") == text(index, "name")));
            if !exists {
                create_indexes.push(Statement::CreateIndex {
                    index: index.clone(),
                });
            }
        }
        for unique in ddl2.filter("uniques", |u| {
            same_table(u, schema, table) && texts(u, "columns").iter().any(|c| c == name)
        }) {
            let exists = added_uniques.iter().any(|s| matches!(s, Statement::AddUnique { unique: other } if same_table(other, text(unique, "schema"), text(unique, "table")) && text(other, "name") == text(unique, "name")));
            if !exists {
                added_uniques.push(Statement::AddUnique {
                    unique: unique.clone(),
                });
            }
        }
        let fks_from = ddl2.filter("fks", |f| {
            same_table(f, schema, table) && texts(f, "columns").iter().any(|c| c == name)
        });
        let fks_to = ddl2.filter("fks", |f| {
            text(f, "tableTo") == table
                && text(f, "schemaTo") == schema
                && texts(f, "columnsTo").iter().any(|c| c == name)
        });
        for fk in fks_from.into_iter().chain(fks_to) {
            if !fks_of_recreated.iter().any(|o| same_fk(o, fk)) {
                fks_of_recreated.push(fk.clone());
            }
        }
        let is_pk = ddl2
            .one("pks", |pk| {
                same_table(pk, schema, table) && texts(pk, "columns") == [name.to_string()]
            })
            .is_some();
        recreate_columns.push(Statement::RecreateColumn {
            diff: it.clone(),
            is_pk,
        });
    }
    for fk in &fks_of_recreated {
        if fk_creates.iter().any(|c| same_fk(c, fk)) {
            continue;
        }
        drop_fks.push(Statement::DropFk { fk: fk.clone() });
        create_fks.push(Statement::CreateFk { fk: fk.clone() });
    }
    let recreate_fks: Vec<Statement> = recreate_fks_all
        .into_iter()
        .filter(|it| !fks_of_recreated.iter().any(|fk| same_fk(fk, &it.right)))
        .map(|diff| Statement::RecreateFk { diff })
        .collect();

    let create_tables: Vec<Statement> = created_tables
        .iter()
        .map(|t| Statement::CreateTable {
            table: TableFull::of(t, ddl2),
        })
        .collect();

    let mut statements = Vec::new();
    statements.extend(created_schemas.iter().map(|s| Statement::CreateSchema {
        name: text(s, "name").to_string(),
    }));
    statements.extend(create_enums);
    statements.extend(alter_enums);
    statements.extend(create_tables);
    statements.extend(drop_fks);
    statements.extend(drop_tables);
    statements.extend(dropped_uniques);
    statements.extend(dropped_checks);
    statements.extend(drop_indexes);
    statements.extend(drop_pks);
    statements.extend(add_columns);
    statements.extend(add_pks);
    statements.extend(recreate_enums);
    statements.extend(recreate_columns);
    statements.extend(drop_columns);
    statements.extend(altered_pks);
    statements.extend(alter_columns);
    statements.extend(recreate_indexes);
    statements.extend(added_uniques);
    statements.extend(altered_uniques);
    statements.extend(create_indexes);
    statements.extend(create_fks);
    statements.extend(recreate_fks);
    statements.extend(created_checks);
    statements.extend(altered_checks);
    statements.extend(drop_enums);
    statements.extend(deleted_schemas.iter().map(|s| Statement::DropSchema {
        name: text(s, "name").to_string(),
    }));
    Ok(DdlDiff { statements, deltas })
}

fn same_fk(a: &Row, b: &Row) -> bool {
    text(a, "schema") == text(b, "schema")
        && text(a, "table") == text(b, "table")
        && text(a, "name") == text(b, "name")
}

/// A column's default as drizzle-kit writes it into SQL (`defaultToSQL`).
pub fn default_to_sql(column: &Row, default: Option<&str>) -> String {
    let Some(value) = default.filter(|d| !d.is_empty()) else {
        return String::new();
    };
    let column_type = text(column, "type");
    let dimensions = super::ddl::number(column, "dimensions");
    if let Some(type_schema) = opt_text(column, "typeSchema").filter(|s| !s.is_empty()) {
        let schema = if type_schema != "public" {
            format!("\"{type_schema}\".")
        } else {
            String::new()
        };
        return format!(
            "{value}::{schema}\"{column_type}\"{}",
            if dimensions > 0 { "[]" } else { "" }
        );
    }
    let suffix = if dimensions > 0 {
        format!("::{column_type}[]")
    } else {
        String::new()
    };
    format!("{value}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_string()).collect()
    }

    #[test]
    fn enum_values_added_know_what_they_go_before() {
        let (added, removed) = diff_values(&strings(&["a", "c"]), &strings(&["a", "b", "c"]));
        assert!(!removed);
        assert_eq!(
            added,
            vec![AddedValue {
                value: "b".into(),
                before: Some("c".into())
            }]
        );
        let (added, removed) = diff_values(&strings(&["a", "c"]), &strings(&["a", "c", "d"]));
        assert!(!removed);
        assert_eq!(
            added,
            vec![AddedValue {
                value: "d".into(),
                before: None
            }]
        );
        let (_, removed) = diff_values(&strings(&["a", "b", "c"]), &strings(&["a", "c"]));
        assert!(removed);
    }

    #[test]
    fn check_columns_are_found_in_order() {
        let mut ddl = Ddl::new();
        for name in ["seats", "plan", "x"] {
            ddl.push(&super::super::ddl::row(
                "columns",
                &[
                    ("schema", "public".into()),
                    ("table", "t".into()),
                    ("name", name.into()),
                ],
            ))
            .unwrap();
        }
        // As drizzle-kit's regular expression does, a word inside a string literal counts.
        assert_eq!(
            check_columns(
                "\"plan\" <> 'x' AND seats > 0 AND seats < 9",
                &ddl,
                "public",
                "t"
            ),
            ["plan", "x", "seats"]
        );
    }
}
