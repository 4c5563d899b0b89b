//! The entities and the migrations describe the same schema.
//!
//! After applying every migration, the live catalogs (pg_catalog) are compared with what the
//! entities declare: the set of tables, and per table the columns (name, SQL type including the
//! vector dimension, nullability), the primary key, the unique constraints, the foreign keys (with
//! their ON DELETE / ON UPDATE actions) and the labels of every enum type. Changing a migration
//! without its entity, or an entity without a migration, fails here.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use app_db::sea_orm_active_enums;
use sea_orm::sea_query::{ForeignKeyAction, IndexCreateStatement};
use sea_orm::{
    ActiveEnum, ColumnTrait, ColumnType, ConnectionTrait, DatabaseBackend, EntityTrait, Iden,
    Iterable, PrimaryKeyToColumn, Schema, Statement,
};

/// Unique indexes the entity format cannot express, each with the reason it exists. Any other
/// partial or expression unique index fails the test, so a new one has to be added here on purpose.
const UNREPRESENTABLE_UNIQUE_INDEXES: &[(&str, &str)] = &[(
    "subscription_organization_id_live_unique",
    "partial: at most one live subscription per organization, any number of ended ones",
)];

/// (columns, referenced table, referenced columns, on delete, on update), actions as
/// `pg_constraint` letters.
type ForeignKey = (Vec<String>, String, Vec<String>, char, char);

#[derive(Debug, Default, PartialEq, Eq)]
struct TableShape {
    /// column -> (SQL type as `format_type` prints it, nullable)
    columns: BTreeMap<String, (String, bool)>,
    primary_key: Vec<String>,
    /// column lists, sorted within each set
    unique: BTreeSet<Vec<String>>,
    foreign_keys: BTreeSet<ForeignKey>,
}

fn entity_shape<E: EntityTrait + Default>() -> (String, TableShape) {
    let entity = E::default();
    let schema = Schema::new(DatabaseBackend::Postgres);
    let mut shape = TableShape::default();

    for column in E::Column::iter() {
        let def = column.def();
        let name = column.to_string();
        shape.columns.insert(
            name.clone(),
            (sql_type(def.get_column_type()), def.is_null()),
        );
        if def.is_unique() {
            shape.unique.insert(vec![name]);
        }
    }
    shape.primary_key = E::PrimaryKey::iter()
        .map(|pk| pk.into_column().to_string())
        .collect();

    let composite_unique = schema
        .create_index_from_entity(entity)
        .into_iter()
        .filter(IndexCreateStatement::is_unique_key);
    for index in composite_unique {
        let mut columns = index.get_index_spec().get_column_names();
        columns.sort();
        shape.unique.insert(columns);
    }

    let table = schema.create_table_from_entity(entity);
    for fk in table.get_foreign_key_create_stmts() {
        let fk = fk.get_foreign_key();
        let referenced = fk
            .get_ref_table()
            .map(|t| t.sea_orm_table().to_string())
            .unwrap_or_default();
        shape.foreign_keys.insert((
            fk.get_columns(),
            referenced,
            fk.get_ref_columns(),
            action_code(fk.get_on_delete()),
            action_code(fk.get_on_update()),
        ));
    }
    (entity.table_name().to_owned(), shape)
}

/// The SQL type PostgreSQL's `format_type` prints for a SeaORM column type.
fn sql_type(column_type: &ColumnType) -> String {
    match column_type {
        ColumnType::Text => "text".into(),
        ColumnType::Boolean => "boolean".into(),
        ColumnType::SmallInteger => "smallint".into(),
        ColumnType::Integer => "integer".into(),
        ColumnType::BigInteger => "bigint".into(),
        ColumnType::Uuid => "uuid".into(),
        ColumnType::Date => "date".into(),
        ColumnType::DateTime => "timestamp without time zone".into(),
        ColumnType::TimestampWithTimeZone => "timestamp with time zone".into(),
        ColumnType::Json => "json".into(),
        ColumnType::JsonBinary => "jsonb".into(),
        ColumnType::Vector(Some(dimension)) => format!("vector({dimension})"),
        ColumnType::Enum { name, .. } => name.to_string(),
        other => format!("<no mapping for {other:?}: extend sql_type()>"),
    }
}

