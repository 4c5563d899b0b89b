//! The statements of a migration as squawk's parser sees them, mapped onto app-db's own split
//! (`--> statement-breakpoint`, [`crate::journal::split`]): where each starts, which
//! breakpoint piece holds it, its first line, and the table it creates or changes.

use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};

use crate::journal::{STATEMENT_BREAKPOINT, is_blank_statement};

/// One SQL statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlStatement {
    /// Byte offset of its first token in the file.
    pub start: usize,
    /// Byte offset just past its end.
    pub end: usize,
    /// The 1-based index of the piece holding it among the pieces the migrator executes (the
    /// numbering of "failed at statement N of M").
    pub piece: usize,
    /// Its 1-based line in the file.
    pub line: usize,
    /// Its first line, trimmed (and shortened past 120 characters).
    pub first_line: String,
    /// The table a `CREATE TABLE` creates.
    pub creates: Option<String>,
    /// The table an `ALTER TABLE` or `CREATE INDEX` changes.
    pub target: Option<String>,
    /// The constraints an `ALTER TABLE … VALIDATE CONSTRAINT` validates: `(start, end)` of
    /// each action, for app-db's own rule.
    pub validates: Vec<(usize, usize)>,
    /// A `CREATE INDEX CONCURRENTLY`: the byte range of the `CONCURRENTLY` keyword.
    pub concurrently: Option<(usize, usize)>,
}

/// A migration's statements, and how many pieces the migrator executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statements {
    /// In file order.
    pub list: Vec<SqlStatement>,
    /// How many non-blank breakpoint pieces the file has.
    pub pieces: usize,
    /// What squawk's parser could not read: `(byte offset, message)`.
    pub parse_errors: Vec<(usize, String)>,
}

impl Statements {
    /// The statement holding byte `offset`, or the last one starting before it.
    pub fn at(&self, offset: usize) -> Option<&SqlStatement> {
        self.list
            .iter()
            .rev()
            .find(|s| s.start <= offset)
            .or_else(|| self.list.first())
    }
}

/// Reads the statements of `sql`.
pub fn read(sql: &str) -> Statements {
    let parse = SourceFile::parse(sql);
    let pieces = piece_starts(sql);
    let mut list = Vec::new();
    for stmt in parse.tree().stmts() {
        let node = stmt.syntax();
        let range = node.text_range();
        let start = node
            .children_with_tokens()
            .find(|t| !t.kind().is_trivia())
            .map_or(range.start(), |t| t.text_range().start());
        let (start, end) = (usize::from(start), usize::from(range.end()));
        list.push(SqlStatement {
            start,
            end,
            piece: piece_of(&pieces, start),
            line: sql[..start].matches('\n').count() + 1,
            first_line: first_line(&sql[start..end]),
            creates: created_table(&stmt),
            target: target_table(&stmt),
            validates: validated(&stmt),
            concurrently: concurrent_index(&stmt),
        });
    }
    let parse_errors = parse
        .errors()
        .iter()
        .map(|e| (usize::from(e.range().start()), e.message().to_string()))
        .collect();
    Statements {
        list,
        pieces: pieces.iter().filter(|p| p.1).count(),
        parse_errors,
    }
}

/// `(start offset, executed)` of every breakpoint piece: executed pieces are the non-blank ones.
fn piece_starts(sql: &str) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in sql.split(STATEMENT_BREAKPOINT) {
        out.push((offset, !is_blank_statement(piece)));
        offset += piece.len() + STATEMENT_BREAKPOINT.len();
    }
    out
}

/// The 1-based number, among executed pieces, of the piece holding `offset`.
fn piece_of(pieces: &[(usize, bool)], offset: usize) -> usize {
    pieces
        .iter()
        .take_while(|(start, _)| *start <= offset)
        .filter(|(_, executed)| *executed)
        .count()
        .max(1)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line.to_string()
    }
}

fn created_table(stmt: &ast::Stmt) -> Option<String> {
    match stmt {
        ast::Stmt::CreateTable(create) => {
            let path = create.table_name()?.path()?;
            Some(normalize_relation(&path.syntax().text().to_string()))
        }
        _ => None,
    }
}

