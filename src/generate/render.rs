//! drizzle-kit 0.31's SQL text for each kind of statement, from the
//! [`Schema`](super::model::Schema) model. Pure.
//!
//! Forms follow drizzle-kit's `sqlgenerator.ts` converters: quoted identifiers, native type
//! names unquoted, enum types quoted, `"public"."t"` in `REFERENCES`, `USING btree` on every
//! index, one `ALTER TABLE` per change.

use std::collections::BTreeMap;

use super::model::{Check, Column, ForeignKey, Index, PrimaryKey, Table, Unique};
use crate::sql::quote_ident;

/// drizzle's separator between two statements of a migration file.
pub const BREAKPOINT: &str = "--> statement-breakpoint\n";

/// The migration file's text: statements joined by drizzle's breakpoint marker.
pub fn file_text(statements: &[String]) -> String {
    statements.join(BREAKPOINT)
}

/// `"a","b"` (drizzle writes column lists without spaces).
fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// `"public"."name"`, how drizzle names a type in `CREATE TYPE`, `ALTER TYPE` and casts.
pub fn qualified_type(name: &str) -> String {
    format!("\"public\".{}", quote_ident(name))
}

/// An enum column's type in casts and `SET DATA TYPE`: `"public"."e"`, with the `[]` of an
/// `enum[]` column's `type_sql` (drizzle-kit's form).
pub fn qualified_enum_type(name: &str, type_sql: &str) -> String {
    let (_, dims) = super::casts::base_type(type_sql);
    format!("{}{}", qualified_type(name), "[]".repeat(dims))
}

/// The type as drizzle writes it: `timestamp` for `timestamp without time zone`, `varchar(n)`
/// for `character varying(n)`, `serial`/`bigserial` for an integer whose default is its own
/// sequence, enum types quoted.
pub fn column_type(column: &Column, enums: &BTreeMap<String, Vec<String>>) -> String {
    if is_serial(column) {
        match column.type_sql.as_str() {
            "bigint" => return "bigserial".into(),
            "smallint" => return "smallserial".into(),
            "integer" => return "serial".into(),
            _ => {}
        }
    }
    plain_type(&column.type_sql, enums)
}

/// [`column_type`] without the serial shorthand.
pub fn plain_type(type_sql: &str, enums: &BTreeMap<String, Vec<String>>) -> String {
    let (base, array) = match type_sql.strip_suffix("[]") {
        Some(base) => (base, "[]"),
        None => (type_sql, ""),
    };
    let base = if enums.contains_key(base) {
        quote_ident(base)
    } else if let Some(rest) = base.strip_prefix("character varying") {
        format!("varchar{rest}")
    } else if let Some(rest) = base.strip_prefix("character") {
        format!("char{rest}")
    } else if let Some(rest) = base.strip_suffix(" without time zone") {
        rest.to_string()
    } else {
        base.to_string()
    };
    format!("{base}{array}")
}

/// An integer column whose default draws from a sequence: drizzle's `serial` family.
fn is_serial(column: &Column) -> bool {
    column
        .default
        .as_deref()
        .is_some_and(|d| d.starts_with("nextval(") && d.ends_with("::regclass)"))
}

/// The default as drizzle writes it: a string literal loses the cast PostgreSQL adds
/// (`'member'::text` → `'member'`), except for json and jsonb (`'{}'::jsonb` stays).
pub fn column_default(column: &Column) -> Option<String> {
    if is_serial(column) {
        return None;
    }
    let default = column.default.as_deref()?;
    Some(strip_literal_cast(default))
}

fn strip_literal_cast(default: &str) -> String {
    if let Some((literal, cast)) = default.rsplit_once("::")
        && literal.len() >= 2
        && literal.starts_with('\'')
        && literal.ends_with('\'')
        && !literal[1..literal.len() - 1]
            .replace("''", "")
            .contains('\'')
        && !matches!(cast, "json" | "jsonb")
    {
        return literal.to_string();
    }
    default.to_string()
}

