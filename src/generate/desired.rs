//! The desired schema: the entities and the declared supplement, applied to a scratch database
//! and read back, with SeaORM's object names replaced by drizzle-kit's (0.31's for a journal
//! folder, 1.0's for a 1.0 folder).

use entity::supplement::Supplement;
use sea_orm::{DbBackend, EntityRegistry, Schema as SeaSchema, SchemaBuilder};
use sqlx::Connection;

use super::model::{Check, Index, Schema, Table, Unique};
use super::read::read_schema;
use super::render;
use crate::Error;
use crate::journal::Layout;
use crate::recovery::scratch::ScratchDatabase;
use crate::sql::execute_raw;

/// Every entity compiled into the program whose module path starts with `prefix` (e.g.
/// `entity::*` for the project's entities, `my_test::v2::*` for a test's own modules).
pub fn entities_by_prefix(prefix: &str) -> SchemaBuilder {
    EntityRegistry::build_schema(SeaSchema::new(DbBackend::Postgres), prefix)
}

/// Applies `entities` and `supplement` to the empty `scratch` database and reads the model, with
/// the names drizzle-kit gives the objects of a folder in `layout`.
pub async fn build_desired(
    scratch: &ScratchDatabase,
    entities: SchemaBuilder,
    supplement: &Supplement,
    layout: Layout,
) -> Result<Schema, Error> {
    let mut conn = scratch.connect().await?;
    for extension in supplement.extensions {
        execute_raw(&mut conn, render::create_extension(extension)).await?;
    }
    let keepalive = scratch.keepalive().copied();
    let options = scratch.options();
    let arm_options = options.clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            let options = arm_options.clone();
            Box::pin(async move {
                crate::keepalive::arm(conn, &options, keepalive.as_ref(), None).await;
                Ok(())
            })
        })
        .connect_with(options)
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
    Ok(drizzle_names(schema, supplement, layout))
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

/// SeaORM's names → drizzle-kit's defaults, a `unique_key` group's unique index → a unique
/// constraint (drizzle's form), supplement names and texts kept as declared. Pure.
///
/// drizzle-kit 0.31 (a journal folder): a column's unique `{t}_{c}_unique`, a foreign key
/// `{t}_{cols}_{ref}_{refcols}_fk`, a composite primary key `{t}_{cols}_pk`. drizzle-kit 1.0 (a
/// 1.0 folder): PostgreSQL's `{t}_{c}_key`, `…_fkey`, `{t}_pkey`. Both: an index
/// `{t}_{cols}_index` and a group's unique `{t}_{cols}_unique` (drizzle-orm's own names for
/// `index().on(…)` and `unique().on(…)`).
pub fn drizzle_names(mut schema: Schema, supplement: &Supplement, layout: Layout) -> Schema {
    for table in schema.tables.values_mut() {
        rename_table_objects(table, supplement, layout);
    }
    schema
}

/// drizzle-kit 1.0's default foreign key name (`defaultNameForFK`): `{t}_{cols}_{ref}_{refcols}_fkey`
/// when it fits PostgreSQL's 63 bytes; longer ones are hashed by drizzle-kit, which app-db does
/// not reproduce (such a key keeps the name SeaORM gave it; declare one in the supplement).
fn fk_name_v1(
    table: &str,
    columns: &[String],
    ref_table: &str,
    ref_columns: &[String],
) -> Option<String> {
    let name = format!(
        "{table}_{}_{ref_table}_{}_fkey",
        columns.join("_"),
        ref_columns.join("_")
    );
    (name.len() <= 63).then_some(name)
}

