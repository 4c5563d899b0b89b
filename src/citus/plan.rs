//! Where each table would go on Citus, and what in the schema stands in the way. Pure: a
//! schema model in ([`crate::generate::model`], read from the catalogs), a plan out.
//!
//! Citus's rules, as its documentation and its foreign-key checks state them:
//! - a distributed table's primary key and every unique constraint or unique index must
//!   contain its distribution column, which rows cannot leave NULL;
//! - foreign keys between distributed tables must join colocated tables on their distribution
//!   columns (the same position on both sides); from a distributed table to a reference table
//!   they are free;
//! - a foreign key whose referencing columns contain the distribution column may not
//!   `ON DELETE SET NULL | SET DEFAULT`, nor `ON UPDATE SET NULL | SET DEFAULT | CASCADE`;
//! - reference and local (coordinator) tables cannot reference distributed tables, and a
//!   reference table can reference a local one only with `NO ACTION` or `RESTRICT`.

use std::collections::{BTreeMap, BTreeSet};

use crate::generate::model::{ForeignKey, Schema, Table};

/// How the schema is sharded: the tenant column, and the tenant table itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The column every tenant-owned table is distributed by.
    pub distribution_column: &'static str,
    /// The tenants' own table.
    pub tenant_table: &'static str,
    /// Its key, which the other tables' distribution column references.
    pub tenant_key: &'static str,
}

/// Where a table goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placement {
    /// Sharded by this column, colocated with the tenant table.
    Distributed {
        /// The distribution column.
        column: String,
    },
    /// One copy on every node.
    Reference,
    /// On the coordinator only.
    Local,
}

impl Placement {
    /// `distributed by organization_id`, `reference`, `local`.
    pub fn label(&self) -> String {
        match self {
            Placement::Distributed { column } => format!("distributed by {column}"),
            Placement::Reference => "reference".into(),
            Placement::Local => "local".into(),
        }
    }
}

/// One thing Citus would refuse, and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// The distribution column admits NULL (rows that belong to no tenant).
    NullableColumn {
        /// The column.
        column: String,
    },
    /// The primary key lacks the distribution column.
    PrimaryKey {
        /// Its columns.
        columns: Vec<String>,
        /// The distribution column.
        column: String,
    },
    /// A unique constraint or unique index lacks the distribution column.
    Unique {
        /// Its name.
        name: String,
        /// Its keys.
        keys: Vec<String>,
        /// The distribution column.
        column: String,
    },
    /// A unique constraint of the tenant table over something else than its key: uniqueness
    /// across tenants, which no shard can check alone.
    AcrossTenants {
        /// Its name.
        name: String,
        /// Its keys.
        keys: Vec<String>,
    },
    /// A foreign key between distributed tables that does not join their distribution columns.
    NotColocated {
        /// The foreign key.
        fk: ForeignKey,
        /// The referencing table's distribution column.
        column: String,
    },
    /// A referential action that would change the distribution column.
    Action {
        /// The foreign key.
        fk: ForeignKey,
        /// The refused action, e.g. `ON DELETE SET NULL`.
        action: String,
    },
    /// A foreign key from a reference or local table to a distributed one.
    ToDistributed {
        /// The foreign key.
        fk: ForeignKey,
    },
    /// A foreign key Citus cannot keep given the placements of both tables (distributed to
    /// local, or reference to local with a cascading action).
    Placement {
        /// The foreign key.
        fk: ForeignKey,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocker::NullableColumn { column } => write!(
                f,
                "{column} is nullable (rows of no tenant cannot be placed on a shard): give those rows a tenant, or move them to a table of their own"
            ),
            Blocker::PrimaryKey { columns, column } => write!(
                f,
                "primary key ({}) lacks {column}: make it ({}, {column})",
                columns.join(", "),
                columns.join(", ")
            ),
            Blocker::Unique { name, keys, column } => write!(
                f,
                "unique {name} ({}) lacks {column}: add {column} (unique per tenant) or enforce it outside the database",
                keys.join(", ")
            ),
            Blocker::AcrossTenants { name, keys } => write!(
                f,
                "unique {name} ({}) spans all tenants, which no shard can check: keep ({}) → tenant in a reference or local table and insert there in the same transaction",
                keys.join(", "),
                keys.join(", ")
            ),
            Blocker::NotColocated { fk, column } => write!(
                f,
                "foreign key {} ({}) → {} ({}) does not join on {column}: reference ({}, {column}) → {} (…, {column}) with a unique key there",
                fk.name,
                fk.columns.join(", "),
                fk.ref_table,
                fk.ref_columns.join(", "),
                fk.columns.join(", "),
                fk.ref_table
            ),
            Blocker::Action { fk, action } => write!(
                f,
                "foreign key {} ({}) → {} is {action}, which would change the distribution column: use NO ACTION/RESTRICT/CASCADE and do it in the application",
                fk.name,
                fk.columns.join(", "),
                fk.ref_table
            ),
            Blocker::ToDistributed { fk } => write!(
                f,
                "foreign key {} → {} points at a distributed table from one that is not",
                fk.name, fk.ref_table
            ),
            Blocker::Placement { fk, reason } => {
                write!(f, "foreign key {} → {}: {reason}", fk.name, fk.ref_table)
            }
        }
    }
}