/// `"c" type [PRIMARY KEY] [DEFAULT x] [NOT NULL]`, as in `CREATE TABLE` and `ADD COLUMN`.
pub fn column_definition(
    column: &Column,
    primary_key: bool,
    enums: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut sql = format!(
        "{} {}",
        quote_ident(&column.name),
        column_type(column, enums)
    );
    if primary_key {
        sql.push_str(" PRIMARY KEY");
    }
    if let Some(identity) = &column.identity {
        sql.push_str(&format!(" GENERATED {identity} AS IDENTITY"));
    }
    if let Some(default) = column_default(column) {
        sql.push_str(" DEFAULT ");
        sql.push_str(&default);
    }
    if column.not_null {
        sql.push_str(" NOT NULL");
    }
    sql
}

/// A single-column primary key PostgreSQL named itself (`t_pkey`): drizzle writes it inline.
pub fn inline_primary_key(table: &Table) -> Option<&str> {
    let pk = table.primary_key.as_ref()?;
    (pk.columns.len() == 1 && pk.name == format!("{}_pkey", table.name))
        .then(|| pk.columns[0].as_str())
}

/// `CREATE TABLE "t" (…);` with columns, composite primary key, uniques and checks, each on
/// its own tab-indented line, and the trailing newline drizzle leaves after `);`.
pub fn create_table(table: &Table, enums: &BTreeMap<String, Vec<String>>) -> String {
    let inline_pk = inline_primary_key(table);
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| column_definition(c, inline_pk == Some(c.name.as_str()), enums))
        .collect();
    if let Some(pk) = &table.primary_key
        && inline_pk.is_none()
    {
        lines.push(format!(
            "CONSTRAINT {} PRIMARY KEY({})",
            quote_ident(&pk.name),
            column_list(&pk.columns)
        ));
    }
    for unique in &table.uniques {
        lines.push(format!(
            "CONSTRAINT {} {}",
            quote_ident(&unique.name),
            unique_body(unique)
        ));
    }
    for check in &table.checks {
        lines.push(format!(
            "CONSTRAINT {} CHECK ({})",
            quote_ident(&check.name),
            check.expression_sql
        ));
    }
    format!(
        "CREATE TABLE {} (\n\t{}\n);\n",
        quote_ident(&table.name),
        lines.join(",\n\t")
    )
}

fn unique_body(unique: &Unique) -> String {
    format!(
        "UNIQUE{}({})",
        if unique.nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        },
        column_list(&unique.columns)
    )
}

/// `ALTER TABLE "t" …;`
fn alter(table: &str, rest: &str) -> String {
    format!("ALTER TABLE {} {rest};", quote_ident(table))
}

/// `ALTER TABLE "t" ADD COLUMN …;`
pub fn add_column(
    table: &str,
    column: &Column,
    primary_key: bool,
    enums: &BTreeMap<String, Vec<String>>,
) -> String {
    alter(
        table,
        &format!(
            "ADD COLUMN {}",
            column_definition(column, primary_key, enums)
        ),
    )
}

/// `ALTER TABLE "t" DROP COLUMN "c";`
pub fn drop_column(table: &str, column: &str) -> String {
    alter(table, &format!("DROP COLUMN {}", quote_ident(column)))
}

/// `ALTER TABLE "t" RENAME COLUMN "a" TO "b";`
pub fn rename_column(table: &str, from: &str, to: &str) -> String {
    alter(
        table,
        &format!("RENAME COLUMN {} TO {}", quote_ident(from), quote_ident(to)),
    )
}

/// `ALTER TABLE "t" ALTER COLUMN "c" <change>;`
pub fn alter_column(table: &str, column: &str, change: &str) -> String {
    alter(
        table,
        &format!("ALTER COLUMN {} {change}", quote_ident(column)),
    )
}

/// `ALTER TABLE "t" ADD CONSTRAINT "n" FOREIGN KEY (…) REFERENCES "public"."r"(…) ON DELETE … ON UPDATE …;`
pub fn add_foreign_key(table: &str, fk: &ForeignKey) -> String {
    alter(
        table,
        &format!(
            "ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES \"public\".{}({}) ON DELETE {} ON UPDATE {}",
            quote_ident(&fk.name),
            column_list(&fk.columns),
            quote_ident(&fk.ref_table),
            column_list(&fk.ref_columns),
            fk.on_delete,
            fk.on_update
        ),
    )
}

