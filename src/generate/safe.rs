//! The migration files a plan becomes: drizzle-kit's one file, or with `generate --safe` the
//! forms that take no long lock on a table that has rows. Pure.
//!
//! app-db applies all pending transactional migrations of a run in one transaction, so a long
//! step must not share a transaction with the strong lock of the step before it (`ADD
//! CONSTRAINT … NOT VALID` then `VALIDATE` in one transaction keeps the first one's lock through
//! the whole scan). The safe forms therefore put every long step in a migration that starts
//! with `-- app-db:no-transaction`, where each statement commits on its own and the migrator
//! commits the transactional migrations before it first:
//!
//! 1. `<name>` (transactional): the plan's statements in drizzle-kit's order, with foreign keys
//!    and CHECKs on existing tables added `NOT VALID`, `SET NOT NULL` replaced by a `CHECK (col
//!    IS NOT NULL) NOT VALID`, and indexes and unique constraints on existing tables left out.
//!    Only catalog changes: brief locks.
//! 2. `<name>_validate` (no transaction): `VALIDATE CONSTRAINT` for each of those; it scans
//!    under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. Validating a valid
//!    constraint again does nothing, so a rerun after a failure is harmless.
//! 3. `<name>_index_<k>` (no transaction, one per index): `DROP INDEX CONCURRENTLY IF EXISTS`
//!    (a failed concurrent build leaves an INVALID index that `IF NOT EXISTS` would keep; the
//!    first run finds nothing to drop) then `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS`.
//!    One per migration, so a rerun rebuilds only the index that failed.
//! 4. `<name>_finish` (transactional): `SET NOT NULL` (PostgreSQL trusts the validated CHECK and
//!    skips the scan) and the temporary CHECK dropped; `ADD CONSTRAINT … UNIQUE USING INDEX`.
//!    Catalog changes again.
//!
//! A plan with nothing to rewrite gives drizzle-kit's one file, byte for byte.

use super::plan::{Change, Plan};
use super::render;
use crate::journal::NO_TRANSACTION_DIRECTIVE;

/// One migration file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedMigration {
    /// Appended to the migration's name (`_validate`, `_index_1`, `_finish`); `None` for the
    /// first.
    pub suffix: Option<String>,
    /// False for a `-- app-db:no-transaction` migration.
    pub transaction: bool,
    /// The statements, as they go into the file.
    pub statements: Vec<String>,
}

impl GeneratedMigration {
    /// The file's text: the statements joined by drizzle's breakpoint, the no-transaction
    /// directive on the first line when there is one.
    pub fn text(&self) -> String {
        let mut statements = self.statements.clone();
        if !self.transaction
            && let Some(first) = statements.first_mut()
        {
            *first = format!("{NO_TRANSACTION_DIRECTIVE}\n{first}");
        }
        render::file_text(&statements)
    }
}

/// drizzle-kit's form: the whole plan as one transactional migration.
pub fn plain(plan: &Plan) -> Vec<GeneratedMigration> {
    vec![GeneratedMigration {
        suffix: None,
        transaction: true,
        statements: plan.sql(),
    }]
}

