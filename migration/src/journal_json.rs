//! drizzle-kit's journal formatting: `JSON.stringify(journal, null, 2)`, no trailing newline.
//!
//! serde_json (without `preserve_order`, which the workspace does not enable) sorts object
//! keys, so the order drizzle-kit writes is restored here: `version`, `dialect`, `entries` at
//! the top, `idx`, `version`, `when`, `tag`, `breakpoints` in each entry; keys drizzle-kit does
//! not write follow in sorted order.

use serde_json::{Map, Value};

const TOP_KEYS: [&str; 3] = ["version", "dialect", "entries"];
const ENTRY_KEYS: [&str; 5] = ["idx", "version", "when", "tag", "breakpoints"];

/// The journal as drizzle-kit writes it.
pub fn render(journal: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, journal, 0, &TOP_KEYS, true);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize, keys: &[&str], top: bool) {
    match value {
        Value::Object(map) => write_object(out, map, depth, keys, top),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(out, depth + 1);
                write_value(out, item, depth + 1, &[], false);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, depth);
            out.push(']');
        }
        // serde_json escapes strings as JSON.stringify does (quotes, backslash, control
        // characters; not `/` nor non-ASCII) and prints integers the same way.
        other => out.push_str(&other.to_string()),
    }
}

fn write_object(
    out: &mut String,
    map: &Map<String, Value>,
    depth: usize,
    keys: &[&str],
    top: bool,
) {
    if map.is_empty() {
        out.push_str("{}");
        return;
    }
    let mut ordered: Vec<&String> = keys
        .iter()
        .filter_map(|k| map.get_key_value(*k).map(|(k, _)| k))
        .collect();
    ordered.extend(map.keys().filter(|k| !keys.contains(&k.as_str())));
    out.push_str("{\n");
    for (i, key) in ordered.iter().enumerate() {
        indent(out, depth + 1);
        out.push_str(&Value::String((*key).clone()).to_string());
        out.push_str(": ");
        let value = &map[key.as_str()];
        match value {
            // The entries' objects get drizzle-kit's entry key order.
            Value::Array(items) if top && key.as_str() == "entries" && !items.is_empty() => {
                out.push_str("[\n");
                for (j, item) in items.iter().enumerate() {
                    indent(out, depth + 2);
                    write_value(out, item, depth + 2, &ENTRY_KEYS, false);
                    if j + 1 < items.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                indent(out, depth + 1);
                out.push(']');
            }
            _ => write_value(out, value, depth + 1, &[], false),
        }
        if i + 1 < ordered.len() {
            out.push(',');
        }
        out.push('\n');
    }
    indent(out, depth);
    out.push('}');
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal written by drizzle-kit 0.31 (committed as a fixture of the journal tests).
    const DRIZZLE_KIT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/journal/drizzle-kit/meta/_journal.json"
    ));

    #[test]
    fn a_drizzle_kit_journal_renders_byte_for_byte() {
        let value: Value = serde_json::from_str(DRIZZLE_KIT).expect("fixture is JSON");
        assert_eq!(render(&value), DRIZZLE_KIT);
    }

    #[test]
    fn empty_and_unknown_parts_render_like_json_stringify() {
        let value: Value = serde_json::from_str(
            r#"{"entries":[],"dialect":"postgresql","version":"7","x":{"b":[1,"a/é\n"],"a":{}}}"#,
        )
        .expect("valid JSON");
        assert_eq!(
            render(&value),
            "{\n  \"version\": \"7\",\n  \"dialect\": \"postgresql\",\n  \"entries\": [],\n  \"x\": {\n    \"a\": {},\n    \"b\": [\n      1,\n      \"a/é\\n\"\n    ]\n  }\n}"
        );
    }
}