/// `ALTER TABLE "t" DROP CONSTRAINT "n";`
pub fn drop_constraint(table: &str, name: &str) -> String {
    alter(table, &format!("DROP CONSTRAINT {}", quote_ident(name)))
}

/// drizzle-kit ends its foreign-key drop with a newline (`…;\n`), unlike other statements.
pub fn drop_foreign_key(table: &str, name: &str) -> String {
    format!("{}\n", drop_constraint(table, name))
}

/// `ALTER TABLE "t" ADD CONSTRAINT "n" UNIQUE(…);`
pub fn add_unique(table: &str, unique: &Unique) -> String {
    alter(
        table,
        &format!(
            "ADD CONSTRAINT {} {}",
            quote_ident(&unique.name),
            unique_body(unique)
        ),
    )
}

/// `ALTER TABLE "t" ADD CONSTRAINT "n" CHECK (…);`
pub fn add_check(table: &str, check: &Check) -> String {
    alter(
        table,
        &format!(
            "ADD CONSTRAINT {} CHECK ({})",
            quote_ident(&check.name),
            check.expression_sql
        ),
    )
}

/// A composite primary key: `ALTER TABLE "t" ADD CONSTRAINT "n" PRIMARY KEY(…);`; a
/// single-column one PostgreSQL names: `ALTER TABLE "t" ADD PRIMARY KEY ("c");`.
pub fn add_primary_key(table: &Table, pk: &PrimaryKey) -> String {
    if pk.columns.len() == 1 && pk.name == format!("{}_pkey", table.name) {
        return alter(
            &table.name,
            &format!("ADD PRIMARY KEY ({})", quote_ident(&pk.columns[0])),
        );
    }
    alter(
        &table.name,
        &format!(
            "ADD CONSTRAINT {} PRIMARY KEY({})",
            quote_ident(&pk.name),
            column_list(&pk.columns)
        ),
    )
}

/// `CREATE [UNIQUE ]INDEX "n" ON "t" USING m (keys)[ WITH (k=v,…)][ WHERE p];` (drizzle-kit
/// writes the storage parameters as `key=value` joined by `,`, in their declared order).
pub fn create_index(table: &str, index: &Index) -> String {
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} USING {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        quote_ident(&index.name),
        quote_ident(table),
        index.method,
        index.keys_sql
    );
    if !index.with.is_empty() {
        let params: Vec<String> = index.with.iter().map(|(k, v)| format!("{k}={v}")).collect();
        sql.push_str(&format!(" WITH ({})", params.join(",")));
    }
    if let Some(predicate) = &index.predicate_sql {
        sql.push_str(" WHERE ");
        sql.push_str(predicate);
    }
    sql.push(';');
    sql
}

/// `CREATE [UNIQUE ]INDEX CONCURRENTLY IF NOT EXISTS "n" ON "t" USING m (keys)[ WHERE p];`,
/// the `generate --safe` form of [`create_index`].
pub fn create_index_concurrently(table: &str, index: &Index) -> String {
    create_index(table, index).replacen(" INDEX ", " INDEX CONCURRENTLY IF NOT EXISTS ", 1)
}

/// `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "n" ON "t" USING btree (…)[ NULLS NOT
/// DISTINCT];`: the index a unique constraint is then added with (`generate --safe`).
pub fn create_unique_index_concurrently(table: &str, unique: &Unique) -> String {
    format!(
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING btree ({}){};",
        quote_ident(&unique.name),
        quote_ident(table),
        column_list(&unique.columns),
        if unique.nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        }
    )
}

/// `DROP INDEX CONCURRENTLY IF EXISTS "n";`: clears what a failed concurrent build left (an
/// INVALID index, which `IF NOT EXISTS` would keep).
pub fn drop_index_concurrently(name: &str) -> String {
    format!("DROP INDEX CONCURRENTLY IF EXISTS {};", quote_ident(name))
}

