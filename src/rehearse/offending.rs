//! Which rows make a statement fail, when that can be counted: a statement recognised by its
//! shape gives a `select count(*)` over the rows it would reject (NULLs for `SET NOT NULL`,
//! every row for a new `NOT NULL` column without a default, duplicate keys for a unique
//! constraint or index, values the new type cannot hold, keys without a match for a foreign
//! key, rows failing a `CHECK`). Pure; the rehearsal runs the count after the statement failed,
//! in the rehearsal's transaction, so it sees the earlier statements' effects.
//!
//! Shapes are drizzle-kit's and `generate`'s forms and their common hand-written variants, one
//! action per statement; anything else gets no count (`None`), never a wrong one.

use crate::sql::tokens::{Cursor, Token, join, literal, tokenize};

/// A count of the rows a statement rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offending {
    /// What is counted, in words (e.g. `rows where "c" is null`).
    pub what: String,
    /// `select count(*)::int8 …` returning that count.
    pub count_sql: String,
}

/// The count for `statement`'s failure, if its shape is recognised.
pub fn offending_rows(statement: &str) -> Option<Offending> {
    let tokens = tokenize(statement);
    let mut c = Cursor::new(&tokens);
    if c.eat(&["ALTER", "TABLE"]) {
        c.eat(&["IF", "EXISTS"]);
        c.eat(&["ONLY"]);
        let (table, _) = c.name()?;
        return alter_table(&table, &mut c);
    }
    if c.eat(&["CREATE", "UNIQUE", "INDEX"]) {
        return unique_index(&mut c);
    }
    None
}

fn alter_table(table: &str, c: &mut Cursor<'_>) -> Option<Offending> {
    if c.eat(&["ALTER"]) {
        c.eat(&["COLUMN"]);
        let column = c.advance()?;
        column.ident()?;
        let column = column.text();
        if c.eat(&["SET", "NOT", "NULL"]) {
            return c.at_end().then(|| Offending {
                what: format!("rows where {column} is null"),
                count_sql: format!("select count(*)::int8 from {table} where {column} is null"),
            });
        }
        if c.eat(&["SET", "DATA", "TYPE"]) || c.eat(&["TYPE"]) {
            return type_change(table, &column, c);
        }
        return None;
    }
    if c.eat(&["ADD"]) {
        if c.eat(&["CONSTRAINT"]) {
            c.name()?;
            return constraint(table, c);
        }
        if c.peek().is_some_and(|t| t.is("UNIQUE") || t.is("PRIMARY")) {
            return constraint(table, c);
        }
        c.eat(&["COLUMN"]);
        c.eat(&["IF", "NOT", "EXISTS"]);
        let column = c.advance()?;
        column.ident()?;
        return new_column(table, &column.text(), c);
    }
    None
}

/// `ADD COLUMN c type …`: every existing row offends when the column is `NOT NULL` (or a
/// primary key) without a default to fill it.
fn new_column(table: &str, column: &str, c: &mut Cursor<'_>) -> Option<Offending> {
    let rest = c.rest();
    let has = |word: &str| rest.iter().any(|t| t.is(word));
    let not_null = rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("NULL"));
    let primary = rest
        .windows(2)
        .any(|w| w[0].is("PRIMARY") && w[1].is("KEY"));
    if (not_null || primary)
        && !has("DEFAULT")
        && !has("GENERATED")
        && !has("SERIAL")
        && !has("BIGSERIAL")
        && !has("SMALLSERIAL")
    {
        return Some(Offending {
            what: format!(
                "every existing row: the new {column} is NOT NULL and has no default to fill it"
            ),
            count_sql: format!("select count(*)::int8 from {table}"),
        });
    }
    None
}