/// The safe forms (see the module's documentation).
pub fn safe_forms(plan: &Plan) -> Vec<GeneratedMigration> {
    let mut main = Vec::new();
    let mut validate = Vec::new();
    let mut indexes = Vec::new();
    let mut finish = Vec::new();
    for statement in &plan.statements {
        match &statement.change {
            Change::Other => main.push(statement.sql.clone()),
            Change::ForeignKey { table, foreign_key } => {
                main.push(render::not_valid(&statement.sql));
                validate.push(render::validate_constraint(table, &foreign_key.name));
            }
            Change::Check { table, check } => {
                main.push(render::not_valid(&statement.sql));
                validate.push(render::validate_constraint(table, &check.name));
            }
            Change::SetNotNull { table, column } => {
                let check = not_null_check_name(table, column);
                main.push(render::add_not_null_check(table, &check, column));
                validate.push(render::validate_constraint(table, &check));
                finish.push(format!(
                    "{} adding-not-nullable-field the CHECK {} validated by an earlier migration of this change proves there is no NULL, so PostgreSQL skips the scan\n{}",
                    crate::journal::ALLOW_DIRECTIVE,
                    crate::sql::quote_ident(&check),
                    statement.sql
                ));
                finish.push(render::drop_constraint(table, &check));
            }
            Change::Index { table, index } => indexes.push(vec![
                render::drop_index_concurrently(&index.name),
                render::create_index_concurrently(table, index),
            ]),
            Change::Unique { table, unique } => {
                indexes.push(vec![
                    render::drop_index_concurrently(&unique.name),
                    render::create_unique_index_concurrently(table, unique),
                ]);
                finish.push(render::add_unique_using_index(table, &unique.name));
            }
        }
    }
    if validate.is_empty() && indexes.is_empty() && finish.is_empty() {
        return plain(plan);
    }
    let mut out = Vec::new();
    if !main.is_empty() {
        out.push(GeneratedMigration {
            suffix: None,
            transaction: true,
            statements: main,
        });
    }
    if !validate.is_empty() {
        out.push(GeneratedMigration {
            suffix: Some("validate".into()),
            transaction: false,
            statements: validate,
        });
    }
    let count = indexes.len();
    for (k, statements) in indexes.into_iter().enumerate() {
        out.push(GeneratedMigration {
            suffix: Some(if count == 1 {
                "index".into()
            } else {
                format!("index_{}", k + 1)
            }),
            transaction: false,
            statements,
        });
    }
    if !finish.is_empty() {
        out.push(GeneratedMigration {
            suffix: Some("finish".into()),
            transaction: true,
            statements: finish,
        });
    }
    out
}

