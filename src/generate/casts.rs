//! Whether `ALTER COLUMN … SET DATA TYPE` needs `USING`: PostgreSQL converts a column's values
//! (and its default) to the new type by itself only through an implicit or assignment cast;
//! otherwise the statement fails (42804, "column cannot be cast automatically") unless it says
//! how. Pure, on the types as `format_type` prints them.
//!
//! The facts are PostgreSQL 16's `pg_cast` entries of context `i` (implicit) or `a`
//! (assignment) between built-in types and pgvector's, plus its two general rules: a change of
//! a type's modifier only (`varchar(20)` → `varchar(10)`, `vector(3)` → `vector(4)`) is a
//! length coercion, and any type converts to a string type by its output function in
//! assignment context. Conversions *from* a string type to another are explicit only.
//! For a type outside these facts (a domain, an extension's type other than pgvector's),
//! nothing is assumed: no `USING`, as drizzle-kit writes it.

/// Built-in (and pgvector) types whose casts are known, by base name.
const KNOWN: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "real",
    "double precision",
    "money",
    "text",
    "character varying",
    "character",
    "\"char\"",
    "name",
    "boolean",
    "uuid",
    "json",
    "jsonb",
    "date",
    "timestamp without time zone",
    "timestamp with time zone",
    "time without time zone",
    "time with time zone",
    "interval",
    "bytea",
    "inet",
    "cidr",
    "macaddr",
    "bit",
    "bit varying",
    "xml",
    "vector",
    "halfvec",
    "sparsevec",
];

/// Types a value of any type converts to in assignment context (by its output function).
const STRINGS: &[&str] = &["text", "character varying", "character", "name"];

/// Implicit and assignment casts between different known types (`pg_cast`, PostgreSQL 16 with
/// pgvector 0.8), `(from, to)`.
const AUTOMATIC: &[(&str, &str)] = &[
    ("\"char\"", "character"),
    ("\"char\"", "character varying"),
    ("\"char\"", "text"),
    ("bigint", "double precision"),
    ("bigint", "integer"),
    ("bigint", "money"),
    ("bigint", "numeric"),
    ("bigint", "real"),
    ("bigint", "smallint"),
    ("bit", "bit varying"),
    ("bit varying", "bit"),
    ("character", "\"char\""),
    ("character varying", "\"char\""),
    ("cidr", "inet"),
    ("date", "timestamp with time zone"),
    ("date", "timestamp without time zone"),
    ("double precision", "bigint"),
    ("double precision", "integer"),
    ("double precision", "numeric"),
    ("double precision", "real"),
    ("double precision", "smallint"),
    ("halfvec", "sparsevec"),
    ("halfvec", "vector"),
    ("inet", "cidr"),
    ("integer", "bigint"),
    ("integer", "double precision"),
    ("integer", "money"),
    ("integer", "numeric"),
    ("integer", "real"),
    ("integer", "smallint"),
    ("interval", "time without time zone"),
    ("json", "jsonb"),
    ("jsonb", "json"),
    ("money", "numeric"),
    ("numeric", "bigint"),
    ("numeric", "double precision"),
    ("numeric", "integer"),
    ("numeric", "money"),
    ("numeric", "real"),
    ("numeric", "smallint"),
    ("real", "bigint"),
    ("real", "double precision"),
    ("real", "integer"),
    ("real", "numeric"),
    ("real", "smallint"),
    ("smallint", "bigint"),
    ("smallint", "double precision"),
    ("smallint", "integer"),
    ("smallint", "numeric"),
    ("smallint", "real"),
    ("sparsevec", "halfvec"),
    ("sparsevec", "vector"),
    ("text", "\"char\""),
    ("time with time zone", "time without time zone"),
    ("time without time zone", "interval"),
    ("time without time zone", "time with time zone"),
    ("timestamp with time zone", "date"),
    ("timestamp with time zone", "time with time zone"),
    ("timestamp with time zone", "time without time zone"),
    ("timestamp with time zone", "timestamp without time zone"),
    ("timestamp without time zone", "date"),
    ("timestamp without time zone", "time without time zone"),
    ("timestamp without time zone", "timestamp with time zone"),
    ("vector", "halfvec"),
    ("vector", "sparsevec"),
];

