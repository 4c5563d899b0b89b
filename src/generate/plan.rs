//! The pure heart of `generate`: (current schema, desired schema) → drizzle-kit's statements.
//!
//! No I/O. Statements come in drizzle-kit 0.31's order (`snapshotsDiffer.ts`): extensions,
//! enum types (create, add values), new tables, dropped tables, renamed columns, dropped
//! unique/check constraints, dropped foreign keys, enum value removals, dropped indexes,
//! primary keys, column changes, new columns, foreign keys and indexes of new tables, then of
//! altered tables, dropped columns, new unique/check constraints, dropped enum types. One
//! deliberate exception: a foreign key to a table dropped in the same change is dropped before
//! that table (drizzle-kit drops it after, when `DROP TABLE … CASCADE` has already removed it,
//! and its migration fails).
//!
//! Renames happen only when declared (`renamed_from`); an unmatched name is a drop plus an add.
//! Every statement that can lose data carries the reason, so [`Plan::refuse_drops`] can list them.

use std::collections::BTreeMap;

use super::casts::needs_using;
use super::model::{Check, Column, ForeignKey, Index, Schema, Table, Unique};
use super::render;
use crate::Error;

/// One statement of the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text, as it goes into the file.
    pub sql: String,
    /// Why it can lose data (a drop or a narrowing), if it can.
    pub loses_data: Option<String>,
    /// What it does, where `generate --safe` writes another form for it.
    pub change: Change,
}

/// What a statement does to a table that exists already (and so may have rows and readers),
/// for the kinds `generate --safe` rewrites ([`super::safe`]); everything else is `Other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change {
    /// Anything else.
    #[default]
    Other,
    /// `CREATE INDEX` on an existing table.
    Index {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// `ADD CONSTRAINT … FOREIGN KEY` on an existing table.
    ForeignKey {
        /// The table.
        table: String,
        /// The key.
        foreign_key: ForeignKey,
    },
    /// `ADD CONSTRAINT … CHECK` on an existing table.
    Check {
        /// The table.
        table: String,
        /// The check.
        check: Check,
    },
    /// `ADD CONSTRAINT … UNIQUE` on an existing table.
    Unique {
        /// The table.
        table: String,
        /// The constraint.
        unique: Unique,
    },
    /// `ALTER COLUMN … SET NOT NULL` on an existing column.
    SetNotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
}

/// The statements that turn the current schema into the desired one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// In order.
    pub statements: Vec<Statement>,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The SQL texts, in order.
    pub fn sql(&self) -> Vec<String> {
        self.statements.iter().map(|s| s.sql.clone()).collect()
    }

    /// The statements that can lose data.
    pub fn losing_data(&self) -> Vec<&Statement> {
        self.statements
            .iter()
            .filter(|s| s.loses_data.is_some())
            .collect()
    }

    /// Refuses a plan that drops or narrows anything unless `allow_drop`, naming each statement.
    pub fn refuse_drops(&self, allow_drop: bool) -> Result<(), Error> {
        let losing = self.losing_data();
        if allow_drop || losing.is_empty() {
            return Ok(());
        }
        Err(Error::DropRefused {
            statements: losing
                .iter()
                .map(|s| {
                    format!(
                        "{} ({})",
                        s.sql.trim_end(),
                        s.loses_data.as_deref().unwrap_or("")
                    )
                })
                .collect(),
        })
    }
}

/// Statement buckets, in drizzle-kit's order.
#[derive(Default)]
struct Buckets {
    extensions: Vec<Statement>,
    enums: Vec<Statement>,
    create_tables: Vec<Statement>,
    drop_referencing_foreign_keys: Vec<Statement>,
    drop_tables: Vec<Statement>,
    rename_columns: Vec<Statement>,
    drop_constraints: Vec<Statement>,
    drop_foreign_keys: Vec<Statement>,
    enum_rebuilds: Vec<Statement>,
    drop_indexes: Vec<Statement>,
    primary_keys: Vec<Statement>,
    alter_columns: Vec<Statement>,
    add_columns: Vec<Statement>,
    new_table_foreign_keys: Vec<Statement>,
    new_table_indexes: Vec<Statement>,
    foreign_keys: Vec<Statement>,
    indexes: Vec<Statement>,
    drop_columns: Vec<Statement>,
    add_constraints: Vec<Statement>,
    drop_enums: Vec<Statement>,
}

