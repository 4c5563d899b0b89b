//! What app-db checks itself, because only app-db knows how it runs a migration. Pure.
//!
//! - `validate-constraint-in-transaction`: app-db applies all pending transactional migrations
//!   of a run in one transaction, so a `VALIDATE CONSTRAINT` in a transactional migration can
//!   scan under a strong lock taken by an earlier migration of the same run; squawk, which sees
//!   one file at a time, only knows about the same file.
//! - A lone `CREATE INDEX CONCURRENTLY` in a transactional migration: squawk assumes a file of
//!   one statement runs outside a transaction, but app-db runs every migration without
//!   `-- app-db:no-transaction` inside one, where it fails.
//!
//! And what app-db knows to be moot: squawk's prefer-robust-stmts on a `VALIDATE CONSTRAINT`
//! (validating a valid constraint again does nothing, so a rerun passes) and on the last
//! statement of a no-transaction migration (a statement is atomic: if it fails nothing of it
//! stays, and once it succeeds the migration is recorded, so no rerun repeats it).

use super::rules::VALIDATE_IN_TRANSACTION;
use super::squawk::Violation;
use super::statements::Statements;

/// The rule squawk reports `CREATE INDEX CONCURRENTLY` in a transaction under.
const CONCURRENT_IN_TRANSACTION: &str = "ban-concurrent-index-creation-in-transaction";

/// squawk's rule for statements a rerun would repeat.
const ROBUST: &str = "prefer-robust-stmts";

/// app-db's own violations in a migration's statements.
pub fn violations(statements: &Statements, transactional: bool) -> Vec<Violation> {
    if !transactional {
        return Vec::new();
    }
    let mut out = Vec::new();
    for statement in &statements.list {
        for (start, _) in &statement.validates {
            out.push(Violation {
                rule: VALIDATE_IN_TRANSACTION.into(),
                start: *start,
            });
        }
        if let Some((start, _)) = statement.concurrently {
            out.push(Violation {
                rule: CONCURRENT_IN_TRANSACTION.into(),
                start,
            });
        }
    }
    out
}

/// squawk's violations plus app-db's, without repeats: one violation per rule and place, and no
/// `validate-constraint-in-transaction` where squawk already reported the same `VALIDATE`
/// (constraint-missing-not-valid: NOT VALID and VALIDATE in one file) in that statement; and
/// without squawk's moot prefer-robust-stmts findings (see the module's documentation).
pub fn merge(
    statements: &Statements,
    squawk: Vec<Violation>,
    own: Vec<Violation>,
) -> Vec<Violation> {
    let last = statements.list.last().map(|s| s.start);
    let mut all: Vec<Violation> = squawk
        .into_iter()
        .filter(|v| {
            let Some(statement) = statements.at(v.start) else {
                return true;
            };
            let moot = Some(statement.start) == last
                || statement
                    .validates
                    .iter()
                    .any(|(start, end)| (*start..*end).contains(&v.start));
            !(v.rule == ROBUST && moot)
        })
        .collect();
    for violation in own {
        let statement = statements.at(violation.start).map(|s| s.start);
        let repeated = all.iter().any(|v| {
            (v.rule == violation.rule && v.start == violation.start)
                || (violation.rule == VALIDATE_IN_TRANSACTION
                    && v.rule == "constraint-missing-not-valid"
                    && statements.at(v.start).map(|s| s.start) == statement)
        });
        if !repeated {
            all.push(violation);
        }
    }
    all.sort_by_key(|v| v.start);
    all
}

#[cfg(test)]
mod tests {
    use super::super::statements::read;
    use super::*;

    fn rules(sql: &str, transactional: bool) -> Vec<String> {
        violations(&read(sql), transactional)
            .into_iter()
            .map(|v| v.rule)
            .collect()
    }

    #[test]
    fn validate_in_a_transactional_migration_is_flagged() {
        let sql = "ALTER TABLE \"t\" VALIDATE CONSTRAINT \"c\";";
        assert_eq!(rules(sql, true), vec![VALIDATE_IN_TRANSACTION]);
        assert!(rules(sql, false).is_empty());
    }

    #[test]
    fn a_lone_concurrent_index_in_a_transactional_migration_is_flagged() {
        let sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c);";
        assert_eq!(rules(sql, true), vec![CONCURRENT_IN_TRANSACTION]);
        assert!(rules(sql, false).is_empty());
    }

    #[test]
    fn robust_statements_are_not_asked_of_validate_or_of_the_last_statement() {
        let sql = "-- app-db:no-transaction\nALTER TABLE t VALIDATE CONSTRAINT c;--> statement-breakpoint\nALTER TABLE t DETACH PARTITION p CONCURRENTLY;--> statement-breakpoint\nALTER TABLE t DETACH PARTITION q CONCURRENTLY;";
        let statements = read(sql);
        let at = |text: &str| Violation {
            rule: ROBUST.into(),
            start: sql.find(text).expect("flagged text"),
        };
        let squawk = vec![
            at("VALIDATE CONSTRAINT"),
            at("DETACH PARTITION p"),
            at("DETACH PARTITION q"),
        ];
        let kept = merge(&statements, squawk, Vec::new());
        assert_eq!(kept, vec![at("DETACH PARTITION p")]);
    }

    #[test]
    fn merging_drops_what_squawk_reported_already() {
        let sql = "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;\nCREATE INDEX CONCURRENTLY i ON t (c);";
        let statements = read(sql);
        let validate = sql.find("VALIDATE").expect("validate");
        let concurrently = sql.find("CONCURRENTLY").expect("concurrently");
        let squawk = vec![
            Violation {
                rule: "constraint-missing-not-valid".into(),
                start: sql.find("ALTER TABLE t VALIDATE").expect("statement"),
            },
            Violation {
                rule: CONCURRENT_IN_TRANSACTION.into(),
                start: concurrently,
            },
        ];
        let merged = merge(&statements, squawk, violations(&statements, true));
        assert_eq!(merged.len(), 2, "{merged:?}");
        assert!(merged.iter().all(|v| v.rule != VALIDATE_IN_TRANSACTION));
        let alone = merge(&statements, Vec::new(), violations(&statements, true));
        assert_eq!(
            alone.iter().map(|v| v.start).collect::<Vec<_>>(),
            vec![validate, concurrently]
        );
    }
}
