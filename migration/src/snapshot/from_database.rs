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
//! Self-contained (app-db's error, sqlx and serde_json only) so that the CLI's tests can
//! include it with `#[path]`.

use app_db::Error;
use serde_json::{Map, Value, json};
use sqlx::Row;

/// The snapshot of the tables, enums and sequences of `schema` in the database behind `conn`,
/// with an empty `id` and `prevId` (`write_snapshot` chains it).
pub async fn snapshot_from_database(
    conn: &mut sqlx::PgConnection,
    schema: &str,
) -> Result<Value, Error> {
    let enums = enums(conn, schema).await?;
    let tables = tables(conn, schema).await?;
    let sequences = sequences(conn, schema).await?;
    let mut schemas = Map::new();
    if schema != "public" {
        schemas.insert(schema.into(), json!(schema));
    }
    let mut snapshot = Map::new();
    for (key, value) in [
        ("id", json!("")),
        ("prevId", json!("")),
        ("version", json!("7")),
        ("dialect", json!("postgresql")),
        ("tables", Value::Object(tables)),
        ("enums", Value::Object(enums)),
        ("schemas", Value::Object(schemas)),
        ("sequences", Value::Object(sequences)),
        ("roles", json!({})),
        ("policies", json!({})),
        ("views", json!({})),
        ("_meta", json!({"columns": {}, "schemas": {}, "tables": {}})),
    ] {
        snapshot.insert(key.into(), value);
    }
    Ok(Value::Object(snapshot))
}

/// drizzle-kit writes the `public` schema of a table as `""`.
fn table_schema(schema: &str) -> &str {
    if schema == "public" { "" } else { schema }
}

async fn enums(conn: &mut sqlx::PgConnection, schema: &str) -> Result<Map<String, Value>, Error> {
    let rows = sqlx::query(
        "select t.typname::text as name, array_agg(e.enumlabel::text order by e.enumsortorder) as labels
         from pg_type t
         join pg_enum e on e.enumtypid = t.oid
         join pg_namespace n on n.oid = t.typnamespace
         where n.nspname = $1
         group by t.typname
         order by t.typname",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Map::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        let labels: Vec<String> = row.try_get("labels")?;
        out.insert(
            format!("{schema}.{name}"),
            json!({"name": name, "schema": schema, "values": labels}),
        );
    }
    Ok(out)
}

/// Sequences not owned by a column (a serial's or identity's sequence is part of the column).
async fn sequences(
    conn: &mut sqlx::PgConnection,
    schema: &str,
) -> Result<Map<String, Value>, Error> {
    let rows = sqlx::query(
        "select c.relname::text as name, s.seqincrement::text as increment, s.seqmin::text as min,
                s.seqmax::text as max, s.seqstart::text as start, s.seqcache::text as cache,
                s.seqcycle as cycle
         from pg_sequence s
         join pg_class c on c.oid = s.seqrelid
         join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1
           and not exists (select 1 from pg_depend d
                           where d.objid = c.oid and d.deptype in ('a', 'i'))
         order by c.relname",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Map::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        let mut seq = Map::new();
        seq.insert("name".into(), json!(name));
        for (key, column) in [
            ("increment", "increment"),
            ("minValue", "min"),
            ("maxValue", "max"),
            ("startWith", "start"),
            ("cache", "cache"),
        ] {
            seq.insert(key.into(), json!(row.try_get::<String, _>(column)?));
        }
        seq.insert("cycle".into(), json!(row.try_get::<bool, _>("cycle")?));
        seq.insert("schema".into(), json!(schema));
        out.insert(format!("{schema}.{name}"), Value::Object(seq));
    }
    Ok(out)
}