fn safe(sql: String) -> Statement {
    Statement {
        sql,
        loses_data: None,
        change: Change::Other,
    }
}

fn losing(sql: String, why: String) -> Statement {
    Statement {
        sql,
        loses_data: Some(why),
        change: Change::Other,
    }
}

/// A statement `generate --safe` may rewrite.
fn changing(sql: String, change: Change) -> Statement {
    Statement {
        sql,
        loses_data: None,
        change,
    }
}

/// Every statement that turns `current` into `desired`.
pub fn diff(current: &Schema, desired: &Schema) -> Plan {
    let mut b = Buckets::default();
    let enums = &desired.enums;
    for extension in desired.extensions.difference(&current.extensions) {
        b.extensions.push(safe(render::create_extension(extension)));
    }
    let mut rebuilt_enums = Vec::new();
    for (name, values) in &desired.enums {
        match current.enums.get(name) {
            None => b.enums.push(safe(render::create_enum(name, values))),
            Some(old) if old == values => {}
            Some(old) if is_subsequence(old, values) => {
                for (i, value) in values.iter().enumerate() {
                    if old.contains(value) {
                        continue;
                    }
                    let before = values[i + 1..].iter().find(|v| old.contains(v));
                    b.enums.push(safe(render::add_enum_value(
                        name,
                        value,
                        before.map(String::as_str),
                    )));
                }
            }
            Some(old) => rebuilt_enums.push((name.clone(), old.clone(), values.clone())),
        }
    }
    for (name, table) in &desired.tables {
        if current.tables.contains_key(name) {
            continue;
        }
        b.create_tables
            .push(safe(render::create_table(table, enums)));
        for fk in &table.foreign_keys {
            b.new_table_foreign_keys
                .push(safe(render::add_foreign_key(name, fk)));
        }
        for index in &table.indexes {
            b.new_table_indexes
                .push(safe(render::create_index(name, index)));
        }
    }
    for name in current.tables.keys() {
        if !desired.tables.contains_key(name) {
            b.drop_tables.push(losing(
                render::drop_table(name),
                format!("drops table {name} and its rows"),
            ));
        }
    }
    for (name, wanted) in &desired.tables {
        if let Some(found) = current.tables.get(name) {
            alter_table(&mut b, found, wanted, desired);
        }
    }
    for (name, old, values) in &rebuilt_enums {
        rebuild_enum(&mut b, current, desired, name, old, values);
    }
    for name in current.enums.keys() {
        if !desired.enums.contains_key(name) {
            b.drop_enums.push(losing(
                render::drop_enum(name),
                format!("drops enum type {name}"),
            ));
        }
    }
    let mut statements = Vec::new();
    for bucket in [
        b.extensions,
        b.enums,
        b.create_tables,
        b.drop_referencing_foreign_keys,
        b.drop_tables,
        b.rename_columns,
        b.drop_constraints,
        b.drop_foreign_keys,
        b.enum_rebuilds,
        b.drop_indexes,
        b.primary_keys,
        b.alter_columns,
        b.add_columns,
        b.new_table_foreign_keys,
        b.new_table_indexes,
        b.foreign_keys,
        b.indexes,
        b.drop_columns,
        b.add_constraints,
        b.drop_enums,
    ] {
        for statement in bucket {
            if !statements.contains(&statement) {
                statements.push(statement);
            }
        }
    }
    Plan { statements }
}

/// `old`'s values appear in `new` in the same order (values were only added).
fn is_subsequence(old: &[String], new: &[String]) -> bool {
    let mut rest = new.iter();
    old.iter().all(|v| rest.any(|n| n == v))
}