/// The temporary CHECK standing in for `NOT NULL`: `<table>_<column>_not_null_check`, cut to
/// PostgreSQL's 63 bytes with a hash of the whole name when longer (PostgreSQL would cut it
/// silently, and two long names could then collide).
pub fn not_null_check_name(table: &str, column: &str) -> String {
    let name = format!("{table}_{column}_not_null_check");
    if name.len() <= 63 {
        return name;
    }
    let mut cut = 54;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}_{}",
        &name[..cut],
        &crate::journal::sha256_hex(name.as_bytes())[..8]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::model::{Check, ForeignKey, Index, Unique};
    use crate::generate::plan::Statement;

    fn statement(sql: &str, change: Change) -> Statement {
        Statement {
            sql: sql.into(),
            loses_data: None,
            change,
        }
    }

    fn fk() -> ForeignKey {
        ForeignKey {
            name: "t_r_r_id_fk".into(),
            columns: vec!["r".into()],
            ref_table: "r".into(),
            ref_columns: vec!["id".into()],
            on_delete: "cascade".into(),
            on_update: "no action".into(),
        }
    }

    #[test]
    fn nothing_to_rewrite_is_drizzle_kit_s_one_file() {
        let plan = Plan {
            statements: vec![statement(
                "ALTER TABLE \"t\" ADD COLUMN \"c\" text;",
                Change::Other,
            )],
        };
        assert_eq!(safe_forms(&plan), plain(&plan));
        assert_eq!(
            plain(&plan)[0].text(),
            "ALTER TABLE \"t\" ADD COLUMN \"c\" text;"
        );
    }

    /// A plan with one change of every class `--safe` rewrites, plus a plain one.
    fn every_form_plan() -> Plan {
        let index = Index {
            name: "t_c_index".into(),
            method: "btree".into(),
            keys_sql: "\"c\"".into(),
            ..Index::default()
        };
        let unique = Unique {
            name: "t_s_unique".into(),
            columns: vec!["s".into()],
            nulls_not_distinct: false,
        };
        let check = Check {
            name: "t_c_check".into(),
            definition: String::new(),
            expression_sql: "\"t\".\"c\" > 0".into(),
        };
        Plan {
            statements: vec![
                statement("ALTER TABLE \"t\" ADD COLUMN \"s\" text;", Change::Other),
                statement(
                    "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET NOT NULL;",
                    Change::SetNotNull {
                        table: "t".into(),
                        column: "c".into(),
                    },
                ),
                statement(
                    &render::add_foreign_key("t", &fk()),
                    Change::ForeignKey {
                        table: "t".into(),
                        foreign_key: fk(),
                    },
                ),
                statement(
                    &render::create_index("t", &index),
                    Change::Index {
                        table: "t".into(),
                        index: index.clone(),
                    },
                ),
                statement(
                    &render::add_unique("t", &unique),
                    Change::Unique {
                        table: "t".into(),
                        unique: unique.clone(),
                    },
                ),
                statement(
                    &render::add_check("t", &check),
                    Change::Check {
                        table: "t".into(),
                        check,
                    },
                ),
            ],
        }
    }

    #[test]
    fn every_safe_form_in_its_place() {
        let plan = every_form_plan();
        let files = safe_forms(&plan);
        let texts: Vec<(Option<&str>, String)> = files
            .iter()
            .map(|f| (f.suffix.as_deref(), f.text()))
            .collect();
        assert_eq!(
            texts,
            vec![
                (
                    None,
                    "ALTER TABLE \"t\" ADD COLUMN \"s\" text;--> statement-breakpoint\n\
                     ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_not_null_check\" CHECK (\"c\" IS NOT NULL) NOT VALID;--> statement-breakpoint\n\
                     ALTER TABLE \"t\" ADD CONSTRAINT \"t_r_r_id_fk\" FOREIGN KEY (\"r\") REFERENCES \"public\".\"r\"(\"id\") ON DELETE cascade ON UPDATE no action NOT VALID;--> statement-breakpoint\n\
                     ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_check\" CHECK (\"t\".\"c\" > 0) NOT VALID;"
                        .to_string()
                ),
                (
                    Some("validate"),
                    "-- app-db:no-transaction\n\
                     ALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_not_null_check\";--> statement-breakpoint\n\
                     ALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_r_r_id_fk\";--> statement-breakpoint\n\
                     ALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_check\";"
                        .to_string()
                ),
                (
                    Some("index_1"),
                    "-- app-db:no-transaction\n\
                     DROP INDEX CONCURRENTLY IF EXISTS \"t_c_index\";--> statement-breakpoint\n\
                     CREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_c_index\" ON \"t\" USING btree (\"c\");"
                        .to_string()
                ),
                (
                    Some("index_2"),
                    "-- app-db:no-transaction\n\
                     DROP INDEX CONCURRENTLY IF EXISTS \"t_s_unique\";--> statement-breakpoint\n\
                     CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"t_s_unique\" ON \"t\" USING btree (\"s\");"
                        .to_string()
                ),
                (
                    Some("finish"),
                    "-- app-db:allow adding-not-nullable-field the CHECK \"t_c_not_null_check\" validated by an earlier migration of this change proves there is no NULL, so PostgreSQL skips the scan\n\
                     ALTER TABLE \"t\" ALTER COLUMN \"c\" SET NOT NULL;--> statement-breakpoint\n\
                     ALTER TABLE \"t\" DROP CONSTRAINT \"t_c_not_null_check\";--> statement-breakpoint\n\
                     ALTER TABLE \"t\" ADD CONSTRAINT \"t_s_unique\" UNIQUE USING INDEX \"t_s_unique\";"
                        .to_string()
                ),
            ]
        );
        assert_eq!(
            files.iter().map(|f| f.transaction).collect::<Vec<_>>(),
            vec![true, false, false, false, true]
        );
    }

    #[test]
    fn every_safe_form_passes_the_lint() {
        let plan = every_form_plan();
        for file in safe_forms(&plan) {
            let text = file.text();
            let report = crate::lint::lint_sql("x", "x", &text, file.transaction);
            assert!(
                report.passes() && report.directives.is_empty(),
                "{text}\n{}",
                crate::lint::LintReport {
                    migrations: vec![report.clone()]
                }
                .render()
            );
        }
    }

    #[test]
    fn long_check_names_are_cut_with_a_hash() {
        assert_eq!(not_null_check_name("t", "c"), "t_c_not_null_check");
        let long = not_null_check_name(&"a".repeat(40), &"b".repeat(30));
        assert_eq!(long.len(), 63);
        assert_ne!(long, not_null_check_name(&"a".repeat(40), &"c".repeat(30)));
    }
}
