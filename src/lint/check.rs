//! Linting a migration: squawk's violations and app-db's own, judged by the policy.

use std::collections::BTreeSet;
use std::path::Path;

use super::own_rules;
use super::policy::judge;
use super::report::{Finding, LintReport, MigrationLint};
use super::squawk;
use super::statements;
use crate::migrations::Migration;

/// Lints one migration's text. `file` is how the file is named in the report; `transactional`
/// is false for a `-- app-db:no-transaction` migration.
pub fn lint_sql(tag: &str, file: &str, sql: &str, transactional: bool) -> MigrationLint {
    lint_in_run(tag, file, sql, transactional, &mut BTreeSet::new())
}

/// [`lint_sql`] for a migration applied after others in the same run: `created` holds the
/// tables those create (new when this one runs), and gets this one's.
fn lint_in_run(
    tag: &str,
    file: &str,
    sql: &str,
    transactional: bool,
    created: &mut BTreeSet<String>,
) -> MigrationLint {
    let statements = statements::read(sql);
    let violations = own_rules::merge(
        &statements,
        squawk::violations(sql, transactional),
        own_rules::violations(&statements, transactional),
    );
    let (judged, directives) = judge(sql, &statements, &violations, created);
    created.extend(statements.list.iter().filter_map(|s| s.creates.clone()));
    let findings = judged
        .into_iter()
        .map(|j| Finding {
            rule: j.rule,
            statement: j.statement.piece,
            statements: statements.pieces,
            line: j.statement.line,
            first_line: j.statement.first_line,
            verdict: j.verdict,
        })
        .collect();
    let unparsed = statements
        .parse_errors
        .iter()
        .map(|(offset, message)| {
            let offset = (*offset).min(sql.len());
            let line = sql.as_bytes()[..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            (line, message.clone())
        })
        .collect();
    MigrationLint {
        tag: tag.to_string(),
        file: file.to_string(),
        transactional,
        findings,
        directives,
        unparsed,
    }
}

/// Lints `migrations` each on its own (history, or files named one by one), naming each file
/// as `<dir>/<tag>.sql`.
pub fn lint_migrations<'a>(
    migrations: impl IntoIterator<Item = &'a Migration>,
    dir: &Path,
) -> LintReport {
    LintReport {
        migrations: migrations
            .into_iter()
            .map(|m| {
                let file = dir.join(format!("{}.sql", m.tag));
                lint_sql(m.tag, &file.display().to_string(), m.sql, m.transaction)
            })
            .collect(),
    }
}

/// Lints the pending migrations of a database, in the order one `up` applies them: a table an
/// earlier one creates is new (no rows, no readers) for the later ones too.
pub fn lint_pending<'a>(
    migrations: impl IntoIterator<Item = &'a Migration>,
    dir: &Path,
) -> LintReport {
    let mut created = BTreeSet::new();
    LintReport {
        migrations: migrations
            .into_iter()
            .map(|m| {
                let file = dir.join(format!("{}.sql", m.tag));
                lint_in_run(
                    m.tag,
                    &file.display().to_string(),
                    m.sql,
                    m.transaction,
                    &mut created,
                )
            })
            .collect(),
    }
}