fn alter_table(b: &mut Buckets, found: &Table, wanted: &Table, desired: &Schema) {
    let name = &wanted.name;
    let enums = &desired.enums;
    // Declared renames first: afterwards the old column is known by its new name.
    let mut found = found.clone();
    for column in &wanted.columns {
        if let Some(old) = &column.renamed_from
            && found.column(&column.name).is_none()
            && found.column(old).is_some()
        {
            b.rename_columns
                .push(safe(render::rename_column(name, old, &column.name)));
            for c in found.columns.iter_mut().filter(|c| &c.name == old) {
                c.name = column.name.clone();
            }
            rename_in_constraints(&mut found, old, &column.name);
        }
    }
    for unique in &found.uniques {
        if !wanted.uniques.contains(unique) {
            b.drop_constraints
                .push(safe(render::drop_constraint(name, &unique.name)));
        }
    }
    for check in &found.checks {
        if !wanted
            .checks
            .iter()
            .any(|c| c.name == check.name && c.definition == check.definition)
        {
            b.drop_constraints
                .push(safe(render::drop_constraint(name, &check.name)));
        }
    }
    for fk in &found.foreign_keys {
        if !wanted.foreign_keys.contains(fk) {
            let statement = safe(render::drop_foreign_key(name, &fk.name));
            // `DROP TABLE … CASCADE` of the referenced table would remove it first, and the
            // drop would then fail: it goes before the table's drop.
            if desired.tables.contains_key(&fk.ref_table) {
                b.drop_foreign_keys.push(statement);
            } else {
                b.drop_referencing_foreign_keys.push(statement);
            }
        }
    }
    for index in &found.indexes {
        if !wanted
            .indexes
            .iter()
            .any(|i| i.name == index.name && i.same_definition(index))
        {
            b.drop_indexes.push(safe(render::drop_index(&index.name)));
        }
    }
    // A new single-column key on a new column goes inline in ADD COLUMN, as drizzle does.
    let inline_new_pk = render::inline_primary_key(wanted)
        .filter(|c| found.column(c).is_none())
        .map(str::to_string);
    if found.primary_key != wanted.primary_key {
        if let Some(pk) = &found.primary_key {
            b.primary_keys
                .push(safe(render::drop_constraint(name, &pk.name)));
        }
        if let Some(pk) = &wanted.primary_key
            && inline_new_pk.is_none()
        {
            b.primary_keys
                .push(safe(render::add_primary_key(wanted, pk)));
        }
    }
    for column in &wanted.columns {
        match found.column(&column.name) {
            None => {
                b.add_columns.push(safe(render::add_column(
                    name,
                    column,
                    inline_new_pk.as_deref() == Some(column.name.as_str()),
                    enums,
                )));
                if column.storage_plain {
                    b.add_columns
                        .push(safe(render::set_storage(name, &column.name, true)));
                }
            }
            Some(old) => alter_column(b, name, old, column, enums),
        }
    }
    for fk in &wanted.foreign_keys {
        if !found.foreign_keys.contains(fk) {
            b.foreign_keys.push(changing(
                render::add_foreign_key(name, fk),
                Change::ForeignKey {
                    table: name.clone(),
                    foreign_key: fk.clone(),
                },
            ));
        }
    }
    for index in &wanted.indexes {
        if !found
            .indexes
            .iter()
            .any(|i| i.name == index.name && i.same_definition(index))
        {
            b.indexes.push(changing(
                render::create_index(name, index),
                Change::Index {
                    table: name.clone(),
                    index: index.clone(),
                },
            ));
        }
    }
    for column in &found.columns {
        if wanted.column(&column.name).is_none() {
            b.drop_columns.push(losing(
                render::drop_column(name, &column.name),
                format!("drops column {name}.{} and its values", column.name),
            ));
        }
    }
    for unique in &wanted.uniques {
        if !found.uniques.contains(unique) {
            b.add_constraints.push(changing(
                render::add_unique(name, unique),
                Change::Unique {
                    table: name.clone(),
                    unique: unique.clone(),
                },
            ));
        }
    }
    for check in &wanted.checks {
        if !found
            .checks
            .iter()
            .any(|c| c.name == check.name && c.definition == check.definition)
        {
            b.add_constraints.push(changing(
                render::add_check(name, check),
                Change::Check {
                    table: name.clone(),
                    check: check.clone(),
                },
            ));
        }
    }
}