/// `ALTER COLUMN c [SET DATA] TYPE t [USING c::t]`: rows whose value the new type rejects.
fn type_change(table: &str, column: &str, c: &mut Cursor<'_>) -> Option<Offending> {
    let rest = c.rest();
    let using = rest.iter().position(|t| t.is("USING"));
    let collate = rest.iter().position(|t| t.is("COLLATE"));
    let end = [using, collate]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    let type_tokens = &rest[..end];
    if type_tokens.is_empty() {
        return None;
    }
    let type_text = join(type_tokens);
    if let Some(at) = using {
        // Only the plain cast `USING c::type` is the same conversion as no USING.
        let expression = join(&rest[at + 1..]);
        let plain = format!("{column}::{type_text}");
        if expression.replace(' ', "") != plain.replace(' ', "") {
            return None;
        }
    }
    if type_tokens[0].is("vector") {
        let dims = vector_dims(&type_tokens[1..])?;
        return Some(Offending {
            what: format!("rows whose {column} does not have {dims} dimensions"),
            count_sql: format!(
                "select count(*)::int8 from {table} where {column} is not null and vector_dims({column}) <> {dims}"
            ),
        });
    }
    Some(Offending {
        what: format!(
            "rows whose {column} is not a valid {type_text} (its text, read as {type_text})"
        ),
        count_sql: format!(
            "select count(*)::int8 from {table} where {column} is not null and not pg_input_is_valid({column}::text, {})",
            literal(&type_text)
        ),
    })
}

/// `(N)` after `vector`.
fn vector_dims(tokens: &[&Token]) -> Option<u32> {
    match tokens {
        [open, Token::Number(n), close] if open.is_punct('(') && close.is_punct(')') => {
            n.parse().ok()
        }
        _ => None,
    }
}

/// `[CONSTRAINT n] UNIQUE … | PRIMARY KEY … | FOREIGN KEY … | CHECK …` on an existing table.
fn constraint(table: &str, c: &mut Cursor<'_>) -> Option<Offending> {
    if c.eat(&["UNIQUE"]) {
        let nulls_not_distinct = c.eat(&["NULLS", "NOT", "DISTINCT"]);
        c.eat(&["NULLS", "DISTINCT"]);
        let columns = c.name_list()?;
        if !c.at_end() {
            return None;
        }
        return Some(duplicates(table, &columns, !nulls_not_distinct, None));
    }
    if c.eat(&["PRIMARY", "KEY"]) {
        let columns = c.name_list()?;
        if !c.at_end() {
            return None;
        }
        let dup = duplicates(table, &columns, false, None);
        let nulls = columns
            .iter()
            .map(|col| format!("{col} is null"))
            .collect::<Vec<_>>()
            .join(" or ");
        return Some(Offending {
            what: format!(
                "rows with a NULL in ({}) or whose key another row has too",
                columns.join(", ")
            ),
            count_sql: format!(
                "select ({}) + (select count(*)::int8 from {table} where {nulls})",
                dup.count_sql
            ),
        });
    }
    if c.eat(&["FOREIGN", "KEY"]) {
        let columns = c.name_list()?;
        if !c.eat(&["REFERENCES"]) {
            return None;
        }
        let (parent, _) = c.name()?;
        let parent_columns = c.name_list()?;
        if parent_columns.len() != columns.len() {
            return None;
        }
        if c.rest()
            .windows(2)
            .any(|w| w[0].is("NOT") && w[1].is("VALID"))
        {
            return None;
        }
        let present = columns
            .iter()
            .map(|col| format!("c.{col} is not null"))
            .collect::<Vec<_>>()
            .join(" and ");
        let matches = columns
            .iter()
            .zip(&parent_columns)
            .map(|(col, pcol)| format!("p.{pcol} = c.{col}"))
            .collect::<Vec<_>>()
            .join(" and ");
        return Some(Offending {
            what: format!(
                "rows whose ({}) has no match in {parent}",
                columns.join(", ")
            ),
            count_sql: format!(
                "select count(*)::int8 from {table} c where {present} and not exists (select 1 from {parent} p where {matches})"
            ),
        });
    }
    if c.peek().is_some_and(|t| t.is("CHECK")) {
        c.advance();
        let expression = c.group()?;
        let rest = c.rest();
        if rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("VALID"))
            || rest.iter().any(|t| t.is("NO"))
        {
            return None;
        }
        return Some(Offending {
            what: "rows failing the CHECK".into(),
            count_sql: format!("select count(*)::int8 from {table} where not ({expression})"),
        });
    }
    None
}

