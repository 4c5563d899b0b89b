//! The desired schema: the entities and the declared supplement, applied to a scratch database
//! and read back, with SeaORM's object names replaced by drizzle-kit's.

use entity::supplement::Supplement;
use sea_orm::{DbBackend, EntityRegistry, Schema as SeaSchema, SchemaBuilder};
use sqlx::Connection;

use super::model::{Check, Index, Schema, Table, Unique};
use super::read::read_schema;
use super::render;
use crate::Error;
use crate::recovery::scratch::ScratchDatabase;
use crate::sql::execute_raw;

/// Every entity compiled into the program whose module path starts with `prefix` (e.g.
/// `entity::*` for the project's entities, `my_test::v2::*` for a test's own modules).
pub fn entities_by_prefix(prefix: &str) -> SchemaBuilder {
    EntityRegistry::build_schema(SeaSchema::new(DbBackend::Postgres), prefix)
}

/// Applies `entities` and `supplement` to the empty `scratch` database and reads the model.
pub async fn build_desired(
    scratch: &ScratchDatabase,
    entities: SchemaBuilder,
    supplement: &Supplement,
) -> Result<Schema, Error> {
    let mut conn = scratch.connect().await?;
    for extension in supplement.extensions {
        execute_raw(&mut conn, render::create_extension(extension)).await?;
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(scratch.options())
        .await?;
    let db = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
    let applied = entities.apply(&db).await;
    let _ = db.close().await;
    applied?;
    for statement in supplement_statements(supplement) {
        execute_raw(&mut conn, statement.clone())
            .await
            .map_err(|e| Error::Refused {
                reason: format!("the entity supplement does not apply: {statement}: {e}"),
                fix: "correct entity/src/supplement data (table, column and constraint names must match the entities)".into(),
            })?;
    }
    let schema = read_schema(&mut conn).await?;
    let _ = conn.close().await;
    Ok(drizzle_names(schema, supplement))
}

/// The supplement as statements, in drizzle-kit's forms.
fn supplement_statements(supplement: &Supplement) -> Vec<String> {
    let mut statements = Vec::new();
    for (table, column) in supplement.plain_storage {
        statements.push(render::set_storage(table, column, true));
    }
    for u in supplement.uniques {
        statements.push(render::add_unique(u.table, &unique(u)));
    }
    for c in supplement.checks {
        statements.push(render::add_check(c.table, &check(c)));
    }
    for i in supplement.indexes {
        statements.push(render::create_index(i.table, &index(i)));
    }
    statements
}

fn unique(u: &entity::supplement::Unique) -> Unique {
    Unique {
        name: u.name.into(),
        columns: u.columns.iter().map(|c| c.to_string()).collect(),
        nulls_not_distinct: u.nulls_not_distinct,
    }
}

fn check(c: &entity::supplement::Check) -> Check {
    Check {
        name: c.name.into(),
        definition: String::new(),
        expression_sql: c.expression.into(),
    }
}

fn index(i: &entity::supplement::Index) -> Index {
    Index {
        name: i.name.into(),
        unique: i.unique,
        method: i.method.into(),
        keys_sql: i.keys.into(),
        predicate_sql: i.predicate.map(Into::into),
        with: i
            .with
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Index::default()
    }
}

/// SeaORM's names → drizzle-kit's defaults (`{t}_{cols}_unique`, `_index`, `_fk`, `_pk`), a
/// `unique_key` group's unique index → a unique constraint (drizzle's form), supplement
/// names and texts kept as declared. Pure.
pub fn drizzle_names(mut schema: Schema, supplement: &Supplement) -> Schema {
    for table in schema.tables.values_mut() {
        rename_table_objects(table, supplement);
    }
    schema
}

fn rename_table_objects(table: &mut Table, supplement: &Supplement) {
    let t = table.name.clone();
    for unique in &mut table.uniques {
        if unique.name == format!("{t}_{}_key", unique.columns.join("_")) {
            unique.name = format!("{t}_{}_unique", unique.columns.join("_"));
        }
    }
    let seaorm_prefix = format!("idx-{t}-");
    let mut kept = Vec::new();
    for mut index in std::mem::take(&mut table.indexes) {
        if index.name.starts_with(&seaorm_prefix) {
            let columns: Vec<String> = index
                .keys
                .iter()
                .map(|k| k.trim_matches('"').to_string())
                .collect();
            let plain = index.method == "btree"
                && index.predicate.is_none()
                && index.keys.iter().all(|k| table_has(&table.columns, k));
            if index.unique && plain {
                table.uniques.push(Unique {
                    name: format!("{t}_{}_unique", columns.join("_")),
                    columns,
                    nulls_not_distinct: false,
                });
                continue;
            }
            if !index.unique {
                index.name = format!("{t}_{}_index", columns.join("_"));
            }
        }
        if let Some(declared) = supplement
            .indexes
            .iter()
            .find(|i| i.table == t && i.name == index.name)
        {
            index.keys_sql = declared.keys.into();
            index.predicate_sql = declared.predicate.map(Into::into);
        }
        kept.push(index);
    }
    table.indexes = kept;
    for fk in &mut table.foreign_keys {
        if let Some(declared) = supplement.foreign_key_names.iter().find(|f| {
            f.table == t
                && f.columns
                    .iter()
                    .copied()
                    .eq(fk.columns.iter().map(String::as_str))
        }) {
            fk.name = declared.name.into();
        } else if fk.name.starts_with("fk-") {
            fk.name = format!(
                "{t}_{}_{}_{}_fk",
                fk.columns.join("_"),
                fk.ref_table,
                fk.ref_columns.join("_")
            );
        }
    }
    if let Some(pk) = &mut table.primary_key
        && pk.name == format!("pk-{t}")
    {
        pk.name = format!("{t}_{}_pk", pk.columns.join("_"));
    }
    for check in &mut table.checks {
        if let Some(declared) = supplement
            .checks
            .iter()
            .find(|c| c.table == t && c.name == check.name)
        {
            check.expression_sql = declared.expression.into();
        }
    }
    // A declared unique refines the entity's `unique_key` over the same columns (e.g. NULLS
    // NOT DISTINCT): the declared one is the constraint.
    for declared in supplement.uniques.iter().filter(|u| u.table == t) {
        table.uniques.retain(|u| {
            !declared
                .columns
                .iter()
                .copied()
                .eq(u.columns.iter().map(String::as_str))
        });
        table.uniques.push(unique(declared));
    }
    table.uniques.sort_by(|a, b| a.name.cmp(&b.name));
    for renamed in supplement.renamed_columns.iter().filter(|r| r.table == t) {
        for column in table.columns.iter_mut().filter(|c| c.name == renamed.to) {
            column.renamed_from = Some(renamed.from.into());
        }
    }
    // SeaORM's `auto_increment` makes an identity column; drizzle's `serial`, which the
    // migrations use, is a sequence default. Both number rows the same way: the entity's
    // intent is written as drizzle writes it.
    for column in &mut table.columns {
        if column.identity.as_deref() == Some("BY DEFAULT") && column.default.is_none() {
            column.identity = None;
            column.default = Some(format!("nextval('{t}_{}_seq'::regclass)", column.name));
        }
    }
}

fn table_has(columns: &[super::model::Column], key: &str) -> bool {
    let key = key.trim_matches('"');
    columns.iter().any(|c| c.name == key)
}
