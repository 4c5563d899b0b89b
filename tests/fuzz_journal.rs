//! Property tests (fuzzing, bounded so `cargo test` and `.ci/run` run them) of the code that
//! reads a migration folder: `_journal.json` parsing, the folder rules, and the statement
//! splitter. Nothing may panic; whatever is accepted must satisfy the invariants the migrator
//! relies on; the splitter's pieces re-joined must give back the input byte for byte.
//!
//! Cases per run: `JOURNAL_BYTES` arbitrary byte strings and `JOURNAL_JSON` journal-shaped
//! JSON values through `parse_journal`, `FOLDERS` generated folders through `validate` (at
//! least a fifth of them must be accepted, so the invariants are exercised on real folders),
//! `BROKEN` valid folders with one rule broken each (every one must be rejected, with the
//! error of that rule), `SQL` generated migration texts through the splitter. A finding
//! becomes a regression test in the module it concerns (`src/journal/*.rs`).

use std::path::Path;

use app_db::journal::parse::parse_journal;
use app_db::journal::{
    JournalError, STATEMENT_BREAKPOINT, SourceFile, is_blank_statement, sha256_hex,
    split_statements, statements, validate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const JOURNAL_BYTES: u32 = 1_024;
const JOURNAL_JSON: u32 = 1_024;
const FOLDERS: u32 = 1_024;
const BROKEN: u32 = 1_024;
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
        // Mostly journals drizzle-kit could have written, so that whole folders pass; the
        // arbitrary ones test the journal rules.
        value in prop_oneof![1 => journal(), 4 => plausible_journal()],
        bodies in proptest::collection::vec(prop_oneof![
            // Mostly a statement first; raw text and bytes test the file rules (directives,
            // blank files, invalid UTF-8).
            14 => sql().prop_map(|s| format!("select 1;\n--> statement-breakpoint\n{s}").into_bytes()),
            1 => sql().prop_map(String::into_bytes),
            1 => proptest::collection::vec(any::<u8>(), 0..32),
        ], 5..6),
        extra in proptest::option::weighted(0.2, "[a-z]{1,6}\\.sql"),
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
        accepted >= FOLDERS / 5,
        "only {accepted} of {FOLDERS} generated folders were valid: the folder invariants were hardly exercised"
    );
}

/// One rule of the folder broken in an otherwise valid folder.
#[derive(Debug, Clone)]
enum Break {
    /// The file of entry `n % len` is missing.
    MissingFile(usize),
    /// A `.sql` file no entry lists.
    UnlistedFile(String),
    /// Entry `n % len` (not the first) repeats the first entry's tag.
    DuplicateTag(usize),
    /// Entry `n % len` carries the idx of the entry after it.
    IdxOutOfOrder(usize),
    /// Entry `n % len` (not the first) has the `when` of the entry before it.
    WhenNotIncreasing(usize),
    /// The journal is for another database.
    WrongDialect,
    /// The file of entry `n % len` holds no statement.
    EmptyMigration(usize),
    /// The file of entry `n % len` is not UTF-8.
    NotUtf8(usize),
    /// The file of entry `n % len` starts with a directive app-db does not know.
    UnknownDirective(usize),
    /// Entry `n % len`'s tag is not a plain file name.
    InvalidTag(usize),
    /// Entry `n % len`'s tag number is not its idx.
    TagPrefixMismatch(usize),
    /// The journal is cut short.
    JournalSyntax(usize),
}

/// Whether `error` is the one `broken` must produce.
fn is_rejected_for(broken: &Break, error: &JournalError) -> bool {
    matches!(
        (broken, error),
        (Break::MissingFile(_), JournalError::MissingFile { .. })
            | (Break::UnlistedFile(_), JournalError::UnlistedFile { .. })
            | (Break::DuplicateTag(_), JournalError::DuplicateTag { .. })
            | (Break::IdxOutOfOrder(_), JournalError::IdxOutOfOrder { .. })
            | (
                Break::WhenNotIncreasing(_),
                JournalError::WhenNotIncreasing { .. }
            )
            | (Break::WrongDialect, JournalError::WrongDialect { .. })
            | (
                Break::EmptyMigration(_),
                JournalError::EmptyMigration { .. }
            )
            | (Break::NotUtf8(_), JournalError::NotUtf8 { .. })
            | (
                Break::UnknownDirective(_),
                JournalError::UnknownDirective { .. }
            )
            | (Break::InvalidTag(_), JournalError::InvalidTag { .. })
            | (
                Break::TagPrefixMismatch(_),
                JournalError::TagPrefixMismatch { .. }
            )
            | (Break::JournalSyntax(_), JournalError::JournalSyntax { .. })
    )
}

