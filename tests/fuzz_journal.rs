//! Property tests (fuzzing, bounded so `cargo test` and `.ci/run` run them) of the code that
//! reads a migration folder: `_journal.json` parsing, the folder rules, and the statement
//! splitter. Nothing may panic; whatever is accepted must satisfy the invariants the migrator
//! relies on; the splitter's pieces re-joined must give back the input byte for byte.
//!
//! Cases per run: `JOURNAL_BYTES` arbitrary byte strings and `JOURNAL_JSON` journal-shaped
//! JSON values through `parse_journal`, `FOLDERS` generated folders through `validate`,
//! `SQL` generated migration texts through the splitter. A finding becomes a regression test
//! in the module it concerns (`src/journal/*.rs`).

use std::path::Path;

use app_db::journal::parse::parse_journal;
use app_db::journal::{
    STATEMENT_BREAKPOINT, SourceFile, is_blank_statement, sha256_hex, split_statements, statements,
    validate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const JOURNAL_BYTES: u32 = 1_024;
const JOURNAL_JSON: u32 = 1_024;
const FOLDERS: u32 = 1_024;
const SQL: u32 = 2_048;

/// Folders with at least one migration that `validate` accepted (checked after the run, so the
/// invariants above were exercised, not vacuously true).
static ACCEPTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for a journal field: usually the right type, sometimes anything.
fn field(right: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![6 => right.boxed(), 1 => any_json().boxed()]
}

/// An entry shaped like drizzle-kit's, with plausible and implausible values.
fn entry() -> impl Strategy<Value = Value> {
    (
        field((0u64..6).prop_map(Value::from)),
        field(prop_oneof![(0i64..10).prop_map(Value::from), any::<i64>().prop_map(Value::from)]),
        field("(000[0-5]_[a-z]{1,8}|[a-z./\\\\]{0,10})".prop_map(Value::from)),
        field(any::<bool>().prop_map(Value::from)),
        any::<bool>(),
    )
        .prop_map(|(idx, when, tag, breakpoints, drop_one)| {
            let mut entry = json!({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": breakpoints});
            if drop_one {
                entry.as_object_mut().expect("an object").remove("when");
            }
            entry
        })
}

fn journal() -> impl Strategy<Value = Value> {
    (
        field(prop_oneof![
            Just(Value::from("postgresql")),
            Just(Value::from("mysql"))
        ]),
        field(proptest::collection::vec(entry(), 0..6).prop_map(Value::from)),
    )
        .prop_map(
            |(dialect, entries)| json!({"version": "7", "dialect": dialect, "entries": entries}),
        )
}

/// A journal drizzle-kit could have written (so that `validate` gets past the journal rules
/// and the file rules are exercised too).
fn plausible_journal() -> impl Strategy<Value = Value> {
    proptest::collection::vec(("[a-z_]{1,8}", 1i64..1_000), 0..5).prop_map(|parts| {
        let mut when = 1_700_000_000_000i64;
        let entries: Vec<Value> = parts
            .into_iter()
            .enumerate()
            .map(|(idx, (name, step))| {
                when += step;
                json!({"idx": idx, "version": "7", "when": when, "tag": format!("{idx:04}_{name}"), "breakpoints": true})
            })
            .collect();
        json!({"version": "7", "dialect": "postgresql", "entries": entries})
    })
}

/// Migration text: statements, markers, comments, quotes, a directive, odd whitespace.
fn sql() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(STATEMENT_BREAKPOINT.to_string()),
        Just("--> statement-breakpoin".to_string()),
        Just("-- app-db:no-transaction\n".to_string()),
        Just("-- app-db:bogus\n".to_string()),
        Just("/* a /* nested */ comment".to_string()),
        Just("*/".to_string()),
        Just("'quoted --> statement-breakpoint'".to_string()),
        Just("$$ dollar $$".to_string()),
        Just("\u{feff}".to_string()),
        Just("\r\n".to_string()),
        Just("CREATE TABLE t (id int);".to_string()),
        ".{0,16}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config(JOURNAL_BYTES))]

    #[test]
    fn parse_journal_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_journal(Path::new("meta/_journal.json"), &bytes);
    }
}

proptest! {
    #![proptest_config(config(JOURNAL_JSON))]

    #[test]
    fn parse_journal_accepts_only_what_it_can_represent(value in journal()) {
        let bytes = serde_json::to_vec(&value).expect("serialisable");
        if let Ok(parsed) = parse_journal(Path::new("meta/_journal.json"), &bytes) {
            let entries = value["entries"].as_array().expect("accepted entries are an array");
            prop_assert_eq!(parsed.entries.len(), entries.len());
            for (got, raw) in parsed.entries.iter().zip(entries) {
                prop_assert_eq!(Some(got.idx), raw["idx"].as_u64());
                prop_assert_eq!(Some(got.when), raw["when"].as_i64());
                prop_assert_eq!(Some(got.tag.as_str()), raw["tag"].as_str());
            }
        }
    }
}

proptest! {
    #![proptest_config(config(FOLDERS))]

    // Run by `the_folder_property_saw_accepted_folders`, which then checks the count.
    fn validate_never_panics_and_what_it_accepts_is_consistent(
        value in prop_oneof![journal(), plausible_journal()],
        bodies in proptest::collection::vec(prop_oneof![
            // Mostly a statement first, so that whole folders pass; raw text and bytes test
            // the file rules (directives, blank files, invalid UTF-8).
            6 => sql().prop_map(|s| format!("select 1;\n--> statement-breakpoint\n{s}").into_bytes()),
            1 => sql().prop_map(String::into_bytes),
            1 => proptest::collection::vec(any::<u8>(), 0..32),
        ], 5..6),
        extra in proptest::option::of("[a-z]{1,6}\\.sql"),
    ) {
        let journal = serde_json::to_vec(&value).expect("serialisable");
        // Files for the tags the journal names (when they are strings), plus maybe a stray one.
        let tags: Vec<String> = value["entries"]
            .as_array()
            .map(|entries| entries.iter().filter_map(|e| e["tag"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let mut files: Vec<SourceFile> = tags
            .iter()
            .zip(bodies.iter())
            .map(|(tag, bytes)| SourceFile { name: format!("{tag}.sql"), bytes: bytes.clone() })
            .collect();
        if let Some(name) = extra {
            files.push(SourceFile { name, bytes: b"select 1;".to_vec() });
        }
        let given = files.clone();
        if let Ok(loaded) = validate(Path::new("migrations"), &journal, files) {
            if !loaded.migrations.is_empty() {
                ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let mut previous_when = None;
            for (position, migration) in loaded.migrations.iter().enumerate() {
                prop_assert_eq!(migration.idx as usize, position);
                prop_assert!(previous_when.is_none_or(|w| migration.when > w));
                previous_when = Some(migration.when);
                let file = given.iter().find(|f| f.name == format!("{}.sql", migration.tag));
                let file = file.expect("an accepted migration has its file");
                prop_assert_eq!(&migration.hash, &sha256_hex(&file.bytes));
                prop_assert_eq!(migration.sql.as_bytes(), file.bytes.as_slice());
                prop_assert!(statements(&migration.sql).next().is_some());
            }
        }
    }
}

proptest! {
    #![proptest_config(config(SQL))]

    #[test]
    fn split_pieces_rejoin_to_the_input(text in sql()) {
        let pieces = split_statements(&text);
        prop_assert_eq!(pieces.join(STATEMENT_BREAKPOINT), text.clone());
        prop_assert_eq!(pieces.len(), text.matches(STATEMENT_BREAKPOINT).count() + 1);
        let sent: Vec<&str> = statements(&text).collect();
        let kept: Vec<&str> = pieces.iter().copied().filter(|p| !is_blank_statement(p)).collect();
        prop_assert_eq!(sent, kept);
        for piece in pieces {
            prop_assert!(!piece.contains(STATEMENT_BREAKPOINT));
        }
    }
}

#[test]
fn the_folder_property_saw_accepted_folders() {
    // Runs the folder property in this test so the count is this run's, then checks it.
    validate_never_panics_and_what_it_accepts_is_consistent();
    let accepted = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
    println!("validate accepted {accepted} of {FOLDERS} generated folders");
    assert!(
        accepted >= FOLDERS / 50,
        "only {accepted} of {FOLDERS} generated folders were valid"
    );
}
