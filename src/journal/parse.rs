//! Reading `meta/_journal.json` into [`JournalEntry`] values, naming the field at fault.
//!
//! The journal is walked as a `serde_json::Value` rather than derived, so that a wrong shape is
//! reported as `entries[2].when must be an integer, found a string` instead of a serde position.

use std::path::Path;

use serde_json::Value;

use super::error::JournalError;
use super::model::JournalEntry;

/// The parts of the journal app-db uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJournal {
    /// The `dialect` field, not yet checked.
    pub dialect: String,
    /// The `entries`, in array order, not yet checked against each other.
    pub entries: Vec<JournalEntry>,
}

/// Parses journal `bytes`; `path` only names the file in errors.
///
/// Unknown fields and the `version` fields are ignored, as drizzle-orm ignores them.
pub fn parse_journal(path: &Path, bytes: &[u8]) -> Result<ParsedJournal, JournalError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|error| JournalError::JournalSyntax {
            path: path.to_owned(),
            detail: error.to_string(),
        })?;
    let shape =
        |field: String, expected: &'static str, found: Option<&Value>| JournalError::JournalShape {
            path: path.to_owned(),
            field,
            expected,
            found: describe(found),
        };

    let root = value
        .as_object()
        .ok_or_else(|| shape("(root)".to_owned(), "an object", Some(&value)))?;
    let dialect = root
        .get("dialect")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("dialect".to_owned(), "a string", root.get("dialect")))?
        .to_owned();
    let raw_entries = root
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("entries".to_owned(), "an array", root.get("entries")))?;

    let mut entries = Vec::with_capacity(raw_entries.len());
    for (position, raw) in raw_entries.iter().enumerate() {
        let object = raw
            .as_object()
            .ok_or_else(|| shape(format!("entries[{position}]"), "an object", Some(raw)))?;
        let field = |name: &str| -> (String, Option<&Value>) {
            (format!("entries[{position}].{name}"), object.get(name))
        };

        let (name, value) = field("idx");
        let idx = value
            .and_then(Value::as_u64)
            .ok_or_else(|| shape(name, "a non-negative integer", value))?;
        let (name, value) = field("when");
        let when = value
            .and_then(Value::as_i64)
            .ok_or_else(|| shape(name, "an integer (epoch milliseconds)", value))?;
        let (name, value) = field("tag");
        let tag = value
            .and_then(Value::as_str)
            .ok_or_else(|| shape(name, "a string", value))?
            .to_owned();
        let (name, value) = field("breakpoints");
        let breakpoints = value
            .and_then(Value::as_bool)
            .ok_or_else(|| shape(name, "a boolean", value))?;

        entries.push(JournalEntry {
            idx,
            when,
            tag,
            breakpoints,
        });
    }
    Ok(ParsedJournal { dialect, entries })
}

/// A short description of what was found, for [`JournalError::JournalShape`].
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "nothing (the field is missing)".to_owned(),
        Some(Value::Null) => "null".to_owned(),
        Some(Value::Bool(flag)) => format!("the boolean {flag}"),
        Some(Value::Number(number)) => format!("the number {number}"),
        Some(Value::String(text)) => format!("the string {text:?}"),
        Some(Value::Array(_)) => "an array".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedJournal, JournalError> {
        parse_journal(Path::new("m/meta/_journal.json"), text.as_bytes())
    }

    #[test]
    fn reads_a_drizzle_kit_journal() {
        let parsed = parse(
            r#"{"version":"7","dialect":"postgresql","entries":[
                {"idx":0,"version":"7","when":1795557463624,"tag":"0000_auth","breakpoints":true}]}"#,
        )
        .expect("valid journal");
        assert_eq!(parsed.dialect, "postgresql");
        assert_eq!(
            parsed.entries,
            vec![JournalEntry {
                idx: 0,
                when: 1_795_557_463_624,
                tag: "0000_auth".to_owned(),
                breakpoints: true,
            }]
        );
    }

    #[test]
    fn invalid_json_is_a_syntax_error() {
        let error = parse("{\"dialect\": ").expect_err("truncated");
        assert!(
            matches!(error, JournalError::JournalSyntax { .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("m/meta/_journal.json is not valid JSON")
        );
    }

    #[test]
    fn a_wrong_shape_names_the_field() {
        let cases = [
            ("[]", "(root)"),
            (r#"{"entries":[]}"#, "dialect"),
            (r#"{"dialect":"postgresql"}"#, "entries"),
            (r#"{"dialect":"postgresql","entries":{}}"#, "entries"),
            (r#"{"dialect":"postgresql","entries":[1]}"#, "entries[0]"),
            (
                r#"{"dialect":"postgresql","entries":[{"when":1,"tag":"a","breakpoints":true}]}"#,
                "entries[0].idx",
            ),
            (
                r#"{"dialect":"postgresql","entries":[{"idx":-1,"when":1,"tag":"a","breakpoints":true}]}"#,
                "entries[0].idx",
            ),
            (
                r#"{"dialect":"postgresql","entries":[{"idx":0,"when":"1","tag":"a","breakpoints":true}]}"#,
                "entries[0].when",
            ),
            (
                r#"{"dialect":"postgresql","entries":[{"idx":0,"when":1,"tag":7,"breakpoints":true}]}"#,
                "entries[0].tag",
            ),
            (
                r#"{"dialect":"postgresql","entries":[{"idx":0,"when":1,"tag":"a","breakpoints":"yes"}]}"#,
                "entries[0].breakpoints",
            ),
        ];
        for (text, expected_field) in cases {
            match parse(text) {
                Err(JournalError::JournalShape { field, .. }) => {
                    assert_eq!(field, expected_field, "for {text}")
                }
                other => panic!("expected a shape error for {text}, got {other:?}"),
            }
        }
        let message = parse(r#"{"dialect":"postgresql","entries":[{"idx":0,"when":"1","tag":"a","breakpoints":true}]}"#)
            .expect_err("wrong type")
            .to_string();
        assert!(
            message.contains("field `entries[0].when` must be an integer (epoch milliseconds), found the string \"1\""),
            "{message}"
        );
    }
}
