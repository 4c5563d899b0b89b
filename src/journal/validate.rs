//! The rules a migration folder must follow, checked on in-memory data.
//!
//! Everything here is pure: [`load_dir`](super::load_dir) reads the folder and `build.rs` embeds
//! it, but both decide through [`validate`], so a rule cannot differ between them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::directive::{Directive, parse_directive};
use super::error::{JournalError, JournalWarning};
use super::hash::sha256_hex;
use super::model::{JournalEntry, Layout, LoadedJournal, MigrationFile, SourceFile};
use super::parse::parse_journal;
use super::split::statements;
use super::timestamp::upgraded_name;
use super::{JOURNAL_PATH, POSTGRESQL_DIALECT};

/// Checks a journal-layout migration folder given as data and resolves it into migrations.
///
/// `dir` is the folder (used for paths in errors and in [`MigrationFile::path`]), `journal` the
/// bytes of `meta/_journal.json` and `files` the files directly inside the folder (non-`.sql`
/// files may be included or left out; they are ignored).
///
/// The first rule broken is returned, checked in this order: the journal parses and has the
/// right shape; `dialect` is `postgresql`; per entry in array order, the tag is a plain file
/// name, no tag or idx repeats, idx equals the position, a `NNNN_` tag prefix equals idx and
/// `when` is strictly greater than the previous entry's; every entry has its `<tag>.sql`; no
/// `.sql` file lacks an entry; every file is UTF-8, has a known directive if any, and has at
/// least one statement. An empty `entries` array is valid.
pub fn validate(
    dir: &Path,
    journal: &[u8],
    files: Vec<SourceFile>,
) -> Result<LoadedJournal, JournalError> {
    let journal_path = dir.join(JOURNAL_PATH);
    let parsed = parse_journal(&journal_path, journal)?;
    if parsed.dialect != POSTGRESQL_DIALECT {
        return Err(JournalError::WrongDialect {
            path: journal_path,
            found: parsed.dialect,
        });
    }
    check_entries(&journal_path, &parsed.entries)?;

    // Ordered by name so that the first unlisted file reported does not depend on the
    // directory listing order of the file system.
    let mut sql_files: BTreeMap<String, Vec<u8>> = files
        .into_iter()
        .filter(|file| file.name.ends_with(".sql"))
        .map(|file| (file.name, file.bytes))
        .collect();

    let mut contents = Vec::with_capacity(parsed.entries.len());
    for entry in &parsed.entries {
        let name = format!("{}.sql", entry.tag);
        match sql_files.remove(&name) {
            Some(bytes) => contents.push(bytes),
            None => {
                return Err(JournalError::MissingFile {
                    path: dir.join(name),
                    tag: entry.tag.clone(),
                    idx: entry.idx,
                });
            }
        }
    }
    // drizzle-orm ignores such a file, so a migration added without `drizzle-kit generate`
    // would never run (drizzle-orm issue 4462); refusing it makes the drift visible.
    if let Some(name) = sql_files.into_keys().next() {
        return Err(JournalError::UnlistedFile {
            path: dir.join(name),
        });
    }

    let mut loaded = LoadedJournal {
        layout: Layout::Journal,
        migrations: Vec::with_capacity(parsed.entries.len()),
        warnings: Vec::new(),
    };
    for (entry, bytes) in parsed.entries.into_iter().zip(contents) {
        let path = dir.join(format!("{}.sql", entry.tag));
        let file = check_file(&path, &entry.tag, bytes, &mut loaded.warnings)?;
        loaded.migrations.push(MigrationFile {
            // check_entries proved idx == position < entries.len(), which fits in u32 for
            // any journal that fits in memory.
            idx: entry.idx as u32,
            name: upgraded_name(&entry.tag, entry.when),
            tag: entry.tag,
            layout: Layout::Journal,
            when: entry.when,
            breakpoints: entry.breakpoints,
            sql: file.sql,
            hash: file.hash,
            path,
            transaction: file.transaction,
        });
    }
    Ok(loaded)
}

/// A migration file that passed the rules every file follows, whatever the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// The text, exactly as stored.
    pub sql: String,
    /// drizzle-orm's hash of the bytes.
    pub hash: String,
    /// False for a `-- app-db:no-transaction` migration.
    pub transaction: bool,
}

