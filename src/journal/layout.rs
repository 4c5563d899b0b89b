//! Which layout a migration folder is in, decided on a listing of it (pure).
//!
//! A folder with `meta/_journal.json` is drizzle-kit 0.x's layout ([`validate`](super::validate()));
//! one with `<YYYYMMDDHHMMSS>_<name>/` folders is drizzle-kit 1.0's
//! ([`layout_v1::validate`]). Both at once, or neither, is refused:
//! drizzle-orm 1.0 refuses a folder with a journal, and drizzle-orm 0.x ignores 1.0 folders, so a
//! mix means one of the two migrators would skip migrations.

use std::path::Path;

use super::error::JournalError;
use super::layout_v1;
use super::model::{LoadedJournal, SourceFile};
use super::timestamp::parse_folder_timestamp;
use super::validate::validate;
use super::{JOURNAL_PATH, MIGRATION_SQL};

/// What a migration folder holds, as read from disk: the input of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// The bytes of `meta/_journal.json`, when the file exists.
    pub journal: Option<Vec<u8>>,
    /// Whether a `meta/` folder exists.
    pub meta: bool,
    /// The files directly inside the folder (the bytes of `.sql` files; others may be empty).
    pub files: Vec<SourceFile>,
    /// The folders directly inside it, other than `meta/`.
    pub folders: Vec<Subfolder>,
}

/// A folder inside a migration folder: in the 1.0 layout, one migration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subfolder {
    /// Its name, e.g. `20250304101237_auth`.
    pub name: String,
    /// The files inside it (the bytes of `migration.sql`; others may be empty).
    pub files: Vec<SourceFile>,
    /// The names of the folders inside it.
    pub folders: Vec<String>,
}

impl Subfolder {
    /// Whether this looks like a 1.0 migration: it has a `migration.sql`, or its name starts
    /// with 14 digits and `_`.
    pub fn is_migration(&self) -> bool {
        self.files.iter().any(|file| file.name == MIGRATION_SQL)
            || (parse_folder_timestamp(&self.name).is_some()
                && self.name.as_bytes().get(14) == Some(&b'_'))
    }
}