/// After `RENAME COLUMN`, PostgreSQL's constraints and indexes name the new column.
fn rename_in_constraints(table: &mut Table, old: &str, new: &str) {
    let rename = |cols: &mut Vec<String>| {
        for c in cols.iter_mut().filter(|c| *c == old) {
            *c = new.to_string();
        }
    };
    if let Some(pk) = &mut table.primary_key {
        rename(&mut pk.columns);
    }
    for u in &mut table.uniques {
        rename(&mut u.columns);
    }
    for fk in &mut table.foreign_keys {
        rename(&mut fk.columns);
    }
}

fn alter_column(
    b: &mut Buckets,
    table: &str,
    old: &Column,
    new: &Column,
    enums: &BTreeMap<String, Vec<String>>,
) {
    let mut default_handled = false;
    if old.type_sql != new.type_sql {
        default_handled = change_type(b, table, old, new, enums);
    }
    if old.default != new.default && !default_handled {
        let change = match render::column_default(new) {
            Some(default) => format!("SET DEFAULT {default}"),
            None => "DROP DEFAULT".to_string(),
        };
        b.alter_columns
            .push(safe(render::alter_column(table, &new.name, &change)));
    }
    if old.not_null != new.not_null {
        b.alter_columns.push(if new.not_null {
            changing(
                render::alter_column(table, &new.name, "SET NOT NULL"),
                Change::SetNotNull {
                    table: table.to_string(),
                    column: new.name.clone(),
                },
            )
        } else {
            safe(render::alter_column(table, &new.name, "DROP NOT NULL"))
        });
    }
    if old.identity != new.identity {
        let change = match (&old.identity, &new.identity) {
            (_, Some(kind)) if old.identity.is_some() => format!("SET GENERATED {kind}"),
            (_, Some(kind)) => format!("ADD GENERATED {kind} AS IDENTITY"),
            (_, None) => "DROP IDENTITY".to_string(),
        };
        b.alter_columns
            .push(safe(render::alter_column(table, &new.name, &change)));
    }
    if old.storage_plain != new.storage_plain {
        b.alter_columns.push(safe(render::set_storage(
            table,
            &new.name,
            new.storage_plain,
        )));
    }
}

