//! The `-- app-db:allow <rule> <reason>` directive: an accepted lint risk, written on the line
//! directly above the statement it concerns.
//!
//! Like `-- app-db:no-transaction` it is an SQL comment, so drizzle-orm and psql run the file
//! unchanged; only `migration lint` (and `generate`, `verify --lint`) give it a meaning. Pure
//! text handling: which rules exist is the linter's business (`app_db::lint`), not the
//! journal's, so this module stays includable from `build.rs`.

/// The prefix of an allow directive line.
pub const ALLOW_DIRECTIVE: &str = "-- app-db:allow";

/// One allow directive as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The rule's name as written (e.g. `require-concurrent-index-creation`).
    pub rule: String,
    /// Why the risk is accepted: the rest of the line, trimmed.
    pub reason: String,
    /// The 1-based line of the file the directive is on.
    pub line: usize,
}

/// A line that claims to be an allow directive but is not a usable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowProblem {
    /// `-- app-db:allow` with nothing after it.
    MissingRule {
        /// The 1-based line.
        line: usize,
    },
    /// A rule but no reason: every accepted risk says why.
    MissingReason {
        /// The 1-based line.
        line: usize,
        /// The rule named.
        rule: String,
    },
}

impl AllowProblem {
    /// The 1-based line of the directive.
    pub fn line(&self) -> usize {
        match self {
            Self::MissingRule { line } | Self::MissingReason { line, .. } => *line,
        }
    }
}

impl std::fmt::Display for AllowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingRule { line } => write!(
                f,
                "line {line}: `{ALLOW_DIRECTIVE}` names no rule; write `{ALLOW_DIRECTIVE} <rule> <reason>`"
            ),
            Self::MissingReason { line, rule } => write!(
                f,
                "line {line}: `{ALLOW_DIRECTIVE} {rule}` gives no reason; write why the risk is acceptable after the rule's name"
            ),
        }
    }
}

/// Reads one line: `None` when it is not an allow directive, otherwise the directive or what
/// is wrong with it. `line` is the 1-based line number reported back.
///
/// Leading and trailing whitespace (a CRLF's `\r`) are ignored; `-- app-db:allowed` is not
/// this directive (it is no directive at all).
pub fn parse_allow_line(text: &str, line: usize) -> Option<Result<Allow, AllowProblem>> {
    let trimmed = text.trim();
    let rest = trimmed.strip_prefix(ALLOW_DIRECTIVE)?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let rest = rest.trim_start();
    let (rule, reason) = match rest.find(char::is_whitespace) {
        Some(end) => (&rest[..end], rest[end..].trim()),
        None => (rest, ""),
    };
    Some(if rule.is_empty() {
        Err(AllowProblem::MissingRule { line })
    } else if reason.is_empty() {
        Err(AllowProblem::MissingReason {
            line,
            rule: rule.to_owned(),
        })
    } else {
        Ok(Allow {
            rule: rule.to_owned(),
            reason: reason.to_owned(),
            line,
        })
    })
}

/// Every allow directive line of `sql`, in order, usable or not.
pub fn allow_lines(sql: &str) -> Vec<Result<Allow, AllowProblem>> {
    sql.split('\n')
        .enumerate()
        .filter_map(|(i, text)| parse_allow_line(text, i + 1))
        .collect()
}