/// `ALTER TABLE "t" ADD CONSTRAINT "n" UNIQUE USING INDEX "n";`
pub fn add_unique_using_index(table: &str, name: &str) -> String {
    alter(
        table,
        &format!(
            "ADD CONSTRAINT {} UNIQUE USING INDEX {}",
            quote_ident(name),
            quote_ident(name)
        ),
    )
}

/// An `ADD CONSTRAINT …;` statement with `NOT VALID` before its semicolon.
pub fn not_valid(add_constraint: &str) -> String {
    format!(
        "{} NOT VALID;",
        add_constraint.trim_end().trim_end_matches(';')
    )
}

/// `ALTER TABLE "t" VALIDATE CONSTRAINT "n";`
pub fn validate_constraint(table: &str, name: &str) -> String {
    alter(table, &format!("VALIDATE CONSTRAINT {}", quote_ident(name)))
}

/// `ALTER TABLE "t" ADD CONSTRAINT "n" CHECK ("c" IS NOT NULL) NOT VALID;`
pub fn add_not_null_check(table: &str, name: &str, column: &str) -> String {
    alter(
        table,
        &format!(
            "ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID",
            quote_ident(name),
            quote_ident(column)
        ),
    )
}

/// `DROP INDEX "n";`
pub fn drop_index(name: &str) -> String {
    format!("DROP INDEX {};", quote_ident(name))
}

/// `CREATE TYPE "public"."e" AS ENUM('a', 'b');`
pub fn create_enum(name: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
    format!(
        "CREATE TYPE {} AS ENUM({});",
        qualified_type(name),
        values.join(", ")
    )
}

/// `ALTER TYPE "public"."e" ADD VALUE 'v'[ BEFORE 'w'];`
pub fn add_enum_value(name: &str, value: &str, before: Option<&str>) -> String {
    let mut sql = format!(
        "ALTER TYPE {} ADD VALUE {}",
        qualified_type(name),
        quote_literal(value)
    );
    if let Some(before) = before {
        sql.push_str(" BEFORE ");
        sql.push_str(&quote_literal(before));
    }
    sql.push(';');
    sql
}

/// `DROP TYPE "public"."e";`
pub fn drop_enum(name: &str) -> String {
    format!("DROP TYPE {};", qualified_type(name))
}

/// `DROP TABLE "t" CASCADE;`
pub fn drop_table(name: &str) -> String {
    format!("DROP TABLE {} CASCADE;", quote_ident(name))
}

/// `CREATE EXTENSION IF NOT EXISTS "e";` (drizzle-kit never writes extensions).
pub fn create_extension(name: &str) -> String {
    format!("CREATE EXTENSION IF NOT EXISTS {};", quote_ident(name))
}

/// `ALTER TABLE "t" ALTER COLUMN "c" SET STORAGE PLAIN;` (drizzle-kit has no storage option).
pub fn set_storage(table: &str, column: &str, plain: bool) -> String {
    alter_column(
        table,
        column,
        if plain {
            "SET STORAGE PLAIN"
        } else {
            "SET STORAGE DEFAULT"
        },
    )
}