/// `pg_constraint.confdeltype` / `confupdtype` letters; no action is PostgreSQL's default.
fn action_code(action: Option<ForeignKeyAction>) -> char {
    match action {
        None | Some(ForeignKeyAction::NoAction) => 'a',
        Some(ForeignKeyAction::Restrict) => 'r',
        Some(ForeignKeyAction::Cascade) => 'c',
        Some(ForeignKeyAction::SetNull) => 'n',
        Some(ForeignKeyAction::SetDefault) => 'd',
        Some(_) => '?',
    }
}

macro_rules! entity_shapes {
    ($($module:ident),* $(,)?) => {
        BTreeMap::from([$(entity_shape::<app_db::$module::Entity>()),*])
    };
}

fn all_entity_shapes() -> BTreeMap<String, TableShape> {
    entity_shapes![
        account,
        ai_usage,
        announcements,
        audit_log,
        document_chunk,
        document_source,
        feature_flags,
        invitation,
        member,
        org_credits,
        organization,
        referrals,
        roadmap_items,
        roadmap_votes,
        saas_metrics_daily,
        session,
        subscription,
        user,
        verification,
        waitlist_entries,
        webhook_deliveries,
        webhook_endpoints,
    ]
}

fn entity_enums() -> BTreeMap<String, Vec<String>> {
    fn labels<A: ActiveEnum<Value = String>>() -> (String, Vec<String>) {
        (
            A::name().to_string(),
            A::iter().map(|v| v.to_value()).collect(),
        )
    }
    use sea_orm_active_enums::*;
    BTreeMap::from([
        labels::<SubscriptionStatus>(),
        labels::<DocumentSourceStatus>(),
        labels::<ReferralStatus>(),
        labels::<RoadmapStatus>(),
        labels::<WebhookDeliveryStatus>(),
    ])
}

async fn rows(db: &impl ConnectionTrait, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("catalog query failed: {e}\n{sql}"))
}

fn split_columns(list: &str) -> Vec<String> {
    list.split(',').map(str::to_owned).collect()
}

