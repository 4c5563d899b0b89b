//! drizzle-kit's JSON files (the journal, the snapshots): `JSON.stringify(value, null, 2)`, no
//! trailing newline.
//!
//! serde_json with `preserve_order` keeps keys in the order they were read or inserted, as a
//! JavaScript object does, and its pretty printer indents by two spaces, writes empty arrays
//! and objects as `[]` and `{}`, and escapes strings as JSON.stringify does (quotes,
//! backslash, control characters; not `/` nor non-ASCII), so the output is byte for byte what
//! drizzle-kit writes for the same value. (JavaScript lists integer-like keys first whatever
//! the insertion order; no key drizzle-kit writes in a journal is one.)

use serde_json::Value;

/// `value` as drizzle-kit writes its JSON files.
pub fn render(value: &Value) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal written by drizzle-kit 0.31 (committed as a fixture of the journal tests).
    const DRIZZLE_KIT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/journal/drizzle-kit/meta/_journal.json"
    ));

    /// A snapshot written by drizzle-kit 0.31.11 (a generate fixture).
    const SNAPSHOT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/generate/27_hnsw_index/expected/meta/0001_snapshot.json"
    ));

    #[test]
    fn drizzle_kit_files_render_byte_for_byte() {
        for text in [DRIZZLE_KIT, SNAPSHOT] {
            let value: Value = serde_json::from_str(text).expect("fixture is JSON");
            assert_eq!(render(&value).expect("render"), text);
        }
    }

    /// The expected text is what node 20 prints for
    /// `JSON.stringify(JSON.parse(input), null, 2)`.
    #[test]
    fn key_order_empty_parts_and_escapes_match_json_stringify() {
        let value: Value = serde_json::from_str(
            r#"{"entries":[],"dialect":"postgresql","version":"7","x":{"b":[1,"a/é\n\u0001"],"a":{}}}"#,
        )
        .expect("valid JSON");
        assert_eq!(
            render(&value).expect("render"),
            "{\n  \"entries\": [],\n  \"dialect\": \"postgresql\",\n  \"version\": \"7\",\n  \"x\": {\n    \"b\": [\n      1,\n      \"a/é\\n\\u0001\"\n    ],\n    \"a\": {}\n  }\n}"
        );
    }
}