/// A column's type change, with its default, as drizzle-kit's set-type converter writes it:
/// to an enum, the default with the cast first, then the type `USING "c"::type`; from one enum
/// to another, `USING "c"::text::type` around a dropped and re-set default; otherwise the type,
/// then the default again. `USING` is written where drizzle-kit writes it (to an enum) and
/// where PostgreSQL requires it ([`needs_using`]; drizzle-kit writes none there and its
/// statement fails). A default PostgreSQL could not convert along is dropped first (where
/// drizzle-kit's statement fails too). Returns whether the default was dealt with.
fn change_type(
    b: &mut Buckets,
    table: &str,
    old: &Column,
    new: &Column,
    enums: &BTreeMap<String, Vec<String>>,
) -> bool {
    let column = crate::sql::quote_ident(&new.name);
    let at = |change: &str| render::alter_column(table, &new.name, change);
    let new_default = render::column_default(new);
    let had_default = old.default.is_some();
    let old_enum = old.uses_enum.is_some();
    let (ty, new_enum) = match &new.uses_enum {
        Some(name) => (render::qualified_enum_type(name, &new.type_sql), true),
        None => (render::plain_type(&new.type_sql, enums), false),
    };
    let losing_why = format!(
        "changes {table}.{} from {} to {}, which can lose or reject values",
        new.name, old.type_sql, new.type_sql
    );
    let set_type = |sql: String| {
        if !old_enum && !new_enum && widens(&old.type_sql, &new.type_sql) {
            safe(sql)
        } else {
            losing(sql, losing_why.clone())
        }
    };
    match (old_enum, new_enum) {
        (false, true) => {
            match &new_default {
                Some(default) => b
                    .alter_columns
                    .push(safe(at(&format!("SET DEFAULT {default}::{ty}")))),
                None if had_default => b.alter_columns.push(safe(at("DROP DEFAULT"))),
                None => {}
            }
            b.alter_columns.push(set_type(at(&format!(
                "SET DATA TYPE {ty} USING {column}::{ty}"
            ))));
        }
        (true, true) => {
            let alter = set_type(at(&format!(
                "SET DATA TYPE {ty} USING {column}::text::{ty}"
            )));
            let other_enum = old.uses_enum != new.uses_enum;
            if had_default && (other_enum || new_default.is_none()) {
                b.alter_columns.push(safe(at("DROP DEFAULT")));
                b.alter_columns.push(alter);
                if let Some(default) = &new_default {
                    b.alter_columns
                        .push(safe(at(&format!("SET DEFAULT {default}"))));
                }
            } else {
                b.alter_columns.push(alter);
            }
        }
        (_, false) => {
            // An enum converts to text by its output function; from there the rules of text.
            let from = if old_enum { "text" } else { &old.type_sql };
            let using = needs_using(from, &new.type_sql);
            if using && had_default {
                b.alter_columns.push(safe(at("DROP DEFAULT")));
            }
            let cast = if old_enum { "::text" } else { "" };
            b.alter_columns.push(set_type(at(&if using {
                format!("SET DATA TYPE {ty} USING {column}{cast}::{ty}")
            } else {
                format!("SET DATA TYPE {ty}")
            })));
            if let Some(default) = &new_default {
                b.alter_columns
                    .push(safe(at(&format!("SET DEFAULT {default}"))));
            }
        }
    }
    true
}

