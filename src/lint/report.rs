//! What a lint found, per migration and in all, and how it reads.

use serde_json::{Value, json};

use super::policy::{DirectiveIssue, Verdict};
use super::rules::{RuleSpec, State};

/// One finding: a rule that is on, violated by one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static RuleSpec,
    /// The 1-based index of the statement among those the migrator executes.
    pub statement: usize,
    /// How many statements the migrator executes for the file.
    pub statements: usize,
    /// The statement's 1-based line in the file.
    pub line: usize,
    /// The statement's first line.
    pub first_line: String,
    /// What happens to it.
    pub verdict: Verdict,
}

impl Finding {
    /// Why the statement is dangerous (empty for a rule that is off, which never has findings).
    pub fn danger(&self) -> &'static str {
        match self.rule.state {
            State::On { danger, .. } => danger,
            State::Off { .. } => "",
        }
    }

    /// The safe rewrite.
    pub fn rewrite(&self) -> &'static str {
        match self.rule.state {
            State::On { rewrite, .. } => rewrite,
            State::Off { .. } => "",
        }
    }
}

/// The lint of one migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationLint {
    /// The migration's tag.
    pub tag: String,
    /// The file, as shown to the user.
    pub file: String,
    /// Whether app-db runs it in a transaction.
    pub transactional: bool,
    /// Every finding, in file order (allowed and new-table ones included).
    pub findings: Vec<Finding>,
    /// Problems with `-- app-db:allow` lines.
    pub directives: Vec<DirectiveIssue>,
    /// Statements the parser could not read (not judged): `(line, message)`.
    pub unparsed: Vec<(usize, String)>,
}

impl MigrationLint {
    /// Findings that fail the lint.
    pub fn not_allowed(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.verdict == Verdict::NotAllowed)
    }

    /// Whether the file passes: no finding that is not allowed, no broken directive.
    pub fn passes(&self) -> bool {
        self.not_allowed().next().is_none() && !self.directives.iter().any(|d| d.fails())
    }
}

/// The lint of several migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintReport {
    /// In journal order.
    pub migrations: Vec<MigrationLint>,
}

impl LintReport {
    /// Whether every file passes.
    pub fn passes(&self) -> bool {
        self.migrations.iter().all(MigrationLint::passes)
    }

    fn count(&self, wanted: impl Fn(&Verdict) -> bool) -> usize {
        self.migrations
            .iter()
            .flat_map(|m| &m.findings)
            .filter(|f| wanted(&f.verdict))
            .count()
    }

    /// Findings that fail.
    pub fn not_allowed(&self) -> usize {
        self.count(|v| *v == Verdict::NotAllowed)
    }

    /// Findings accepted by a directive.
    pub fn allowed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Allowed { .. }))
    }

    /// Findings on tables created earlier in the same migration.
    pub fn on_new_tables(&self) -> usize {
        self.count(|v| matches!(v, Verdict::NewTable { .. }))
    }

    /// The findings and directive problems as text, one block per finding; the summary line
    /// last. Findings on new tables are only counted.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for migration in &self.migrations {
            for finding in &migration.findings {
                let head = format!(
                    "{}: statement {} of {} (line {}): {}",
                    migration.file,
                    finding.statement,
                    finding.statements,
                    finding.line,
                    finding.first_line
                );
                match &finding.verdict {
                    Verdict::NotAllowed => out.push_str(&format!(
                        "{head}\n  {}: {}\n  fix: {}; or, if the risk is acceptable here, put `-- app-db:allow {} <reason>` on the line above the statement\n",
                        finding.rule.name,
                        finding.danger(),
                        finding.rewrite(),
                        finding.rule.name
                    )),
                    Verdict::Allowed { reason, line } => out.push_str(&format!(
                        "{head}\n  {}: allowed on line {line}: {reason}\n",
                        finding.rule.name
                    )),
                    Verdict::NewTable { .. } => {}
                }
            }
            for issue in &migration.directives {
                let kind = if issue.fails() { "error" } else { "warning" };
                out.push_str(&format!("{}: {kind}: {issue}\n", migration.file));
            }
            for (line, message) in &migration.unparsed {
                out.push_str(&format!(
                    "{}: warning: line {line}: the linter's parser cannot read this ({message}); the statement is not judged\n",
                    migration.file
                ));
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// One line: how many migrations, findings by verdict.
    pub fn summary(&self) -> String {
        let broken = self
            .migrations
            .iter()
            .flat_map(|m| &m.directives)
            .filter(|d| d.fails())
            .count();
        let mut line = format!(
            "linted {} migration(s): {} finding(s) not allowed, {} allowed, {} on tables new in the same migration or run (not flagged)",
            self.migrations.len(),
            self.not_allowed(),
            self.allowed(),
            self.on_new_tables()
        );
        if broken > 0 {
            line.push_str(&format!(", {broken} broken allow directive(s)"));
        }
        line
    }

    /// The report as JSON (the shape is documented in docs/cli.md).
    pub fn to_json(&self) -> Value {
        let migrations: Vec<Value> = self
            .migrations
            .iter()
            .map(|m| {
                json!({
                    "tag": m.tag,
                    "file": m.file,
                    "transaction": m.transactional,
                    "passes": m.passes(),
                    "findings": m.findings.iter().map(|f| {
                        let (verdict, reason, allow_line, table) = match &f.verdict {
                            Verdict::NotAllowed => ("not-allowed", None, None, None),
                            Verdict::Allowed { reason, line } => ("allowed", Some(reason.clone()), Some(*line), None),
                            Verdict::NewTable { table } => ("new-table", None, None, Some(table.clone())),
                        };
                        json!({
                            "rule": f.rule.name,
                            "statement": f.statement,
                            "statements": f.statements,
                            "line": f.line,
                            "first_line": f.first_line,
                            "verdict": verdict,
                            "reason": reason,
                            "allow_line": allow_line,
                            "table": table,
                            "danger": f.danger(),
                            "rewrite": f.rewrite(),
                        })
                    }).collect::<Vec<_>>(),
                    "directive_problems": m.directives.iter().map(|d| json!({
                        "fails": d.fails(),
                        "message": d.to_string(),
                    })).collect::<Vec<_>>(),
                    "unparsed": m.unparsed.iter().map(|(line, message)| json!({
                        "line": line,
                        "message": message,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "migrations": migrations,
            "not_allowed": self.not_allowed(),
            "allowed": self.allowed(),
            "new_table": self.on_new_tables(),
            "passes": self.passes(),
        })
    }
}
