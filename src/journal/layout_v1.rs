//! The rules of a drizzle-kit 1.0 migration folder, checked on a listing (pure).
//!
//! drizzle-orm 1.0 (`readMigrationFiles`) takes every sub-folder that has a `migration.sql`,
//! sorts them by name, and for each stores `created_at` = `Date.UTC` of the first 14 characters
//! and `name` = the folder name; anything else in the folder is ignored. app-db refuses what
//! drizzle-orm would silently skip or misread, so a binary cannot be built from a folder that
//! drizzle-orm 1.0 would run differently.

use std::collections::BTreeMap;
use std::path::Path;

use super::MIGRATION_SQL;
use super::error::JournalError;
use super::layout::Subfolder;
use super::model::{Layout, LoadedJournal, MigrationFile, SourceFile};
use super::timestamp::{TIMESTAMP_LEN, parse_folder_timestamp};
use super::validate::check_file;

/// The snapshot drizzle-kit 1.0 writes beside each `migration.sql`; the migrator never reads it.
pub const SNAPSHOT_JSON: &str = "snapshot.json";

/// Checks a 1.0-layout folder `dir` given as data and resolves it into migrations, in name
/// order (drizzle-orm 1.0's order).
///
/// The first rule broken is returned, checked in this order: no `.sql` file directly in
/// `dir`; per folder in name order, the name is `<YYYYMMDDHHMMSS>_<name>` with a real UTC
/// time, the folder has a `migration.sql` and nothing but it and `snapshot.json` (dot-files
/// aside), and no two folders share a time; then each `migration.sql` follows the rules of
/// every migration file ([`check_file`]). Files other than `.sql` directly in `dir` (a README)
/// are left alone.
pub fn validate(
    dir: &Path,
    files: Vec<SourceFile>,
    mut folders: Vec<Subfolder>,
) -> Result<LoadedJournal, JournalError> {
    let mut stray_sql: Vec<&SourceFile> = files
        .iter()
        .filter(|file| file.name.ends_with(".sql"))
        .collect();
    stray_sql.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(file) = stray_sql.first() {
        return Err(JournalError::StrayFile {
            path: dir.join(&file.name),
            why: "a 1.0 folder keeps each migration in <YYYYMMDDHHMMSS>_<name>/migration.sql",
            fix: "move it into a folder of its own as migration.sql (a journal folder is converted \
                  whole by `migration upgrade-folder`), or delete it",
        });
    }
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    let mut by_time: BTreeMap<&str, &str> = BTreeMap::new();
    for folder in &folders {
        let path = dir.join(&folder.name);
        folder_time(dir, &folder.name)?;
        if !folder.files.iter().any(|file| file.name == MIGRATION_SQL) {
            return Err(JournalError::MissingMigrationSql { path });
        }
        let stray = folder
            .files
            .iter()
            .map(|file| file.name.as_str())
            .filter(|name| *name != MIGRATION_SQL && *name != SNAPSHOT_JSON)
            .chain(folder.folders.iter().map(String::as_str))
            .filter(|name| !name.starts_with('.'))
            .min();
        if let Some(name) = stray {
            return Err(JournalError::StrayFile {
                path: path.join(name),
                why: "a 1.0 migration folder holds migration.sql and snapshot.json only",
                fix: "put its SQL into migration.sql (or a migration of its own), or delete it",
            });
        }
        let digits = &folder.name[..TIMESTAMP_LEN];
        if let Some(first) = by_time.insert(digits, &folder.name) {
            return Err(JournalError::DuplicateFolderTime {
                first: dir.join(first),
                second: path,
                digits: digits.to_owned(),
            });
        }
    }

    let mut loaded = LoadedJournal {
        layout: Layout::Folders,
        migrations: Vec::with_capacity(folders.len()),
        warnings: Vec::new(),
    };
    for (position, folder) in folders.into_iter().enumerate() {
        let when = folder_time(dir, &folder.name)?;
        let path = dir.join(&folder.name).join(MIGRATION_SQL);
        let bytes = folder
            .files
            .into_iter()
            .find(|file| file.name == MIGRATION_SQL)
            .map(|file| file.bytes)
            .unwrap_or_default();
        let file = check_file(&path, &folder.name, bytes, &mut loaded.warnings)?;
        loaded.migrations.push(MigrationFile {
            // A folder listing that fits in memory has fewer than u32::MAX entries.
            idx: position as u32,
            tag: folder.name.clone(),
            name: folder.name,
            layout: Layout::Folders,
            when,
            // drizzle-orm 1.0 reads every migration.sql with breakpoints.
            breakpoints: true,
            sql: file.sql,
            hash: file.hash,
            path,
            transaction: file.transaction,
        });
    }
    Ok(loaded)
}