async fn tables(conn: &mut sqlx::PgConnection, schema: &str) -> Result<Map<String, Value>, Error> {
    let rows = sqlx::query(
        "select c.oid::bigint as oid, c.relname::text as name, c.relrowsecurity as rls
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition
         order by c.relname",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Map::new();
    for row in rows {
        let oid: i64 = row.try_get("oid")?;
        let name: String = row.try_get("name")?;
        let rls: bool = row.try_get("rls")?;
        let constraints = Constraints::read(conn, oid, &name).await?;
        let mut columns = columns(conn, oid).await?;
        if let Some(column) = constraints
            .column_primary_key
            .as_ref()
            .and_then(|pk| columns.get_mut(pk))
            .and_then(Value::as_object_mut)
        {
            column.insert("primaryKey".into(), json!(true));
        }
        let indexes = indexes(conn, oid).await?;
        let policies = policies(conn, oid).await?;
        let mut table = Map::new();
        table.insert("name".into(), json!(name));
        table.insert("schema".into(), json!(table_schema(schema)));
        table.insert("columns".into(), Value::Object(columns));
        table.insert("indexes".into(), Value::Object(indexes));
        table.insert(
            "foreignKeys".into(),
            Value::Object(constraints.foreign_keys),
        );
        table.insert(
            "compositePrimaryKeys".into(),
            Value::Object(constraints.composite_primary_keys),
        );
        table.insert(
            "uniqueConstraints".into(),
            Value::Object(constraints.unique),
        );
        table.insert("policies".into(), Value::Object(policies));
        table.insert("checkConstraints".into(), Value::Object(constraints.checks));
        table.insert("isRLSEnabled".into(), json!(rls));
        out.insert(format!("{schema}.{name}"), Value::Object(table));
    }
    Ok(out)
}

async fn columns(conn: &mut sqlx::PgConnection, table: i64) -> Result<Map<String, Value>, Error> {
    let rows = sqlx::query(
        "select a.attname::text as name, format_type(a.atttypid, a.atttypmod) as type,
                a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default,
                t.typtype::text as kind, t.typname::text as type_name, tn.nspname::text as type_schema
         from pg_attribute a
         join pg_type t on t.oid = a.atttypid
         join pg_namespace tn on tn.oid = t.typnamespace
         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where a.attrelid = $1::bigint::oid and a.attnum > 0 and not a.attisdropped
         order by a.attnum",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Map::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        let pg_type: String = row.try_get("type")?;
        let default: Option<String> = row.try_get("default")?;
        let is_enum = row.try_get::<String, _>("kind")? == "e";
        let (ty, default) = if is_enum {
            (row.try_get::<String, _>("type_name")?, default)
        } else {
            drizzle_type(&pg_type, default)
        };
        let mut column = Map::new();
        column.insert("name".into(), json!(name));
        column.insert("type".into(), json!(ty));
        if is_enum {
            column.insert(
                "typeSchema".into(),
                json!(row.try_get::<String, _>("type_schema")?),
            );
        }
        column.insert("primaryKey".into(), json!(false));
        column.insert("notNull".into(), json!(row.try_get::<bool, _>("not_null")?));
        if let Some(default) = default {
            column.insert("default".into(), drizzle_default(&ty, &default));
        }
        out.insert(name, Value::Object(column));
    }
    Ok(out)
}

/// drizzle's name for PostgreSQL's `format_type` text, and the default left once a serial's
/// `nextval(...)` is folded into its type.
fn drizzle_type(pg: &str, default: Option<String>) -> (String, Option<String>) {
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
fn drizzle_default(ty: &str, default: &str) -> Value {
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

/// A table's constraints, in drizzle's snapshot form.
struct Constraints {
    /// The column of a single-column primary key named `<table>_pkey` (drizzle's
    /// `.primaryKey()`); any other primary key is composite.
    column_primary_key: Option<String>,
    composite_primary_keys: Map<String, Value>,
    foreign_keys: Map<String, Value>,
    unique: Map<String, Value>,
    checks: Map<String, Value>,
}

impl Constraints {
    async fn read(conn: &mut sqlx::PgConnection, table: i64, name: &str) -> Result<Self, Error> {
        let rows = sqlx::query(
            "select con.conname::text as name, con.contype::text as kind,
                    array(select a.attname::text from unnest(con.conkey) with ordinality k(n, o)
                          join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n
                          order by k.o) as columns,
                    ft.relname::text as foreign_table, fn.nspname::text as foreign_schema,
                    array(select a.attname::text from unnest(con.confkey) with ordinality k(n, o)
                          join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n
                          order by k.o) as foreign_columns,
                    con.confupdtype::text as on_update, con.confdeltype::text as on_delete,
                    pg_get_constraintdef(con.oid) as definition,
                    coalesce((select i.indnullsnotdistinct from pg_index i
                              where i.indexrelid = con.conindid), false) as nulls_not_distinct
             from pg_constraint con
             left join pg_class ft on ft.oid = con.confrelid
             left join pg_namespace fn on fn.oid = ft.relnamespace
             where con.conrelid = $1::bigint::oid
             order by con.conname",
        )
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Constraints {
            column_primary_key: None,
            composite_primary_keys: Map::new(),
            foreign_keys: Map::new(),
            unique: Map::new(),
            checks: Map::new(),
        };
        for row in rows {
            let con: String = row.try_get("name")?;
            let columns: Vec<String> = row.try_get("columns")?;
            match row.try_get::<String, _>("kind")?.as_str() {
                "p" if columns.len() == 1 && con == format!("{name}_pkey") => {
                    out.column_primary_key = columns.into_iter().next();
                }
                "p" => {
                    out.composite_primary_keys
                        .insert(con.clone(), json!({"name": con, "columns": columns}));
                }
                "u" => {
                    let nulls: bool = row.try_get("nulls_not_distinct")?;
                    out.unique.insert(
                        con.clone(),
                        json!({"name": con, "nullsNotDistinct": nulls, "columns": columns}),
                    );
                }
                "f" => {
                    let mut fk = Map::new();
                    fk.insert("name".into(), json!(con));
                    fk.insert("tableFrom".into(), json!(name));
                    fk.insert(
                        "tableTo".into(),
                        json!(row.try_get::<Option<String>, _>("foreign_table")?),
                    );
                    let foreign_schema: Option<String> = row.try_get("foreign_schema")?;
                    // drizzle names the referenced schema only when it is not public.
                    if let Some(s) = foreign_schema.filter(|s| s != "public") {
                        fk.insert("schemaTo".into(), json!(s));
                    }
                    fk.insert("columnsFrom".into(), json!(columns));
                    fk.insert(
                        "columnsTo".into(),
                        json!(row.try_get::<Vec<String>, _>("foreign_columns")?),
                    );
                    fk.insert(
                        "onDelete".into(),
                        json!(action(&row.try_get::<String, _>("on_delete")?)),
                    );
                    fk.insert(
                        "onUpdate".into(),
                        json!(action(&row.try_get::<String, _>("on_update")?)),
                    );
                    out.foreign_keys.insert(con, Value::Object(fk));
                }
                "c" => {
                    let definition: String = row.try_get("definition")?;
                    let value = definition
                        .strip_prefix("CHECK (")
                        .and_then(|d| d.strip_suffix(')'))
                        .unwrap_or(&definition)
                        .to_string();
                    out.checks
                        .insert(con.clone(), json!({"name": con, "value": value}));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// drizzle's name for a `pg_constraint.confupdtype` / `confdeltype` code.
fn action(code: &str) -> &'static str {
    match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    }
}

/// The table's indexes that back no constraint (drizzle lists those as constraints).
async fn indexes(conn: &mut sqlx::PgConnection, table: i64) -> Result<Map<String, Value>, Error> {
    let rows = sqlx::query(
        "select ic.relname::text as name, am.amname::text as method, ix.indisunique as is_unique,
                pg_get_expr(ix.indpred, ix.indrelid) as predicate,
                coalesce(ic.reloptions, '{}'::text[]) as options,
                -- int2vector casts keep their zero lower bound; re-collect them from 1.
                array(select k from unnest(ix.indkey::int2[]) with ordinality u(k, o)
                      order by u.o) as keys,
                array(select f from unnest(ix.indoption::int2[]) with ordinality u(f, o)
                      order by u.o) as flags,
                array(select a.attname::text from unnest(ix.indkey::int2[]) with ordinality k(n, o)
                      left join pg_attribute a on a.attrelid = ix.indrelid and a.attnum = k.n
                      order by k.o) as names,
                array(select pg_get_indexdef(ix.indexrelid, g, true)
                      from generate_series(1, ix.indnkeyatts::int) g order by g) as expressions,
                array(select case when opc.opcdefault then '' else opc.opcname::text end
                      from unnest(ix.indclass::oid[]) with ordinality u(oid, o)
                      join pg_opclass opc on opc.oid = u.oid order by u.o) as opclasses
         from pg_index ix
         join pg_class ic on ic.oid = ix.indexrelid
         join pg_am am on am.oid = ic.relam
         where ix.indrelid = $1::bigint::oid
           and not exists (select 1 from pg_constraint con where con.conindid = ix.indexrelid
                           and con.conrelid = ix.indrelid)
         order by ic.relname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Map::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        let keys: Vec<i16> = row.try_get("keys")?;
        let flags: Vec<i16> = row.try_get("flags")?;
        let names: Vec<Option<String>> = row.try_get("names")?;
        let expressions: Vec<String> = row.try_get("expressions")?;
        let opclasses: Vec<String> = row.try_get("opclasses")?;
        let mut columns = Vec::new();
        for (i, expression) in expressions.iter().enumerate() {
            let is_expression = keys.get(i).is_none_or(|k| *k == 0);
            let flag = flags.get(i).copied().unwrap_or(0);
            let mut column = Map::new();
            let text = if is_expression {
                expression.clone()
            } else {
                names
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| expression.clone())
            };
            column.insert("expression".into(), json!(text));
            column.insert("isExpression".into(), json!(is_expression));
            // indoption bit 1: DESC; bit 2: NULLS FIRST.
            column.insert("asc".into(), json!(flag & 1 == 0));
            column.insert(
                "nulls".into(),
                json!(if flag & 2 == 0 { "last" } else { "first" }),
            );
            if let Some(opclass) = opclasses.get(i).filter(|o| !o.is_empty()) {
                column.insert("opclass".into(), json!(opclass));
            }
            columns.push(Value::Object(column));
        }
        let mut with = Map::new();
        for option in row.try_get::<Vec<String>, _>("options")? {
            if let Some((key, value)) = option.split_once('=') {
                let value = value
                    .parse::<i64>()
                    .map_or_else(|_| json!(value), |n| json!(n));
                with.insert(key.to_string(), value);
            }
        }
        let mut index = Map::new();
        index.insert("name".into(), json!(name));
        index.insert("columns".into(), Value::Array(columns));
        index.insert(
            "isUnique".into(),
            json!(row.try_get::<bool, _>("is_unique")?),
        );
        if let Some(predicate) = row.try_get::<Option<String>, _>("predicate")? {
            index.insert("where".into(), json!(predicate));
        }
        index.insert("concurrently".into(), json!(false));
        index.insert("method".into(), json!(row.try_get::<String, _>("method")?));
        index.insert("with".into(), Value::Object(with));
        out.insert(name, Value::Object(index));
    }
    Ok(out)
}

async fn policies(conn: &mut sqlx::PgConnection, table: i64) -> Result<Map<String, Value>, Error> {
    let rows = sqlx::query(
        "select p.polname::text as name, p.polpermissive as permissive, p.polcmd::text as cmd,
                array(select case when r = 0 then 'public' else pg_get_userbyid(r)::text end
                      from unnest(p.polroles) r) as roles,
                pg_get_expr(p.polqual, p.polrelid) as using,
                pg_get_expr(p.polwithcheck, p.polrelid) as with_check
         from pg_policy p where p.polrelid = $1::bigint::oid order by p.polname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Map::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        let permissive: bool = row.try_get("permissive")?;
        let command = match row.try_get::<String, _>("cmd")?.as_str() {
            "r" => "SELECT",
            "a" => "INSERT",
            "w" => "UPDATE",
            "d" => "DELETE",
            _ => "ALL",
        };
        let mut policy = Map::new();
        policy.insert("name".into(), json!(name));
        policy.insert(
            "as".into(),
            json!(if permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            }),
        );
        policy.insert("for".into(), json!(command));
        policy.insert("to".into(), json!(row.try_get::<Vec<String>, _>("roles")?));
        if let Some(using) = row.try_get::<Option<String>, _>("using")? {
            policy.insert("using".into(), json!(using));
        }
        if let Some(check) = row.try_get::<Option<String>, _>("with_check")? {
            policy.insert("withCheck".into(), json!(check));
        }
        out.insert(name, Value::Object(policy));
    }
    Ok(out)
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
