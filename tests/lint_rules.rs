//! The lint rule set, rule by rule: for every rule that is on, a dangerous statement is flagged
//! and its safe rewrite passes; the rewrite is then applied by app-db's migrator to a real
//! PostgreSQL holding the table with rows, so the rewrites documented in docs/cli.md are SQL
//! that works, not just SQL the linter likes. docs/cli.md's table matches the code.

mod common;

use app_db::lint::{self, RULES, Verdict};
use app_db::testing::TestDatabase;

/// Every case starts from this: tables with rows.
const BASE: &str = "CREATE TABLE \"t\" (\"id\" integer NOT NULL CONSTRAINT \"t_id_check\" CHECK (\"id\" > 0), \"c\" integer, \"s\" varchar(10), \"r\" integer, \"d\" integer DEFAULT 1);\n\
--> statement-breakpoint\n\
INSERT INTO \"t\" (\"id\", \"c\", \"s\", \"r\") SELECT g, g, 'x', g FROM generate_series(1, 50) g;\n\
--> statement-breakpoint\n\
CREATE TABLE \"r\" (\"id\" integer PRIMARY KEY);\n\
--> statement-breakpoint\n\
INSERT INTO \"r\" SELECT generate_series(1, 50);";

/// One rule: what else the case needs, a dangerous migration, and its safe rewrite (one or
/// more migrations, applied in order).
struct Case {
    rule: &'static str,
    setup: &'static str,
    dangerous: &'static str,
    safe: &'static [&'static str],
}

const NO_TX: &str = "-- app-db:no-transaction\n";

