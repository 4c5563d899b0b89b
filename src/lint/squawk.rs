//! The adapter to squawk: one migration file in, the violations of the rules that are on out,
//! located by byte offsets in the file.

use squawk_linter::{Linter, LinterSettings, Rule};
use squawk_syntax::SourceFile;

use super::rules::squawk_rules_on;

/// The PostgreSQL version app-db runs (the embedded server and the supported servers).
const PG_VERSION: &str = "16";

/// One violation, by rule name and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name (squawk's spelling).
    pub rule: String,
    /// Byte offset of the flagged text.
    pub start: usize,
}

/// Runs squawk on a whole migration file with PostgreSQL 16 settings; `transactional` is
/// squawk's `assume_in_transaction` (app-db runs the file in one transaction unless it starts
/// with `-- app-db:no-transaction`).
///
/// squawk's own comments (`squawk-ignore …`, `squawk-disable-assume-in-transaction`) are not
/// honoured: they are made unrecognisable first, byte for byte so offsets stay, because the one
/// way to accept a risk in app-db is an `-- app-db:allow <rule> <reason>` line.
pub fn violations(sql: &str, transactional: bool) -> Vec<Violation> {
    let text = sql.replace("squawk-", "squawk_");
    let parse = SourceFile::parse(&text);
    let mut linter = Linter::from(squawk_rules_on().filter_map(|name| name.parse::<Rule>().ok()));
    linter.settings = LinterSettings {
        pg_version: PG_VERSION.parse().unwrap_or_default(),
        assume_in_transaction: transactional,
    };
    linter
        .lint(&parse, &text)
        .into_iter()
        .map(|v| Violation {
            rule: v.code.to_string(),
            start: usize::from(v.text_range.start()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(sql: &str, transactional: bool) -> Vec<String> {
        violations(sql, transactional)
            .into_iter()
            .map(|v| v.rule)
            .collect()
    }

    #[test]
    fn the_rules_that_are_off_are_not_reported() {
        // squawk's defaults would add require-lock-timeout and require-statement-timeout.
        assert_eq!(
            rules("CREATE INDEX i ON t (c);", true),
            vec!["require-concurrent-index-creation"]
        );
    }

    #[test]
    fn in_a_transaction_a_new_table_is_not_flagged_by_squawk() {
        let sql = "CREATE TABLE t (c int);\nALTER TABLE t ADD CONSTRAINT u UNIQUE (c);";
        assert!(rules(sql, true).is_empty(), "{:?}", rules(sql, true));
    }

    #[test]
    fn squawk_ignore_comments_are_not_honoured() {
        let sql = "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON t (c);";
        assert_eq!(rules(sql, true), vec!["require-concurrent-index-creation"]);
        let v = violations(sql, true);
        assert_eq!(v[0].start, sql.find("CREATE").expect("statement"));
    }
}
