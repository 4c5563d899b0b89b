//! The decision: which violations are findings that fail, which are allowed, which concern a
//! table the same migration created. Pure: fed by the statements, the violations and the
//! migration's text, tested without a database.

use std::collections::BTreeSet;

use super::rules::{RuleSpec, State, rule};
use super::squawk::Violation;
use super::statements::{SqlStatement, Statements};
use crate::journal::allow::{Allow, AllowProblem, allow_lines, allows_above};

/// What happens to a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It fails `migration lint`.
    NotAllowed,
    /// An `-- app-db:allow` line above the statement accepts it.
    Allowed {
        /// The directive's reason.
        reason: String,
        /// The directive's 1-based line.
        line: usize,
    },
    /// The statement concerns a table created earlier in the same migration (or, when the
    /// pending migrations are linted together, by an earlier one of them, which the same `up`
    /// applies first): no rows, no readers, nothing to fear.
    NewTable {
        /// The table.
        table: String,
    },
}

/// A violation judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The rule.
    pub rule: &'static RuleSpec,
    /// The statement it is in.
    pub statement: SqlStatement,
    /// The decision.
    pub verdict: Verdict,
}

/// Something wrong with the directives themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveIssue {
    /// A malformed directive (no rule, no reason): fails the lint.
    Malformed(AllowProblem),
    /// A directive naming a rule the set does not have (a typo): fails the lint.
    UnknownRule {
        /// The 1-based line.
        line: usize,
        /// The name written.
        rule: String,
    },
    /// A directive that accepted nothing (misplaced, or the statement changed): a warning.
    Unused {
        /// The 1-based line.
        line: usize,
        /// The rule it names.
        rule: String,
        /// Whether that rule is off (so it can never match).
        rule_off: bool,
    },
}

impl DirectiveIssue {
    /// Whether it fails the lint (a warning otherwise).
    pub fn fails(&self) -> bool {
        !matches!(self, Self::Unused { .. })
    }
}

impl std::fmt::Display for DirectiveIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(problem) => write!(f, "{problem}"),
            Self::UnknownRule { line, rule } => write!(
                f,
                "line {line}: `-- app-db:allow {rule}` names no rule app-db knows; use a rule name from `migration lint`'s findings (docs/cli.md lists them all)"
            ),
            Self::Unused {
                line,
                rule,
                rule_off: true,
            } => write!(
                f,
                "line {line}: `-- app-db:allow {rule}` is not needed: app-db does not judge {rule} (docs/cli.md says why); remove the line"
            ),
            Self::Unused { line, rule, .. } => write!(
                f,
                "line {line}: `-- app-db:allow {rule}` accepts nothing: no {rule} finding on the statement right below it; put it directly above the flagged statement, or remove it"
            ),
        }
    }
}

/// Judges `violations` of the migration text `sql`, whose statements are `statements`;
/// `created_before` are tables that will be new when it runs (created by earlier migrations of
/// the same run).
pub fn judge(
    sql: &str,
    statements: &Statements,
    violations: &[Violation],
    created_before: &BTreeSet<String>,
) -> (Vec<Judged>, Vec<DirectiveIssue>) {
    let mut judged = Vec::new();
    let mut used: BTreeSet<usize> = BTreeSet::new();
    for violation in violations {
        let Some(spec) = rule(&violation.rule).filter(|r| r.is_on()) else {
            continue;
        };
        let Some(statement) = statements.at(violation.start) else {
            continue;
        };
        let verdict = verdict(sql, statements, statement, spec, created_before, &mut used);
        judged.push(Judged {
            rule: spec,
            statement: statement.clone(),
            verdict,
        });
    }
    let mut issues = Vec::new();
    for directive in allow_lines(sql) {
        match directive {
            Err(problem) => issues.push(DirectiveIssue::Malformed(problem)),
            Ok(Allow {
                rule: name, line, ..
            }) => match rule(&name) {
                None => issues.push(DirectiveIssue::UnknownRule { line, rule: name }),
                Some(spec) if !used.contains(&line) => issues.push(DirectiveIssue::Unused {
                    line,
                    rule: name,
                    rule_off: !spec.is_on(),
                }),
                Some(_) => {}
            },
        }
    }
    (judged, issues)
}

fn verdict(
    sql: &str,
    statements: &Statements,
    statement: &SqlStatement,
    spec: &RuleSpec,
    created_before: &BTreeSet<String>,
    used: &mut BTreeSet<usize>,
) -> Verdict {
    let exempt = matches!(
        spec.state,
        State::On {
            new_table_exempt: true,
            ..
        }
    );
    if exempt
        && let Some(table) = &statement.target
        && (created_before.contains(table)
            || statements
                .list
                .iter()
                .take_while(|s| s.start < statement.start)
                .any(|s| s.creates.as_ref() == Some(table)))
    {
        return Verdict::NewTable {
            table: table.clone(),
        };
    }
    match allows_above(sql, statement.start)
        .into_iter()
        .find(|a| a.rule == spec.name)
    {
        Some(allow) => {
            used.insert(allow.line);
            Verdict::Allowed {
                reason: allow.reason,
                line: allow.line,
            }
        }
        None => Verdict::NotAllowed,
    }
}