/// `CREATE UNIQUE INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] t [USING m] (cols)
/// [INCLUDE (…)] [NULLS [NOT] DISTINCT] [WHERE predicate]`.
fn unique_index(c: &mut Cursor<'_>) -> Option<Offending> {
    c.eat(&["CONCURRENTLY"]);
    c.eat(&["IF", "NOT", "EXISTS"]);
    if !c.peek()?.is("ON") {
        c.name()?;
    }
    if !c.eat(&["ON"]) {
        return None;
    }
    c.eat(&["ONLY"]);
    let (table, _) = c.name()?;
    if c.eat(&["USING"]) {
        c.advance()?;
    }
    let columns = c.name_list()?;
    if c.eat(&["INCLUDE"]) {
        c.name_list()?;
    }
    let nulls_not_distinct = c.eat(&["NULLS", "NOT", "DISTINCT"]);
    c.eat(&["NULLS", "DISTINCT"]);
    let predicate = if c.eat(&["WHERE"]) {
        Some(join(&c.rest()))
    } else {
        None
    };
    if !c.at_end() {
        return None;
    }
    Some(duplicates(
        &table,
        &columns,
        !nulls_not_distinct,
        predicate.as_deref(),
    ))
}

/// Rows whose key another row has too (NULLs never collide unless `NULLS NOT DISTINCT`).
fn duplicates(
    table: &str,
    columns: &[String],
    nulls_distinct: bool,
    predicate: Option<&str>,
) -> Offending {
    let list = columns.join(", ");
    let mut conditions: Vec<String> = Vec::new();
    if nulls_distinct {
        conditions.extend(columns.iter().map(|col| format!("{col} is not null")));
    }
    if let Some(predicate) = predicate {
        conditions.push(format!("({predicate})"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" where {}", conditions.join(" and "))
    };
    Offending {
        what: format!("rows whose ({list}) another row has too"),
        count_sql: format!(
            "select coalesce(sum(n), 0)::int8 from (select count(*) as n from {table}{filter} group by {list} having count(*) > 1) d"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(statement: &str) -> Option<String> {
        offending_rows(statement).map(|o| o.count_sql)
    }

    #[test]
    fn set_not_null_counts_the_nulls() {
        let o = offending_rows("ALTER TABLE \"organization\" ALTER COLUMN \"logo\" SET NOT NULL;")
            .unwrap();
        assert_eq!(o.what, "rows where \"logo\" is null");
        assert_eq!(
            o.count_sql,
            "select count(*)::int8 from \"organization\" where \"logo\" is null"
        );
        assert_eq!(
            count("alter table if exists only public.t alter c set not null"),
            Some("select count(*)::int8 from public.t where c is null".into())
        );
        assert_eq!(count("ALTER TABLE t ALTER COLUMN c DROP NOT NULL"), None);
    }

    #[test]
    fn a_new_not_null_column_without_default_counts_every_row() {
        let table = [
            (
                "ALTER TABLE \"document_chunk\" ADD COLUMN \"language\" text NOT NULL;",
                true,
            ),
            ("ALTER TABLE t ADD c integer PRIMARY KEY", true),
            (
                "ALTER TABLE t ADD COLUMN IF NOT EXISTS c text NOT NULL",
                true,
            ),
            (
                "ALTER TABLE t ADD COLUMN c text DEFAULT 'en' NOT NULL",
                false,
            ),
            ("ALTER TABLE t ADD COLUMN c serial NOT NULL", false),
            (
                "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS IDENTITY NOT NULL",
                false,
            ),
            ("ALTER TABLE t ADD COLUMN c text", false),
        ];
        for (statement, counted) in table {
            let o = offending_rows(statement);
            assert_eq!(o.is_some(), counted, "{statement}");
        }
        assert_eq!(
            count("ALTER TABLE \"document_chunk\" ADD COLUMN \"language\" text NOT NULL;"),
            Some("select count(*)::int8 from \"document_chunk\"".into())
        );
    }

    #[test]
    fn unique_constraints_and_indexes_count_duplicate_keys() {
        assert_eq!(
            count("ALTER TABLE \"organization\" ADD CONSTRAINT \"organization_slug_unique\" UNIQUE(\"slug\");"),
            Some("select coalesce(sum(n), 0)::int8 from (select count(*) as n from \"organization\" where \"slug\" is not null group by \"slug\" having count(*) > 1) d".into())
        );
        assert_eq!(
            count("ALTER TABLE m ADD CONSTRAINT u UNIQUE NULLS NOT DISTINCT (a, b)"),
            Some("select coalesce(sum(n), 0)::int8 from (select count(*) as n from m group by a, b having count(*) > 1) d".into())
        );
        assert_eq!(
            count("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"u\" ON \"t\" USING btree (\"a\",\"b\") WHERE \"deleted_at\" IS NULL;"),
            Some("select coalesce(sum(n), 0)::int8 from (select count(*) as n from \"t\" where \"a\" is not null and \"b\" is not null and (\"deleted_at\" IS NULL) group by \"a\", \"b\" having count(*) > 1) d".into())
        );
        // An expression index: no count.
        assert_eq!(count("CREATE UNIQUE INDEX u ON t (lower(email))"), None);
        let pk = count("ALTER TABLE t ADD PRIMARY KEY (id)").unwrap();
        assert!(
            pk.ends_with("+ (select count(*)::int8 from t where id is null)"),
            "{pk}"
        );
    }

    #[test]
    fn type_changes_count_values_the_new_type_rejects() {
        assert_eq!(
            count("ALTER TABLE \"t\" ALTER COLUMN \"code\" SET DATA TYPE varchar(3);"),
            Some("select count(*)::int8 from \"t\" where \"code\" is not null and not pg_input_is_valid(\"code\"::text, 'varchar(3)')".into())
        );
        assert_eq!(
            count("ALTER TABLE \"t\" ALTER COLUMN \"n\" SET DATA TYPE integer USING \"n\"::integer;"),
            Some("select count(*)::int8 from \"t\" where \"n\" is not null and not pg_input_is_valid(\"n\"::text, 'integer')".into())
        );
        assert_eq!(
            count("ALTER TABLE \"document_chunk\" ALTER COLUMN \"embedding\" SET DATA TYPE vector(768);"),
            Some("select count(*)::int8 from \"document_chunk\" where \"embedding\" is not null and vector_dims(\"embedding\") <> 768".into())
        );
        // Another conversion than the plain cast: no count.
        assert_eq!(
            count("ALTER TABLE t ALTER COLUMN n TYPE integer USING round(n)::integer"),
            None
        );
    }

    #[test]
    fn foreign_keys_and_checks_count_the_rows_they_reject() {
        assert_eq!(
            count("ALTER TABLE \"invoice\" ADD CONSTRAINT \"invoice_organization_id_organization_id_fk\" FOREIGN KEY (\"organization_id\") REFERENCES \"public\".\"organization\"(\"id\") ON DELETE cascade ON UPDATE no action;"),
            Some("select count(*)::int8 from \"invoice\" c where c.\"organization_id\" is not null and not exists (select 1 from \"public\".\"organization\" p where p.\"id\" = c.\"organization_id\")".into())
        );
        assert_eq!(
            count("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id) NOT VALID"),
            None,
            "NOT VALID checks no existing row"
        );
        assert_eq!(
            count("ALTER TABLE \"t\" ADD CONSTRAINT \"t_n_check\" CHECK (\"t\".\"n\" >= 0 AND length(\"t\".\"s\") > 2);"),
            Some("select count(*)::int8 from \"t\" where not (\"t\".\"n\" >= 0 AND length(\"t\".\"s\") > 2)".into())
        );
        assert_eq!(
            count("ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0) NOT VALID"),
            None
        );
    }

    #[test]
    fn other_statements_get_no_count() {
        for statement in [
            "CREATE TABLE t (id int NOT NULL)",
            "CREATE INDEX i ON t (c)",
            "ALTER TABLE t VALIDATE CONSTRAINT c",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "DROP TABLE t",
            "",
        ] {
            assert_eq!(offending_rows(statement), None, "{statement}");
        }
    }
}