/// The folder's time in epoch milliseconds, refusing a name without the shape or the time.
fn folder_time(dir: &Path, name: &str) -> Result<i64, JournalError> {
    let path = dir.join(name);
    let digits = name.get(..TIMESTAMP_LEN);
    let shaped = digits.is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
        && name.as_bytes().get(TIMESTAMP_LEN) == Some(&b'_');
    if !shaped {
        let rest = name.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
        return Err(JournalError::BadFolderName {
            path,
            suggestion: format!(
                "20250304101237_{}",
                if rest.is_empty() { "init" } else { rest }
            ),
        });
    }
    match parse_folder_timestamp(name) {
        Some(ms) => Ok(ms),
        None => Err(JournalError::BadFolderTime {
            path,
            digits: name[..TIMESTAMP_LEN].to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::hash::sha256_hex;
    use super::*;

    const DIR: &str = "/repo/migrations";

    fn folder(name: &str, files: &[(&str, &str)]) -> Subfolder {
        Subfolder {
            name: name.to_owned(),
            files: files
                .iter()
                .map(|(name, text)| SourceFile::new(*name, *text))
                .collect(),
            folders: Vec::new(),
        }
    }

    fn migration(name: &str, sql: &str) -> Subfolder {
        folder(name, &[(MIGRATION_SQL, sql), (SNAPSHOT_JSON, "{}")])
    }

    fn run(folders: Vec<Subfolder>) -> Result<LoadedJournal, JournalError> {
        validate(Path::new(DIR), Vec::new(), folders)
    }

    fn error(folders: Vec<Subfolder>) -> JournalError {
        run(folders).expect_err("refused")
    }

    #[test]
    fn resolves_folders_in_name_order_with_drizzle_orm_1_values() {
        let loaded = run(vec![
            migration("20250311153002_orgs", "SELECT 2;"),
            migration("20250304101237_auth", "SELECT 1;"),
            folder(
                "20250401000000_index",
                &[
                    (
                        MIGRATION_SQL,
                        "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);",
                    ),
                    (".DS_Store", ""),
                ],
            ),
        ])
        .expect("valid");
        assert_eq!(loaded.layout, Layout::Folders);
        let [a, b, c] = loaded.migrations.as_slice() else {
            panic!("three migrations");
        };
        assert_eq!(
            (a.idx, a.tag.as_str(), a.name.as_str(), a.when),
            (
                0,
                "20250304101237_auth",
                "20250304101237_auth",
                1_741_083_157_000
            )
        );
        assert_eq!(
            a.path,
            PathBuf::from("/repo/migrations/20250304101237_auth/migration.sql")
        );
        assert_eq!(a.hash, sha256_hex(b"SELECT 1;"));
        assert!(a.breakpoints && a.transaction);
        assert_eq!(b.tag, "20250311153002_orgs");
        assert!(!c.transaction);
    }

    #[test]
    fn a_stray_sql_file_at_the_top_is_refused() {
        let error = validate(
            Path::new(DIR),
            vec![
                SourceFile::new("README.md", "notes"),
                SourceFile::new("0000_auth.sql", "SELECT 1;"),
            ],
            vec![migration("20250304101237_auth", "SELECT 1;")],
        )
        .expect_err("stray");
        assert!(
            matches!(&error, JournalError::StrayFile { path, .. } if path == &PathBuf::from("/repo/migrations/0000_auth.sql")),
            "{error:?}"
        );
    }

    #[test]
    fn a_name_without_the_time_is_refused() {
        for name in [
            "init",
            "2025030410123_x",
            "20250304101237",
            "20250304101237-x",
        ] {
            let error = error(vec![migration(name, "SELECT 1;")]);
            assert!(
                matches!(&error, JournalError::BadFolderName { path, .. } if path.ends_with(name)),
                "{name}: {error:?}"
            );
            assert!(error.to_string().contains("<YYYYMMDDHHMMSS>_<name>"));
        }
    }

    #[test]
    fn an_impossible_time_is_refused() {
        let error = error(vec![migration("20251304101237_x", "SELECT 1;")]);
        assert!(
            matches!(&error, JournalError::BadFolderTime { digits, .. } if digits == "20251304101237"),
            "{error:?}"
        );
    }

    #[test]
    fn a_folder_without_migration_sql_is_refused() {
        let error = error(vec![
            migration("20250304101237_auth", "SELECT 1;"),
            folder("20250311153002_orgs", &[(SNAPSHOT_JSON, "{}")]),
        ]);
        assert!(
            matches!(&error, JournalError::MissingMigrationSql { path } if path.ends_with("20250311153002_orgs")),
            "{error:?}"
        );
    }

    #[test]
    fn other_files_in_a_migration_folder_are_refused() {
        let error = error(vec![folder(
            "20250304101237_auth",
            &[(MIGRATION_SQL, "SELECT 1;"), ("down.sql", "SELECT 2;")],
        )]);
        assert!(
            matches!(&error, JournalError::StrayFile { path, .. } if path.ends_with("20250304101237_auth/down.sql")),
            "{error:?}"
        );
        let mut nested = migration("20250304101237_auth", "SELECT 1;");
        nested.folders.push("extra".to_owned());
        assert!(matches!(
            run(vec![nested]),
            Err(JournalError::StrayFile { .. })
        ));
    }

    #[test]
    fn two_folders_in_one_second_are_refused() {
        let error = error(vec![
            migration("20250304101237_b", "SELECT 2;"),
            migration("20250304101237_a", "SELECT 1;"),
        ]);
        assert!(
            matches!(&error, JournalError::DuplicateFolderTime { first, second, digits }
                if first.ends_with("20250304101237_a") && second.ends_with("20250304101237_b") && digits == "20250304101237"),
            "{error:?}"
        );
    }

    #[test]
    fn file_rules_apply_to_migration_sql() {
        let error = error(vec![migration("20250304101237_auth", "-- nothing\n")]);
        assert!(
            matches!(&error, JournalError::EmptyMigration { tag, .. } if tag == "20250304101237_auth"),
            "{error:?}"
        );
    }
}