fn any_break() -> impl Strategy<Value = Break> {
    prop_oneof![
        any::<usize>().prop_map(Break::MissingFile),
        "[a-z]{1,6}\\.sql".prop_map(Break::UnlistedFile),
        any::<usize>().prop_map(Break::DuplicateTag),
        any::<usize>().prop_map(Break::IdxOutOfOrder),
        any::<usize>().prop_map(Break::WhenNotIncreasing),
        Just(Break::WrongDialect),
        any::<usize>().prop_map(Break::EmptyMigration),
        any::<usize>().prop_map(Break::NotUtf8),
        any::<usize>().prop_map(Break::UnknownDirective),
        any::<usize>().prop_map(Break::InvalidTag),
        any::<usize>().prop_map(Break::TagPrefixMismatch),
        any::<usize>().prop_map(Break::JournalSyntax),
    ]
}

/// A valid folder: drizzle-kit's journal of 2 to 5 entries and a file per entry, each with a
/// statement first.
fn valid_folder() -> impl Strategy<Value = (Value, Vec<Vec<u8>>)> {
    (
        proptest::collection::vec(("[a-z_]{1,8}", 1i64..1_000), 2..6),
        proptest::collection::vec(sql(), 5..6),
    )
        .prop_map(|(parts, texts)| {
            let mut when = 1_700_000_000_000i64;
            let entries: Vec<Value> = parts
                .iter()
                .enumerate()
                .map(|(idx, (name, step))| {
                    when += step;
                    json!({"idx": idx, "version": "7", "when": when, "tag": format!("{idx:04}_{name}"), "breakpoints": true})
                })
                .collect();
            let bodies = texts
                .into_iter()
                .take(entries.len())
                .map(|s| format!("select 1;\n--> statement-breakpoint\n{s}").into_bytes())
                .collect();
            (
                json!({"version": "7", "dialect": "postgresql", "entries": entries}),
                bodies,
            )
        })
}

fn folder_files(journal: &Value, bodies: &[Vec<u8>]) -> Vec<SourceFile> {
    journal["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .zip(bodies)
        .map(|(entry, bytes)| SourceFile {
            name: format!("{}.sql", entry["tag"].as_str().expect("tag")),
            bytes: bytes.clone(),
        })
        .collect()
}

/// `folder` with `broken` applied: the journal's bytes and the files.
fn break_folder(
    (mut journal, mut bodies): (Value, Vec<Vec<u8>>),
    broken: &Break,
) -> (Vec<u8>, Vec<SourceFile>) {
    let len = bodies.len();
    let entries = journal["entries"].as_array_mut().expect("entries");
    let later = |n: usize| 1 + n % (len - 1);
    let mut extra = None;
    let mut missing = None;
    match broken {
        Break::MissingFile(n) => missing = Some(n % len),
        Break::UnlistedFile(name) => extra = Some(name.clone()),
        Break::DuplicateTag(n) => {
            let first = entries[0]["tag"].clone();
            entries[later(*n)]["tag"] = first;
        }
        Break::IdxOutOfOrder(n) => entries[n % len]["idx"] = json!(n % len + 1),
        Break::WhenNotIncreasing(n) => {
            let i = later(*n);
            let before = entries[i - 1]["when"].clone();
            entries[i]["when"] = before;
        }
        Break::WrongDialect => journal["dialect"] = json!("mysql"),
        Break::EmptyMigration(n) => {
            bodies[n % len] = b"-- nothing here\n--> statement-breakpoint\n  \n".to_vec()
        }
        Break::NotUtf8(n) => bodies[n % len] = b"select '\xff';".to_vec(),
        Break::UnknownDirective(n) => {
            bodies[n % len] = b"-- app-db:no-transactoin\nselect 1;".to_vec()
        }
        Break::InvalidTag(n) => entries[n % len]["tag"] = json!("../escape"),
        Break::TagPrefixMismatch(n) => {
            entries[n % len]["tag"] = json!(format!("{:04}_moved", n % len + 7))
        }
        Break::JournalSyntax(_) => {}
    }
    let mut files = folder_files(&journal, &bodies);
    if let Some(i) = missing {
        files.remove(i);
    }
    if let Some(name) = extra {
        files.push(SourceFile {
            name,
            bytes: b"select 1;".to_vec(),
        });
    }
    let mut bytes = serde_json::to_vec(&journal).expect("serialisable");
    if let Break::JournalSyntax(n) = broken {
        bytes.truncate(n % (bytes.len() - 1));
    }
    (bytes, files)
}

proptest! {
    #![proptest_config(config(BROKEN))]

    #[test]
    fn a_folder_with_a_broken_rule_is_rejected_with_that_rules_error(
        folder in valid_folder(),
        broken in any_break(),
    ) {
        let (journal, bodies) = folder.clone();
        let valid = validate(
            Path::new("migrations"),
            &serde_json::to_vec(&journal).expect("serialisable"),
            folder_files(&journal, &bodies),
        );
        prop_assert!(valid.is_ok(), "the unbroken folder was refused: {:?}", valid.err());
        let (bytes, files) = break_folder(folder, &broken);
        match validate(Path::new("migrations"), &bytes, files) {
            Ok(_) => prop_assert!(false, "{broken:?} was accepted"),
            Err(e) => prop_assert!(
                is_rejected_for(&broken, &e),
                "{broken:?} was refused for another reason: {e}"
            ),
        }
    }
}
