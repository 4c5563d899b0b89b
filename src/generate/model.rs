//! The structured schema model `generate` diffs: one schema (`public`) as the catalogs describe it.
//!
//! Every comparable field holds PostgreSQL's own normal form (`format_type`, `pg_get_expr`,
//! `pg_get_constraintdef`, `pg_get_indexdef`), so two databases built from different SQL text
//! compare equal when PostgreSQL sees the same schema. Fields named `*_sql` hold the text a
//! migration writes (drizzle-kit's form); they never take part in a comparison.

use std::collections::{BTreeMap, BTreeSet};

/// The schema: extensions, enum types and tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Installed extensions (except `plpgsql`).
    pub extensions: BTreeSet<String>,
    /// Enum types, values in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Sequences no column owns (a serial's or identity's sequence is part of its column);
    /// read for drizzle-kit's snapshot, not diffed.
    pub sequences: Vec<Sequence>,
}

/// A free-standing sequence, its settings as PostgreSQL prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sequence {
    /// The sequence's name.
    pub name: String,
    /// `INCREMENT BY`.
    pub increment: String,
    /// `MINVALUE`.
    pub min: String,
    /// `MAXVALUE`.
    pub max: String,
    /// `START WITH`.
    pub start: String,
    /// `CACHE`.
    pub cache: String,
    /// `CYCLE`.
    pub cycle: bool,
}

/// One table and everything that belongs to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Columns in their physical order.
    pub columns: Vec<Column>,
    /// The primary key, if any.
    pub primary_key: Option<PrimaryKey>,
    /// Unique constraints.
    pub uniques: Vec<Unique>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// CHECK constraints.
    pub checks: Vec<Check>,
    /// Indexes that do not back a constraint.
    pub indexes: Vec<Index>,
    /// Row-level security is enabled (read for the snapshot, not diffed).
    pub row_level_security: bool,
    /// Row-level security policies (read for the snapshot, not diffed).
    pub policies: Vec<Policy>,
}

/// A row-level security policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// `PERMISSIVE` (else `RESTRICTIVE`).
    pub permissive: bool,
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE` or `ALL`.
    pub command: String,
    /// The roles, `public` for all.
    pub roles: Vec<String>,
    /// The `USING` expression.
    pub using: Option<String>,
    /// The `WITH CHECK` expression.
    pub with_check: Option<String>,
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// `format_type` of its type and modifier, e.g. `timestamp with time zone`, `vector(1536)`.
    pub type_sql: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression as `pg_get_expr` prints it.
    pub default: Option<String>,
    /// `ALWAYS` or `BY DEFAULT` for an identity column.
    pub identity: Option<String>,
    /// Storage `PLAIN` where the type's default is another.
    pub storage_plain: bool,
    /// The column's previous name, declared with `renamed_from` (desired side only).
    pub renamed_from: Option<String>,
    /// The enum type whose values the column holds, itself or as array elements (`enum[]`),
    /// found by the type's OID: the name as the catalog has it, never quoted.
    pub uses_enum: Option<String>,
    /// A stored generated column's expression as `pg_get_expr` prints it. Read so that it is
    /// never taken for a default; not compared (entities cannot declare one).
    pub generated: Option<String>,
}

/// A primary key constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrimaryKey {
    /// The constraint's name (`t_pkey` for an inline one).
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unique {
    /// The constraint's name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// `NULLS NOT DISTINCT`.
    pub nulls_not_distinct: bool,
}

/// A foreign key constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `cascade`, `restrict`, `no action`, `set null` or `set default` (drizzle's spelling).
    pub on_delete: String,
    /// As `on_delete`.
    pub on_update: String,
}

/// A CHECK constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// The constraint's name.
    pub name: String,
    /// `pg_get_constraintdef`, e.g. `CHECK (seats >= 1)`: what is compared.
    pub definition: String,
    /// The expression a migration writes inside `CHECK (…)`.
    pub expression_sql: String,
}

/// An index that backs no constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// The index's name.
    pub name: String,
    /// `UNIQUE`.
    pub unique: bool,
    /// Access method (`btree`, `hnsw`, …).
    pub method: String,
    /// Each key as `pg_get_indexdef(index, n, true)` prints it: the column or expression alone
    /// (`vote_score`, `lower(email)`); order and operator class are in `key_parts`.
    pub keys: Vec<String>,
    /// The predicate of a partial index, as PostgreSQL prints it.
    pub predicate: Option<String>,
    /// The key list a migration writes, e.g. `"embedding" vector_cosine_ops`.
    pub keys_sql: String,
    /// The predicate a migration writes.
    pub predicate_sql: Option<String>,
    /// Each key in parts (for drizzle-kit's snapshot; `keys` is what is compared).
    pub key_parts: Vec<IndexKey>,
    /// Storage parameters (`WITH (m = 16)`) as `(name, value)`.
    pub with: Vec<(String, String)>,
}

/// One key of an index, in parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKey {
    /// The column's name, or the expression as `pg_get_indexdef` prints it.
    pub expression: String,
    /// An expression rather than a column.
    pub is_expression: bool,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST`.
    pub nulls_first: bool,
    /// The operator class when it is not the type's default one.
    pub opclass: Option<String>,
}

impl Index {
    /// Whether two indexes index the same thing the same way (names and `*_sql` aside): keys
    /// with their order, NULLS placement and operator class, the predicate, and the storage
    /// parameters (`WITH (m = 16, …)`, in any order: an HNSW graph built with other parameters
    /// is another index).
    pub fn same_definition(&self, other: &Index) -> bool {
        let ordering = |i: &Index| -> Vec<(bool, bool, Option<String>)> {
            i.key_parts
                .iter()
                .map(|k| (k.descending, k.nulls_first, k.opclass.clone()))
                .collect()
        };
        let params = |i: &Index| -> Vec<(String, String)> {
            let mut with = i.with.clone();
            with.sort();
            with
        };
        self.unique == other.unique
            && self.method == other.method
            && self.keys == other.keys
            && ordering(self) == ordering(other)
            && self.predicate == other.predicate
            && params(self) == params(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_differ_by_order_and_operator_class() {
        let index = |descending: bool, opclass: Option<&str>| Index {
            name: "i".into(),
            method: "hnsw".into(),
            keys: vec!["embedding".into()],
            key_parts: vec![IndexKey {
                expression: "embedding".into(),
                descending,
                opclass: opclass.map(Into::into),
                ..IndexKey::default()
            }],
            ..Index::default()
        };
        let cosine = index(false, Some("vector_cosine_ops"));
        assert!(cosine.same_definition(&index(false, Some("vector_cosine_ops"))));
        assert!(!cosine.same_definition(&index(false, Some("vector_l2_ops"))));
        assert!(!cosine.same_definition(&index(true, Some("vector_cosine_ops"))));
        assert!(!cosine.same_definition(&index(false, None)));
        let with = |params: &[(&str, &str)]| Index {
            with: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..cosine.clone()
        };
        let tuned = with(&[("m", "32"), ("ef_construction", "128")]);
        assert!(!cosine.same_definition(&tuned), "storage parameters count");
        assert!(tuned.same_definition(&with(&[("ef_construction", "128"), ("m", "32")])));
        assert!(!tuned.same_definition(&with(&[("m", "32"), ("ef_construction", "64")])));
    }
}