/// Decides the layout of the folder `dir` from its listing and resolves it with that layout's
/// rules. Refused: both layouts at once; `.sql` files or `meta/` without a journal and without
/// 1.0 folders (a lost journal); 1.0 folders beside a `meta/` folder (an unfinished conversion);
/// a folder with no migration at all.
pub fn resolve(dir: &Path, listing: Listing) -> Result<LoadedJournal, JournalError> {
    let first_v1 = listing
        .folders
        .iter()
        .filter(|folder| folder.is_migration())
        .map(|folder| folder.name.as_str())
        .min();
    if let Some(journal) = &listing.journal {
        if let Some(folder) = first_v1 {
            return Err(JournalError::MixedLayouts {
                dir: dir.to_owned(),
                journal: dir.join(JOURNAL_PATH),
                folder: dir.join(folder),
            });
        }
        return validate(dir, journal, listing.files);
    }
    let has_sql = listing.files.iter().any(|file| file.name.ends_with(".sql"));
    if first_v1.is_none() {
        if has_sql || listing.meta {
            return Err(JournalError::JournalMissing {
                path: dir.join(JOURNAL_PATH),
            });
        }
        if listing.folders.is_empty() {
            return Err(JournalError::NoMigrations {
                path: dir.to_owned(),
            });
        }
    } else if listing.meta {
        return Err(JournalError::LeftoverMeta {
            dir: dir.to_owned(),
            meta: dir.join("meta"),
        });
    }
    layout_v1::validate(dir, listing.files, listing.folders)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::model::Layout;
    use super::*;

    const DIR: &str = "/repo/migrations";

    fn migration_folder(name: &str, sql: &str) -> Subfolder {
        Subfolder {
            name: name.to_owned(),
            files: vec![
                SourceFile::new(MIGRATION_SQL, sql),
                SourceFile::new("snapshot.json", ""),
            ],
            folders: Vec::new(),
        }
    }

    fn journal() -> Vec<u8> {
        br#"{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1741083157418,"tag":"0000_a","breakpoints":true}]}"#.to_vec()
    }

    fn run(listing: Listing) -> Result<LoadedJournal, JournalError> {
        resolve(Path::new(DIR), listing)
    }

    #[test]
    fn a_journal_is_the_0x_layout() {
        let loaded = run(Listing {
            journal: Some(journal()),
            meta: true,
            files: vec![SourceFile::new("0000_a.sql", "SELECT 1;")],
            folders: vec![Subfolder {
                name: "seeds".to_owned(),
                ..Subfolder::default()
            }],
        })
        .expect("journal layout");
        assert_eq!(loaded.layout, Layout::Journal);
        assert_eq!(loaded.migrations[0].tag, "0000_a");
        assert_eq!(loaded.migrations[0].name, "20250304101237_a");
        assert_eq!(loaded.migrations[0].layout, Layout::Journal);
    }

    #[test]
    fn folders_are_the_1_0_layout() {
        let loaded = run(Listing {
            files: vec![SourceFile::new("README.md", "")],
            folders: vec![
                migration_folder("20250304101237_auth", "SELECT 1;"),
                migration_folder("20250311153002_orgs", "SELECT 2;"),
            ],
            ..Listing::default()
        })
        .expect("1.0 layout");
        assert_eq!(loaded.layout, Layout::Folders);
        assert_eq!(loaded.migrations.len(), 2);
    }

    #[test]
    fn a_mix_is_refused_naming_both() {
        let error = run(Listing {
            journal: Some(journal()),
            meta: true,
            files: vec![SourceFile::new("0000_a.sql", "SELECT 1;")],
            folders: vec![
                migration_folder("20250311153002_orgs", "SELECT 2;"),
                migration_folder("20250304101237_auth", "SELECT 1;"),
            ],
        })
        .expect_err("mixed");
        assert!(
            matches!(&error, JournalError::MixedLayouts { folder, journal, .. }
                if folder == &PathBuf::from("/repo/migrations/20250304101237_auth")
                    && journal == &PathBuf::from("/repo/migrations/meta/_journal.json")),
            "{error:?}"
        );
        assert!(error.to_string().contains("migration upgrade-folder"));
    }

    #[test]
    fn sql_files_without_a_journal_are_a_lost_journal() {
        let error = run(Listing {
            files: vec![SourceFile::new("0000_a.sql", "SELECT 1;")],
            ..Listing::default()
        })
        .expect_err("no journal");
        assert!(
            matches!(&error, JournalError::JournalMissing { path } if path == &PathBuf::from("/repo/migrations/meta/_journal.json")),
            "{error:?}"
        );
    }

    #[test]
    fn meta_beside_1_0_folders_is_a_leftover() {
        let error = run(Listing {
            meta: true,
            folders: vec![migration_folder("20250304101237_auth", "SELECT 1;")],
            ..Listing::default()
        })
        .expect_err("leftover meta");
        assert!(
            matches!(error, JournalError::LeftoverMeta { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn an_empty_folder_is_refused() {
        let error = run(Listing {
            files: vec![SourceFile::new(".gitkeep", "")],
            ..Listing::default()
        })
        .expect_err("empty");
        assert!(
            matches!(error, JournalError::NoMigrations { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_lone_folder_without_the_shape_goes_to_the_1_0_rules() {
        let error = run(Listing {
            folders: vec![Subfolder {
                name: "init".to_owned(),
                files: vec![SourceFile::new("up.sql", "SELECT 1;")],
                folders: Vec::new(),
            }],
            ..Listing::default()
        })
        .expect_err("not a migration folder");
        assert!(
            matches!(error, JournalError::BadFolderName { .. }),
            "{error:?}"
        );
    }
}