fn cases() -> Vec<Case> {
    vec![
        Case {
            rule: "require-concurrent-index-creation",
            setup: "",
            dangerous: "CREATE INDEX \"t_c_index\" ON \"t\" USING btree (\"c\");",
            safe: &[
                "-- app-db:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS \"t_c_index\";--> statement-breakpoint\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_c_index\" ON \"t\" USING btree (\"c\");",
            ],
        },
        Case {
            rule: "constraint-missing-not-valid",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_check\" CHECK (\"c\" > 0);",
            safe: &[
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_check\" CHECK (\"c\" > 0) NOT VALID;",
                "-- app-db:no-transaction\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_check\";",
            ],
        },
        Case {
            rule: "adding-field-with-default",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ADD COLUMN \"u\" uuid DEFAULT gen_random_uuid();",
            safe: &[
                "ALTER TABLE \"t\" ADD COLUMN \"u\" uuid;--> statement-breakpoint\nALTER TABLE \"t\" ALTER COLUMN \"u\" SET DEFAULT gen_random_uuid();",
            ],
        },
        Case {
            rule: "adding-foreign-key-constraint",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ADD CONSTRAINT \"t_r_r_id_fk\" FOREIGN KEY (\"r\") REFERENCES \"public\".\"r\"(\"id\") ON DELETE no action ON UPDATE no action;",
            safe: &[
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_r_r_id_fk\" FOREIGN KEY (\"r\") REFERENCES \"public\".\"r\"(\"id\") ON DELETE no action ON UPDATE no action NOT VALID;",
                "-- app-db:no-transaction\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_r_r_id_fk\";",
            ],
        },
        Case {
            rule: "changing-column-type",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE bigint;",
            // Expand: the new column first; the backfill and the switch follow in later releases.
            safe: &["ALTER TABLE \"t\" ADD COLUMN \"c_big\" bigint;"],
        },
        Case {
            rule: "adding-not-nullable-field",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET NOT NULL;",
            safe: &[
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_not_null_check\" CHECK (\"c\" IS NOT NULL) NOT VALID;",
                "-- app-db:no-transaction\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_not_null_check\";",
                "-- app-db:allow adding-not-nullable-field the CHECK validated by the previous migration spares the scan\nALTER TABLE \"t\" ALTER COLUMN \"c\" SET NOT NULL;--> statement-breakpoint\nALTER TABLE \"t\" DROP CONSTRAINT \"t_c_not_null_check\";",
            ],
        },
        Case {
            rule: "adding-serial-primary-key-field",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ADD PRIMARY KEY (\"id\");",
            safe: &[
                "-- app-db:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS \"t_pkey\";--> statement-breakpoint\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"t_pkey\" ON \"t\" USING btree (\"id\");",
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_pkey\" PRIMARY KEY USING INDEX \"t_pkey\";",
            ],
        },
        Case {
            rule: "renaming-column",
            setup: "",
            dangerous: "ALTER TABLE \"t\" RENAME COLUMN \"s\" TO \"label\";",
            safe: &[
                "-- app-db:allow renaming-column no release reads t.s since 2.4\nALTER TABLE \"t\" RENAME COLUMN \"s\" TO \"label\";",
            ],
        },
        Case {
            rule: "renaming-table",
            setup: "",
            dangerous: "ALTER TABLE \"r\" RENAME TO \"r2\";",
            safe: &[
                "-- app-db:allow renaming-table no release reads r since 2.4\nALTER TABLE \"r\" RENAME TO \"r2\";",
            ],
        },
        Case {
            rule: "disallowed-unique-constraint",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ADD CONSTRAINT \"t_id_unique\" UNIQUE(\"id\");",
            safe: &[
                "-- app-db:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS \"t_id_unique\";--> statement-breakpoint\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"t_id_unique\" ON \"t\" USING btree (\"id\");",
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_id_unique\" UNIQUE USING INDEX \"t_id_unique\";",
            ],
        },
        Case {
            rule: "ban-drop-database",
            setup: "",
            dangerous: "-- app-db:no-transaction\nDROP DATABASE IF EXISTS \"app_db_lint_never_created\";",
            safe: &[
                "-- app-db:no-transaction\n-- app-db:allow ban-drop-database a throw-away database this app created, never the app's own\nDROP DATABASE IF EXISTS \"app_db_lint_never_created\";",
            ],
        },
        Case {
            rule: "prefer-robust-stmts",
            setup: "",
            // The first statement is repeated when the second fails and the migration reruns.
            dangerous: "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY \"t_c_index\" ON \"t\" USING btree (\"c\");--> statement-breakpoint\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_s_index\" ON \"t\" USING btree (\"s\");",
            safe: &[
                "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_c_index\" ON \"t\" USING btree (\"c\");--> statement-breakpoint\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_s_index\" ON \"t\" USING btree (\"s\");",
            ],
        },
        Case {
            rule: "ban-drop-column",
            setup: "",
            dangerous: "ALTER TABLE \"t\" DROP COLUMN \"s\";",
            safe: &[
                "-- app-db:allow ban-drop-column no release reads t.s since 2.4\nALTER TABLE \"t\" DROP COLUMN \"s\";",
            ],
        },
        Case {
            rule: "ban-drop-table",
            setup: "",
            dangerous: "DROP TABLE \"r\";",
            safe: &[
                "-- app-db:allow ban-drop-table no release reads r since 2.4\nDROP TABLE \"r\";",
            ],
        },
        Case {
            rule: "ban-drop-not-null",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ALTER COLUMN \"id\" DROP NOT NULL;",
            safe: &[
                "-- app-db:allow ban-drop-not-null readers accept a NULL t.id since 2.4\nALTER TABLE \"t\" ALTER COLUMN \"id\" DROP NOT NULL;",
            ],
        },
        Case {
            rule: "transaction-nesting",
            setup: "",
            dangerous: "BEGIN;\nALTER TABLE \"t\" ADD COLUMN \"n\" text;\nCOMMIT;",
            safe: &["ALTER TABLE \"t\" ADD COLUMN \"n\" text;"],
        },
        Case {
            rule: "adding-required-field",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ADD COLUMN \"n\" integer NOT NULL;",
            safe: &["ALTER TABLE \"t\" ADD COLUMN \"n\" integer DEFAULT 0 NOT NULL;"],
        },
        Case {
            rule: "ban-concurrent-index-creation-in-transaction",
            setup: "",
            dangerous: "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_c_index\" ON \"t\" USING btree (\"c\");",
            safe: &[
                "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_c_index\" ON \"t\" USING btree (\"c\");",
            ],
        },
        Case {
            rule: "ban-create-domain-with-constraint",
            setup: "",
            dangerous: "CREATE DOMAIN \"positive\" AS integer CHECK (VALUE > 0);",
            safe: &[
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_positive\" CHECK (\"c\" > 0) NOT VALID;",
                "-- app-db:no-transaction\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_positive\";",
            ],
        },
        Case {
            rule: "ban-alter-domain-with-add-constraint",
            setup: "CREATE DOMAIN \"amount\" AS integer;",
            dangerous: "ALTER DOMAIN \"amount\" ADD CONSTRAINT \"amount_positive\" CHECK (VALUE > 0);",
            safe: &[
                "ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_positive\" CHECK (\"c\" > 0) NOT VALID;",
                "-- app-db:no-transaction\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_positive\";",
            ],
        },
        Case {
            rule: "ban-truncate-cascade",
            setup: "",
            dangerous: "TRUNCATE \"r\" CASCADE;",
            safe: &["TRUNCATE \"r\";"],
        },
        Case {
            rule: "ban-uncommitted-transaction",
            setup: "",
            dangerous: "BEGIN;\nALTER TABLE \"t\" ADD COLUMN \"n\" text;",
            safe: &["ALTER TABLE \"t\" ADD COLUMN \"n\" text;"],
        },
        Case {
            rule: "identifier-too-long",
            setup: "",
            dangerous: "CREATE TABLE \"a_table_name_longer_than_the_sixty_three_bytes_postgresql_keeps_x\" (\"id\" integer);",
            safe: &["CREATE TABLE \"a_table_name_short_enough\" (\"id\" integer);"],
        },
        Case {
            rule: "require-concurrent-partition-detach",
            setup: "CREATE TABLE \"p\" (\"k\" integer) PARTITION BY RANGE (\"k\");--> statement-breakpoint\nCREATE TABLE \"p1\" PARTITION OF \"p\" FOR VALUES FROM (0) TO (10);",
            dangerous: "ALTER TABLE \"p\" DETACH PARTITION \"p1\";",
            safe: &[
                "-- app-db:no-transaction\nALTER TABLE \"p\" DETACH PARTITION \"p1\" CONCURRENTLY;",
            ],
        },
        Case {
            rule: "require-concurrent-reindex",
            setup: "CREATE INDEX \"t_c_index\" ON \"t\" (\"c\");",
            dangerous: "REINDEX INDEX \"t_c_index\";",
            safe: &["-- app-db:no-transaction\nREINDEX INDEX CONCURRENTLY \"t_c_index\";"],
        },
        Case {
            rule: "ban-duplicate-column-assignments",
            setup: "",
            dangerous: "UPDATE \"t\" SET \"c\" = 1, \"c\" = 2;",
            safe: &["UPDATE \"t\" SET \"c\" = 2;"],
        },
        Case {
            rule: "ban-drop-view",
            setup: "CREATE VIEW \"v\" AS SELECT \"id\" FROM \"t\";",
            dangerous: "DROP VIEW \"v\";",
            safe: &["-- app-db:allow ban-drop-view no release reads v since 2.4\nDROP VIEW \"v\";"],
        },
        Case {
            rule: "ban-drop-function",
            setup: "CREATE FUNCTION \"f\"() RETURNS integer LANGUAGE sql AS 'SELECT 1';",
            dangerous: "DROP FUNCTION \"f\"();",
            safe: &[
                "-- app-db:allow ban-drop-function no release calls f since 2.4\nDROP FUNCTION \"f\"();",
            ],
        },
        Case {
            rule: "ban-drop-type",
            setup: "CREATE TYPE \"public\".\"e\" AS ENUM('a', 'b');",
            dangerous: "DROP TYPE \"public\".\"e\";",
            safe: &[
                "-- app-db:allow ban-drop-type no column or release uses e since 2.4\nDROP TYPE \"public\".\"e\";",
            ],
        },
        Case {
            rule: "ban-drop-default",
            setup: "",
            dangerous: "ALTER TABLE \"t\" ALTER COLUMN \"d\" DROP DEFAULT;",
            safe: &[
                "-- app-db:allow ban-drop-default every insert sets t.d since 2.4\nALTER TABLE \"t\" ALTER COLUMN \"d\" DROP DEFAULT;",
            ],
        },
        Case {
            rule: "ban-drop-schema",
            setup: "CREATE SCHEMA \"old\";",
            dangerous: "DROP SCHEMA \"old\";",
            safe: &[
                "-- app-db:allow ban-drop-schema empty and unused since 2.4\nDROP SCHEMA \"old\";",
            ],
        },
        Case {
            rule: "ban-drop-sequence",
            setup: "CREATE SEQUENCE \"seq\";",
            dangerous: "DROP SEQUENCE \"seq\";",
            safe: &["-- app-db:allow ban-drop-sequence unused since 2.4\nDROP SEQUENCE \"seq\";"],
        },
        Case {
            rule: "ban-drop-domain",
            setup: "CREATE DOMAIN \"amount\" AS integer;",
            dangerous: "DROP DOMAIN \"amount\";",
            safe: &["-- app-db:allow ban-drop-domain no column uses it\nDROP DOMAIN \"amount\";"],
        },
        Case {
            rule: "ban-drop-generated-expression",
            setup: "ALTER TABLE \"t\" ADD COLUMN \"g\" integer GENERATED ALWAYS AS (\"id\" * 2) STORED;",
            dangerous: "ALTER TABLE \"t\" ALTER COLUMN \"g\" DROP EXPRESSION;",
            safe: &[
                "-- app-db:allow ban-drop-generated-expression the app computes t.g itself since 2.4\nALTER TABLE \"t\" ALTER COLUMN \"g\" DROP EXPRESSION;",
            ],
        },
        Case {
            rule: "renaming-object",
            setup: "",
            dangerous: "ALTER TABLE \"t\" RENAME CONSTRAINT \"t_id_check\" TO \"t_id_positive\";",
            safe: &[
                "-- app-db:allow renaming-object no code names this constraint\nALTER TABLE \"t\" RENAME CONSTRAINT \"t_id_check\" TO \"t_id_positive\";",
            ],
        },
        Case {
            rule: "ban-set-schema",
            setup: "CREATE SCHEMA \"archive\";",
            dangerous: "ALTER TABLE \"r\" SET SCHEMA \"archive\";",
            safe: &[
                "-- app-db:allow ban-set-schema no release reads r since 2.4\nALTER TABLE \"r\" SET SCHEMA \"archive\";",
            ],
        },
        Case {
            rule: "ban-alter-identity",
            setup: "",
            dangerous: "ALTER TABLE \"r\" ALTER COLUMN \"id\" ADD GENERATED BY DEFAULT AS IDENTITY;",
            safe: &[
                "-- app-db:allow ban-alter-identity inserts omit r.id since 2.4\nALTER TABLE \"r\" ALTER COLUMN \"id\" ADD GENERATED BY DEFAULT AS IDENTITY;",
            ],
        },
        Case {
            rule: "ban-drop-extension",
            setup: "CREATE EXTENSION IF NOT EXISTS \"vector\";",
            dangerous: "DROP EXTENSION \"vector\";",
            safe: &[
                "-- app-db:allow ban-drop-extension no column or query uses vector\nDROP EXTENSION \"vector\";",
            ],
        },
        Case {
            rule: "validate-constraint-in-transaction",
            setup: "ALTER TABLE \"t\" ADD CONSTRAINT \"t_c_check\" CHECK (\"c\" > 0) NOT VALID;",
            dangerous: "ALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_check\";",
            safe: &[
                "-- app-db:no-transaction\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_c_check\";",
            ],
        },
    ]
}

fn lint_text(tag: &str, sql: &str) -> lint::MigrationLint {
    lint::lint_sql(tag, tag, sql, !sql.starts_with(NO_TX))
}

#[test]
fn every_rule_that_is_on_has_a_case() {
    let on: Vec<&str> = RULES.iter().filter(|r| r.is_on()).map(|r| r.name).collect();
    let cases: Vec<&str> = cases().iter().map(|c| c.rule).collect();
    for name in &on {
        assert_eq!(
            cases.iter().filter(|c| *c == name).count(),
            1,
            "rule {name} needs exactly one case"
        );
    }
    for name in &cases {
        assert!(on.contains(name), "case for {name}, which is not on");
    }
}

#[test]
fn each_dangerous_statement_is_flagged_and_its_rewrite_passes() {
    let mut failures = Vec::new();
    for case in cases() {
        let dangerous = lint_text("dangerous", case.dangerous);
        if !dangerous
            .findings
            .iter()
            .any(|f| f.rule.name == case.rule && f.verdict == Verdict::NotAllowed)
            || dangerous.passes()
        {
            failures.push(format!(
                "{}: not flagged in {:?}: {:?}",
                case.rule, case.dangerous, dangerous.findings
            ));
        }
        for (i, safe) in case.safe.iter().enumerate() {
            let report = lint_text("safe", safe);
            if !(report.passes() && report.directives.is_empty() && report.unparsed.is_empty()) {
                failures.push(format!(
                    "{}: safe rewrite {} does not pass:\n{}",
                    case.rule,
                    i + 1,
                    lint::LintReport {
                        migrations: vec![report]
                    }
                    .render()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn each_safe_rewrite_applies_on_a_table_with_rows() {
    for (n, case) in cases().into_iter().enumerate() {
        let db = TestDatabase::empty()
            .await
            .unwrap_or_else(|e| panic!("no test database: {e}"));
        let mut conn = common::connect(&db.url).await;
        let base = if case.setup.is_empty() {
            BASE.to_string()
        } else {
            format!("{BASE}\n--> statement-breakpoint\n{}", case.setup)
        };
        let mut migrations = vec![common::migration(0, 1_700_000_000_000, &base)];
        for (i, sql) in case.safe.iter().enumerate() {
            let idx = u32::try_from(i + 1).expect("few migrations");
            migrations.push(common::migration(
                idx,
                1_700_000_000_000 + i64::from(idx),
                sql,
            ));
        }
        let report = app_db::Migrator::with_migrations(common::list(migrations))
            .run(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("case {n} ({}): the safe rewrite failed: {e}", case.rule));
        assert_eq!(report.applied.len(), case.safe.len() + 1, "{}", case.rule);
    }
}

#[test]
fn docs_list_the_rule_set_as_the_code_has_it() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("read docs/cli.md");
    for rule in RULES {
        let state = if rule.is_on() { "on" } else { "off" };
        let row = format!("| `{}` | {state} |", rule.name);
        assert!(
            docs.contains(&row),
            "docs/cli.md has no row starting `{row}` in the lint rule table"
        );
    }
    let rows = docs
        .lines()
        .filter(|l| l.starts_with("| `") && (l.contains("` | on |") || l.contains("` | off |")))
        .count();
    assert_eq!(
        rows,
        RULES.len(),
        "docs/cli.md lists rules the code does not have"
    );
}