/// Type changes that keep every value: wider integers, longer or unbounded strings.
fn widens(from: &str, to: &str) -> bool {
    let rank = |t: &str| match t {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        "numeric" => Some(4),
        _ => None,
    };
    if let (Some(a), Some(b)) = (rank(from), rank(to)) {
        return a < b;
    }
    if from == "real" && to == "double precision" {
        return true;
    }
    let varchar_len = |t: &str| {
        t.strip_prefix("character varying(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
    };
    let is_string = |t: &str| t.starts_with("character varying") || t.starts_with("character(");
    match (varchar_len(from), varchar_len(to)) {
        (Some(a), Some(b)) => a <= b,
        _ => is_string(from) && (to == "text" || to == "character varying"),
    }
}

/// Removing or reordering enum values: columns go through `text`, the type is recreated, the
/// columns are cast back (drizzle-kit's sequence), defaults re-set around it so the old type
/// can be dropped.
fn rebuild_enum(
    b: &mut Buckets,
    current: &Schema,
    desired: &Schema,
    name: &str,
    old: &[String],
    values: &[String],
) {
    // Found by the type's OID: `enum[]` columns and names PostgreSQL quotes count too.
    let users: Vec<(&str, &Column)> = current
        .tables
        .values()
        .filter(|t| desired.tables.contains_key(&t.name))
        .flat_map(|t| t.columns.iter().map(move |c| (t.name.as_str(), c)))
        .filter(|(_, c)| c.uses_enum.as_deref() == Some(name))
        .collect();
    let wanted = |table: &str, column: &str| {
        desired
            .tables
            .get(table)
            .and_then(|t| t.column(column))
            .cloned()
    };
    for (table, column) in &users {
        b.enum_rebuilds.push(safe(render::alter_column(
            table,
            &column.name,
            "SET DATA TYPE text",
        )));
        // drizzle-kit writes the new default; without one the old default still depends on
        // the type, which could then not be dropped, so it goes through text too.
        let default = wanted(table, &column.name)
            .as_ref()
            .and_then(render::column_default)
            .or_else(|| render::column_default(column));
        if let Some(default) = default {
            b.enum_rebuilds.push(safe(render::alter_column(
                table,
                &column.name,
                &format!("SET DEFAULT {default}::text"),
            )));
        }
    }
    let removed: Vec<&String> = old.iter().filter(|v| !values.contains(v)).collect();
    b.enum_rebuilds.push(losing(
        render::drop_enum(name),
        if removed.is_empty() {
            format!("reorders enum {name}'s values")
        } else {
            format!(
                "removes value(s) {} from enum {name}: rows holding them make the migration fail",
                removed
                    .iter()
                    .map(|v| render::quote_literal(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    ));
    b.enum_rebuilds
        .push(safe(render::create_enum(name, values)));
    for (table, column) in &users {
        let ty = render::qualified_enum_type(name, &column.type_sql);
        let wanted = wanted(table, &column.name);
        match wanted.as_ref().and_then(render::column_default) {
            Some(default) => b.enum_rebuilds.push(safe(render::alter_column(
                table,
                &column.name,
                &format!("SET DEFAULT {default}::{ty}"),
            ))),
            // The old default, now text, could not be cast back with the column.
            None if column.default.is_some() => b.enum_rebuilds.push(safe(render::alter_column(
                table,
                &column.name,
                "DROP DEFAULT",
            ))),
            None => {}
        }
        b.enum_rebuilds.push(safe(render::alter_column(
            table,
            &column.name,
            &format!(
                "SET DATA TYPE {ty} USING {}::{ty}",
                crate::sql::quote_ident(&column.name)
            ),
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::model::{Column, PrimaryKey};

    fn table(name: &str, columns: &[(&str, &str)]) -> Table {
        Table {
            name: name.into(),
            columns: columns
                .iter()
                .map(|(n, t)| Column {
                    name: n.to_string(),
                    type_sql: t.to_string(),
                    not_null: true,
                    ..Column::default()
                })
                .collect(),
            primary_key: Some(PrimaryKey {
                name: format!("{name}_pkey"),
                columns: vec![columns[0].0.to_string()],
            }),
            ..Table::default()
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
            ..Schema::default()
        }
    }

    #[test]
    fn equal_schemas_need_nothing() {
        let s = schema(vec![table("t", &[("id", "uuid")])]);
        assert!(diff(&s, &s).is_empty());
    }

    #[test]
    fn drops_come_last_and_are_refused_unless_allowed() {
        let current = schema(vec![
            table("t", &[("id", "uuid"), ("old", "text")]),
            table("gone", &[("id", "uuid")]),
        ]);
        let desired = schema(vec![table("t", &[("id", "uuid"), ("new", "text")])]);
        let plan = diff(&current, &desired);
        assert_eq!(
            plan.sql(),
            vec![
                "DROP TABLE \"gone\" CASCADE;",
                "ALTER TABLE \"t\" ADD COLUMN \"new\" text NOT NULL;",
                "ALTER TABLE \"t\" DROP COLUMN \"old\";",
            ]
        );
        let refused = plan.refuse_drops(false).expect_err("drops refused");
        let message = refused.to_string();
        assert!(message.contains("DROP TABLE \"gone\""), "{message}");
        assert!(message.contains("DROP COLUMN \"old\""), "{message}");
        assert!(plan.refuse_drops(true).is_ok());
    }

    #[test]
    fn a_declared_rename_keeps_the_column() {
        let current = schema(vec![table("t", &[("id", "uuid"), ("title", "text")])]);
        let mut wanted = table("t", &[("id", "uuid"), ("name", "text")]);
        wanted.columns[1].renamed_from = Some("title".into());
        let plan = diff(&current, &schema(vec![wanted]));
        assert_eq!(
            plan.sql(),
            vec!["ALTER TABLE \"t\" RENAME COLUMN \"title\" TO \"name\";"]
        );
        assert!(plan.losing_data().is_empty());
    }

    #[test]
    fn widening_is_safe_and_narrowing_is_not() {
        assert!(widens("integer", "bigint"));
        assert!(widens("character varying(10)", "character varying(20)"));
        assert!(widens("character varying(10)", "text"));
        assert!(!widens("bigint", "integer"));
        assert!(!widens("text", "integer"));
        assert!(!widens("character varying(20)", "character varying(10)"));
    }

    #[test]
    fn enum_values_are_added_in_place() {
        assert!(is_subsequence(
            &["a".into(), "c".into()],
            &["a".into(), "b".into(), "c".into()]
        ));
        assert!(!is_subsequence(
            &["a".into(), "c".into()],
            &["c".into(), "a".into()]
        ));
        let mut current = Schema::default();
        current
            .enums
            .insert("e".into(), vec!["a".into(), "c".into()]);
        let mut desired = Schema::default();
        desired.enums.insert(
            "e".into(),
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
        );
        assert_eq!(
            diff(&current, &desired).sql(),
            vec![
                "ALTER TYPE \"public\".\"e\" ADD VALUE 'b' BEFORE 'c';",
                "ALTER TYPE \"public\".\"e\" ADD VALUE 'd';",
            ]
        );
    }

    fn column(name: &str, ty: &str, default: Option<&str>) -> Column {
        Column {
            name: name.into(),
            type_sql: ty.into(),
            not_null: true,
            default: default.map(Into::into),
            ..Column::default()
        }
    }

    fn with_columns(name: &str, columns: Vec<Column>) -> Table {
        let mut t = table(name, &[("id", "uuid")]);
        t.columns.extend(columns);
        t
    }

    #[test]
    fn a_text_column_with_a_default_becomes_an_enum_default_first() {
        let current = schema(vec![with_columns(
            "t",
            vec![column("plan", "text", Some("'free'::text"))],
        )]);
        let mut plan = column("plan", "plan", Some("'free'::plan"));
        plan.uses_enum = Some("plan".into());
        let mut desired = schema(vec![with_columns("t", vec![plan])]);
        desired
            .enums
            .insert("plan".into(), vec!["free".into(), "pro".into()]);
        assert_eq!(
            diff(&current, &desired).sql(),
            vec![
                "CREATE TYPE \"public\".\"plan\" AS ENUM('free', 'pro');",
                "ALTER TABLE \"t\" ALTER COLUMN \"plan\" SET DEFAULT 'free'::\"public\".\"plan\";",
                "ALTER TABLE \"t\" ALTER COLUMN \"plan\" SET DATA TYPE \"public\".\"plan\" USING \"plan\"::\"public\".\"plan\";",
            ]
        );
    }

    #[test]
    fn using_only_where_postgresql_needs_it() {
        let change = |from: &str, to: &str, default: Option<&str>| {
            let current = schema(vec![with_columns("t", vec![column("c", from, default)])]);
            let desired = schema(vec![with_columns("t", vec![column("c", to, default)])]);
            diff(&current, &desired).sql()
        };
        assert_eq!(
            change("vector(3)", "vector(4)", None),
            vec!["ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE vector(4);"]
        );
        assert_eq!(
            change("text", "integer", None),
            vec![
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE integer USING \"c\"::integer;"
            ]
        );
        // drizzle-kit sets the default again after the type; a default PostgreSQL cannot
        // convert along is dropped first.
        assert_eq!(
            change("integer", "bigint", Some("0")),
            vec![
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE bigint;",
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DEFAULT 0;",
            ]
        );
        assert_eq!(
            change("text", "integer", Some("'1'::text")),
            vec![
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" DROP DEFAULT;",
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE integer USING \"c\"::integer;",
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DEFAULT '1';",
            ]
        );
    }

    #[test]
    fn a_foreign_key_to_a_dropped_table_is_dropped_before_it() {
        let mut project = table("project", &[("id", "uuid"), ("org", "uuid")]);
        project
            .foreign_keys
            .push(crate::generate::model::ForeignKey {
                name: "project_org_fk".into(),
                columns: vec!["org".into()],
                ref_table: "organization".into(),
                ref_columns: vec!["id".into()],
                on_delete: "cascade".into(),
                on_update: "no action".into(),
            });
        let current = schema(vec![project, table("organization", &[("id", "uuid")])]);
        let desired = schema(vec![table("project", &[("id", "uuid"), ("org", "uuid")])]);
        assert_eq!(
            diff(&current, &desired).sql(),
            vec![
                "ALTER TABLE \"project\" DROP CONSTRAINT \"project_org_fk\";\n",
                "DROP TABLE \"organization\" CASCADE;",
            ]
        );
    }

    #[test]
    fn an_enum_value_removal_converts_enum_arrays_and_quoted_names() {
        let mut tier = column("tier", "\"planTier\"", Some("'free'::\"planTier\""));
        tier.uses_enum = Some("planTier".into());
        let mut past = column("past", "\"planTier\"[]", None);
        past.uses_enum = Some("planTier".into());
        past.not_null = false;
        let mut current = schema(vec![with_columns("t", vec![tier.clone(), past.clone()])]);
        current.enums.insert(
            "planTier".into(),
            vec!["free".into(), "legacy".into(), "pro".into()],
        );
        let mut desired = schema(vec![with_columns("t", vec![tier, past])]);
        desired
            .enums
            .insert("planTier".into(), vec!["free".into(), "pro".into()]);
        let sql = diff(&current, &desired).sql();
        assert_eq!(
            sql,
            vec![
                "ALTER TABLE \"t\" ALTER COLUMN \"tier\" SET DATA TYPE text;",
                "ALTER TABLE \"t\" ALTER COLUMN \"tier\" SET DEFAULT 'free'::text;",
                "ALTER TABLE \"t\" ALTER COLUMN \"past\" SET DATA TYPE text;",
                "DROP TYPE \"public\".\"planTier\";",
                "CREATE TYPE \"public\".\"planTier\" AS ENUM('free', 'pro');",
                "ALTER TABLE \"t\" ALTER COLUMN \"tier\" SET DEFAULT 'free'::\"public\".\"planTier\";",
                "ALTER TABLE \"t\" ALTER COLUMN \"tier\" SET DATA TYPE \"public\".\"planTier\" USING \"tier\"::\"public\".\"planTier\";",
                "ALTER TABLE \"t\" ALTER COLUMN \"past\" SET DATA TYPE \"public\".\"planTier\"[] USING \"past\"::\"public\".\"planTier\"[];",
            ]
        );
    }

    #[test]
    fn a_generated_column_is_not_compared() {
        let mut total = column("total", "integer", None);
        total.not_null = false;
        total.generated = Some("(a * b)".into());
        let current = schema(vec![with_columns("t", vec![total.clone()])]);
        total.generated = None;
        let desired = schema(vec![with_columns("t", vec![total])]);
        assert!(diff(&current, &desired).is_empty());
    }

    #[test]
    fn an_enum_rebuild_takes_a_default_the_entities_drop_along() {
        let mut old = column("c", "e", Some("'a'::e"));
        old.uses_enum = Some("e".into());
        let mut new = column("c", "e", None);
        new.uses_enum = Some("e".into());
        let mut current = schema(vec![with_columns("t", vec![old])]);
        current
            .enums
            .insert("e".into(), vec!["a".into(), "b".into()]);
        let mut desired = schema(vec![with_columns("t", vec![new])]);
        desired.enums.insert("e".into(), vec!["a".into()]);
        assert_eq!(
            diff(&current, &desired).sql(),
            vec![
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE text;",
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DEFAULT 'a'::text;",
                "DROP TYPE \"public\".\"e\";",
                "CREATE TYPE \"public\".\"e\" AS ENUM('a');",
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" DROP DEFAULT;",
                "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE \"public\".\"e\" USING \"c\"::\"public\".\"e\";",
            ]
        );
    }
}
