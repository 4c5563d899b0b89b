//! app-db's first-line directives: `-- app-db:<name>`.
//!
//! A directive is an SQL comment, so drizzle-orm (and psql) run such a file unchanged; only
//! app-db gives it a meaning.

/// The first line that makes a migration run outside a transaction, one statement at a time,
/// for statements PostgreSQL refuses inside one (`CREATE INDEX CONCURRENTLY`; drizzle-orm
/// issue 860).
pub const NO_TRANSACTION_DIRECTIVE: &str = "-- app-db:no-transaction";

/// Every directive app-db knows, for error messages.
pub const KNOWN_DIRECTIVES: &[&str] = &[NO_TRANSACTION_DIRECTIVE];

/// The prefix that claims a first line as a directive.
const DIRECTIVE_PREFIX: &str = "-- app-db:";

/// What the first line of a migration asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Directive {
    /// No directive: run in a transaction (the default).
    None,
    /// `-- app-db:no-transaction`.
    NoTransaction,
}

/// Reads the directive on the first line of `sql`.
///
/// The line is compared after dropping a leading byte order mark and trailing whitespace (a
/// `\r` of CRLF, a stray space), so the directive means the same on every checkout. A first line
/// that starts with `-- app-db:` but is no known directive is returned as `Err(line)`: a typo
/// must not silently run `CONCURRENTLY` inside a transaction. An `-- app-db:allow` line (see
/// [`super::allow`]) belongs to the statement below it, so on the first line it is no
/// directive of the file.
pub fn parse_directive(sql: &str) -> Result<Directive, String> {
    let text = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    let first_line = text.split('\n').next().unwrap_or_default().trim_end();
    if first_line == NO_TRANSACTION_DIRECTIVE {
        Ok(Directive::NoTransaction)
    } else if super::allow::parse_allow_line(first_line, 1).is_some() {
        Ok(Directive::None)
    } else if first_line.starts_with(DIRECTIVE_PREFIX) {
        Err(first_line.to_owned())
    } else {
        Ok(Directive::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_directive_by_default() {
        assert_eq!(parse_directive("CREATE TABLE a ();"), Ok(Directive::None));
        assert_eq!(parse_directive(""), Ok(Directive::None));
        assert_eq!(parse_directive("-- a comment\n"), Ok(Directive::None));
    }

    #[test]
    fn no_transaction_on_the_first_line() {
        assert_eq!(
            parse_directive("-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);"),
            Ok(Directive::NoTransaction)
        );
        assert_eq!(
            parse_directive("-- app-db:no-transaction"),
            Ok(Directive::NoTransaction)
        );
        assert_eq!(
            parse_directive("\u{feff}-- app-db:no-transaction \r\nSELECT 1;"),
            Ok(Directive::NoTransaction)
        );
    }

    #[test]
    fn only_the_first_line_counts() {
        assert_eq!(
            parse_directive("SELECT 1;\n-- app-db:no-transaction\n"),
            Ok(Directive::None)
        );
        assert_eq!(parse_directive("\n-- app-db:bogus\n"), Ok(Directive::None));
    }

    #[test]
    fn an_allow_directive_on_the_first_line_is_the_statement_s() {
        assert_eq!(
            parse_directive(
                "-- app-db:allow ban-drop-column unused since 2.3\nALTER TABLE t DROP COLUMN c;"
            ),
            Ok(Directive::None)
        );
        assert_eq!(
            parse_directive("-- app-db:allowed x y\nSELECT 1;"),
            Err("-- app-db:allowed x y".to_owned())
        );
    }

    #[test]
    fn an_unknown_directive_is_refused() {
        assert_eq!(
            parse_directive("-- app-db:no-transactions\nSELECT 1;"),
            Err("-- app-db:no-transactions".to_owned())
        );
        assert_eq!(parse_directive("-- app-db:"), Err("-- app-db:".to_owned()));
    }
}