/// One table's place and blockers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePlan {
    /// The table.
    pub table: String,
    /// Where it goes.
    pub placement: Placement,
    /// Why it goes there.
    pub why: String,
    /// What Citus would refuse, in the order of the table's definition.
    pub blockers: Vec<Blocker>,
}

/// Places every table and lists the blockers, tables in name order.
///
/// 1. Distributed: the tenant table (by its key) and every table with the distribution column.
/// 2. Reference: every other table a distributed or reference table references (a foreign
///    key from a distributed table may only point at a colocated or a reference table).
/// 3. Local: the rest, on the coordinator.
pub fn plan(schema: &Schema, rules: &Rules) -> Vec<TablePlan> {
    let mut placements: BTreeMap<&str, Placement> = BTreeMap::new();
    for (name, table) in &schema.tables {
        if name == rules.tenant_table {
            placements.insert(
                name,
                Placement::Distributed {
                    column: rules.tenant_key.to_string(),
                },
            );
        } else if table.column(rules.distribution_column).is_some() {
            placements.insert(
                name,
                Placement::Distributed {
                    column: rules.distribution_column.to_string(),
                },
            );
        }
    }
    // Reference: the closure of what distributed and reference tables point at.
    let mut referenced_by: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    loop {
        let mut added = false;
        for (name, table) in &schema.tables {
            if !placements.contains_key(name.as_str()) {
                continue;
            }
            for fk in &table.foreign_keys {
                if fk.ref_table == *name || !schema.tables.contains_key(&fk.ref_table) {
                    continue;
                }
                if !placements.contains_key(fk.ref_table.as_str()) {
                    let target = schema.tables.get_key_value(&fk.ref_table).map(|(k, _)| k);
                    if let Some(target) = target {
                        placements.insert(target, Placement::Reference);
                        added = true;
                    }
                }
                if placements.get(fk.ref_table.as_str()) == Some(&Placement::Reference) {
                    referenced_by
                        .entry(fk.ref_table.as_str())
                        .or_default()
                        .insert(format!("{name}.{}", fk.columns.join(", ")));
                }
            }
        }
        if !added {
            break;
        }
    }
    schema
        .tables
        .iter()
        .map(|(name, table)| {
            let placement = placements
                .get(name.as_str())
                .cloned()
                .unwrap_or(Placement::Local);
            let why = match &placement {
                Placement::Distributed { column } if name == rules.tenant_table => {
                    format!("the tenant table, by its key {column}")
                }
                Placement::Distributed { column } => format!("has {column}"),
                Placement::Reference => format!(
                    "referenced by {}",
                    referenced_by
                        .get(name.as_str())
                        .map(|r| r.iter().cloned().collect::<Vec<_>>().join("; "))
                        .unwrap_or_default()
                ),
                Placement::Local => format!(
                    "no {}, referenced by no distributed or reference table",
                    rules.distribution_column
                ),
            };
            TablePlan {
                table: name.clone(),
                blockers: blockers(table, &placement, &placements, name == rules.tenant_table),
                placement,
                why,
            }
        })
        .collect()
}

