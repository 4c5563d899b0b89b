//! Splitting a migration into statements, exactly as drizzle-orm does.

/// The marker drizzle-kit writes between statements (with `breakpoints: true`).
pub const STATEMENT_BREAKPOINT: &str = "--> statement-breakpoint";

/// Splits migration text on [`STATEMENT_BREAKPOINT`], byte for byte like drizzle-orm's
/// `query.split('--> statement-breakpoint')`.
///
/// The pieces are not trimmed, the text before the first marker is the first piece, a marker at
/// the very end yields a final piece (empty or whitespace) and text without a marker is one
/// piece. drizzle-orm splits whatever the entry's `breakpoints` flag says, and so does this.
///
/// Pieces can be blank (only whitespace and comments, e.g. after a trailing marker). An executor
/// should skip them with [`is_blank_statement`] rather than send an empty query; [`statements`]
/// does both.
pub fn split_statements(sql: &str) -> Vec<&str> {
    sql.split(STATEMENT_BREAKPOINT).collect()
}

/// The pieces of [`split_statements`] that PostgreSQL has something to execute in, in order.
///
/// This is what the migrator sends. drizzle-orm sends blank pieces too; PostgreSQL answers
/// those with an empty response, so skipping them changes nothing but a round trip.
pub fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(STATEMENT_BREAKPOINT)
        .filter(|piece| !is_blank_statement(piece))
}

/// True if `piece` holds nothing but whitespace, a byte order mark, `-- line comments` and
/// `/* block comments */` (nested, as PostgreSQL allows).
///
/// The scan stops at the first other character, so quotes and dollar quotes never need parsing:
/// a piece that opens a string literal is not blank. An unterminated block comment counts as
/// blank, as PostgreSQL would reject it anyway and there is no statement in it.
pub fn is_blank_statement(piece: &str) -> bool {
    let mut rest = piece;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if rest.is_empty() {
            return true;
        }
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |newline| &after[newline + 1..]);
        } else if rest.starts_with("/*") {
            rest = skip_block_comment(rest);
        } else {
            return false;
        }
    }
}

/// `text` starts with `/*`; returns what follows the matching `*/`, or `""` if unterminated.
fn skip_block_comment(text: &str) -> &str {
    let mut depth = 0usize;
    let mut position = 0;
    let bytes = text.as_bytes();
    while position + 1 < bytes.len() {
        match &bytes[position..position + 2] {
            b"/*" => {
                depth += 1;
                position += 2;
            }
            b"*/" => {
                depth -= 1;
                position += 2;
                if depth == 0 {
                    // `*/` is ASCII, so `position` is on a character boundary.
                    return &text[position..];
                }
            }
            _ => position += 1,
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are what JavaScript's `String.prototype.split` returns for the same input,
    // which is what drizzle-orm's readMigrationFiles does.

    #[test]
    fn text_without_a_marker_is_one_untrimmed_piece() {
        assert_eq!(split_statements("  SELECT 1;\n"), vec!["  SELECT 1;\n"]);
    }

    #[test]
    fn text_before_the_first_marker_is_the_first_piece() {
        assert_eq!(
            split_statements(
                "-- note\nCREATE TABLE a ();\n--> statement-breakpoint\nCREATE TABLE b ();"
            ),
            vec!["-- note\nCREATE TABLE a ();\n", "\nCREATE TABLE b ();"]
        );
    }

    #[test]
    fn a_trailing_marker_yields_an_empty_last_piece() {
        assert_eq!(
            split_statements("SELECT 1;--> statement-breakpoint"),
            vec!["SELECT 1;", ""]
        );
        assert_eq!(
            split_statements("SELECT 1;--> statement-breakpoint\n"),
            vec!["SELECT 1;", "\n"]
        );
    }

    #[test]
    fn a_leading_marker_yields_an_empty_first_piece() {
        assert_eq!(
            split_statements("--> statement-breakpoint\nSELECT 1;"),
            vec!["", "\nSELECT 1;"]
        );
    }

    #[test]
    fn empty_text_is_one_empty_piece() {
        assert_eq!(split_statements(""), vec![""]);
    }

    #[test]
    fn markers_are_matched_literally_and_crlf_stays_in_the_pieces() {
        assert_eq!(
            split_statements("SELECT 1;\r\n--> statement-breakpoint\r\nSELECT 2;"),
            vec!["SELECT 1;\r\n", "\r\nSELECT 2;"]
        );
        // A near miss is not a marker.
        assert_eq!(
            split_statements("--> statement_breakpoint"),
            vec!["--> statement_breakpoint"]
        );
    }

    #[test]
    fn the_drizzle_kit_fixture_splits_like_drizzle_orm() {
        let sql = "CREATE TABLE \"members\" ();\n--> statement-breakpoint\nALTER TABLE \"members\" ADD x;--> statement-breakpoint\nCREATE INDEX i ON \"members\" (\"org_id\");";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE \"members\" ();\n",
                "\nALTER TABLE \"members\" ADD x;",
                "\nCREATE INDEX i ON \"members\" (\"org_id\");",
            ]
        );
    }

    #[test]
    fn blank_pieces_are_whitespace_and_comments_only() {
        assert!(is_blank_statement(""));
        assert!(is_blank_statement(" \n\t\r\n"));
        assert!(is_blank_statement("\u{feff}\n"));
        assert!(is_blank_statement(
            "-- Custom SQL migration file, put your code below! --"
        ));
        assert!(is_blank_statement("-- a\n  -- b\n"));
        assert!(is_blank_statement(
            "/* a /* nested */ still comment */\n-- x"
        ));
        assert!(is_blank_statement("/* unterminated"));
        assert!(!is_blank_statement("SELECT 1"));
        assert!(!is_blank_statement("-- a\nSELECT 1"));
        assert!(!is_blank_statement("/* a */ SELECT 1"));
        assert!(!is_blank_statement("/* a /* b */ */ ;"));
        assert!(!is_blank_statement("'-- not a comment'"));
    }

    #[test]
    fn statements_skips_blank_pieces() {
        let sql = "-- header\n--> statement-breakpoint\nSELECT 1;\n--> statement-breakpoint\n";
        assert_eq!(statements(sql).collect::<Vec<_>>(), vec!["\nSELECT 1;\n"]);
    }
}
