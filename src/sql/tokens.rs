//! A small SQL tokenizer: enough to recognise the shapes of migration statements (which table,
//! which columns, which index) without a parser. Pure; comments are dropped, every other token
//! keeps its text so a recognised name can be written back into a statement as it was written.

/// One token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A keyword or unquoted identifier, as written.
    Word(String),
    /// A double-quoted identifier, quotes included (`"a""b"`).
    Quoted(String),
    /// A string constant of any form, as written.
    Str(String),
    /// A number, as written.
    Number(String),
    /// A `$1` parameter.
    Param(String),
    /// An operator (`>=`, `<>`, `*`, `||`), as written.
    Op(String),
    /// Any other character (`(`, `,`, `.`, `;`, operators one character at a time).
    Punct(char),
}

impl Token {
    /// The token as written.
    pub fn text(&self) -> String {
        match self {
            Token::Word(s)
            | Token::Quoted(s)
            | Token::Str(s)
            | Token::Number(s)
            | Token::Param(s)
            | Token::Op(s) => s.clone(),
            Token::Punct(c) => c.to_string(),
        }
    }

    /// Whether this is the keyword `word` (any case).
    pub fn is(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// Whether this is the character `c`.
    pub fn is_punct(&self, c: char) -> bool {
        matches!(self, Token::Punct(p) if *p == c)
    }

    /// The name an identifier token stands for: an unquoted one folded to lower case, a quoted
    /// one as written between its quotes. `None` for other tokens.
    pub fn ident(&self) -> Option<String> {
        match self {
            Token::Word(w) => Some(w.to_lowercase()),
            Token::Quoted(q) => {
                let inner = q.strip_prefix('"')?.strip_suffix('"')?;
                Some(inner.replace("\"\"", "\""))
            }
            _ => None,
        }
    }
}

/// The tokens of `sql`, comments dropped.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let text = |from: usize, to: usize| chars[from..to.min(chars.len())].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            let start = i;
            i = end_of_string(&chars, i + 1, false);
            tokens.push(Token::Str(text(start, i)));
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            tokens.push(Token::Quoted(text(start, i)));
        } else if c == '$' && next.is_some_and(|n| n.is_ascii_digit()) {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            tokens.push(Token::Param(text(start, i)));
        } else if c == '$' {
            match dollar_tag(&chars, i) {
                Some(tag) => {
                    let tag: Vec<char> = tag.chars().collect();
                    let start = i;
                    i += tag.len();
                    while i < chars.len() && !chars[i..].starts_with(&tag) {
                        i += 1;
                    }
                    i = (i + tag.len()).min(chars.len());
                    tokens.push(Token::Str(text(start, i)));
                }
                None => {
                    tokens.push(Token::Punct(c));
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || chars[i] == '_'
                    || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            tokens.push(Token::Number(text(start, i)));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word = text(start, i);
            let prefix = matches!(word.to_ascii_uppercase().as_str(), "E" | "B" | "X" | "N");
            if prefix && chars.get(i) == Some(&'\'') {
                i = end_of_string(&chars, i + 1, word.eq_ignore_ascii_case("E"));
                tokens.push(Token::Str(text(start, i)));
            } else if word.eq_ignore_ascii_case("U")
                && chars.get(i) == Some(&'&')
                && chars.get(i + 1) == Some(&'\'')
            {
                i = end_of_string(&chars, i + 2, false);
                tokens.push(Token::Str(text(start, i)));
            } else {
                tokens.push(Token::Word(word));
            }
        } else if OPERATOR_CHARS.contains(c) {
            let start = i;
            while i < chars.len()
                && OPERATOR_CHARS.contains(chars[i])
                && !(chars[i] == '-' && chars.get(i + 1) == Some(&'-'))
                && !(chars[i] == '/' && chars.get(i + 1) == Some(&'*'))
            {
                i += 1;
            }
            tokens.push(Token::Op(text(start, i)));
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// The characters PostgreSQL operators are made of.
const OPERATOR_CHARS: &str = "+-*/<>=~!@#%^&|`?";

/// The index after a string constant whose body starts at `i` (`''` doubles a quote; with
/// `backslash`, `\'` escapes one too). An unterminated string runs to the end.
pub(crate) fn end_of_string(chars: &[char], mut i: usize, backslash: bool) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' if backslash => i += 2,
            '\'' if chars.get(i + 1) == Some(&'\'') => i += 2,
            '\'' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The dollar-quote tag (`$$`, `$body$`) starting at `i`, if one does.
pub(crate) fn dollar_tag(chars: &[char], i: usize) -> Option<String> {
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        if j == i + 1 && chars[j].is_ascii_digit() {
            return None;
        }
        j += 1;
    }
    (chars.get(j) == Some(&'$')).then(|| chars[i..=j].iter().collect())
}

/// A cursor over tokens, for recognising statement shapes.
#[derive(Debug, Clone)]
pub struct Cursor<'t> {
    tokens: &'t [Token],
    at: usize,
}

impl<'t> Cursor<'t> {
    /// At the first token.
    pub fn new(tokens: &'t [Token]) -> Self {
        Self { tokens, at: 0 }
    }

    /// The current token.
    pub fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.at)
    }

    /// Moves past the current token and returns it.
    pub fn advance(&mut self) -> Option<&'t Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    /// Consumes the keywords `words` in order, or nothing (returns whether it did).
    pub fn eat(&mut self, words: &[&str]) -> bool {
        let fits = words
            .iter()
            .enumerate()
            .all(|(k, w)| self.tokens.get(self.at + k).is_some_and(|t| t.is(w)));
        if fits {
            self.at += words.len();
        }
        fits
    }

    /// Consumes `c` if it is next.
    pub fn eat_punct(&mut self, c: char) -> bool {
        let fits = self.peek().is_some_and(|t| t.is_punct(c));
        if fits {
            self.at += 1;
        }
        fits
    }

    /// A possibly qualified name (`a`, `"s"."t"`): its text as written, and its last part.
    pub fn name(&mut self) -> Option<(String, String)> {
        let first = self.advance()?;
        let mut last = first.ident()?;
        let mut text = first.text();
        while self.peek().is_some_and(|t| t.is_punct('.')) {
            let part = self.tokens.get(self.at + 1)?;
            let ident = part.ident()?;
            text.push('.');
            text.push_str(&part.text());
            last = ident;
            self.at += 2;
        }
        Some((text, last))
    }

    /// A parenthesised list of plain names (`("a", b)`), as written; `None` if any element is
    /// more than a name (an expression, an operator class, a sort order).
    pub fn name_list(&mut self) -> Option<Vec<String>> {
        if !self.eat_punct('(') {
            return None;
        }
        let mut names = Vec::new();
        loop {
            let token = self.advance()?;
            token.ident()?;
            names.push(token.text());
            if self.eat_punct(')') {
                return Some(names);
            }
            if !self.eat_punct(',') {
                return None;
            }
        }
    }

    /// The text of a balanced parenthesised group (without its outer parentheses), tokens
    /// joined by single spaces.
    pub fn group(&mut self) -> Option<String> {
        if !self.eat_punct('(') {
            return None;
        }
        let mut depth = 1;
        let mut parts = Vec::new();
        while let Some(token) = self.advance() {
            if token.is_punct('(') {
                depth += 1;
            } else if token.is_punct(')') {
                depth -= 1;
                if depth == 0 {
                    return Some(join(&parts));
                }
            }
            parts.push(token);
        }
        None
    }

    /// Everything left (up to a `;`), as text.
    pub fn rest(&mut self) -> Vec<&'t Token> {
        let mut out = Vec::new();
        while let Some(token) = self.peek() {
            if token.is_punct(';') {
                break;
            }
            out.push(token);
            self.at += 1;
        }
        out
    }

    /// Whether no token but `;` is left.
    pub fn at_end(&self) -> bool {
        self.tokens[self.at.min(self.tokens.len())..]
            .iter()
            .all(|t| t.is_punct(';'))
    }
}