async fn live_shapes(db: &impl ConnectionTrait) -> BTreeMap<String, TableShape> {
    let mut shapes: BTreeMap<String, TableShape> = BTreeMap::new();

    for row in rows(db, "
        SELECT c.relname::text AS tbl, a.attname::text AS col,
               format_type(a.atttypid, a.atttypmod) AS typ, NOT a.attnotnull AS nullable
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped").await
    {
        let table: String = row.try_get("", "tbl").unwrap();
        shapes.entry(table).or_default().columns.insert(
            row.try_get("", "col").unwrap(),
            (row.try_get("", "typ").unwrap(), row.try_get("", "nullable").unwrap()),
        );
    }

    // Column lists keep key order for the primary key; unique sets are compared sorted.
    for row in rows(
        db,
        "
        SELECT c.relname::text AS tbl, ic.relname::text AS idx, i.indisprimary AS is_pk,
               (i.indpred IS NOT NULL OR i.indexprs IS NOT NULL) AS unrepresentable,
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
                  FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND (i.indisunique OR i.indisprimary)",
    )
    .await
    {
        let table: String = row.try_get("", "tbl").unwrap();
        let index: String = row.try_get("", "idx").unwrap();
        let shape = shapes.entry(table.clone()).or_default();
        if row.try_get::<bool>("", "is_pk").unwrap() {
            shape.primary_key = split_columns(&row.try_get::<String>("", "cols").unwrap());
        } else if row.try_get::<bool>("", "unrepresentable").unwrap() {
            assert!(
                UNREPRESENTABLE_UNIQUE_INDEXES
                    .iter()
                    .any(|(name, _)| *name == index),
                "{table}: unique index {index} is partial or on an expression, which an entity \
                 cannot declare; list it in UNREPRESENTABLE_UNIQUE_INDEXES with its reason"
            );
        } else {
            let mut columns = split_columns(&row.try_get::<String>("", "cols").unwrap());
            columns.sort();
            shape.unique.insert(columns);
        }
    }

    for row in rows(db, "
        SELECT c.relname::text AS tbl, r.relname::text AS ref_tbl,
               con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
                  FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols,
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
                  FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_cols
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_class r ON r.oid = con.confrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND con.contype = 'f'").await
    {
        let table: String = row.try_get("", "tbl").unwrap();
        let code = |col: &str| row.try_get::<String>("", col).unwrap().chars().next().unwrap_or('?');
        shapes.entry(table).or_default().foreign_keys.insert((
            split_columns(&row.try_get::<String>("", "cols").unwrap()),
            row.try_get("", "ref_tbl").unwrap(),
            split_columns(&row.try_get::<String>("", "ref_cols").unwrap()),
            code("on_delete"),
            code("on_update"),
        ));
    }
    shapes
}

async fn live_enums(db: &impl ConnectionTrait) -> BTreeMap<String, Vec<String>> {
    let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows(
        db,
        "
        SELECT t.typname::text AS name, e.enumlabel::text AS label
        FROM pg_enum e
        JOIN pg_type t ON t.oid = e.enumtypid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public'
        ORDER BY t.typname, e.enumsortorder",
    )
    .await
    {
        enums
            .entry(row.try_get("", "name").unwrap())
            .or_default()
            .push(row.try_get("", "label").unwrap());
    }
    enums
}

/// One line per difference, naming the table and what each side says.
fn differences(table: &str, live: &TableShape, entity: &TableShape) -> Vec<String> {
    let mut out = Vec::new();
    let columns: BTreeSet<_> = live.columns.keys().chain(entity.columns.keys()).collect();
    for column in columns {
        let (in_db, in_entity) = (live.columns.get(column), entity.columns.get(column));
        if in_db != in_entity {
            out.push(format!(
                "{table}.{column}: migrations (type, nullable) = {in_db:?}, entity = {in_entity:?}"
            ));
        }
    }
    if live.primary_key != entity.primary_key {
        out.push(format!(
            "{table}: primary key in migrations {:?}, in entity {:?}",
            live.primary_key, entity.primary_key
        ));
    }
    for only in live.unique.difference(&entity.unique) {
        out.push(format!("{table}: unique {only:?} only in the migrations"));
    }
    for only in entity.unique.difference(&live.unique) {
        out.push(format!("{table}: unique {only:?} only in the entity"));
    }
    for only in live.foreign_keys.difference(&entity.foreign_keys) {
        out.push(format!(
            "{table}: foreign key {only:?} only in the migrations"
        ));
    }
    for only in entity.foreign_keys.difference(&live.foreign_keys) {
        out.push(format!("{table}: foreign key {only:?} only in the entity"));
    }
    out
}

#[tokio::test]
async fn every_table_has_an_entity_and_every_entity_matches_its_table() {
    let (db, _url) = common::migrated_db().await;
    let live = live_shapes(&db).await;
    let declared = all_entity_shapes();

    let live_tables: BTreeSet<_> = live.keys().cloned().collect();
    let entity_tables: BTreeSet<_> = declared.keys().cloned().collect();
    assert_eq!(
        live_tables, entity_tables,
        "tables in `public` (left) differ from the entities (right)"
    );

    let mismatches: Vec<String> = declared
        .iter()
        .flat_map(|(table, entity)| differences(table, &live[table], entity))
        .collect();
    assert!(
        mismatches.is_empty(),
        "migrations and entities disagree:\n{}",
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn every_enum_type_matches_its_active_enum() {
    let (db, _url) = common::migrated_db().await;
    assert_eq!(live_enums(&db).await, entity_enums());
}

#[tokio::test]
async fn the_embedding_is_a_1536_dimension_vector_with_an_hnsw_cosine_index() {
    let (db, _url) = common::migrated_db().await;
    let row = rows(
        &db,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'document_chunk_embedding_idx'",
    )
    .await
    .pop()
    .expect("document_chunk_embedding_idx exists");
    let definition: String = row.try_get("", "indexdef").unwrap();
    assert!(
        definition.contains("USING hnsw (embedding vector_cosine_ops)"),
        "{definition}"
    );
    assert_eq!(
        app_db::document_chunk::EMBEDDING_DIMENSION,
        1536,
        "the constant must follow the column"
    );
}