#[cfg(test)]
mod tests {
    use super::super::statements::read;
    use super::*;

    const INDEX_RULE: &str = "require-concurrent-index-creation";

    fn judge_one(sql: &str, rule_name: &str, at: &str) -> (Vec<Verdict>, Vec<DirectiveIssue>) {
        let statements = read(sql);
        let violation = Violation {
            rule: rule_name.into(),
            start: sql.find(at).expect("flagged text"),
        };
        let (judged, issues) = judge(sql, &statements, &[violation], &BTreeSet::new());
        (judged.into_iter().map(|j| j.verdict).collect(), issues)
    }

    #[test]
    fn a_finding_without_a_directive_is_not_allowed() {
        let (verdicts, issues) = judge_one("CREATE INDEX i ON t (c);", INDEX_RULE, "CREATE");
        assert_eq!(verdicts, vec![Verdict::NotAllowed]);
        assert!(issues.is_empty());
    }

    #[test]
    fn a_directive_above_the_statement_allows_it() {
        let sql = "SELECT 1;\n-- app-db:allow require-concurrent-index-creation t has 12 rows\nCREATE INDEX i ON t (c);";
        let (verdicts, issues) = judge_one(sql, INDEX_RULE, "CREATE");
        assert_eq!(
            verdicts,
            vec![Verdict::Allowed {
                reason: "t has 12 rows".into(),
                line: 2
            }]
        );
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn a_directive_for_another_rule_allows_nothing_and_is_reported() {
        let sql = "-- app-db:allow ban-drop-column old\nCREATE INDEX i ON t (c);";
        let (verdicts, issues) = judge_one(sql, INDEX_RULE, "CREATE");
        assert_eq!(verdicts, vec![Verdict::NotAllowed]);
        assert_eq!(
            issues,
            vec![DirectiveIssue::Unused {
                line: 1,
                rule: "ban-drop-column".into(),
                rule_off: false
            }]
        );
        assert!(!issues[0].fails());
    }

    #[test]
    fn a_table_created_earlier_in_the_migration_is_not_flagged() {
        let sql = "CREATE TABLE \"t\" (c int);\n--> statement-breakpoint\nCREATE INDEX i ON t (c);";
        let (verdicts, _) = judge_one(sql, INDEX_RULE, "CREATE INDEX");
        assert_eq!(verdicts, vec![Verdict::NewTable { table: "t".into() }]);
        // Only earlier: a table created after the statement does not count.
        let sql = "CREATE INDEX i ON t (c);\nCREATE TABLE t (c int);";
        let (verdicts, _) = judge_one(sql, INDEX_RULE, "CREATE INDEX");
        assert_eq!(verdicts, vec![Verdict::NotAllowed]);
    }

    #[test]
    fn a_table_an_earlier_migration_of_the_run_creates_is_new_too() {
        let sql = "CREATE INDEX i ON \"t\" (c);";
        let statements = read(sql);
        let violation = Violation {
            rule: INDEX_RULE.into(),
            start: 0,
        };
        let created = BTreeSet::from(["t".to_string()]);
        let (judged, _) = judge(sql, &statements, &[violation], &created);
        assert_eq!(judged[0].verdict, Verdict::NewTable { table: "t".into() });
    }

    #[test]
    fn rules_about_failing_are_not_excused_by_a_new_table() {
        let sql = "CREATE TABLE t (c int);\nCREATE INDEX CONCURRENTLY i ON t (c);";
        let (verdicts, _) = judge_one(
            sql,
            "ban-concurrent-index-creation-in-transaction",
            "CONCURRENTLY",
        );
        assert_eq!(verdicts, vec![Verdict::NotAllowed]);
    }

    #[test]
    fn bad_directives_fail() {
        let sql = "-- app-db:allow require-concurent-index-creation typo\n-- app-db:allow ban-drop-table\n-- app-db:allow require-lock-timeout set by app-db\nSELECT 1;";
        let (_, issues) = judge(sql, &read(sql), &[], &BTreeSet::new());
        assert_eq!(issues.len(), 3, "{issues:?}");
        assert!(issues[0].fails() && issues[1].fails() && !issues[2].fails());
        assert!(
            issues[0].to_string().contains("names no rule"),
            "{}",
            issues[0]
        );
        assert!(
            issues[2].to_string().contains("does not judge"),
            "{}",
            issues[2]
        );
    }

    #[test]
    fn rules_that_are_off_are_never_findings() {
        let (verdicts, _) = judge_one("CREATE INDEX i ON t (c);", "require-lock-timeout", "CREATE");
        assert!(verdicts.is_empty());
    }
}
