//! Reads the [`Schema`] model of the `public` schema from a database's catalogs.

use sqlx::{PgConnection, Row};

use super::model::{
    Check, Column, ForeignKey, Index, IndexKey, Policy, PrimaryKey, Schema, Sequence, Table, Unique,
};
use crate::sql::quote_ident;

/// Only `public` is modelled: drizzle-kit's default schema, and the only one the app uses.
const SCHEMA: &str = "public";

/// `and <alias>.oid is not a member of an extension` (pgvector's objects are not the app's).
fn not_extension_member(class: &str, oid: &str) -> String {
    format!(
        "not exists (select 1 from pg_depend d where d.classid = '{class}'::regclass \
         and d.objid = {oid} and d.deptype = 'e')"
    )
}

/// Reads the model of the `public` schema.
pub async fn read_schema(conn: &mut PgConnection) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::default();
    let rows = sqlx::query("select extname::text from pg_extension where extname <> 'plpgsql'")
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        schema.extensions.insert(row.try_get(0)?);
    }
    let enums = format!(
        "select t.typname::text, array_agg(e.enumlabel::text order by e.enumsortorder) \
         from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_enum e on e.enumtypid = t.oid \
         where n.nspname = $1 and {} group by t.typname",
        not_extension_member("pg_type", "t.oid")
    );
    for row in query(conn, enums).await? {
        schema.enums.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let rel_not_ext = not_extension_member("pg_class", "c.oid");
    let tables = format!(
        "select c.relname::text, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition and {rel_not_ext}"
    );
    for row in query(conn, tables).await? {
        let name: String = row.try_get(0)?;
        schema.tables.insert(
            name.clone(),
            Table {
                name,
                row_level_security: row.try_get(1)?,
                ..Table::default()
            },
        );
    }
    // pg_attrdef holds a generated column's expression too (attgenerated = 's'): that is not a
    // default. An enum array's element type is the enum (typelem).
    let columns = format!(
        "select c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
           case when a.attgenerated = '' then pg_get_expr(ad.adbin, ad.adrelid) end, \
           a.attstorage = 'p' and t.typstorage <> 'p', \
           col_description(c.oid, a.attnum), \
           case a.attidentity when 'a' then 'ALWAYS' when 'd' then 'BY DEFAULT' end, \
           case when t.typtype = 'e' then t.typname::text when et.typtype = 'e' then et.typname::text end, \
           case when a.attgenerated <> '' then pg_get_expr(ad.adbin, ad.adrelid) end \
         from pg_attribute a join pg_class c on c.oid = a.attrelid \
         join pg_namespace n on n.oid = c.relnamespace join pg_type t on t.oid = a.atttypid \
         left join pg_type et on et.oid = t.typelem and t.typcategory = 'A' \
         left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum \
         where n.nspname = $1 and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped \
           and {rel_not_ext} order by c.relname, a.attnum"
    );
    for row in query(conn, columns).await? {
        let table: String = row.try_get(0)?;
        if let Some(t) = schema.tables.get_mut(&table) {
            t.columns.push(Column {
                name: row.try_get(1)?,
                type_sql: row.try_get(2)?,
                not_null: row.try_get(3)?,
                default: row.try_get(4)?,
                storage_plain: row.try_get(5)?,
                renamed_from: renamed_from(row.try_get::<Option<String>, _>(6)?.as_deref()),
                identity: row.try_get(7)?,
                uses_enum: row.try_get(8)?,
                generated: row.try_get(9)?,
            });
        }
    }
    let constraints = format!(
        "select c.relname::text, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid, true), \
           array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord) \
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord), \
           rc.relname::text, \
           array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord) \
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord), \
           con.confdeltype::text, con.confupdtype::text \
         from pg_constraint con join pg_class c on c.oid = con.conrelid \
         join pg_namespace n on n.oid = c.relnamespace left join pg_class rc on rc.oid = con.confrelid \
         where n.nspname = $1 and {rel_not_ext} order by c.relname, con.conname"
    );
    for row in query(conn, constraints).await? {
        let table: String = row.try_get(0)?;
        let Some(t) = schema.tables.get_mut(&table) else {
            continue;
        };
        let name: String = row.try_get(1)?;
        let kind: String = row.try_get(2)?;
        let definition: String = row.try_get(3)?;
        let columns: Vec<String> = row.try_get(4)?;
        match kind.as_str() {
            "p" => t.primary_key = Some(PrimaryKey { name, columns }),
            "u" => t.uniques.push(Unique {
                name,
                columns,
                nulls_not_distinct: definition.contains("NULLS NOT DISTINCT"),
            }),
            "f" => t.foreign_keys.push(ForeignKey {
                name,
                columns,
                ref_table: row.try_get::<Option<String>, _>(5)?.unwrap_or_default(),
                ref_columns: row.try_get(6)?,
                on_delete: action(&row.try_get::<String, _>(7)?),
                on_update: action(&row.try_get::<String, _>(8)?),
            }),
            "c" => t.checks.push(Check {
                name,
                expression_sql: check_expression(&definition),
                definition,
            }),
            _ => {}
        }
    }
    let indexes = format!(
        "select c.relname::text, ic.relname::text, i.indisunique, am.amname::text, \
           array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts) k order by k), \
           pg_get_expr(i.indpred, i.indrelid, true), \
           array(select k from unnest(i.indkey::int2[]) with ordinality u(k, o) order by u.o), \
           array(select f from unnest(i.indoption::int2[]) with ordinality u(f, o) order by u.o), \
           array(select coalesce(a.attname::text, '') from unnest(i.indkey::int2[]) with ordinality u(k, o) \
             left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = u.k order by u.o), \
           array(select case when opc.opcdefault then '' else opc.opcname::text end \
             from unnest(i.indclass::oid[]) with ordinality u(oid, o) join pg_opclass opc on opc.oid = u.oid order by u.o), \
           coalesce(ic.reloptions, '{{}}'::text[]) \
         from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam \
         join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = $1 and {rel_not_ext} \
           and not exists (select 1 from pg_constraint con where con.conindid = i.indexrelid and con.conrelid = i.indrelid) \
         order by c.relname, ic.relname"
    );
    for row in query(conn, indexes).await? {
        let table: String = row.try_get(0)?;
        let Some(t) = schema.tables.get_mut(&table) else {
            continue;
        };
        let keys: Vec<String> = row.try_get(4)?;
        let predicate: Option<String> = row.try_get(5)?;
        let keys_sql = keys_sql(t, &keys);
        let key_parts = key_parts(
            &keys,
            &row.try_get::<Vec<i16>, _>(6)?,
            &row.try_get::<Vec<i16>, _>(7)?,
            &row.try_get::<Vec<String>, _>(8)?,
            &row.try_get::<Vec<String>, _>(9)?,
        );
        let with = row
            .try_get::<Vec<String>, _>(10)?
            .iter()
            .filter_map(|option| option.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        t.indexes.push(Index {
            key_parts,
            with,
            name: row.try_get(1)?,
            unique: row.try_get(2)?,
            method: row.try_get(3)?,
            keys,
            predicate_sql: predicate.clone(),
            predicate,
            keys_sql,
        });
    }
    let sequences = format!(
        "select c.relname::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text, \
           s.seqstart::text, s.seqcache::text, s.seqcycle \
         from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = $1 and {rel_not_ext} \
           and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')) \
         order by c.relname"
    );
    for row in query(conn, sequences).await? {
        schema.sequences.push(Sequence {
            name: row.try_get(0)?,
            increment: row.try_get(1)?,
            min: row.try_get(2)?,
            max: row.try_get(3)?,
            start: row.try_get(4)?,
            cache: row.try_get(5)?,
            cycle: row.try_get(6)?,
        });
    }
    let policies = format!(
        "select c.relname::text, p.polname::text, p.polpermissive, p.polcmd::text, \
           array(select case when r = 0 then 'public' else pg_get_userbyid(r)::text end from unnest(p.polroles) r), \
           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) \
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = $1 and {rel_not_ext} order by c.relname, p.polname"
    );
    for row in query(conn, policies).await? {
        let table: String = row.try_get(0)?;
        let Some(t) = schema.tables.get_mut(&table) else {
            continue;
        };
        let command = match row.try_get::<String, _>(3)?.as_str() {
            "r" => "SELECT",
            "a" => "INSERT",
            "w" => "UPDATE",
            "d" => "DELETE",
            _ => "ALL",
        };
        t.policies.push(Policy {
            name: row.try_get(1)?,
            permissive: row.try_get(2)?,
            command: command.into(),
            roles: row.try_get(4)?,
            using: row.try_get(5)?,
            with_check: row.try_get(6)?,
        });
    }
    Ok(schema)
}

/// An index's keys in parts: `indkey` (0 for an expression), `indoption` (bit 1 DESC, bit 2
/// NULLS FIRST), the columns' names and the non-default operator classes, per key.
fn key_parts(
    printed: &[String],
    attnums: &[i16],
    flags: &[i16],
    names: &[String],
    opclasses: &[String],
) -> Vec<IndexKey> {
    printed
        .iter()
        .enumerate()
        .map(|(i, printed)| {
            let is_expression = attnums.get(i).is_none_or(|n| *n == 0);
            let flag = flags.get(i).copied().unwrap_or(0);
            let name = names.get(i).filter(|n| !n.is_empty());
            IndexKey {
                expression: match (is_expression, name) {
                    (false, Some(name)) => name.clone(),
                    _ => printed.clone(),
                },
                is_expression,
                descending: flag & 1 != 0,
                nulls_first: flag & 2 != 0,
                opclass: opclasses.get(i).filter(|o| !o.is_empty()).cloned(),
            }
        })
        .collect()
}

async fn query(
    conn: &mut PgConnection,
    sql: String,
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .bind(SCHEMA)
        .fetch_all(&mut *conn)
        .await
}

/// `pg_constraint.confdeltype` → drizzle's spelling of the action.
fn action(code: &str) -> String {
    match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    }
    .to_string()
}