/// `'it''s'`.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str, not_null: bool, default: Option<&str>) -> Column {
        Column {
            name: name.into(),
            type_sql: ty.into(),
            not_null,
            default: default.map(Into::into),
            ..Column::default()
        }
    }

    #[test]
    fn types_are_written_as_drizzle_writes_them() {
        let enums: BTreeMap<String, Vec<String>> = [("status".to_string(), vec![])].into();
        for (catalog, drizzle) in [
            ("timestamp without time zone", "timestamp"),
            ("timestamp(3) without time zone", "timestamp(3)"),
            ("timestamp with time zone", "timestamp with time zone"),
            ("character varying(255)", "varchar(255)"),
            ("character(2)", "char(2)"),
            ("vector(1536)", "vector(1536)"),
            ("status", "\"status\""),
            ("text[]", "text[]"),
        ] {
            assert_eq!(plain_type(catalog, &enums), drizzle, "{catalog}");
        }
        let serial = col("id", "bigint", true, Some("nextval('t_id_seq'::regclass)"));
        assert_eq!(column_type(&serial, &enums), "bigserial");
        assert_eq!(column_default(&serial), None);
    }

    #[test]
    fn defaults_lose_the_cast_of_a_string_literal_but_not_of_json() {
        for (catalog, drizzle) in [
            ("'member'::text", "'member'"),
            ("'pending'::document_source_status", "'pending'"),
            ("'it''s'::text", "'it''s'"),
            ("'{}'::jsonb", "'{}'::jsonb"),
            ("now()", "now()"),
            ("false", "false"),
        ] {
            let c = col("c", "text", false, Some(catalog));
            assert_eq!(column_default(&c).as_deref(), Some(drizzle), "{catalog}");
        }
    }

    #[test]
    fn create_table_matches_drizzle_kit() {
        let table = Table {
            name: "t".into(),
            columns: vec![
                col("id", "uuid", true, Some("gen_random_uuid()")),
                col("n", "integer", true, Some("0")),
                col("e", "text", false, None),
            ],
            primary_key: Some(PrimaryKey {
                name: "t_pkey".into(),
                columns: vec!["id".into()],
            }),
            uniques: vec![Unique {
                name: "t_e_unique".into(),
                columns: vec!["e".into()],
                nulls_not_distinct: false,
            }],
            checks: vec![Check {
                name: "t_n_check".into(),
                definition: String::new(),
                expression_sql: "\"t\".\"n\" >= 0".into(),
            }],
            ..Table::default()
        };
        assert_eq!(
            create_table(&table, &BTreeMap::new()),
            "CREATE TABLE \"t\" (\n\t\"id\" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,\n\t\"n\" integer DEFAULT 0 NOT NULL,\n\t\"e\" text,\n\tCONSTRAINT \"t_e_unique\" UNIQUE(\"e\"),\n\tCONSTRAINT \"t_n_check\" CHECK (\"t\".\"n\" >= 0)\n);\n"
        );
    }

    #[test]
    fn statements_match_drizzle_kit() {
        let fk = ForeignKey {
            name: "s_user_id_user_id_fk".into(),
            columns: vec!["user_id".into()],
            ref_table: "user".into(),
            ref_columns: vec!["id".into()],
            on_delete: "cascade".into(),
            on_update: "no action".into(),
        };
        assert_eq!(
            add_foreign_key("s", &fk),
            "ALTER TABLE \"s\" ADD CONSTRAINT \"s_user_id_user_id_fk\" FOREIGN KEY (\"user_id\") REFERENCES \"public\".\"user\"(\"id\") ON DELETE cascade ON UPDATE no action;"
        );
        assert_eq!(
            create_enum("e", &["a".into(), "b".into()]),
            "CREATE TYPE \"public\".\"e\" AS ENUM('a', 'b');"
        );
        assert_eq!(
            add_enum_value("e", "c", Some("a")),
            "ALTER TYPE \"public\".\"e\" ADD VALUE 'c' BEFORE 'a';"
        );
        let index = Index {
            name: "t_c_index".into(),
            method: "btree".into(),
            keys_sql: "\"c\"".into(),
            ..Index::default()
        };
        assert_eq!(
            create_index("t", &index),
            "CREATE INDEX \"t_c_index\" ON \"t\" USING btree (\"c\");"
        );
        // drizzle-kit 0.31.11: `.with({ m: 32, ef_construction: 128 }).where(…)`.
        let hnsw = Index {
            name: "d_e_idx".into(),
            method: "hnsw".into(),
            keys_sql: "\"embedding\" vector_cosine_ops".into(),
            with: vec![
                ("m".into(), "32".into()),
                ("ef_construction".into(), "128".into()),
            ],
            predicate_sql: Some("\"d\".\"body\" <> ''".into()),
            ..Index::default()
        };
        assert_eq!(
            create_index("d", &hnsw),
            "CREATE INDEX \"d_e_idx\" ON \"d\" USING hnsw (\"embedding\" vector_cosine_ops) \
             WITH (m=32,ef_construction=128) WHERE \"d\".\"body\" <> '';"
        );
        assert_eq!(
            file_text(&["A;".into(), "B;".into()]),
            "A;--> statement-breakpoint\nB;"
        );
    }
}