/// The rules for one migration file's content, in this order: UTF-8, a known directive if
/// any, at least one statement. A BOM or CRLF line endings are pushed to `warnings`. `tag` names
/// the migration in messages (the journal tag, or the 1.0 folder name).
pub fn check_file(
    path: &Path,
    tag: &str,
    bytes: Vec<u8>,
    warnings: &mut Vec<JournalWarning>,
) -> Result<CheckedFile, JournalError> {
    let hash = sha256_hex(&bytes);
    let sql = String::from_utf8(bytes).map_err(|error| JournalError::NotUtf8 {
        path: path.to_owned(),
        tag: tag.to_owned(),
        offset: error.utf8_error().valid_up_to(),
    })?;
    let transaction = match parse_directive(&sql) {
        Ok(Directive::NoTransaction) => false,
        Ok(_) => true,
        Err(found) => {
            return Err(JournalError::UnknownDirective {
                path: path.to_owned(),
                tag: tag.to_owned(),
                found,
            });
        }
    };
    if statements(&sql).next().is_none() {
        return Err(JournalError::EmptyMigration {
            path: path.to_owned(),
            tag: tag.to_owned(),
        });
    }
    if sql.starts_with('\u{feff}') {
        warnings.push(JournalWarning::ByteOrderMark {
            path: path.to_owned(),
            tag: tag.to_owned(),
        });
    }
    if sql.contains("\r\n") {
        warnings.push(JournalWarning::CrlfLineEndings {
            path: path.to_owned(),
            tag: tag.to_owned(),
        });
    }
    Ok(CheckedFile {
        sql,
        hash,
        transaction,
    })
}

/// The rules between entries, which need no file content.
fn check_entries(journal_path: &Path, entries: &[JournalEntry]) -> Result<(), JournalError> {
    let path = || journal_path.to_owned();
    let mut positions_by_tag: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    let mut tags_by_idx: HashMap<u64, &str> = HashMap::with_capacity(entries.len());
    let mut previous: Option<&JournalEntry> = None;

    for (position, entry) in entries.iter().enumerate() {
        let tag = entry.tag.as_str();
        if !is_plain_file_name(tag) {
            return Err(JournalError::InvalidTag {
                path: path(),
                position,
                tag: tag.to_owned(),
            });
        }
        if let Some(&first_position) = positions_by_tag.get(tag) {
            return Err(JournalError::DuplicateTag {
                path: path(),
                tag: tag.to_owned(),
                first_position,
                position,
            });
        }
        positions_by_tag.insert(tag, position);
        if let Some(first_tag) = tags_by_idx.get(&entry.idx) {
            return Err(JournalError::DuplicateIdx {
                path: path(),
                idx: entry.idx,
                first_tag: (*first_tag).to_owned(),
                tag: tag.to_owned(),
            });
        }
        tags_by_idx.insert(entry.idx, tag);
        if entry.idx != position as u64 {
            return Err(JournalError::IdxOutOfOrder {
                path: path(),
                tag: tag.to_owned(),
                position,
                found: entry.idx,
            });
        }
        if let Some(prefix) = index_prefix(tag)
            && u64::from(prefix) != entry.idx
        {
            return Err(JournalError::TagPrefixMismatch {
                path: path(),
                tag: tag.to_owned(),
                prefix,
                idx: entry.idx,
            });
        }
        // drizzle-orm applies an entry only if its `when` is above the newest applied
        // `created_at`, so a non-increasing `when` is silently skipped on every database that
        // already ran its predecessor (drizzle-orm issues 5316, 5769).
        if let Some(previous) = previous
            && entry.when <= previous.when
        {
            return Err(JournalError::WhenNotIncreasing {
                path: path(),
                tag: tag.to_owned(),
                when: entry.when,
                previous_tag: previous.tag.clone(),
                previous_when: previous.when,
            });
        }
        previous = Some(entry);
    }
    Ok(())
}

/// A tag must name a file directly inside the folder.
fn is_plain_file_name(tag: &str) -> bool {
    !tag.is_empty() && tag != "." && tag != ".." && !tag.contains(['/', '\\', '\0'])
}