fn blockers(
    table: &Table,
    placement: &Placement,
    placements: &BTreeMap<&str, Placement>,
    tenant_table: bool,
) -> Vec<Blocker> {
    let mut out = Vec::new();
    let placement_of = |t: &str| placements.get(t).cloned().unwrap_or(Placement::Local);
    match placement {
        Placement::Distributed { column } => {
            if table.column(column).is_some_and(|c| !c.not_null) {
                out.push(Blocker::NullableColumn {
                    column: column.clone(),
                });
            }
            if let Some(pk) = &table.primary_key
                && !pk.columns.contains(column)
            {
                out.push(Blocker::PrimaryKey {
                    columns: pk.columns.clone(),
                    column: column.clone(),
                });
            }
            let uniques = table.uniques.iter().map(|u| (&u.name, &u.columns)).chain(
                table
                    .indexes
                    .iter()
                    .filter(|i| i.unique)
                    .map(|i| (&i.name, &i.keys)),
            );
            for (name, keys) in uniques {
                if keys.contains(column) {
                    continue;
                }
                out.push(if tenant_table {
                    Blocker::AcrossTenants {
                        name: name.clone(),
                        keys: keys.clone(),
                    }
                } else {
                    Blocker::Unique {
                        name: name.clone(),
                        keys: keys.clone(),
                        column: column.clone(),
                    }
                });
            }
            for fk in &table.foreign_keys {
                let target = placement_of(&fk.ref_table);
                if fk.ref_table == table.name {
                    continue;
                }
                match &target {
                    Placement::Distributed { column: ref_column } => {
                        let joined = fk
                            .columns
                            .iter()
                            .zip(&fk.ref_columns)
                            .any(|(c, r)| c == column && r == ref_column);
                        if !joined {
                            out.push(Blocker::NotColocated {
                                fk: fk.clone(),
                                column: column.clone(),
                            });
                        }
                    }
                    Placement::Reference => {}
                    Placement::Local => out.push(Blocker::Placement {
                        fk: fk.clone(),
                        reason: "a distributed table can only reference a colocated distributed table or a reference table".into(),
                    }),
                }
                if fk.columns.contains(column) {
                    for action in refused_actions(fk) {
                        out.push(Blocker::Action {
                            fk: fk.clone(),
                            action,
                        });
                    }
                }
            }
        }
        Placement::Reference | Placement::Local => {
            for fk in &table.foreign_keys {
                match placement_of(&fk.ref_table) {
                    Placement::Distributed { .. } => {
                        out.push(Blocker::ToDistributed { fk: fk.clone() })
                    }
                    Placement::Local
                        if *placement == Placement::Reference
                            && !(restricting(&fk.on_delete) && restricting(&fk.on_update)) =>
                    {
                        out.push(Blocker::Placement {
                            fk: fk.clone(),
                            reason: "a reference table may reference a local table only with NO ACTION or RESTRICT".into(),
                        })
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The actions Citus refuses on a foreign key whose referencing columns hold the
/// distribution column.
fn refused_actions(fk: &ForeignKey) -> Vec<String> {
    let mut out = Vec::new();
    if matches!(fk.on_delete.as_str(), "set null" | "set default") {
        out.push(format!("ON DELETE {}", fk.on_delete.to_uppercase()));
    }
    if matches!(
        fk.on_update.as_str(),
        "set null" | "set default" | "cascade"
    ) {
        out.push(format!("ON UPDATE {}", fk.on_update.to_uppercase()));
    }
    out
}

fn restricting(action: &str) -> bool {
    matches!(action, "no action" | "restrict")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::model::{Column, Index, PrimaryKey, Unique};

    const RULES: Rules = Rules {
        distribution_column: "org_id",
        tenant_table: "org",
        tenant_key: "id",
    };

    fn column(name: &str, not_null: bool) -> Column {
        Column {
            name: name.into(),
            type_sql: "text".into(),
            not_null,
            ..Column::default()
        }
    }

    fn fk(name: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            ref_table: ref_table.into(),
            ref_columns: ref_columns.iter().map(|c| c.to_string()).collect(),
            on_delete: "cascade".into(),
            on_update: "no action".into(),
        }
    }

    fn table(name: &str, columns: Vec<Column>, pk: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns,
            primary_key: Some(PrimaryKey {
                name: format!("{name}_pkey"),
                columns: pk.iter().map(|c| c.to_string()).collect(),
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

    fn placed<'a>(plan: &'a [TablePlan], table: &str) -> &'a TablePlan {
        plan.iter().find(|t| t.table == table).unwrap()
    }

    #[test]
    fn tables_are_distributed_referenced_or_local() {
        let mut org = table("org", vec![column("id", true)], &["id"]);
        org.uniques.push(Unique {
            name: "org_slug_unique".into(),
            columns: vec!["slug".into()],
            nulls_not_distinct: false,
        });
        let mut doc = table(
            "doc",
            vec![
                column("id", true),
                column("org_id", true),
                column("user_id", false),
            ],
            &["id", "org_id"],
        );
        doc.foreign_keys = vec![
            fk("doc_org_fk", &["org_id"], "org", &["id"]),
            fk("doc_user_fk", &["user_id"], "user", &["id"]),
        ];
        let mut session = table("session", vec![column("id", true)], &["id"]);
        session
            .foreign_keys
            .push(fk("session_user_fk", &["user_id"], "user", &["id"]));
        let plan = plan(
            &schema(vec![
                org,
                doc,
                table("user", vec![column("id", true)], &["id"]),
                session,
                table("metrics", vec![column("day", true)], &["day"]),
            ]),
            &RULES,
        );
        let labels: Vec<(String, String)> = plan
            .iter()
            .map(|t| (t.table.clone(), t.placement.label()))
            .collect();
        assert_eq!(
            labels,
            [
                ("doc".into(), "distributed by org_id".into()),
                ("metrics".into(), "local".into()),
                ("org".into(), "distributed by id".into()),
                ("session".into(), "local".into()),
                ("user".into(), "reference".into()),
            ]
        );
        assert_eq!(placed(&plan, "user").why, "referenced by doc.user_id");
        assert!(placed(&plan, "doc").blockers.is_empty());
        // The tenant table's own unique slug is per table, not per tenant.
        assert_eq!(
            placed(&plan, "org").blockers,
            [Blocker::AcrossTenants {
                name: "org_slug_unique".into(),
                keys: vec!["slug".into()],
            }]
        );
    }

    #[test]
    fn keys_without_the_distribution_column_are_blockers() {
        let mut chunk = table(
            "chunk",
            vec![column("id", true), column("org_id", true)],
            &["id"],
        );
        chunk.uniques.push(Unique {
            name: "chunk_source_index_unique".into(),
            columns: vec!["source_id".into(), "idx".into()],
            nulls_not_distinct: false,
        });
        chunk.indexes.push(Index {
            name: "chunk_live_unique".into(),
            unique: true,
            keys: vec!["org_id".into()],
            predicate: Some("live".into()),
            ..Index::default()
        });
        chunk.indexes.push(Index {
            name: "chunk_lower_unique".into(),
            unique: true,
            keys: vec!["lower(content)".into()],
            ..Index::default()
        });
        let plan = plan(&schema(vec![chunk]), &RULES);
        let blockers: Vec<String> = plan[0].blockers.iter().map(ToString::to_string).collect();
        assert_eq!(blockers.len(), 3, "{blockers:#?}");
        assert!(blockers[0].starts_with("primary key (id) lacks org_id: make it (id, org_id)"));
        assert!(blockers[1].starts_with("unique chunk_source_index_unique (source_id, idx)"));
        assert!(blockers[2].starts_with("unique chunk_lower_unique (lower(content))"));
    }

    #[test]
    fn foreign_keys_must_join_the_distribution_columns_and_keep_them() {
        let endpoint = table(
            "endpoint",
            vec![column("id", true), column("org_id", true)],
            &["id", "org_id"],
        );
        let mut delivery = table(
            "delivery",
            vec![column("id", true), column("org_id", true)],
            &["id", "org_id"],
        );
        delivery.foreign_keys = vec![
            fk(
                "delivery_endpoint_fk",
                &["endpoint_id"],
                "endpoint",
                &["id"],
            ),
            fk(
                "delivery_endpoint_org_fk",
                &["endpoint_id", "org_id"],
                "endpoint",
                &["id", "org_id"],
            ),
        ];
        let mut audit = table(
            "audit",
            vec![column("id", true), column("org_id", false)],
            &["id"],
        );
        let mut set_null = fk("audit_org_fk", &["org_id"], "org", &["id"]);
        set_null.on_delete = "set null".into();
        set_null.on_update = "cascade".into();
        audit.foreign_keys.push(set_null);
        let org = table("org", vec![column("id", true)], &["id"]);
        let plan = plan(&schema(vec![endpoint, delivery, audit, org]), &RULES);
        let delivery = placed(&plan, "delivery");
        assert_eq!(delivery.blockers.len(), 1, "{:#?}", delivery.blockers);
        assert!(
            matches!(&delivery.blockers[0], Blocker::NotColocated { fk, .. } if fk.name == "delivery_endpoint_fk")
        );
        let audit: Vec<String> = placed(&plan, "audit")
            .blockers
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(audit.len(), 4, "{audit:#?}");
        assert!(audit[0].starts_with("org_id is nullable"));
        assert!(audit[1].starts_with("primary key (id) lacks org_id"));
        assert!(audit[2].contains("is ON DELETE SET NULL"));
        assert!(audit[3].contains("is ON UPDATE CASCADE"));
    }

    #[test]
    fn tables_that_are_not_distributed_cannot_point_at_distributed_ones() {
        let mut log = table("log", vec![column("id", true)], &["id"]);
        log.foreign_keys
            .push(fk("log_org_fk", &["tenant"], "org", &["id"]));
        let plan = plan(
            &schema(vec![log, table("org", vec![column("id", true)], &["id"])]),
            &RULES,
        );
        assert_eq!(placed(&plan, "log").placement, Placement::Local);
        assert!(matches!(
            &placed(&plan, "log").blockers[..],
            [Blocker::ToDistributed { .. }]
        ));
    }
}