/// The usable directives that apply to a statement starting at byte `offset` of `sql`: those on
/// the lines directly above the statement's first line, up to the first line that is not an
/// allow directive. A blank line or any other comment in between detaches them.
pub fn allows_above(sql: &str, offset: usize) -> Vec<Allow> {
    let offset = offset.min(sql.len());
    let before = &sql[..floor_char_boundary(sql, offset)];
    // The statement's own line starts after the last newline before it.
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let statement_line = before[..line_start].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut lines_above = before[..line_start].split('\n').rev();
    // The split leaves an empty piece after the final newline.
    lines_above.next();
    for (distance, text) in lines_above.enumerate() {
        match parse_allow_line(text, statement_line - 1 - distance) {
            Some(Ok(allow)) => found.push(allow),
            Some(Err(_)) => continue,
            None => break,
        }
    }
    found.reverse();
    found
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(rule: &str, reason: &str, line: usize) -> Allow {
        Allow {
            rule: rule.into(),
            reason: reason.into(),
            line,
        }
    }

    #[test]
    fn a_directive_names_a_rule_and_a_reason() {
        assert_eq!(
            parse_allow_line(
                "-- app-db:allow ban-drop-column  the app stopped reading it in 2.3 ",
                4
            ),
            Some(Ok(allow(
                "ban-drop-column",
                "the app stopped reading it in 2.3",
                4
            )))
        );
        assert_eq!(
            parse_allow_line("  -- app-db:allow\tx\ty z\r", 1),
            Some(Ok(allow("x", "y z", 1)))
        );
    }

    #[test]
    fn other_lines_are_not_directives() {
        assert_eq!(parse_allow_line("-- a comment", 1), None);
        assert_eq!(parse_allow_line("-- app-db:no-transaction", 1), None);
        assert_eq!(parse_allow_line("-- app-db:allowed x y", 1), None);
        assert_eq!(parse_allow_line("SELECT 1; -- app-db:allow x y", 1), None);
    }

    #[test]
    fn a_rule_and_a_reason_are_required() {
        assert_eq!(
            parse_allow_line("-- app-db:allow", 2),
            Some(Err(AllowProblem::MissingRule { line: 2 }))
        );
        assert_eq!(
            parse_allow_line("-- app-db:allow   ", 2),
            Some(Err(AllowProblem::MissingRule { line: 2 }))
        );
        let problem = parse_allow_line("-- app-db:allow ban-drop-table", 3)
            .and_then(Result::err)
            .expect("no reason");
        assert_eq!(
            problem,
            AllowProblem::MissingReason {
                line: 3,
                rule: "ban-drop-table".into()
            }
        );
        assert!(problem.to_string().contains("line 3"), "{problem}");
    }

    #[test]
    fn directives_directly_above_a_statement_apply_to_it() {
        let sql = "CREATE TABLE a ();--> statement-breakpoint\n-- app-db:allow r1 first reason\n-- app-db:allow r2 second\nALTER TABLE b ADD c int;";
        let offset = sql.find("ALTER").expect("statement");
        assert_eq!(
            allows_above(sql, offset),
            vec![allow("r1", "first reason", 2), allow("r2", "second", 3)]
        );
    }

    #[test]
    fn anything_in_between_detaches_a_directive() {
        for sql in [
            "-- app-db:allow r1 why\n\nALTER TABLE b ADD c int;",
            "-- app-db:allow r1 why\n-- another note\nALTER TABLE b ADD c int;",
            "-- app-db:allow r1 why\n--> statement-breakpoint\nALTER TABLE b ADD c int;",
        ] {
            let offset = sql.find("ALTER").expect("statement");
            assert_eq!(allows_above(sql, offset), vec![], "{sql:?}");
        }
    }

    #[test]
    fn a_statement_on_the_first_line_has_none() {
        assert_eq!(allows_above("ALTER TABLE b ADD c int;", 0), vec![]);
        // Text before the statement on its own line keeps the lines above in view.
        let sql = "-- app-db:allow r why\n  ALTER TABLE b ADD c int;";
        assert_eq!(
            allows_above(sql, sql.find("ALTER").expect("statement")),
            vec![allow("r", "why", 1)]
        );
    }

    #[test]
    fn every_directive_line_is_listed() {
        let sql = "-- app-db:allow a why\nSELECT 1;\n-- app-db:allow b\n";
        assert_eq!(
            allow_lines(sql),
            vec![
                Ok(allow("a", "why", 1)),
                Err(AllowProblem::MissingReason {
                    line: 3,
                    rule: "b".into()
                })
            ]
        );
    }
}