fn rename_table_objects(table: &mut Table, supplement: &Supplement, layout: Layout) {
    let t = table.name.clone();
    if layout == Layout::Journal {
        for unique in &mut table.uniques {
            if unique.name == format!("{t}_{}_key", unique.columns.join("_")) {
                unique.name = format!("{t}_{}_unique", unique.columns.join("_"));
            }
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
            match layout {
                Layout::Journal => {
                    fk.name = format!(
                        "{t}_{}_{}_{}_fk",
                        fk.columns.join("_"),
                        fk.ref_table,
                        fk.ref_columns.join("_")
                    );
                }
                Layout::Folders => {
                    if let Some(name) = fk_name_v1(&t, &fk.columns, &fk.ref_table, &fk.ref_columns)
                    {
                        fk.name = name;
                    }
                }
            }
        }
    }
    if let Some(pk) = &mut table.primary_key
        && pk.name == format!("pk-{t}")
    {
        pk.name = match layout {
            Layout::Journal => format!("{t}_{}_pk", pk.columns.join("_")),
            Layout::Folders => format!("{t}_pkey"),
        };
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

/// The names drizzle-kit generates for an object over `columns` of table `t`, in either version
/// (0.31's suffixes and 1.0's), `what` being `unique`, `pk` or `index`.
fn generated_names(t: &str, columns: &[String], what: &str) -> [String; 2] {
    let joined = columns.join("_");
    match what {
        "unique" => [format!("{t}_{joined}_unique"), format!("{t}_{joined}_key")],
        "pk" => [format!("{t}_{joined}_pk"), format!("{t}_pkey")],
        _ => [format!("{t}_{joined}_index"), format!("{t}_{joined}_idx")],
    }
}

fn fk_generated(t: &str, fk: &super::model::ForeignKey) -> [String; 2] {
    let base = format!(
        "{t}_{}_{}_{}",
        fk.columns.join("_"),
        fk.ref_table,
        fk.ref_columns.join("_")
    );
    [format!("{base}_fk"), format!("{base}_fkey")]
}

/// drizzle-kit 1.0's `preserveEntityNames`: an object of `desired` with a generated name keeps
/// the generated name the same object has in `current` (a folder written by drizzle-kit 0.31
/// and converted keeps `…_unique`, `…_fk`, `…_pk`, where 1.0 would generate `…_key`, `…_fkey`,
/// `…_pkey`), so moving a folder to 1.0 renames nothing. Explicit names are left alone. Pure.
pub fn keep_generated_names(current: &Schema, desired: &mut Schema) {
    for (name, table) in desired.tables.iter_mut() {
        let Some(before) = current.tables.get(name) else {
            continue;
        };
        let t = name.as_str();
        let taken = |table: &Table, candidate: &str| {
            table.uniques.iter().any(|u| u.name == candidate)
                || table.foreign_keys.iter().any(|f| f.name == candidate)
                || table.indexes.iter().any(|i| i.name == candidate)
                || table
                    .primary_key
                    .as_ref()
                    .is_some_and(|p| p.name == candidate)
        };
        for i in 0..table.uniques.len() {
            let wanted = table.uniques[i].clone();
            if !generated_names(t, &wanted.columns, "unique").contains(&wanted.name) {
                continue;
            }
            if let Some(old) = before.uniques.iter().find(|u| {
                u.columns == wanted.columns
                    && u.nulls_not_distinct == wanted.nulls_not_distinct
                    && u.name != wanted.name
                    && generated_names(t, &u.columns, "unique").contains(&u.name)
            }) && !taken(table, &old.name)
            {
                table.uniques[i].name = old.name.clone();
            }
        }
        for i in 0..table.foreign_keys.len() {
            let wanted = table.foreign_keys[i].clone();
            if !fk_generated(t, &wanted).contains(&wanted.name) {
                continue;
            }
            if let Some(old) = before.foreign_keys.iter().find(|f| {
                f.columns == wanted.columns
                    && f.ref_table == wanted.ref_table
                    && f.ref_columns == wanted.ref_columns
                    && f.on_delete == wanted.on_delete
                    && f.on_update == wanted.on_update
                    && f.name != wanted.name
                    && fk_generated(t, f).contains(&f.name)
            }) && !taken(table, &old.name)
            {
                table.foreign_keys[i].name = old.name.clone();
            }
        }
        for i in 0..table.indexes.len() {
            let wanted = table.indexes[i].clone();
            let columns: Vec<String> = wanted
                .key_parts
                .iter()
                .map(|k| k.expression.clone())
                .collect();
            if !generated_names(t, &columns, "index").contains(&wanted.name) {
                continue;
            }
            if let Some(old) = before.indexes.iter().find(|x| {
                x.same_definition(&wanted)
                    && x.name != wanted.name
                    && generated_names(t, &columns, "index").contains(&x.name)
            }) && !taken(table, &old.name)
            {
                table.indexes[i].name = old.name.clone();
            }
        }
        if let (Some(pk), Some(old)) = (&mut table.primary_key, &before.primary_key)
            && pk.columns == old.columns
            && pk.name != old.name
            && generated_names(t, &pk.columns, "pk").contains(&pk.name)
            && generated_names(t, &old.columns, "pk").contains(&old.name)
        {
            pk.name = old.name.clone();
        }
        table.uniques.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

fn table_has(columns: &[super::model::Column], key: &str) -> bool {
    let key = key.trim_matches('"');
    columns.iter().any(|c| c.name == key)
}

#[cfg(test)]
mod tests {
    use super::super::model::{ForeignKey, PrimaryKey};
    use super::*;

    fn table(unique: &str, fk: &str, pk: &str) -> Table {
        Table {
            name: "t".into(),
            uniques: vec![Unique {
                name: unique.into(),
                columns: vec!["slug".into()],
                nulls_not_distinct: false,
            }],
            foreign_keys: vec![ForeignKey {
                name: fk.into(),
                columns: vec!["org_id".into()],
                ref_table: "org".into(),
                ref_columns: vec!["id".into()],
                on_delete: "cascade".into(),
                on_update: "no action".into(),
            }],
            primary_key: Some(PrimaryKey {
                name: pk.into(),
                columns: vec!["a".into(), "b".into()],
            }),
            ..Table::default()
        }
    }

    fn schema(table: Table) -> Schema {
        let mut schema = Schema::default();
        schema.tables.insert(table.name.clone(), table);
        schema
    }

    #[test]
    fn generated_names_of_a_0_31_folder_are_kept_in_1_0() {
        let current = schema(table("t_slug_unique", "t_org_id_org_id_fk", "t_a_b_pk"));
        let mut desired = schema(table("t_slug_key", "t_org_id_org_id_fkey", "t_pkey"));
        keep_generated_names(&current, &mut desired);
        assert_eq!(desired, current);
    }

    #[test]
    fn explicit_names_and_changed_objects_are_not_renamed() {
        let current = schema(table("t_slug_unique", "t_org_id_org_id_fk", "t_a_b_pk"));
        let mut desired = schema(table("my_unique", "t_org_id_org_id_fkey", "t_pkey"));
        desired.tables.get_mut("t").unwrap().foreign_keys[0].on_delete = "restrict".into();
        keep_generated_names(&current, &mut desired);
        let t = &desired.tables["t"];
        assert_eq!(t.uniques[0].name, "my_unique");
        assert_eq!(t.foreign_keys[0].name, "t_org_id_org_id_fkey");
        assert_eq!(t.primary_key.as_ref().unwrap().name, "t_a_b_pk");
    }
}