/// SeaORM records `renamed_from = "old"` in the column's comment as `renamed_from "old"`.
fn renamed_from(comment: Option<&str>) -> Option<String> {
    let (_, rest) = comment?.rsplit_once("renamed_from \"")?;
    let (old, _) = rest.split_once('"')?;
    Some(old.to_string())
}

/// `CHECK (seats >= 1)` → `seats >= 1`.
fn check_expression(definition: &str) -> String {
    let inner = definition.strip_prefix("CHECK ").unwrap_or(definition);
    let inner = inner.strip_suffix(" NOT VALID").unwrap_or(inner);
    match inner.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        Some(s) => s.to_string(),
        None => inner.to_string(),
    }
}

/// The key list as a migration writes it: a key that starts with a column's name gets it
/// quoted (`vote_score DESC` → `"vote_score" DESC`); keys are joined with `,` as drizzle does.
fn keys_sql(table: &Table, keys: &[String]) -> String {
    keys.iter()
        .map(|key| {
            let (first, rest) = key.split_once(' ').unwrap_or((key.as_str(), ""));
            if table.column(first).is_some() {
                let quoted = quote_ident(first);
                if rest.is_empty() {
                    quoted
                } else {
                    format!("{quoted} {rest}")
                }
            } else {
                key.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_expressions_lose_the_keyword_and_parentheses() {
        assert_eq!(check_expression("CHECK (seats >= 1)"), "seats >= 1");
        assert_eq!(
            check_expression("CHECK (a > 0 AND (b < 1)) NOT VALID"),
            "a > 0 AND (b < 1)"
        );
    }

    #[test]
    fn renames_come_from_seaorm_comments() {
        assert_eq!(
            renamed_from(Some("renamed_from \"old\"")).as_deref(),
            Some("old")
        );
        assert_eq!(
            renamed_from(Some("a note; renamed_from \"x\"")).as_deref(),
            Some("x")
        );
        assert_eq!(renamed_from(Some("a note")), None);
        assert_eq!(renamed_from(None), None);
    }

    #[test]
    fn index_keys_quote_column_names() {
        let table = Table {
            columns: vec![
                Column {
                    name: "vote_score".into(),
                    ..Column::default()
                },
                Column {
                    name: "status".into(),
                    ..Column::default()
                },
            ],
            ..Table::default()
        };
        assert_eq!(
            keys_sql(
                &table,
                &["status".into(), "vote_score DESC".into(), "lower(x)".into()]
            ),
            "\"status\",\"vote_score\" DESC,lower(x)"
        );
    }
}