/// `(base type, array dimensions)`: modifiers dropped (`timestamp(3) with time zone` →
/// `timestamp with time zone`, `numeric(10,2)` → `numeric`), `[]` counted.
pub fn base_type(type_sql: &str) -> (String, usize) {
    let mut rest = type_sql.trim();
    let mut dims = 0;
    while let Some(r) = rest.strip_suffix("[]") {
        rest = r;
        dims += 1;
    }
    let mut base = String::new();
    let mut depth = 0;
    for c in rest.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => base.push(c),
            _ => {}
        }
    }
    (base.split_whitespace().collect::<Vec<_>>().join(" "), dims)
}

/// Whether changing a column from `from` to `to` needs `USING` because PostgreSQL has no
/// implicit or assignment cast for it (neither type an enum: see the plan for those).
pub fn needs_using(from: &str, to: &str) -> bool {
    let ((from, from_dims), (to, to_dims)) = (base_type(from), base_type(to));
    if from == to && from_dims == to_dims {
        return false;
    }
    // To a string type, anything converts by its output function (an array too).
    if to_dims == 0 && STRINGS.contains(&to.as_str()) {
        return false;
    }
    if from_dims != to_dims {
        // Only a string converts to an array, and only explicitly.
        return STRINGS.contains(&from.as_str()) || KNOWN.contains(&from.as_str());
    }
    // Arrays convert element by element, by the same rules.
    if STRINGS.contains(&to.as_str()) {
        return false;
    }
    if !KNOWN.contains(&from.as_str()) || !KNOWN.contains(&to.as_str()) {
        return false;
    }
    !AUTOMATIC.contains(&(from.as_str(), to.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_types_lose_modifiers_and_count_dimensions() {
        assert_eq!(
            base_type("character varying(255)"),
            ("character varying".into(), 0)
        );
        assert_eq!(
            base_type("timestamp(3) with time zone"),
            ("timestamp with time zone".into(), 0)
        );
        assert_eq!(base_type("numeric(10,2)[]"), ("numeric".into(), 1));
        assert_eq!(base_type("\"planTier\"[][]"), ("\"planTier\"".into(), 2));
        assert_eq!(base_type("vector(1536)"), ("vector".into(), 0));
    }

    #[test]
    fn a_modifier_change_or_a_widening_needs_no_using() {
        for (from, to) in [
            ("vector(3)", "vector(4)"),
            ("character varying(20)", "character varying(10)"),
            ("numeric(10,2)", "numeric(12,4)"),
            ("integer", "bigint"),
            ("bigint", "integer"),
            ("real", "double precision"),
            ("timestamp without time zone", "timestamp with time zone"),
            ("json", "jsonb"),
            ("integer[]", "bigint[]"),
            ("vector(3)", "halfvec(3)"),
        ] {
            assert!(!needs_using(from, to), "{from} -> {to}");
        }
    }

    #[test]
    fn anything_becomes_text_without_using() {
        for from in [
            "integer",
            "uuid",
            "jsonb",
            "boolean",
            "integer[]",
            "\"plan\"",
        ] {
            assert!(!needs_using(from, "text"), "{from}");
            assert!(!needs_using(from, "character varying(40)"), "{from}");
        }
    }

    #[test]
    fn from_a_string_and_between_unrelated_types_using_is_required() {
        for (from, to) in [
            ("text", "integer"),
            ("character varying(20)", "uuid"),
            ("text", "jsonb"),
            ("text", "boolean"),
            ("text", "timestamp with time zone"),
            ("text", "vector(3)"),
            ("integer", "boolean"),
            ("boolean", "integer"),
            ("jsonb", "integer"),
            ("text", "text[]"),
            ("text[]", "integer[]"),
        ] {
            assert!(needs_using(from, to), "{from} -> {to}");
        }
    }

    #[test]
    fn unknown_types_are_left_to_postgresql() {
        // A domain or another extension's type: drizzle-kit's form, no USING.
        assert!(!needs_using("citext", "integer"));
        assert!(!needs_using("integer", "my_domain"));
    }
}