fn target_table(stmt: &ast::Stmt) -> Option<String> {
    let relation = match stmt {
        ast::Stmt::AlterTable(alter) => alter.table_relation_name()?,
        ast::Stmt::CreateIndex(create) => create.table_relation_name()?,
        _ => return None,
    };
    let path = relation.table_name_ref()?.path_ref()?;
    Some(normalize_relation(&path.syntax().text().to_string()))
}

fn validated(stmt: &ast::Stmt) -> Vec<(usize, usize)> {
    let ast::Stmt::AlterTable(alter) = stmt else {
        return Vec::new();
    };
    alter
        .actions()
        .filter_map(|action| match action {
            ast::AlterTableAction::ValidateConstraint(v) => {
                let range = v.syntax().text_range();
                Some((usize::from(range.start()), usize::from(range.end())))
            }
            _ => None,
        })
        .collect()
}

fn concurrent_index(stmt: &ast::Stmt) -> Option<(usize, usize)> {
    let ast::Stmt::CreateIndex(create) = stmt else {
        return None;
    };
    let range = create.concurrently_token()?.text_range();
    Some((usize::from(range.start()), usize::from(range.end())))
}

/// A relation name as PostgreSQL resolves it: unquoted parts folded to lower case, quoted
/// parts as written, `public.` dropped (the migrations' search path), other schemas kept.
pub fn normalize_relation(text: &str) -> String {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if quoted => current.push(c),
            c if c.is_whitespace() => {}
            c => current.extend(c.to_lowercase()),
        }
    }
    parts.push(current);
    if parts.len() == 2 && parts[0] == "public" {
        parts.remove(0);
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_names_resolve_as_postgresql_does() {
        assert_eq!(normalize_relation("\"organization\""), "organization");
        assert_eq!(normalize_relation("Organization"), "organization");
        assert_eq!(normalize_relation("\"Org\""), "Org");
        assert_eq!(normalize_relation("public.\"t\""), "t");
        assert_eq!(normalize_relation("\"public\".t"), "t");
        assert_eq!(normalize_relation("audit.\"a.b\""), "audit.a.b");
        assert_eq!(normalize_relation("\"a\"\"b\""), "a\"b");
    }

    #[test]
    fn statements_map_onto_breakpoint_pieces() {
        let sql = "-- header\n--> statement-breakpoint\nCREATE TABLE \"t\" (\n\t\"id\" int\n);\n--> statement-breakpoint\nALTER TABLE t ADD COLUMN c int; CREATE INDEX \"i\" ON \"public\".\"t\" (c);";
        let statements = read(sql);
        assert!(statements.parse_errors.is_empty(), "{statements:?}");
        assert_eq!(statements.pieces, 2);
        let list = &statements.list;
        assert_eq!(list.len(), 3);
        assert_eq!(
            (list[0].piece, list[0].line, list[0].first_line.as_str()),
            (1, 3, "CREATE TABLE \"t\" (")
        );
        assert_eq!(list[0].creates.as_deref(), Some("t"));
        assert_eq!((list[1].piece, list[1].line), (2, 7));
        assert_eq!(list[1].target.as_deref(), Some("t"));
        assert_eq!((list[2].piece, list[2].target.as_deref()), (2, Some("t")));
        let offset = sql.find("CREATE INDEX").expect("index") + 3;
        assert_eq!(statements.at(offset).map(|s| s.start), Some(offset - 3));
    }

    #[test]
    fn validate_and_concurrently_are_located() {
        let sql = "ALTER TABLE t VALIDATE CONSTRAINT c;\nCREATE INDEX CONCURRENTLY i ON t (c);";
        let statements = read(sql);
        let (start, end) = statements.list[0].validates[0];
        assert_eq!(&sql[start..end], "VALIDATE CONSTRAINT c");
        let (start, end) = statements.list[1].concurrently.expect("concurrently");
        assert_eq!(&sql[start..end], "CONCURRENTLY");
    }
}