/// Tokens joined back into text: a space between tokens, none around `.` and `::`, inside
/// parentheses' edges, before `,` or between a name and its call's `(`, which is enough for
/// PostgreSQL to read them back the same.
pub fn join(tokens: &[&Token]) -> String {
    let mut out = String::new();
    let mut previous: Option<&Token> = None;
    for token in tokens {
        let glue = previous.is_some_and(|p| {
            p.is_punct('.')
                || token.is_punct('.')
                || p.is_punct('(')
                || token.is_punct(')')
                || token.is_punct(',')
                || token.is_punct(';')
                || p.is_punct(':')
                || token.is_punct(':')
                || (token.is_punct('(') && matches!(p, Token::Word(_) | Token::Quoted(_)))
        });
        if !glue && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&token.text());
        previous = Some(token);
    }
    out
}

/// A string constant for `text` (standard-conforming: quotes doubled).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_text_and_comments_go() {
        let tokens = tokenize(
            "ALTER TABLE \"public\".\"t\" -- why\n ADD COLUMN c int DEFAULT 'a''b' /* x */ CHECK (c > 1.5e3);",
        );
        let texts: Vec<String> = tokens.iter().map(Token::text).collect();
        assert_eq!(
            texts,
            [
                "ALTER",
                "TABLE",
                "\"public\"",
                ".",
                "\"t\"",
                "ADD",
                "COLUMN",
                "c",
                "int",
                "DEFAULT",
                "'a''b'",
                "CHECK",
                "(",
                "c",
                ">",
                "1.5e3",
                ")",
                ";"
            ]
        );
        assert_eq!(tokens[4].ident().as_deref(), Some("t"));
        assert_eq!(tokens[0].ident().as_deref(), Some("alter"));
        assert_eq!(
            Token::Quoted("\"a\"\"b\"".into()).ident().as_deref(),
            Some("a\"b")
        );
        assert!(
            tokenize("select $1, $$x$$, E'\\''")
                .iter()
                .any(|t| matches!(t, Token::Param(p) if p == "$1"))
        );
    }

    #[test]
    fn a_cursor_reads_names_lists_and_groups() {
        let tokens = tokenize("\"s\".\"t\" (\"a\", b) (x > (1 + 2)) rest of it;");
        let mut c = Cursor::new(&tokens);
        assert_eq!(c.name(), Some(("\"s\".\"t\"".to_string(), "t".to_string())));
        assert_eq!(
            c.name_list(),
            Some(vec!["\"a\"".to_string(), "b".to_string()])
        );
        assert_eq!(c.group().as_deref(), Some("x > (1 + 2)"));
        assert!(c.eat(&["rest", "OF"]));
        assert!(!c.at_end());
        assert_eq!(c.rest().len(), 1);
        assert!(c.at_end());
        let tokens = tokenize("(lower(a))");
        assert_eq!(Cursor::new(&tokens).name_list(), None);
    }

    #[test]
    fn joined_tokens_read_back_the_same() {
        let table = [
            "\"t\".\"c\" >= 0 AND \"t\".\"d\" >= 0",
            "c::text IS NOT NULL",
            "lower(\"name\") <> ''",
        ];
        for text in table {
            let tokens = tokenize(text);
            let refs: Vec<&Token> = tokens.iter().collect();
            assert_eq!(join(&refs), text);
        }
        assert_eq!(literal("it's"), "'it''s'");
    }
}