/// The number of drizzle-kit's default `NNNN_name` tag (prefix mode "index"): exactly four
/// digits, then `_` or the end. Tags of the other prefix modes (a 10- or 14-digit timestamp,
/// or no prefix) have none, and so skip the prefix rule.
fn index_prefix(tag: &str) -> Option<u32> {
    let bytes = tag.as_bytes();
    let digits = bytes.get(..4)?;
    if !digits.iter().all(u8::is_ascii_digit) || bytes.get(4).is_some_and(|&next| next != b'_') {
        return None;
    }
    digits.iter().try_fold(0u32, |number, digit| {
        Some(number * 10 + u32::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const DIR: &str = "/repo/migrations";

    /// A journal with `(idx, when, tag)` entries.
    fn journal(entries: &[(u64, i64, &str)]) -> String {
        let entries: Vec<String> = entries
            .iter()
            .map(|(idx, when, tag)| {
                format!(
                    r#"{{"idx":{idx},"version":"7","when":{when},"tag":"{tag}","breakpoints":true}}"#
                )
            })
            .collect();
        format!(
            r#"{{"version":"7","dialect":"postgresql","entries":[{}]}}"#,
            entries.join(",")
        )
    }

    fn run(journal: &str, files: &[(&str, &[u8])]) -> Result<LoadedJournal, JournalError> {
        let files = files
            .iter()
            .map(|(name, bytes)| SourceFile::new(*name, *bytes))
            .collect();
        validate(Path::new(DIR), journal.as_bytes(), files)
    }

    fn two_entries() -> String {
        journal(&[(0, 100, "0000_a"), (1, 200, "0001_b")])
    }

    fn expect_error(journal: &str, files: &[(&str, &[u8])]) -> JournalError {
        match run(journal, files) {
            Ok(loaded) => panic!("expected an error, got {loaded:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn resolves_a_valid_folder() {
        let loaded = run(
            &two_entries(),
            &[
                ("0000_a.sql", b"CREATE TABLE a ();"),
                (
                    "0001_b.sql",
                    b"-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (x);",
                ),
                ("notes.md", b"ignored"),
            ],
        )
        .expect("valid folder");
        assert!(loaded.warnings.is_empty());
        let [a, b] = loaded.migrations.as_slice() else {
            panic!("two migrations expected");
        };
        assert_eq!(
            (a.idx, a.tag.as_str(), a.when, a.transaction),
            (0, "0000_a", 100, true)
        );
        assert_eq!(a.path, PathBuf::from("/repo/migrations/0000_a.sql"));
        assert_eq!(a.hash, sha256_hex(b"CREATE TABLE a ();"));
        assert_eq!(
            (b.idx, b.tag.as_str(), b.when, b.transaction),
            (1, "0001_b", 200, false)
        );
    }

    #[test]
    fn an_empty_journal_is_zero_migrations() {
        let loaded = run(&journal(&[]), &[]).expect("empty journal is valid");
        assert_eq!(loaded, LoadedJournal::default());
    }

    #[test]
    fn other_prefix_modes_skip_the_prefix_rule() {
        let loaded = run(
            &journal(&[
                (0, 1, "20240101120000_init"),
                (1, 2, "1700000000_users"),
                (2, 3, "teams"),
            ]),
            &[
                ("20240101120000_init.sql", b"SELECT 1;"),
                ("1700000000_users.sql", b"SELECT 2;"),
                ("teams.sql", b"SELECT 3;"),
            ],
        )
        .expect("timestamp, unix and no prefix are fine");
        assert_eq!(loaded.migrations.len(), 3);
    }

    #[test]
    fn the_wrong_dialect_is_refused() {
        let text = two_entries().replace("postgresql", "mysql");
        let error = expect_error(&text, &[]);
        assert!(matches!(&error, JournalError::WrongDialect { found, .. } if found == "mysql"));
        assert!(
            error
                .to_string()
                .contains("dialect is \"mysql\", expected \"postgresql\"")
        );
    }

    #[test]
    fn invalid_json_is_refused() {
        let error = expect_error("{ not json", &[]);
        assert!(
            matches!(error, JournalError::JournalSyntax { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_tag_that_is_a_path_is_refused() {
        let error = expect_error(&journal(&[(0, 1, "../0000_x")]), &[]);
        assert!(
            matches!(error, JournalError::InvalidTag { position: 0, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_repeated_tag_is_refused() {
        let error = expect_error(&journal(&[(0, 1, "0000_a"), (1, 2, "0000_a")]), &[]);
        assert!(
            matches!(&error, JournalError::DuplicateTag { tag, first_position: 0, position: 1, .. } if tag == "0000_a"),
            "{error:?}"
        );
        assert!(error.to_string().contains("tag `0000_a` appears twice"));
    }

    #[test]
    fn a_repeated_idx_is_refused() {
        let error = expect_error(&journal(&[(0, 1, "0000_a"), (0, 2, "0000_b")]), &[]);
        assert!(
            matches!(&error, JournalError::DuplicateIdx { idx: 0, first_tag, tag, .. } if first_tag == "0000_a" && tag == "0000_b"),
            "{error:?}"
        );
    }

    #[test]
    fn idx_must_count_from_zero_in_array_order() {
        let error = expect_error(&journal(&[(1, 1, "a"), (0, 2, "b")]), &[]);
        assert!(
            matches!(&error, JournalError::IdxOutOfOrder { position: 0, found: 1, tag, .. } if tag == "a"),
            "{error:?}"
        );
        let error = expect_error(&journal(&[(0, 1, "a"), (2, 2, "b")]), &[]);
        assert!(
            matches!(
                error,
                JournalError::IdxOutOfOrder {
                    position: 1,
                    found: 2,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            error_text(&journal(&[(0, 1, "a"), (2, 2, "b")]))
                .contains("entry `b` is entries[1] but has idx 2, expected 1")
        );
    }

    fn error_text(journal: &str) -> String {
        expect_error(journal, &[]).to_string()
    }

    #[test]
    fn a_four_digit_prefix_must_equal_idx() {
        let error = expect_error(
            &journal(&[(0, 1, "0000_a"), (1, 2, "0008_saas_metrics_daily")]),
            &[],
        );
        assert!(
            matches!(&error, JournalError::TagPrefixMismatch { prefix: 8, idx: 1, tag, .. } if tag == "0008_saas_metrics_daily"),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("starts with 0008 but its idx is 1")
        );
        // Exactly four digits: "0001" alone is a prefix too.
        assert!(matches!(
            expect_error(&journal(&[(0, 1, "0001")]), &[]),
            JournalError::TagPrefixMismatch {
                prefix: 1,
                idx: 0,
                ..
            }
        ));
    }

    #[test]
    fn index_prefix_recognises_only_drizzle_kit_index_tags() {
        assert_eq!(index_prefix("0008_saas_metrics_daily"), Some(8));
        assert_eq!(index_prefix("0000"), Some(0));
        assert_eq!(index_prefix("1234_x"), Some(1234));
        assert_eq!(index_prefix("20240101120000_init"), None);
        assert_eq!(index_prefix("1700000000_users"), None);
        assert_eq!(index_prefix("001_x"), None);
        assert_eq!(index_prefix("init"), None);
        assert_eq!(index_prefix("0008-x"), None);
    }

    #[test]
    fn when_must_strictly_increase() {
        for second_when in [100, 99] {
            let error = expect_error(
                &journal(&[(0, 100, "0000_a"), (1, second_when, "0001_b")]),
                &[],
            );
            assert!(
                matches!(&error, JournalError::WhenNotIncreasing { previous_when: 100, previous_tag, .. } if previous_tag == "0000_a"),
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_refused() {
        let error = expect_error(&two_entries(), &[("0000_a.sql", b"SELECT 1;")]);
        assert!(
            matches!(&error, JournalError::MissingFile { tag, idx: 1, path } if tag == "0001_b" && path == Path::new("/repo/migrations/0001_b.sql")),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("/repo/migrations/0001_b.sql not found")
        );
    }

    #[test]
    fn an_unlisted_sql_file_is_refused() {
        let error = expect_error(
            &two_entries(),
            &[
                ("0000_a.sql", b"SELECT 1;"),
                ("0001_b.sql", b"SELECT 2;"),
                ("0002_c.sql", b"SELECT 3;"),
            ],
        );
        assert!(
            matches!(&error, JournalError::UnlistedFile { path } if path == Path::new("/repo/migrations/0002_c.sql")),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("has no entry in meta/_journal.json")
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused() {
        let error = expect_error(
            &journal(&[(0, 1, "0000_a")]),
            &[("0000_a.sql", b"SELECT '\xff';")],
        );
        assert!(
            matches!(error, JournalError::NotUtf8 { offset: 8, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_migration_without_statements_is_refused() {
        for content in [
            &b""[..],
            b"  \n",
            b"-- Custom SQL migration file, put your code below! --",
            b"-- x\n--> statement-breakpoint\n/* y */\n",
            b"-- app-db:no-transaction\n",
        ] {
            let error = expect_error(&journal(&[(0, 1, "0000_a")]), &[("0000_a.sql", content)]);
            assert!(
                matches!(&error, JournalError::EmptyMigration { tag, .. } if tag == "0000_a"),
                "{error:?}"
            );
        }
    }

    #[test]
    fn an_unknown_directive_is_refused() {
        let error = expect_error(
            &journal(&[(0, 1, "0000_a")]),
            &[("0000_a.sql", b"-- app-db:no-transactoin\nSELECT 1;")],
        );
        assert!(
            matches!(&error, JournalError::UnknownDirective { found, .. } if found == "-- app-db:no-transactoin"),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("known directives: -- app-db:no-transaction")
        );
    }

    #[test]
    fn crlf_and_bom_are_warnings_not_errors() {
        let loaded = run(
            &two_entries(),
            &[
                ("0000_a.sql", b"SELECT 1;\r\n"),
                ("0001_b.sql", b"\xef\xbb\xbfSELECT 2;\n"),
            ],
        )
        .expect("only warnings");
        assert_eq!(
            loaded.warnings,
            vec![
                JournalWarning::CrlfLineEndings {
                    path: PathBuf::from("/repo/migrations/0000_a.sql"),
                    tag: "0000_a".to_owned(),
                },
                JournalWarning::ByteOrderMark {
                    path: PathBuf::from("/repo/migrations/0001_b.sql"),
                    tag: "0001_b".to_owned(),
                },
            ]
        );
        // The hash still covers the raw bytes, as drizzle-orm's does.
        assert_eq!(loaded.migrations[0].hash, sha256_hex(b"SELECT 1;\r\n"));
        let message = loaded.warnings[0].to_string();
        assert!(message.contains("hashes differently") && message.contains("*.sql text eol=lf"));
    }
}
